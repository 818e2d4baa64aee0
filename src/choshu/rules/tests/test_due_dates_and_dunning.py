from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from choshu.rules.due_dates import (
    InstallmentRule,
    Ordinance,
    corporate_filing_due_date,
    is_closed_day,
    shift_due_date,
    statutory_due_dates,
)
from choshu.rules.dunning import (
    dunning_fee,
    dunning_issue_deadline,
    dunning_payment_deadline,
    seizure_eligible_date,
)

D = date


@pytest.mark.parametrize(
    ("nominal", "shifted"),
    [  # law.md §c observed shifted dates
        (D(2017, 4, 30), D(2017, 5, 1)),
        (D(2018, 6, 30), D(2018, 7, 2)),
        (D(2022, 7, 31), D(2022, 8, 1)),
        (D(2024, 6, 30), D(2024, 7, 1)),
        (D(2024, 8, 31), D(2024, 9, 2)),
        (D(2025, 8, 31), D(2025, 9, 1)),
        (D(2026, 1, 31), D(2026, 2, 2)),
    ],
)
def test_observed_shifts(nominal: date, shifted: date) -> None:
    assert shift_due_date(nominal) == shifted


def test_year_end_days_are_closed_and_a_december_month_end_moves_to_january_4() -> None:
    for d in (D(2023, 12, 29), D(2023, 12, 30), D(2023, 12, 31), D(2024, 1, 1), D(2024, 1, 2), D(2024, 1, 3)):
        assert is_closed_day(d)
    assert shift_due_date(D(2023, 12, 31)) == D(2024, 1, 4)


def test_a_substitute_holiday_is_closed() -> None:
    assert is_closed_day(D(2024, 8, 12))  # 振替休日 (山の日 on Sunday)


@given(st.dates(min_value=D(2000, 1, 1), max_value=D(2030, 12, 31)))
def test_shifted_date_is_never_closed_and_never_earlier(d: date) -> None:
    s = shift_due_date(d)
    assert s >= d and not is_closed_day(s)
    assert (s - d).days <= 10  # longest run: year end or Golden Week plus a weekend


def test_default_ordinance_counts_installments() -> None:
    counts = {t: len(statutory_due_dates(t, 2025)) for t in ("01", "02", "03", "04", "05", "06")}
    assert counts == {"01": 4, "02": 12, "03": 1, "04": 4, "05": 1, "06": 1}
    special = statutory_due_dates("02", 2025)
    assert special[0][0] == D(2025, 7, 10) and special[-1][0] == D(2026, 6, 10)
    assert statutory_due_dates("04", 2025)[3][0] == D(2026, 2, 28)


def test_a_custom_ordinance_replaces_the_default() -> None:
    ordn = Ordinance(
        name="x", source="https://example.org", schedules={"05": (InstallmentRule(month=5, day=20),)}
    )
    assert statutory_due_dates("05", 2024, ordn) == [(D(2024, 5, 20), D(2024, 5, 20))]
    with pytest.raises(KeyError):
        statutory_due_dates("01", 2024, ordn)


def test_unknown_tax_item_is_refused() -> None:
    with pytest.raises(ValueError):
        statutory_due_dates("07", 2024)


def test_corporate_filing_two_months_after_year_end() -> None:
    assert corporate_filing_due_date(D(2025, 3, 31)) == (D(2025, 5, 31), D(2025, 6, 2))
    assert corporate_filing_due_date(D(2024, 12, 31))[0] == D(2025, 2, 28)


def test_dunning_dates() -> None:
    assert dunning_issue_deadline(D(2024, 5, 31)) == D(2024, 6, 20)
    # issued Mon 2024-06-17: 10 days elapsed on 6/27 (Thu); seizure from 6/28
    assert dunning_payment_deadline(D(2024, 6, 17)) == D(2024, 6, 27)
    assert seizure_eligible_date(D(2024, 6, 17)) == D(2024, 6, 28)
    # issued 2024-06-19 → 6/29 is a Saturday: shifted to Mon 7/1 unless disabled
    assert dunning_payment_deadline(D(2024, 6, 19)) == D(2024, 7, 1)
    assert dunning_payment_deadline(D(2024, 6, 19), shift_closed_days=False) == D(2024, 6, 29)


def test_dunning_fee_lookup() -> None:
    assert dunning_fee("東根市", issued_on=D(2025, 3, 31)) == 70
    assert dunning_fee("東根市", issued_on=D(2025, 4, 1)) == 0
