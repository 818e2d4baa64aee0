"""rules.reconcile: the one decision every payment record goes through."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from choshu.rules import reconcile as rr
from choshu.rules.allocation import DEFAULT_ORDER, AllocationOrder, Component

D = date
DUE = D(2021, 5, 31)


def owed(inst: int = 1, *, principal: int = 65000, outstanding: int | None = None, due: date = DUE,
         tax_item: str = "04", history: list[tuple[date, int]] | None = None, late_paid: int = 0) -> rr.Owed:  # fmt: skip
    return rr.Owed(
        installment_id=inst,
        taxpayer_id=7,
        due_date=due,
        tax_item=tax_item,
        principal_levied=principal,
        principal_outstanding=principal if outstanding is None else outstanding,
        principal_payments=history,
        late_charge_paid=late_paid,
    )


def final(amount: int, paid: date, **facts: object) -> rr.Record:
    return rr.Record(kind=rr.Kind.FINAL, amount=amount, paid_on=paid, slip_found=True, **facts)  # type: ignore[arg-type]


def test_a_payment_after_the_due_date_pays_the_principal_then_the_published_late_charge() -> None:
    # 豊橋市: 令和3年度固定資産税第1期 65,000円 (納期限 R3.5.31) を R4.1.31 に納付 → 延滞金 3,400円.
    # https://www-city-toyohashi-lg-jp.cache.yimg.jp/dd.aspx?menuid=10874
    d = rr.reconcile(final(65000 + 3400 + 100, D(2022, 1, 31)), [owed(history=[])], None)
    assert d.action is rr.Action.POST and d.status is rr.Status.POSTED
    assert [(line.component, line.amount) for line in d.lines] == [
        (Component.PRINCIPAL, 65000),
        (Component.LATE_CHARGE, 3400),
    ]
    assert (d.overpayment, d.overpaid_installment_id, d.allocated) == (100, 1, 68400)


def test_the_late_charge_already_paid_is_not_charged_twice() -> None:
    d = rr.reconcile(final(65000 + 3400, D(2022, 1, 31)), [owed(history=[], late_paid=3000)], None)
    assert [(line.component, line.amount) for line in d.lines] == [
        (Component.PRINCIPAL, 65000),
        (Component.LATE_CHARGE, 400),
    ]
    assert d.overpayment == 3000


def test_a_payment_within_the_principal_needs_no_history_even_when_late() -> None:
    d = rr.reconcile(final(10000, D(2022, 1, 31)), [owed(history=None)], None)
    assert [(line.component, line.amount) for line in d.lines] == [(Component.PRINCIPAL, 10000)]


def test_a_payment_reaching_the_late_charge_without_history_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="earlier payments are needed"):
        rr.reconcile(final(70000, D(2022, 1, 31)), [owed(history=None)], None)


def test_a_combined_slip_pays_the_oldest_installment_first() -> None:
    old, new = owed(1, principal=30000, due=D(2024, 7, 1)), owed(2, principal=29000, due=D(2024, 9, 2))
    d = rr.reconcile(final(40000, D(2024, 6, 1), combined=True), [old, new], None)
    assert [(line.installment_id, line.amount) for line in d.lines] == [(1, 30000), (2, 10000)]
    rr.apply(d, [old, new], D(2024, 6, 1))
    assert (old.principal_outstanding, new.principal_outstanding) == (0, 19000)


@pytest.mark.parametrize(
    ("facts", "inst", "reason"),
    [
        ({"slip_found": False}, [], rr.Reason.UNKNOWN_SLIP),
        ({"slip_cancelled": True}, [owed()], rr.Reason.CANCELLED_SLIP),
        ({"confirmation_ok": False}, [owed()], rr.Reason.CONFIRMATION_MISMATCH),
        ({"tax_item": "01"}, [owed(tax_item="04")], rr.Reason.TAX_ITEM_MISMATCH),
    ],
)
def test_what_cannot_be_placed_goes_whole_to_suspense(facts: dict, inst: list, reason: rr.Reason) -> None:
    record = rr.Record(
        kind=rr.Kind.FINAL, amount=5000, paid_on=D(2024, 6, 1), **{"slip_found": True, **facts}
    )
    d = rr.reconcile(record, inst, None)
    assert (d.action, d.reason, d.suspended, d.lines) == (rr.Action.SUSPEND, reason, 5000, ())


def test_a_combined_slip_is_not_checked_against_the_tax_item() -> None:
    record = final(5000, D(2024, 6, 1), combined=True, tax_item="01")
    assert rr.reconcile(record, [owed(tax_item="04")], None).action is rr.Action.POST


@pytest.mark.parametrize(
    ("kind", "prior", "action"),
    [
        (rr.Kind.PROVISIONAL, None, rr.Action.NEW_PROVISIONAL),
        (rr.Kind.PROVISIONAL, rr.Status.PROVISIONAL, rr.Action.ALREADY),
        (rr.Kind.CANCEL_PROVISIONAL, None, rr.Action.ERROR),
        (rr.Kind.CANCEL_PROVISIONAL, rr.Status.PROVISIONAL, rr.Action.CANCEL_PROVISIONAL),
        (rr.Kind.CANCEL_PROVISIONAL, rr.Status.CANCELLED, rr.Action.ALREADY),
        (rr.Kind.CANCEL_PROVISIONAL, rr.Status.POSTED, rr.Action.WARN),
        (rr.Kind.FINAL, rr.Status.PROVISIONAL, rr.Action.POST),
        (rr.Kind.FINAL, rr.Status.CANCELLED, rr.Action.POST),
        (rr.Kind.FINAL, rr.Status.POSTED, rr.Action.ALREADY),
        (rr.Kind.FINAL, rr.Status.REVERSED, rr.Action.ALREADY),
        (rr.Kind.CANCEL, None, rr.Action.ERROR),
        (rr.Kind.CANCEL, rr.Status.POSTED, rr.Action.REVERSE),
        (rr.Kind.CANCEL, rr.Status.SUSPENSE, rr.Action.REVERSE),
        (rr.Kind.CANCEL, rr.Status.REVERSED, rr.Action.ALREADY),
    ],
)
def test_what_each_kind_of_record_does_after_what_is_already_recorded(
    kind: rr.Kind, prior: rr.Status | None, action: rr.Action
) -> None:
    record = rr.Record(kind=kind, amount=1000, paid_on=D(2024, 6, 1), slip_found=True)
    before = rr.Prior(prior, 1000) if prior is not None else None
    assert rr.reconcile(record, [owed()], before).action is action


def test_a_cancellation_of_another_amount_refuses_the_file() -> None:
    record = rr.Record(kind=rr.Kind.CANCEL, amount=999, paid_on=D(2024, 6, 1))
    d = rr.reconcile(record, [], rr.Prior(rr.Status.POSTED, 1000))
    assert (d.action, d.field) == (rr.Action.ERROR, "amount")


@given(
    principal=st.integers(2000, 500_000),
    paid_share=st.integers(0, 100),
    amount=st.integers(1, 600_000),
    days_late=st.integers(-40, 900),
    order=st.sampled_from(
        [
            DEFAULT_ORDER,
            AllocationOrder((Component.PRINCIPAL, Component.LATE_CHARGE)),
            AllocationOrder((Component.LATE_CHARGE, Component.PRINCIPAL)),
            AllocationOrder((Component.PRINCIPAL, Component.LATE_CHARGE), by_component=False),
        ]
    ),
)
def test_the_single_installment_closed_form_is_what_allocate_gives(
    principal: int, paid_share: int, amount: int, days_late: int, order: AllocationOrder
) -> None:
    """``reconcile`` places a payment within one installment's 本税 without building allocation items;
    the general allocation must give exactly the same lines, whatever the order."""
    paid = principal * paid_share // 100
    due = D(2021, 5, 31)
    on = date.fromordinal(due.toordinal() + days_late)
    history = [(due, paid)] if paid else []
    inst = owed(principal=principal, outstanding=principal - paid, due=due, history=history)
    record = final(amount, on, taxpayer_id=7)
    fast = rr.reconcile(record, [inst], None, order)
    general = rr._allocated(record, [inst], order, 7)
    assert fast == general
    assert fast.allocated + fast.overpayment == amount


def test_the_late_charge_runs_from_the_day_after_its_base_date_not_the_due_date() -> None:
    """A 申告納付 item filed late: 法定納期限 2024-05-31, 納期限 2024-09-30 (law.md §a7). 100,000 paid on
    2024-12-31: 2024-06-01..06-30 30 d × 2.4 % = 197; 07-01..12-31 184 d × 8.7 % = 4,385 → 4,500."""
    late = owed(principal=100000, due=D(2024, 9, 30), history=[])
    assert rr.late_charge_owed(late, D(2024, 12, 31)) == 1600  # from the 納期限 when no base date is given
    filed_late = rr.Owed(
        installment_id=1,
        taxpayer_id=7,
        due_date=D(2024, 9, 30),
        tax_item="03",
        principal_levied=100000,
        principal_outstanding=100000,
        principal_payments=[],
        late_charge_base_date=D(2024, 5, 31),
    )
    assert filed_late.late_charge_from == D(2024, 5, 31)
    assert rr.late_charge_owed(filed_late, D(2024, 12, 31)) == 4500
    assert rr.late_charge_owed(filed_late, D(2024, 5, 31)) == 0  # not on the base date itself
    d = rr.reconcile(final(105000, D(2024, 12, 31)), [filed_late], None)
    assert [(line.component, line.amount) for line in d.lines] == [
        (Component.PRINCIPAL, 100000),
        (Component.LATE_CHARGE, 4500),
    ]
    assert d.overpayment == 500


def test_the_engine_stops_the_late_charge_once_the_remainder_is_under_2000_yen() -> None:
    """Issue 13 §11 through the engine's rule: 500,000 due 2021-05-31, 498,500 paid 2021-08-31; the last
    1,500 paid with its 延滞金 on 2023-08-31. 法20条の4の2第2項 on the remainder: nothing from 9/1
    (https://www.zeiken.co.jp/hourei/HHCHI000000/20-4-2.html); 1,027 + 7,473 = 8,500 (2021 rates of
    豊橋市's example). The older reading would ask 8,600."""
    inst = owed(principal=500000, outstanding=1500, history=[(D(2021, 8, 31), 498500)])
    assert rr.late_charge_owed(inst, D(2023, 8, 31)) == 8500
    d = rr.reconcile(final(1500 + 8500, D(2023, 8, 31)), [inst], None)
    assert [(line.component, line.amount) for line in d.lines] == [
        (Component.PRINCIPAL, 1500),
        (Component.LATE_CHARGE, 8500),
    ]
    assert d.overpayment == 0


# --- issue 18 §7: an extinguished claim owes nothing (法18条2項; law.md §f) ---------------------------


def test_a_payment_on_or_after_the_extinction_is_all_overpayment() -> None:
    ended = rr.Owed(1, 7, DUE, "04", 65000, 65000, dunning_fee=100, principal_payments=[],
                    extinguished_on=D(2026, 6, 1))  # fmt: skip
    d = rr.reconcile(final(65100, D(2026, 6, 1)), [ended], None)
    assert (d.action, d.lines, d.overpayment, d.overpaid_installment_id) == (rr.Action.POST, (), 65100, 1)
    # the day before, the claim still existed: the payment is placed on it (本税 first after the fee)
    before = rr.reconcile(final(30000, D(2026, 5, 31)), [ended], None)
    assert before.overpayment == 0 and before.allocated == 30000


def test_on_a_combined_slip_only_the_extinguished_installment_owes_nothing() -> None:
    old = rr.Owed(1, 7, DUE, "04", 10000, 10000, extinguished_on=D(2026, 6, 1))
    live = owed(2, principal=20000, due=D(2022, 5, 31))
    d = rr.reconcile(final(20000, D(2026, 6, 2), combined=True), [old, live], None)
    assert [(x.installment_id, x.amount) for x in d.lines] == [(2, 20000)] and d.overpayment == 0
