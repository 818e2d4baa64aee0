from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from choshu.rules.prescription import PrescriptionEvent, PrescriptionEventKind, compute_extinguishment
from choshu.rules.refund_interest import compute_refund_interest, refund_interest_start

D = date
K = PrescriptionEventKind


def test_refund_start_dates_by_kind() -> None:
    assert refund_interest_start(kind=1, paid_on=D(2024, 5, 31)) == D(2024, 6, 1)
    assert refund_interest_start(kind=4, paid_on=D(2024, 5, 31)) == D(2024, 7, 1)  # 6/1..6/30, then 7/1
    assert refund_interest_start(kind=3, paid_on=D(2024, 5, 31), event_on=D(2024, 9, 10)) == D(2024, 10, 11)
    # 更正の請求 2024-03-01 (3 months: 3/2..6/1) vs 更正 2024-09-10 (1 month: 9/11..10/10): earlier + 1
    assert refund_interest_start(
        kind=2, paid_on=D(2024, 1, 31), event_on=D(2024, 9, 10), claimed_on=D(2024, 3, 1)
    ) == D(2024, 6, 2)


def test_refund_start_is_never_before_the_payment() -> None:
    assert refund_interest_start(kind=3, paid_on=D(2024, 12, 20), event_on=D(2024, 9, 10)) == D(2024, 12, 21)


def test_refund_interest_rounding_and_thresholds() -> None:
    r = compute_refund_interest(
        amount=500_999, kind=1, paid_on=D(2023, 5, 31), event_on=None, decided_on=D(2024, 6, 30)
    )
    assert r.base == 500_000 and r.start == D(2023, 6, 1)
    assert [(s.start, s.end, s.rate) for s in r.segments] == [(D(2023, 6, 1), D(2024, 6, 30), Decimal("0.9"))]
    assert r.subtotal == 500_000 * 9 * 396 // (10 * 100 * 365)
    assert r.refund_interest == r.subtotal // 100 * 100
    small = compute_refund_interest(
        amount=1999, kind=1, paid_on=D(2020, 1, 1), event_on=None, decided_on=D(2024, 1, 1)
    )
    assert small.refund_interest == 0 and small.base == 0
    below = compute_refund_interest(
        amount=100_000, kind=1, paid_on=D(2023, 1, 1), event_on=None, decided_on=D(2023, 12, 31)
    )
    assert below.subtotal < 1000 and below.refund_interest == 0


def test_refund_interest_splits_where_the_rate_changes() -> None:
    r = compute_refund_interest(
        amount=10_000_000, kind=1, paid_on=D(2020, 12, 1), event_on=None, decided_on=D(2021, 1, 31)
    )
    assert [s.rate for s in r.segments] == [Decimal("1.6"), Decimal("1.0")]


def test_refund_interest_exclusion_period_earns_nothing() -> None:
    full = compute_refund_interest(
        amount=10_000_000, kind=1, paid_on=D(2024, 1, 1), event_on=None, decided_on=D(2024, 12, 31)
    )
    ex = compute_refund_interest(
        amount=10_000_000,
        kind=1,
        paid_on=D(2024, 1, 1),
        event_on=None,
        decided_on=D(2024, 12, 31),
        exclusions=[(D(2024, 6, 1), D(2024, 6, 30))],
    )
    assert ex.subtotal < full.subtotal and sum(s.days for s in ex.segments) == 365 - 30


def test_refund_kind_is_validated() -> None:
    with pytest.raises(ValueError):
        compute_refund_interest(
            amount=5000, kind=5, paid_on=D(2024, 1, 1), event_on=None, decided_on=D(2024, 6, 1)
        )


def test_prescription_five_years_from_the_day_after_the_due_date() -> None:
    r = compute_extinguishment(statutory_due_date=D(2020, 6, 30))
    assert r.prescription_completes_on == D(2025, 6, 30)
    assert (r.extinguished_on, r.reason) == (D(2025, 7, 1), "prescription")


def test_dunning_and_acknowledgement_renew() -> None:
    r = compute_extinguishment(
        statutory_due_date=D(2020, 6, 30),
        events=[PrescriptionEvent(K.DUNNING, D(2020, 7, 20)), PrescriptionEvent(K.DUNNING, D(2021, 7, 20))],
    )
    assert r.prescription_completes_on == D(2025, 7, 30)  # only the first 督促 counts
    r2 = compute_extinguishment(
        statutory_due_date=D(2020, 6, 30),
        events=[PrescriptionEvent(K.DUNNING, D(2020, 7, 20)), PrescriptionEvent(K.PAYMENT, D(2023, 2, 1))],
    )
    assert r2.extinguished_on == D(2028, 2, 2)


def test_a_payment_after_completion_does_not_revive_the_claim() -> None:
    r = compute_extinguishment(
        statutory_due_date=D(2015, 6, 30), events=[PrescriptionEvent(K.PAYMENT, D(2021, 1, 1))]
    )
    assert r.extinguished_on == D(2020, 7, 1)


def test_reminder_postpones_only_once() -> None:
    r = compute_extinguishment(
        statutory_due_date=D(2020, 6, 30),
        events=[PrescriptionEvent(K.REMINDER, D(2025, 3, 1)), PrescriptionEvent(K.REMINDER, D(2025, 8, 1))],
    )
    assert r.prescription_completes_on == D(2025, 9, 1)


def test_pending_seizure_stops_the_clock_and_its_end_renews() -> None:
    pending = compute_extinguishment(
        statutory_due_date=D(2020, 6, 30), events=[PrescriptionEvent(K.SEIZURE, D(2022, 1, 10))]
    )
    assert pending.extinguished_on is None
    ended = compute_extinguishment(
        statutory_due_date=D(2020, 6, 30),
        events=[PrescriptionEvent(K.SEIZURE, D(2022, 1, 10), until=D(2022, 3, 31))],
    )
    assert ended.prescription_completes_on == D(2027, 3, 31)


def test_enforcement_suspension_extinguishes_after_three_years_or_immediately() -> None:
    r = compute_extinguishment(
        statutory_due_date=D(2020, 6, 30), events=[PrescriptionEvent(K.ENFORCEMENT_SUSPENSION, D(2021, 4, 1))]
    )
    assert (r.extinguished_on, r.reason) == (D(2024, 4, 2), "enforcement_suspension")
    cancelled = compute_extinguishment(
        statutory_due_date=D(2020, 6, 30),
        events=[PrescriptionEvent(K.ENFORCEMENT_SUSPENSION, D(2021, 4, 1), until=D(2022, 1, 1))],
    )
    assert cancelled.reason == "prescription"
    now = compute_extinguishment(
        statutory_due_date=D(2020, 6, 30),
        events=[PrescriptionEvent(K.IMMEDIATE_EXTINGUISHMENT, D(2021, 9, 1))],
    )
    assert (now.extinguished_on, now.reason) == (D(2021, 9, 1), "immediate_extinguishment")


def test_deferral_stops_the_clock_by_default() -> None:
    ev = [PrescriptionEvent(K.DEFERRAL, D(2021, 1, 1), until=D(2021, 12, 31))]
    r = compute_extinguishment(statutory_due_date=D(2020, 6, 30), events=ev)
    assert r.prescription_completes_on == D(2026, 6, 30)
    off = compute_extinguishment(statutory_due_date=D(2020, 6, 30), events=ev, deferral_stops_clock=False)
    assert off.prescription_completes_on == D(2025, 6, 30)


# --- issue 18 §7: events that cannot shorten the period; the warning window -------------------------


def test_a_payment_before_the_statutory_due_date_does_not_shorten_the_period() -> None:
    # 法18条1項: the period runs from the day after the 法定納期限 (law.md §f); an early partial payment
    # (承認, 民法152条) made before that day cannot start an earlier one.
    r = compute_extinguishment(
        statutory_due_date=D(2020, 6, 30), events=[PrescriptionEvent(K.PAYMENT, D(2020, 6, 1))]
    )
    assert (r.prescription_completes_on, r.extinguished_on) == (D(2025, 6, 30), D(2025, 7, 1))
    assert any("no effect" in line for line in r.trail)


def test_a_payment_inside_the_dunning_days_does_not_move_the_period_back() -> None:
    # 督促 2020-07-20 → new period from 07-31 (after the day 10 days have elapsed, law.md §f);
    # a partial payment on 07-25 would otherwise restart it from 07-26.
    r = compute_extinguishment(
        statutory_due_date=D(2020, 6, 30),
        events=[PrescriptionEvent(K.DUNNING, D(2020, 7, 20)), PrescriptionEvent(K.PAYMENT, D(2020, 7, 25))],
    )
    assert r.prescription_completes_on == D(2025, 7, 30)
    later = compute_extinguishment(
        statutory_due_date=D(2020, 6, 30),
        events=[PrescriptionEvent(K.DUNNING, D(2020, 7, 20)), PrescriptionEvent(K.PAYMENT, D(2020, 8, 1))],
    )
    assert later.prescription_completes_on == D(2025, 8, 1)  # new period from 08-02 (民法143条)


def test_a_pledge_is_an_acknowledgement_like_a_payment() -> None:
    # 納付誓約 = 承認 (民法152条 via 法18条3項; 奈良地裁葛城支部 平14.5.7, law.md §f)
    r = compute_extinguishment(
        statutory_due_date=D(2020, 6, 30), events=[PrescriptionEvent(K.ACKNOWLEDGEMENT, D(2024, 3, 15))]
    )
    assert (r.extinguished_on, r.reason) == (D(2029, 3, 16), "prescription")


def test_warning_horizon_is_a_period_of_months_from_the_day_after() -> None:
    from choshu.rules.prescription import REASON_LABELS, warning_horizon

    assert warning_horizon(D(2026, 1, 31), months=6) == D(2026, 7, 31)
    assert warning_horizon(D(2026, 4, 1), months=3) == D(2026, 7, 1)
    assert warning_horizon(D(2026, 4, 1), months=0) == D(2026, 4, 1)
    with pytest.raises(ValueError):
        warning_horizon(D(2026, 4, 1), months=-1)
    assert set(REASON_LABELS) == {"prescription", "enforcement_suspension", "immediate_extinguishment"}


def test_the_why_is_given_in_japanese_with_its_dates() -> None:
    r = compute_extinguishment(
        statutory_due_date=D(2019, 6, 28),
        events=[PrescriptionEvent(K.DUNNING, D(2019, 7, 10)), PrescriptionEvent(K.PAYMENT, D(2019, 7, 15))],
    )
    assert [text for text, _ in r.why] == [
        "法定納期限の翌日（{0}）から5年：{1} に完成",
        "督促（{0}）：指定期限の翌日（{1}）から新たに進行（法18条の2）、{2} に完成",
        "一部納付（{0}）：すでに {1} から期間が進行しているため効果なし",
    ]
    assert r.why[1][1] == (D(2019, 7, 10), D(2019, 7, 21), D(2024, 7, 20))
    assert len(r.why) == len(r.trail)
