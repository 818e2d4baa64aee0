"""口座振替: mandates (with the two-person check), their bulk import, the office's settings.

Request files are ``debits.requests``; result files ``debits.results`` (through the payment engine).
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from choshu.accounts.models import Role, User
from choshu.accounts.permissions import Right, has_right
from choshu.approvals.models import ChangeRequest, RequestKind
from choshu.approvals.services import request_create
from choshu.audit.models import AuditKind, AuditSubjectType
from choshu.audit.services import audit_record
from choshu.core.models import Job, Municipality
from choshu.core.services import job_finish, job_start
from choshu.debits.models import (
    CollectingAccount,
    DebitSettings,
    Mandate,
    MandateKind,
    MandateStatus,
    StartNotice,
)
from choshu.formats.csvfile import read_bytes
from choshu.formats.debit_mandates import MandateInput, check_mandate, parse_mandates_csv
from choshu.formats.errors import FileRefused, RowError
from choshu.formats.fields import canonical_taxpayer_no
from choshu.formats.zengin import FieldClass, KanaError, to_zengin_kana
from choshu.levies.models import TaxItem
from choshu.taxpayers.models import Taxpayer

REQUEST_LABELS = {
    "mandates": "口座振替依頼（内部番号）",
    "taxpayer_no": "宛名番号",
    "tax_item": "税目",
    "bank": "金融機関・支店",
    "account": "預金種目・口座番号",
    "holder_kana": "口座名義",
    "start": "振替開始日",
    "end": "振替終了日",
    "received_on": "依頼書の受付日",
    "replaces": "変更前の口座振替（内部番号）",
    "warnings": "金融機関コードの警告",
    "file": "取込ファイル",
    "count": "件数",
}


def _check_staff(actor: User, taxpayer: Taxpayer | None = None) -> None:
    if not has_right(actor, Right.TAXPAYER_EDIT):
        raise PermissionDenied("口座振替依頼を登録する権限がありません")
    if taxpayer is not None and taxpayer.municipality_id != actor.municipality_id:
        raise PermissionDenied("他の自治体の宛名は扱えません")


def _check_tax_item(municipality_id: int, code: str) -> None:
    if (
        code
        and not TaxItem.objects.filter(municipality_id=municipality_id, code=code, is_active=True).exists()
    ):
        raise ValidationError(f"税目コード {code} はこの団体の税目にありません（空欄は全税目）")


def _mandate_payload(m: Mandate) -> dict[str, Any]:
    return {
        "taxpayer_no": m.taxpayer.taxpayer_no,
        "tax_item": m.tax_item or "全税目",
        "bank": f"{m.bank_code}-{m.branch_code}",
        "account": f"{m.deposit_type}-{m.account}",
        "holder_kana": m.holder_kana,
        "start": m.start.isoformat(),
        "end": m.end.isoformat() if m.end else None,
        "received_on": m.received_on.isoformat(),
        "replaces": m.replaces_id,
        "warnings": m.bank_warnings,
    }


def _audit(actor: Any, m: Mandate, function: str, **extra: Any) -> None:
    audit_record(
        kind=AuditKind.CHANGE,
        function=function,
        municipality=m.municipality,
        user=actor,
        subject_type=AuditSubjectType.TAXPAYER,
        subject_ids=[m.taxpayer_id],
        detail={"mandate": m.pk, "status": m.status, **extra},
    )


def _build(actor: User | None, taxpayer: Taxpayer, data: MandateInput, source: str) -> Mandate:
    checked = check_mandate(data)
    if not checked.ok:
        raise ValidationError({f: [msg] for f, msg in checked.errors})
    return Mandate(
        municipality_id=taxpayer.municipality_id,
        taxpayer=taxpayer,
        tax_item=data.tax_item.strip(),
        bank_code=checked.bank_code,
        branch_code=checked.branch_code,
        deposit_type=checked.deposit_type,
        account=checked.account,
        jp_kigo=data.jp_kigo.strip(),
        jp_bango=data.jp_bango.strip(),
        holder_name=data.holder_name.strip()[:60],
        holder_kana=checked.holder_kana,
        start=data.start,
        end=data.end,
        received_on=data.received_on,
        bank_warnings=checked.warnings,
        has_bank_warnings=bool(checked.warnings),
        source=source,
        created_by=actor,
    )


@transaction.atomic
def mandate_request(
    *,
    actor: User,
    taxpayer: Taxpayer,
    data: MandateInput,
    reason: str,
    replaces: Mandate | None = None,
) -> Mandate:
    """Enter a new mandate (or a change of one: ``replaces``) for a second person to approve. The
    mandate exists as ``pending`` and is used by no request file until the approval."""
    _check_staff(actor, taxpayer)
    _check_tax_item(taxpayer.municipality_id, data.tax_item.strip())
    usable = (MandateStatus.ACTIVE, MandateStatus.SUSPENDED)
    if replaces is not None and (replaces.taxpayer_id != taxpayer.pk or replaces.status not in usable):
        raise ValidationError("変更できるのは、この宛名の有効な（または停止中の）口座振替だけです")
    m = _build(actor, taxpayer, data, source="窓口入力")
    m.kind = MandateKind.CHANGE if replaces is not None else MandateKind.NEW
    m.replaces = replaces
    m.save()
    req = request_create(
        actor=actor,
        kind=RequestKind.DIRECT_DEBIT_MANDATE,
        reason=reason,
        payload={"mandates": [m.pk], **_mandate_payload(m)},
        taxpayer=taxpayer,
        before=_mandate_payload(replaces) if replaces is not None else None,
        required_right=Right.TAXPAYER_EDIT,
    )
    m.request = req
    m.save(update_fields=["request"])
    _audit(actor, m, "口座振替依頼の登録（決裁申請）", request=req.pk)
    return m


def _apply_mandate(req: ChangeRequest, approver: User, decided_on: date) -> None:
    """The approved request takes effect: its mandates become active (a change ends the one it
    replaces the day before the new one starts), and each gets a 口座振替開始通知."""
    for m in (
        Mandate.objects.select_for_update().filter(request=req, status=MandateStatus.PENDING).order_by("pk")
    ):
        if m.replaces_id is not None:
            old = Mandate.objects.select_for_update().get(pk=m.replaces_id)
            if old.status in (MandateStatus.ACTIVE, MandateStatus.SUSPENDED):
                old.status = MandateStatus.ENDED
                old.end = (
                    max(old.start, m.start - timedelta(days=1))
                    if old.end is None
                    else min(old.end, max(old.start, m.start - timedelta(days=1)))
                )
                old.status_note = f"口座振替の変更（#{m.pk}）"
                old.save(update_fields=["status", "end", "status_note"])
                _audit(approver, old, "口座振替の終了（変更）", replaced_by=m.pk)
        m.status = MandateStatus.ACTIVE
        m.approved_by, m.approved_on = approver, decided_on
        m.save(update_fields=["status", "approved_by", "approved_on"])
        StartNotice.objects.get_or_create(mandate=m)
        _audit(approver, m, "口座振替依頼の登録（決裁）", request=req.pk)


def _close_mandate(req: ChangeRequest) -> None:
    """A rejected or withdrawn request: its pending mandates are 否認・取下げ at once (a request file
    never used them; the screens stop showing them as waiting)."""
    note = f"決裁{req.get_status_display()}（申請#{req.pk}）"
    for m in (
        Mandate.objects.select_for_update().filter(request=req, status=MandateStatus.PENDING).order_by("pk")
    ):
        m.status, m.status_note = MandateStatus.REJECTED, note[:300]
        m.save(update_fields=["status", "status_note"])
        _audit(req.decided_by, m, "口座振替依頼の否認・取下げ", request=req.pk)


@transaction.atomic
def mandate_end(*, actor: User, mandate: Mandate, end: date, note: str) -> Mandate:
    """End a mandate (the taxpayer's 廃止届, the office's decision): no debit after ``end``."""
    m = Mandate.objects.select_for_update().get(pk=mandate.pk)
    _check_staff(actor, m.taxpayer)
    if not note.strip():
        raise ValidationError("終了の理由を入力してください")
    if m.status not in (MandateStatus.ACTIVE, MandateStatus.SUSPENDED):
        raise ValidationError(f"この口座振替は「{m.get_status_display()}」です")
    if end < m.start:
        raise ValidationError(f"終了日（{end:%Y-%m-%d}）が開始日（{m.start:%Y-%m-%d}）より前です")
    m.status, m.end, m.status_note = MandateStatus.ENDED, end, note.strip()[:300]
    m.save(update_fields=["status", "end", "status_note"])
    _audit(actor, m, "口座振替の終了", end=end.isoformat(), note=m.status_note)
    return m


@transaction.atomic
def mandate_resume(*, actor: User, mandate: Mandate, note: str) -> Mandate:
    """Resume a mandate a 振替不能 result suspended (the taxpayer confirmed the account)."""
    m = Mandate.objects.select_for_update().get(pk=mandate.pk)
    _check_staff(actor, m.taxpayer)
    if m.status != MandateStatus.SUSPENDED:
        raise ValidationError("停止中の口座振替だけを再開できます")
    if not note.strip():
        raise ValidationError("再開の理由を入力してください")
    m.status, m.status_note = MandateStatus.ACTIVE, note.strip()[:300]
    m.save(update_fields=["status", "status_note"])
    _audit(actor, m, "口座振替の再開", note=m.status_note)
    return m


@transaction.atomic
def mandate_override_bank(*, actor: User, mandate: Mandate, note: str) -> Mandate:
    """A chief confirms a bank or branch code the reference data does not know (a new branch, a
    merger the data has not caught up with): the mandate's lines are written from then on."""
    m = Mandate.objects.select_for_update().get(pk=mandate.pk)
    if actor.role != Role.CHIEF or not has_right(actor, Right.APPROVE):
        raise PermissionDenied("金融機関コードの警告を解除できるのは決裁権限のある所属長だけです")
    if m.municipality_id != actor.municipality_id:
        raise PermissionDenied("他の自治体の口座振替は扱えません")
    if not m.bank_warnings:
        raise ValidationError("この口座振替に金融機関コードの警告はありません")
    if not note.strip():
        raise ValidationError("確認した内容を入力してください")
    m.bank_override_by, m.bank_override_note = actor, note.strip()[:300]
    m.save(update_fields=["bank_override_by", "bank_override_note"])
    _audit(actor, m, "金融機関コードの警告の解除", warnings=m.bank_warnings, note=m.bank_override_note)
    return m


# --- bulk import (Pay-easy 口座振替受付 results and the like) -----------------------------------------


@transaction.atomic
def mandates_import(
    *, municipality: Municipality, path: str | Path, actor: User, reason: str
) -> dict[str, Any]:
    """Import mandates from a CSV file (``formats.debit_mandates_csv``) as ONE request for a second
    person to approve. The whole file is checked first: a malformed row, an unknown 宛名番号 or tax
    item refuses the file (line, column, reason) and nothing is written."""
    _check_staff(actor)
    if actor.municipality_id != municipality.pk:
        raise PermissionDenied("他の自治体には取り込めません")
    if not reason.strip():
        raise ValidationError("申請理由を入力してください")
    data = read_bytes(path)
    parsed = parse_mandates_csv(data, file_name=str(path))
    errors: list[RowError] = []
    width = municipality.taxpayer_no_width
    canonical = {r.line: canonical_taxpayer_no(r.taxpayer_no, width) or r.taxpayer_no for r in parsed.rows}
    nos = set(canonical.values())
    people = dict(
        Taxpayer.objects.filter(municipality=municipality, taxpayer_no__in=nos).values_list(
            "taxpayer_no", "pk"
        )
    )
    items = set(
        TaxItem.objects.filter(municipality=municipality, is_active=True).values_list("code", flat=True)
    )
    for r in parsed.rows:
        if canonical[r.line] not in people:
            errors.append(RowError(r.line, "taxpayer_no", "宛名番号が登録されていません", r.taxpayer_no))
        if r.mandate.tax_item and r.mandate.tax_item not in items:
            errors.append(RowError(r.line, "tax_item", "この団体の税目にありません", r.mandate.tax_item))
    if errors:
        raise FileRefused(errors, str(path))
    job = job_start(
        municipality=municipality,
        kind=Job.Kind.IMPORT_DEBIT_MANDATES,
        actor=actor,
        file_name=str(path),
        file_sha256=parsed.sha256,
    )
    taxpayers = Taxpayer.objects.in_bulk(list(people.values()))
    mandates = [
        _build(
            actor, taxpayers[people[canonical[r.line]]], r.mandate, source=f"一括取込 {Path(path).name}"[:120]
        )
        for r in parsed.rows
    ]
    Mandate.objects.bulk_create(mandates, batch_size=1000)
    req = request_create(
        actor=actor,
        kind=RequestKind.DIRECT_DEBIT_MANDATE,
        reason=reason,
        payload={"file": Path(path).name, "count": len(mandates), "sha256": parsed.sha256},
        required_right=Right.TAXPAYER_EDIT,
    )
    Mandate.objects.filter(pk__in=[m.pk for m in mandates]).update(request=req)
    warned = sum(1 for m in mandates if m.bank_warnings)
    counts = {"mandates": len(mandates), "request_id": req.pk, "bank_warnings": warned}
    job_finish(job, status=Job.Status.SUCCEEDED, counts=counts)
    audit_record(
        kind=AuditKind.BATCH,
        function="口座振替依頼の一括取込",
        municipality=municipality,
        user=actor,
        job=job,
        subject_type=AuditSubjectType.TAXPAYER,
        subject_ids=sorted({m.taxpayer_id for m in mandates}),
        detail={"file": str(path), "sha256": parsed.sha256, **counts},
    )
    return counts


# --- settings ------------------------------------------------------------------------------------


def debit_settings(municipality_id: int) -> DebitSettings:
    found = DebitSettings.objects.filter(municipality_id=municipality_id).first()
    return found if found is not None else DebitSettings(municipality_id=municipality_id)


def _check_settings_actor(actor: User | None, municipality: Municipality) -> None:
    if actor is not None and (
        not has_right(actor, Right.MUNICIPALITY_SETTINGS) or actor.municipality_id != municipality.pk
    ):
        raise PermissionDenied("団体設定を変更する権限がありません")


@transaction.atomic
def debit_settings_set(
    *,
    actor: User | None,
    municipality: Municipality,
    on_no_account: str,
    on_depositor_stop: str,
    on_no_mandate: str,
) -> DebitSettings:
    _check_settings_actor(actor, municipality)
    s, _ = DebitSettings.objects.get_or_create(municipality=municipality)
    s.on_no_account, s.on_depositor_stop, s.on_no_mandate = on_no_account, on_depositor_stop, on_no_mandate
    s.updated_by = actor
    s.full_clean(exclude=["municipality", "updated_by"])
    s.save()
    audit_record(
        kind=AuditKind.CHANGE,
        function="口座振替の団体設定",
        municipality=municipality,
        user=actor,
        detail={
            "on_no_account": on_no_account,
            "on_depositor_stop": on_depositor_stop,
            "on_no_mandate": on_no_mandate,
        },
    )
    return s


@transaction.atomic
def collecting_account_set(
    *,
    actor: User | None,
    municipality: Municipality,
    bank_code: str,
    branch_code: str,
    deposit_type: str,
    account: str,
    originator_code: str,
    originator_name: str,
    is_default: bool = False,
) -> CollectingAccount:
    """Register (or replace) the collecting account at one bank with its 委託者コード・委託者名."""
    _check_settings_actor(actor, municipality)
    problems = []
    if not (bank_code.isascii() and bank_code.isdigit() and len(bank_code) == 4):
        problems.append("金融機関コードは4桁の数字です")
    if not (branch_code.isascii() and branch_code.isdigit() and len(branch_code) == 3):
        problems.append("支店コードは3桁の数字です")
    if deposit_type not in ("1", "2", "9"):
        problems.append("預金種目は 1（普通）、2（当座）、9（その他）です")
    if not (account.isascii() and account.isdigit() and 1 <= len(account) <= 7):
        problems.append("口座番号は7桁以内の数字です")
    if not (originator_code.isascii() and originator_code.isdigit() and 1 <= len(originator_code) <= 10):
        problems.append("委託者コードは10桁以内の数字です（金融機関が付番）")
    try:
        name = to_zengin_kana(originator_name.strip(), field=FieldClass.NAME, max_bytes=40)
    except KanaError as exc:
        problems.append(f"委託者名を全銀の文字に変換できません: {exc}")
        name = ""
    if problems:
        raise ValidationError(problems)
    CollectingAccount.objects.filter(municipality=municipality, bank_code=bank_code, is_active=True).update(
        is_active=False
    )
    if is_default:
        CollectingAccount.objects.filter(municipality=municipality, is_default=True, is_active=True).update(
            is_active=False
        )
    acc = CollectingAccount.objects.create(
        municipality=municipality,
        bank_code=bank_code,
        branch_code=branch_code,
        deposit_type=deposit_type,
        account=account.zfill(7),
        originator_code=originator_code.zfill(10),
        originator_name=name,
        is_default=is_default,
        updated_by=actor,
    )
    audit_record(
        kind=AuditKind.CHANGE,
        function="口座振替の収納口座",
        municipality=municipality,
        user=actor,
        detail=asdict_collecting(acc),
    )
    return acc


def asdict_collecting(acc: CollectingAccount) -> dict[str, Any]:
    return {
        "collecting": acc.pk,
        "bank_code": acc.bank_code,
        "branch_code": acc.branch_code,
        "deposit_type": acc.deposit_type,
        "account": acc.account,
        "originator_code": acc.originator_code,
        "originator_name": acc.originator_name,
        "is_default": acc.is_default,
        "updated_at": timezone.now().isoformat(),
    }


@transaction.atomic
def failure_follow_up(*, actor: User, line: Any, note: str) -> Any:
    """Mark a 振替不能 line followed up (the taxpayer was contacted, a slip sent …), with a note."""
    from choshu.debits.models import DebitLine, LineStatus

    locked = DebitLine.objects.select_for_update().get(pk=line.pk)
    _check_staff(actor, locked.taxpayer)
    if locked.status != LineStatus.FAILED:
        raise ValidationError("振替不能の明細だけを対応済みにできます")
    if locked.followed_up_at is not None:
        raise ValidationError("この明細は対応済みです")
    if not note.strip():
        raise ValidationError("対応の内容を入力してください")
    locked.followed_up_by, locked.followed_up_at, locked.follow_up_note = (
        actor,
        timezone.now(),
        note.strip()[:300],
    )
    locked.save(update_fields=["followed_up_by", "followed_up_at", "follow_up_note"])
    audit_record(
        kind=AuditKind.CHANGE,
        function="振替不能の対応",
        municipality=actor.municipality,
        user=actor,
        subject_type=AuditSubjectType.TAXPAYER,
        subject_ids=[locked.taxpayer_id],
        detail={"line": locked.pk, "note": locked.follow_up_note},
    )
    return locked
