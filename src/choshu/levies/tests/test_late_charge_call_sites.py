"""The 延滞金 of one installment as of a date, asked by each of its callers: the payment engine
(``rules.reconcile.late_charge_owed``, from the installment's cached amounts and payment history), the
balances and the person page (``levies.selectors.late_charge_result`` → ``amounts_due``,
``installment_balances``). All go through ``rules.late_charge.late_charge_as_of`` and must agree.

The first three cases are the review's regressions: the rule was copied three times and two copies
ignored the date (``levies.selectors.late_charge_as_of`` counted payments dated after it;
``late_charge_owed`` stopped the charge at the last earlier payment whenever the cache said "paid",
even when a later-dated payment had paid it). They failed on the copies.
"""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from choshu.levies.selectors import late_charge_result
from choshu.rules import reconcile as rr
from choshu.rules.late_charge import compute_late_charge, late_charge_as_of, late_charge_until

D = date
DUE = D(2024, 7, 1)  # 個人住民税 30,000 円, 納期限 2024-07-01
AS_OF = D(2025, 1, 31)


def test_a_payment_in_full_after_the_as_of_date_does_not_run_the_charge_past_that_date() -> None:
    expected = compute_late_charge(principal=30000, due_date=DUE, until=AS_OF).late_charge
    assert expected == 1300
    result = late_charge_result(30000, DUE, AS_OF, {D(2025, 6, 30): 30000}.items())
    assert result is not None and result.late_charge == expected
    assert (
        late_charge_until(principal=30000, base_date=DUE, as_of=AS_OF, payments=[(D(2025, 6, 30), 30000)])
        == AS_OF
    )


def test_a_partial_payment_after_the_as_of_date_is_not_counted_yet() -> None:
    expected = compute_late_charge(principal=30000, due_date=DUE, until=AS_OF).late_charge
    assert (
        late_charge_as_of(
            principal=30000, base_date=DUE, as_of=AS_OF, payments=[(D(2025, 6, 30), 10000)]
        ).late_charge
        == expected
    )


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


def _owed(principal: int, base: date, history: list[tuple[date, int]], late_paid: int = 0) -> rr.Owed:
    """The installment as the engine loads it: the cache counts every payment, whatever its date."""
    return rr.Owed(
        installment_id=1,
        taxpayer_id=7,
        due_date=base,
        tax_item="01",
        principal_levied=principal,
        principal_outstanding=principal - sum(y for _, y in history),
        principal_payments=list(history),
        late_charge_paid=late_paid,
    )


@settings(max_examples=300, deadline=None)
@given(
    principal=st.integers(0, 2_000_000),
    base=st.dates(min_value=D(2014, 1, 1), max_value=D(2025, 12, 31)),
    span=st.integers(-10, 1000),
    pays=st.lists(st.tuples(st.integers(-40, 1400), st.integers(1, 1_000_000)), max_size=5),
    late_paid=st.integers(0, 20_000),
)
def test_the_engine_and_the_selectors_agree_on_any_payment_history(
    principal: int, base: date, span: int, pays: list[tuple[int, int]], late_paid: int
) -> None:
    """Random histories, with payments before and after the as-of date (the engine's cache counts the
    later ones; the selectors' history is cut at the date by SQL, the rule cuts it again)."""
    as_of = min(base + timedelta(days=span), D(2026, 12, 31))
    history = [(base + timedelta(days=o), y) for o, y in pays]
    rule = late_charge_as_of(principal=principal, base_date=base, as_of=as_of, payments=history)
    selector = late_charge_result(principal, base, as_of, history)
    cut = late_charge_result(principal, base, as_of, [(d, y) for d, y in history if d <= as_of])
    assert selector == cut == rule
    assert rr.late_charge_owed(_owed(principal, base, history), as_of) == rule.late_charge
    engine = rr.late_charge_owed(_owed(principal, base, history, late_paid), as_of)
    assert engine == max(0, rule.late_charge - late_paid)
    if rule.segments:
        assert rule.segments[-1].end <= late_charge_until(
            principal=principal, base_date=base, as_of=as_of, payments=history
        )
