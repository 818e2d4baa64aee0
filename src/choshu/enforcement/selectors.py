"""Reads of 滞納処分: the seizures a user may see (team scope of ``cases.access``), each with its next
step, and a person's seizures for the case file."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db.models import (
    BooleanField,
    Case,
    Count,
    Exists,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce

from choshu.accounts.permissions import Right, has_right
from choshu.approvals.models import ApprovalStatus
from choshu.cases.access import sees_all_teams, visible_cases
from choshu.enforcement.models import (
    CLAIM_KINDS,
    Collection,
    CollectionStatus,
    Inquiry,
    InquiryBatch,
    Sale,
    Seizure,
    SeizureStatus,
)


def visible_seizures(user: Any) -> QuerySet[Seizure]:
    """Seizures of the cases ``user`` may open (own team; every team with ``case_manage``)."""
    return Seizure.objects.filter(municipality_id=user.municipality_id, case__in=visible_cases(user))


@dataclass(frozen=True)
class SeizureRow:
    seizure: Seizure
    status_label: str
    next_step: str
    outstanding: int


def _next_step(s: Seizure, outstanding: int, pending_collection: bool) -> tuple[str, str]:
    req = s.request
    if s.status == SeizureStatus.PENDING:
        if req is not None and req.status in (ApprovalStatus.REJECTED, ApprovalStatus.WITHDRAWN):
            return "否認・取下げ", "－（必要なら起案し直す）"
        return s.get_status_display(), "決裁待ち：決裁（差押）を待つ"
    if s.status == SeizureStatus.RELEASED:
        return s.get_status_display(), "－"
    if s.release_request is not None and s.release_request.status == ApprovalStatus.PENDING:
        return s.get_status_display(), "決裁待ち：決裁（解除）を待つ"
    if pending_collection:
        return s.get_status_display(), "決裁待ち：決裁（取立・換価代金の収納）を待つ"
    if outstanding <= 0:
        return s.get_status_display(), "解除可（完納）：差押の解除を起案する（国税徴収法79条）"
    if s.served_on is None:
        return s.get_status_display(), "送達待ち：差押通知書（差押書）を送付し送達日を記録する"
    if s.is_claim:
        return s.get_status_display(), "取立待ち：取立（第三債務者からの支払）を記録する"
    return s.get_status_display(), "換価待ち：換価（公売）の準備、または納付の交渉"


def seizure_rows(seizures: list[Seizure]) -> list[SeizureRow]:
    """Each seizure with its next step (two queries besides the seizures)."""
    ids = [s.pk for s in seizures]
    pending = set(
        Collection.objects.filter(seizure_id__in=ids, status=CollectionStatus.PENDING).values_list(
            "seizure_id", flat=True
        )
    ) | set(
        Sale.objects.filter(seizure_id__in=ids, status=CollectionStatus.PENDING).values_list(
            "seizure_id", flat=True
        )
    )
    through = Seizure.installments.through
    outstanding: dict[int, int] = {}
    for sid, amount in through.objects.filter(seizure_id__in=ids).values_list(
        "seizure_id", "installment__principal_outstanding"
    ):
        outstanding[sid] = outstanding.get(sid, 0) + int(amount)
    rows = []
    for s in seizures:
        label, step = _next_step(s, outstanding.get(s.pk, 0), s.pk in pending)
        rows.append(SeizureRow(s, label, step, outstanding.get(s.pk, 0)))
    return rows


def open_seizures(user: Any) -> QuerySet[Seizure]:
    return (
        visible_seizures(user)
        .filter(status__in=[SeizureStatus.PENDING, SeizureStatus.ACTIVE])
        .select_related("taxpayer", "case", "request", "release_request")
        .order_by("executed_on", "pk")
    )


# The open seizures' next steps as filters (the same decision as ``_next_step``, in SQL).
STEPS = {
    "approval": "決裁待ち",
    "serve": "送達待ち",
    "collect": "取立待ち",
    "sale": "換価待ち",
    "release": "解除可（完納）",
}


def with_step_facts(qs: QuerySet[Seizure]) -> QuerySet[Seizure]:
    """``outstanding_sum`` (未納本税 of its installments) and ``waiting`` (a 決裁 pending for it)."""
    through: Any = Seizure.installments.through
    owed = (
        through.objects.filter(seizure_id=OuterRef("pk"))
        .values("seizure_id")
        .annotate(t=Sum("installment__principal_outstanding"))
        .values("t")
    )
    pending_collection = Collection.objects.filter(seizure_id=OuterRef("pk"), status=CollectionStatus.PENDING)
    pending_sale = Sale.objects.filter(seizure_id=OuterRef("pk"), status=CollectionStatus.PENDING)
    return qs.annotate(
        outstanding_sum=Coalesce(Subquery(owed), Value(0)),
        waiting=Case(
            When(status=SeizureStatus.PENDING, then=Value(True)),
            When(release_request__status=ApprovalStatus.PENDING, then=Value(True)),
            When(Exists(pending_collection), then=Value(True)),
            When(Exists(pending_sale), then=Value(True)),
            default=Value(False),
            output_field=BooleanField(),
        ),
    )


def filter_step(seizures: QuerySet[Seizure], step: str) -> QuerySet[Seizure]:
    """Open seizures whose next step is ``step`` (a key of ``STEPS``; anything else: all)."""
    if step not in STEPS:
        return seizures
    qs: Any = with_step_facts(seizures)
    if step == "approval":
        return qs.filter(waiting=True)
    qs = qs.filter(waiting=False, status=SeizureStatus.ACTIVE)
    if step == "release":
        return qs.filter(outstanding_sum__lte=0)
    qs = qs.filter(outstanding_sum__gt=0)
    if step == "serve":
        return qs.filter(served_on__isnull=True)
    qs = qs.filter(served_on__isnull=False)
    if step == "collect":
        return qs.filter(kind__in=list(CLAIM_KINDS))
    return qs.exclude(kind__in=list(CLAIM_KINDS))


# --- 財産調査 ------------------------------------------------------------------------------------


def visible_batches(user: Any) -> QuerySet[InquiryBatch]:
    """The inquiry batches ``user`` may open: made by the user's team (every team with ``case_manage``,
    like ``cases.access``); a batch made by the command (no team) only with ``case_manage``."""
    qs = InquiryBatch.objects.filter(municipality_id=user.municipality_id)
    if not has_right(user, Right.CASE_WORK):
        return qs.none()
    if sees_all_teams(user):
        return qs
    if not user.team:
        return qs.none()
    return qs.filter(team=user.team)


def batch_counts(qs: QuerySet[InquiryBatch], today: date) -> QuerySet[InquiryBatch]:
    """Each batch with its counts: 照会 (n), 回答済 (answered), 期限超過 (overdue: unanswered past the 回答期限)."""
    return qs.annotate(
        n=Count("inquiries"),
        answered=Count("inquiries", filter=Q(inquiries__answered_on__isnull=False)),
        overdue=Count(
            "inquiries", filter=Q(inquiries__answered_on__isnull=True, inquiries__due_on__lt=today)
        ),
    )


def inquiries_in_state(qs: QuerySet[Inquiry], state: str, today: date) -> QuerySet[Inquiry]:
    """``open`` 照会中, ``overdue`` 期限超過, ``answered`` 回答済, anything else: all."""
    if state == "answered":
        return qs.filter(answered_on__isnull=False)
    if state == "overdue":
        return qs.filter(answered_on__isnull=True, due_on__lt=today)
    if state == "open":
        return qs.filter(answered_on__isnull=True, due_on__gte=today)
    return qs
