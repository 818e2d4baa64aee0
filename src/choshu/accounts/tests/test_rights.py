"""Rights per role, granted and revoked by section chiefs (seed section III), and the bootstrap command."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from choshu.accounts.models import RightChange, Role, User
from choshu.accounts.permissions import ROLE_CEILING, ROLE_DEFAULTS, Right, effective_rights, has_right
from choshu.accounts.services import right_set, rights_review
from choshu.audit.models import AuditLog


@pytest.mark.parametrize("role", Role.values)
def test_every_role_starts_with_its_defaults_within_its_ceiling(
    municipality: Any, make_user: Callable, role: str
) -> None:
    user = make_user(f"u-{role}", role=role, municipality=municipality)
    assert effective_rights(user) == ROLE_DEFAULTS[role]
    assert ROLE_DEFAULTS[role] <= ROLE_CEILING[role]


def test_outsourced_and_audit_roles_never_reach_my_numbers_or_approvals() -> None:
    for role in (Role.WINDOW_CONTRACTOR, Role.CALLCENTER_OPERATOR, Role.SUPPORT_CONTRACTOR, Role.AUDITOR):
        assert Right.MY_NUMBER_REVEAL not in ROLE_CEILING[role]
        assert Right.APPROVE not in ROLE_CEILING[role]
    assert Right.TAXPAYER_VIEW not in ROLE_CEILING[Role.SUPPORT_CONTRACTOR]
    assert ROLE_CEILING[Role.AUDITOR] <= {Right.AUDIT_VIEW, Right.RIGHTS_REPORT}


def test_a_chief_grants_and_revokes_and_every_change_is_recorded(
    municipality: Any, make_user: Callable
) -> None:
    chief = make_user("chief", role=Role.CHIEF, municipality=municipality)
    clerk = make_user("clerk", role=Role.CLERK, municipality=municipality)
    assert not has_right(clerk, Right.MY_NUMBER_REVEAL)
    right_set(
        actor=chief, user=clerk, right=Right.MY_NUMBER_REVEAL, granted=True, reason="番号利用事務の担当"
    )
    clerk = User.objects.get(pk=clerk.pk)
    assert has_right(clerk, Right.MY_NUMBER_REVEAL)
    right_set(actor=chief, user=clerk, right=Right.TAXPAYER_EDIT, granted=False, reason="異動")
    clerk = User.objects.get(pk=clerk.pk)
    assert not has_right(clerk, Right.TAXPAYER_EDIT)
    changes = list(
        RightChange.objects.filter(user=clerk).order_by("id").values_list("action", "right", "changed_by")
    )
    assert changes == [("grant", "my_number_reveal", chief.pk), ("revoke", "taxpayer_edit", chief.pk)]
    assert AuditLog.objects.filter(function="権限変更", user=chief).count() == 2


def test_a_right_beyond_the_roles_ceiling_is_refused(municipality: Any, make_user: Callable) -> None:
    chief = make_user("chief", role=Role.CHIEF, municipality=municipality)
    window = make_user("window", role=Role.WINDOW_CONTRACTOR, municipality=municipality)
    with pytest.raises(ValidationError):
        right_set(actor=chief, user=window, right=Right.MY_NUMBER_REVEAL, granted=True, reason="依頼")
    assert not RightChange.objects.filter(user=window).exists()


def test_only_a_chief_of_the_same_municipality_changes_rights_and_never_their_own(
    municipality: Any, other_municipality: Any, make_user: Callable
) -> None:
    chief = make_user("chief", role=Role.CHIEF, municipality=municipality)
    clerk = make_user("clerk", role=Role.CLERK, municipality=municipality)
    other_chief = make_user("soka-chief", role=Role.CHIEF, municipality=other_municipality)
    with pytest.raises(PermissionDenied):
        right_set(actor=clerk, user=clerk, right=Right.APPROVE, granted=True, reason="x")
    with pytest.raises(PermissionDenied):
        right_set(actor=other_chief, user=clerk, right=Right.APPROVE, granted=True, reason="x")
    with pytest.raises(PermissionDenied):
        right_set(actor=chief, user=chief, right=Right.BACKUP, granted=True, reason="x")
    with pytest.raises(ValidationError):
        right_set(actor=chief, user=clerk, right=Right.APPROVE, granted=True, reason=" ")


def test_the_rights_review_lists_every_account_with_its_effective_rights(
    municipality: Any, make_user: Callable
) -> None:
    make_user("a-clerk", role=Role.CLERK, municipality=municipality)
    make_user("b-audit", role=Role.AUDITOR, municipality=municipality)
    rows = rights_review(municipality=municipality)
    assert [r["username"] for r in rows] == ["a-clerk", "b-audit"]
    assert rows[1]["rights"] == [Right.RIGHTS_REPORT.label, Right.AUDIT_VIEW.label]


def test_a_user_of_no_municipality_or_inactive_has_no_rights(municipality: Any, make_user: Callable) -> None:
    user = make_user("gone", role=Role.CHIEF, municipality=municipality)
    user.is_active = False
    assert not has_right(user, Right.TAXPAYER_VIEW)
    floating = User(username="x", role=Role.CHIEF)
    assert not has_right(floating, Right.TAXPAYER_VIEW)


@pytest.mark.usefixtures("production_password_hashers")
def test_create_user_reads_the_password_from_stdin_and_prints_the_totp_uri_once(
    municipality: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("a long enough passphrase 42\n"))
    out = io.StringIO()
    call_command("create_user", "kacho", "--role", "chief", "--json", stdout=out)
    payload = json.loads(out.getvalue().strip().splitlines()[-1])
    assert payload["otpauth_uri"].startswith("otpauth://totp/")
    user = User.objects.get(username="kacho")
    assert user.check_password("a long enough passphrase 42") and user.password.startswith("argon2")
    assert user.role == Role.CHIEF and user.municipality == municipality
    device = TOTPDevice.objects.get(user=user)
    assert device.verify_token(totp(device.bin_key, device.step, device.t0, device.digits, device.drift))
    assert "a long enough passphrase" not in json.dumps(list(AuditLog.objects.values("detail")))


def test_create_user_refuses_a_weak_password_and_an_unknown_role(
    municipality: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("123\n"))
    with pytest.raises(CommandError) as exc:
        call_command("create_user", "weak", "--role", "clerk", stdout=io.StringIO())
    assert exc.value.returncode == 2
    assert not User.objects.filter(username="weak").exists()
    with pytest.raises(CommandError):
        call_command("create_user", "x", "--role", "boss", stdout=io.StringIO())
