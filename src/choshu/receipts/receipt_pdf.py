"""領収証書 (the receipt handed over at the counter) as a PDF with an embedded Japanese font.

The font is the vendored IPAex Gothic, embedded as a subset (``receipts.pdf_font``, shared by every
PDF the system writes), so the receipt prints the same on any reader or printer.

Rendering takes a ``ReceiptData`` of plain values and never touches the database.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import date

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen import canvas

from choshu.formats.display import wareki, yen
from choshu.receipts.pdf_font import FONT_NAME, FONT_PATH, new_canvas, register_font

__all__ = [
    "FONT_NAME",
    "FONT_PATH",
    "ReceiptData",
    "ReceiptLine",
    "receipt_number",
    "register_font",
    "render_receipt",
]


@dataclass(frozen=True)
class ReceiptLine:
    """One 期別 the money went to: 本税 and 延滞金 allocated, in yen."""

    tax_item_name: str
    levy_year: int
    notice_no: str
    installment_no: int
    principal: int
    late_charge: int

    @property
    def total(self) -> int:
        return self.principal + self.late_charge


@dataclass(frozen=True)
class ReceiptData:
    """Everything printed on one 領収証書. ``receipt_no`` is the payment id."""

    receipt_no: int
    municipality_name: str
    taxpayer_no: str
    taxpayer_name: str
    slip_no: str
    paid_on: date
    total: int
    clerk_name: str
    issued_on: date
    lines: list[ReceiptLine] = field(default_factory=list)
    overpaid: int = 0
    suspended: int = 0


def receipt_number(receipt_no: int) -> str:
    """The receipt number as printed: 「第000123号」."""
    return f"第{receipt_no:06d}号"


# Columns in mm: the text columns start at their x; the amount columns end at theirs.
_LEFT_COLS = (20, 70, 90, 115)
_AMOUNT_COLS = (148, 170, 190)
_RIGHT = 190
_BOTTOM = 60 * mm  # room left under the lines for the totals and the footer


def render_receipt(data: ReceiptData) -> bytes:
    """The 領収証書 as PDF bytes (A4 portrait, the receipt in the upper half)."""
    font = register_font()
    out = io.BytesIO()
    number = receipt_number(data.receipt_no)
    c = new_canvas(out, title=f"領収証書 {number}", author=data.municipality_name)
    c.setSubject(f"領収証書（領収番号 {number}）")
    _header(c, font, data, number)
    y = _lines(c, font, data, A4[1] - 75 * mm)
    _footer(c, font, data, y)
    c.showPage()
    c.save()
    return out.getvalue()


def _text(
    c: canvas.Canvas, font: str, size: float, x: float, y: float, text: str, *, right: bool = False
) -> None:
    c.setFont(font, size)
    (c.drawRightString if right else c.drawString)(x * mm, y, text)


def _header(c: canvas.Canvas, font: str, data: ReceiptData, number: str) -> None:
    top = A4[1] - 20 * mm
    c.setFont(font, 22)
    c.drawCentredString(A4[0] / 2, top, "領　収　証　書")
    _text(c, font, 10, _RIGHT, top - 10 * mm, f"領収番号 {number}", right=True)
    _text(c, font, 10, _RIGHT, top - 15 * mm, f"発行日 {wareki(data.issued_on)}", right=True)
    _text(c, font, 10, 20, top - 10 * mm, f"宛名番号 {data.taxpayer_no}")
    _text(c, font, 15, 20, top - 18 * mm, f"{data.taxpayer_name}　様")
    c.setLineWidth(0.8)
    c.line(20 * mm, top - 20 * mm, 110 * mm, top - 20 * mm)
    _text(c, font, 12, 20, top - 32 * mm, "領収金額")
    _text(c, font, 20, 110, top - 32 * mm, f"￥{yen(data.total)}－", right=True)
    c.line(20 * mm, top - 34 * mm, 110 * mm, top - 34 * mm)
    _text(c, font, 10, 20, top - 42 * mm, f"納付番号 {data.slip_no}")
    _text(c, font, 10, 90, top - 42 * mm, f"領収日 {wareki(data.paid_on)}（{data.paid_on:%Y/%m/%d}）")


def _row(c: canvas.Canvas, font: str, size: float, y: float, cells: tuple[str, ...]) -> None:
    """Four text cells, then three amounts right-aligned."""
    for x, cell in zip(_LEFT_COLS, cells[:4], strict=True):
        _text(c, font, size, x, y, cell)
    for x, cell in zip(_AMOUNT_COLS, cells[4:], strict=True):
        _text(c, font, size, x, y, cell, right=True)


def _column_heads(c: canvas.Canvas, font: str, y: float) -> float:
    _row(c, font, 9, y, ("税目", "年度", "通知書番号", "期別", "本税", "延滞金", "計"))
    c.setLineWidth(0.5)
    c.line(20 * mm, y - 2 * mm, _RIGHT * mm, y - 2 * mm)
    return y - 7 * mm


def _lines(c: canvas.Canvas, font: str, data: ReceiptData, y: float) -> float:
    y = _column_heads(c, font, y)
    for line in data.lines:
        if y < _BOTTOM:  # a combined slip of many 期別 continues on the next page
            c.showPage()
            y = _column_heads(c, font, A4[1] - 20 * mm)
        cells = (
            line.tax_item_name,
            f"{line.levy_year}年度",
            line.notice_no,
            f"第{line.installment_no}期",
            yen(line.principal),
            yen(line.late_charge),
            yen(line.total),
        )
        _row(c, font, 9, y, cells)
        y -= 6 * mm
    for label, amount in (("過誤納金（還付または充当します）", data.overpaid), ("未消込", data.suspended)):
        if amount:
            _text(c, font, 9, _LEFT_COLS[0], y, label)
            _text(c, font, 9, _RIGHT, y, yen(amount), right=True)
            y -= 6 * mm
    c.line(20 * mm, y + 4 * mm, _RIGHT * mm, y + 4 * mm)
    _text(c, font, 10, _LEFT_COLS[0], y - 1 * mm, "合計")
    _text(c, font, 10, _RIGHT, y - 1 * mm, yen(data.total), right=True)
    return y - 12 * mm


def _footer(c: canvas.Canvas, font: str, data: ReceiptData, y: float) -> None:
    _text(c, font, 10, 20, y, "上記の金額を領収しました。")
    _text(c, font, 11, 20, y - 10 * mm, data.municipality_name)
    _text(c, font, 9, 20, y - 16 * mm, f"取扱者 {data.clerk_name}")
    box = 24 * mm
    c.setLineWidth(0.8)
    c.rect(_RIGHT * mm - box, y - 20 * mm, box, box)
    c.setFont(font, 8)
    c.drawCentredString(_RIGHT * mm - box / 2, y - 20 * mm + box - 4 * mm, "領収印")
