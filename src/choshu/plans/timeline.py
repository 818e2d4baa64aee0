"""The case timeline's 分納 events (kind ``plan``): created, pledged, each instalment paid or missed,
defaulted, completed, cancelled — two queries per person (plans with their history, instalments)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from choshu.core.timeline import TimelineEvent
from choshu.plans.models import PlanInstalment, PlanStatus, PlanStatusChange

KIND = "plan"
_TITLES = {
    PlanStatus.DRAFT: "分納計画を作成",
    PlanStatus.PLEDGED: "分納を誓約",
    PlanStatus.COMPLETED: "分納を履行完了",
    PlanStatus.DEFAULTED: "分納が不履行",
    PlanStatus.CANCELLED: "分納誓約を取消",
}


def plan_events(municipality_id: int, taxpayer_id: int, since: date | None) -> Iterable[TimelineEvent]:
    changes = PlanStatusChange.objects.filter(
        plan__municipality_id=municipality_id, plan__taxpayer_id=taxpayer_id
    ).select_related("plan", "changed_by")
    if since is not None:
        changes = changes.filter(changed_on__gte=since)
    for c in changes:
        p = c.plan
        at = c.changed_at if c.to_status in (PlanStatus.DRAFT, PlanStatus.CANCELLED) else c.changed_on
        yield TimelineEvent(
            at=at, kind=KIND, title=f"{_TITLES[PlanStatus(c.to_status)]}（分納誓約#{p.pk}）", detail=c.note,
            amount=p.total, actor=str(c.changed_by) if c.changed_by else "",
        )  # fmt: skip
    instalments = PlanInstalment.objects.filter(
        plan__municipality_id=municipality_id, plan__taxpayer_id=taxpayer_id
    ).exclude(paid_on__isnull=True, missed_on__isnull=True)
    for i in instalments:
        if i.missed_on is not None and (since is None or i.missed_on >= since):
            yield TimelineEvent(
                at=i.missed_on, kind=KIND, title=f"分納 第{i.no}回 未納（分納誓約#{i.plan_id}）",
                detail=f"納付予定日 {i.due_on:%Y/%m/%d}", amount=i.amount,
            )  # fmt: skip
        if i.paid_on is not None and (since is None or i.paid_on >= since):
            yield TimelineEvent(
                at=i.paid_on, kind=KIND, title=f"分納 第{i.no}回 納付済（分納誓約#{i.plan_id}）",
                detail=f"納付予定日 {i.due_on:%Y/%m/%d}", amount=i.amount,
            )  # fmt: skip
