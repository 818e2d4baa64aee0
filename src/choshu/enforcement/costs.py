"""滞納処分費 (issue 19 §3): the costs of a disposition — 郵送料, 登記嘱託費, 公売費用… — charged to the
滞納者 (国税徴収法136条, applied by 地方税法331条6項) and collected before anything else from the proceeds
(地方税法14条の3; ``rules.allocation.DEFAULT_ORDER``: 滞納処分費 → 督促手数料 → 本税 → 延滞金).

Each cost is one ledger transaction of kind ``enforcement_cost``: a receivable of component 滞納処分費 on
the seizure's oldest installment with its outstanding 本税 (as the 督促手数料 sits on the notice's oldest
installment), against the levied contra account. The payment engine reads it as it reads the fee
(``receipts.engine`` ``FEES``), so every payment on the installment's slip — a 取立, a 配当, a counter
receipt — pays it first. Change-logged; no 決裁 (a booking of a cost already spent, like the fee)."""

from __future__ import annotations

from datetime import date

from django.core.exceptions import ValidationError
from django.db import transaction

from choshu.accounts.models import User
from choshu.audit.models import AuditKind, AuditSubjectType
from choshu.audit.services import audit_record
from choshu.cases.access import check_case
from choshu.enforcement.models import CostKind, DispositionCost, Seizure, SeizureStatus
from choshu.enforcement.services import _check_actor
from choshu.formats.display import wareki
from choshu.levies.ledger import Leg, post
from choshu.levies.models import Account, Component, TxnKind


@transaction.atomic
def cost_record(
    *, actor: User, seizure: Seizure, kind: str, amount: int, incurred_on: date, note: str, today: date
) -> DispositionCost:
    _check_actor(actor, seizure.municipality_id)
    s = Seizure.objects.select_for_update().select_related("case__municipality").get(pk=seizure.pk)
    check_case(actor, s.case)
    if s.status not in (SeizureStatus.ACTIVE, SeizureStatus.RELEASED):
        raise ValidationError("滞納処分費は決裁で承認された差押にだけ記録できます")
    if kind not in CostKind.values:
        raise ValidationError(f"費目 {kind!r} は定義されていません")
    if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
        raise ValidationError("滞納処分費の金額は1円以上の整数で入力してください")
    if incurred_on < s.executed_on or incurred_on > today:
        raise ValidationError(f"支出日は差押日（{wareki(s.executed_on)}）から本日までの日付にしてください")
    if not note.strip():
        raise ValidationError("滞納処分費の内容（郵送先・登記所など）を入力してください")
    insts = list(s.installments.order_by("due_date", "pk"))
    inst = next((i for i in insts if i.principal_outstanding > 0), insts[0])
    txn = post(
        municipality=s.case.municipality, kind=TxnKind.ENFORCEMENT_COST, legal_date=incurred_on,
        booking_date=today, actor=actor, memo=f"滞納処分費 {CostKind(kind).label} 差押#{s.pk}",
        legs=[
            Leg(Account.RECEIVABLE, amount, Component.ENFORCEMENT_COST, installment_id=inst.pk,
                taxpayer_id=s.taxpayer_id),
            Leg(Account.LEVIED, -amount, Component.ENFORCEMENT_COST, installment_id=inst.pk,
                taxpayer_id=s.taxpayer_id),
        ],
    )  # fmt: skip
    cost = DispositionCost.objects.create(
        municipality_id=s.municipality_id, taxpayer_id=s.taxpayer_id, seizure=s, installment=inst, kind=kind,
        amount=amount, incurred_on=incurred_on, note=note.strip()[:300], txn_id=txn.pk, created_by=actor,
    )  # fmt: skip
    audit_record(
        kind=AuditKind.CHANGE, function="滞納処分費の記録", municipality=s.case.municipality, user=actor,
        subject_type=AuditSubjectType.TAXPAYER, subject_ids=[s.taxpayer_id],
        detail={"seizure": s.pk, "cost": cost.pk, "kind": kind, "amount": amount,
                "incurred_on": incurred_on.isoformat(), "installment": inst.pk, "txn": txn.pk},
    )  # fmt: skip
    return cost
