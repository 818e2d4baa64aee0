"""The case follows its payment plan (issue 18 §5): pledged → 分納中; defaulted, cancelled or completed
→ 交渉中 (only from 分納中: a stage an officer set since is left alone).

``plans`` sits below ``cases`` and cannot call its services, so it sends ``plans.signals.
plan_status_changed`` (inside its own transaction) and this receiver, connected in ``CasesConfig.
ready``, writes the stage history rows and the change record in that same transaction. Chosen over
cases-run reading plan statuses because the stage then moves the moment the pledge is recorded (the
officer sees 分納中 on the case page at once) and over a registry in core because Django's signals are
exactly that registry, already there."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.utils import timezone

from choshu.audit.models import AuditKind, AuditSubjectType
from choshu.audit.services import audit_record
from choshu.cases.models import Case, Stage, StageChange
from choshu.core.models import Municipality
from choshu.plans.models import PlanStatus

NOTES = {
    PlanStatus.PLEDGED: "分納誓約#{}の誓約",
    PlanStatus.DEFAULTED: "分納誓約#{}の不履行",
    PlanStatus.CANCELLED: "分納誓約#{}の取消",
    PlanStatus.COMPLETED: "分納誓約#{}の履行完了",
}


def follow_plans(
    sender: Any, *, municipality_id: int, changes: list[tuple[int, int, str]], on: date, actor: Any = None,
    **_: Any,
) -> None:  # fmt: skip
    wanted = {tp: (plan_id, status) for tp, plan_id, status in changes}
    cases = Case.objects.select_for_update().filter(
        municipality_id=municipality_id, taxpayer_id__in=list(wanted), closed_on__isnull=True
    )
    now = timezone.now()
    history, moved = [], []
    for case in cases:
        plan_id, status = wanted[case.taxpayer_id]
        if status == PlanStatus.PLEDGED:
            target = Stage.PLAN
        elif case.stage == Stage.PLAN:
            target = Stage.NEGOTIATING
        else:
            continue
        if case.stage == target:
            continue
        history.append(
            StageChange(
                case=case,
                from_stage=case.stage,
                to_stage=target,
                changed_on=on,
                changed_at=now,
                changed_by=actor,
                note=NOTES[PlanStatus(status)].format(plan_id),
            )  # fmt: skip
        )
        moved.append((case, case.stage, target))
        case.stage = target
    if not moved:
        return
    StageChange.objects.bulk_create(history)
    Case.objects.bulk_update([c for c, _, _ in moved], ["stage"])
    audit_record(
        kind=AuditKind.CHANGE,
        function="滞納案件の進行状況の変更（分納誓約による）",
        municipality=Municipality.objects.get(pk=municipality_id),
        user=actor,
        subject_type=AuditSubjectType.TAXPAYER,
        subject_ids=sorted(c.taxpayer_id for c, _, _ in moved),
        detail={"cases": [[c.pk, before, after] for c, before, after in moved]},
    )
