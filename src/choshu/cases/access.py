"""Who may see and change which case: ``case_work`` for the cases of one's own team (班), and
``case_manage`` (the chief) for every case of the municipality. The one place the team scope is
decided; views ask ``visible_cases`` and services ``check_case``."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet

from choshu.accounts.permissions import Right, has_right
from choshu.cases.models import Case


def sees_all_teams(user: Any) -> bool:
    return has_right(user, Right.CASE_MANAGE)


def visible_cases(user: Any) -> QuerySet[Case]:
    """The cases ``user`` may open: of the user's municipality, and of the user's team unless the user
    holds ``case_manage`` (a user without a team sees none)."""
    if not has_right(user, Right.CASE_WORK):
        return Case.objects.none()
    qs = Case.objects.filter(municipality_id=user.municipality_id)
    if sees_all_teams(user):
        return qs
    if not user.team:
        return Case.objects.none()
    return qs.filter(team=user.team)


def may_see(user: Any, case: Case) -> bool:
    if not has_right(user, Right.CASE_WORK) or case.municipality_id != user.municipality_id:
        return False
    return sees_all_teams(user) or (bool(user.team) and case.team == user.team)


def check_case(user: Any, case: Case) -> None:
    if not may_see(user, case):
        raise PermissionDenied("この滞納案件を扱う権限がありません（担当班の案件ではありません）")
