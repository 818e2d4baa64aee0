from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from choshu.rules.parameters import (
    ParameterError,
    RateNotKnownError,
    dunning_fee_table,
    parse_dunning_fee_table,
    parse_year_table,
    year_table,
)

SRC = "https://example.org/x"


def _doc(rows: list[dict[str, Any]], **table: Any) -> dict[str, Any]:
    meta = {"name": "t", "article": "法", "columns": ["rate"], "source": SRC, **table}
    return {"table": meta, "year": rows}


def test_bundled_tables_load_and_cover_2000_to_2026() -> None:
    t = year_table("late_charge")
    assert (t.first_year, t.last_year) == (2000, 2026)
    assert t.rate(2026, "after") == Decimal("9.1")
    assert year_table("refund_interest").rate(2022, "rate") == Decimal("0.9")
    assert year_table("deferral").rate(2026, "rate") == Decimal("1.3")
    assert year_table("extension").rate(2014, "rate") == Decimal("1.9")


def test_every_bundled_row_has_a_source_url() -> None:
    for name in ("late_charge", "refund_interest", "deferral", "extension"):
        t = year_table(name)
        for y in range(t.first_year, t.last_year + 1):
            assert t.source(y).startswith("http")


def test_a_gap_between_years_is_refused() -> None:
    with pytest.raises(ParameterError, match="gap between 2020 and 2022"):
        parse_year_table(
            _doc([{"year": 2020, "rate": "1", "source": SRC}, {"year": 2022, "rate": "1", "source": SRC}])
        )


def test_a_duplicate_year_is_refused() -> None:
    with pytest.raises(ParameterError, match="duplicate"):
        parse_year_table(
            _doc([{"year": 2020, "rate": "1", "source": SRC}, {"year": 2020, "rate": "1", "source": SRC}])
        )


def test_a_float_rate_is_refused() -> None:
    with pytest.raises(ParameterError, match="decimal string"):
        parse_year_table(_doc([{"year": 2020, "rate": 2.4, "source": SRC}]))


@pytest.mark.parametrize("bad", ["abc", "-1", "15", "1.2345", "NaN"])
def test_malformed_rates_are_refused(bad: str) -> None:
    with pytest.raises(ParameterError):
        parse_year_table(_doc([{"year": 2020, "rate": bad, "source": SRC}]))


def test_a_row_without_source_is_refused() -> None:
    with pytest.raises(ParameterError, match="source"):
        parse_year_table(_doc([{"year": 2020, "rate": "1"}]))


def test_an_unknown_key_is_refused() -> None:
    with pytest.raises(ParameterError, match="unknown keys"):
        parse_year_table(_doc([{"year": 2020, "rate": "1", "source": SRC, "rte": "2"}]))


def test_derived_rates_must_match_the_base_ratio() -> None:
    doc = _doc(
        [{"year": 2024, "base_ratio": "1.4", "first_month": "2.4", "after": "8.8", "source": SRC}],
        columns=["first_month", "after"],
        derivation="tokurei_2014",
    )
    with pytest.raises(ParameterError, match="derived"):
        parse_year_table(doc)


def test_a_year_before_a_table_without_statutory_rates_is_unknown() -> None:
    with pytest.raises(RateNotKnownError):
        year_table("deferral").rate(2019, "rate")


def test_dunning_fee_windows() -> None:
    t = dunning_fee_table()
    assert t.fee("境港市", issued_on=date(2023, 3, 31)) == 80
    assert t.fee("境港市", issued_on=date(2023, 4, 1)) == 0
    assert t.fee("甲斐市:後期高齢者医療保険料", issued_on=date(2024, 5, 1), due_date=date(2024, 3, 31)) == 100
    with pytest.raises(RateNotKnownError, match="112038"):
        t.fee("112038", issued_on=date(2024, 1, 1))


def test_dunning_fee_windows_must_ascend() -> None:
    doc = {
        "municipality": [
            {
                "key": "x",
                "window": [
                    {"from": date(2024, 1, 1), "yen": 100, "source": SRC},
                    {"from": date(2023, 1, 1), "yen": 0, "source": SRC},
                ],
            }
        ]
    }
    with pytest.raises(ParameterError, match="ascending"):
        parse_dunning_fee_table(doc)
