"""Dates as a clerk types them: western (1980-04-01, 1980/4/1, 19800401) or 和暦 (S55.4.1, 昭和55年4月1日,
令和元年5月1日). Pure: no Django. A bad date raises ``DateInputError`` with a Japanese message."""

from __future__ import annotations

import re
import unicodedata
from datetime import date

from choshu.formats.display import wareki

# 元号: name, letter, first day (改元日), last day, Gregorian year of its 元年.
_ERAS: tuple[tuple[str, str, date, date, int], ...] = (
    ("令和", "R", date(2019, 5, 1), date.max, 2019),
    ("平成", "H", date(1989, 1, 8), date(2019, 4, 30), 1989),
    ("昭和", "S", date(1926, 12, 25), date(1989, 1, 7), 1926),
    ("大正", "T", date(1912, 7, 30), date(1926, 12, 24), 1912),
    ("明治", "M", date(1873, 1, 1), date(1912, 7, 29), 1868),
)
_BY_NAME = {name: era for era in _ERAS for name in (era[0], era[1])}

_WESTERN = re.compile(r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?")
_COMPACT = re.compile(r"(\d{4})(\d{2})(\d{2})")
_ERA = re.compile(r"(令和|平成|昭和|大正|明治|[RHSTM])\s*(元|\d{1,2})[-/.年](\d{1,2})[-/.月](\d{1,2})日?")

HINT = "1980-04-01、19800401、S55.4.1、昭和55年4月1日 のように入力してください。"


class DateInputError(ValueError):
    """The text is not a date (the message is for the clerk, in Japanese)."""


def parse_date(text: str) -> date:
    """The date typed in ``text`` (full-width digits and letters accepted).

    >>> parse_date("S55.4.1"), parse_date("昭和55年4月1日"), parse_date("19800401")
    (datetime.date(1980, 4, 1), datetime.date(1980, 4, 1), datetime.date(1980, 4, 1))
    """
    typed = unicodedata.normalize("NFKC", text or "").strip().upper().replace(" ", "")
    if not typed:
        raise DateInputError(f"日付が入力されていません。{HINT}")
    if m := _ERA.fullmatch(typed):
        name, start, end, first_year = _BY_NAME[m[1]][0], *_BY_NAME[m[1]][2:]
        era_year = 1 if m[2] == "元" else int(m[2])
        day = _day(first_year + era_year - 1, int(m[3]), int(m[4]), typed)
        if era_year < 1 or not start <= day <= end:
            raise DateInputError(
                f"「{text.strip()}」は{name}の期間にない日付です（{name}は"
                f"{wareki(start)}から{'' if end == date.max else wareki(end) + 'まで'}）。"
            )
        return day
    if m := _WESTERN.fullmatch(typed) or _COMPACT.fullmatch(typed):
        return _day(int(m[1]), int(m[2]), int(m[3]), typed)
    raise DateInputError(f"「{text.strip()}」は日付として読めません。{HINT}")


def _day(year: int, month: int, day: int, typed: str) -> date:
    try:
        return date(year, month, day)
    except ValueError:
        raise DateInputError(f"「{typed}」という日付はありません（月・日を確認してください）。") from None
