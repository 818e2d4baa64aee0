"""Regressions found by review: the 延滞金 "as of a date" ignored the date in two of its three copies.

Written against the copies before they were merged (they fail there); see the commit after.
"""

from __future__ import annotations

from datetime import date

from choshu.levies.selectors import late_charge_as_of
from choshu.rules import reconcile as rr
from choshu.rules.late_charge import compute_late_charge

D = date
DUE = D(2024, 7, 1)  # 個人住民税 30,000 円, 納期限 2024-07-01
AS_OF = D(2025, 1, 31)


def test_a_payment_in_full_after_the_as_of_date_does_not_run_the_charge_past_that_date() -> None:
    expected = compute_late_charge(principal=30000, due_date=DUE, until=AS_OF).late_charge
    assert expected == 1300
    assert late_charge_as_of(30000, DUE, AS_OF, {D(2025, 6, 30): 30000}) == expected


def test_a_partial_payment_after_the_as_of_date_is_not_counted_yet() -> None:
    expected = compute_late_charge(principal=30000, due_date=DUE, until=AS_OF).late_charge
    assert late_charge_as_of(30000, DUE, AS_OF, {D(2025, 6, 30): 10000}) == expected


def test_a_later_payment_that_cleared_the_principal_does_not_stop_an_earlier_dated_charge() -> None:
    """The cache says 0 outstanding because of a payment dated 2025-06-30; a payment dated 2025-01-31
    (a counter receipt entered late, 領収日 in the past) still owes the 延滞金 on the 20,000 left then."""
    owed = rr.Owed(
        installment_id=1,
        taxpayer_id=7,
        due_date=DUE,
        tax_item="01",
        principal_levied=30000,
        principal_outstanding=0,
        principal_payments=[(D(2024, 9, 30), 10000), (D(2025, 6, 30), 20000)],
    )
    expected = compute_late_charge(
        principal=30000, due_date=DUE, until=AS_OF, payments=[(D(2024, 9, 30), 10000)]
    ).late_charge
    assert expected == 1000
    assert rr.late_charge_owed(owed, AS_OF) == expected
