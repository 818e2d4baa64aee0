"""開示請求 (section V of the privacy impact assessment): everything held about one person, as CSV and PDF.

The export is itself logged (rows and the SHA-256 of each file). The My Number is never written out:
the export says whether one is held. A person under 支援措置 is refused (the files would hold the
address): no file is written, the refusal is logged, and the clerk is told to follow the 支援措置
procedure by hand (``taxpayers.protection``). Sections: attributes, revisions, levies and installments with
balances, payments, approvals concerning the person, and who accessed the record (access log).
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from django.db import transaction
from django.db.models import Field
from django.http import HttpRequest
from django.utils import timezone
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm

from choshu.accounts.models import User
from choshu.accounts.permissions import Right, has_right
from choshu.approvals.models import ChangeRequest
from choshu.audit.models import AuditKind, AuditLog, AuditSubject, AuditSubjectType
from choshu.audit.services import audit_record
from choshu.core.labels import key_label
from choshu.core.models import Municipality
from choshu.formats.csv_safe import csv_stream
from choshu.formats.display import wareki
from choshu.levies.selectors import amounts_due
from choshu.receipts.models import Payment
from choshu.receipts.pdf_font import FONT_NAME, new_canvas, wrap
from choshu.taxpayers.models import Taxpayer
from choshu.taxpayers.protection import ProtectedPersonRefused, refuse_reason
from choshu.taxpayers.services import TRACKED

FUNCTION = "開示請求出力"
DOCUMENT = "開示請求用の出力（CSV・PDF）"


@dataclass(frozen=True)
class DisclosureFiles:
    csv_path: Path
    pdf_path: Path
    rows: int
    reception_no: str = ""  # 受付番号, printed on the PDF and kept in the export's audit record


def disclosure_rows(taxpayer: Taxpayer, as_of: date) -> list[tuple[str, str, str]]:
    """(section, item, value) rows — the content of both files."""
    rows: list[tuple[str, str, str]] = []
    rows.append(("宛名", "宛名番号", taxpayer.taxpayer_no))
    for name in TRACKED:
        field = Taxpayer._meta.get_field(name)
        assert isinstance(field, Field)
        value = getattr(taxpayer, name)
        if field.choices:
            value = getattr(taxpayer, f"get_{name}_display")()
        elif isinstance(value, bool):
            value = "はい" if value else "いいえ"
        rows.append(("宛名", str(field.verbose_name), "" if value is None else str(value)))
    rows.append(("宛名", "送付先", f"{taxpayer.mailing_postal_code} {taxpayer.mailing_address}".strip()))
    rows.append(
        ("宛名", "個人番号", "保有あり（番号は本書に記載しません）" if taxpayer.has_my_number else "保有なし")
    )
    for rev in taxpayer.revisions.order_by("revision"):
        rows.append(
            (
                "履歴",
                f"履歴番号 {rev.revision}",
                f"{rev.changed_at:%Y-%m-%d %H:%M} {'・'.join(key_label(f) for f in rev.changed_fields)} {rev.reason}",
            )
        )
    # 本税 · 延滞金 · 合計 owed per installment as of the export date (levies.selectors.amounts_due)
    for b in amounts_due(taxpayer_ids=[taxpayer.pk], as_of=as_of):
        late = "割合未設定" if b.late_charge is None else f"{b.late_charge:,}円"
        fee = f" 督促手数料 {b.dunning_fee:,}円" if b.dunning_fee else ""
        rows.append(
            (
                "調定・収納",
                f"{b.tax_item_name} {b.levy_year}年度 通知書{b.notice_no} 第{b.installment_no}期",
                f"納期限 {b.due_date} 調定額 {b.principal:,}円 収納額 {b.principal_paid:,}円"
                f" 本税（未納） {b.principal_due:,}円 延滞金 {late}{fee} 合計 {b.total:,}円（{as_of} 現在）",
            )
        )
    for p in Payment.objects.filter(taxpayer=taxpayer).order_by("paid_on", "pk"):
        rows.append(("納付", f"{p.paid_on}", f"{p.get_channel_display()} {p.amount:,}円"))
    for req in ChangeRequest.objects.filter(taxpayer=taxpayer).order_by("requested_at"):
        rows.append(
            (
                "訂正等の申請",
                f"{req.requested_at:%Y-%m-%d}",
                f"{req.get_kind_display()} {req.get_status_display()}",
            )
        )
    for sub in AuditSubject.objects.filter(taxpayer_id=taxpayer.pk).select_related("log").order_by("log__at"):
        rows.append(
            (
                "利用記録",
                f"{sub.log.at:%Y-%m-%d %H:%M}",
                f"{sub.log.function}（{sub.log.get_kind_display()}）",
            )
        )
    return rows


def disclosure_export(
    *, actor: User, taxpayer: Taxpayer, folder: Path, as_of: date, request: HttpRequest | None = None
) -> DisclosureFiles:
    """Write the CSV (UTF-8 with BOM, for Excel) and the PDF, and log the export with file hashes."""
    if not has_right(actor, Right.DISCLOSURE_EXPORT) or actor.municipality_id != taxpayer.municipality_id:
        from django.core.exceptions import PermissionDenied

        raise PermissionDenied("開示請求の出力をする権限がありません")
    refused = refuse_reason(taxpayer, as_of, DOCUMENT)
    if refused is not None:
        _log(actor, taxpayer, request, {"refused": refused, "rows": 0, "files": {}})
        raise ProtectedPersonRefused(refused)
    rows = disclosure_rows(taxpayer, as_of)
    folder.mkdir(parents=True, exist_ok=True)
    with transaction.atomic():
        reception_no = _next_reception_no(actor.municipality)
        csv_path = folder / f"disclosure-{taxpayer.taxpayer_no}-{as_of.isoformat()}-{reception_no}.csv"
        pdf_path = csv_path.with_suffix(".pdf")
        # The citizen opens it in a spreadsheet: every cell through formats.csv_safe (no formula).
        lines = csv_stream(["区分", "項目", "内容"], [["受付", "受付番号", reception_no], *rows])
        csv_path.write_bytes("".join(lines).encode("utf-8"))
        pdf_path.write_bytes(_pdf(taxpayer, rows, as_of, reception_no, actor.municipality))
        _log(
            actor,
            taxpayer,
            request,
            {
                "reception_no": reception_no,
                "rows": len(rows),
                "files": {p.name: _sha256(p) for p in (csv_path, pdf_path)},
            },
        )
    return DisclosureFiles(csv_path, pdf_path, len(rows), reception_no)


def _next_reception_no(municipality: Municipality | None) -> str:
    """受付番号 of a new disclosure: the day and its sequence in the municipality, ``YYYYMMDD-NNNN``.

    Derived from the audit log (every export, written or refused, is one EXPORT record of this
    function), counted under a lock on the municipality row, so two clerks exporting at once get
    different numbers. The office finds a disclosure again by searching the audit log for it.
    """
    assert municipality is not None
    Municipality.objects.select_for_update().filter(pk=municipality.pk).first()
    today = timezone.localdate()
    start = timezone.make_aware(datetime(today.year, today.month, today.day))
    done = AuditLog.objects.filter(
        municipality=municipality, kind=AuditKind.EXPORT, function=FUNCTION, at__gte=start
    ).count()
    return f"{today:%Y%m%d}-{done + 1:04d}"


def _log(actor: User, taxpayer: Taxpayer, request: HttpRequest | None, detail: dict[str, Any]) -> None:
    audit_record(
        kind=AuditKind.EXPORT,
        request=request,
        function=FUNCTION,
        municipality=actor.municipality,
        user=actor,
        subject_type=AuditSubjectType.TAXPAYER,
        subject_ids=[taxpayer.pk],
        detail=detail,
        shows_address=True,
    )


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


_MARGIN = 20 * mm
_BODY_WIDTH = A4[0] - 2 * _MARGIN


def _pdf(
    taxpayer: Taxpayer,
    rows: list[tuple[str, str, str]],
    as_of: date,
    reception_no: str,
    municipality: Municipality | None,
) -> bytes:
    """The citizen's copy: every row whole (long rows wrap, never cut off), the font embedded."""
    out = io.BytesIO()
    author = municipality.name if municipality is not None else ""
    c = new_canvas(out, title=f"保有個人情報開示 {taxpayer.taxpayer_no}", author=author)
    c.setSubject(f"保有個人情報の開示（受付番号 {reception_no}）")
    height = A4[1]
    y = height - _MARGIN
    page = 1

    def footer() -> None:
        c.setFont(FONT_NAME, 8)
        c.drawRightString(A4[0] - _MARGIN, 10 * mm, f"受付番号 {reception_no}　{page}ページ")

    def line(text: str, size: int = 9, indent: float = 0) -> None:
        nonlocal y, page
        for part in wrap(text, size, _BODY_WIDTH - indent):
            if y < _MARGIN:
                footer()
                c.showPage()
                page += 1
                y = height - _MARGIN
            c.setFont(FONT_NAME, size)
            c.drawString(_MARGIN + indent, y, part)
            y -= size * 1.6

    line("保有個人情報の開示（地方税の収納・滞納整理に関する事務）", 13)
    line(f"受付番号 {reception_no}", 10)
    line(f"宛名番号 {taxpayer.taxpayer_no}　作成日 {wareki(as_of)}（{as_of:%Y/%m/%d}）", 10)
    section = ""
    for sec, item, value in rows:
        if sec != section:
            section = sec
            line(f"■ {sec}", 11)
        line(f"{item}：{value}", 9, 4 * mm)
    footer()
    c.save()
    return out.getvalue()


def disclosure_summary(files: DisclosureFiles) -> dict[str, Any]:
    return {
        "csv": str(files.csv_path),
        "pdf": str(files.pdf_path),
        "rows": files.rows,
        "reception_no": files.reception_no,
    }
