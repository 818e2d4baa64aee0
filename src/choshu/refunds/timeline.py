"""The case file's timeline (``core.timeline``; issue 16 §6): every step of a person's overpayments —
arose, appropriated (充当: amount and target installment), refund decided / approved / rejected, the
transfer sent / paid / failed, the notices queued. Registered in ``RefundsConfig.ready`` under the kind
``refund``. One query per model for one person (related rows joined), whatever the number of rows."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

from django.utils import timezone

from choshu.approvals.models import ApprovalStatus
from choshu.core.timeline import TimelineEvent, register_provider
from choshu.formats.display import yen
from choshu.levies.models import Component, Installment
from choshu.levies.tax_items import tax_item_name
from choshu.refunds.models import (
    Appropriation,
    Overpayment,
    OverpaymentStatus,
    Refund,
    RefundNotice,
    RefundStatus,
)

KIND = "refund"
LABEL = "過誤納・充当・還付"
_COMPONENT = {c.value: str(c.label) for c in Component}


def _who(user: object) -> str:
    return str(user) if user is not None else "一括処理"


def installment_label(m: int, i: Installment) -> str:
    """``2024年度 固定資産税 第1期`` (the installment must come with its levy)."""
    return f"{i.levy.levy_year}年度 {tax_item_name(m, i.levy.tax_item)} 第{i.installment_no}期"


def refund_events(m: int, taxpayer_id: int, since: date | None) -> Iterable[TimelineEvent]:
    ops = Overpayment.objects.filter(municipality_id=m, taxpayer_id=taxpayer_id)
    apps = Appropriation.objects.filter(municipality_id=m, taxpayer_id=taxpayer_id).select_related(
        "installment__levy"
    )
    refunds = Refund.objects.filter(municipality_id=m, taxpayer_id=taxpayer_id).select_related(
        "decided_by", "request__decided_by", "transfer"
    )
    notices = RefundNotice.objects.filter(municipality_id=m, taxpayer_id=taxpayer_id)
    if since is not None:
        ops = ops.filter(arose_on__gte=since)
        apps = apps.filter(appropriated_on__gte=since)
        # A decision before ``since`` may have later steps (approval, transfer): kept, its older steps
        # are dropped below.
        notices = notices.filter(created_at__date__gte=since)
    for op in ops.order_by("-arose_on", "-pk"):
        detail = f"{op.get_cause_display()}／{op.get_status_display()}"
        if op.status == OverpaymentStatus.CANCELLED:
            detail += f"（取消額 {yen(op.reversed)}円）"
        yield TimelineEvent(at=op.arose_on, kind=KIND, title=f"過誤納金の発生（{op.get_origin_display()}）",
                            detail=detail, amount=op.amount)  # fmt: skip
    for a in apps.order_by("-appropriated_on", "-pk"):
        detail = f"充当適状日 {a.appropriable_on:%Y/%m/%d}／過誤納金 #{a.overpayment_id}"
        if a.refund_interest:
            detail += f"／還付加算金 {yen(a.refund_interest)}円"
        yield TimelineEvent(
            at=a.appropriated_on, kind=KIND,
            title=f"充当 {installment_label(m, a.installment)}（{_COMPONENT.get(a.component, a.component)}）",
            detail=detail, amount=a.amount,
        )  # fmt: skip
    for r in refunds.order_by("-decided_on", "-pk"):
        yield from _refund_steps(r, since)
    for n in notices.order_by("-created_at", "-pk"):
        state = f"印刷済 {n.printed_at:%Y/%m/%d}" if n.printed_at else "未印刷"
        yield TimelineEvent(at=n.created_at, kind=KIND, title=f"{n.get_kind_display()}を作成",
                            detail=f"通知日 {n.issued_on:%Y/%m/%d}／{state}", amount=n.amount)  # fmt: skip


def _refund_steps(r: Refund, since: date | None) -> Iterable[TimelineEvent]:
    steps = [
        TimelineEvent(
            at=r.decided_on,
            kind=KIND,
            title="還付決議",
            detail=f"還付額 {yen(r.amount)}円／還付加算金 {yen(r.refund_interest)}円／{r.get_status_display()}",
            amount=r.total,
            actor=_who(r.decided_by),
        )  # fmt: skip
    ]
    req = r.request
    if req.decided_at is not None and req.status != ApprovalStatus.PENDING:
        title = (
            "還付決議の承認"
            if req.status == ApprovalStatus.APPROVED
            else f"還付決議の{req.get_status_display()}"
        )
        steps.append(TimelineEvent(at=req.decided_at, kind=KIND, title=title, detail=req.comment,
                                   amount=r.total, actor=_who(req.decided_by)))  # fmt: skip
    t = r.transfer
    if t is not None:
        steps.append(TimelineEvent(at=t.created_at, kind=KIND, title="還付金の振込を依頼",
                                   detail=f"振込指定日 {t.transfer_date:%Y/%m/%d}", amount=r.total))  # fmt: skip
        if r.status in (RefundStatus.PAID, RefundStatus.FAILED):
            title = "還付金の振込完了" if r.status == RefundStatus.PAID else f"還付金の振込不能（{r.result}）"
            detail = "" if r.status == RefundStatus.PAID else "過誤納金は未処理に戻りました"
            steps.append(TimelineEvent(at=t.confirmed_at or t.transfer_date, kind=KIND, title=title,
                                       detail=detail, amount=r.total))  # fmt: skip
    for e in steps:
        if since is None or _day(e.at) >= since:
            yield e


def _day(at: datetime | date) -> date:
    if isinstance(at, datetime):
        return timezone.localtime(at).date() if timezone.is_aware(at) else at.date()
    return at


def register() -> None:
    register_provider(KIND, LABEL, refund_events, order=50)
