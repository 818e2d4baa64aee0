"""Every screen and path that shows or collects the 延滞金 of an installment as of a date gives the same
figure for the same payments, because all of them ask ``rules.late_charge.late_charge_as_of``:

- the balances (``levies.selectors.installment_balances``: ``choshu balances``),
- what is owed (``levies.selectors.amounts_due``: the person page, its 延滞金計算明細, dunning),
- the payment engine's rule on the slip (``receipts.services.owed_on_slip`` +
  ``rules.reconcile.late_charge_owed``: imports, suspense assignment) and the counter (``slips_owed``).

Payments go in through the real bank import, the later-dated one first, so that the installment's
cached amounts already say "paid" when an earlier date is asked about.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest

from choshu.levies.models import Installment
from choshu.levies.selectors import amounts_due, installment_balances
from choshu.levies.tests.test_verify_incremental import pay
from choshu.receipts.services import owed_on_slip, slips_owed
from choshu.receipts.slips import slip_targets
from choshu.rules import reconcile as rr
from choshu.rules.late_charge import compute_late_charge

pytestmark = pytest.mark.django_db
D = date
DUE = D(2024, 7, 1)  # the sample city's 100001 第1期: 個人住民税 30,000 円


def _figures(city: Any, as_of: date) -> dict[str, int | None]:
    inst = Installment.objects.get(levy__notice_no="100001", installment_no=1)
    (balance,) = [
        b
        for b in installment_balances(taxpayer_ids=[inst.taxpayer_id], as_of=as_of)
        if b.installment_id == inst.pk
    ]
    (due,) = amounts_due(taxpayer_ids=[inst.taxpayer_id], as_of=as_of, installment_ids=[inst.pk])
    slip_no = inst.slip_no
    assert slip_no is not None
    target = slip_targets(city, [slip_no])[slip_no]
    (owed,) = owed_on_slip(target, paid_on=as_of)
    (counter,) = slips_owed(city, [slip_no], paid_on=as_of)
    return {
        "balances": balance.late_charge_accrued,
        "amounts_due": due.late_charge,
        "engine": rr.late_charge_owed(owed, as_of) if as_of > DUE else 0,
        "counter": counter.late_charge,
    }


def _agree(city: Any, as_of: date, expected: int) -> None:
    figures = _figures(city, as_of)
    assert figures == dict.fromkeys(figures, expected), as_of


def test_unpaid_every_path_gives_the_rules_figure(sample_city: Any) -> None:
    for as_of in (D(2024, 7, 1), D(2025, 1, 31), D(2026, 1, 31)):
        _agree(
            sample_city, as_of, compute_late_charge(principal=30000, due_date=DUE, until=as_of).late_charge
        )


def test_paid_in_full_later_every_path_still_charges_as_of_an_earlier_date(
    sample_city: Any, write_csv: Callable
) -> None:
    pay(write_csv, [("100001", 30000, "2025-06-30")])
    _agree(sample_city, D(2025, 1, 31), 1300)  # the payment is not made yet: through 2025-01-31
    stopped = compute_late_charge(principal=30000, due_date=DUE, until=D(2025, 6, 30)).late_charge
    assert stopped == 2400
    for as_of in (D(2025, 6, 30), D(2026, 1, 31)):
        _agree(sample_city, as_of, stopped)


def test_a_back_dated_partial_payment_imported_after_the_final_one_counts_from_its_own_date(
    sample_city: Any, write_csv: Callable
) -> None:
    pay(write_csv, [("100001", 20000, "2025-06-30")])
    pay(write_csv, [("100001", 10000, "2024-09-30")])  # imported later, dated earlier: now paid in full
    # As of 2025-01-31 only the 10,000 was paid: 30,000 to 9/30, then 20,000 (the engine's copy said 0).
    _agree(sample_city, D(2025, 1, 31), 1000)
    full = compute_late_charge(
        principal=30000, due_date=DUE, until=D(2025, 6, 30), payments=[(D(2024, 9, 30), 10000)]
    ).late_charge
    _agree(sample_city, D(2026, 1, 31), full)
    _agree(
        sample_city,
        D(2024, 9, 29),
        compute_late_charge(principal=30000, due_date=DUE, until=D(2024, 9, 29)).late_charge,
    )


def test_on_or_after_every_payment_date_the_person_page_total_is_what_the_counter_asks(
    sample_city: Any, write_csv: Callable
) -> None:
    """``amounts_due`` (the ledger as of the date) and ``slips_owed`` (the engine's view: cached
    outstanding, every 延滞金 payment whatever its date) answer different questions, but on or after the
    last 領収日 they must give the same amount: 31,000 on 2025-06-30 pays 30,000 本税 and 1,000 of the
    2,400 延滞金."""
    pay(write_csv, [("100001", 31000, "2025-06-30")])
    inst = Installment.objects.get(levy__notice_no="100001", installment_no=1)
    assert inst.slip_no is not None
    for as_of in (D(2025, 6, 30), D(2026, 1, 31)):
        (due,) = amounts_due(taxpayer_ids=[inst.taxpayer_id], as_of=as_of, installment_ids=[inst.pk])
        (counter,) = slips_owed(sample_city, [inst.slip_no], paid_on=as_of)
        assert (due.principal_due, due.late_charge, due.total) == (
            counter.principal,
            counter.late_charge,
            counter.total,
        )
        assert due.total == 1400
    # Before that payment they differ on purpose: the page shows what was owed on 2025-01-31; the counter,
    # what a payment dated 2025-01-31 can still settle now (the 本税 is paid; 1,300 accrued by then, 1,000
    # of it paid since).
    (due,) = amounts_due(taxpayer_ids=[inst.taxpayer_id], as_of=D(2025, 1, 31), installment_ids=[inst.pk])
    (counter,) = slips_owed(sample_city, [inst.slip_no], paid_on=D(2025, 1, 31))
    assert (due.principal_due, due.late_charge) == (30000, 1300)
    assert (counter.principal, counter.late_charge) == (0, 300)
