"""Yen and 和暦 formatting on staff screens."""

from __future__ import annotations

from datetime import date

import pytest

from choshu.formats.display import wareki, wareki_short, yen


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


@pytest.mark.parametrize(
    ("day", "text"),
    [
        (date(2026, 6, 30), "R8.6.30"),
        (date(2019, 4, 30), "H31.4.30"),
        (date(2019, 5, 1), "R1.5.1"),
        (date(1989, 1, 7), "S64.1.7"),
        (date(1989, 1, 8), "H1.1.8"),
        (date(1970, 4, 1), "S45.4.1"),
        (date(1926, 12, 24), "T15.12.24"),
        (date(1926, 12, 25), "S1.12.25"),
        (date(1912, 7, 29), "M45.7.29"),
        (date(1912, 7, 30), "T1.7.30"),
        (date(1900, 1, 1), "M33.1.1"),
        (date(1872, 12, 31), "1872.12.31"),
        (None, ""),
    ],
)
def test_the_compact_era_date_for_dense_tables_changes_era_on_the_day(day: date | None, text: str) -> None:
    assert wareki_short(day) == text


def test_the_compact_and_the_full_form_agree_on_the_year() -> None:
    assert (wareki(date(2019, 4, 30)), wareki(date(2019, 5, 1))) == ("平成31年4月30日", "令和元年5月1日")
