"""``perms_choshu`` in every template: ``{% if perms_choshu.rights_admin %}`` shows a menu entry only
to users who hold that function-level right (``permissions.has_right``)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from choshu.accounts.models import User
from choshu.accounts.permissions import Right, has_right


class TemplateRights:
    """Answers ``perms_choshu.<right>`` with True or False; an unknown right name is False."""

    def __init__(self, user: Any) -> None:
        self._user = user

    def __getitem__(self, right: str) -> bool:
        return self._user is not None and right in Right.values and has_right(self._user, right)

    def __contains__(self, right: str) -> bool:
        return self[right]


def rights(request: HttpRequest) -> dict[str, Any]:
    user: User | None = getattr(request, "user", None)
    return {"perms_choshu": TemplateRights(user)}
