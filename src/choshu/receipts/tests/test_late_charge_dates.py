"""Each rule reads the date the law names (issue 12 §2; law.md §a7): the 延滞金 of a 申告納付 item runs
from the day after its 法定納期限 even when its 納期限 is later (a return filed late), and that of a
普通徴収 item from the day after its 納期限 even when its 法定納期限 is earlier — in the payment engine
(an import), at the counter and in balances."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from choshu.accounts.models import Role
from choshu.formats.levies_csv import HEADER
from choshu.levies.models import Installment, LedgerEntry
from choshu.levies.services import levies_import
from choshu.receipts.models import Payment
from choshu.receipts.services import counter_receipt_take
from choshu.receipts.tests.test_import_payments import BANK_HEADER, balances, bank_row, cmd, slips, verify_ok

LEVY_ROWS = [
    # 法人住民税 (申告納付): 法定納期限 2024-05-31, the return filed late: 納期限 2024-09-30
    "03,2024,2024,300009,2001,,1,0,0,2023-04-01,2024-03-31,1,2024-05-31,2024-09-30,2024-09-30,,100000,50000,50000,,,,,",
    # 個人住民税 普通徴収 with an earlier 法定納期限 (2024-04-30) than its 納期限 (2024-07-01)
    "01,2024,,700009,1001,,,,,,,1,2024-04-30,2024-07-01,,,30000,,,,,,,",
]
# 100,000 from 2024-06-01 (法定納期限 + 1) to 2024-12-31: 30 d × 2.4 % = 197; 184 d × 8.7 % = 4,385
# → 4,582 → 4,500. From the 納期限 it would have been 1,600 (2024-10-01..12-31).
CORPORATE_CHARGE = 4500
# 30,000 from 2024-07-02 (納期限 + 1) to 2026-11-26: 6,200 (as the sample city's 100001 #1); from the
# 法定納期限 it would have been 6,600.
NOTICE_CHARGE = 6200


@pytest.fixture
def levied(sample_city: Any, write_csv: Callable[..., Path]) -> Any:
    levies_import(
        municipality=sample_city, path=write_csv(",".join(HEADER), LEVY_ROWS), booking_date=date(2024, 4, 1)
    )
    corp = Installment.objects.get(levy__notice_no="300009")
    notice = Installment.objects.get(levy__notice_no="700009")
    assert (corp.late_charge_base_date, notice.late_charge_base_date) == (date(2024, 5, 31), date(2024, 7, 1))
    return sample_city


def _row(taxpayer: str, notice: str, as_of: str) -> dict[str, Any]:
    (row,) = [r for r in balances(taxpayer, as_of)["installments"] if r["notice_no"] == notice]
    return row


def _slip(taxpayer: str, notice: str) -> dict[str, Any]:
    slip_no = Installment.objects.get(levy__notice_no=notice).slip_no
    (slip,) = [s for s in slips(taxpayer) if s["slip_no"] == slip_no]
    return slip


def test_balances_run_each_items_late_charge_from_its_own_date(levied: Any) -> None:
    assert _row("2001", "300009", "2024-12-31")["late_charge_accrued"] == CORPORATE_CHARGE
    # Nothing accrues up to the 法定納期限 itself; from the day after, even before the 納期限.
    assert _row("2001", "300009", "2024-05-31")["late_charge_accrued"] == 0
    assert _row("2001", "300009", "2024-09-30")["late_charge_accrued"] > 0
    assert _row("1001", "700009", "2026-11-26")["late_charge_accrued"] == NOTICE_CHARGE
    assert _row("1001", "700009", "2024-07-01")["late_charge_accrued"] == 0


def _late_charge_and_overpayment(payment: Payment) -> tuple[int, int]:
    charge = LedgerEntry.objects.get(account="late_charge_income", payment_id=payment.pk)
    return -charge.amount, payment.overpaid


def test_a_payment_import_charges_the_late_charge_from_the_statutory_due_date_of_a_self_assessed_item(
    levied: Any, write_csv: Callable[..., Path]
) -> None:
    # 105,000 on 2024-12-31: 100,000 本税, 4,500 延滞金, 500 overpaid (from the 納期限: 1,600 and 3,400).
    rows = [bank_row(_slip("2001", "300009"), 105000, "2024-12-31", "2025-01-06")]
    cmd("import_payments", "--channel", "bank", str(write_csv(",".join(BANK_HEADER), rows)))
    assert _late_charge_and_overpayment(Payment.objects.get()) == (CORPORATE_CHARGE, 500)
    assert verify_ok()


def test_a_payment_import_charges_a_notice_item_from_its_due_date(
    levied: Any, write_csv: Callable[..., Path]
) -> None:
    # 36,800 on 2026-11-26: 30,000 本税, 6,200 延滞金, 600 overpaid (from the 法定納期限: 6,600 and 200).
    rows = [bank_row(_slip("1001", "700009"), 36800, "2026-11-26", "2026-11-27")]
    cmd("import_payments", "--channel", "bank", str(write_csv(",".join(BANK_HEADER), rows)))
    assert _late_charge_and_overpayment(Payment.objects.get()) == (NOTICE_CHARGE, 600)


def test_the_counter_charges_the_late_charge_from_the_statutory_due_date_of_a_self_assessed_item(
    levied: Any, make_user: Callable
) -> None:
    window = make_user("window", role=Role.WINDOW_CONTRACTOR, municipality=levied)
    payment = counter_receipt_take(
        actor=window,
        municipality=levied,
        slip_no=_slip("2001", "300009")["slip_no"],
        amount=105000,
        paid_on=date(2024, 12, 31),
        overpayment_accepted=True,  # the counter asks before it takes more than is owed
    )
    assert _late_charge_and_overpayment(payment) == (CORPORATE_CHARGE, 500)
