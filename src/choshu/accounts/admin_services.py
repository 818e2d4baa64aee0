"""The section chief's administration of accounts beyond creation and rights (``services``):
利用停止 (deactivation), and the two reports the privacy impact assessment promises — 権限変更の報告書
(every rights change in a period) and 権限一覧 (the periodic review of who holds what) — as CSV
exports that are themselves logged with their row count and SHA-256.

Screens and commands call these; neither builds a report or writes an export record itself.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone

from choshu.accounts.models import RightChange, User
from choshu.accounts.permissions import Right, has_right
from choshu.accounts.services import _check_admin, rights_review
from choshu.audit.models import AuditKind, AuditSubjectType
from choshu.audit.services import audit_record
from choshu.core.models import Municipality
from choshu.formats.csv_safe import encode_cp932, neutralise_cell

# ---------------------------------------------------------------------------------------------------
# 利用者の参照（権限管理の画面用）
# ---------------------------------------------------------------------------------------------------


def _admin_municipality(actor: User) -> Municipality:
    if not has_right(actor, Right.RIGHTS_ADMIN) or actor.municipality is None:
        raise PermissionDenied("権限の管理をする権限がありません。")
    return actor.municipality


def staff_list_for_admin(*, actor: User) -> QuerySet[User]:
    """The accounts of the chief's own municipality, active ones first."""
    municipality = _admin_municipality(actor)
    return User.objects.filter(municipality=municipality).order_by("-is_active", "username")


def staff_get_for_admin(*, actor: User, pk: int) -> User:
    """One account of the chief's municipality: 403 without the right, 404 if missing or of another city."""
    municipality = _admin_municipality(actor)
    user = User.objects.filter(municipality=municipality, pk=pk).first()
    if user is None:
        raise Http404("指定された利用者は見つかりません。")
    return user


# ---------------------------------------------------------------------------------------------------
# 利用停止
# ---------------------------------------------------------------------------------------------------


@transaction.atomic
def user_deactivate(*, actor: User, user: User, reason: str) -> User:
    """利用停止: the account can no longer sign in, and any open session ends at its next request.

    The account and its history stay (the audit log and the rights-change report refer to it).
    Nobody stops their own account.
    """
    _check_admin(actor, user.municipality)
    if actor.pk == user.pk:
        raise PermissionDenied("自分自身を利用停止にすることはできません（別の管理者に依頼してください）")
    if not reason.strip():
        raise ValidationError("利用停止の理由を入力してください")
    locked = User.objects.select_for_update().get(pk=user.pk)
    if not locked.is_active:
        raise ValidationError("この利用者は既に利用停止になっています")
    locked.is_active = False
    locked.save(update_fields=["is_active"])
    RightChange.objects.create(
        municipality=locked.municipality,
        user=locked,
        action=RightChange.Action.DEACTIVATE,
        before="有効",
        after="利用停止",
        reason=reason.strip(),
        changed_by=actor,
        changed_at=timezone.now(),
    )
    audit_record(
        kind=AuditKind.CHANGE,
        function="利用停止",
        municipality=locked.municipality,
        user=actor,
        subject_type=AuditSubjectType.USER,
        subject_ids=[locked.pk],
        detail={"username": locked.username, "reason": reason.strip()},
    )
    return locked


# ---------------------------------------------------------------------------------------------------
# 権限変更の報告書・権限一覧
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Report:
    """A table as printed and as exported: the screen and the CSV show the same columns and rows."""

    title: str
    header: list[str]
    rows: list[list[str]]
    file_stem: str
    parameters: dict[str, str] = field(default_factory=dict)
    user_ids: list[int] = field(default_factory=list)


def _report_municipality(actor: User | None, municipality: Municipality) -> None:
    """``actor`` None is the operator at the server's command line (``choshu rights-report``)."""
    if actor is None:
        return
    if not has_right(actor, Right.RIGHTS_REPORT):
        raise PermissionDenied("権限変更・権限一覧を出力する権限がありません。")
    if actor.municipality_id != municipality.pk:
        raise PermissionDenied("他の自治体の権限は出力できません。")


def _local(moment: datetime | None) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M:%S") if moment else ""


def _right_label(code: str) -> str:
    return Right(code).label if code in Right.values else code


def _readable_after(change: RightChange) -> str:
    """A new account's 変更後 is recorded as 「職務 / code,code」: show the rights by their names."""
    if change.action != RightChange.Action.CREATE or " / " not in change.after:
        return change.after
    role, codes = change.after.split(" / ", 1)
    return f"{role} / " + "、".join(_right_label(c) for c in codes.split(",") if c)


CHANGES_HEADER = [
    "変更日時", "利用者ID", "氏名", "処理", "権限", "変更前", "変更後", "理由", "変更者ID", "変更者氏名",
]  # fmt: skip


def rights_changes_report(
    *, actor: User | None, municipality: Municipality, date_from: date, date_to: date
) -> Report:
    """権限変更の報告書: every grant, revocation, registration and deactivation in the period
    (both days included, Japan time), oldest first."""
    _report_municipality(actor, municipality)
    if date_from > date_to:
        raise ValidationError("期間の開始日が終了日より後になっています")
    start = timezone.make_aware(datetime.combine(date_from, time.min))
    end = timezone.make_aware(datetime.combine(date_to + timedelta(days=1), time.min))
    changes = (
        RightChange.objects.filter(municipality=municipality, changed_at__gte=start, changed_at__lt=end)
        .select_related("user", "changed_by")
        .order_by("changed_at", "id")
    )
    rows = [
        [
            _local(c.changed_at),
            c.user.username,
            c.user.display_name,
            c.get_action_display(),
            _right_label(c.right) if c.right else "",
            c.before,
            _readable_after(c),
            c.reason,
            c.changed_by.username if c.changed_by else "",
            c.changed_by.display_name if c.changed_by else "（コマンド実行）",
        ]
        for c in changes
    ]
    return Report(
        title="権限変更の報告書",
        header=CHANGES_HEADER,
        rows=rows,
        file_stem=f"rights-changes_{date_from:%Y%m%d}-{date_to:%Y%m%d}",
        parameters={"from": date_from.isoformat(), "to": date_to.isoformat()},
        user_ids=sorted({c.user_id for c in changes}),
    )


REVIEW_FIXED_HEADER = ["利用者ID", "氏名", "職務", "班", "状態", "最終ログイン"]


def rights_review_report(*, actor: User | None, municipality: Municipality, as_of: date) -> Report:
    """権限一覧（定期棚卸し）: every account with a ○ under each right it holds today."""
    _report_municipality(actor, municipality)
    rows = []
    for entry in rights_review(municipality=municipality):
        held = set(entry["rights"])
        last_login = datetime.fromisoformat(entry["last_login"]) if entry["last_login"] else None
        rows.append(
            [
                entry["username"],
                entry["display_name"],
                entry["role"],
                entry["team"],
                "有効" if entry["active"] else "利用停止",
                _local(last_login),
                *("○" if label in held else "" for label in Right.labels),
            ]
        )
    ids = list(
        User.objects.filter(municipality=municipality).order_by("username").values_list("pk", flat=True)
    )
    return Report(
        title="権限一覧（定期確認用）",
        header=[*REVIEW_FIXED_HEADER, *Right.labels],
        rows=rows,
        file_stem=f"rights-review_{as_of:%Y%m%d}",
        parameters={"as_of": as_of.isoformat()},
        user_ids=ids,
    )


# ---------------------------------------------------------------------------------------------------
# CSV 出力
# ---------------------------------------------------------------------------------------------------

ENCODINGS = ("cp932", "utf-8")


def csv_bytes(header: list[str], rows: list[list[str]], *, encoding: str = "cp932") -> bytes:
    """CSV with CRLF line ends. CP932 (for Japanese Excel) by default; ``utf-8`` adds a BOM.

    A character CP932 cannot hold (e.g. 𠮷) is written as 〓; the UTF-8 file is always exact.
    """
    if encoding not in ENCODINGS:
        raise ValidationError(f"文字コード {encoding!r} には対応していません（cp932 または utf-8）")
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    # Opened in a spreadsheet: a cell starting like a formula is written as text (formats.csv_safe).
    writer.writerow([neutralise_cell(c) for c in header])
    writer.writerows([neutralise_cell(c) for c in row] for row in rows)
    text = buf.getvalue()
    if encoding == "utf-8":
        return text.encode("utf-8-sig")
    return encode_cp932(text)


@dataclass(frozen=True)
class ExportFile:
    """The bytes handed to the user, with what the export log recorded about them."""

    content: bytes
    file_name: str
    rows: int
    sha256: str
    encoding: str

    def as_dict(self) -> dict[str, Any]:
        return {"rows": self.rows, "file": self.file_name, "sha256": self.sha256, "encoding": self.encoding}


@transaction.atomic
def report_export(
    *, actor: User | None, municipality: Municipality, report: Report, encoding: str = "cp932"
) -> ExportFile:
    """Produce the CSV of ``report`` and record the export (出力) with its row count and SHA-256."""
    _report_municipality(actor, municipality)
    content = csv_bytes(report.header, report.rows, encoding=encoding)
    export = ExportFile(
        content=content,
        file_name=f"{report.file_stem}.csv",
        rows=len(report.rows),
        sha256=hashlib.sha256(content).hexdigest(),
        encoding=encoding,
    )
    audit_record(
        kind=AuditKind.EXPORT,
        function=f"{report.title}の出力",
        municipality=municipality,
        user=actor,
        subject_type=AuditSubjectType.USER,
        subject_ids=report.user_ids,
        detail={**export.as_dict(), "parameters": report.parameters},
    )
    return export


# ---------------------------------------------------------------------------------------------------
# 団体設定
# ---------------------------------------------------------------------------------------------------

SETTINGS_FIELDS = {
    "conveni_company_code": ("コンビニ収納 企業コード", 6),
    "conveni_client_code": ("コンビニ収納 委託者コード", 5),
    "eltax_agency_no": ("収納機関番号", 5),
}
# Printed on notices (督促状): free text, a phone number of digits and hyphens.
TEXT_SETTINGS_FIELDS = {"office_name": ("担当課", 100), "office_phone": ("担当課の電話番号", 30)}


@transaction.atomic
def municipality_settings_update(
    *, actor: Any, municipality: Municipality, changes: dict[str, str]
) -> Municipality:
    """Change the codes printed on slips and checked in payment files (section chiefs; logged before/after)."""
    if not has_right(actor, Right.MUNICIPALITY_SETTINGS) or actor.municipality_id != municipality.pk:
        raise PermissionDenied("団体設定を変更する権限がありません")
    locked = Municipality.objects.select_for_update().get(pk=municipality.pk)
    before, after = {}, {}
    for name, value in changes.items():
        value = value.strip()
        if name in TEXT_SETTINGS_FIELDS:
            label, size = TEXT_SETTINGS_FIELDS[name]
            if len(value) > size:
                raise ValidationError(f"{label}は{size}文字以内で入力してください")
            if name == "office_phone" and value and not re.fullmatch(r"[0-9]+(?:-[0-9]+)*", value):
                raise ValidationError(f"{label}は半角数字とハイフンで入力してください（例: 048-258-1110）")
        else:
            label, size = SETTINGS_FIELDS[name]
            if value and (len(value) != size or not value.isascii() or not value.isdigit()):
                raise ValidationError(f"{label}は半角数字{size}桁で入力してください（未設定なら空欄）")
        if getattr(locked, name) != value:
            before[name], after[name] = getattr(locked, name), value
            setattr(locked, name, value)
    if after:
        locked.save(update_fields=list(after))
        audit_record(
            kind=AuditKind.CHANGE,
            function="団体設定の変更",
            municipality=locked,
            user=actor,
            detail={"before": before, "after": after},
        )
    return locked
