"""``rules.breakdown``: the proportional split of what an installment has been paid (docs/rules.md "Breakdown").

Municipal practice the rule follows: 美唄市「固定資産税及び都市計画税の処理に関する規則」第2条〜第4条 —
固定資産税 and 都市計画税 received are divided (あん分) in the ratio of the two taxes' levied amounts
(https://lg.joureikun.jp/bibai_city/reiki/act/110000233.html).
"""

from __future__ import annotations

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from choshu.rules.breakdown import (
    SQLITE_EXACT_LIMIT,
    floor_mul_div_split,
    split_movement,
    split_movements,
    split_paid,
)

SOURCE = "https://lg.joureikun.jp/bibai_city/reiki/act/110000233.html"

yen = st.integers(min_value=0, max_value=10**12)
levied_lists = st.lists(st.integers(min_value=0, max_value=10**11), min_size=1, max_size=4)


@st.composite
def paid_within(draw: st.DrawFn) -> tuple[list[int], int]:
    levied = draw(levied_lists)
    return levied, draw(st.integers(min_value=0, max_value=sum(levied)))


def test_fixed_asset_and_city_planning_tax_in_the_ratio_of_their_levied_amounts() -> None:
    """A 固定資産税・都市計画税 installment of 12,000 yen (固定資産税 9,882 / 都市計画税 2,118, the
    ratio 1.4 % : 0.3 % of one 課税標準): a payment of 5,000 yen gives 都市計画税 floor(5,000 × 2,118 /
    12,000) = 882 and 固定資産税 the rest, as the あん分 of the source divides by the levied ratio."""
    assert SOURCE.startswith("https://")
    assert split_paid(5000, [9882, 2118]) == [4118, 882]
    assert split_paid(12000, [9882, 2118]) == [9882, 2118]  # paid in full: every component cleared
    assert split_paid(0, [9882, 2118]) == [0, 0]


def test_the_main_component_takes_the_rounding_and_nothing_levied_splits_nothing() -> None:
    assert split_paid(100, [1, 1, 1]) == [34, 33, 33]
    assert split_paid(0, [0, 0]) == [0, 0]
    assert split_paid(500, [0, 0, 0]) == [500, 0, 0]  # L = 0: no proportion; the sum still holds


def test_a_levy_correction_is_absorbed_by_the_next_movement() -> None:
    levied, paid = [9000, 3000], [0, 0]
    first = split_movement(6000, levied, paid)
    assert first == [4500, 1500]
    # The levy is corrected to 8,000 / 4,000 (no money moves); the next payment of 6,000 completes it.
    second = split_movement(12000, [8000, 4000], first)
    assert second == [3500, 2500]
    assert [a + b for a, b in zip(first, second, strict=True)] == [8000, 4000]


def test_refuses_a_negative_or_missing_component() -> None:
    with pytest.raises(ValueError):
        split_paid(100, [])
    with pytest.raises(ValueError):
        split_paid(100, [200, -100])
    with pytest.raises(ValueError):
        split_movement(100, [50, 50], [0])


@given(levied_lists, st.integers(min_value=-(10**12), max_value=10**12))
def test_the_split_sums_to_the_paid_total(levied: list[int], paid: int) -> None:
    assert sum(split_paid(paid, levied)) == paid


@given(levied_lists, yen, yen)
def test_a_movement_splits_exactly_the_movement(levied: list[int], before: int, after: int) -> None:
    held = split_paid(before, levied)
    assert sum(split_movement(after, levied, held)) == after - before


@given(levied_lists, st.lists(st.integers(min_value=-(10**9), max_value=10**9), max_size=6))
def test_movements_telescope(levied: list[int], movements: list[int]) -> None:
    """However the movements come, the components hold f(final total): the splits telescope."""
    start = [0] * len(levied)
    splits = split_movements(0, movements, levied, start)
    held = [sum(col) for col in zip(start, *splits, strict=True)]
    assert held == split_paid(sum(movements), levied)
    for delta, split in zip(movements, splits, strict=True):
        assert sum(split) == delta


@given(levied_lists, st.integers(min_value=0, max_value=10**12))
def test_a_full_payment_clears_every_component(levied: list[int], before: int) -> None:
    before = min(before, sum(levied))
    held = split_paid(before, levied)
    split = split_movement(sum(levied), levied, held)
    assert [h + s for h, s in zip(held, split, strict=True)] == levied


@given(paid_within(), st.integers(min_value=0, max_value=10**12))
def test_a_reversal_restores_exactly(case: tuple[list[int], int], amount: int) -> None:
    levied, before = case
    amount = min(amount, sum(levied) - before)
    held = split_paid(before, levied)
    pay = split_movement(before + amount, levied, held)
    after_pay = [h + s for h, s in zip(held, pay, strict=True)]
    back = split_movement(before, levied, after_pay)
    assert back == [-s for s in pay]
    assert [h + s for h, s in zip(after_pay, back, strict=True)] == held


@given(paid_within())
def test_no_component_but_the_main_one_exceeds_its_levied_amount(case: tuple[list[int], int]) -> None:
    levied, paid = case
    split = split_paid(paid, levied)
    assert all(0 <= s <= lv for s, lv in zip(split[1:], levied[1:], strict=True))
    # The main component takes the rounding: below what it was levied by at most (components − 2).
    assert 0 <= split[0] <= levied[0] + max(len(levied) - 2, 0)


@given(st.lists(st.integers(min_value=0, max_value=10**11), min_size=1, max_size=2), st.data())
def test_with_two_components_none_exceeds_its_levied_amount(levied: list[int], data: st.DataObject) -> None:
    paid = data.draw(st.integers(min_value=0, max_value=sum(levied)))
    assert all(0 <= s <= lv for s, lv in zip(split_paid(paid, levied), levied, strict=True))


def test_with_three_components_the_main_one_can_exceed_by_a_yen_until_paid_in_full() -> None:
    """floor for the others, the rest to the main: 医療 100 / 支援 1 / 介護 1 and 101 paid gives 支援 and
    介護 floor(101/102) = 0, 医療 101 — one yen above its levied amount until the last yen is paid."""
    assert split_paid(101, [100, 1, 1]) == [101, 0, 0]
    assert split_paid(102, [100, 1, 1]) == [100, 1, 1]


@given(
    st.integers(min_value=1, max_value=SQLITE_EXACT_LIMIT),
    st.integers(min_value=-(2**62), max_value=2**62),
    st.data(),
)
def test_the_64_bit_decomposition_equals_the_exact_floor(total: int, c: int, data: st.DataObject) -> None:
    share = data.draw(st.integers(min_value=0, max_value=total))
    assume(abs(c) < 2**63)
    assert floor_mul_div_split(c, share, total) == c * share // total


@pytest.mark.parametrize(
    ("c", "share", "total"),
    [
        (SQLITE_EXACT_LIMIT - 1, SQLITE_EXACT_LIMIT - 2, SQLITE_EXACT_LIMIT),
        (-(SQLITE_EXACT_LIMIT - 1), SQLITE_EXACT_LIMIT - 2, SQLITE_EXACT_LIMIT),
        (2**62, 1, 3),
        (-7, 1, 2),
        (0, 5, 9),
    ],
)
def test_the_decomposition_at_its_limits(c: int, share: int, total: int) -> None:
    assert floor_mul_div_split(c, share, total) == c * share // total
    # and every intermediate product stays a 64-bit integer (SQLite would turn it into a float)
    a = abs(c)
    r = a % total
    assert r * (share >> 20) < 2**63 and (total * (1 << 20)) * 2 < 2**63
