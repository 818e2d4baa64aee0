"""過誤納金 → 充当 → 還付 (地方税法17条, 17条の2, 17条の4; law.md §e; docs/refunds.md).

* ``overpayments_collect``: every credit to a person's overpayment account not yet on the list (the
  payment engine's double and excess payments, the levy import's 減額更正 below what was paid) becomes
  an ``Overpayment`` with its cause, one ``INSERT … SELECT``; a reversed payment takes its overpayment
  back (``reversed``).
* ``refunds_run``: appropriates every open overpayment to the same person's due arrears (oldest first,
  the rules package's ``APPROPRIATION_ORDER``: fees, 本税, then 延滞金), each appropriation one ledger
  transaction whose 法定日 is the 充当適状日 (so the 延滞金 on the appropriated 本税 stops there),
  queues the 充当通知書 and, for the rest, a 過誤納還付通知書 when the person has no refund account.
  One database transaction; a second run finds nothing to do.
* ``refund_decide`` / ``refund_account_request``: a 還付決議 with its 還付加算金, and a refund account,
  each a 決裁 (kind 還付) that takes effect when a second person approves (``apply_request``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from choshu.accounts.models import User
from choshu.accounts.permissions import Right, has_right
from choshu.approvals.models import ApprovalStatus, ChangeRequest, RequestKind
from choshu.approvals.services import request_create
from choshu.audit.models import AuditKind, AuditSubjectType
from choshu.audit.services import audit_record
from choshu.core.models import Job, Municipality
from choshu.core.services import job_finish, job_start
from choshu.levies.ledger import Leg, Posting, post_many
from choshu.levies.models import Account, Component, TxnKind
from choshu.levies.selectors import AmountDue, amounts_due
from choshu.refunds.models import (
    AccountSource,
    AccountStatus,
    Appropriation,
    Cause,
    NoticeKind,
    Origin,
    Overpayment,
    OverpaymentStatus,
    Refund,
    RefundAccount,
    RefundNotice,
    RefundStatus,
)
from choshu.rules.allocation import APPROPRIATION_ORDER, OwedItem, allocate
from choshu.rules.allocation import Component as AllocComponent
from choshu.rules.refund_interest import (
    RefundInterestResult,
    claim_exclusion,
    compute_refund_interest,
    compute_refund_interest_parts,
)
from choshu.taxpayers.models import IdentityLink, Taxpayer

SLICE = 500  # taxpayers per slice of the run: memory follows the slice, not the city
FUNCTION = "過誤納金の充当"
PRESCRIPTION_YEARS = 5  # 地方税法18条の3: 還付金に係る請求権は5年で時効消滅

LABELS = {
    "step": "手続",
    "overpayment": "過誤納金（内部番号）",
    "refund": "還付決議（内部番号）",
    "refund_interest": "還付加算金",
    "interest_start": "加算金の起算日",
    "decided_on": "支出決定日",
    "bank_code": "金融機関コード",
    "branch_code": "支店コード",
    "deposit_type": "預金種目",
    "account_no": "口座番号",
    "holder_kana": "口座名義（カナ）",
    "source": "口座の種類",
    "received_on": "受付日",
    "overpayments": "過誤納金（未処理）",
    "collected": "新たに登録した過誤納金",
    "appropriated_count": "充当件数",
    "appropriated_amount": "充当額",
    "late_charge_appropriated": "延滞金への充当額",
    "appropriation_interest": "充当に係る還付加算金",
    "refundable_count": "還付対象の件数",
    "refundable_amount": "還付対象の金額",
    "prescribed": "時効となった過誤納金",
    "notices": "作成した通知",
    "cancelled": "収納取消で消えた過誤納金",
    "dry_run": "試行",
    "as_of": "基準日",
    "job_id": "処理番号",
}

STEP_REFUND = "refund"
STEP_ACCOUNT = "account"


def _refused(message: str) -> ValidationError:
    return ValidationError(message)


# --- the list: collecting overpayments from the ledger -------------------------------------------------


def _d(value: date) -> Any:
    return value if connection.vendor == "postgresql" else value.isoformat()


def overpayments_collect(*, municipality: Municipality) -> tuple[int, int]:
    """Add every overpayment-account credit of ``municipality`` not yet listed, and take back the
    overpayment of a payment reversed since. Set-based (two statements). Returns (added, cancelled)."""
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    paid_kinds = "'payment', 'suspense_assign', 'appropriation'"
    with connection.cursor() as cur:
        cur.execute(
            f"""INSERT INTO refunds_overpayment (municipality_id, taxpayer_id, installment_id, payment_id,
                    source_txn_id, source_entry_id, origin, cause, arose_on, paid_on, event_on, amount,
                    appropriated, refunded, reversed, appropriation_interest, status, created_at)
                SELECT e.municipality_id, e.taxpayer_id, e.installment_id, e.payment_id, t.id, e.id,
                       CASE WHEN t.kind = '{TxnKind.OVERPAYMENT.value}' THEN '{Origin.LEVY_REDUCTION.value}'
                            WHEN p.id IS NULL THEN '{Origin.OTHER.value}'
                            WHEN -e.amount >= p.amount THEN '{Origin.DOUBLE_PAYMENT.value}'
                            ELSE '{Origin.EXCESS_PAYMENT.value}' END,
                       CASE WHEN t.kind = '{TxnKind.OVERPAYMENT.value}' THEN {Cause.REDUCTION.value}
                            ELSE {Cause.OTHER.value} END,
                       t.legal_date,
                       COALESCE(p.paid_on,
                                CASE WHEN t.kind = '{TxnKind.OVERPAYMENT.value}' THEN (
                                    SELECT MAX(t2.legal_date) FROM levies_ledgerentry e2
                                    JOIN levies_ledgertransaction t2 ON t2.id = e2.txn_id
                                    WHERE e2.installment_id = e.installment_id AND e2.account = 'receivable'
                                      AND e2.component = 'principal' AND e2.amount < 0
                                      AND t2.kind IN ({paid_kinds}) AND t2.id < t.id) END,
                                t.legal_date),
                       CASE WHEN t.kind = '{TxnKind.OVERPAYMENT.value}' THEN t.legal_date END,
                       -e.amount, 0, 0, 0, 0, '{OverpaymentStatus.OPEN.value}', %s
                FROM (SELECT e.id, e.municipality_id, e.taxpayer_id, e.payment_id, e.amount, e.txn_id,
                             COALESCE(e.installment_id, (
                                 SELECT MIN(e3.installment_id) FROM levies_ledgerentry e3
                                 WHERE e3.txn_id = e.txn_id AND e3.account = 'receivable')) AS installment_id
                      FROM levies_ledgerentry e
                      WHERE e.municipality_id = %s AND e.account = '{Account.OVERPAYMENT.value}' AND e.amount < 0
                        AND e.taxpayer_id IS NOT NULL
                        AND NOT EXISTS (SELECT 1 FROM refunds_overpayment o WHERE o.source_entry_id = e.id)) e
                JOIN levies_ledgertransaction t ON t.id = e.txn_id
                LEFT JOIN receipts_payment p ON p.id = e.payment_id
                WHERE t.kind NOT IN ('{TxnKind.REFUND.value}', '{TxnKind.APPROPRIATION.value}')
                ORDER BY e.id""",  # noqa: S608 - constants only
            [now, municipality.pk],
        )
        added = max(cur.rowcount, 0)
        # A reversed payment (収納取消) debits the overpayment it had made: it is taken back.
        cur.execute(
            f"""UPDATE refunds_overpayment SET reversed = x.amount, reversal_entry_id = x.entry_id,
                    status = CASE WHEN refunds_overpayment.status = '{OverpaymentStatus.OPEN.value}'
                                   AND refunds_overpayment.amount - refunds_overpayment.appropriated
                                       - refunds_overpayment.refunded - x.amount <= 0
                                  THEN '{OverpaymentStatus.CANCELLED.value}' ELSE refunds_overpayment.status END
                FROM (SELECT e.id AS entry_id, e.payment_id, e.amount FROM levies_ledgerentry e
                      JOIN levies_ledgertransaction t ON t.id = e.txn_id
                      WHERE e.municipality_id = %s AND e.account = '{Account.OVERPAYMENT.value}'
                        AND e.amount > 0 AND t.kind = '{TxnKind.PAYMENT_REVERSAL.value}'
                        AND e.payment_id IS NOT NULL) x
                WHERE refunds_overpayment.payment_id = x.payment_id
                  AND refunds_overpayment.reversal_entry_id IS NULL
                  AND refunds_overpayment.municipality_id = %s""",  # noqa: S608 - constants only
            [municipality.pk, municipality.pk],
        )
        cancelled = max(cur.rowcount, 0)
    return added, cancelled


def sync_decisions(*, municipality: Municipality) -> None:
    """A 還付決議 or a refund account whose 決裁 was rejected or withdrawn is void: the overpayment
    returns to the list (未処理)."""
    void = ChangeRequest.objects.filter(
        municipality=municipality,
        kind=RequestKind.REFUND,
        status__in=[ApprovalStatus.REJECTED, ApprovalStatus.WITHDRAWN],
    )
    refunds = Refund.objects.filter(municipality=municipality, status=RefundStatus.PENDING, request__in=void)
    op_ids = list(refunds.values_list("overpayment_id", flat=True))
    if op_ids:
        refunds.update(status=RefundStatus.REJECTED)
        back = list(Overpayment.objects.filter(pk__in=op_ids, status=OverpaymentStatus.DECIDING))
        for op in back:
            op.status = back_status(op)
        Overpayment.objects.bulk_update(back, ["status"])
    RefundAccount.objects.filter(
        municipality=municipality, status=AccountStatus.PENDING, request__in=void
    ).update(status=AccountStatus.REJECTED)


# --- the run: appropriation ----------------------------------------------------------------------------


@dataclass
class RunSummary:
    as_of: date
    dry_run: bool
    collected: int = 0
    cancelled: int = 0
    overpayments: int = 0
    appropriated_count: int = 0
    appropriated_amount: int = 0
    late_charge_appropriated: int = 0
    appropriation_interest: int = 0
    refundable_count: int = 0
    refundable_amount: int = 0
    prescribed: int = 0
    notices: dict[str, int] = field(default_factory=dict)
    job_id: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat(),
            "dry_run": self.dry_run,
            "collected": self.collected,
            "cancelled": self.cancelled,
            "overpayments": self.overpayments,
            "appropriated_count": self.appropriated_count,
            "appropriated_amount": self.appropriated_amount,
            "late_charge_appropriated": self.late_charge_appropriated,
            "appropriation_interest": self.appropriation_interest,
            "refundable_count": self.refundable_count,
            "refundable_amount": self.refundable_amount,
            "prescribed": self.prescribed,
            "notices": self.notices,
            "job_id": self.job_id,
        }


def appropriable_on(due_date: date, arose_on: date) -> date:
    """充当適状日 (地方税法施行令6条の14): the later of the debt's 納期限 and the day the overpayment arose."""
    return max(due_date, arose_on)


def back_status(op: Overpayment) -> str:
    """The status of an overpayment whose refund was voided or failed: 未処理 while money remains,
    充当済 when it all went to arrears (its 還付加算金 may still be paid), 取消 when nothing is left."""
    if op.remaining > 0:
        return OverpaymentStatus.OPEN
    return OverpaymentStatus.APPROPRIATED if op.appropriated > 0 else OverpaymentStatus.CANCELLED


def exclusions_of(ops: Sequence[Overpayment], until: date) -> dict[int, list[tuple[date, date]]]:
    """除算期間 (法17条の4第2項第1号) of each overpayment, two queries: a 過誤納還付通知書 asking for an
    account, counted from the day it was printed (sent), and the first refund account entered on or after
    that day (its 受付日 = the day the claim arrived; none yet: excluded to ``until``)."""
    if not ops:
        return {}
    sent: dict[int, date] = {}
    for op_id, printed_at in (
        RefundNotice.objects.filter(
            overpayment_id__in=[op.pk for op in ops], kind=NoticeKind.CLAIM, printed_at__isnull=False
        )
        .order_by("printed_at")
        .values_list("overpayment_id", "printed_at")
    ):
        sent.setdefault(op_id, timezone.localdate(printed_at))
    if not sent:
        return {}
    received: dict[int, list[date]] = defaultdict(list)
    for tp_id, on in (
        RefundAccount.objects.filter(
            taxpayer_id__in={op.taxpayer_id for op in ops if op.pk in sent}, received_on__isnull=False
        )
        .exclude(status=AccountStatus.REJECTED)
        .values_list("taxpayer_id", "received_on")
    ):
        if on is not None:
            received[tp_id].append(on)
    found: dict[int, list[tuple[date, date]]] = {}
    for op in ops:
        notice_on = sent.get(op.pk)
        if notice_on is None:
            continue
        claims = [d for d in received[op.taxpayer_id] if d >= notice_on]
        excl = claim_exclusion(notice_on=notice_on, claimed_on=min(claims) if claims else None, until=until)
        if excl is not None:
            found[op.pk] = [excl]
    return found


def interest_of(
    op: Overpayment, amount: int, until: date, exclusions: Sequence[tuple[date, date]] = ()
) -> RefundInterestResult | None:
    """還付加算金 on ``amount`` of ``op`` counted to ``until`` (rules.refund_interest; None when the
    cause's dates are incomplete — a 第2号 overpayment without the date of the 更正の請求)."""
    try:
        return compute_refund_interest(
            amount=amount,
            kind=op.cause,
            paid_on=op.paid_on,
            event_on=op.event_on,
            claimed_on=op.claimed_on,
            decided_on=until,
            exclusions=exclusions,
        )
    except ValueError:
        return None


def interest_of_parts(
    op: Overpayment, parts: Sequence[tuple[date, int]], exclusions: Sequence[tuple[date, date]] = ()
) -> RefundInterestResult | None:
    """還付加算金 of the whole overpayment paid out in ``parts`` (its appropriations, each to its
    充当適状日, and a refund to its 支出決定日), rounded once (法17条の4, 20条の4の2)."""
    if not parts:
        return RefundInterestResult(refund_interest=0, base=0, start=None, segments=())
    try:
        return compute_refund_interest_parts(
            parts=parts, kind=op.cause, paid_on=op.paid_on, event_on=op.event_on, claimed_on=op.claimed_on,
            exclusions=exclusions,
        )  # fmt: skip
    except ValueError:
        return None


def appropriation_parts(op_ids: Sequence[int]) -> dict[int, list[tuple[date, int]]]:
    """The appropriations in force (not 取消) of these overpayments, as ``(充当適状日, yen)``."""
    parts: dict[int, list[tuple[date, int]]] = defaultdict(list)
    for op_id, on, amount in Appropriation.objects.filter(
        overpayment_id__in=list(op_ids), cancelled_on__isnull=True
    ).values_list("overpayment_id", "appropriable_on", "amount"):
        parts[op_id].append((on, amount))
    return parts


LIVE_REFUNDS = (RefundStatus.PENDING, RefundStatus.APPROVED, RefundStatus.SENT, RefundStatus.PAID)


def interest_unpaid(op: Overpayment) -> int:
    """The 還付加算金 of the overpayment's appropriations not yet in a refund decision (pending,
    approved, sent or paid)."""
    paid = sum(
        Refund.objects.filter(overpayment_id=op.pk, status__in=LIVE_REFUNDS).values_list(
            "appropriation_interest", flat=True
        )
    )
    return max(0, op.appropriation_interest - paid)


def _refresh_appropriation_interest(ops: Sequence[Overpayment], until: date) -> int:
    """Recompute each overpayment's 還付加算金 on its appropriations (rounded per overpayment), save it,
    and return the increase."""
    if not ops:
        return 0
    parts = appropriation_parts([op.pk for op in ops])
    excl = exclusions_of(ops, until)
    added = 0
    for op in ops:
        result = interest_of_parts(op, parts.get(op.pk, []), excl.get(op.pk, []))
        yen = result.refund_interest if result is not None else 0
        added += yen - op.appropriation_interest
        op.appropriation_interest = yen
    Overpayment.objects.bulk_update(list(ops), ["appropriation_interest"])
    return added


@dataclass
class _Planned:
    op: Overpayment
    due: AmountDue
    component: AllocComponent
    amount: int

    @property
    def on(self) -> date:
        return appropriable_on(self.due.due_date, self.op.arose_on)


_LEGS = {
    AllocComponent.PRINCIPAL: (Account.RECEIVABLE, Component.PRINCIPAL),
    AllocComponent.DUNNING_FEE: (Account.RECEIVABLE, Component.DUNNING_FEE),
    AllocComponent.ENFORCEMENT_COST: (Account.RECEIVABLE, Component.ENFORCEMENT_COST),
    AllocComponent.LATE_CHARGE: (Account.LATE_CHARGE_INCOME, Component.LATE_CHARGE),
}


def _plan(
    ops: Sequence[Overpayment], dues: Sequence[AmountDue], as_of: date, *, late_charge: bool
) -> list[_Planned]:
    """Each open overpayment of one person (oldest first) over the person's due arrears, in the
    rules package's appropriation order: fees and 本税 (``late_charge`` False) or the 延滞金 of the
    installments whose 本税 is settled (True)."""
    left: dict[int, dict[AllocComponent, int]] = {}
    by_id = {}
    for a in dues:
        if a.due_date > as_of:
            continue  # not yet due: not 充当適状
        if late_charge:
            if a.principal_due == 0 and (a.late_charge or 0) > 0:
                left[a.installment_id] = {AllocComponent.LATE_CHARGE: a.late_charge or 0}
        elif a.principal_due > 0 or a.dunning_fee > 0:
            left[a.installment_id] = {
                AllocComponent.PRINCIPAL: a.principal_due,
                AllocComponent.DUNNING_FEE: a.dunning_fee,
            }
        by_id[a.installment_id] = a
    planned: list[_Planned] = []
    for op in ops:
        rem = op.remaining - sum(p.amount for p in planned if p.op is op)
        if rem <= 0 or op.arose_on > as_of:
            continue
        items = [
            OwedItem(key=str(i), due_date=by_id[i].due_date, **{c.value: v for c, v in parts.items()})
            for i, parts in left.items()
            if any(parts.values())
        ]
        if not items:
            break
        for line in allocate(rem, items, APPROPRIATION_ORDER).lines:
            inst_id = int(line.key)
            left[inst_id][line.component] -= line.amount
            planned.append(_Planned(op, by_id[inst_id], line.component, line.amount))
    return planned


def _post(
    municipality: Municipality, planned: Sequence[_Planned], as_of: date, actor: Any, job: Job | None,
    summary: RunSummary, notices: dict[int, RefundNotice],
) -> None:  # fmt: skip
    """One ledger transaction per appropriation (both sides: the overpayment account debited, the
    receivable or the 延滞金 credited; 法定日 = 充当適状日, 計上日 = the run's date), its row, the
    overpayment's amounts and one 充当通知書 per overpayment."""
    if not planned:
        return
    postings = []
    for p in planned:
        account, component = _LEGS[p.component]
        postings.append(
            Posting(
                kind=TxnKind.APPROPRIATION,
                legal_date=p.on,
                booking_date=as_of,
                memo=f"過誤納金#{p.op.pk}の充当",
                legs=[
                    Leg(
                        Account.OVERPAYMENT,
                        p.amount,
                        installment_id=p.op.installment_id,
                        taxpayer_id=p.op.taxpayer_id,
                    ),
                    Leg(
                        account,
                        -p.amount,
                        component,
                        installment_id=p.due.installment_id,
                        taxpayer_id=p.due.taxpayer_id,  # 名寄せ: the debt may be on a linked 宛名
                    ),
                ],
            )
        )
    txn_ids = post_many(municipality=municipality, postings=postings, actor=actor, job=job)
    now = timezone.now()
    rows = []
    for p, txn_id in zip(planned, txn_ids, strict=True):
        notice = notices.get(p.op.pk)
        if notice is None:
            notice = notices[p.op.pk] = RefundNotice.objects.create(
                municipality=municipality, taxpayer_id=p.op.taxpayer_id, kind=NoticeKind.APPROPRIATION,
                overpayment=p.op, issued_on=as_of, amount=0, job=job, created_at=now,
            )  # fmt: skip
        notice.amount += p.amount
        rows.append(
            Appropriation(
                municipality=municipality,
                overpayment=p.op,
                taxpayer_id=p.op.taxpayer_id,
                installment_id=p.due.installment_id,
                component=p.component.value,
                amount=p.amount,
                appropriable_on=p.on,
                appropriated_on=as_of,
                txn_id=txn_id,
                job=job,
                notice=notice,
            )  # fmt: skip
        )
        p.op.appropriated += p.amount
        summary.appropriated_count += 1
        summary.appropriated_amount += p.amount
        if p.component == AllocComponent.LATE_CHARGE:
            summary.late_charge_appropriated += p.amount
    Appropriation.objects.bulk_create(rows)
    for n in {id(n): n for n in notices.values()}.values():
        n.save(update_fields=["amount"])
    ops = list({p.op.pk: p.op for p in planned}.values())
    for op in ops:
        if op.remaining <= 0:
            op.status = OverpaymentStatus.APPROPRIATED
    Overpayment.objects.bulk_update(ops, ["appropriated", "status"])
    # 法17条の4第1項: the appropriated amounts earn 還付加算金 to their 充当適状日, one figure per
    # overpayment (all its appropriations, rounded once); it is paid with a refund decision.
    summary.appropriation_interest += _refresh_appropriation_interest(ops, as_of)


def _slices(municipality: Municipality, as_of: date) -> Iterator[list[int]]:
    """The taxpayers with an open overpayment, ``SLICE`` at a time (keyset on the taxpayer id)."""
    last = 0
    base = Overpayment.objects.filter(
        municipality=municipality, status=OverpaymentStatus.OPEN, arose_on__lte=as_of
    )
    while True:
        ids = list(
            base.filter(taxpayer_id__gt=last)
            .order_by("taxpayer_id")
            .values_list("taxpayer_id", flat=True)
            .distinct()[:SLICE]
        )
        if not ids:
            return
        last = ids[-1]
        yield ids


def _prescribe(municipality: Municipality, as_of: date) -> int:
    """法18条の3: an open overpayment that arose more than 5 years ago can no longer be claimed."""
    try:
        cutoff = as_of.replace(year=as_of.year - PRESCRIPTION_YEARS)
    except ValueError:  # 29 February
        cutoff = as_of.replace(year=as_of.year - PRESCRIPTION_YEARS, day=28)
    return Overpayment.objects.filter(
        municipality=municipality, status=OverpaymentStatus.OPEN, arose_on__lt=cutoff
    ).update(status=OverpaymentStatus.PRESCRIBED)


def _check_rates(dues: Sequence[AmountDue]) -> None:
    for a in dues:
        if a.late_charge is None and a.principal > 0:
            raise _refused(
                f"延滞金の割合が設定されていない年があります（期別 {a.installment_id}、納期限 {a.due_date}）。"
                "rules/params の延滞金の割合を追加してから実行してください（何も充当していません）"
            )


def identity_groups(municipality_id: int, taxpayer_ids: Sequence[int]) -> dict[int, list[int]]:
    """名寄せ (``taxpayers.IdentityLink``, both directions): each of ``taxpayer_ids`` → every 宛名 known
    to be the same person (itself included), one query. Links are followed transitively among the
    identities found."""
    parent: dict[int, int] = {t: t for t in taxpayer_ids}

    def root(t: int) -> int:
        while parent.setdefault(t, t) != t:
            parent[t] = parent[parent[t]]
            t = parent[t]
        return t

    for a, b in (
        IdentityLink.objects.filter(municipality_id=municipality_id)
        .filter(Q(taxpayer_id__in=list(taxpayer_ids)) | Q(linked_id__in=list(taxpayer_ids)))
        .values_list("taxpayer_id", "linked_id")
    ):
        ra, rb = root(a), root(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    members: dict[int, list[int]] = defaultdict(list)
    for t in list(parent):
        members[root(t)].append(t)
    return {t: sorted(members[root(t)]) for t in taxpayer_ids}


def _one_slice(
    municipality: Municipality, ids: list[int], as_of: date, actor: Any, job: Job | None, summary: RunSummary
) -> None:
    ops_by_tp: dict[int, list[Overpayment]] = defaultdict(list)
    for op in (
        Overpayment.objects.select_for_update()
        .filter(
            municipality=municipality, taxpayer_id__in=ids, status=OverpaymentStatus.OPEN, arose_on__lte=as_of
        )
        .order_by("arose_on", "pk")
    ):
        ops_by_tp[op.taxpayer_id].append(op)
    summary.overpayments += sum(len(v) for v in ops_by_tp.values())
    # 名寄せ: one person's overpayments (of any of their 宛名) go to that person's arrears (of any of
    # their 宛名), oldest 納期限 first across them.
    groups = identity_groups(municipality.pk, ids)
    by_group: dict[int, list[Overpayment]] = defaultdict(list)
    for t in ids:
        by_group[groups[t][0]].extend(ops_by_tp[t])
    for key in by_group:
        by_group[key].sort(key=lambda op: (op.arose_on, op.pk))
    notices: dict[int, RefundNotice] = {}
    for late_charge in (False, True):
        wanted = [g for g, ops in by_group.items() if any(op.remaining > 0 for op in ops)]
        if not wanted:
            break
        by_root = {m[0]: m for m in groups.values()}
        members = {g: by_root[g] for g in wanted}
        dues = amounts_due(
            taxpayer_ids=sorted({t for m in members.values() for t in m}), as_of=as_of, with_components=False
        )
        _check_rates(dues)
        dues_by_tp: dict[int, list[AmountDue]] = defaultdict(list)
        for a in dues:
            dues_by_tp[a.taxpayer_id].append(a)
        planned = [
            p
            for g in wanted
            for p in _plan(
                by_group[g], [a for t in members[g] for a in dues_by_tp[t]], as_of, late_charge=late_charge
            )
        ]
        _post(municipality, planned, as_of, actor, job, summary, notices)
    _refundable(municipality, [op for t in ids for op in ops_by_tp[t]], as_of, job, summary)
    if notices:
        kind = NoticeKind.APPROPRIATION.value
        summary.notices[kind] = summary.notices.get(kind, 0) + len({id(n) for n in notices.values()})


def _refundable(
    municipality: Municipality, ops: Sequence[Overpayment], as_of: date, job: Job | None, summary: RunSummary
) -> None:
    """What is left is refunded (法17条): counted, and a 過誤納還付通知書 asking for an account is queued
    (once per overpayment) for a person without an active refund account."""
    owed = [op for op in ops if op.remaining > 0]
    summary.refundable_count += len(owed)
    summary.refundable_amount += sum(op.remaining for op in owed)
    left = [op for op in ops if op.remaining > 0 or op.appropriation_interest > 0]
    if not left:
        return
    with_account = set(
        RefundAccount.objects.filter(
            taxpayer_id__in={op.taxpayer_id for op in left}, status=AccountStatus.ACTIVE
        ).values_list("taxpayer_id", flat=True)
    )
    asked = set(
        RefundNotice.objects.filter(overpayment__in=left, kind=NoticeKind.CLAIM).values_list(
            "overpayment_id", flat=True
        )
    )
    now = timezone.now()
    new = [
        RefundNotice(
            municipality=municipality,
            taxpayer_id=op.taxpayer_id,
            kind=NoticeKind.CLAIM,
            overpayment=op,
            issued_on=as_of,
            amount=max(op.remaining, 0) + op.appropriation_interest,
            job=job,
            created_at=now,
        )  # fmt: skip
        for op in left
        if op.taxpayer_id not in with_account and op.pk not in asked
    ]
    RefundNotice.objects.bulk_create(new)
    if new:
        summary.notices[NoticeKind.CLAIM.value] = summary.notices.get(NoticeKind.CLAIM.value, 0) + len(new)


def refunds_run(
    *, municipality: Municipality, as_of: date, today: date, actor: Any = None, dry_run: bool = False
) -> RunSummary:
    """過誤納金の充当 on ``as_of``, all or nothing (see the module docstring). ``dry_run`` does the same
    work and rolls it back: the figures are those a real run would give."""
    if as_of > today:
        raise _refused(
            f"充当の基準日 {as_of:%Y-%m-%d} は未来の日付です。本日（{today:%Y-%m-%d}）以前の日付を指定してください"
        )
    summary = RunSummary(as_of=as_of, dry_run=dry_run)
    with transaction.atomic():
        # Runs of one municipality take turns (an overpayment is appropriated once).
        Municipality.objects.select_for_update().filter(pk=municipality.pk).first()
        sync_decisions(municipality=municipality)
        summary.collected, summary.cancelled = overpayments_collect(municipality=municipality)
        summary.prescribed = _prescribe(municipality, as_of)
        job = None
        if not dry_run:
            job = job_start(
                municipality=municipality, kind=Job.Kind.REFUNDS_RUN, actor=actor,
                parameters={"as_of": as_of.isoformat()},
            )  # fmt: skip
            summary.job_id = job.pk
        for ids in _slices(municipality, as_of):
            _one_slice(municipality, ids, as_of, actor, job, summary)
        if job is not None:
            job_finish(job, status=Job.Status.SUCCEEDED, counts=summary.as_dict())
            audit_record(
                kind=AuditKind.BATCH, function=FUNCTION, municipality=municipality, user=actor, job=job,
                detail=summary.as_dict(),
            )  # fmt: skip
        if dry_run:
            transaction.set_rollback(True)
    return summary


# --- refund decisions and refund accounts (two-person check) -------------------------------------------


def _check_actor(actor: User, municipality_id: int) -> None:
    if not has_right(actor, Right.REFUND_WORK):
        raise PermissionDenied("過誤納・還付の処理をする権限がありません")
    if actor.municipality_id != municipality_id:
        raise PermissionDenied("他の自治体の過誤納金は扱えません")


def due_arrears(taxpayer_id: int, on: date) -> list[AmountDue]:
    """The person's arrears due on ``on``, on any of their 宛名 (名寄せ): what an overpayment must be
    appropriated to first."""
    municipality_id = Taxpayer.objects.filter(pk=taxpayer_id).values_list("municipality_id", flat=True).get()
    return [
        a
        for a in amounts_due(
            taxpayer_ids=identity_groups(municipality_id, [taxpayer_id])[taxpayer_id],
            as_of=on,
            with_components=False,
        )
        if a.due_date <= on and (a.principal_due > 0 or a.dunning_fee > 0 or (a.late_charge or 0) > 0)
    ]


@transaction.atomic
def refund_decide(
    *, actor: User, overpayment: Overpayment, decided_on: date, reason: str, today: date | None = None
) -> Refund:
    """還付決議 of what remains of ``overpayment`` with its 還付加算金 to ``decided_on`` (支出決定日),
    waiting for a second person's approval — or, for an overpayment all appropriated, of the 還付加算金
    of its appropriations alone (還付金 0 円). Refused while the person has due arrears and money remains
    (法17条の2: appropriated first), or when there is nothing to pay."""
    _check_actor(actor, overpayment.municipality_id)
    sync_decisions(municipality=overpayment.municipality)
    op = Overpayment.objects.select_for_update().get(pk=overpayment.pk)
    unpaid = (
        interest_unpaid(op) if op.status in (OverpaymentStatus.OPEN, OverpaymentStatus.APPROPRIATED) else 0
    )
    if not ((op.status == OverpaymentStatus.OPEN and op.remaining > 0) or unpaid > 0):
        raise _refused(
            f"過誤納金#{op.pk} は「{op.get_status_display()}」のため還付決議できません（残額 {op.remaining:,} 円）"
        )
    if today is not None and decided_on > today:
        raise _refused(
            f"支出決定日 {decided_on:%Y-%m-%d} は未来の日付です。本日（{today:%Y-%m-%d}）以前の日付を指定してください"
        )
    if decided_on < op.arose_on:
        raise _refused(f"支出決定日 {decided_on:%Y-%m-%d} が過誤納の発生日 {op.arose_on:%Y-%m-%d} より前です")
    amount = op.remaining if op.status == OverpaymentStatus.OPEN else 0
    if amount > 0:
        # 法17条の2: the 過誤納金 goes to due arrears first. The 還付加算金 of earlier appropriations is
        # not a 過誤納金 (it is an expenditure, 法17条の4): it is paid even while arrears remain.
        arrears = due_arrears(op.taxpayer_id, decided_on)
        if arrears:
            raise _refused(
                f"この方には {decided_on:%Y-%m-%d} 時点で納期限を過ぎた未納（{len(arrears)} 期別）があります。"
                "地方税法17条の2により先に充当してください（choshu refunds-run）。還付決議はしていません"
            )
    # One 還付加算金 for the whole overpayment (法17条の4, rounded once, 法20条の4の2): its appropriations to
    # their 充当適状日 and this refund to the 支出決定日; what earlier decisions already pay is deducted.
    parts = appropriation_parts([op.pk]).get(op.pk, [])
    excl = exclusions_of([op], decided_on).get(op.pk, [])
    interest = interest_of_parts(op, [*parts, *([(decided_on, amount)] if amount else [])], excl)
    if interest is None:
        raise _refused("還付加算金の起算日を決められません（第2号は更正の請求の日と更正の日が必要です）")
    already = sum(
        Refund.objects.filter(overpayment_id=op.pk, status__in=LIVE_REFUNDS).values_list(
            "refund_interest", flat=True
        )
    )
    refund_interest = max(0, interest.refund_interest - already)
    if amount == 0 and refund_interest == 0:
        raise _refused(f"過誤納金#{op.pk} に支払う還付加算金は残っていません")
    account = RefundAccount.objects.filter(taxpayer_id=op.taxpayer_id, status=AccountStatus.ACTIVE).first()
    payload = {
        "step": STEP_REFUND,
        "overpayment": op.pk,
        "amount": amount,
        "refund_interest": refund_interest,
        "appropriation_interest": min(unpaid, refund_interest),
        "interest_start": interest.start.isoformat() if interest.start else "",
        "decided_on": decided_on.isoformat(),
    }
    req = request_create(
        actor=actor, kind=RequestKind.REFUND, reason=reason, payload=payload, taxpayer=op.taxpayer,
        required_right=Right.REFUND_WORK,
    )  # fmt: skip
    refund = Refund.objects.create(
        municipality=op.municipality, taxpayer_id=op.taxpayer_id, overpayment=op, amount=amount,
        refund_interest=refund_interest, appropriation_interest=min(unpaid, refund_interest),
        interest_start=interest.start, decided_on=decided_on,
        request=req, account=account, decided_by=actor, created_at=timezone.now(),
    )  # fmt: skip
    req.payload = {**payload, "refund": refund.pk}
    req.save(update_fields=["payload"])
    op.status = OverpaymentStatus.DECIDING
    op.save(update_fields=["status"])
    return refund


@dataclass(frozen=True)
class AccountInput:
    bank_code: str
    branch_code: str
    deposit_type: str
    account_no: str
    holder_kana: str


def check_account(data: AccountInput) -> AccountInput:
    """The payee account as the transfer file will carry it, or ``ValidationError`` naming each bad
    field in Japanese (unknown bank or branch, wrong length, a name outside the Zengin repertoire)."""
    from choshu.refunds.account_check import check_account as check  # noqa: PLC0415 - see account_check

    return check(data)


@transaction.atomic
def refund_account_request(
    *,
    actor: User,
    taxpayer: Taxpayer,
    data: AccountInput,
    source: AccountSource,
    reason: str,
    received_on: date | None = None,
    today: date | None = None,
) -> RefundAccount:
    """Enter a refund account (the reply to a 過誤納還付通知書, or a 公金受取口座): checked now (nothing is
    saved when it is refused), in force when a second person approves. ``received_on`` (受付日, default
    today) is the day the person's claim arrived: it ends the 除算期間 of 法17条の4第2項第1号."""
    _check_actor(actor, taxpayer.municipality_id)
    today = today or timezone.localdate()
    if received_on is not None and received_on > today:
        raise ValidationError(
            {"received_on": [f"受付日 {received_on:%Y-%m-%d} は未来の日付です。届いた日を入力してください"]}
        )
    clean = check_account(data)
    payload = {
        "step": STEP_ACCOUNT,
        "bank_code": clean.bank_code,
        "branch_code": clean.branch_code,
        "deposit_type": clean.deposit_type,
        "account_no": clean.account_no,
        "holder_kana": clean.holder_kana,
        "source": str(source.label),
        "received_on": (received_on or today).isoformat(),
    }
    req = request_create(
        actor=actor, kind=RequestKind.REFUND, reason=reason, payload=payload, taxpayer=taxpayer,
        required_right=Right.REFUND_WORK,
    )  # fmt: skip
    return RefundAccount.objects.create(
        municipality=taxpayer.municipality, taxpayer=taxpayer, bank_code=clean.bank_code,
        branch_code=clean.branch_code, deposit_type=clean.deposit_type, account_no=clean.account_no,
        holder_kana=clean.holder_kana, source=source, received_on=received_on or today, request=req,
        created_by=actor, created_at=timezone.now(),
    )  # fmt: skip


def apply_request(req: ChangeRequest, approver: User, decided_on: date) -> None:
    """The approvals handler of kind 還付: a 還付決議 or a refund account takes effect."""
    step = req.payload.get("step")
    if step == STEP_REFUND:
        _apply_refund(req, approver, decided_on)
    elif step == STEP_ACCOUNT:
        _apply_account(req, approver)
    else:
        raise ValidationError("この還付の決裁は内容が不明です（手続の種類がありません）")


def _apply_refund(req: ChangeRequest, approver: User, decided_on: date) -> None:
    refund = Refund.objects.select_for_update().select_related("overpayment").get(request=req)
    op = Overpayment.objects.select_for_update().get(pk=refund.overpayment_id)
    if refund.status != RefundStatus.PENDING or op.status != OverpaymentStatus.DECIDING:
        raise _refused(f"還付決議#{refund.pk} は「{refund.get_status_display()}」のため承認できません")
    if op.remaining != refund.amount:
        raise _refused(
            f"過誤納金の残額（{op.remaining:,} 円）が決議額（{refund.amount:,} 円）と違います（決議後に収納取消など）。"
            "否認して決議し直してください"
        )
    arrears = due_arrears(op.taxpayer_id, decided_on) if refund.amount > 0 else []
    if arrears:  # new arrears since the decision: 法17条の2 — appropriate first
        raise _refused(
            f"この方には {decided_on:%Y-%m-%d} 時点で納期限を過ぎた未納（{len(arrears)} 期別）があります。"
            "還付の前に充当が必要です。否認してから充当（choshu refunds-run）してください"
        )
    refund.status = RefundStatus.APPROVED
    if refund.account_id is None:
        refund.account = RefundAccount.objects.filter(
            taxpayer_id=op.taxpayer_id, status=AccountStatus.ACTIVE
        ).first()
    refund.save(update_fields=["status", "account"])
    op.status = OverpaymentStatus.APPROVED
    op.save(update_fields=["status"])
    RefundNotice.objects.create(
        municipality=op.municipality, taxpayer_id=op.taxpayer_id, kind=NoticeKind.REFUND, overpayment=op,
        refund=refund, issued_on=decided_on, amount=refund.total, created_at=timezone.now(),
    )  # fmt: skip


def _apply_account(req: ChangeRequest, approver: User) -> None:
    account = RefundAccount.objects.select_for_update().get(request=req)
    if account.status != AccountStatus.PENDING:
        raise _refused(f"この口座は「{account.get_status_display()}」のため承認できません")
    RefundAccount.objects.filter(taxpayer_id=account.taxpayer_id, status=AccountStatus.ACTIVE).update(
        status=AccountStatus.REPLACED
    )
    account.status = AccountStatus.ACTIVE
    account.save(update_fields=["status"])
    # Refunds decided or approved before the account was known are paid to it.
    Refund.objects.filter(
        taxpayer_id=account.taxpayer_id, status__in=[RefundStatus.PENDING, RefundStatus.APPROVED]
    ).update(account=account)


def audit_view(*, actor: User, function: str, taxpayer_ids: Sequence[int], request: Any = None) -> None:
    """Access log of a screen or file showing these people's overpayments and refunds."""
    audit_record(
        kind=AuditKind.ACCESS, function=function, municipality=actor.municipality, user=actor, request=request,
        subject_type=AuditSubjectType.TAXPAYER, subject_ids=list(taxpayer_ids),
    )  # fmt: skip


def refund_accounts_import(
    *, actor: User, municipality: Municipality, path: str, reason: str
) -> list[RefundAccount]:
    """公金受取口座 from a file (docs/formats.md §18): every row checked first (the 宛名 of this
    municipality, the account as at entry); one bad row refuses the file and nothing is saved. Then each
    becomes a refund account waiting for a second person's approval (決裁 of kind 還付)."""
    from pathlib import Path  # noqa: PLC0415

    from choshu.formats.csvfile import decode_strict, read_bytes  # noqa: PLC0415
    from choshu.formats.errors import FileRefused, RowError  # noqa: PLC0415
    from choshu.formats.refund_accounts_csv import parse_accounts  # noqa: PLC0415

    name = Path(path).name
    _check_actor(actor, municipality.pk)
    errors: list[RowError] = []
    rows = list(parse_accounts(decode_strict(read_bytes(path), name).text, errors, name))
    people = {
        t.taxpayer_no: t
        for t in Taxpayer.objects.filter(
            municipality=municipality, taxpayer_no__in=[r.taxpayer_no for r in rows]
        )
    }
    checked = []
    for r in rows:
        tp = people.get(r.taxpayer_no)
        if tp is None:
            errors.append(RowError(r.line, "taxpayer_no", "この宛名番号の方はいません", r.taxpayer_no))
            continue
        try:
            clean = check_account(
                AccountInput(r.bank_code, r.branch_code, r.deposit_type, r.account_no, r.holder_kana)
            )
        except ValidationError as exc:
            for field_name, messages in exc.message_dict.items():
                errors.extend(RowError(r.line, field_name, m) for m in messages)
            continue
        checked.append((tp, clean))
    if errors:
        raise FileRefused(errors, name)
    if not checked:
        raise FileRefused([RowError(2, "", "口座の行がありません")], name)
    with transaction.atomic():
        return [
            refund_account_request(
                actor=actor, taxpayer=tp, data=clean, source=AccountSource.PUBLIC, reason=reason
            )
            for tp, clean in checked
        ]


@transaction.atomic
def overpayment_set_cause(
    *,
    actor: User,
    overpayment: Overpayment,
    cause: int,
    event_on: date | None,
    claimed_on: date | None,
    reason: str,
) -> Overpayment:
    """Correct the start-date kind of an open overpayment's 還付加算金 (法17条の4第1項各号) with the dates it
    needs: 第2号 the 更正の請求 (``claimed_on``) and the 更正 (``event_on``); 第3号 the income-tax 更正 or
    return (``event_on``). Change-logged with the reason; the figures follow at the next decision."""
    _check_actor(actor, overpayment.municipality_id)
    op = Overpayment.objects.select_for_update().get(pk=overpayment.pk)
    if op.status != OverpaymentStatus.OPEN:
        raise _refused(f"過誤納金#{op.pk} は「{op.get_status_display()}」のため起算区分を変えられません")
    if cause not in Cause.values:
        raise _refused("起算区分は第1号から第4号のいずれかです")
    if cause == Cause.CLAIM and (event_on is None or claimed_on is None):
        raise _refused("第2号（更正の請求に基づく更正）には更正の請求の日と更正の日が必要です")
    if cause == Cause.INCOME_TAX and event_on is None:
        raise _refused("第3号（所得税の更正等に基づく賦課決定）には所得税の更正等の日が必要です")
    if not reason.strip():
        raise _refused("変更の理由を入力してください")
    before = {"cause": op.cause, "event_on": str(op.event_on or ""), "claimed_on": str(op.claimed_on or "")}
    op.cause = cause
    op.event_on = event_on if cause != Cause.OTHER else op.event_on
    op.claimed_on = claimed_on if cause == Cause.CLAIM else None
    op.save(update_fields=["cause", "event_on", "claimed_on"])
    audit_record(
        kind=AuditKind.CHANGE, function="還付加算金の起算区分の訂正", municipality=actor.municipality, user=actor,
        subject_type=AuditSubjectType.TAXPAYER, subject_ids=[op.taxpayer_id],
        detail={"overpayment": op.pk, "before": before, "cause": cause, "event_on": str(event_on or ""),
                "claimed_on": str(claimed_on or ""), "reason": reason.strip()},
    )  # fmt: skip
    return op


# --- a payment reversed after its overpayment was appropriated or refunded -----------------------------


def on_payments_reversed(municipality_id: int, table: str) -> None:
    """``receipts.engine.REVERSAL_HOOKS``: in the reversal's own database transaction, each reversed
    payment whose overpayment is listed and already used (decided, refunded, or appropriated beyond what
    would remain) is taken back from it (``reversed``); an open one that still covers the reversal is
    left to ``overpayments_collect`` at the next run. What the overpayment no
    longer covers is undone, latest first: refund decisions not yet sent are voided (their 決裁
    withdrawn), then appropriations are cancelled — an opposite ``APPROPRIATION`` transaction on the same
    充当適状日, so the arrears and their 延滞金 revive as if never paid — with a 充当取消通知書. When the
    money was already transferred the overpayment account is left in debit: that debit is the 返納 the
    person owes (status 返納請求, ``Overpayment.to_repay``; docs/refunds.md)."""
    with connection.cursor() as cur:
        cur.execute(
            f"""SELECT o.id, e.id, e.amount, r.booking_date FROM {table} r
                JOIN refunds_overpayment o ON o.payment_id = r.payment_id AND o.reversal_entry_id IS NULL
                JOIN levies_ledgerentry e ON e.txn_id = r.txn_id AND e.payment_id = r.payment_id
                 AND e.account = '{Account.OVERPAYMENT.value}' AND e.amount > 0
                WHERE o.status <> '{OverpaymentStatus.OPEN.value}'
                   OR o.amount - o.appropriated - o.refunded - e.amount < 0"""  # noqa: S608 - constants only
        )
        rows = cur.fetchall()
    if not rows:
        return
    municipality = Municipality.objects.get(pk=municipality_id)
    for op_id, entry_id, amount, booked in rows:
        on = booked if isinstance(booked, date) else date.fromisoformat(str(booked))
        _take_back(
            municipality, Overpayment.objects.select_for_update().get(pk=op_id), entry_id, int(amount), on
        )


def _take_back(municipality: Municipality, op: Overpayment, entry_id: int, amount: int, on: date) -> None:
    before = op.get_status_display()
    op.reversed, op.reversal_entry_id = amount, entry_id
    voided = list(
        Refund.objects.select_for_update().filter(
            overpayment=op, status__in=[RefundStatus.PENDING, RefundStatus.APPROVED]
        )
    )
    for r in voided:
        r.status, r.result = RefundStatus.REJECTED, "収納取消により取消"
    Refund.objects.bulk_update(voided, ["status", "result"])
    ChangeRequest.objects.filter(pk__in=[r.request_id for r in voided], status=ApprovalStatus.PENDING).update(
        status=ApprovalStatus.WITHDRAWN, decided_at=timezone.now()
    )
    cancelled: list[Appropriation] = []
    if op.remaining < 0:
        live = Appropriation.objects.filter(overpayment=op, cancelled_on__isnull=True).select_related(
            "installment"
        )
        for a in live.order_by("-appropriable_on", "-pk"):
            if op.remaining >= 0:
                break
            cancelled.append(a)
            op.appropriated -= a.amount
    if cancelled:
        postings = []
        for a in cancelled:
            account, component = _LEGS[AllocComponent(a.component)]
            postings.append(
                Posting(
                    kind=TxnKind.APPROPRIATION,
                    legal_date=a.appropriable_on,
                    booking_date=on,
                    memo=f"過誤納金#{op.pk}の充当の取消（収納取消）",
                    legs=[
                        Leg(
                            Account.OVERPAYMENT,
                            -a.amount,
                            installment_id=op.installment_id,
                            taxpayer_id=op.taxpayer_id,
                        ),
                        Leg(
                            account,
                            a.amount,
                            component,
                            installment_id=a.installment_id,
                            taxpayer_id=a.installment.taxpayer_id,
                        ),
                    ],
                )  # fmt: skip
            )
        txn_ids = post_many(municipality=municipality, postings=postings)
        for a, txn_id in zip(cancelled, txn_ids, strict=True):
            a.cancelled_on, a.cancel_txn_id = on, txn_id
        Appropriation.objects.bulk_update(cancelled, ["cancelled_on", "cancel_txn"])
        RefundNotice.objects.create(
            municipality=municipality, taxpayer_id=op.taxpayer_id, kind=NoticeKind.APPROPRIATION_CANCEL,
            overpayment=op, issued_on=on, amount=sum(a.amount for a in cancelled), created_at=timezone.now(),
        )  # fmt: skip
    if op.remaining < 0:
        op.status = OverpaymentStatus.RECLAIM
    elif op.status not in (OverpaymentStatus.SENT, OverpaymentStatus.PAID, OverpaymentStatus.PRESCRIBED):
        op.status = back_status(op)
    op.save(update_fields=["reversed", "reversal_entry_id", "appropriated", "status"])
    if cancelled:
        _refresh_appropriation_interest([op], on)
    audit_record(
        kind=AuditKind.CHANGE, function="収納取消による過誤納金の取消", municipality=municipality,
        subject_type=AuditSubjectType.TAXPAYER, subject_ids=[op.taxpayer_id],
        detail={"overpayment": op.pk, "reversed": amount, "before": before, "status": op.get_status_display(),
                "appropriations_cancelled": [a.pk for a in cancelled], "refunds_voided": [r.pk for r in voided],
                "to_repay": op.to_repay},
    )  # fmt: skip
