"""The rights of issue 20: the operator's right is the role's only one, and no staff role may hold it."""

from __future__ import annotations

from choshu.accounts.models import Role
from choshu.accounts.permissions import ROLE_CEILING, ROLE_DEFAULTS, Right


def test_the_operator_holds_only_the_call_right_and_no_staff_role_can() -> None:
    assert (
        ROLE_DEFAULTS[Role.CALLCENTER_OPERATOR]
        == ROLE_CEILING[Role.CALLCENTER_OPERATOR]
        == {Right.CALLCENTER_CALL}
    )
    for role in Role.values:
        if role != Role.CALLCENTER_OPERATOR:
            assert Right.CALLCENTER_CALL not in ROLE_CEILING[role], role
    assert Right.CALLCENTER_MANAGE in ROLE_DEFAULTS[Role.CHIEF]
    assert Right.CALLCENTER_MANAGE in ROLE_CEILING[Role.CASE_OFFICER]
    assert Right.CALLCENTER_MANAGE not in ROLE_CEILING[Role.WINDOW_CONTRACTOR]
