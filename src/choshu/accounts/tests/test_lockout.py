"""Lockout by user name *and* address: an anonymous client cannot lock a chief out (issue 14 §2)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from axes.models import AccessAttempt
from conftest import login_verified, totp_device, totp_now
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from choshu.accounts.lockout import LOCKOUT_FUNCTION, UNLOCK_FUNCTION, cool_off_for
from choshu.accounts.models import Role
from choshu.audit.models import AuditKind, AuditLog

PASSWORD = "correct horse 1"
ATTACKER = "203.0.113.66"
DESK = "192.0.2.10"


@pytest.fixture(autouse=True)
def fast_password_hashing(settings: Any) -> None:
    """Argon2 takes about 0.2 s per check; these tests are about lockout, not password hashing."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def chief(make_user: Callable[..., Any], municipality: Any) -> Any:
    user = make_user("kacho", role=Role.CHIEF, municipality=municipality)
    totp_device(user)
    return user


def _password(client: Client, username: str, password: str) -> Any:
    return client.post(reverse("web:login"), {"username": username, "password": password})


def _sign_in(client: Client, user: Any) -> Any:
    """The real flow: password, then the TOTP code."""
    first = _password(client, user.username, PASSWORD)
    if first.status_code != 302:
        return first
    return client.post(reverse("web:login-otp"), {"token": totp_now(user)})


def _lock(username: str, address: str, limit: int) -> Client:
    attacker = Client(REMOTE_ADDR=address)
    for _ in range(limit):
        _password(attacker, username, "wrong-password-1")
    return attacker


def test_an_anonymous_client_elsewhere_cannot_lock_the_chief_out(chief: Any, settings: Any) -> None:
    attacker = _lock(chief.username, ATTACKER, settings.AXES_FAILURE_LIMIT + 3)
    # the attacker's own address is locked, even with the right password
    refused = _password(attacker, chief.username, PASSWORD)
    assert refused.status_code == 429
    assert "ログインを一時停止" in refused.content.decode()
    # the chief at their desk signs in with password and code
    desk = Client(REMOTE_ADDR=DESK)
    signed_in = _sign_in(desk, chief)
    assert signed_in.status_code == 302
    assert desk.get(reverse("accounts:user-list")).status_code == 200
    # the lockout is in the audit log once, with the attacker's address and the user name typed
    locks = AuditLog.objects.filter(function=LOCKOUT_FUNCTION)
    assert locks.count() == 1
    lock = locks.get()
    assert lock.kind == AuditKind.LOGIN_FAILED and lock.client_addr == ATTACKER
    assert lock.detail["username"] == "kacho" and lock.detail["lockout_no"] == 1
    assert lock.detail["cool_off_minutes"] == settings.CHOSHU_LOGIN_LOCKOUT_MINUTES
    assert lock.municipality == chief.municipality and lock.subject_ids == [chief.pk]


def test_repeated_lockouts_grow_the_cool_off(chief: Any, settings: Any) -> None:
    base = timedelta(minutes=settings.CHOSHU_LOGIN_LOCKOUT_MINUTES)
    assert [cool_off_for(n) for n in (1, 2, 3)] == [base, base * 2, base * 4]
    assert cool_off_for(30) == timedelta(hours=settings.CHOSHU_LOGIN_LOCKOUT_MAX_HOURS)
    _lock(chief.username, ATTACKER, settings.AXES_FAILURE_LIMIT)
    # the first cool-off has passed: the failures are older than it
    AccessAttempt.objects.update(attempt_time=timezone.now() - base - timedelta(minutes=1))
    attacker = Client(REMOTE_ADDR=ATTACKER)
    assert _password(attacker, chief.username, "wrong-password-1").status_code == 200  # allowed again
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        _password(attacker, chief.username, "wrong-password-1")
    second = AuditLog.objects.filter(function=LOCKOUT_FUNCTION).order_by("-id").first()
    assert second is not None and second.detail["lockout_no"] == 2
    assert second.detail["cool_off_minutes"] == 2 * settings.CHOSHU_LOGIN_LOCKOUT_MINUTES
    # after the base cool-off the second lockout still holds (it lasts twice as long)
    AccessAttempt.objects.update(attempt_time=timezone.now() - base - timedelta(minutes=1))
    assert _password(attacker, chief.username, PASSWORD).status_code == 429


def test_the_chief_unlocks_from_the_screen(
    chief: Any, make_user: Callable[..., Any], municipality: Any, settings: Any
) -> None:
    clerk = make_user("tanto", role=Role.CLERK, municipality=municipality)
    totp_device(clerk)
    _lock(clerk.username, ATTACKER, settings.AXES_FAILURE_LIMIT)
    chief_client = login_verified(Client(), chief)
    page = chief_client.get(reverse("accounts:lockout-list"))
    assert page.status_code == 200
    assert "tanto" in page.content.decode() and ATTACKER in page.content.decode()
    response = chief_client.post(
        reverse("accounts:lockout-unlock"),
        {"username": "tanto", "address": ATTACKER, "reason": "本人の入力誤りを電話で確認"},
    )
    assert response.status_code == 302
    assert not AccessAttempt.objects.filter(username="tanto").exists()
    log = AuditLog.objects.get(function=UNLOCK_FUNCTION)
    assert log.kind == AuditKind.CHANGE and log.user == chief and log.subject_ids == [clerk.pk]
    assert log.detail["reason"] == "本人の入力誤りを電話で確認" and log.detail["cleared"] == 1
    assert _sign_in(Client(REMOTE_ADDR=ATTACKER), clerk).status_code == 302


def test_the_cli_unlocks_one_address(chief: Any, settings: Any) -> None:
    _lock(chief.username, ATTACKER, settings.AXES_FAILURE_LIMIT)
    _lock(chief.username, "198.51.100.7", settings.AXES_FAILURE_LIMIT)
    out = StringIO()
    call_command("unlock_user", "kacho", "--ip", ATTACKER, "--json", stdout=out)
    assert json.loads(out.getvalue().splitlines()[-1])["cleared"] == 1
    assert list(AccessAttempt.objects.values_list("ip_address", flat=True)) == ["198.51.100.7"]
    assert _sign_in(Client(REMOTE_ADDR=ATTACKER), chief).status_code == 302
    assert AuditLog.objects.get(function=UNLOCK_FUNCTION).detail["via"] == "コマンド"


def test_lockout_screens_need_the_admin_right_and_stay_in_the_municipality(
    client: Client,
    chief: Any,
    make_user: Callable[..., Any],
    municipality: Any,
    other_municipality: Any,
    settings: Any,
) -> None:
    list_url, unlock_url = reverse("accounts:lockout-list"), reverse("accounts:lockout-unlock")
    assert client.get(list_url)["Location"].startswith(reverse("web:login"))
    assert client.post(unlock_url, {"username": "kacho", "reason": "x"}).status_code == 302
    clerk = login_verified(Client(), make_user("tanto", role=Role.CLERK, municipality=municipality))
    assert clerk.get(list_url).status_code == 403
    assert clerk.post(unlock_url, {"username": "kacho", "reason": "x"}).status_code == 403
    stranger = make_user("yoso", role=Role.CLERK, municipality=other_municipality)
    _lock(stranger.username, ATTACKER, settings.AXES_FAILURE_LIMIT)
    chief_client = login_verified(Client(), chief)
    assert "yoso" not in chief_client.get(list_url).content.decode()
    response = chief_client.post(unlock_url, {"username": "yoso", "reason": "x"})
    assert response.status_code == 404
    assert AccessAttempt.objects.filter(username="yoso").exists()


@pytest.mark.parametrize("name", ["\x00", "kacho\x00"])
def test_a_control_character_in_the_name_typed_while_locked_is_refused_not_a_500(
    chief: Any, settings: Any, name: str
) -> None:
    """Found by the fuzzer (core/tests/test_malformed_input.py): while an address was locked out, a
    POST naming a user with NUL made the cool-off look the name up in the audit log, which PostgreSQL
    refused (JSON text cannot hold NUL): 500. No account's name holds a control character."""
    attacker = _lock(chief.username, ATTACKER, settings.AXES_FAILURE_LIMIT)
    for url in (reverse("web:login"), reverse("web:logout")):
        response = attacker.post(url, {"username": name, "password": "wrong-password-1"})
        assert response.status_code < 500, (url, response.status_code)
    assert _password(attacker, chief.username, PASSWORD).status_code == 429  # still locked
    assert AuditLog.objects.filter(function=LOCKOUT_FUNCTION).count() == 1
