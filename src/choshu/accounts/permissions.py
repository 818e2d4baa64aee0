"""Function-level rights per role (権限).

Each right names one business function. A view or command checks ``has_right(user, Right.X)``;
rights are scoped to the user's municipality by the selectors that fetch data.
"""

from __future__ import annotations

from django.db import models

from choshu.accounts.models import Role, User


class Right(models.TextChoices):
    TAXPAYER_VIEW = "taxpayer_view", "宛名・収納状況の照会"
    TAXPAYER_SEARCH = "taxpayer_search", "宛名検索"
    MY_NUMBER_REVEAL = "my_number_reveal", "個人番号の表示"
    AUDIT_VIEW = "audit_view", "アクセスログの閲覧"


ROLE_RIGHTS: dict[str, frozenset[str]] = {
    Role.CLERK: frozenset({Right.TAXPAYER_VIEW, Right.TAXPAYER_SEARCH}),
    Role.CASE_OFFICER: frozenset({Right.TAXPAYER_VIEW, Right.TAXPAYER_SEARCH, Right.MY_NUMBER_REVEAL}),
    Role.CHIEF: frozenset({Right.TAXPAYER_VIEW, Right.TAXPAYER_SEARCH, Right.MY_NUMBER_REVEAL}),
    Role.WINDOW_CONTRACTOR: frozenset({Right.TAXPAYER_VIEW, Right.TAXPAYER_SEARCH}),
    Role.CALLCENTER_OPERATOR: frozenset(),
    Role.SUPPORT_CONTRACTOR: frozenset(),
    Role.AUDITOR: frozenset({Right.AUDIT_VIEW}),
}


def has_right(user: User, right: str) -> bool:
    if not user.is_authenticated or not user.is_active or user.municipality_id is None:
        return False
    return right in ROLE_RIGHTS.get(user.role, frozenset())
