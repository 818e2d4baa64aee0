"""The chief's screen: register (secret shown once) and revoke; rights and municipality."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from conftest import login_verified
from django.contrib.auth.hashers import check_password
from django.test import Client

from choshu.accounts.models import Role
from choshu.api.models import SystemClient
from choshu.audit.models import AuditLog

pytestmark = pytest.mark.django_db


def test_a_chief_registers_a_client_and_sees_the_secret_once(
    municipality: Any, make_user: Callable[..., Any]
) -> None:
    chief = make_user("chief", role=Role.CHIEF, municipality=municipality)
    http = login_verified(Client(), chief)
    response = http.post(
        "/api-clients/",
        {
            "name": "宛名管理システム",
            "scopes": ["037:taxpayers:write", "037:balances:read"],
            "reason": "連携開始",
        },
    )
    assert response.status_code == 200
    client = SystemClient.objects.get()
    assert client.created_by == chief and client.scopes == ["037:balances:read", "037:taxpayers:write"]
    page = response.content.decode()
    assert "一度だけ表示" in page and client.client_id in page
    secret = response.context["registered"].secret
    assert secret in page and check_password(secret, client.secret_hash)
    # never again
    assert secret not in http.get("/api-clients/").content.decode()
    assert AuditLog.objects.filter(function="連携システムの登録", user=chief).exists()
    # revoke
    response = http.post("/api-clients/revoke/", {"client_id": client.client_id, "reason": "システム更改"})
    assert response.status_code == 302
    client.refresh_from_db()
    assert not client.active and client.revoked_by == chief and client.revoke_reason == "システム更改"
    assert AuditLog.objects.filter(function="連携システムの失効", user=chief).exists()


def test_the_screen_needs_the_settings_right_and_stays_in_its_municipality(
    municipality: Any, other_municipality: Any, make_user: Callable[..., Any], register: Callable[..., Any]
) -> None:
    clerk = make_user("clerk", role=Role.CLERK, municipality=municipality)
    http = login_verified(Client(), clerk)
    assert http.get("/api-clients/").status_code == 403
    assert (
        http.post("/api-clients/", {"name": "x", "scopes": ["037:slips:read"], "reason": "x"}).status_code
        == 403
    )
    assert not SystemClient.objects.exists()
    client_id, _ = register(municipality)
    other_chief = make_user("other", role=Role.CHIEF, municipality=other_municipality)
    http = login_verified(Client(), other_chief)
    assert client_id not in http.get("/api-clients/").content.decode()
    response = http.post("/api-clients/revoke/", {"client_id": client_id, "reason": "x"})
    assert response.status_code == 404
    assert SystemClient.objects.get(client_id=client_id).active


def test_bad_input_on_the_screen_is_a_form_error(municipality: Any, make_user: Callable[..., Any]) -> None:
    chief = make_user("chief", role=Role.CHIEF, municipality=municipality)
    http = login_verified(Client(), chief)
    response = http.post("/api-clients/", {"name": "a\x00b", "scopes": ["nonsense"], "reason": ""})
    assert response.status_code == 200 and not SystemClient.objects.exists()
    assert http.post("/api-clients/revoke/", {"client_id": "", "reason": ""}).status_code == 400
