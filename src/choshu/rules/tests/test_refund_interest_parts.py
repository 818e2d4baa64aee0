"""還付加算金 of one overpayment paid out in parts (appropriations to their 充当適状日, a refund to its
支出決定日) and the 除算期間 of 地方税法17条の4第2項第1号.

The formula and the rounding are the city pages' (法20条の4の2):
https://www.city.hiroshima.lg.jp/site/shizei-nouhu/2139.html — (納付済額−正当額) truncated to 1,000 yen
(under 2,000 none) × rate × days ÷ 365, truncated to 100 yen (under 1,000 none), counted "還付のための
支出を決定した日または充当をした日（同日前に充当するのに適することとなった日がある場合には、当該適する
こととなった日）まで". The 除算: http://taru-masaki.hatenablog.com/entry/2014/07/30/191411 ("その通知を
発した日から30日を経過する日までに…還付請求をしないとき" → "その経過する日の翌日から還付請求があった日
までの期間" is left out).
"""

from __future__ import annotations

from datetime import date

import pytest

from choshu.rules.refund_interest import (
    claim_exclusion,
    compute_refund_interest,
    compute_refund_interest_parts,
)

D = date


def test_one_part_is_the_city_formula() -> None:
    # 第1号, paid 2024-01-31, decided 2024-12-31: 2024-02-01..12-31 = 335 days at 0.9% on 3,000,000.
    one = compute_refund_interest_parts(
        parts=[(D(2024, 12, 31), 3_000_999)], kind=1, paid_on=D(2024, 1, 31), event_on=None
    )
    raw = 3_000_000 * 9 * 335 // (10 * 100 * 365)
    assert one.refund_interest == raw // 100 * 100 == 24700
    same = compute_refund_interest(
        amount=3_000_999, kind=1, paid_on=D(2024, 1, 31), event_on=None, decided_on=D(2024, 12, 31)
    )
    assert same == one


def test_parts_earn_each_to_its_own_date_and_are_rounded_once() -> None:
    # 1,000,500 appropriated to 2024-06-30 and 2,000,500 refunded on 2024-12-31 (第1号, paid 2024-01-31).
    # 02-01..06-30 (151 days) on 3,001,000 → 3,001,000; 07-01..12-31 (184 days) on 2,000,500 → 2,000,000.
    r = compute_refund_interest_parts(
        parts=[(D(2024, 6, 30), 1_000_500), (D(2024, 12, 31), 2_000_500)],
        kind=1,
        paid_on=D(2024, 1, 31),
        event_on=None,
    )
    first = 3_001_000 * 9 * 151 // (10 * 100 * 365)
    second = 2_000_000 * 9 * 184 // (10 * 100 * 365)
    assert [(s.base, s.days) for s in r.segments] == [(3_001_000, 151), (2_000_000, 184)]
    assert r.subtotal == first + second
    assert r.refund_interest == (first + second) // 100 * 100
    # Rounded per part, the truncations are applied twice (less for the person): 17,800 against 17,900.
    split = [(D(2024, 6, 30), 1_500_900), (D(2024, 12, 31), 1_500_900)]
    once = compute_refund_interest_parts(parts=split, kind=1, paid_on=D(2024, 1, 31), event_on=None)
    apart = sum(
        compute_refund_interest(
            amount=a, kind=1, paid_on=D(2024, 1, 31), event_on=None, decided_on=d
        ).refund_interest
        for d, a in split
    )
    assert (once.refund_interest, apart) == (17900, 17800)


def test_small_parts_of_an_overpayment_of_2000_yen_or_more_still_earn() -> None:
    # The 2,000-yen test is on the overpayment; a day's base under 1,000 earns nothing that day.
    r = compute_refund_interest_parts(
        parts=[(D(2024, 3, 31), 1500), (D(2024, 12, 31), 900_000)],
        kind=1,
        paid_on=D(2023, 12, 31),
        event_on=None,
    )
    assert r.segments[0].base == 901_000 and r.segments[-1].base == 900_000
    tiny = compute_refund_interest_parts(
        parts=[(D(2024, 3, 31), 1500), (D(2024, 12, 31), 400)], kind=1, paid_on=D(2023, 12, 31), event_on=None
    )
    assert tiny.refund_interest == 0 and tiny.segments == ()


def test_a_part_ending_before_the_start_earns_nothing() -> None:
    # 第4号: from the day after one month has elapsed from the day after payment (2024-06-10 → 07-11).
    r = compute_refund_interest_parts(
        parts=[(D(2024, 6, 30), 500_000), (D(2024, 12, 31), 500_000)],
        kind=4,
        paid_on=D(2024, 6, 10),
        event_on=None,
    )
    assert r.start == D(2024, 7, 11)
    assert [(s.start, s.base) for s in r.segments] == [(D(2024, 7, 11), 500_000)]


def test_claim_exclusion_after_the_thirtieth_day_until_the_claim() -> None:
    # Notice sent 2024-04-01: the 30th day after is 2024-05-01; excluded 05-02 .. the claim (06-15).
    assert claim_exclusion(notice_on=D(2024, 4, 1), claimed_on=D(2024, 6, 15), until=D(2024, 12, 31)) == (
        D(2024, 5, 2),
        D(2024, 6, 15),
    )
    # A claim by the 30th day: nothing excluded.
    assert claim_exclusion(notice_on=D(2024, 4, 1), claimed_on=D(2024, 5, 1), until=D(2024, 12, 31)) is None
    # No claim yet: excluded to the end of the computation.
    assert claim_exclusion(notice_on=D(2024, 4, 1), claimed_on=None, until=D(2024, 9, 30)) == (
        D(2024, 5, 2),
        D(2024, 9, 30),
    )


def test_the_exclusion_is_left_out_of_the_days() -> None:
    excl = claim_exclusion(notice_on=D(2024, 4, 1), claimed_on=D(2024, 6, 15), until=D(2024, 12, 31))
    assert excl is not None
    r = compute_refund_interest_parts(
        parts=[(D(2024, 12, 31), 2_000_000)], kind=1, paid_on=D(2024, 1, 31), event_on=None, exclusions=[excl]
    )
    days = (D(2024, 12, 31) - D(2024, 1, 31)).days - ((D(2024, 6, 15) - D(2024, 5, 2)).days + 1)
    assert sum(s.days for s in r.segments) == days == 335 - 45
    assert r.refund_interest == 2_000_000 * 9 * days // (10 * 100 * 365) // 100 * 100


def test_bad_parts_are_refused() -> None:
    with pytest.raises(ValueError):
        compute_refund_interest_parts(
            parts=[(D(2024, 1, 1), -1)], kind=1, paid_on=D(2023, 1, 1), event_on=None
        )
