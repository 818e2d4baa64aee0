"""Sign-in: password, then the mandatory second factor (TOTP); lockout after repeated failures."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import totp_device, totp_now
from django.test import Client
from django.urls import reverse

from choshu.audit.models import AuditKind, AuditLog

PASSWORD = "correct horse 1"


def password_step(client: Client, username: str = "clerk", password: str = PASSWORD) -> Any:
    return client.post(reverse("web:login"), {"username": username, "password": password})


def test_the_password_alone_signs_nobody_in(client: Client, clerk: Any) -> None:
    assert password_step(client)["Location"] == reverse("web:login-otp")
    response = client.get(reverse("web:search"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("web:login"))


def test_a_wrong_code_is_refused_and_logged(client: Client, clerk: Any) -> None:
    totp_device(clerk)
    password_step(client)
    right = totp_now(clerk)
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    response = client.post(reverse("web:login-otp"), {"token": wrong})
    assert response.status_code == 200 and "確認コードが正しくない" in response.content.decode()
    assert client.get(reverse("web:search")).status_code == 302
    log = AuditLog.objects.get(kind=AuditKind.LOGIN_FAILED)
    assert log.detail["stage"] == "otp" and log.detail["username"] == "clerk"


def test_the_code_page_without_a_checked_password_goes_back_to_login(client: Client, clerk: Any) -> None:
    response = client.post(reverse("web:login-otp"), {"token": "123456"})
    assert response["Location"] == reverse("web:login")


def test_a_user_without_a_registered_device_cannot_finish_signing_in(client: Client, clerk: Any) -> None:
    password_step(client)
    response = client.post(reverse("web:login-otp"), {"token": "123456"})
    assert "二要素認証が登録されていません" in response.content.decode()
    assert client.get(reverse("web:search")).status_code == 302


def test_a_session_without_the_second_factor_is_ended(client: Client, clerk: Any) -> None:
    client.force_login(clerk)  # authenticated, not OTP-verified
    response = client.get(reverse("web:search"))
    assert response.status_code == 302 and response["Location"] == reverse("web:login")
    assert "_auth_user_id" not in client.session


def test_repeated_wrong_passwords_lock_the_user_name(client: Client, clerk: Any, settings: Any) -> None:
    for _ in range(settings.AXES_FAILURE_LIMIT):
        password_step(client, password="wrong-password-1")
    response = password_step(client)  # even the right password is now refused
    assert response.status_code == 429
    assert "ログインを一時停止" in response.content.decode()
    assert "choshu_pending_user" not in client.session


@pytest.mark.parametrize("field", ["", "12345", "abcdef", "1234567"])
def test_a_malformed_code_gets_a_clear_message(client: Client, clerk: Any, field: str) -> None:
    totp_device(clerk)
    password_step(client)
    response = client.post(reverse("web:login-otp"), {"token": field})
    assert response.status_code == 200
    assert "確認コード" in response.content.decode()


def test_a_user_name_longer_than_any_account_is_refused_in_the_form(client: Client, clerk: Any) -> None:
    """Found by the fuzzer (core/tests/test_malformed_input.py): a 5,000-character name went on to the
    lockout's record of failures (255 characters on PostgreSQL) and the page answered 500."""
    from axes.models import AccessAttempt

    response = password_step(client, username="x" * 5000, password="wrong-password-1")
    assert response.status_code == 200
    assert "ユーザー名は150文字以内で入力してください。" in response.content.decode()
    assert not AccessAttempt.objects.exists()
    assert password_step(client).status_code == 302  # a name of ordinary length still signs in
