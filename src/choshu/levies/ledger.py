"""The double-entry ledger: the only code that writes ``LedgerTransaction`` and ``LedgerEntry``.

Every posting sums to zero (checked here, before anything is written) and updates the installment's
cached amounts in the same database transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db import transaction
from django.utils import timezone

from choshu.core.models import Job, Municipality
from choshu.levies.models import Account, Component, Installment, LedgerEntry, LedgerTransaction, TxnKind

# Which transaction kinds count as "levied" and which as "paid" for an installment's principal.
LEVIED_KINDS = (TxnKind.LEVY, TxnKind.CORRECTION)
PAID_KINDS = (TxnKind.PAYMENT, TxnKind.PAYMENT_REVERSAL, TxnKind.APPROPRIATION, TxnKind.OVERPAYMENT)


class UnbalancedTransaction(ValueError):
    pass


@dataclass(frozen=True)
class Leg:
    """One entry to post: account, signed yen, and the installment / taxpayer it belongs to."""

    account: str
    amount: int
    component: str = Component.NONE
    installment: Installment | None = None
    taxpayer_id: int | None = None


@dataclass(frozen=True)
class Posting:
    kind: str
    legal_date: date
    booking_date: date
    legs: Sequence[Leg]
    memo: str = ""


def _check_balanced(legs: Sequence[Leg]) -> None:
    if not legs:
        raise UnbalancedTransaction("空の取引は記帳できません")
    if any(not isinstance(leg.amount, int) or isinstance(leg.amount, bool) for leg in legs):
        raise TypeError("金額は整数(円)でなければなりません")
    total = sum(leg.amount for leg in legs)
    if total != 0:
        raise UnbalancedTransaction(f"貸借が一致しません（差額 {total} 円）")


def post_many(
    *, municipality: Municipality, postings: Sequence[Posting], actor: Any = None, job: Job | None = None
) -> list[LedgerTransaction]:
    """Post many balanced transactions at once (batch imports): three bulk statements, not 3×N."""
    for p in postings:
        _check_balanced(p.legs)
    if not postings:
        return []
    now = timezone.now()
    user = actor if getattr(actor, "is_authenticated", False) else None
    with transaction.atomic():
        txns = LedgerTransaction.objects.bulk_create(
            [
                LedgerTransaction(
                    municipality=municipality,
                    kind=p.kind,
                    legal_date=p.legal_date,
                    booking_date=p.booking_date,
                    recorded_at=now,
                    actor=user,
                    job=job,
                    memo=p.memo,
                )
                for p in postings
            ],
            batch_size=1000,
        )
        LedgerEntry.objects.bulk_create(
            [_entry(municipality, txn, leg) for txn, p in zip(txns, postings, strict=True) for leg in p.legs],
            batch_size=1000,
        )
        _update_cache([(p.kind, leg) for p in postings for leg in p.legs])
    return txns


def _entry(municipality: Municipality, txn: LedgerTransaction, leg: Leg) -> LedgerEntry:
    return LedgerEntry(
        municipality=municipality,
        txn=txn,
        account=leg.account,
        component=leg.component,
        installment=leg.installment,
        taxpayer_id=leg.taxpayer_id or (leg.installment.taxpayer_id if leg.installment else None),
        amount=leg.amount,
    )


def post(
    *,
    municipality: Municipality,
    kind: str,
    legal_date: date,
    booking_date: date,
    legs: Sequence[Leg],
    actor: Any = None,
    job: Job | None = None,
    reverses: LedgerTransaction | None = None,
    memo: str = "",
) -> LedgerTransaction:
    """Post one balanced transaction and update the cached amounts of the installments it touches."""
    _check_balanced(legs)
    with transaction.atomic():
        txn = LedgerTransaction.objects.create(
            municipality=municipality,
            kind=kind,
            legal_date=legal_date,
            booking_date=booking_date,
            recorded_at=timezone.now(),
            actor=actor if getattr(actor, "is_authenticated", False) else None,
            job=job,
            reverses=reverses,
            memo=memo,
        )
        LedgerEntry.objects.bulk_create([_entry(municipality, txn, leg) for leg in legs])
        _update_cache([(kind, leg) for leg in legs])
    return txn


def _update_cache(legs: Sequence[tuple[str, Leg]]) -> None:
    """Apply principal movements to the installments' cached amounts (the objects passed in are updated)."""
    objects: dict[int, Installment] = {}
    for kind, leg in legs:
        inst = leg.installment
        if inst is None or leg.account != Account.RECEIVABLE or leg.component != Component.PRINCIPAL:
            continue
        objects[inst.pk] = inst
        inst.principal_outstanding += leg.amount
        if kind in LEVIED_KINDS:
            inst.principal_levied += leg.amount
        elif kind in PAID_KINDS:
            inst.principal_paid -= leg.amount
    if objects:
        Installment.objects.bulk_update(
            list(objects.values()),
            ["principal_levied", "principal_paid", "principal_outstanding"],
            batch_size=1000,
        )
