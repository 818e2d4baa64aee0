"""The settlement as CSV (CP932, for 会計課's spreadsheet) and XLSX (openpyxl); docs/formats.md §28–§29.

Totals only: no personal data. Every text cell goes through ``formats.csv_safe`` (CSV) and is written
as a string cell (XLSX: openpyxl never evaluates a value starting with "=" given as data type "s")."""

from __future__ import annotations

import io
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font

from choshu.formats.csv_safe import csv_stream
from choshu.reports.settlement import Row, Settlement

HEADER = [
    "会計年度", "税目コード", "税目", "区分", "繰越調定額", "調定額", "収入済額", "不納欠損額", "収入未済額",
    "還付未済額", "収納率（％）", "恒等式の差額",
]  # fmt: skip


def _lines(s: Settlement) -> list[list[Any]]:
    def line(r: Row) -> list[Any]:
        f = r.figures
        return [s.fiscal_year, r.tax_item, r.tax_item_name, r.category_label, f.opening, f.levied, f.paid,
                f.written_off, f.outstanding, f.refund_pending, f.rate, f.difference]  # fmt: skip

    out = [line(r) for r in s.rows]
    for key, f in s.totals.items():
        out.append(line(Row("", "合計", key, f)))
    return out


def settlement_csv(s: Settlement) -> bytes:
    """CP932, CRLF, a header line; the 合計 lines last (§28)."""
    return "".join(csv_stream(HEADER, _lines(s), bom=False)).encode("cp932", errors="replace")


def settlement_xlsx(s: Settlement) -> bytes:
    """One sheet 「決算」: a title line, the header, the lines of §28 with amounts as numbers (§29)."""
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "決算"
    state = "締め済み" if s.closed else "未締め（速報値）"
    ws.append([f"{s.fiscal_year}年度 市税決算（本税） {state}"])
    ws["A1"].font = Font(bold=True)
    ws.append(HEADER)
    for line in _lines(s):
        ws.append(line)
        for cell in ws[ws.max_row][1:4]:
            cell.data_type = "s"
    for col in "EFGHIJL":
        for cell in ws[col][2:]:
            cell.number_format = "#,##0"
    ws.column_dimensions["C"].width = 22
    ws.column_dimensions["D"].width = 14
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
