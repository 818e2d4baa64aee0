"""Yen and 和暦 formatting on staff screens."""

from __future__ import annotations

from datetime import date

import pytest

from choshu.formats.display import wareki, yen


@pytest.mark.parametrize(
    ("amount", "text"),
    [
        (0, "0"),
        (999, "999"),
        (1000, "1,000"),
        (1234567, "1,234,567"),
        (-5000, "-5,000"),
        (None, ""),
    ],
)
def test_yen_is_written_with_thousands_separators(amount: int | None, text: str) -> None:
    assert yen(amount) == text


@pytest.mark.parametrize(
    ("day", "text"),
    [
        (date(1970, 4, 1), "昭和45年4月1日"),
        (date(1926, 12, 25), "昭和元年12月25日"),
        (date(1989, 1, 7), "昭和64年1月7日"),
        (date(1989, 1, 8), "平成元年1月8日"),
        (date(2019, 4, 30), "平成31年4月30日"),
        (date(2019, 5, 1), "令和元年5月1日"),
        (date(2024, 7, 1), "令和6年7月1日"),
        (date(1912, 7, 30), "大正元年7月30日"),
        (date(1900, 1, 1), "明治33年1月1日"),
        (None, ""),
    ],
)
def test_dates_are_written_in_the_japanese_era(day: date | None, text: str) -> None:
    assert wareki(day) == text
