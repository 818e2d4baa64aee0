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
from choshu.reports.statistics import MonthlyStatement

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


# --- 月計表 (docs/formats.md §36) ------------------------------------------------------------------------

STATEMENT_HEADER = [
    "対象年月", "会計年度", "区分（年度・月）", "税目コード", "税目", "現年・滞納繰越", "当月調定額", "当月更正額",
    "当月収入額", "当月還付額", "当月不納欠損額", "繰越調定額", "調定額累計", "収入済額累計", "還付額累計",
    "不納欠損額累計", "収入未済額", "還付未済額", "恒等式の差額",
]  # fmt: skip


def _statement_lines(st: MonthlyStatement) -> list[list[Any]]:
    out: list[list[Any]] = []
    for sec in st.sections:
        rows = [*sec.rows, *([sec.total] if sec.total else [])]
        for r in rows:
            m, c = r.month, r.cumulative
            out.append([
                f"{st.month:%Y-%m}", sec.fiscal_year, sec.label, "" if r.tax_item == "*" else r.tax_item,
                r.tax_item_name, r.category_label, m.levy, m.correction, m.paid, m.refunded, m.written_off,
                c.opening, c.levied, c.paid, c.refunded, c.written_off, c.outstanding, c.refund_pending,
                c.difference,
            ])  # fmt: skip
    return out


def monthly_statement_csv(st: MonthlyStatement) -> bytes:
    """CP932, CRLF, a header line; per section its rows, the item's 計 after its rows, the 合計 last (§36)."""
    return "".join(csv_stream(STATEMENT_HEADER, _statement_lines(st), bom=False)).encode(
        "cp932", errors="replace"
    )


def monthly_statement_xlsx(st: MonthlyStatement) -> bytes:
    """One sheet 「月計表」: a title line, the header, the lines of the CSV with amounts as numbers (§36)."""
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "月計表"
    ws.append([f"月計表（本税） {st.month.year}年{st.month.month}月分（{st.fiscal_year}年度）"])
    ws["A1"].font = Font(bold=True)
    ws.append(STATEMENT_HEADER)
    for line in _statement_lines(st):
        ws.append(line)
        for cell in ws[ws.max_row][:6]:
            if cell.column != 2:
                cell.data_type = "s"
    for row in ws.iter_rows(min_row=3, min_col=7, max_col=len(STATEMENT_HEADER)):
        for cell in row:
            cell.number_format = "#,##0"
    ws.column_dimensions["C"].width = 26
    ws.column_dimensions["E"].width = 22
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
