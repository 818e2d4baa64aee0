from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from choshu.rules.late_charge import (
    Exemption,
    ExemptionMode,
    combine_exemptions,
    compute_late_charge,
    default_late_charge_params,
)
from choshu.rules.parameters import RateNotKnownError

D = date


def test_principal_below_2000_yen_bears_no_late_charge() -> None:
    r = compute_late_charge(principal=1999, due_date=D(2020, 1, 31), until=D(2024, 1, 31))
    assert (r.late_charge, r.base, r.segments) == (0, 0, ())


def test_base_is_truncated_to_1000_yen() -> None:
    r = compute_late_charge(principal=2999, due_date=D(2020, 1, 31), until=D(2024, 1, 31))
    assert r.base == 2000
    assert {s.base for s in r.segments} == {2000}


def test_payment_on_or_before_the_due_date_bears_nothing() -> None:
    for until in (D(2024, 5, 30), D(2024, 5, 31)):
        r = compute_late_charge(principal=100_000, due_date=D(2024, 5, 31), until=until)
        assert r.late_charge == 0 and r.segments == ()


def test_a_subtotal_below_1000_yen_is_dropped_and_above_is_truncated_to_100() -> None:
    # 100,000 × 2.4% × 30 / 365 = 197 → dropped
    r = compute_late_charge(principal=100_000, due_date=D(2024, 5, 31), until=D(2024, 6, 30))
    assert r.subtotal == 197 and r.late_charge == 0
    r2 = compute_late_charge(principal=1_000_000, due_date=D(2024, 5, 31), until=D(2024, 6, 30))
    assert r2.subtotal == 1972 and r2.late_charge == 1900


def test_leap_year_counts_february_29th_but_divides_by_365() -> None:
    r = compute_late_charge(principal=365_000, due_date=D(2023, 12, 31), until=D(2024, 12, 31))
    days = sum(s.days for s in r.segments)
    assert days == 366
    # 365,000 × rate% × days / 365 = 10 × rate × days exactly
    assert all(s.yen == int(10 * s.rate * s.days) for s in r.segments)


def test_first_month_straddling_new_year_uses_each_years_rate() -> None:
    r = compute_late_charge(principal=1_000_000, due_date=D(2025, 12, 15), until=D(2026, 1, 15))
    assert [(s.start, s.end, s.rate) for s in r.segments] == [
        (D(2025, 12, 16), D(2025, 12, 31), Decimal("2.4")),
        (D(2026, 1, 1), D(2026, 1, 15), Decimal("2.8")),
    ]


def test_pre_2000_days_use_the_statutory_rates() -> None:
    r = compute_late_charge(principal=100_000, due_date=D(1999, 10, 31), until=D(2000, 1, 31))
    # 14.6% in 1999 and in 2000: the same rate, still split at 1 January (附則3条の2 is per year)
    assert [(s.rate, s.end) for s in r.segments] == [
        (Decimal("7.3"), D(1999, 11, 30)),
        (Decimal("14.6"), D(1999, 12, 31)),
        (Decimal("14.6"), D(2000, 1, 31)),
    ]


def test_identical_rate_years_split_at_1_january_by_default_and_merge_on_request() -> None:
    split = compute_late_charge(principal=20_000, due_date=D(2020, 6, 30), until=D(2023, 4, 1))
    merged = compute_late_charge(
        principal=20_000,
        due_date=D(2020, 6, 30),
        until=D(2023, 4, 1),
        params=default_late_charge_params().with_options(split_every_year=False),
    )
    assert len(split.segments) == len(merged.segments) + 1
    assert split.segments[-1].start == D(2023, 1, 1)


def test_a_year_whose_rate_is_not_configured_fails_loudly() -> None:
    with pytest.raises(RateNotKnownError, match="2027"):
        compute_late_charge(principal=100_000, due_date=D(2026, 11, 30), until=D(2027, 2, 1))


def test_partial_payment_reduces_the_base_after_its_date() -> None:
    r = compute_late_charge(
        principal=100_000,
        due_date=D(2024, 5, 31),
        until=D(2024, 12, 31),
        payments=[(D(2024, 9, 30), 60_500)],
    )
    bases = [(s.start, s.end, s.base) for s in r.segments]
    assert bases == [
        (D(2024, 6, 1), D(2024, 6, 30), 100_000),
        (D(2024, 7, 1), D(2024, 9, 30), 100_000),
        (D(2024, 10, 1), D(2024, 12, 31), 39_000),
    ]


def test_remaining_balance_below_2000_stops_accruing() -> None:
    """法20条の4の2第2項 reads on the base of each period: 1,500 yen left → no 延滞金 from the next day
    (issue 13 §11; the article: https://www.zeiken.co.jp/hourei/HHCHI000000/20-4-2.html)."""
    r = compute_late_charge(
        principal=10_000, due_date=D(2024, 5, 31), until=D(2025, 5, 31), payments=[(D(2024, 6, 10), 8_500)]
    )
    assert [(s.start, s.end, s.base) for s in r.segments] == [(D(2024, 6, 1), D(2024, 6, 10), 10_000)]


def test_remaining_balance_of_2000_or_more_keeps_its_truncated_base() -> None:
    r = compute_late_charge(
        principal=10_000, due_date=D(2024, 5, 31), until=D(2025, 5, 31), payments=[(D(2024, 6, 10), 7_500)]
    )
    assert r.segments[-1].base == 2000
    assert r.segments[-1].end == D(2025, 5, 31)


def test_the_2000_yen_test_on_the_original_principal_only_is_an_option() -> None:
    """The older reading (0o0d.com page in law.md §a6): the remainder keeps accruing on 1,000 yen."""
    p = default_late_charge_params().with_options(min_principal_each_period=False)
    r = compute_late_charge(
        principal=10_000,
        due_date=D(2024, 5, 31),
        until=D(2025, 5, 31),
        payments=[(D(2024, 6, 10), 8_500)],
        params=p,
    )
    assert r.segments[-1].base == 1000


def test_a_later_payment_cannot_revive_a_dropped_base() -> None:
    r = compute_late_charge(
        principal=500_000,
        due_date=D(2021, 5, 31),
        until=D(2023, 8, 31),
        payments=[(D(2021, 8, 31), 498_500), (D(2022, 3, 1), 500)],
    )
    assert r.segments[-1].end == D(2021, 8, 31)


def test_payments_can_be_ignored_by_configuration() -> None:
    p = default_late_charge_params().with_options(payments_reduce_base=False)
    a = compute_late_charge(
        principal=100_000,
        due_date=D(2024, 5, 31),
        until=D(2024, 12, 31),
        params=p,
        payments=[(D(2024, 7, 1), 50_000)],
    )
    b = compute_late_charge(principal=100_000, due_date=D(2024, 5, 31), until=D(2024, 12, 31), params=p)
    assert a == b


def test_a_payment_after_the_as_of_date_is_refused() -> None:
    with pytest.raises(ValueError, match="after the as-of date"):
        compute_late_charge(
            principal=5000, due_date=D(2024, 5, 31), until=D(2024, 6, 1), payments=[(D(2024, 6, 2), 100)]
        )


def test_excluded_exemption_period_bears_nothing() -> None:
    base = compute_late_charge(principal=1_000_000, due_date=D(2024, 5, 31), until=D(2024, 12, 31))
    ex = compute_late_charge(
        principal=1_000_000,
        due_date=D(2024, 5, 31),
        until=D(2024, 12, 31),
        exemptions=[Exemption(D(2024, 8, 1), D(2024, 9, 30), ExemptionMode.EXCLUDED, reason="執行停止")],
    )
    assert ex.late_charge < base.late_charge
    assert all(not (s.start <= D(2024, 8, 15) <= s.end) for s in ex.segments)


def test_deferral_rate_and_half_modes_charge_reduced_rates() -> None:
    r = compute_late_charge(
        principal=1_000_000,
        due_date=D(2024, 5, 31),
        until=D(2024, 12, 31),
        exemptions=[
            Exemption(D(2024, 8, 1), D(2024, 8, 31), ExemptionMode.DEFERRAL_RATE),
            Exemption(D(2024, 10, 1), D(2024, 10, 31), ExemptionMode.HALF),
        ],
    )
    rates = {(s.start, s.end): s.rate for s in r.segments}
    assert rates[(D(2024, 8, 1), D(2024, 8, 31))] == Decimal("0.9")
    assert rates[(D(2024, 10, 1), D(2024, 10, 31))] == Decimal("4.35")


def test_overlapping_exemptions_are_refused() -> None:
    with pytest.raises(ValueError, match="overlap"):
        compute_late_charge(
            principal=10_000,
            due_date=D(2024, 5, 31),
            until=D(2024, 12, 31),
            exemptions=[Exemption(D(2024, 7, 1), D(2024, 8, 1)), Exemption(D(2024, 8, 1), D(2024, 9, 1))],
        )


def test_fixed_rate_exemption_needs_a_rate() -> None:
    with pytest.raises(ValueError):
        Exemption(D(2024, 7, 1), D(2024, 8, 1), ExemptionMode.FIXED_RATE)


def test_segments_cover_every_day_exactly_once_without_exemptions() -> None:
    r = compute_late_charge(principal=50_000, due_date=D(2019, 1, 31), until=D(2026, 3, 3))
    assert r.segments[0].start == D(2019, 2, 1)
    assert r.segments[-1].end == D(2026, 3, 3)
    for a, b in zip(r.segments, r.segments[1:], strict=False):
        assert b.start == a.end + timedelta(days=1)
    assert sum(s.days for s in r.segments) == (D(2026, 3, 3) - D(2019, 1, 31)).days


dates = st.dates(min_value=D(1998, 1, 1), max_value=D(2026, 6, 30))


@settings(max_examples=300, deadline=None)
@given(principal=st.integers(0, 50_000_000), due=dates, d1=st.integers(0, 3000), extra=st.integers(0, 400))
def test_late_charge_never_decreases_as_the_payment_date_moves_later(
    principal: int, due: date, d1: int, extra: int
) -> None:
    u1 = min(due + timedelta(days=d1), D(2026, 12, 31))
    u2 = min(u1 + timedelta(days=extra), D(2026, 12, 31))
    a = compute_late_charge(principal=principal, due_date=due, until=u1)
    b = compute_late_charge(principal=principal, due_date=due, until=u2)
    assert a.subtotal <= b.subtotal
    assert a.late_charge <= b.late_charge


@settings(max_examples=300, deadline=None)
@given(
    principal=st.integers(2000, 10_000_000),
    due=dates,
    span=st.integers(1, 2000),
    pays=st.lists(st.tuples(st.integers(0, 2000), st.integers(1, 10_000_000)), max_size=4),
)
def test_a_partial_payment_never_increases_the_late_charge(
    principal: int, due: date, span: int, pays: list[tuple[int, int]]
) -> None:
    until = min(due + timedelta(days=span), D(2026, 12, 31))
    payments = [(min(due + timedelta(days=o), until), y) for o, y in pays]
    without = compute_late_charge(principal=principal, due_date=due, until=until)
    with_p = compute_late_charge(principal=principal, due_date=due, until=until, payments=payments)
    assert with_p.subtotal <= without.subtotal
    assert with_p.late_charge <= without.late_charge


def test_a_derivation_cites_the_charging_article_of_its_tax_item_then_the_common_ones() -> None:
    from choshu.rules.late_charge import late_charge_articles

    assert late_charge_articles("04")[0].startswith("地方税法369条")
    assert late_charge_articles("01")[0].startswith("地方税法326条")
    assert any("20条の4の2第2項" in a for a in late_charge_articles("07"))
    assert any("附則3条の2" in a for a in late_charge_articles("99"))  # an unknown item: the common ones


def test_combined_exemptions_take_the_more_favourable_mode_day_by_day_and_never_overlap() -> None:
    """Two reliefs of one installment (法15条の9): a 換価の猶予 2024-03-01..2024-12-31 (猶予特例基準割合) and an
    執行停止 from 2024-06-01 (全額). The result is accepted by compute_late_charge."""
    deferral = Exemption(D(2024, 3, 1), D(2024, 12, 31), ExemptionMode.DEFERRAL_RATE, reason="換価の猶予")
    stop = Exemption(D(2024, 6, 1), D(9999, 12, 30), ExemptionMode.EXCLUDED, reason="執行停止")
    combined = combine_exemptions([stop, deferral])
    assert combined == (
        Exemption(D(2024, 3, 1), D(2024, 5, 31), ExemptionMode.DEFERRAL_RATE, reason="換価の猶予"),
        Exemption(D(2024, 6, 1), D(9999, 12, 30), ExemptionMode.EXCLUDED, reason="執行停止"),
    )
    half = Exemption(D(2024, 1, 1), D(2024, 4, 30), ExemptionMode.HALF)
    joined = combine_exemptions(
        [half, deferral, Exemption(D(2024, 5, 1), D(2024, 5, 10), ExemptionMode.HALF)]
    )
    assert [(e.start, e.end, e.mode) for e in joined] == [
        (D(2024, 1, 1), D(2024, 2, 29), ExemptionMode.HALF),
        (D(2024, 3, 1), D(2024, 12, 31), ExemptionMode.DEFERRAL_RATE),
    ]
    r = compute_late_charge(
        principal=100_000, due_date=D(2023, 12, 31), until=D(2025, 3, 31), exemptions=joined
    )
    assert r.late_charge > 0
    assert combine_exemptions([]) == () and combine_exemptions([half]) == (half,)
