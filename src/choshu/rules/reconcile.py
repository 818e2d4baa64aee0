"""消込 — what one payment record does: the one decision every payment of every channel goes through.

The payment engine (``receipts.engine``) gathers each record's facts in set-based SQL — the slip and
the installments it pays (oldest first), what an earlier import already holds under the same
reference, whether the 確認番号 and 税目 match — and asks :func:`reconcile` what to do. The answer is
plain data; the engine writes it in sets. Bank OCR, conveni, eLTAX, counter receipts and (later) the
Zengin direct-debit result all pass through here: there is no second place where the law is applied.

The rules (interchange.md §3, docs/rules.md):
- 速報 (provisional) notes a payment that has not arrived; its 確報 posts it once; 速報取消 cancels it;
  a 速報取消 after the 確報 changes nothing but is reported (a business exception, not a file error);
- a 確報 is placed by the allocation order (``rules.allocation``: 滞納処分費 → 督促手数料 → 本税 → 延滞金,
  oldest installment first) on what is owed as of the payment date (``paid_on``, the 領収日): the
  延滞金 owed then (``rules.late_charge``) less what was already paid; what is left over is an
  overpayment (過誤納金) of the person;
- an unknown or invalid slip, a wrong 確認番号 or 税目 puts the whole amount in suspense (未消込);
- an eLTAX cancellation reverses the payment with the same transaction id;
- a record an earlier import already holds changes nothing (``ALREADY``).

Everything is ``int`` yen and ``date``; nothing here reads the clock or a database.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from functools import cache
from typing import NamedTuple

from choshu.rules.allocation import DEFAULT_ORDER, AllocationOrder, Component, OwedItem, allocate
from choshu.rules.late_charge import Exemption, default_late_charge_params, late_charge_as_of
from choshu.rules.parameters import RateNotKnownError

__all__ = [
    "Action",
    "Decision",
    "Kind",
    "Line",
    "Owed",
    "Prior",
    "Record",
    "Reason",
    "Status",
    "apply",
    "late_charge_owed",
    "reconcile",
    "suspense_reason",
]


class Kind(StrEnum):
    """What the record says (formats.payments.RecordKind has the same values)."""

    FINAL = "final"
    PROVISIONAL = "provisional"
    CANCEL_PROVISIONAL = "cancel_provisional"
    CANCEL = "cancel"


class Status(StrEnum):
    """A payment's state (receipts.models.PaymentStatus has the same values)."""

    PROVISIONAL = "provisional"
    POSTED = "posted"
    SUSPENSE = "suspense"
    CANCELLED = "cancelled"
    REVERSED = "reversed"


class Reason(StrEnum):
    """Why a payment went to suspense (receipts.models.SuspenseReason has the same values)."""

    UNKNOWN_SLIP = "unknown_slip"
    CANCELLED_SLIP = "cancelled_slip"
    CONFIRMATION_MISMATCH = "confirmation_mismatch"
    TAX_ITEM_MISMATCH = "tax_item_mismatch"


class Action(StrEnum):
    NEW_PROVISIONAL = "new_provisional"  # a payment row in state provisional, no ledger transaction
    POST = "post"  # a ledger transaction: cash in, placed on installments / overpayment
    SUSPEND = "suspend"  # a ledger transaction: cash in, all to suspense; a suspense item
    CANCEL_PROVISIONAL = "cancel_provisional"  # the provisional payment becomes cancelled
    REVERSE = "reverse"  # the earlier payment's transaction is negated
    ALREADY = "already"  # an earlier import holds it: nothing changes
    WARN = "warn"  # nothing changes, but the office must see it (summary, job, audit)
    ERROR = "error"  # the file is refused


class Prior(NamedTuple):
    """What is already recorded under the record's reference (an earlier import or earlier in the file).

    The values passed around per record are named tuples: built a million times per file, a frozen
    dataclass costs several times more."""

    status: Status
    amount: int


@dataclass(slots=True)
class Owed:
    """One installment as the decision sees it, oldest first on its slip. ``principal_payments``
    (earlier principal payments by 領収日) and ``late_charge_paid`` are needed only when a payment
    made after the 延滞金's base date is larger than what is owed before the 延滞金; ``None`` = not
    loaded.

    ``due_date`` (納期限) orders the installments (oldest first); the 延滞金 runs from the day after
    ``late_charge_base_date`` — the 納期限, or the 法定納期限 of a 申告納付 item (law.md
    §a7; the installment's ``late_charge_base_date``). Not given = the 納期限."""

    installment_id: int
    taxpayer_id: int
    due_date: date
    tax_item: str
    principal_levied: int
    principal_outstanding: int
    dunning_fee: int = 0
    enforcement_cost: int = 0
    principal_payments: list[tuple[date, int]] | None = None
    late_charge_paid: int = 0
    late_charge_base_date: date | None = None
    # 消滅日 (法18条 時効, 法15条の7): a payment dated on or after it owes nothing on the installment —
    # the tax cannot be collected even if offered (法18条2項; law.md §f): it is an overpayment.
    extinguished_on: date | None = None
    # 法15条の9: the 延滞金 is exempted or reduced for the periods of a 徴収猶予, 換価の猶予 or 執行停止
    # (non-overlapping: ``combine_exemptions``; empty for nearly every installment).
    late_charge_exemptions: tuple[Exemption, ...] = ()

    def extinguished_by(self, paid_on: date) -> bool:
        return self.extinguished_on is not None and self.extinguished_on <= paid_on

    @property
    def late_charge_from(self) -> date:
        """The day the 延滞金 runs from the day after."""
        return self.late_charge_base_date or self.due_date


class Record(NamedTuple):
    """One payment record with the facts gathered for it.

    ``slip_found``: the slip number names an installment or a combined slip; ``combined``: a
    combined slip (税目 is not checked against it); ``slip_cancelled``: the slip was invalidated;
    ``confirmation_ok``: no 確認番号 in the record, or the right one.
    """

    kind: Kind
    amount: int
    paid_on: date
    tax_item: str = ""
    slip_found: bool = False
    slip_cancelled: bool = False
    combined: bool = False
    confirmation_ok: bool = True
    taxpayer_id: int | None = None


class Line(NamedTuple):
    """A placed amount: on an installment's component (本税, 延滞金, fees)."""

    installment_id: int
    taxpayer_id: int
    component: Component
    amount: int


class Decision(NamedTuple):
    action: Action
    lines: tuple[Line, ...] = ()
    overpayment: int = 0
    suspended: int = 0
    reason: Reason | None = None
    message: str = ""
    field: str = ""
    taxpayer_id: int | None = None
    overpaid_installment_id: int | None = None
    status: Status | None = None  # the payment's state afterwards (None: unchanged)

    @property
    def allocated(self) -> int:
        return sum(line.amount for line in self.lines)


_ALREADY = Decision(Action.ALREADY)
NO_PROVISIONAL = "速報取消に対応する速報がありません（先に速報のファイルを取り込んでください）"
LATE_CANCEL = (
    "確報で計上済みの収納に対する速報取消です。収納は取り消していません（収納代行に確認してください）"
)
NOTHING_TO_CANCEL = "取消対象の取引がありません（取引IDを確認してください）"
CANCEL_AMOUNT = "取消の金額が元の取引と一致しません"


def reconcile(
    record: Record, owed: Sequence[Owed], prior: Prior | None, order: AllocationOrder = DEFAULT_ORDER
) -> Decision:
    """What ``record`` does, given the installments its slip pays (``owed``, oldest first) and what is
    already recorded under its reference (``prior``). Pure: ``owed`` is not changed (see :func:`apply`)."""
    if record.kind is Kind.PROVISIONAL:
        return _ALREADY if prior is not None else Decision(Action.NEW_PROVISIONAL, status=Status.PROVISIONAL)
    if record.kind is Kind.CANCEL_PROVISIONAL:
        return _cancel_provisional(prior)
    if record.kind is Kind.CANCEL:
        return _cancel(record, prior)
    if prior is not None and prior.status in (Status.POSTED, Status.SUSPENSE, Status.REVERSED):
        return _ALREADY
    return _final(record, owed, order)


def _cancel_provisional(prior: Prior | None) -> Decision:
    if prior is None:
        return Decision(Action.ERROR, message=NO_PROVISIONAL, field="種別")
    if prior.status is Status.PROVISIONAL:
        return Decision(Action.CANCEL_PROVISIONAL, status=Status.CANCELLED)
    if prior.status is Status.CANCELLED:
        return _ALREADY
    return Decision(Action.WARN, message=LATE_CANCEL)


def _cancel(record: Record, prior: Prior | None) -> Decision:
    if prior is None or prior.status in (Status.PROVISIONAL, Status.CANCELLED):
        return Decision(Action.ERROR, message=NOTHING_TO_CANCEL, field="cancelled")
    if prior.status is Status.REVERSED:
        return _ALREADY
    if prior.amount != record.amount:
        return Decision(Action.ERROR, message=CANCEL_AMOUNT, field="amount")
    return Decision(Action.REVERSE, status=Status.REVERSED)


def suspense_reason(record: Record, owed: Sequence[Owed]) -> Reason | None:
    """Why the record cannot be placed on its slip, if it cannot."""
    if not record.slip_found:
        return Reason.UNKNOWN_SLIP
    if record.slip_cancelled:
        return Reason.CANCELLED_SLIP
    if not owed:
        return Reason.UNKNOWN_SLIP
    if not record.confirmation_ok:
        return Reason.CONFIRMATION_MISMATCH
    if record.tax_item and not record.combined and all(o.tax_item != record.tax_item for o in owed):
        return Reason.TAX_ITEM_MISMATCH
    return None


def _final(record: Record, owed: Sequence[Owed], order: AllocationOrder) -> Decision:
    reason = suspense_reason(record, owed)
    if reason is not None:
        return Decision(
            Action.SUSPEND,
            suspended=record.amount,
            reason=reason,
            taxpayer_id=record.taxpayer_id,
            status=Status.SUSPENSE,
        )
    taxpayer_id = record.taxpayer_id if record.taxpayer_id is not None else owed[0].taxpayer_id
    if any(o.extinguished_by(record.paid_on) for o in owed):
        owed = [_nothing_owed(o) if o.extinguished_by(record.paid_on) else o for o in owed]
    first = owed[0]
    if (
        len(owed) == 1
        and 0 < record.amount <= first.principal_outstanding
        and not first.dunning_fee
        and not first.enforcement_cost
        and (_DEFAULT_PRINCIPAL_FIRST if order is DEFAULT_ORDER else _principal_before_late_charge(order))
    ):
        # What ``allocate`` gives here, without building its items (the common payment; the property
        # test ``test_the_single_installment_closed_form_is_what_allocate_gives`` proves them equal).
        line = Line(first.installment_id, first.taxpayer_id, _PRINCIPAL, record.amount)
        # action, lines, overpayment, suspended, reason, message, field, taxpayer, overpaid installment, status
        return Decision(_POST, (line,), 0, 0, None, "", "", taxpayer_id, None, _POSTED)
    return _allocated(record, owed, order, taxpayer_id)


_PRINCIPAL, _POST, _POSTED = Component.PRINCIPAL, Action.POST, Status.POSTED


def _nothing_owed(o: Owed) -> Owed:
    """An extinguished installment as a payment sees it: nothing is owed on it (no 本税, fee or 延滞金)."""
    return Owed(o.installment_id, o.taxpayer_id, o.due_date, o.tax_item, 0, 0, 0, 0, [], 0,
                o.late_charge_base_date, o.extinguished_on, o.late_charge_exemptions)  # fmt: skip


@cache
def _principal_before_late_charge(order: AllocationOrder) -> bool:
    """Whether, with no fees owed, a payment within the 本税 of one installment is all 本税 in ``order``."""
    comps = order.components
    if Component.PRINCIPAL not in comps:
        return False
    ahead = comps[: comps.index(Component.PRINCIPAL)]
    return Component.LATE_CHARGE not in ahead


def _allocated(record: Record, owed: Sequence[Owed], order: AllocationOrder, taxpayer_id: int) -> Decision:
    before_late = sum(o.enforcement_cost + o.dunning_fee + max(0, o.principal_outstanding) for o in owed)
    # The 延滞金 is computed only when the payment reaches it: the allocation places it after 本税.
    charges = (
        [late_charge_owed(o, record.paid_on) for o in owed]
        if record.amount > before_late
        else [0] * len(owed)
    )
    by_key = {str(o.installment_id): o for o in owed}
    alloc = allocate(
        record.amount,
        [
            OwedItem(
                key=str(o.installment_id),
                due_date=o.due_date,
                principal=max(0, o.principal_outstanding),
                late_charge=charge,
                dunning_fee=o.dunning_fee,
                enforcement_cost=o.enforcement_cost,
            )
            for o, charge in zip(owed, charges, strict=True)
        ],
        order,
    )
    lines = tuple(Line(int(a.key), by_key[a.key].taxpayer_id, a.component, a.amount) for a in alloc.lines)
    return Decision(
        Action.POST,
        lines=lines,
        overpayment=alloc.overpayment,
        taxpayer_id=taxpayer_id,
        overpaid_installment_id=owed[0].installment_id if alloc.overpayment else None,
        status=Status.POSTED,
    )


_DEFAULT_PRINCIPAL_FIRST = _principal_before_late_charge(DEFAULT_ORDER)


def late_charge_owed(owed: Owed, paid_on: date) -> int:
    """延滞金 due on the installment as of ``paid_on``, less what was already paid.

    ``rules.late_charge.late_charge_as_of`` on the installment's principal payment history: only the
    payments made by ``paid_on`` count, and the charge stops on the day they completed the 本税
    (法326条等 「納付の日まで」). An unknown rate counts as no 延滞金 (the payment is placed as if
    none were owed; the balances show the charge as unknown)."""
    base = owed.late_charge_from
    if paid_on <= base or owed.principal_levied < default_late_charge_params().min_principal:
        return 0  # nothing can accrue (法20条の4の2第2項): the history is not needed
    if owed.principal_payments is None:
        raise ValueError(
            f"installment {owed.installment_id}: earlier payments are needed and were not loaded"
        )
    try:
        accrued = late_charge_as_of(
            principal=owed.principal_levied,
            base_date=base,
            as_of=paid_on,
            payments=owed.principal_payments,
            exemptions=owed.late_charge_exemptions,
        ).late_charge
    except RateNotKnownError:
        return 0
    return max(0, accrued - owed.late_charge_paid)


def apply(decision: Decision, owed: Sequence[Owed], paid_on: date) -> None:
    """Bring ``owed`` up to date after ``decision`` (a later record of the same file sees it)."""
    if not decision.lines:
        return
    by_id = {o.installment_id: o for o in owed}
    for line in decision.lines:
        o = by_id[line.installment_id]
        if line.component is Component.PRINCIPAL:
            o.principal_outstanding -= line.amount
            if o.principal_payments is not None:
                o.principal_payments.append((paid_on, line.amount))
        elif line.component is Component.LATE_CHARGE:
            o.late_charge_paid += line.amount
        elif line.component is Component.DUNNING_FEE:
            o.dunning_fee -= line.amount
        else:
            o.enforcement_cost -= line.amount
