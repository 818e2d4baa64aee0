"""``choshu refunds-run`` (issue 16 §1, §2): the issue's scenarios on the sample city.

The sample city (conftest): 1001 has 個人住民税 (01) 第1期 30,000 円 納期限 2024-07-01 and 第2期 29,000 円
2024-09-02, and 固定資産税 (04) 12,000 円 2024-04-30; 1002 has 軽自動車税 (05) 10,800 円 2024-05-31.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from django.core.management.base import CommandError

from choshu.levies.models import Account, LedgerEntry, LedgerTransaction, TxnKind
from choshu.levies.selectors import amounts_due
from choshu.refunds.models import (
    Appropriation,
    Cause,
    NoticeKind,
    Origin,
    Overpayment,
    OverpaymentStatus,
    RefundNotice,
)
from choshu.refunds.tests.helpers import held, inst, levy, pay, run, verify_ok
from choshu.rules.late_charge import compute_late_charge

pytestmark = pytest.mark.django_db
D = date


def test_a_double_payment_is_listed_with_its_cause_and_left_for_refund(
    sample_city: Any, write_csv: Callable[..., Any]
) -> None:
    pay(write_csv, "1002", "500001", 10800, "2024-05-20")
    pay(write_csv, "1002", "500001", 10800, "2024-05-21")
    out = run("2024-06-30")
    assert out["collected"] == 1
    assert (out["appropriated_count"], out["appropriated_amount"]) == (0, 0)
    assert (out["refundable_count"], out["refundable_amount"]) == (1, 10800)
    [op] = Overpayment.objects.all()
    assert (op.origin, op.cause, op.arose_on, op.paid_on, op.amount, op.status) == (
        Origin.DOUBLE_PAYMENT,
        Cause.OTHER,
        D(2024, 5, 21),
        D(2024, 5, 21),
        10800,
        OverpaymentStatus.OPEN,
    )
    assert op.payment is not None and op.payment.paid_on == D(2024, 5, 21)
    assert op.installment == inst("500001")
    # No refund account yet: the 過誤納還付通知書 asking for one is queued, once.
    assert out["notices"] == {"claim": 1}
    assert run("2024-07-01")["notices"] == {}
    assert RefundNotice.objects.filter(kind=NoticeKind.CLAIM, overpayment=op).count() == 1
    assert held("1002") == 10800
    assert verify_ok()


def test_an_overpayment_goes_to_the_persons_arrears_oldest_first_and_stops_the_late_charge(
    sample_city: Any, write_csv: Callable[..., Any]
) -> None:
    # 1001 pays 01 第1期 twice: 30,000 over on 2024-08-10. Arrears due by 09-30: 04 (04-30) 12,000 and
    # 01 第2期 (09-02) 29,000. 充当適状日 = the later of the 納期限 and 08-10 (令6条の14).
    pay(write_csv, "1001", "100001", 30000, "2024-06-20")
    pay(write_csv, "1001", "100001", 30000, "2024-08-10")
    out = run("2024-09-30")
    assert (out["appropriated_count"], out["appropriated_amount"]) == (2, 30000)
    assert (out["refundable_count"], out["refundable_amount"]) == (0, 0)
    rows = {a.installment: a for a in Appropriation.objects.all()}
    fixed, second = inst("400001"), inst("100001", 2)
    assert (rows[fixed].amount, rows[fixed].appropriable_on) == (12000, D(2024, 8, 10))
    assert (rows[second].amount, rows[second].appropriable_on) == (18000, D(2024, 9, 2))
    # Both sides in one ledger transaction each, dated the 充当適状日.
    for a in rows.values():
        txn = LedgerTransaction.objects.get(pk=a.txn_id)
        assert (txn.kind, txn.legal_date, txn.booking_date) == (
            TxnKind.APPROPRIATION,
            a.appropriable_on,
            D(2024, 9, 30),
        )
        entries = sorted((e.account, e.amount) for e in LedgerEntry.objects.filter(txn=txn))
        assert entries == [("overpayment", a.amount), ("receivable", -a.amount)]
    [op] = Overpayment.objects.all()
    assert (op.appropriated, op.remaining, op.status) == (30000, 0, OverpaymentStatus.APPROPRIATED)
    assert held("1001") == 0
    # The 延滞金 stops on the appropriated 本税 at the 充当適状日: 04 is settled on 08-10 whatever the date.
    tp = fixed.taxpayer_id
    dues = {a.installment_id: a for a in amounts_due(taxpayer_ids=[tp], as_of=D(2024, 12, 31))}
    expected = compute_late_charge(principal=12000, due_date=D(2024, 4, 30), until=D(2024, 8, 10)).late_charge
    assert dues[fixed.pk].principal_due == 0 and dues[fixed.pk].late_charge_accrued == expected
    on_second = compute_late_charge(
        principal=29000, due_date=D(2024, 9, 2), until=D(2024, 12, 31), payments=[(D(2024, 9, 2), 18000)]
    ).late_charge
    assert dues[second.pk].principal_due == 11000 and dues[second.pk].late_charge_accrued == on_second
    # One 充当通知書 for the overpayment, and idempotent: a second run appropriates nothing.
    assert RefundNotice.objects.filter(kind=NoticeKind.APPROPRIATION).count() == 1
    again = run("2024-09-30")
    assert (again["appropriated_count"], again["collected"]) == (0, 0)
    assert Appropriation.objects.count() == 2
    assert verify_ok()


def test_arrears_not_yet_due_wait_and_the_rest_is_refundable(
    sample_city: Any, write_csv: Callable[..., Any]
) -> None:
    pay(write_csv, "1001", "400001", 12000, "2024-04-25")
    pay(write_csv, "1001", "400001", 12000, "2024-04-26")
    # 01 第1期 is due on 07-01: on 06-30 nothing is 充当適状 yet.
    out = run("2024-06-30")
    assert (out["appropriated_count"], out["refundable_amount"]) == (0, 12000)
    out = run("2024-07-02")
    assert (out["appropriated_count"], out["appropriated_amount"]) == (1, 12000)
    [a] = Appropriation.objects.all()
    assert (a.installment, a.appropriable_on) == (inst("100001"), D(2024, 7, 1))
    assert verify_ok()


def test_a_levy_reduction_after_payment_is_an_overpayment_of_the_first_kind(
    sample_city: Any, write_csv: Callable[..., Any]
) -> None:
    pay(write_csv, "1002", "500001", 10800, "2024-05-20")
    levy(write_csv, sample_city, ["05,2024,500001,1002,1,2024-05-31,7200,"], D(2024, 8, 1))
    out = run("2024-08-31")
    assert (out["collected"], out["refundable_amount"]) == (1, 3600)
    [op] = Overpayment.objects.all()
    assert (op.origin, op.cause, op.arose_on, op.event_on, op.paid_on, op.amount) == (
        Origin.LEVY_REDUCTION,
        Cause.REDUCTION,
        D(2024, 8, 1),
        D(2024, 8, 1),
        D(2024, 5, 20),  # the payment the reduction gives back (第1号: from the day after it)
        3600,
    )
    assert op.payment is None and op.installment == inst("500001")
    assert held("1002") == 3600
    assert verify_ok()


def test_the_late_charge_of_a_settled_installment_is_appropriated_after_every_principal(
    sample_city: Any, write_csv: Callable[..., Any]
) -> None:
    # 1002 owes 05 (10,800, 05-31) and a large 04 of its own due 2024-04-30 (2,000,000), paid late
    # without the 延滞金; then pays the 05 slip twice. The overpayment settles the 05 本税 first, then the
    # 延滞金 of 04 (本税 before 延滞金, 法17条の2第3項).
    levy(write_csv, sample_city, ["04,2024,400002,1002,1,2024-04-30,2000000,"], D(2024, 4, 1))
    pay(write_csv, "1002", "400002", 2000000, "2024-08-30")
    charge = compute_late_charge(principal=2000000, due_date=D(2024, 4, 30), until=D(2024, 8, 30)).late_charge
    assert charge > 0
    pay(write_csv, "1001", "100001", 30000, "2024-06-20")  # someone else: untouched
    levy(write_csv, sample_city, ["05,2024,500002,1002,1,2024-09-30,200000,"], D(2024, 4, 1))
    pay(write_csv, "1002", "500002", 200000, "2024-09-10")
    pay(write_csv, "1002", "500002", 200000, "2024-09-11")
    out = run("2024-10-15")
    assert out["appropriated_amount"] == 10800 + charge
    assert out["late_charge_appropriated"] == charge
    lines = sorted((a.installment.levy.notice_no, a.component, a.amount) for a in Appropriation.objects.all())
    assert lines == [("400002", "late_charge", charge), ("500001", "principal", 10800)]
    late = LedgerEntry.objects.get(txn__kind=TxnKind.APPROPRIATION, account=Account.LATE_CHARGE_INCOME)
    assert late.amount == -charge and late.installment == inst("400002")
    assert out["refundable_amount"] == 200000 - 10800 - charge
    dues = {
        a.installment_id: a
        for a in amounts_due(taxpayer_ids=[inst("400002").taxpayer_id], as_of=D(2024, 12, 1))
    }
    assert dues[inst("400002").pk].late_charge == 0 and dues[inst("500001").pk].total == 0
    assert verify_ok()


def test_a_dry_run_counts_the_same_and_writes_nothing(
    sample_city: Any, write_csv: Callable[..., Any]
) -> None:
    pay(write_csv, "1001", "100001", 30000, "2024-06-20")
    pay(write_csv, "1001", "100001", 30000, "2024-08-10")
    before = (LedgerTransaction.objects.count(), Overpayment.objects.count())
    dry = run("2024-09-30", "--dry-run")
    assert (LedgerTransaction.objects.count(), Overpayment.objects.count()) == before
    real = run("2024-09-30")
    keys = [
        "overpayments",
        "appropriated_count",
        "appropriated_amount",
        "refundable_count",
        "refundable_amount",
    ]
    assert {k: dry[k] for k in keys} == {k: real[k] for k in keys}
    assert dry["dry_run"] is True and real["appropriated_amount"] == 30000


def test_bad_dates_are_refused_and_nothing_changes(sample_city: Any, write_csv: Callable[..., Any]) -> None:
    pay(write_csv, "1002", "500001", 10800, "2024-05-20")
    pay(write_csv, "1002", "500001", 10800, "2024-05-21")
    for bad in ("2024-13-01", "tomorrow"):
        with pytest.raises(CommandError, match="--as-of の日付が不正です"):
            run(bad)
    with pytest.raises(CommandError, match="未来の日付"):
        run("2999-01-01")
    assert not Overpayment.objects.exists()


def test_an_overpayment_older_than_five_years_is_prescribed(
    sample_city: Any, write_csv: Callable[..., Any]
) -> None:
    levy(write_csv, sample_city, ["05,2021,502101,1002,1,2021-05-31,10800,"], D(2021, 4, 1))
    pay(write_csv, "1002", "502101", 10800, "2021-05-20")
    pay(write_csv, "1002", "502101", 10800, "2021-05-21")
    pay(write_csv, "1002", "500001", 10800, "2024-05-20")  # no arrears to appropriate it to
    assert run("2026-05-21")["prescribed"] == 0
    out = run("2026-05-22")
    assert (out["prescribed"], out["refundable_count"]) == (1, 0)
    assert Overpayment.objects.get().status == OverpaymentStatus.PRESCRIBED


def test_a_reduction_of_a_levy_paid_by_appropriation_gives_a_new_overpayment(
    sample_city: Any, write_csv: Callable[..., Any]
) -> None:
    # 1001's double payment (08-10) settles 04 (12,000) on 08-10; then 04 is reduced to 8,000 on 10-01:
    # 4,000 of what the appropriation paid is owed back — a 第1号 overpayment from the 充当適状日.
    pay(write_csv, "1001", "100001", 30000, "2024-06-20")
    pay(write_csv, "1001", "100001", 30000, "2024-08-10")
    run("2024-09-30")
    levy(write_csv, sample_city, ["04,2024,400001,1001,1,2024-04-30,8000,"], D(2024, 10, 1))
    out = run("2024-10-02")
    assert out["collected"] == 1
    op = Overpayment.objects.get(origin=Origin.LEVY_REDUCTION)
    assert (op.amount, op.cause, op.arose_on, op.paid_on) == (
        4000,
        Cause.REDUCTION,
        D(2024, 10, 1),
        D(2024, 8, 10),
    )
    # 1001 still owes 11,000 of 01 第2期 (due 09-02): the new overpayment goes there at once.
    assert (op.appropriated, op.status) == (4000, OverpaymentStatus.APPROPRIATED)
    a = Appropriation.objects.get(overpayment=op)
    assert (a.installment, a.appropriable_on) == (inst("100001", 2), D(2024, 10, 1))
    assert verify_ok()


def test_a_cancelled_payment_takes_its_overpayment_back(
    sample_city: Any, write_csv: Callable[..., Any]
) -> None:
    from choshu.formats.payments import ELTAX_HEADER
    from choshu.refunds.tests.helpers import cmd

    slips = cmd("slips", "--taxpayer", "1002")["slips"]
    slip = next(s for s in slips if s["slip_no"] == inst("500001").slip_no)
    head = ",".join(ELTAX_HEADER)

    def row(tid: str, cancelled: str = "0") -> str:
        return f"{tid},11203,{slip['slip_no']},{slip['confirmation_no']},0{slip['tax_item']},10800,2024-05-20,2024-05-22,{cancelled}"

    cmd("import_payments", "--channel", "eltax", str(write_csv(head, [row("tx-1"), row("tx-2")])))
    assert run("2024-06-01")["refundable_amount"] == 10800
    cmd("import_payments", "--channel", "eltax", str(write_csv(head, [row("tx-2", cancelled="1")])))
    out = run("2024-06-02")
    assert (out["cancelled"], out["refundable_count"], out["collected"]) == (1, 0, 0)
    op = Overpayment.objects.get()
    assert (op.reversed, op.remaining, op.status) == (10800, 0, OverpaymentStatus.CANCELLED)
    assert held("1002") == 0
    assert run("2024-06-03")["cancelled"] == 0  # taken back once
    assert verify_ok()
