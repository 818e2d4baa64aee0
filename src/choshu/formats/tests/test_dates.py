"""Dates typed by a clerk: western or 和暦, with a Japanese error for anything else (issue 13 §7)."""

from __future__ import annotations

from datetime import date

import pytest

from choshu.formats.dates import DateInputError, parse_date


@pytest.mark.parametrize(
    ("typed", "day"),
    [
        ("1980-04-01", date(1980, 4, 1)),
        ("1980/4/1", date(1980, 4, 1)),
        ("19800401", date(1980, 4, 1)),
        ("１９８０－０４－０１", date(1980, 4, 1)),
        ("1980年4月1日", date(1980, 4, 1)),
        ("S55.4.1", date(1980, 4, 1)),
        ("s55.04.01", date(1980, 4, 1)),
        ("Ｓ５５．４．１", date(1980, 4, 1)),
        ("昭和55年4月1日", date(1980, 4, 1)),
        ("昭和 55年4月1日", date(1980, 4, 1)),
        ("S55/4/1", date(1980, 4, 1)),
        ("H31.4.30", date(2019, 4, 30)),
        ("平成31年4月30日", date(2019, 4, 30)),
        ("R1.5.1", date(2019, 5, 1)),
        ("令和元年5月1日", date(2019, 5, 1)),
        ("R8.6.30", date(2026, 6, 30)),
        ("S64.1.7", date(1989, 1, 7)),
        ("H1.1.8", date(1989, 1, 8)),
        ("平成元年1月8日", date(1989, 1, 8)),
        ("T15.12.24", date(1926, 12, 24)),
        ("S1.12.25", date(1926, 12, 25)),
        ("M45.7.29", date(1912, 7, 29)),
        ("T1.7.30", date(1912, 7, 30)),
    ],
)
def test_a_date_is_read_in_the_forms_a_clerk_types(typed: str, day: date) -> None:
    assert parse_date(typed) == day


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("", "日付が入力されていません"),
        ("1980-02-30", "「1980-02-30」という日付はありません"),
        ("S55.13.1", "という日付はありません"),
        ("H31.5.1", "平成の期間にない日付です（平成は平成元年1月8日から平成31年4月30日まで）"),
        ("S64.1.8", "昭和の期間にない日付です"),
        ("R1.4.30", "令和の期間にない日付です（令和は令和元年5月1日から）"),
        ("H0.1.1", "平成の期間にない日付です"),
        ("X55.4.1", "「X55.4.1」は日付として読めません。1980-04-01、19800401、S55.4.1、昭和55年4月1日"),
        ("昭和", "日付として読めません"),
        ("1980", "日付として読めません"),
        ("abc", "日付として読めません"),
    ],
)
def test_a_bad_date_is_refused_in_japanese(typed: str, message: str) -> None:
    with pytest.raises(DateInputError) as refused:
        parse_date(typed)
    assert message in str(refused.value)
