"""Behind the reverse proxy, the lockout and the audit log see the real client (issue 14 §6).

Both read ``audit.services.client_addr`` (the lockout through ``AXES_CLIENT_IP_CALLABLE``, every audit
record directly or through ``AuditClientMiddleware``), which asks ``core.client_ip``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from axes.models import AccessAttempt
from conftest import login_verified, totp_device, totp_now
from django.conf import settings as django_settings
from django.test import Client
from django.urls import reverse

from choshu.accounts.lockout import LOCKOUT_FUNCTION
from choshu.accounts.models import Role
from choshu.accounts.permissions import Right
from choshu.audit.models import AuditKind, AuditLog

PASSWORD = "correct horse 1"
PROXY = "10.0.0.5"
ATTACKER = "203.0.113.66"
DESK = "192.0.2.10"


@pytest.fixture(autouse=True)
def fast_password_hashing(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def chief(make_user: Callable[..., Any], municipality: Any) -> Any:
    user = make_user("kacho", role=Role.CHIEF, municipality=municipality)
    totp_device(user)
    return user


def _password(client: Client, username: str, password: str, **headers: Any) -> Any:
    return client.post(reverse("web:login"), {"username": username, "password": password}, **headers)


def _sign_in(client: Client, user: Any) -> int:
    first = _password(client, user.username, PASSWORD)
    if first.status_code != 302:
        return int(first.status_code)
    return int(client.post(reverse("web:login-otp"), {"token": totp_now(user)}).status_code)


def test_the_settings_use_the_same_address_for_the_lockout_and_the_audit_log() -> None:
    assert django_settings.AXES_CLIENT_IP_CALLABLE == "choshu.audit.services.client_addr"
    assert "choshu.accounts.middleware.AuditClientMiddleware" in django_settings.MIDDLEWARE
    assert django_settings.CHOSHU_TRUSTED_PROXIES == ()  # nothing is trusted unless configured


def test_behind_the_proxy_the_lockout_is_keyed_on_the_real_client(chief: Any, settings: Any) -> None:
    settings.CHOSHU_TRUSTED_PROXIES = (PROXY,)
    attacker = Client(REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=ATTACKER)
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _password(attacker, chief.username, "wrong-password-1")
    assert _password(attacker, chief.username, PASSWORD).status_code == 429
    assert list(AccessAttempt.objects.values_list("ip_address", flat=True)) == [ATTACKER]
    lock = AuditLog.objects.get(function=LOCKOUT_FUNCTION)
    assert lock.client_addr == ATTACKER
    # every request arrives from the proxy, yet the chief at the desk is not locked out
    desk = Client(REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=DESK)
    assert _sign_in(desk, chief) == 302
    login = AuditLog.objects.filter(kind=AuditKind.LOGIN, user=chief).order_by("-id").first()
    assert login is not None and login.client_addr == DESK


def test_without_a_trusted_proxy_the_header_cannot_pin_a_lockout_on_the_chief(
    chief: Any, settings: Any
) -> None:
    """An attacker sends the chief's desk address as X-Forwarded-For: it is the attacker who is locked."""
    attacker = Client(REMOTE_ADDR=ATTACKER, HTTP_X_FORWARDED_FOR=DESK)
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _password(attacker, chief.username, "wrong-password-1")
    assert list(AccessAttempt.objects.values_list("ip_address", flat=True)) == [ATTACKER]
    assert AuditLog.objects.get(function=LOCKOUT_FUNCTION).client_addr == ATTACKER
    assert _sign_in(Client(REMOTE_ADDR=DESK), chief) == 302


def test_a_changing_forged_header_does_not_escape_the_lockout(chief: Any, settings: Any) -> None:
    settings.CHOSHU_TRUSTED_PROXIES = ("10.0.0.0/24",)
    attacker = Client(REMOTE_ADDR=ATTACKER)  # not a proxy: its headers are its own invention
    for n in range(settings.AXES_FAILURE_LIMIT):
        _password(attacker, chief.username, "wrong-password-1", HTTP_X_FORWARDED_FOR=f"198.51.100.{n}")
    refused = _password(attacker, chief.username, PASSWORD, HTTP_X_FORWARDED_FOR="198.51.100.200")
    assert refused.status_code == 429


def test_records_written_by_services_behind_the_proxy_carry_the_client(
    chief: Any, make_user: Callable[..., Any], municipality: Any, settings: Any
) -> None:
    """A change recorded by a service that is not given the request (``right_set``) carries the client
    address through ``AuditClientMiddleware``; a malformed header gives the proxy, never the header."""
    settings.CHOSHU_TRUSTED_PROXIES = (PROXY,)
    clerk = make_user("tanto", role=Role.CLERK, municipality=municipality)
    url = reverse("accounts:user-detail", args=[clerk.pk])
    form = {"right": Right.DISCLOSURE_EXPORT, "action": "grant", "reason": "開示請求の応援"}
    behind = login_verified(Client(REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=f"{ATTACKER}, {DESK}"), chief)
    assert behind.post(url, form).status_code == 302
    change = AuditLog.objects.filter(function="権限変更").order_by("-id").first()
    assert change is not None and change.user == chief and change.client_addr == DESK
    junk = login_verified(Client(REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="unknown"), chief)
    assert junk.post(url, {**form, "action": "revoke"}).status_code == 302
    revoke = AuditLog.objects.filter(function="権限変更").order_by("-id").first()
    assert revoke is not None and revoke.detail["granted"] is False and revoke.client_addr == PROXY
