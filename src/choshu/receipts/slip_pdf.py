"""納付書 (payment slip) as a PDF: the guidance with every 期別, and the 3-part slip (3連) below it.

A4 portrait. The upper part is what the person reads: the 宛名 (placed for a window envelope), the
期別 with 本税 · 延滞金 · 合計 (and 督促手数料 when one is owed), the 延滞金's 計算基準日 and the 使用期限. The lower part is the slip a
bank or convenience store takes, cut along the dotted lines into

* 領収証書 (納税者保管) — the person keeps it, stamped;
* 領収済通知書 (市保管) — the bank sends it to the city;
* 納付書 (金融機関保管) — with the コンビニ収納 GS1-128 barcode (AI 91, FNC1, code set C).

Under the three parts: the OCR lines (上段 39 / 下段 44 digits) and the eL番号, each with the check
digits ``formats.slipcodes`` computes. Every text is set in the embedded IPAex Gothic
(``receipts.pdf_font``); the barcode's human-readable line is drawn by us in that font too (reportlab
would use Helvetica, which is not embedded).

Rendering takes a ``SlipData`` of plain values and never touches the database.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import date

from reportlab.graphics.barcode.code128 import Code128
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen import canvas

from choshu.formats.display import wareki, yen
from choshu.receipts.pdf_font import FONT_NAME, new_canvas
from choshu.receipts.pdf_font import draw_text as _text
from choshu.receipts.receipt_pdf import ReceiptLine

FNC1 = "\xf1"  # reportlab's Code128 spelling of FNC1: first after the start code = GS1-128
BAR_MODULE = 0.19 * mm  # X dimension; 288 modules + quiet zones ≈ 58.5 mm (guideline: ≤ 60 mm)
BAR_HEIGHT = 11 * mm
MAX_PART_LINES = 4  # 期別 listed on each part; more are in the upper part (明細)


@dataclass(frozen=True)
class SlipLine(ReceiptLine):
    """One 期別 on the slip: 本税 still owed, 延滞金 as of the 計算基準日 and the 督促手数料 (滞納処分費)
    owed (yen), and its 納期限."""

    due_date: date
    fee: int = 0

    @property
    def total(self) -> int:
        return self.principal + self.late_charge + self.fee


@dataclass(frozen=True)
class SlipData:
    """Everything printed on one 納付書. Empty code strings are not printed (with the reason)."""

    municipality_name: str
    slip_no: str
    confirmation_no: str
    taxpayer_no: str
    taxpayer_name: str
    addressee_name: str
    postal_code: str
    address: str
    address_extra: str
    addressee_via: str
    issued_on: date
    late_charge_as_of: date
    pay_by: date
    barcode: str
    el_number: str
    ocr_upper: str
    ocr_lower: str
    issue_no: int  # 発行番号 (the 発行履歴 row)
    reissue: bool = False
    lines: list[SlipLine] = field(default_factory=list)

    @property
    def principal(self) -> int:
        return sum(line.principal for line in self.lines)

    @property
    def late_charge(self) -> int:
        return sum(line.late_charge for line in self.lines)

    @property
    def fee(self) -> int:
        return sum(line.fee for line in self.lines)

    @property
    def total(self) -> int:
        return self.principal + self.late_charge + self.fee


def _amount_heads(data: SlipData) -> tuple[str, ...]:
    if not data.fee:
        return ("本税（円）", "延滞金（円）", "計（円）")
    return ("本税", "延滞金", "手数料", "計（円）")  # narrower columns: the unit once


def _amounts(data: SlipData, row: SlipData | SlipLine) -> tuple[int, ...]:
    """A row's amount cells: the 手数料 column appears only when the slip carries a fee."""
    if not data.fee:
        return (row.principal, row.late_charge, row.total)
    return (row.principal, row.late_charge, row.fee, row.total)


def grouped(digits: str, size: int = 4) -> str:
    """Digits in groups for reading aloud: ``1234567890`` → ``1234 5678 90``."""
    return " ".join(digits[i : i + size] for i in range(0, len(digits), size))


def barcode_symbol(digits: str) -> Code128:
    """The GS1-128 symbol of a 44-digit 料金代理収納 payload: Start C, FNC1, 22 digit pairs, check, stop.

    reportlab's ``Code128`` encodes a leading ``\\xf1`` as FNC1 and a run of digits in code set C
    (tested: ``encoded`` is ``[105, 102, 91, …]``)."""
    return Code128(FNC1 + digits, barWidth=BAR_MODULE, barHeight=BAR_HEIGHT, humanReadable=False, quiet=1)


def render_slip(data: SlipData) -> bytes:
    """The 納付書 as PDF bytes (A4 portrait; a second page lists 期別 that do not fit)."""
    out = io.BytesIO()
    title = f"納付書 {data.slip_no}" + ("（再発行）" if data.reissue else "")
    c = new_canvas(out, title=title, author=data.municipality_name)
    c.setSubject(f"納付書（納付番号 {data.slip_no}・発行番号 {data.issue_no}）")
    rest = _guidance(c, data)
    _parts(c, data)
    c.showPage()
    while rest:
        rest = _detail_page(c, data, rest)
        c.showPage()
    c.save()
    return out.getvalue()


_W, _H = A4
_L = 12 * mm
_R = _W - 12 * mm
_GUIDE_LINES = 9  # 期別 rows in the upper part of page 1


def _guidance(c: canvas.Canvas, data: SlipData) -> list[SlipLine]:
    """The upper part; returns the 期別 that did not fit (for a detail page)."""
    top = _H - 14 * mm
    # 宛名 (window envelope position, left)
    _text(c, 10, 22 * mm, top - 10 * mm, f"〒{data.postal_code}" if data.postal_code else "")
    _text(c, 10, 22 * mm, top - 16 * mm, data.address)
    _text(c, 10, 22 * mm, top - 21 * mm, data.address_extra)
    _text(c, 13, 22 * mm, top - 30 * mm, f"{data.addressee_name}　様")
    if data.addressee_name != data.taxpayer_name:
        _text(c, 9, 22 * mm, top - 36 * mm, f"（{data.addressee_via}）{data.taxpayer_name} 様の分")
    # issuer (right)
    c.setFont(FONT_NAME, 18)
    c.drawRightString(_R, top - 4 * mm, "納付書" + ("（再発行）" if data.reissue else ""))
    _text(c, 10, _R, top - 12 * mm, data.municipality_name, right=True)
    _text(c, 9, _R, top - 18 * mm, f"発行日 {wareki(data.issued_on)}", right=True)
    _text(c, 9, _R, top - 23 * mm, f"宛名番号 {data.taxpayer_no}", right=True)
    _text(c, 9, _R, top - 28 * mm, f"納付番号 {grouped(data.slip_no)}", right=True)
    _text(c, 9, _R, top - 33 * mm, f"発行番号 {data.issue_no}", right=True)
    y = top - 48 * mm
    heads = ("税目", "年度", "通知書番号", "期別", "納期限", *(_amount_heads(data)))
    xs = (
        (_L, 52 * mm, 72 * mm, 100 * mm, 115 * mm)
        if not data.fee
        else (_L, 46 * mm, 62 * mm, 86 * mm, 99 * mm)
    )
    amounts = (160 * mm, 180 * mm, _R) if not data.fee else (143 * mm, 162 * mm, 180 * mm, _R)
    for x, head in zip(xs, heads[:5], strict=True):
        _text(c, 9, x, y, head)
    for x, head in zip(amounts, heads[5:], strict=True):
        _text(c, 9, x, y, head, right=True)
    c.setLineWidth(0.5)
    c.line(_L, y - 2 * mm, _R, y - 2 * mm)
    y -= 7 * mm
    shown = data.lines[:_GUIDE_LINES]
    for line in shown:
        cells = (line.tax_item_name, f"{line.levy_year}年度", line.notice_no, f"第{line.installment_no}期",
                 wareki(line.due_date))  # fmt: skip
        for x, cell in zip(xs, cells, strict=True):
            _text(c, 9, x, y, cell)
        for x, amount in zip(amounts, _amounts(data, line), strict=True):
            _text(c, 9, x, y, yen(amount), right=True)
        y -= 5.5 * mm
    rest = data.lines[_GUIDE_LINES:]
    if rest:
        _text(c, 9, _L, y, f"ほか{len(rest)}件の期別は次のページ（明細）にあります。")
        y -= 5.5 * mm
    c.line(_L, y + 3.5 * mm, _R, y + 3.5 * mm)
    _text(c, 10, _L, y - 1 * mm, "合計")
    for x, amount in zip(amounts, _amounts(data, data), strict=True):
        _text(c, 10, x, y - 1 * mm, yen(amount), right=True)
    y -= 9 * mm
    notes: tuple[str, ...] = (
        f"延滞金は{wareki(data.late_charge_as_of)}に納付された場合の額です（地方税法の定めにより計算）。",
        f"この納付書の使用期限は{wareki(data.pay_by)}です。期限を過ぎた場合は、納付書の再発行をお申し出ください。",
        "金融機関・コンビニエンスストア・地方税お支払サイト（eL番号）で納付できます。",
    )
    if data.fee:
        notes = (*notes, "督促手数料は、督促状を発付したことにより納めていただくものです。")
    for note in notes:
        _text(c, 8.5, _L, y, note)
        y -= 4.5 * mm
    return rest


_PART_TOP = 130 * mm  # the 3-part slip fills the lower part of the page
_PART_W = (_R - _L) / 3
_PARTS = (
    ("領収証書", "（納税者保管）", True),
    ("領収済通知書", "（市保管）", True),
    ("納付書", "（金融機関保管）", False),
)


def _parts(c: canvas.Canvas, data: SlipData) -> None:
    c.setDash(2, 2)
    c.setLineWidth(0.4)
    c.line(_L, _PART_TOP + 4 * mm, _R, _PART_TOP + 4 * mm)
    for k in (1, 2):
        x = _L + k * _PART_W
        c.line(x, 30 * mm, x, _PART_TOP + 4 * mm)
    c.setDash()
    _text(c, 7, _L, _PART_TOP + 5 * mm, "ーー きりとり線 ーー")
    for k, (title, keeper, stamp) in enumerate(_PARTS):
        _part(c, data, _L + k * _PART_W + 2 * mm, _PART_W - 4 * mm, title, keeper, stamp)
    _ocr_band(c, data)


def _part(c: canvas.Canvas, data: SlipData, x: float, w: float, title: str, keeper: str, stamp: bool) -> None:
    y = _PART_TOP - 2 * mm
    _text(c, 12, x, y, title)
    _text(c, 7, x + w, y, keeper, right=True)
    y -= 6 * mm
    items = sorted({line.tax_item_name for line in data.lines})
    years = sorted({line.levy_year for line in data.lines})
    _text(c, 8, x, y, f"税目 {'・'.join(items)}")
    y -= 4 * mm
    year_text = f"{years[0]}年度" if len(years) == 1 else f"{years[0]}〜{years[-1]}年度"
    _text(c, 8, x, y, f"年度 {year_text}")
    y -= 4 * mm
    for line in data.lines[:MAX_PART_LINES]:
        _text(c, 7.5, x, y, f"第{line.installment_no}期 {line.notice_no} 納期限 {wareki(line.due_date)}")
        y -= 3.6 * mm
    if len(data.lines) > MAX_PART_LINES:
        _text(c, 7.5, x, y, f"ほか{len(data.lines) - MAX_PART_LINES}件（明細をご覧ください）")
        y -= 3.6 * mm
    y -= 1 * mm
    rows = [("本税", data.principal), ("延滞金", data.late_charge)]
    if data.fee:
        rows.append(("督促手数料", data.fee))
    for label, amount in (*rows, ("合計額", data.total)):
        _text(c, 9, x, y, label)
        _text(c, 9, x + w, y, f"{yen(amount)}円", right=True)
        y -= 4.5 * mm
    c.setLineWidth(0.4)
    c.line(x, y + 8 * mm, x + w, y + 8 * mm)
    _text(c, 7.5, x, y, f"納付番号 {grouped(data.slip_no)}")
    y -= 3.6 * mm
    _text(c, 7.5, x, y, f"確認番号 {data.confirmation_no}")
    y -= 3.6 * mm
    _text(c, 7.5, x, y, f"使用期限 {wareki(data.pay_by)}")
    y -= 3.6 * mm
    _text(c, 7.5, x, y, f"延滞金計算基準日 {wareki(data.late_charge_as_of)}")
    y -= 4.5 * mm
    _text(c, 9, x, y, f"{data.taxpayer_name}　様")
    y -= 4 * mm
    _text(c, 7.5, x, y, data.municipality_name + (" 再発行" if data.reissue else ""))
    if stamp:
        box = 18 * mm
        c.rect(x + w - box, 33 * mm, box, box)
        c.setFont(FONT_NAME, 7)
        c.drawCentredString(x + w - box / 2, 33 * mm + box - 3.5 * mm, "領収日付印")
        return
    # 納付書: the コンビニ barcode, or why there is none
    if data.barcode:
        symbol = barcode_symbol(data.barcode)
        symbol.drawOn(c, x + (w - symbol.width) / 2, 37.5 * mm)
        _text(c, 6.5, x + w / 2 - 27 * mm, 35 * mm, f"({data.barcode[:2]}){data.barcode[2:22]}")
        _text(c, 6.5, x + w / 2 - 27 * mm, 32.2 * mm, data.barcode[22:])
        _text(c, 6.5, x + w / 2 - 27 * mm, 29.4 * mm, f"コンビニ使用期限 {wareki(data.pay_by)}")
    else:
        _text(c, 8, x, 42 * mm, "コンビニエンスストアでは")
        _text(c, 8, x, 38 * mm, "取り扱えません")


def _ocr_band(c: canvas.Canvas, data: SlipData) -> None:
    """OCR lines and eL番号 across the foot of the slip (digits only, as bank OCR reads them)."""
    y = 24 * mm
    _text(c, 7, _L, y, "OCR")
    _text(c, 9, _L + 12 * mm, y, data.ocr_upper)
    y -= 5 * mm
    _text(c, 9, _L + 12 * mm, y, data.ocr_lower)
    y -= 6 * mm
    if data.el_number:
        _text(c, 7, _L, y, "eL番号")
        _text(c, 10, _L + 12 * mm, y, grouped(data.el_number))
    else:
        _text(c, 7, _L, y, "eL番号 なし（地方税お支払サイトでは納付できません）")


def _detail_page(c: canvas.Canvas, data: SlipData, lines: list[SlipLine]) -> list[SlipLine]:
    """明細 (continuation): the 期別 that did not fit on page 1; returns those that do not fit here."""
    y = _H - 20 * mm
    _text(c, 14, _L, y, f"納付書 明細（納付番号 {grouped(data.slip_no)}）")
    y -= 10 * mm
    per_page = int((y - 20 * mm) / (5.5 * mm))
    for line in lines[:per_page]:
        _text(c, 9, _L, y, f"{line.tax_item_name} {line.levy_year}年度 {line.notice_no} 第{line.installment_no}期 "
                           f"納期限 {wareki(line.due_date)}")  # fmt: skip
        fee = f"　督促手数料 {yen(line.fee)}円" if line.fee else ""
        _text(c, 9, _R, y, f"本税 {yen(line.principal)}円　延滞金 {yen(line.late_charge)}円{fee}", right=True)
        y -= 5.5 * mm
    return lines[per_page:]
