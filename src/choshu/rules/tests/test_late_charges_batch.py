"""``rules.late_charge.late_charges_as_of`` (many installments at once, the dunning run's and the
balances' path) gives exactly ``late_charge_until`` and ``late_charge_as_of(…).late_charge`` of each
installment — on random installments, payment histories and dates, and on the published examples.

Law: the rule under test is ``late_charge_as_of`` (地方税法326条・369条・463条の24・702条の8・723条,
20条の4の2第2項・第5項, 附則3条の2; law.md §a); its worked examples are ``test_late_charge_as_of.py``'s.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from choshu.rules.late_charge import (
    default_late_charge_params,
    late_charge_as_of,
    late_charge_until,
    late_charges_as_of,
)
from choshu.rules.parameters import RateNotKnownError
from choshu.rules.tests.test_late_charge_as_of import _params, _published

D = date
Item = tuple[int, date, tuple[tuple[date, int], ...]]


def _one(item: Item, as_of: date, params: Any = None) -> tuple[date, int | None]:
    principal, base_date, payments = item
    until = late_charge_until(principal=principal, base_date=base_date, as_of=as_of, payments=payments)
    try:
        charge: int | None = late_charge_as_of(
            principal=principal, base_date=base_date, as_of=as_of, payments=payments, params=params
        ).late_charge
    except RateNotKnownError:
        charge = None
    return until, charge


# Base dates from before the rate table (1999: the 本則 rates) to after it (2027: not configured yet);
# the as-of dates run past the table's end, so some results are "rate not known".
_principal = st.one_of(
    st.integers(-5, 5000), st.integers(0, 5_000_000), st.sampled_from([1999, 2000, 2999, 3000])
)
_item = st.tuples(
    _principal,
    st.dates(min_value=D(1998, 6, 1), max_value=D(2027, 3, 31)),
    st.lists(st.tuples(st.integers(-400, 3000), st.integers(-5000, 2_000_000)), max_size=4),
)


def _items(raw: list[tuple[int, date, list[tuple[int, int]]]]) -> list[Item]:
    """Payments given as day offsets from the base date (some before it, some after the as-of date,
    some non-positive: a day whose reversals exceed its payments)."""
    return [(p, b, tuple((b + timedelta(days=o), y) for o, y in pays)) for p, b, pays in raw]


@settings(max_examples=400, deadline=None)
@given(
    raw=st.lists(_item, min_size=1, max_size=25),
    as_of=st.dates(min_value=D(1999, 1, 1), max_value=D(2027, 6, 30)),
    shared=st.booleans(),
    option=st.sampled_from([None, "split_every_year", "min_principal_each_period", "truncate_balance"]),
)
def test_the_batch_equals_the_rule_on_random_installments_payments_and_dates(
    raw: list[tuple[int, date, list[tuple[int, int]]]], as_of: date, shared: bool, option: str | None
) -> None:
    items = _items(raw)
    if shared:  # many installments on a few base dates: the cached segmentation is reused
        items = [(p, items[0][1] if k % 2 else b, pays) for k, (p, b, pays) in enumerate(items)]
    params = default_late_charge_params()
    if option is not None:
        params = params.with_options(**{option: not getattr(params, option)})
    assert late_charges_as_of(items, as_of=as_of, params=params) == [_one(i, as_of, params) for i in items]


@settings(max_examples=200, deadline=None)
@given(
    principals=st.lists(st.integers(0, 10_000_000), min_size=1, max_size=40),
    base_date=st.dates(min_value=D(2000, 1, 1), max_value=D(2026, 10, 31)),
    days=st.integers(1, 4000),
)
def test_unpaid_installments_on_one_base_date_equal_the_rule_one_by_one(
    principals: list[int], base_date: date, days: int
) -> None:
    """The dunning run's common case: no payment, one 納期限, many principals."""
    as_of = min(base_date + timedelta(days=days), D(2026, 12, 31))
    items: list[Item] = [(p, base_date, ()) for p in principals]
    assert late_charges_as_of(items, as_of=as_of) == [_one(i, as_of) for i in items]


@pytest.mark.parametrize("case", _published())
def test_every_published_example_is_the_same_through_the_batch(case: dict[str, Any]) -> None:
    """The worked examples of ``test_late_charge_as_of.py`` (scenarios/late_charge.toml, each citing its
    page): paid in full on the end date, unpaid as of it, and among other installments."""
    inp, params = case["input"], _params(case)
    if inp.get("exemptions"):
        pytest.skip("the batch takes no exemptions (法15条の9 periods go through late_charge_as_of)")
    principal, due, until = inp["principal"], inp["due_date"], inp["until"]
    earlier = tuple((d, y) for d, y in inp.get("payments", []))
    paid_in_full = (*earlier, (until, principal - sum(y for _, y in earlier)))
    items: list[Item] = [(principal, due, paid_in_full), (principal, due, earlier), (principal, due, ()),
                         (principal + 1000, due, ()), (1500, due, ())]  # fmt: skip
    got = late_charges_as_of(items, as_of=until, params=params)
    assert got == [_one(i, until, params) for i in items]
    if "late_charge" in case["expected"]:
        assert got[0] == (until, case["expected"]["late_charge"])
        assert got[1] == (until, case["expected"]["late_charge"])
