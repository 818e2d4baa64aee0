"""督促状 as a PDF — one notice, for reissue at the counter (issue 15 §4).

A4 portrait, in the layout of a 督促状 as cities send it:

* page 1, upper part: the addressee (placed for a window envelope), the issuer (office and phone from
  the municipality settings), the title 「督促状」, the demand with its legal basis
  (``dunning.legal_basis``: 法329条 ほか per tax item), the installments (年度, 税目, 期別, 納期限,
  本税, 延滞金), 督促手数料 and 合計, the 指定期限, and what follows if it is not paid (滞納処分・差押え,
  法331条 ほか);
* page 1, lower part: the notice's combined slip (3連: 領収証書 · 領収済通知書 · 納付書 with the
  GS1-128 barcode, OCR lines and eL番号) drawn by ``receipts.slip_pdf`` with the fee on each part;
* page 2 (the back): installments that did not fit, the notes and the 教示 (審査請求).

Every text is set in the embedded IPAex Gothic (``receipts.pdf_font``). The address is printed only
when the user may see it (``taxpayers.protection.may_see_address``): a protected person's notice is
printed with 「支援措置のため住所を記載していません」 for staff to hand over in the office.

``notice_print`` reads the notice (a fixed number of queries); ``render_notice`` never touches the
database.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen import canvas

from choshu.dunning.legal_basis import LegalBasis, legal_basis
from choshu.dunning.models import DunningNotice, NoticeStatus
from choshu.dunning.print_data import notice_codes, notice_lines
from choshu.formats.display import wareki, yen
from choshu.levies.tax_items import tax_item_name
from choshu.receipts.pdf_font import FONT_NAME, new_canvas
from choshu.receipts.pdf_font import draw_para as _para
from choshu.receipts.pdf_font import draw_text as _text
from choshu.receipts.slip_pdf import SlipData, SlipLine, _parts, grouped
from choshu.rules.dunning import seizure_eligible_date
from choshu.taxpayers.addressee import addressee_for
from choshu.taxpayers.models import Taxpayer
from choshu.taxpayers.protection import may_see_address

WITHHELD = "支援措置のため住所を記載していません（庁内でお渡しください）"


@dataclass(frozen=True)
class NoticeData:
    """Everything printed on one 督促状 (plain values)."""

    notice_id: int
    municipality_name: str
    office_name: str
    office_phone: str
    taxpayer_no: str
    taxpayer_name: str
    addressee_name: str
    addressee_via: str
    postal_code: str
    address: str
    address_extra: str
    address_withheld: bool
    tax_item: str
    tax_item_name: str
    basis: LegalBasis
    issued_on: date
    pay_by: date
    principal: int
    late_charge: int
    fee: int
    total: int
    printed_on: date
    cancelled: bool  # 取消: printed for the record, marked, without the slip
    slip: SlipData | None
    lines: list[SlipLine] = field(default_factory=list)


def notice_print(notice: DunningNotice, *, user: Any, on: date) -> NoticeData:
    """The printed content of ``notice`` for ``user`` on ``on`` (the addressee of that day)."""
    m = notice.municipality
    taxpayer = notice.taxpayer
    who = addressee_for(taxpayer, notice.tax_item, on)
    shown = may_see_address(user, taxpayer, on)
    if shown and who.protected_taxpayer_id != taxpayer.pk:
        other = Taxpayer.objects.filter(pk=who.protected_taxpayer_id).first()
        shown = other is None or may_see_address(user, other, on)
    name = tax_item_name(m.pk, notice.tax_item)
    lines = [
        SlipLine(
            tax_item_name=name,
            levy_year=x.levy_year,
            notice_no=x.notice_no,
            installment_no=x.installment_no,
            due_date=x.due_date,
            principal=x.principal,
            late_charge=x.late_charge,
            fee=notice.fee if k == 0 else 0,  # the fee is booked on the oldest installment (listed first)
        )
        for k, x in enumerate(notice_lines([notice.pk]).get(notice.pk, []))
    ]
    slip = None
    if notice.slip is not None:
        codes = notice_codes(
            m,
            slip_no=notice.slip.slip_no,
            amount=notice.total,
            pay_by=notice.pay_by,
            tax_item=notice.tax_item,
            levy_year=min((x.levy_year for x in lines), default=notice.issued_on.year),
        )
        slip = SlipData(
            municipality_name=m.name,
            slip_no=notice.slip.slip_no,
            confirmation_no=codes.confirmation_no,
            taxpayer_no=taxpayer.taxpayer_no,
            taxpayer_name=taxpayer.name,
            addressee_name=who.name,
            postal_code=who.postal_code if shown else "",
            address=who.address if shown else WITHHELD,
            address_extra=who.address_extra if shown else "",
            addressee_via=who.via,
            issued_on=notice.issued_on,
            late_charge_as_of=notice.issued_on,
            pay_by=notice.pay_by,
            barcode=codes.codes.barcode,
            el_number=codes.codes.el_number,
            ocr_upper=codes.ocr_upper,
            ocr_lower=codes.codes.ocr_lower,
            issue_no=notice.pk,
            lines=lines,
        )
    return NoticeData(
        notice_id=notice.pk,
        municipality_name=m.name,
        office_name=m.office_name or m.name,
        office_phone=m.office_phone,
        taxpayer_no=taxpayer.taxpayer_no,
        taxpayer_name=taxpayer.name,
        addressee_name=who.name,
        addressee_via=who.via,
        postal_code=who.postal_code if shown else "",
        address=who.address if shown else WITHHELD,
        address_extra=who.address_extra if shown else "",
        address_withheld=not shown,
        tax_item=notice.tax_item,
        tax_item_name=name,
        basis=legal_basis(notice.tax_item),
        issued_on=notice.issued_on,
        pay_by=notice.pay_by,
        principal=notice.principal,
        late_charge=notice.late_charge,
        fee=notice.fee,
        total=notice.total,
        printed_on=on,
        cancelled=notice.status == NoticeStatus.CANCELLED,
        slip=slip,
        lines=lines,
    )


def fiscal_year_name(year: int) -> str:
    """年度 in the era calendar, as notices print it: 2024 → 「令和6年度」, 2019 → 「令和元年度」."""
    text = wareki(date(year, 5, 1))  # FY2019 is 令和元年度 (令和 from 5月1日)
    return text[: text.index("年") + 1] + "度"


_W, _H = A4
_L = 12 * mm
_R = _W - 12 * mm
_FRONT_LINES = 5  # installments on the front; the rest on the back


def render_notice(data: NoticeData) -> bytes:
    """The 督促状 as PDF bytes (two pages: the front with the slip, the back with the 教示)."""
    out = io.BytesIO()
    c = new_canvas(out, title=f"督促状 {data.notice_id}", author=data.office_name)
    c.setSubject(f"督促状（{data.tax_item_name}・発付日 {data.issued_on.isoformat()}・再発行）")
    rest = _front(c, data)
    if data.cancelled:
        _text(
            c,
            12,
            _L,
            100 * mm,
            "この督促状は取り消されています。納付書としては使えません（記録用の写しです）。",
        )
    elif data.slip is not None:
        _parts(c, data.slip)
    else:
        _text(c, 10, _L, 100 * mm, "この督促状の納付書はありません。窓口で納付書を発行してください。")
    c.showPage()
    _back(c, data, rest)
    c.showPage()
    c.save()
    return out.getvalue()


def _front(c: canvas.Canvas, d: NoticeData) -> list[SlipLine]:
    top = _H - 14 * mm
    # the addressee (window envelope, left)
    _text(c, 10, 22 * mm, top - 8 * mm, f"〒{d.postal_code[:3]}-{d.postal_code[3:]}" if d.postal_code else "")
    y = _para(c, 10, 22 * mm, top - 14 * mm, d.address, 85 * mm, 4.8 * mm)
    if d.address_extra:
        y = _para(c, 10, 22 * mm, y, d.address_extra, 85 * mm, 4.8 * mm)
    _text(c, 13, 22 * mm, min(y, top - 24 * mm) - 3 * mm, f"{d.addressee_name}　様")
    if d.addressee_name != d.taxpayer_name:
        _text(
            c, 8.5, 22 * mm, min(y, top - 24 * mm) - 9 * mm, f"（{d.addressee_via}）{d.taxpayer_name} 様の分"
        )
    # the issuer (right)
    _text(c, 9, _R, top - 4 * mm, f"発付日 {wareki(d.issued_on)}", right=True)
    _text(c, 9, _R, top - 9 * mm, f"宛名番号 {d.taxpayer_no}", right=True)
    _text(c, 9, _R, top - 14 * mm, f"督促状番号 {d.notice_id}", right=True)
    _text(c, 10, _R, top - 22 * mm, d.municipality_name + "長", right=True)
    _text(c, 9, _R, top - 27 * mm, d.office_name, right=True)
    if d.office_phone:
        _text(c, 9, _R, top - 32 * mm, f"電話 {d.office_phone}", right=True)
    _text(c, 7.5, _R, top - 37 * mm, f"再発行（{wareki(d.printed_on)} 印刷）", right=True)
    # the title and the demand
    c.setFont(FONT_NAME, 22)
    c.drawCentredString(_W / 2, top - 50 * mm, "督　促　状" + ("（取消）" if d.cancelled else ""))
    demand = (
        f"あなたの下記の{d.tax_item_name}は、納期限までに納付されていません。{d.basis.dunning}の規定により督促します。"
        f"指定期限までに納付してください。"
    )
    y = _para(c, 9.5, _L, top - 59 * mm, demand, _R - _L, 4.8 * mm) - 2 * mm
    # the installments
    heads = ("年度", "税目", "期別", "納期限")
    xs = (_L, 34 * mm, 80 * mm, 100 * mm)
    amounts = (160 * mm, _R)
    for x, head in zip(xs, heads, strict=True):
        _text(c, 9, x, y, head)
    _text(c, 9, amounts[0], y, "本税（円）", right=True)
    _text(c, 9, amounts[1], y, "延滞金（円）", right=True)
    c.setLineWidth(0.5)
    c.line(_L, y - 1.8 * mm, _R, y - 1.8 * mm)
    y -= 6 * mm
    shown = d.lines if len(d.lines) <= _FRONT_LINES else d.lines[: _FRONT_LINES - 1]
    for line in shown:
        cells = (
            fiscal_year_name(line.levy_year),
            line.tax_item_name,
            f"第{line.installment_no}期",
            wareki(line.due_date),
        )
        for x, cell in zip(xs, cells, strict=True):
            _text(c, 9, x, y, cell)
        _text(c, 9, amounts[0], y, yen(line.principal), right=True)
        _text(c, 9, amounts[1], y, yen(line.late_charge), right=True)
        y -= 5 * mm
    rest = d.lines[len(shown) :]
    if rest:
        _text(c, 9, _L, y, f"ほか{len(rest)}期（裏面の明細をご覧ください）")
        _text(c, 9, amounts[0], y, yen(sum(x.principal for x in rest)), right=True)
        _text(c, 9, amounts[1], y, yen(sum(x.late_charge for x in rest)), right=True)
        y -= 5 * mm
    c.line(_L, y + 3.2 * mm, _R, y + 3.2 * mm)
    _text(c, 9.5, _L, y - 0.5 * mm, "計")
    _text(c, 9.5, amounts[0], y - 0.5 * mm, yen(d.principal), right=True)
    _text(c, 9.5, amounts[1], y - 0.5 * mm, yen(d.late_charge), right=True)
    y -= 6 * mm
    _text(c, 9.5, _L, y, "督促手数料")
    _text(c, 9.5, _R, y, f"{yen(d.fee)}円", right=True)
    y -= 6 * mm
    _text(c, 12, _L, y, "合計（請求額）")
    _text(c, 12, _R, y, f"{yen(d.total)}円", right=True)
    y -= 9 * mm
    c.setLineWidth(1)
    c.rect(_L, y - 2.5 * mm, _R - _L, 8.5 * mm)
    _text(c, 12, _L + 3 * mm, y, f"指定期限　{wareki(d.pay_by)}")
    _text(c, 8.5, _R - 3 * mm, y, "（この日までに納付してください）", right=True)
    y -= 9 * mm
    warning = (
        f"指定期限までに完納されないときは、{d.basis.seizure}の規定により、財産の差押えなどの滞納処分を"
        f"受けることになります（{wareki(seizure_eligible_date(d.issued_on))}以後）。"
    )
    y = _para(c, 9, _L, y, warning, _R - _L, 4.5 * mm)
    note = (
        "延滞金は発付日現在の額です。納付の日までの延滞金が加算されます。"
        f"この督促状と行き違いで納付された場合はご容赦ください。お問い合わせ: {d.office_name}"
        + (f"（電話 {d.office_phone}）" if d.office_phone else "")
    )
    _para(c, 8, _L, y - 0.5 * mm, note, _R - _L, 4 * mm)
    return rest


def _back(c: canvas.Canvas, d: NoticeData, rest: list[SlipLine]) -> None:
    y = _H - 20 * mm
    _text(
        c,
        13,
        _L,
        y,
        f"督促状（裏面）　督促状番号 {d.notice_id}　納付番号 {grouped(d.slip.slip_no) if d.slip else '－'}",
    )
    y -= 10 * mm
    if rest:
        _text(c, 11, _L, y, "明細（表面に書ききれなかった期別）")
        y -= 7 * mm
        for line in rest:
            if y < 90 * mm:
                _text(c, 9, _L, y, "（以下省略。窓口でお尋ねください）")
                y -= 6 * mm
                break
            _text(c, 9, _L, y, f"{fiscal_year_name(line.levy_year)} {line.tax_item_name} {line.notice_no} 第{line.installment_no}期 "
                               f"納期限 {wareki(line.due_date)}")  # fmt: skip
            _text(c, 9, _R, y, f"本税 {yen(line.principal)}円　延滞金 {yen(line.late_charge)}円", right=True)
            y -= 5 * mm
        y -= 5 * mm
    notes = (
        (
            "納付の場所",
            "表面の納付書で、金融機関・コンビニエンスストア（バーコードがあるとき）・"
            "地方税お支払サイト（eL番号）で納付できます。",
        ),  # fmt: skip
        (
            "延滞金",
            "本税を納期限までに納付しなかったときは、納期限の翌日から納付の日までの日数に応じて延滞金が"
            "かかります。延滞金の額は納付の日によって変わります。",
        ),  # fmt: skip
        (
            "教示",
            f"この督促に不服がある場合は、この督促状を受け取った日の翌日から起算して3か月以内に、"
            f"{d.municipality_name}長に対して審査請求をすることができます（行政不服審査法）。ただし、地方税法第19条の4"
            "に定める期限の方が早いときは、その期限までとなります。",
        ),  # fmt: skip
        (
            "",
            "この督促処分の取消しの訴えは、審査請求に対する裁決の送達を受けた日の翌日から起算して6か月以内に、"
            f"{d.municipality_name}を被告として（訴訟において{d.municipality_name}を代表する者は"
            f"{d.municipality_name}長となります）提起することができます（行政事件訴訟法）。",
        ),  # fmt: skip
    )
    for head, text in notes:
        if head:
            _text(c, 10, _L, y, f"■ {head}")
            y -= 5.5 * mm
        y = _para(c, 9, _L + 4 * mm, y, text, _R - _L - 4 * mm, 4.6 * mm) - 3 * mm
    y -= 4 * mm
    _text(c, 9, _L, y, f"{d.office_name}" + (f"　電話 {d.office_phone}" if d.office_phone else ""))
