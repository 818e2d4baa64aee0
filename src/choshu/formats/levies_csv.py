"""``levies.csv`` — 調定 from the tax systems, one row per installment (interchange.md §2)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from typing import NamedTuple, TextIO

from choshu.formats.csvfile import iter_fields
from choshu.formats.errors import RowError
from choshu.formats.fields import RowChecker
from choshu.rules.check_digits import is_valid_slip_no

HEADER = (
    "tax_item",
    "levy_year",
    "notice_no",
    "taxpayer_no",
    "installment_no",
    "due_date",
    "principal",
    "slip_no",
)

TAX_ITEMS = {
    "01": "個人住民税(普通徴収)",
    "02": "個人住民税(特別徴収)",
    "03": "法人住民税",
    "04": "固定資産税・都市計画税",
    "05": "軽自動車税(種別割)",
    "06": "事業所税",
    "07": "国民健康保険税",
}


class LevyRecord(NamedTuple):
    line: int
    tax_item: str
    levy_year: int
    notice_no: str
    taxpayer_no: str
    installment_no: int
    due_date: date
    principal: int
    slip_no: str

    @property
    def key(self) -> tuple[str, int, str, int]:
        return (self.tax_item, self.levy_year, self.notice_no, self.installment_no)


_PLAIN = re.compile(
    r"(0[1-6]),([0-9]{4}),([0-9]{1,12}),([0-9]{1,15}),([0-9]{1,2}),([0-9]{4}-[0-9]{2}-[0-9]{2}),([0-9]+),"
    r"([0-9]{16})?"
)
"""A row whose fields are plainly well-formed (no field can hold a comma, so a row with a quoted comma
never matches): it is read by :func:`_plain_record`; any other row by the field checks."""


def _plain_record(line: int, m: re.Match[str]) -> LevyRecord | None:
    """The record of a plain row, or ``None`` if a check beyond its form fails (the field checks then
    read the row and say why)."""
    levy_year, installment_no = int(m[2]), int(m[5])
    if not 1950 <= levy_year <= 2200 or installment_no < 1:
        return None
    try:
        due_date = date.fromisoformat(m[6])
    except ValueError:
        return None
    slip_no = m[8] or ""
    if slip_no and not is_valid_slip_no(slip_no):
        return None
    return LevyRecord(line, m[1], levy_year, m[3], m[4], installment_no, due_date, int(m[7]), slip_no)


def parse_levies(
    text: str | TextIO, errors: list[RowError], file_name: str = "", *, plain: bool = True
) -> Iterator[LevyRecord]:
    """Yield each valid row; append every problem to ``errors`` (the caller refuses the file if any).

    Each row is checked on its own. What needs the whole file — an installment key, a 通知書番号
    with two 宛名番号, a 納付番号 repeated — is checked by the import on the staged rows
    (``levies.services``), so memory does not grow with the file. A plainly well-formed row is read
    by one regular expression (``plain``; the same record as the field checks give, tested).
    """
    match = _PLAIN.fullmatch
    for line, fields in iter_fields(text, HEADER, errors, file_name):
        if plain and (m := match(",".join(fields))) is not None and (rec := _plain_record(line, m)):
            yield rec
            continue
        row = dict(zip(HEADER, fields, strict=True))
        c = RowChecker(line, errors)
        tax_item = c.choice(row, "tax_item", TAX_ITEMS)
        year_text = c.digits(row, "levy_year", min_len=4, max_len=4)
        notice_no = c.digits(row, "notice_no", min_len=1, max_len=12)
        taxpayer_no = c.digits(row, "taxpayer_no", min_len=1, max_len=15)
        inst_text = c.digits(row, "installment_no", min_len=1, max_len=2)
        due_date = c.date(row, "due_date")
        principal = c.yen(row, "principal")
        slip_no = c.digits(row, "slip_no", min_len=16, max_len=16, required=False)
        levy_year = int(year_text) if year_text else 0
        if year_text and not 1950 <= levy_year <= 2200:
            c.fail("levy_year", "賦課年度が範囲外です", year_text)
        installment_no = int(inst_text) if inst_text else 0
        if inst_text and installment_no < 1:
            c.fail("installment_no", "期別は1以上です", inst_text)
        if slip_no and not is_valid_slip_no(slip_no):
            c.fail("slip_no", "納付番号のチェックデジットが一致しません", slip_no)
        if not c.ok:
            continue
        assert due_date is not None and principal is not None
        yield LevyRecord(
            line, tax_item, levy_year, notice_no, taxpayer_no, installment_no, due_date, principal, slip_no
        )
