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

from choshu.core.bulk import add_to_columns, insert_rows, reserve_id_block
from choshu.core.models import Job, Municipality
from choshu.levies.models import Account, Component, Installment, LedgerEntry, LedgerTransaction, TxnKind

# Which transaction kinds count as "levied" and which as "paid" for an installment's principal.
LEVIED_KINDS = (TxnKind.LEVY, TxnKind.CORRECTION)
PAID_KINDS = (
    TxnKind.PAYMENT,
    TxnKind.PAYMENT_REVERSAL,
    TxnKind.SUSPENSE_ASSIGN,
    TxnKind.APPROPRIATION,
    TxnKind.OVERPAYMENT,
)


class UnbalancedTransaction(ValueError):
    pass


@dataclass(frozen=True)
class Leg:
    """One entry to post: account, signed yen, and the installment / taxpayer it belongs to.

    Batch paths pass ``installment_id`` (and ``taxpayer_id``) instead of model instances.
    """

    account: str
    amount: int
    component: str = Component.NONE
    installment: Installment | None = None
    taxpayer_id: int | None = None
    installment_id: int | None = None

    @property
    def inst_id(self) -> int | None:
        return self.installment.pk if self.installment is not None else self.installment_id

    @property
    def owner_id(self) -> int | None:
        if self.taxpayer_id is not None:
            return self.taxpayer_id
        return self.installment.taxpayer_id if self.installment is not None else None


@dataclass(frozen=True)
class Posting:
    kind: str
    legal_date: date
    booking_date: date
    legs: Sequence[Leg]
    memo: str = ""
    payment_id: int | None = None  # the payment every entry belongs to (LedgerEntry.payment)


def _check_balanced(legs: Sequence[Leg]) -> None:
    if not legs:
        raise UnbalancedTransaction("空の取引は記帳できません")
    if any(not isinstance(leg.amount, int) or isinstance(leg.amount, bool) for leg in legs):
        raise TypeError("金額は整数(円)でなければなりません")
    total = sum(leg.amount for leg in legs)
    if total != 0:
        raise UnbalancedTransaction(f"貸借が一致しません（差額 {total} 円）")


MEMO_MAX = 200  # LedgerTransaction.memo; a staff reason can be longer (it is kept whole in the audit log)
TXN_COLUMNS = ("id", "municipality_id", "kind", "legal_date", "booking_date", "recorded_at", "actor_id", "job_id",
               "reverses_id", "memo")  # fmt: skip
ENTRY_COLUMNS = (
    "id",
    "municipality_id",
    "txn_id",
    "account",
    "component",
    "installment_id",
    "taxpayer_id",
    "amount",
    "payment_id",
)
CACHE_COLUMNS = ("principal_levied", "principal_paid", "principal_outstanding")


def post_many(
    *, municipality: Municipality, postings: Sequence[Posting], actor: Any = None, job: Job | None = None
) -> list[int]:
    """Post many balanced transactions at once (batch imports) with set-based inserts.

    Ids come from the sequences (``reserve_id_block``), rows go in with COPY on PostgreSQL, and the
    installments' cached amounts are incremented in one statement. Returns the transaction ids.
    """
    for p in postings:
        _check_balanced(p.legs)
    if not postings:
        return []
    now = timezone.now()
    user_id = actor.pk if getattr(actor, "is_authenticated", False) else None
    job_id = job.pk if job is not None else None
    with transaction.atomic():
        txn_ids = reserve_id_block(LedgerTransaction, len(postings))
        entry_ids = iter(reserve_id_block(LedgerEntry, sum(len(p.legs) for p in postings)))
        insert_rows(
            LedgerTransaction,
            TXN_COLUMNS,
            [
                (
                    tid,
                    municipality.pk,
                    p.kind,
                    p.legal_date,
                    p.booking_date,
                    now,
                    user_id,
                    job_id,
                    None,
                    p.memo[:MEMO_MAX],
                )
                for tid, p in zip(txn_ids, postings, strict=True)
            ],
        )
        insert_rows(
            LedgerEntry,
            ENTRY_COLUMNS,
            [
                (
                    next(entry_ids),
                    municipality.pk,
                    tid,
                    leg.account,
                    leg.component,
                    leg.inst_id,
                    leg.owner_id,
                    leg.amount,
                    p.payment_id,
                )
                for tid, p in zip(txn_ids, postings, strict=True)
                for leg in p.legs
            ],
        )
        _update_cache([(p.kind, leg) for p in postings for leg in p.legs])
    return txn_ids


def _entry(municipality: Municipality, txn: LedgerTransaction, leg: Leg) -> LedgerEntry:
    return LedgerEntry(
        municipality=municipality,
        txn=txn,
        account=leg.account,
        component=leg.component,
        installment_id=leg.inst_id,
        taxpayer_id=leg.owner_id,
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
            memo=memo[:MEMO_MAX],
        )
        LedgerEntry.objects.bulk_create([_entry(municipality, txn, leg) for leg in legs])
        _update_cache([(kind, leg) for leg in legs])
    return txn


def cache_deltas(legs: Sequence[tuple[str, Leg]]) -> dict[int, list[int]]:
    """(levied, paid, outstanding) changes per installment implied by principal movements."""
    deltas: dict[int, list[int]] = {}
    for kind, leg in legs:
        inst_id = leg.inst_id
        if inst_id is None or leg.account != Account.RECEIVABLE or leg.component != Component.PRINCIPAL:
            continue
        d = deltas.setdefault(inst_id, [0, 0, 0])
        d[2] += leg.amount
        if kind in LEVIED_KINDS:
            d[0] += leg.amount
        elif kind in PAID_KINDS:
            d[1] -= leg.amount
    return deltas


def _update_cache(legs: Sequence[tuple[str, Leg]]) -> None:
    """Increment the installments' cached amounts in the database (and in any instances passed in)."""
    deltas = cache_deltas(legs)
    add_to_columns(Installment, CACHE_COLUMNS, deltas)
    seen: set[int] = set()
    for _, leg in legs:
        inst = leg.installment
        if inst is not None and inst.pk in deltas and id(inst) not in seen:
            seen.add(id(inst))
            dl, dp, do = deltas[inst.pk]
            inst.principal_levied += dl
            inst.principal_paid += dp
            inst.principal_outstanding += do
