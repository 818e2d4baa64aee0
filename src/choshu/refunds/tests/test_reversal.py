"""A payment reversed after its overpayment was appropriated or refunded (issue 16 open point 3).

The appropriation had effect from the 充当適状日 (地方税法17条の2第4項); the money it used was never
received, so the appropriation is cancelled on that same date: the arrears and their 延滞金 revive as if
never paid. A refund already transferred leaves a 返納 claim: the person's overpayment account in debit.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from choshu.accounts.models import Role
from choshu.approvals.models import ApprovalStatus
from choshu.approvals.services import request_approve
from choshu.formats.payments import ELTAX_HEADER
from choshu.levies.models import LedgerTransaction, TxnKind
from choshu.levies.selectors import amounts_due
from choshu.refunds.models import (
    AccountSource,
    Appropriation,
    NoticeKind,
    Overpayment,
    OverpaymentStatus,
    Refund,
    RefundNotice,
    RefundStatus,
)
from choshu.refunds.services import AccountInput, refund_account_request, refund_decide
from choshu.refunds.tests.helpers import cmd, held, inst, levy, run, verify_ok
from choshu.refunds.transfer import originator_set, refund_transfer
from choshu.rules.late_charge import compute_late_charge
from choshu.taxpayers.models import Taxpayer

pytestmark = pytest.mark.django_db
D = date


@pytest.fixture
def staff(sample_city: Any, make_user: Callable[..., Any]) -> tuple[Any, Any]:
    return (
        make_user("clerk", role=Role.CLERK, municipality=sample_city),
        make_user("chief", role=Role.CHIEF, municipality=sample_city),
    )


def eltax(write_csv: Callable[..., Any], *rows: tuple[str, str]) -> None:
    """eLTAX records (transaction id, cancelled flag) paying 1002's 軽自動車税 10,800 on 2024-05-20."""
    slips = cmd("slips", "--taxpayer", "1002")["slips"]
    slip = next(s for s in slips if s["slip_no"] == inst("500001").slip_no)
    lines = [
        f"{tid},11203,{slip['slip_no']},{slip['confirmation_no']},0{slip['tax_item']},10800,2024-05-20,2024-05-22,{c}"
        for tid, c in rows
    ]
    cmd("import_payments", "--channel", "eltax", str(write_csv(",".join(ELTAX_HEADER), lines)))


def test_reversing_the_payment_cancels_the_appropriation_on_its_date_and_revives_the_arrears(
    sample_city: Any, write_csv: Callable[..., Any]
) -> None:
    levy(write_csv, sample_city, ["04,2024,400003,1002,1,2024-06-30,5000,"], D(2024, 6, 1))
    eltax(write_csv, ("tx-1", "0"), ("tx-2", "0"))
    out = run("2024-07-10")
    assert (out["appropriated_amount"], out["refundable_amount"]) == (5000, 5800)
    [a] = Appropriation.objects.all()
    assert (a.installment, a.appropriable_on) == (inst("400003"), D(2024, 6, 30))
    # The second payment is cancelled (eLTAX 取消): its 10,800 was the overpayment.
    eltax(write_csv, ("tx-2", "1"))
    op = Overpayment.objects.get()
    assert (op.reversed, op.appropriated, op.remaining, op.status) == (
        10800,
        0,
        0,
        OverpaymentStatus.CANCELLED,
    )
    a.refresh_from_db()
    assert a.cancelled_on is not None and a.cancel_txn_id is not None
    undo = LedgerTransaction.objects.get(pk=a.cancel_txn_id)
    assert (undo.kind, undo.legal_date) == (TxnKind.APPROPRIATION, D(2024, 6, 30))
    # The arrears are owed again with their 延滞金 from the 納期限, as if never paid.
    tp = Taxpayer.objects.get(taxpayer_no="1002")
    due = {x.installment_id: x for x in amounts_due(taxpayer_ids=[tp.pk], as_of=D(2024, 12, 31))}
    revived = due[inst("400003").pk]
    assert revived.principal_due == 5000
    assert (
        revived.late_charge_accrued
        == compute_late_charge(principal=5000, due_date=D(2024, 6, 30), until=D(2024, 12, 31)).late_charge
    )
    assert RefundNotice.objects.get(kind=NoticeKind.APPROPRIATION_CANCEL).amount == 5000
    assert held("1002") == 0
    assert verify_ok()
    # The run does not take it back twice, and finds nothing to appropriate.
    again = run("2024-07-11")
    assert (again["cancelled"], again["appropriated_count"], again["refundable_amount"]) == (0, 0, 0)
    assert verify_ok()


def test_reversing_a_refunded_payment_leaves_a_repayment_claim(
    sample_city: Any, write_csv: Callable[..., Any], staff: tuple[Any, Any], tmp_path: Path
) -> None:
    clerk, chief = staff
    eltax(write_csv, ("tx-1", "0"), ("tx-2", "0"))
    run("2024-06-01")
    op = Overpayment.objects.get()
    refund = refund_decide(actor=clerk, overpayment=op, decided_on=D(2024, 6, 3), reason="二重納付")
    request_approve(actor=chief, request=refund.request, decided_on=D(2024, 6, 3))
    account = refund_account_request(
        actor=clerk, taxpayer=Taxpayer.objects.get(taxpayer_no="1002"),
        data=AccountInput("0001", "001", "1", "1234567", "ハトガヤ ハナコ"), source=AccountSource.REGISTERED,
        reason="請求書", today=D(2024, 6, 3),
    )  # fmt: skip
    assert account.request is not None
    request_approve(actor=chief, request=account.request, decided_on=D(2024, 6, 3))
    originator_set(
        municipality=sample_city, code="1234567890", name="カワグチシ", bank_code="0001", branch_code="001",
        deposit_type="1", account_no="7654321",
    )  # fmt: skip
    refund_transfer(
        municipality=sample_city, transfer_date=D(2024, 6, 5), out=tmp_path / "f.txt", today=D(2024, 6, 4)
    )
    assert held("1002") == 0
    eltax(write_csv, ("tx-2", "1"))
    op.refresh_from_db()
    assert (op.status, op.to_repay, op.remaining) == (OverpaymentStatus.RECLAIM, 10800, -10800)
    # The overpayment account in debit: the person owes the refunded 10,800 back (返納).
    assert held("1002") == -10800
    assert verify_ok()


def test_reversing_before_the_transfer_voids_the_refund_decision(
    sample_city: Any, write_csv: Callable[..., Any], staff: tuple[Any, Any]
) -> None:
    clerk, _ = staff
    eltax(write_csv, ("tx-1", "0"), ("tx-2", "0"))
    run("2024-06-01")
    refund = refund_decide(
        actor=clerk, overpayment=Overpayment.objects.get(), decided_on=D(2024, 6, 3), reason="x"
    )
    eltax(write_csv, ("tx-2", "1"))
    refund = Refund.objects.get(pk=refund.pk)
    assert refund.status == RefundStatus.REJECTED and refund.request.status == ApprovalStatus.WITHDRAWN
    op = Overpayment.objects.get()
    assert (op.status, op.remaining) == (OverpaymentStatus.CANCELLED, 0)
    assert held("1002") == 0
    assert verify_ok()
