"""Reads of 調定・期別 and balances derived from the ledger."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db.models import Q, Sum

from choshu.core.models import Municipality
from choshu.levies.ledger import LEVIED_KINDS, PAID_KINDS
from choshu.levies.models import Account, Component, Installment, LedgerEntry
from choshu.levies.tax_items import tax_item_name
from choshu.rules.late_charge import compute_late_charge
from choshu.rules.parameters import RateNotKnownError


@dataclass(frozen=True)
class InstallmentBalance:
    installment_id: int
    tax_item: str
    tax_item_name: str
    levy_year: int
    notice_no: str
    installment_no: int
    due_date: date
    slip_no: str
    principal: int
    principal_paid: int
    principal_outstanding: int
    late_charge_accrued: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "tax_item": self.tax_item,
            "levy_year": self.levy_year,
            "notice_no": self.notice_no,
            "installment_no": self.installment_no,
            "due_date": self.due_date.isoformat(),
            "principal": self.principal,
            "principal_paid": self.principal_paid,
            "principal_outstanding": self.principal_outstanding,
            "late_charge_accrued": self.late_charge_accrued,
        }


def installment_balances(*, taxpayer_ids: list[int], as_of: date) -> list[InstallmentBalance]:
    """Each installment of these taxpayers with principal, paid and outstanding as of ``as_of``.

    Amounts come from the ledger entries, not from the cache. ``principal`` is the levied amount with
    every correction booked so far; ``principal_paid`` counts payments whose legal date (領収日) is on or
    before ``as_of``.
    """
    installments = list(
        Installment.objects.filter(taxpayer_id__in=taxpayer_ids)
        .select_related("levy")
        .order_by("levy__tax_item", "levy__levy_year", "levy__notice_no", "installment_no")
    )
    levied_sums: dict[int, int] = defaultdict(int)
    payments: dict[int, dict[date, int]] = defaultdict(lambda: defaultdict(int))
    rows = (
        LedgerEntry.objects.filter(
            installment__in=[i.pk for i in installments],
            account=Account.RECEIVABLE,
            component=Component.PRINCIPAL,
        )
        .filter(Q(txn__kind__in=LEVIED_KINDS) | Q(txn__kind__in=PAID_KINDS, txn__legal_date__lte=as_of))
        .values("installment_id", "txn__kind", "txn__legal_date")
        .annotate(total=Sum("amount"))
    )
    for row in rows:
        if row["txn__kind"] in LEVIED_KINDS:
            levied_sums[row["installment_id"]] += int(row["total"])
        else:
            payments[row["installment_id"]][row["txn__legal_date"]] -= int(row["total"])
    result = []
    for inst in installments:
        levied = levied_sums[inst.pk]
        paid_by_date = payments[inst.pk]
        paid = sum(paid_by_date.values())
        result.append(
            InstallmentBalance(
                installment_id=inst.pk,
                tax_item=inst.levy.tax_item,
                tax_item_name=tax_item_name(inst.municipality_id, inst.levy.tax_item),
                levy_year=inst.levy.levy_year,
                notice_no=inst.levy.notice_no,
                installment_no=inst.installment_no,
                due_date=inst.due_date,
                slip_no=inst.slip_no or "",
                principal=levied,
                principal_paid=paid,
                principal_outstanding=levied - paid,
                # from the day after the 納期限, or the 法定納期限 of a 申告納付 item (law.md §a7)
                late_charge_accrued=late_charge_as_of(
                    levied, inst.late_charge_base_date, as_of, paid_by_date
                ),
            )
        )
    return result


def late_charge_as_of(principal: int, due_date: date, as_of: date, paid: dict[date, int]) -> int | None:
    """延滞金 accrued on one installment up to ``as_of`` (or up to its final payment, if paid in full),
    from the day after ``due_date`` — the installment's ``late_charge_base_date``.

    Payments of principal reduce the base for the days after their legal date (rules.late_charge).
    ``None`` when the rate of a year in the period is not configured yet (rules/params).
    """
    if principal <= 0 or as_of <= due_date:
        return 0
    ordered = sorted((d, y) for d, y in paid.items() if y > 0)
    until = as_of
    if sum(y for _, y in ordered) >= principal and ordered:
        until = max(ordered[-1][0], due_date)
    try:
        return compute_late_charge(
            principal=principal, due_date=due_date, until=until, payments=ordered
        ).late_charge
    except RateNotKnownError:
        return None


def overpayment_balance(*, municipality: Municipality, taxpayer_ids: Sequence[int]) -> int:
    """過誤納金残高 in yen (positive): overpayments held for these 宛名 less what was refunded or used.

    An overpayment is a credit on the ``overpayment`` account, so the balance is minus the sum.
    """
    total = LedgerEntry.objects.filter(
        municipality=municipality, account=Account.OVERPAYMENT, taxpayer_id__in=list(taxpayer_ids)
    ).aggregate(total=Sum("amount"))["total"]
    return -int(total or 0)
