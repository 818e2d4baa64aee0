"""取立・換価代金 booked as payments through the one payment engine (``receipts.engine``), channel
``enforcement`` (滞納処分).

The proceeds are placed over the seizure's installments by ``rules.allocation.allocate`` with
``DEFAULT_ORDER`` — 滞納処分費 → 督促手数料 → 本税 → 延滞金, each component over the installments oldest
first (法14条の3, 14条の5; law.md §d) — which gives each installment its share; each share is then one
payment record on the installment's own slip, decided by ``rules.reconcile`` like every payment (it
places fee → 本税 → 延滞金 within the installment, the same order, so the engine's split equals the
allocation's). What exceeds everything owed is 過誤納金 on the last slip (残余金: the refunds queue,
国税徴収法129条3項). The ledger stays the only writer (``levies.ledger.post_selected``).

滞納処分費 (``costs.py``) is a receivable of its own on an installment of the disposition; the engine's
facts read it beside the 督促手数料, so the proceeds pay it first.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError

from choshu.enforcement.models import CollectionStatus
from choshu.formats.payments import PaymentRecord, RecordKind
from choshu.receipts.models import Channel
from choshu.receipts.services import owed_amounts, post_records
from choshu.receipts.slips import slip_targets
from choshu.rules.allocation import DEFAULT_ORDER, OwedItem, allocate

if TYPE_CHECKING:
    from datetime import date

    from choshu.enforcement.models import Collection


def plan_collection(collection: Collection) -> list[tuple[str, int]]:
    """(slip_no, share) per installment of the seizure, in due-date order; the last takes any rest."""
    s = collection.source
    insts = list(s.installments.order_by("due_date", "pk"))
    missing = [i for i in insts if not i.slip_no]
    if missing:
        raise ValidationError("納付番号のない期別があるため収納できません（調定の取込で番号が付きます）")
    targets = slip_targets(s.case.municipality, [i.slip_no for i in insts if i.slip_no])
    items: list[OwedItem] = []
    for i in insts:
        target = targets.get(i.slip_no or "")
        if target is None or target.cancelled:
            raise ValidationError(f"納付番号 {i.slip_no} の納付書が見つかりません")
        owed = owed_amounts(target, paid_on=collection.received_on)
        items.append(
            OwedItem(
                key=str(i.slip_no),
                due_date=i.due_date,
                principal=sum(o.principal for o in owed),
                late_charge=sum(max(0, o.late_charge) for o in owed),
                dunning_fee=sum(o.owed.dunning_fee for o in owed),
                enforcement_cost=sum(o.owed.enforcement_cost for o in owed),
            )
        )
    result = allocate(collection.amount, items, DEFAULT_ORDER)
    share: dict[str, int] = {it.key: 0 for it in items}
    for line in result.lines:
        share[line.key] += line.amount
    share[items[-1].key] += result.overpayment
    return [(it.key, share[it.key]) for it in items if share[it.key] > 0]


def book_collection(*, collection: Collection, approver: Any, booked_on: date) -> list[int]:
    """Post the proceeds (in the approval's transaction) and mark the collection 収納済 with its payments;
    the payments' ids."""
    plan = plan_collection(collection)
    records = [
        PaymentRecord(
            line=k + 1,
            channel=Channel.ENFORCEMENT,
            kind=RecordKind.FINAL,
            reference=f"enforcement:{collection.pk}:{k + 1}",
            slip_no=slip_no,
            confirmation_no="",
            tax_item="",
            amount=amount,
            paid_on=collection.received_on,
            booked_on=booked_on,
            detail={
                "seizure": str(collection.seizure_id or ""),
                "claim": str(collection.claim_id or ""),
                "collection": str(collection.pk),
                "approver": approver.username,
                "overpayment_confirmed": "1",
            },
        )
        for k, (slip_no, amount) in enumerate(plan)
    ]
    collection.payments = post_records(
        municipality=collection.source.case.municipality, channel=Channel.ENFORCEMENT, actor=approver,
        records=records,
    )  # fmt: skip
    collection.status = CollectionStatus.BOOKED
    collection.save(update_fields=["payments", "status"])
    return list(collection.payments)
