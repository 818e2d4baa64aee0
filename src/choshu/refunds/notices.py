"""充当通知書, 還付通知書 and 過誤納還付通知書 (issue 16 §5): a PDF of one notice (embedded IPAex Gothic)
and the print-vendor file of the notices not yet printed (CSV, CP932 by default).

The content is read once (``notice_content``, plain values) and drawn by ``render_notice`` without
the database. The addressee follows ``taxpayers.addressee`` (納税管理人, 送付先 …); the address is
printed only for a user who may see it, and a notice of a person under 支援措置 never goes into the
vendor file (it is counted as ``blocked`` and printed in the office).
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from itertools import chain
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from reportlab.lib.units import mm

from choshu.audit.models import AuditKind, AuditSubjectType
from choshu.audit.services import audit_record
from choshu.core.models import Municipality
from choshu.core.outfiles import check_out, output_file
from choshu.formats.csv_safe import csv_line_writer, encode_cp932
from choshu.formats.display import wareki, yen
from choshu.levies.models import Component
from choshu.levies.tax_items import tax_item_name
from choshu.receipts.pdf_font import FONT_NAME, new_canvas, wrap
from choshu.refunds.models import NoticeKind, RefundNotice
from choshu.taxpayers.addressee import addressee_for
from choshu.taxpayers.protection import may_see_address

WITHHELD = "支援措置のため住所を記載していません（庁内でお渡しください）"
NO_ITEM = "00"  # a notice not of one tax item (taxpayers.addressee)

BODY = {
    NoticeKind.APPROPRIATION: (
        "あなたが納付された税金に過誤納金が生じましたので、地方税法第17条の2の規定により、下記のとおり"
        "納期限を過ぎた未納の税金に充当しました（同条第5項による通知）。充当は充当適状日にさかのぼって"
        "効力を生じ、その日以後の充当された本税に係る延滞金はかかりません。"
    ),
    NoticeKind.REFUND: (
        "あなたが納付された税金に過誤納金が生じましたので、地方税法第17条及び第17条の4の規定により、"
        "下記のとおり還付金に還付加算金を加えて、届出の口座へお振り込みします。"
    ),
    NoticeKind.CLAIM: (
        "あなたが納付された税金に過誤納金が生じています（地方税法第17条）。還付のため、同封の"
        "過誤納金還付請求書に振込先の口座（本人名義）をご記入のうえご返送ください。"
        "公金受取口座の利用を希望される方はその旨をご記入ください。"
    ),
    NoticeKind.APPROPRIATION_CANCEL: (
        "過誤納金の元となった納付が取り消されました（収納の取消）。このため、下記のとおり先に行った"
        "充当を取り消しました。充当していた税金は未納に戻り、延滞金は本来の納期限の翌日から計算されます。"
    ),
}
TITLE = {
    NoticeKind.APPROPRIATION: "過誤納金充当通知書",
    NoticeKind.REFUND: "過誤納金還付通知書",
    NoticeKind.CLAIM: "過誤納金還付通知書（還付請求のお願い）",
    NoticeKind.APPROPRIATION_CANCEL: "過誤納金充当取消通知書",
}
COMPONENT = {c.value: str(c.label) for c in Component}


@dataclass(frozen=True)
class NoticeLine:
    text: str
    amount: int
    on: date | None = None


@dataclass(frozen=True)
class NoticeContent:
    notice_id: int
    kind: NoticeKind
    municipality_name: str
    office_name: str
    office_phone: str
    taxpayer_no: str
    addressee_name: str
    postal_code: str
    address: str
    address_extra: str
    address_withheld: bool
    issued_on: date
    overpayment_amount: int
    cause: str
    arose_on: date
    amount: int
    refund_interest: int = 0
    account: str = ""
    lines: list[NoticeLine] = field(default_factory=list)


def notice_content(notice: RefundNotice, *, user: Any, on: date) -> NoticeContent:
    """What ``notice`` prints for ``user`` on ``on`` (the addressee of that day)."""
    m = notice.municipality
    tp = notice.taxpayer
    op = notice.overpayment
    who = addressee_for(tp, NO_ITEM, on)
    shown = user is not None and may_see_address(user, tp, on)
    lines = []
    if notice.kind in (NoticeKind.APPROPRIATION, NoticeKind.APPROPRIATION_CANCEL):
        rows = (
            notice.appropriations.all()
            if notice.kind == NoticeKind.APPROPRIATION
            else op.appropriations.filter(cancelled_on=notice.issued_on)
        )
        for a in rows.select_related("installment__levy").order_by("pk"):
            i = a.installment
            name = tax_item_name(m.pk, i.levy.tax_item)
            lines.append(
                NoticeLine(
                    f"{i.levy.levy_year}年度 {name} 第{i.installment_no}期（{COMPONENT.get(a.component, a.component)}）",
                    a.amount,
                    a.appropriable_on,
                )
            )
    refund = notice.refund
    account = ""
    if refund is not None and refund.account is not None:
        acc = refund.account
        account = f"金融機関 {acc.bank_code} 支店 {acc.branch_code} 口座番号 ****{acc.account_no[-3:]} {acc.holder_kana}"
    return NoticeContent(
        notice_id=notice.pk, kind=NoticeKind(notice.kind), municipality_name=m.name,
        office_name=m.office_name or m.name, office_phone=m.office_phone, taxpayer_no=tp.taxpayer_no,
        addressee_name=who.name, postal_code=who.postal_code if shown else "",
        address=who.address if shown else WITHHELD, address_extra=who.address_extra if shown else "",
        address_withheld=not shown, issued_on=notice.issued_on, overpayment_amount=op.amount,
        cause=f"{op.get_origin_display()}（{op.get_cause_display()}）", arose_on=op.arose_on,
        amount=refund.amount if refund is not None else notice.amount,
        refund_interest=refund.refund_interest if refund is not None else 0, account=account, lines=lines,
    )  # fmt: skip


def render_notice(d: NoticeContent) -> bytes:
    """The notice as an A4 PDF (one page; lines that do not fit go on the next)."""
    out = io.BytesIO()
    c = new_canvas(out, title=TITLE[d.kind], author=d.municipality_name)
    width, height = c._pagesize  # noqa: SLF001 - reportlab keeps the page size here
    left, y = 20 * mm, height - 25 * mm
    c.setFont(FONT_NAME, 10)
    for text in (
        f"〒{d.postal_code}" if d.postal_code else "",
        d.address,
        d.address_extra,
        f"{d.addressee_name} 様",
    ):
        if text:
            c.drawString(left, y, text)
            y -= 6 * mm
    c.drawRightString(width - 20 * mm, height - 25 * mm, f"{wareki(d.issued_on)}")
    c.drawRightString(width - 20 * mm, height - 31 * mm, f"{d.office_name}")
    if d.office_phone:
        c.drawRightString(width - 20 * mm, height - 37 * mm, f"電話 {d.office_phone}")
    y -= 8 * mm
    c.setFont(FONT_NAME, 16)
    c.drawCentredString(width / 2, y, TITLE[d.kind])
    y -= 12 * mm
    c.setFont(FONT_NAME, 10)
    for line in wrap(BODY[d.kind], 10, width - 40 * mm):
        c.drawString(left, y, line)
        y -= 5.5 * mm
    y -= 4 * mm
    facts = [
        ("宛名番号", d.taxpayer_no),
        ("過誤納の原因", d.cause),
        ("発生日", wareki(d.arose_on)),
        ("過誤納金の額", f"{yen(d.overpayment_amount)}円"),
    ]
    if d.kind == NoticeKind.APPROPRIATION:
        facts.append(("充当した額", f"{yen(d.amount)}円"))
    elif d.kind == NoticeKind.APPROPRIATION_CANCEL:
        facts.append(("取り消した充当の額", f"{yen(d.amount)}円"))
    else:
        facts.append(("還付金の額", f"{yen(d.amount)}円"))
    if d.kind == NoticeKind.REFUND:
        facts += [
            ("還付加算金", f"{yen(d.refund_interest)}円"),
            ("お支払い額", f"{yen(d.amount + d.refund_interest)}円"),
        ]
        if d.account:
            facts.append(("振込先", d.account))
    for label, value in facts:
        c.drawString(left, y, label)
        c.drawString(left + 35 * mm, y, value)
        y -= 6 * mm
    if d.lines:
        y -= 4 * mm
        c.drawString(left, y, "充当先")
        c.drawString(left + 110 * mm, y, "充当適状日")
        c.drawRightString(width - 20 * mm, y, "充当額（円）")
        y -= 6 * mm
        for ln in d.lines:
            if y < 25 * mm:
                c.showPage()
                c.setFont(FONT_NAME, 10)
                y = height - 25 * mm
            c.drawString(left, y, ln.text)
            if ln.on is not None:
                c.drawString(left + 110 * mm, y, wareki(ln.on))
            c.drawRightString(width - 20 * mm, y, yen(ln.amount))
            y -= 6 * mm
    c.setFont(FONT_NAME, 8)
    c.drawString(left, 15 * mm, "この通知についてのお問い合わせは上記の担当課へお願いします。")
    c.showPage()
    c.save()
    return out.getvalue()


# --- the print-vendor file ---------------------------------------------------------------------------

HEADER = (
    "通知番号", "通知の種類", "通知日", "宛名番号", "宛先氏名", "郵便番号", "住所", "方書", "宛先の区分",
    "過誤納の原因", "発生日", "過誤納金の額", "充当額・還付金の額", "還付加算金", "明細",
)  # fmt: skip


@dataclass
class PrintSummary:
    file: str
    encoding: str
    rows: int = 0
    blocked: int = 0
    sha256: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"file": self.file, "encoding": self.encoding, "rows": self.rows, "blocked": self.blocked,
                "sha256": self.sha256}  # fmt: skip


def _pending(municipality: Municipality, kind: str | None) -> Any:
    qs = RefundNotice.objects.filter(municipality=municipality, printed_at__isnull=True)
    if kind:
        qs = qs.filter(kind=kind)
    return qs.select_related("municipality", "taxpayer", "overpayment", "refund__account").order_by("pk")


def _rows(
    municipality: Municipality, kind: str | None, on: date, s: PrintSummary, done: list[tuple[int, int]]
) -> Iterator[list[object]]:
    last = 0
    while True:
        chunk = list(_pending(municipality, kind).filter(pk__gt=last)[:500])
        if not chunk:
            return
        last = chunk[-1].pk
        for n in chunk:
            if n.taxpayer.is_protected(on):
                s.blocked += 1
                continue
            d = notice_content(n, user=None, on=on)
            who = addressee_for(n.taxpayer, NO_ITEM, on)
            detail = " / ".join(f"{ln.text} {ln.amount}円" for ln in d.lines)
            done.append((n.pk, n.taxpayer_id))
            s.rows += 1
            yield [
                n.pk, TITLE[d.kind], d.issued_on.isoformat(), d.taxpayer_no, who.name, who.postal_code, who.address,
                who.address_extra, who.via, d.cause, d.arose_on.isoformat(), d.overpayment_amount, d.amount,
                d.refund_interest, detail,
            ]  # fmt: skip


def print_data_write(
    *, municipality: Municipality, out: str | Path, on: date, kind: str | None = None, encoding: str = "cp932",
    actor: Any = None,
) -> PrintSummary:  # fmt: skip
    """The notices not yet printed (of ``kind``, or all) as the print vendor's CSV; they are marked printed
    when the file has its name (all or nothing)."""
    if encoding not in ("cp932", "utf-8"):
        raise ValidationError(
            f"文字コード {encoding!r} には対応していません（cp932 または utf-8 を指定してください）"
        )
    if kind is not None and kind not in NoticeKind.values:
        raise ValidationError(f"通知の種類 {kind!r} はありません（{'、'.join(NoticeKind.values)}）")
    path = Path(out)
    check_out(path)
    s = PrintSummary(file=path.name, encoding=encoding)
    done: list[tuple[int, int]] = []  # (notice, taxpayer): ids only, marked printed when the file is named
    line = csv_line_writer()
    with output_file(path) as f:
        rows: list[Iterable[list[object]]] = [[list(HEADER)], _rows(municipality, kind, on, s, done)]
        for cells in chain.from_iterable(rows):
            text = line(cells)
            f.write(encode_cp932(text) if encoding == "cp932" else text.encode("utf-8"))
        s.sha256 = f.sha256
        with transaction.atomic():
            for start in range(0, len(done), 1000):
                part = [pk for pk, _ in done[start : start + 1000]]
                RefundNotice.objects.filter(pk__in=part).update(printed_at=timezone.now())
            audit_record(
                kind=AuditKind.EXPORT, function="過誤納・還付の通知の印刷データ", municipality=municipality,
                user=actor, subject_type=AuditSubjectType.TAXPAYER,
                subject_ids=sorted({t for _, t in done}),
                detail=s.as_dict(), shows_address=True,
            )  # fmt: skip
            f.publish()
    return s
