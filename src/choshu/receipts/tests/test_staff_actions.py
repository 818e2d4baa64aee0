"""Counter receipts, reversals and the suspense queue — the clerk's side of reconciliation."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from choshu.accounts.models import Role
from choshu.approvals.models import ChangeRequest
from choshu.approvals.services import request_approve
from choshu.levies.models import Installment, LedgerTransaction, TxnKind
from choshu.receipts.models import Payment, PaymentStatus, SuspenseItem
from choshu.receipts.services import (
    counter_receipt_take,
    payment_reverse,
    payment_totals_problems,
    suspense_assign_request,
    suspense_mark_refund,
)
from choshu.receipts.tests.test_import_payments import ELTAX_HEADER, cmd, eltax_row, slips

DECIDED_ON = date(2024, 6, 10)


@pytest.fixture
def staff(sample_city: Any, make_user: Callable) -> dict[str, Any]:
    return {
        "clerk": make_user("clerk", role=Role.CLERK, municipality=sample_city),
        "chief": make_user("chief", role=Role.CHIEF, municipality=sample_city),
        "window": make_user("window", role=Role.WINDOW_CONTRACTOR, municipality=sample_city),
        "auditor": make_user("auditor", role=Role.AUDITOR, municipality=sample_city),
    }


def test_a_counter_receipt_is_reconciled_like_an_imported_payment(
    sample_city: Any, staff: dict[str, Any]
) -> None:
    slip = slips("1002")[0]["slip_no"]
    payment = counter_receipt_take(
        actor=staff["window"], municipality=sample_city, slip_no=slip, amount=10800, paid_on=date(2024, 5, 31)
    )
    assert (payment.channel, payment.status, payment.allocated) == ("counter", PaymentStatus.POSTED, 10800)
    assert Installment.objects.get(slip_no=slip).principal_outstanding == 0
    assert payment_totals_problems() == []
    with pytest.raises(PermissionDenied):
        counter_receipt_take(
            actor=staff["auditor"],
            municipality=sample_city,
            slip_no=slip,
            amount=1,
            paid_on=date(2024, 5, 31),
        )
    with pytest.raises(ValidationError):
        counter_receipt_take(
            actor=staff["clerk"],
            municipality=sample_city,
            slip_no="0" * 16,
            amount=1,
            paid_on=date(2024, 5, 31),
        )


def test_a_reversal_reopens_the_installment_and_needs_a_reason(
    sample_city: Any, staff: dict[str, Any]
) -> None:
    slip = slips("1002")[0]["slip_no"]
    payment = counter_receipt_take(
        actor=staff["clerk"], municipality=sample_city, slip_no=slip, amount=10800, paid_on=date(2024, 5, 31)
    )
    with pytest.raises(ValidationError):
        payment_reverse(actor=staff["clerk"], payment=payment, reason=" ", on=date(2024, 6, 3))
    with pytest.raises(PermissionDenied):
        payment_reverse(actor=staff["window"], payment=payment, reason="誤入力", on=date(2024, 6, 3))
    payment_reverse(actor=staff["clerk"], payment=payment, reason="誤入力", on=date(2024, 6, 3))
    assert Payment.objects.get(pk=payment.pk).status == PaymentStatus.REVERSED
    assert Installment.objects.get(slip_no=slip).principal_outstanding == 10800
    with pytest.raises(ValidationError):
        payment_reverse(actor=staff["clerk"], payment=payment, reason="二重", on=date(2024, 6, 4))


def test_a_suspended_payment_is_placed_only_after_a_second_person_approves(
    sample_city: Any, staff: dict[str, Any], write_csv: Callable
) -> None:
    right = slips("1002")[0]
    wrong_conf = "0000" if right["confirmation_no"] != "0000" else "1111"
    cmd(
        "import_payments",
        "--channel",
        "eltax",
        str(
            write_csv(
                ",".join(ELTAX_HEADER),
                [eltax_row("t1", right, 10800, "2024-05-30", "2024-06-03", conf=wrong_conf)],
            )
        ),
    )
    item = SuspenseItem.objects.get()
    req = suspense_assign_request(
        actor=staff["clerk"], item=item, slip_no=right["slip_no"], reason="確認番号の誤記"
    )
    assert Installment.objects.get(slip_no=right["slip_no"]).principal_outstanding == 10800
    with pytest.raises(PermissionDenied):
        request_approve(actor=staff["clerk"], request=req, decided_on=DECIDED_ON)
    request_approve(actor=staff["chief"], request=ChangeRequest.objects.get(pk=req.pk), decided_on=DECIDED_ON)
    assert Installment.objects.get(slip_no=right["slip_no"]).principal_outstanding == 0
    payment = Payment.objects.get()
    assert (payment.status, payment.allocated, payment.suspended) == (PaymentStatus.POSTED, 10800, 0)
    assert SuspenseItem.objects.get().status == "assigned"
    assert payment_totals_problems() == []
    assign = LedgerTransaction.objects.get(kind=TxnKind.SUSPENSE_ASSIGN)
    assert (assign.legal_date, assign.booking_date) == (date(2024, 5, 30), DECIDED_ON)


def test_a_suspended_payment_can_be_marked_for_refund(
    sample_city: Any, staff: dict[str, Any], write_csv: Callable
) -> None:
    from choshu.rules.check_digits import make_slip_no

    cmd(
        "import_payments",
        "--channel",
        "eltax",
        str(
            write_csv(
                ",".join(ELTAX_HEADER),
                [f"t2,11203,{make_slip_no('444444444444444')},1234,001,500,2024-05-30,2024-06-03,0"],
            )
        ),
    )
    item = SuspenseItem.objects.get()
    with pytest.raises(ValidationError):
        suspense_mark_refund(actor=staff["clerk"], item=item, note="")
    suspense_mark_refund(actor=staff["clerk"], item=item, note="該当者なし。振込人へ返金")
    assert SuspenseItem.objects.get().status == "refund_requested"
    with pytest.raises(ValidationError):
        suspense_mark_refund(actor=staff["clerk"], item=SuspenseItem.objects.get(), note="x")
