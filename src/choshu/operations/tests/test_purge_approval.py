"""A real purge needs an operator with the purge right and a second person's approval (issue 14 §6)."""

from __future__ import annotations

import json
from collections.abc import Callable
from io import StringIO
from typing import Any

import pytest
from conftest import login_verified
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.urls import reverse

from choshu.accounts.models import Role
from choshu.accounts.permissions import ROLE_DEFAULTS, Right
from choshu.accounts.services import right_set
from choshu.approvals.models import ApprovalStatus, ChangeRequest, RequestKind
from choshu.core.commands import EXIT_REFUSED
from choshu.operations.tests.test_purge import city as city  # noqa: F401 - the fixture
from choshu.taxpayers.models import Taxpayer

AS_OF = "2026-11-26"


def _purge(*args: str) -> dict[str, Any]:
    out = StringIO()
    call_command("purge", "--json", *args, stdout=out)
    return dict(json.loads(out.getvalue().strip().splitlines()[-1]))


def _refused(*args: str) -> str:
    with pytest.raises(CommandError) as refused:
        _purge(*args)
    assert refused.value.returncode == EXIT_REFUSED
    return str(refused.value)


@pytest.fixture
def staff(city: Any, make_user: Callable[..., Any]) -> dict[str, Any]:
    users = {
        "a": make_user("kacho-a", role=Role.CHIEF, municipality=city),
        "b": make_user("kacho-b", role=Role.CHIEF, municipality=city),
        "clerk": make_user("tanto", role=Role.CLERK, municipality=city),
    }
    right_set(actor=users["b"], user=users["a"], right=Right.PURGE, granted=True, reason="年次の消去の担当")
    return users


def test_no_role_holds_the_purge_right_by_default() -> None:
    assert not any(Right.PURGE in rights for rights in ROLE_DEFAULTS.values())


def test_a_real_purge_without_a_request_and_approval_is_refused(staff: dict[str, Any]) -> None:
    assert "二人目の確認が必要" in _refused("--as-of", AS_OF)
    assert "二人目の確認が必要" in _refused("--as-of", AS_OF, "--operator", "kacho-a")
    assert Taxpayer.objects.count() == 4
    assert _purge("--as-of", AS_OF, "--dry-run")["deleted"] == 1  # a dry run needs nobody
    assert Taxpayer.objects.count() == 4


def test_only_an_operator_with_the_purge_right_may_request(staff: dict[str, Any]) -> None:
    assert "--operator" in _refused("--as-of", AS_OF, "--request", "--reason", "年次")
    assert "権限がありません" in _refused(
        "--as-of", AS_OF, "--operator", "kacho-b", "--request", "--reason", "年次"
    )
    assert "権限がありません" in _refused(
        "--as-of", AS_OF, "--operator", "tanto", "--request", "--reason", "年次"
    )
    assert not ChangeRequest.objects.exists()


def test_the_request_shows_what_goes_and_a_different_approver_runs_it(staff: dict[str, Any]) -> None:
    asked = _purge("--as-of", AS_OF, "--operator", "kacho-a", "--request", "--reason", "令和8年度の消去")
    assert (asked["would_delete"], asked["kept"], asked["examined"]) == (1, 3, 4)
    assert Taxpayer.objects.count() == 4  # nothing deleted yet
    req = ChangeRequest.objects.get(pk=asked["request_id"])
    assert req.kind == RequestKind.PURGE and req.status == ApprovalStatus.PENDING
    rid = str(req.pk)
    assert "自分の申請は決裁できません" in _refused("--operator", "kacho-a", "--approve", rid)
    assert "決裁する権限がありません" in _refused("--operator", "tanto", "--approve", rid)
    assert Taxpayer.objects.count() == 4
    done = _purge("--operator", "kacho-b", "--approve", rid)
    assert done["deleted"] == 1 and done["status"] == ApprovalStatus.APPROVED
    assert sorted(Taxpayer.objects.values_list("taxpayer_no", flat=True)) == ["2", "3", "4"]
    assert "既に「承認」です" in _refused("--operator", "kacho-b", "--approve", rid)


def test_the_approvals_screen_approves_a_purge(staff: dict[str, Any]) -> None:
    asked = _purge("--as-of", AS_OF, "--operator", "kacho-a", "--request", "--reason", "令和8年度の消去")
    chief_b = login_verified(Client(), staff["b"])
    detail = chief_b.get(reverse("approvals:detail", args=[asked["request_id"]]))
    assert detail.status_code == 200 and "保存期間経過データの消去" in detail.content.decode()
    assert "消去予定（人）" in detail.content.decode()
    response = chief_b.post(reverse("approvals:approve", args=[asked["request_id"]]))
    assert response.status_code == 302 and response["Location"] == reverse("approvals:queue")
    assert Taxpayer.objects.count() == 3
