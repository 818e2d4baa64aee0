"""公示送達 (法20条の2第2項): service is deemed made when 7 days have elapsed from the first day of
posting — worked examples a clerk can check on a calendar."""

from __future__ import annotations

from datetime import date

import pytest

from choshu.rules.dunning import dunning_payment_deadline, seizure_eligible_date
from choshu.rules.service import PUBLIC_NOTICE_DAYS, deemed_service_date

D = date


@pytest.mark.parametrize(
    ("posted_on", "served_on"),
    [
        (D(2024, 8, 1), D(2024, 8, 8)),  # posted Thu 8/1: days 1..7 = 8/1..8/7, served 8/8
        (D(2024, 12, 27), D(2025, 1, 3)),  # across the year end; no closed-day shift
        (D(2024, 2, 26), D(2024, 3, 4)),  # a leap year: 2/29 counts
        (D(2025, 2, 26), D(2025, 3, 5)),
    ],
)
def test_service_is_deemed_made_when_seven_days_have_elapsed(posted_on: date, served_on: date) -> None:
    assert deemed_service_date(posted_on) == served_on


def test_the_period_is_the_statutory_seven_days() -> None:
    assert PUBLIC_NOTICE_DAYS == 7
    assert deemed_service_date(D(2024, 8, 1), days=1) == D(2024, 8, 2)
    with pytest.raises(ValueError):
        deemed_service_date(D(2024, 8, 1), days=0)


def test_the_dunning_dates_follow_from_the_deemed_service() -> None:
    # posted 2024-08-01 → served 08-08 (Thu); 10 days elapsed → 08-18 is a Sunday → 08-19 (法20条の5)
    served = deemed_service_date(D(2024, 8, 1))
    assert dunning_payment_deadline(served) == D(2024, 8, 19)
    assert seizure_eligible_date(served) == D(2024, 8, 20)
