"""The counter a cashier can close (issue 13 §2) and 収納取消 through the two-person check (§3).

- 領収日 is the day of entry; another date is a 決裁 and is booked only on approval, on an open day;
- a 領収日 before the levy exists (its 調定日) is refused;
- each cashier closes the day (現金照合); a later receipt is booked on the next open day, its own
  領収日 kept, and the closed day's 日計表 stays as it was;
- one receipt pays several slips (in order, each through the engine);
- an overpayment needs an explicit confirmation and is the engine's 過誤納金;
- the pre-fill (本税 + 延滞金 as of the 領収日) is what the engine places for a payment of that day;
- a reversal of any channel is a request that a second person with the approval right approves.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from choshu.accounts.models import Role
from choshu.accounts.permissions import Right, effective_rights
from choshu.approvals.models import ApprovalStatus, ChangeRequest, RequestKind
from choshu.approvals.services import request_approve
from choshu.levies.models import Account, Installment, LedgerEntry
from choshu.levies.selectors import overpayment_balance
from choshu.receipts.models import CashierDay, CounterReceipt, Payment, PaymentStatus
from choshu.receipts.receipt_pdf import receipt_number
from choshu.receipts.selectors import daily_totals
from choshu.receipts.services import (
    cashier_day_close,
    counter_backdated_request,
    counter_receipt_record,
    payment_reverse_request,
    payment_totals_problems,
    slips_owed,
)
from choshu.receipts.tests.test_import_payments import BANK_HEADER, bank_row, cmd, slips
from choshu.receipts.tests.test_views import ROLES, World, _signed_in, _slip, _text
from choshu.receipts.tests.test_views import world as world  # noqa: F401  (the fixture)
from choshu.rules.late_charge import compute_late_charge

DAY = date(2024, 6, 3)  # a Monday; 鳩ヶ谷 花子's 軽自動車税 (10,800) was due 2024-05-31
NEXT = date(2024, 6, 4)


@pytest.fixture
def staff(sample_city: Any, make_user: Callable) -> dict[str, Any]:
    return {
        "window": make_user("window", role=Role.WINDOW_CONTRACTOR, municipality=sample_city),
        "window2": make_user("window2", role=Role.WINDOW_CONTRACTOR, municipality=sample_city),
        "clerk": make_user("clerk", role=Role.CLERK, municipality=sample_city),
        "chief": make_user("chief", role=Role.CHIEF, municipality=sample_city),
    }


def _slip_of(no: str, amount: int) -> str:
    return next(s["slip_no"] for s in slips(no) if s["amount"] == amount)


def _take(actor: Any, city: Any, slip_nos: list[str], amount: int, on: date, **kw: Any) -> CounterReceipt:
    return counter_receipt_record(
        actor=actor, municipality=city, slip_nos=slip_nos, amount=amount, paid_on=on, entered_on=on, **kw
    )


# --- the receipt date ---------------------------------------------------------------------------------


def test_a_receipt_dated_another_day_needs_a_request_and_is_booked_only_on_approval(
    sample_city: Any, staff: dict[str, Any]
) -> None:
    slip = _slip_of("1002", 10800)
    with pytest.raises(ValidationError, match="決裁"):
        counter_receipt_record(
            actor=staff["window"],
            municipality=sample_city,
            slip_nos=[slip],
            amount=10800,
            paid_on=DAY,
            entered_on=NEXT,
        )
    _take(staff["window"], sample_city, [_slip_of("1001", 30000)], 5000, DAY)
    cashier_day_close(
        actor=staff["window"], municipality=sample_city, day=DAY, counted=5000, reason="", today=DAY
    )
    closed_day = daily_totals(municipality=sample_city, booked_on=DAY).as_dict()

    req = counter_backdated_request(
        actor=staff["window"],
        municipality=sample_city,
        slip_nos=[slip],
        amount=10800,
        paid_on=DAY,
        entered_on=date(2024, 6, 10),
        reason="出張徴収で受領した現金を持ち帰った",
    )
    assert req.kind == RequestKind.COUNTER_BACKDATED and req.status == ApprovalStatus.PENDING
    assert not Payment.objects.filter(slip_no=slip).exists()  # nothing is booked before the approval
    with pytest.raises(PermissionDenied):  # the requester cannot approve their own request
        request_approve(actor=staff["window"], request=req, decided_on=date(2024, 6, 11))

    request_approve(actor=staff["chief"], request=req, decided_on=date(2024, 6, 11))
    payment = Payment.objects.get(slip_no=slip)
    assert (payment.paid_on, payment.booked_on, payment.status) == (
        DAY,
        date(2024, 6, 11),
        PaymentStatus.POSTED,
    )
    receipt = CounterReceipt.objects.get(approval=req)
    assert (receipt.cashier, receipt.paid_on, receipt.booked_on) == (staff["window"], DAY, date(2024, 6, 11))
    assert daily_totals(municipality=sample_city, booked_on=DAY).as_dict() == closed_day  # unchanged
    assert payment_totals_problems() == []


def test_a_receipt_date_before_the_levy_exists_is_refused(sample_city: Any, staff: dict[str, Any]) -> None:
    # The levies were booked (調定) on 2024-04-01 (conftest LEVIES_BOOKED_ON).
    with pytest.raises(ValidationError, match="調定日（令和6年4月1日）より前"):
        counter_backdated_request(
            actor=staff["window"],
            municipality=sample_city,
            slip_nos=[_slip_of("1002", 10800)],
            amount=10800,
            paid_on=date(2019, 1, 15),
            entered_on=DAY,
            reason="古い領収書",
        )
    assert not ChangeRequest.objects.exists()


# --- the cashier's day -----------------------------------------------------------------------------


def test_a_closed_day_keeps_its_daily_totals_and_later_receipts_go_to_the_next_open_day(
    sample_city: Any, staff: dict[str, Any]
) -> None:
    window = staff["window"]
    first = _take(window, sample_city, [_slip_of("1002", 10800)], 10800, DAY, tendered=20000)
    assert (first.booked_on, first.tendered, first.change) == (DAY, 20000, 9200)
    with pytest.raises(ValidationError, match="理由"):  # a difference needs its reason
        cashier_day_close(
            actor=window, municipality=sample_city, day=DAY, counted=10700, reason=" ", today=DAY
        )
    closed = cashier_day_close(
        actor=window, municipality=sample_city, day=DAY, counted=10700, reason="釣銭の渡し過ぎ", today=DAY
    )
    assert (closed.receipts, closed.amount, closed.tendered, closed.change) == (1, 10800, 20000, 9200)
    assert (closed.counted, closed.difference) == (10700, -100)
    with pytest.raises(ValidationError, match="締め済み"):
        cashier_day_close(actor=window, municipality=sample_city, day=DAY, counted=0, reason="x", today=DAY)
    before = daily_totals(municipality=sample_city, booked_on=DAY).as_dict()
    assert before["amount"] == 10800

    later = _take(window, sample_city, [_slip_of("1001", 30000)], 1000, DAY)
    assert (later.paid_on, later.booked_on) == (DAY, NEXT)  # its own 領収日, the next open day's 日計
    assert daily_totals(municipality=sample_city, booked_on=DAY).as_dict() == before
    assert daily_totals(municipality=sample_city, booked_on=NEXT).as_dict()["amount"] == 1000
    # Another cashier's day is their own.
    other = _take(staff["window2"], sample_city, [_slip_of("1001", 12000)], 500, DAY)
    assert other.booked_on == DAY
    with pytest.raises(ValidationError, match="未来"):
        cashier_day_close(actor=window, municipality=sample_city, day=NEXT, counted=0, reason="", today=DAY)


# --- several slips, overpayment, pre-fill ---------------------------------------------------------------


def test_one_receipt_pays_several_slips_in_order(sample_city: Any, staff: dict[str, Any]) -> None:
    a, b = _slip_of("1002", 10800), _slip_of("1001", 12000)  # both due before DAY: 延滞金 may run
    owed = slips_owed(sample_city, [a, b], paid_on=DAY)
    receipt = _take(staff["window"], sample_city, [a, b], owed[0].total + 2000, DAY)
    first, second = (Payment.objects.get(pk=pk) for pk in receipt.payments)
    assert (first.slip_no, first.amount, first.overpaid) == (a, owed[0].total, 0)
    assert (second.slip_no, second.amount) == (b, 2000)
    assert first.detail["receipt"] == second.detail["receipt"] == str(receipt.pk)
    assert Installment.objects.get(slip_no=a).principal_outstanding == 0
    assert Installment.objects.get(slip_no=b).principal_outstanding == 10000
    with pytest.raises(ValidationError, match="2枚目"):  # nothing left for the second slip
        _take(staff["window"], sample_city, [_slip_of("1001", 30000), _slip_of("1001", 29000)], 100, DAY)
    with pytest.raises(ValidationError, match="2回"):
        _take(staff["window"], sample_city, [b, b], 100, DAY)


def test_an_overpayment_needs_a_confirmation_and_becomes_the_engines_overpayment(
    sample_city: Any, staff: dict[str, Any]
) -> None:
    slip = _slip_of("1002", 10800)
    taxpayer_id = Installment.objects.get(slip_no=slip).taxpayer_id
    with pytest.raises(ValidationError, match="過誤納金として受け入れる") as refused:
        _take(staff["window"], sample_city, [slip], 11000, DAY)
    assert refused.value.error_list[0].code == "overpayment"
    assert not Payment.objects.filter(slip_no=slip).exists()
    receipt = _take(staff["window"], sample_city, [slip], 11000, DAY, overpayment_accepted=True)
    payment = Payment.objects.get(pk=receipt.payments[0])
    assert (payment.allocated, payment.overpaid) == (10800, 200)
    assert payment.detail["overpayment_confirmed"] == "1"
    assert overpayment_balance(municipality=sample_city, taxpayer_ids=[taxpayer_id]) == 200


def test_the_pre_fill_is_what_the_engine_places_on_the_receipt_date(
    sample_city: Any, staff: dict[str, Any]
) -> None:
    """本税 + 延滞金 as of the 領収日: paying exactly that leaves nothing owed and nothing overpaid.

    30,000 yen due 2024-07-01, paid 2024-12-31 (183 days late): the rules package's figure is the
    延滞金 (地方税法326条; worked example https://www.city.seki.lg.jp/0000019335.html)."""
    slip, on = _slip_of("1001", 30000), date(2024, 12, 31)
    [owed] = slips_owed(sample_city, [slip], paid_on=on)
    expected = compute_late_charge(principal=30000, due_date=date(2024, 7, 1), until=on).late_charge
    assert (owed.principal, owed.late_charge) == (30000, expected) and expected > 0
    receipt = _take(staff["window"], sample_city, [slip], owed.total, on)
    payment = Payment.objects.get(pk=receipt.payments[0])
    late = -sum(
        LedgerEntry.objects.filter(txn_id=payment.txn_id, account=Account.LATE_CHARGE_INCOME).values_list(
            "amount", flat=True
        )
    )
    assert (payment.allocated, payment.overpaid, late) == (owed.total, 0, expected)


# --- reversal through the two-person check ---------------------------------------------------------------


def test_a_bank_payment_is_reversed_only_through_a_request_a_second_person_approves(
    sample_city: Any, staff: dict[str, Any], write_csv: Callable
) -> None:
    slip = next(s for s in slips("1002") if s["amount"] == 10800)
    cmd(
        "import_payments",
        "--channel",
        "bank",
        str(write_csv(",".join(BANK_HEADER), [bank_row(slip, 10800, "2024-05-31")])),
    )
    payment = Payment.objects.get(channel="bank")
    with pytest.raises(PermissionDenied):
        payment_reverse_request(actor=staff["window"], payment=payment, reason="誤入金")
    with pytest.raises(ValidationError):
        payment_reverse_request(actor=staff["clerk"], payment=payment, reason=" ")
    req = payment_reverse_request(actor=staff["clerk"], payment=payment, reason="金融機関からの誤送金の連絡")
    assert req.kind == RequestKind.PAYMENT_REVERSAL
    assert "本税 10,800円" in req.payload["undo"] and "延滞金 0円" in req.payload["undo"]
    assert Payment.objects.get(pk=payment.pk).status == PaymentStatus.POSTED  # nothing undone yet
    with pytest.raises(ValidationError, match="既に申請"):
        payment_reverse_request(actor=staff["clerk"], payment=payment, reason="二重")
    with pytest.raises(PermissionDenied):  # not by the requester
        request_approve(actor=staff["clerk"], request=req, decided_on=NEXT)
    request_approve(actor=staff["chief"], request=req, decided_on=NEXT)
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.REVERSED and payment.reversal_txn is not None
    assert payment.reversal_txn.booking_date == NEXT
    assert Installment.objects.get(slip_no=slip["slip_no"]).principal_outstanding == 10800
    assert payment_totals_problems() == []


# --- screens ---------------------------------------------------------------------------------------------


def test_a_slip_number_that_is_not_a_slip_answers_a_message_not_an_error(
    make_user: Callable[..., Any], world: World
) -> None:
    for role in ROLES:
        user = make_user(f"slip1-{role}", role=role, municipality=world.city)
        response = _signed_in(user).get(reverse("receipts:counter"), {"slip_no": "1"})
        expected = 200 if Right.COUNTER_RECEIPT in effective_rights(user) else 403
        assert response.status_code == expected, role
        if expected == 200:
            assert "この納付番号の納付書はありません" in response.content.decode()


def test_the_counter_lists_principal_late_charge_and_total_per_slip(world: World) -> None:
    response = _signed_in(world.clerk).get(reverse("receipts:counter"), {"taxpayer_no": "1001"})
    text = _text(response)
    today = timezone.localdate()
    late = compute_late_charge(principal=30000, due_date=date(2024, 7, 1), until=today).late_charge
    assert "本税（円） 延滞金（円） 合計（円）" in text
    assert f"30,000 {late:,} {30000 + late:,}" in text


def test_a_back_dated_receipt_at_the_counter_waits_for_approval(world: World) -> None:
    client = _signed_in(world.window)
    slip = _slip(world.city, "1001")
    yesterday = (timezone.localdate() - timedelta(days=1)).isoformat()
    form = {"slip_no": slip, "amount": "30000", "paid_on": yesterday, "token": "b-1"}
    refused = client.post(reverse("receipts:counter"), form)
    assert refused.status_code == 400 and "理由を入力してください" in refused.content.decode()
    response = client.post(reverse("receipts:counter"), {**form, "backdate_reason": "出張徴収の持ち帰り"})
    assert response.status_code == 302
    req = ChangeRequest.objects.get(kind=RequestKind.COUNTER_BACKDATED)
    assert req.payload["paid_on"] == yesterday and req.requested_by == world.window
    assert not Payment.objects.filter(slip_no=slip).exists()
    assert "決裁を申請しました" in _text(client.get(response["Location"]))


def test_a_cashier_closes_the_day_on_the_close_screen_and_the_daily_totals_agree(world: World) -> None:
    client = _signed_in(world.clerk)
    today = timezone.localdate()
    client.post(
        reverse("receipts:counter"),
        {
            "slip_no": _slip(world.city, "1001"),
            "amount": "5000",
            "tendered": "10000",
            "paid_on": today.isoformat(),
        },
    )
    page = _text(client.get(reverse("receipts:counter-close")))
    assert "領収件数 1件" in page and "お預かり合計 10,000円" in page and "お釣り合計 5,000円" in page
    refused = client.post(reverse("receipts:counter-close"), {"counted": "4000", "reason": ""})
    assert refused.status_code == 400 and "理由を入力してください" in refused.content.decode()
    closed = client.post(reverse("receipts:counter-close"), {"counted": "5000", "reason": ""})
    assert closed.status_code == 302
    day = CashierDay.objects.get(cashier=world.clerk, day=today)
    assert (day.amount, day.counted, day.difference) == (5000, 5000, 0)
    daily = _text(client.get(reverse("receipts:daily"), {"date": today.isoformat()}))
    assert "締め済みの領収金額の合計と一致しています" in daily
    # A receipt after the close goes to tomorrow's 日計; today's stays as it was.
    before = daily_totals(municipality=world.city, booked_on=today).as_dict()
    client.post(
        reverse("receipts:counter"),
        {"slip_no": _slip(world.city, "1001", 1), "amount": "1000", "paid_on": today.isoformat()},
    )
    assert CounterReceipt.objects.filter(cashier=world.clerk).latest("pk").booked_on == today + timedelta(
        days=1
    )
    assert daily_totals(municipality=world.city, booked_on=today).as_dict() == before


def test_the_payment_page_lists_the_reversal_request_for_the_chief(world: World) -> None:
    _signed_in(world.clerk).post(
        reverse("receipts:payment-reverse", args=[world.payment.pk]), {"reason": "別人の納付書で入金"}
    )
    req = ChangeRequest.objects.get(kind=RequestKind.PAYMENT_REVERSAL)
    page = _text(_signed_in(world.chief).get(reverse("receipts:payment-detail", args=[world.payment.pk])))
    assert f"申請 #{req.pk}" in page and "決裁待ち" in page
    queue = _signed_in(world.chief).get(reverse("approvals:queue"), {"kind": "payment_reversal"})
    assert reverse("approvals:detail", args=[req.pk]) in queue.content.decode()
    detail = _text(_signed_in(world.chief).get(reverse("approvals:detail", args=[req.pk])))
    assert "取り消される充当（期別ごと）" in detail and "本税 10,800円" in detail


def test_an_approved_back_dated_receipt_keeps_the_confirmed_overpayment(
    sample_city: Any, staff: dict[str, Any]
) -> None:
    slip = _slip_of("1002", 10800)
    req = counter_backdated_request(
        actor=staff["window"],
        municipality=sample_city,
        slip_nos=[slip],
        amount=11000,
        paid_on=date(2024, 5, 31),
        entered_on=DAY,
        reason="出張徴収",
        overpayment_accepted=True,
    )
    assert req.payload["overpayment_accepted"] == "受け入れる" and "tendered" not in req.payload
    request_approve(actor=staff["chief"], request=req, decided_on=DAY)
    payment = Payment.objects.get(slip_no=slip)
    assert (payment.paid_on, payment.booked_on, payment.allocated, payment.overpaid) == (
        date(2024, 5, 31),
        DAY,
        10800,
        200,
    )


def test_several_slips_are_taken_in_one_receipt_at_the_counter(world: World) -> None:
    client = _signed_in(world.clerk)
    a, b = _slip(world.city, "1001", 0), _slip(world.city, "1001", 1)
    [owed_a, _] = slips_owed(world.city, [a, b], paid_on=timezone.localdate())
    shown = _text(client.get(reverse("receipts:counter"), {"slip_no": [a, b]}))
    assert "2枚の納付書を1回の領収で収納します" in shown
    response = client.post(
        reverse("receipts:counter"),
        {
            "slip_no": f"{a}\n{b}",
            "amount": str(owed_a.total + 100),
            "paid_on": timezone.localdate().isoformat(),
        },
    )
    assert response.status_code == 302
    receipt = CounterReceipt.objects.filter(cashier=world.clerk).latest("pk")
    assert len(receipt.payments) == 2 and receipt.amount == owed_a.total + 100
    result = _text(client.get(response["Location"]))
    assert f"領収番号 {receipt.pk}" in result and "同じ領収でまとめて収納した納付書" in result


def test_the_receipt_pdf_of_each_slip_carries_the_one_receipt_number(world: World) -> None:
    client = _signed_in(world.clerk)
    a, b = _slip(world.city, "1001", 0), _slip(world.city, "1001", 1)
    receipt = counter_receipt_record(
        actor=world.clerk,
        municipality=world.city,
        slip_nos=[a, b],
        amount=40000,
        paid_on=timezone.localdate(),
    )
    for pk in receipt.payments:
        pdf = client.get(reverse("receipts:receipt-pdf", args=[pk]))
        assert pdf.status_code == 200
        info = PdfReader(io.BytesIO(pdf.content)).metadata
        assert info is not None and info.subject == f"領収証書（領収番号 {receipt_number(receipt.pk)}）"
