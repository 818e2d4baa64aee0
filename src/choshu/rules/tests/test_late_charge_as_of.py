"""``rules.late_charge.late_charge_as_of`` / ``late_charge_until``: until when the 延滞金 of one
installment runs as of a date, and on which balances — the one rule the payment engine
(``rules.reconcile.late_charge_owed``), the balances and the person page (``levies.selectors``) use.

Law: 地方税法326条・369条・463条の24・702条の8・723条 (「納期限の翌日から納付の日までの期間の日数に応じ」),
20条の4の2第2項 (1,000-yen base, 2,000-yen threshold; on each remaining balance:
``LateChargeParams.min_principal_each_period``), 第5項 (100-yen result, 1,000-yen threshold); law.md §a.
"""

from __future__ import annotations

import tomllib
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from choshu.rules.late_charge import (
    LateChargeParams,
    compute_late_charge,
    default_late_charge_params,
    late_charge_as_of,
    late_charge_until,
)

D = date
ONE = timedelta(days=1)
SCENARIOS = Path(__file__).parent / "scenarios" / "late_charge.toml"


def _published() -> list[Any]:
    with SCENARIOS.open("rb") as fh:
        cases = tomllib.load(fh)["case"]
    return [pytest.param(c, id=c["id"]) for c in cases if c.get("kind", "late_charge") == "late_charge"]


def _params(case: dict[str, Any]) -> LateChargeParams:
    p = default_late_charge_params()
    return p.with_options(**case["params"]) if "params" in case else p


# --- published worked examples ---------------------------------------------------------------------


def test_toyohashi_paid_in_full_on_the_day_and_looked_at_a_year_later_is_the_published_3400_yen() -> None:
    """豊橋市: 令和3年度固定資産税・都市計画税 第1期 65,000円, 納期限 R3.5.31, paid R4.1.31:
    (a) 65,000 × 2.5% × 30 / 365 = 133, (b) × 8.8% × 184 / 365 = 2,883, (c) × 8.7% × 31 / 365 = 480;
    3,496 → 3,400 円. https://www-city-toyohashi-lg-jp.cache.yimg.jp/dd.aspx?menuid=10874
    Seen a year after the payment, the charge still ends on the payment day."""
    paid = [(D(2022, 1, 31), 65000)]
    for as_of in (D(2022, 1, 31), D(2022, 6, 30), D(2023, 1, 31)):
        r = late_charge_as_of(principal=65000, base_date=D(2021, 5, 31), as_of=as_of, payments=paid)
        assert (r.late_charge, r.subtotal) == (3400, 3496)
        assert [(s.days, s.yen) for s in r.segments] == [(30, 133), (184, 2883), (31, 480)]
        assert late_charge_until(principal=65000, base_date=D(2021, 5, 31), as_of=as_of, payments=paid) == D(
            2022, 1, 31
        )
    # Looked at on the day before the payment, it runs through that day on the whole 65,000.
    before = late_charge_as_of(principal=65000, base_date=D(2021, 5, 31), as_of=D(2022, 1, 30), payments=paid)
    assert before == compute_late_charge(principal=65000, due_date=D(2021, 5, 31), until=D(2022, 1, 30))


@pytest.mark.parametrize("case", _published())
def test_every_published_example_is_the_same_as_of_its_payment_day_and_any_day_after(
    case: dict[str, Any],
) -> None:
    """Each case of ``scenarios/late_charge.toml`` (its page URL in ``source``): the charge as of the
    payment day with the rest of the 本税 paid that day, or as of any later day, is the published one."""
    inp, params = case["input"], _params(case)
    principal, due, until = inp["principal"], inp["due_date"], inp["until"]
    earlier = [(d, y) for d, y in inp.get("payments", [])]
    expected = compute_late_charge(
        principal=principal, due_date=due, until=until, payments=earlier, params=params
    )
    if "late_charge" in case["expected"]:
        assert expected.late_charge == case["expected"]["late_charge"]
    paid_in_full = [*earlier, (until, principal - sum(y for _, y in earlier))]
    for as_of in (until, until + ONE, until + timedelta(days=700)):
        got = late_charge_as_of(
            principal=principal, base_date=due, as_of=as_of, payments=paid_in_full, params=params
        )
        assert got == expected
    # Not paid yet on the day: the same figure (the day of payment counts, law.md §a4).
    unpaid = late_charge_as_of(
        principal=principal, base_date=due, as_of=until, payments=earlier, params=params
    )
    assert unpaid == expected


# --- the rule, case by case ---------------------------------------------------------------------------


def test_a_payment_dated_after_the_as_of_date_is_ignored() -> None:
    alone = late_charge_as_of(principal=30000, base_date=D(2024, 7, 1), as_of=D(2025, 1, 31))
    for later in (
        [(D(2025, 2, 1), 30000)],
        [(D(2025, 6, 30), 10000)],
        [(D(2025, 2, 1), 5000), (D(2026, 1, 5), 25000)],
    ):
        assert (
            late_charge_as_of(principal=30000, base_date=D(2024, 7, 1), as_of=D(2025, 1, 31), payments=later)
            == alone
        )
        assert late_charge_until(
            principal=30000, base_date=D(2024, 7, 1), as_of=D(2025, 1, 31), payments=later
        ) == D(2025, 1, 31)
    assert alone.late_charge == 1300


def test_the_charge_ends_on_the_day_the_payments_completed_the_principal_not_on_a_later_payment() -> None:
    """10,000 on 2024-09-30 and 20,000 on 2025-01-31 complete 30,000; a further 500 on 2025-03-31 (an
    entry the history keeps) neither extends nor changes it."""
    payments = [(D(2025, 3, 31), 500), (D(2024, 9, 30), 10000), (D(2025, 1, 31), 20000)]
    until = late_charge_until(
        principal=30000, base_date=D(2024, 7, 1), as_of=D(2025, 12, 31), payments=payments
    )
    assert until == D(2025, 1, 31)
    got = late_charge_as_of(
        principal=30000, base_date=D(2024, 7, 1), as_of=D(2025, 12, 31), payments=payments
    )
    assert got == compute_late_charge(
        principal=30000, due_date=D(2024, 7, 1), until=D(2025, 1, 31), payments=[(D(2024, 9, 30), 10000)]
    )
    assert got.segments[-1].end == D(2025, 1, 31) and got.segments[-1].base == 20000


def test_paid_in_full_by_the_base_date_bears_nothing_whatever_the_as_of_date() -> None:
    paid = [(D(2024, 6, 20), 30000)]
    r = late_charge_as_of(principal=30000, base_date=D(2024, 7, 1), as_of=D(2026, 1, 1), payments=paid)
    assert (r.late_charge, r.segments) == (0, ())
    assert late_charge_until(
        principal=30000, base_date=D(2024, 7, 1), as_of=D(2026, 1, 1), payments=paid
    ) == D(2024, 7, 1)


def test_nothing_accrues_on_or_before_the_base_date_or_on_a_principal_under_2000_yen() -> None:
    assert late_charge_as_of(principal=30000, base_date=D(2024, 7, 1), as_of=D(2024, 7, 1)).late_charge == 0
    assert late_charge_as_of(principal=1999, base_date=D(2020, 1, 31), as_of=D(2026, 1, 31)).late_charge == 0
    assert late_charge_as_of(principal=0, base_date=D(2020, 1, 31), as_of=D(2026, 1, 31)).late_charge == 0


def test_a_remainder_under_2000_yen_stops_the_charge_from_the_day_after_that_payment() -> None:
    """法20条の4の2第2項 on each remaining balance (``min_principal_each_period``): 500,000 due
    2021-05-31, 498,500 paid 2021-08-31 → nothing from 9/1, whatever the as-of date; the older reading
    (``min_principal_each_period=False``) keeps a base of 1,000 running."""
    history = [(D(2021, 8, 31), 498500)]
    a = late_charge_as_of(principal=500000, base_date=D(2021, 5, 31), as_of=D(2023, 8, 31), payments=history)
    assert a.segments[-1].end == D(2021, 8, 31) and a.late_charge == 8500
    older = default_late_charge_params().with_options(min_principal_each_period=False)
    b = late_charge_as_of(
        principal=500000, base_date=D(2021, 5, 31), as_of=D(2023, 8, 31), payments=history, params=older
    )
    assert b.segments[-1].end == D(2023, 8, 31) and b.segments[-1].base == 1000 and b.late_charge == 8600


# --- properties: a day-by-day reading of the law ------------------------------------------------------

base_dates = st.dates(min_value=D(2000, 1, 1), max_value=D(2025, 12, 31))


def _oracle_base(principal: int, paid_before: int) -> int:
    """What bears the charge on a day, from the 本税 unpaid at its start (法20条の4の2第2項 on it)."""
    if principal < 2000:
        return 0
    balance = principal - paid_before
    return 0 if balance < 2000 else balance // 1000 * 1000


@settings(max_examples=300, deadline=None)
@given(
    principal=st.integers(0, 3_000_000),
    base_date=base_dates,
    span=st.integers(-30, 1500),
    pays=st.lists(st.tuples(st.integers(-60, 1600), st.integers(-5000, 1_500_000)), max_size=5),
)
def test_each_day_bears_the_balance_unpaid_at_its_start_until_the_principal_is_paid_or_the_as_of_date(
    principal: int, base_date: date, span: int, pays: list[tuple[int, int]]
) -> None:
    """Day by day: day t (from the day after the base date) bears the 本税 left after the payments made
    before t (a payment day still bears the old balance), truncated to 1,000 and nothing under 2,000;
    days after the as-of date or after the 本税 was completed bear nothing."""
    as_of = min(base_date + timedelta(days=span), D(2026, 12, 31))
    payments = [(base_date + timedelta(days=o), y) for o, y in pays]
    got = late_charge_as_of(principal=principal, base_date=base_date, as_of=as_of, payments=payments)
    until = late_charge_until(principal=principal, base_date=base_date, as_of=as_of, payments=payments)
    made = sorted((d, y) for d, y in payments if y > 0 and d <= as_of)

    covered: dict[date, int] = {}
    for s in got.segments:
        for k in range(s.days):
            covered[s.start + timedelta(days=k)] = s.base
    day = base_date + ONE
    while day <= as_of:
        paid_before = sum(y for d, y in made if d < day)
        bears = _oracle_base(principal, paid_before) if day <= until else 0
        assert covered.get(day, 0) == bears, day
        day += ONE
    assert all(base_date < d <= until for d in covered)
    # until: the as-of date, or the day the payments made by then reached the principal
    running, completed = 0, None
    for d, y in made:
        running += y
        if running >= principal:
            completed = max(d, base_date)
            break
    assert until == (completed if completed is not None else as_of)


@settings(max_examples=200, deadline=None)
@given(
    principal=st.integers(2000, 3_000_000),
    base_date=base_dates,
    span=st.integers(1, 1200),
    pays=st.lists(st.tuples(st.integers(-30, 1200), st.integers(1, 1_500_000)), max_size=4),
    later=st.lists(st.tuples(st.integers(1, 400), st.integers(1, 3_000_000)), max_size=3),
)
def test_payments_after_the_as_of_date_never_change_the_charge(
    principal: int, base_date: date, span: int, pays: list[tuple[int, int]], later: list[tuple[int, int]]
) -> None:
    as_of = min(base_date + timedelta(days=span), D(2026, 6, 30))
    payments = [(min(base_date + timedelta(days=o), as_of), y) for o, y in pays]
    after = [(as_of + timedelta(days=o), y) for o, y in later]
    plain = late_charge_as_of(principal=principal, base_date=base_date, as_of=as_of, payments=payments)
    assert (
        late_charge_as_of(principal=principal, base_date=base_date, as_of=as_of, payments=payments + after)
        == plain
    )


@settings(max_examples=200, deadline=None)
@given(
    principal=st.integers(2000, 3_000_000),
    base_date=base_dates,
    span=st.integers(1, 1000),
    extra=st.integers(0, 400),
    pays=st.lists(st.tuples(st.integers(-30, 1400), st.integers(1, 1_500_000)), max_size=4),
)
def test_the_charge_never_decreases_as_the_as_of_date_moves_later(
    principal: int, base_date: date, span: int, extra: int, pays: list[tuple[int, int]]
) -> None:
    a1 = min(base_date + timedelta(days=span), D(2026, 12, 31))
    a2 = min(a1 + timedelta(days=extra), D(2026, 12, 31))
    payments = [(base_date + timedelta(days=o), y) for o, y in pays]
    r1 = late_charge_as_of(principal=principal, base_date=base_date, as_of=a1, payments=payments)
    r2 = late_charge_as_of(principal=principal, base_date=base_date, as_of=a2, payments=payments)
    assert r1.subtotal <= r2.subtotal and r1.late_charge <= r2.late_charge
