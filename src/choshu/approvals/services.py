"""Requesting, approving and rejecting changes that need a second person (決裁)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any, Protocol

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from choshu.accounts.models import User
from choshu.accounts.permissions import Right, has_right
from choshu.approvals.models import ApprovalStatus, ChangeRequest, RequestKind
from choshu.audit.models import AuditKind, AuditSubjectType
from choshu.audit.services import audit_record
from choshu.core.labels import key_label


class Subject(Protocol):
    """The record a request is about (today a 宛名): approvals needs only its id and municipality."""

    pk: Any
    municipality_id: int


# A function applying an approved request: (request, approver, decided_on — the business day of the
# approval, on which anything it books is booked). Registered by the app that owns the data.
Handler = Callable[[ChangeRequest, User, date], None]
HANDLERS: dict[str, Handler] = {}
# kind → the screen name of a payload attribute (registered by the app that owns the data).
FIELD_LABELS: dict[str, Callable[[str], str]] = {}
# A function told that a request was rejected or withdrawn (the request, closed; in the same
# transaction), so the owning app's record leaves its pending state at once.
Closer = Callable[[ChangeRequest], None]
CLOSERS: dict[str, Closer] = {}


def register(kind: RequestKind) -> Callable[[Handler], Handler]:
    def decorator(fn: Handler) -> Handler:
        HANDLERS[kind] = fn
        return fn

    return decorator


def register_closed(kind: RequestKind) -> Callable[[Closer], Closer]:
    """Register what happens to the owning app's record when a request of ``kind`` is rejected or
    withdrawn (it runs in the same transaction as the decision)."""

    def decorator(fn: Closer) -> Closer:
        CLOSERS[kind] = fn
        return fn

    return decorator


def _closed(req: ChangeRequest) -> None:
    closer = CLOSERS.get(req.kind)
    if closer is not None:
        closer(req)


def register_field_labels(kind: str, label: Callable[[str], str]) -> None:
    FIELD_LABELS[kind] = label


def field_label_for(kind: str) -> Callable[[str], str]:
    """How the attributes of a request of ``kind`` are named on screen: the owning app's names, else
    the shared ones (``core.labels.key_label``: 納付番号, 金額 …)."""
    own = FIELD_LABELS.get(kind)
    if own is None:
        return key_label

    def label(name: str) -> str:
        named = own(name)
        return key_label(name) if named == name else named

    return label


@transaction.atomic
def request_create(
    *,
    actor: User,
    kind: RequestKind,
    reason: str,
    payload: dict[str, Any],
    taxpayer: Subject | None = None,
    before: dict[str, Any] | None = None,
    secret: bytes | None = None,
    required_right: str = Right.TAXPAYER_EDIT,
) -> ChangeRequest:
    """Record a change for a second person to approve; nothing changes until then."""
    if kind not in RequestKind.values:
        raise ValidationError(f"決裁の種別 {kind!r} は定義されていません")
    if not has_right(actor, required_right):
        raise PermissionDenied("この変更を申請する権限がありません")
    if taxpayer is not None and taxpayer.municipality_id != actor.municipality_id:
        raise PermissionDenied("他の自治体の宛名は変更できません")
    if not reason.strip():
        raise ValidationError("申請理由を入力してください")
    if actor.municipality is None:
        raise PermissionDenied("自治体に属さない利用者は申請できません")
    req = ChangeRequest.objects.create(
        municipality=actor.municipality,
        kind=kind,
        taxpayer_id=taxpayer.pk if taxpayer else None,
        payload=payload,
        before=before or {},
        secret=secret,
        reason=reason.strip(),
        requested_by=actor,
        requested_at=timezone.now(),
    )
    audit_record(
        kind=AuditKind.CHANGE,
        function=f"決裁申請（{RequestKind(kind).label}）",
        municipality=actor.municipality,
        user=actor,
        subject_type=AuditSubjectType.TAXPAYER if taxpayer else "",
        subject_ids=[taxpayer.pk] if taxpayer else [],
        detail={"request": req.pk, "payload": payload, "reason": req.reason},
    )
    return req


def _lock_pending(req: ChangeRequest, actor: User) -> ChangeRequest:
    locked = ChangeRequest.objects.select_for_update().get(pk=req.pk)
    if locked.municipality_id != actor.municipality_id:
        raise PermissionDenied("他の自治体の決裁はできません")
    if locked.status != ApprovalStatus.PENDING:
        raise ValidationError(f"この申請は既に「{locked.get_status_display()}」です")
    return locked


@transaction.atomic
def request_approve(
    *, actor: User, request: ChangeRequest, decided_on: date, comment: str = ""
) -> ChangeRequest:
    """A second, different person with the approval right approves; the change then takes effect.

    ``decided_on`` is the business day of the approval (what the change books is booked on it)."""
    if not has_right(actor, Right.APPROVE):
        raise PermissionDenied("決裁する権限がありません")
    req = _lock_pending(request, actor)
    if req.requested_by_id == actor.pk:
        raise PermissionDenied("自分の申請は決裁できません（別の職員の確認が必要です）")
    handler = HANDLERS.get(req.kind)
    if handler is None:
        raise ValidationError(f"{req.get_kind_display()} の反映処理が登録されていません")
    handler(req, actor, decided_on)
    req.status, req.decided_by, req.decided_at, req.comment = (
        ApprovalStatus.APPROVED,
        actor,
        timezone.now(),
        comment,
    )
    req.save(update_fields=["status", "decided_by", "decided_at", "comment"])
    audit_record(
        kind=AuditKind.CHANGE,
        function=f"決裁承認（{req.get_kind_display()}）",
        municipality=actor.municipality,
        user=actor,
        subject_type=AuditSubjectType.TAXPAYER if req.taxpayer_id else "",
        subject_ids=[req.taxpayer_id] if req.taxpayer_id else [],
        detail={"request": req.pk, "comment": comment, "requested_by": req.requested_by_id},
    )
    return req


@transaction.atomic
def request_reject(*, actor: User, request: ChangeRequest, comment: str) -> ChangeRequest:
    if not has_right(actor, Right.APPROVE):
        raise PermissionDenied("決裁する権限がありません")
    req = _lock_pending(request, actor)
    if req.requested_by_id == actor.pk:
        raise PermissionDenied("自分の申請は決裁できません（取下げを使ってください）")
    if not comment.strip():
        raise ValidationError("否認の理由を入力してください")
    req.status, req.decided_by, req.decided_at, req.comment = (
        ApprovalStatus.REJECTED,
        actor,
        timezone.now(),
        comment,
    )
    req.save(update_fields=["status", "decided_by", "decided_at", "comment"])
    audit_record(
        kind=AuditKind.CHANGE,
        function=f"決裁否認（{req.get_kind_display()}）",
        municipality=actor.municipality,
        user=actor,
        subject_type=AuditSubjectType.TAXPAYER if req.taxpayer_id else "",
        subject_ids=[req.taxpayer_id] if req.taxpayer_id else [],
        detail={"request": req.pk, "comment": comment},
    )
    _closed(req)
    return req


@transaction.atomic
def request_withdraw(*, actor: User, request: ChangeRequest) -> ChangeRequest:
    req = _lock_pending(request, actor)
    if req.requested_by_id != actor.pk:
        raise PermissionDenied("取下げできるのは申請した本人だけです")
    req.status, req.decided_by, req.decided_at = ApprovalStatus.WITHDRAWN, actor, timezone.now()
    req.save(update_fields=["status", "decided_by", "decided_at"])
    _closed(req)
    return req
