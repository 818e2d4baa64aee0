"""``calendar.csv`` — the 期別マスタ (標準 036o015): the ordinance's installments of a tax item in a levy
year (formats.md §2a). Each row's form is checked here; a key twice in the file and an unknown 税目 are
the import's checks (``levies.calendar``)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from typing import NamedTuple, TextIO

from choshu.formats.csvfile import iter_rows
from choshu.formats.errors import RowError
from choshu.formats.fields import RowChecker

HEADER = ("tax_item", "levy_year", "installment_no", "label", "year_month", "nominal_due_date", "ad_hoc")
LABEL_MAX = 20
_YEAR_MONTH = re.compile(r"([0-9]{4})-([0-9]{2})")
_ITEM = re.compile(r"[0-9A-Za-z]{2}")


class CalendarRecord(NamedTuple):
    line: int
    tax_item: str
    levy_year: int
    installment_no: int
    label: str
    year_month: str
    nominal_due_date: date | None
    ad_hoc: bool

    @property
    def key(self) -> tuple[str, int, int]:
        return (self.tax_item, self.levy_year, self.installment_no)


def parse_calendar(
    text: str | TextIO, errors: list[RowError], file_name: str = ""
) -> Iterator[CalendarRecord]:
    """Yield each valid row; append every problem to ``errors`` (the caller refuses the file if any)."""
    for line, row in iter_rows(text, HEADER, errors, file_name):
        c = RowChecker(line, errors)
        tax_item = row["tax_item"]
        if not _ITEM.fullmatch(tax_item):
            c.fail("tax_item", "税目コードは半角英数字2桁で指定してください", tax_item)
        year_text = c.digits(row, "levy_year", min_len=4, max_len=4)
        levy_year = int(year_text) if year_text else 0
        if year_text and not 1950 <= levy_year <= 2200:
            c.fail("levy_year", "賦課年度が範囲外です（1950〜2200）", year_text)
        no_text = c.digits(row, "installment_no", min_len=1, max_len=2)
        installment_no = int(no_text) if no_text else 0
        if no_text and installment_no < 1:
            c.fail("installment_no", "期別は1以上です", no_text)
        label = c.required(row, "label")
        if len(label) > LABEL_MAX or not label.isprintable():
            c.fail("label", f"期別名称は{LABEL_MAX}文字以内の文字で指定してください", label)
        year_month = row["year_month"]
        ym = _YEAR_MONTH.fullmatch(year_month)
        if ym is None or not 1 <= int(ym[2]) <= 12:
            c.fail("year_month", "年月は YYYY-MM 形式で指定してください", year_month)
        due = c.date(row, "nominal_due_date", required=False)
        ad_hoc = row["ad_hoc"]
        if ad_hoc not in ("", "0", "1"):
            c.fail("ad_hoc", "随時期区分は空・0・1 のいずれかで指定してください", ad_hoc)
        if c.ok:
            yield CalendarRecord(
                line, tax_item, levy_year, installment_no, label, year_month, due, ad_hoc == "1"
            )
