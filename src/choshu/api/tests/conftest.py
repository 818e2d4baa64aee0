from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import pytest
from django.test import Client

from choshu.accounts.models import Role


@pytest.fixture
def register(make_user: Callable[..., Any]) -> Callable[..., tuple[str, str]]:
    """Register a client through the service as that municipality's chief: (client_id, secret)."""
    from choshu.api.clients import SCOPES, client_register

    count = iter(range(1000))

    def make(municipality: Any, scopes: list[str] | None = None) -> tuple[str, str]:
        user = make_user(
            f"chief{municipality.code}-{next(count)}", role=Role.CHIEF, municipality=municipality
        )
        done = client_register(
            actor=user, municipality=municipality, name="宛名管理システム", scopes=scopes or list(SCOPES)
        )
        return done.client.client_id, done.secret

    return make


def basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def token_post(http: Client, data: dict[str, str], **headers: Any) -> Any:
    """POST to the token endpoint as RFC 6749 says: application/x-www-form-urlencoded."""
    return http.post(
        "/api/oauth/token", urlencode(data), content_type="application/x-www-form-urlencoded", **headers
    )


def get_token(http: Client, client_id: str, secret: str, scope: str = "") -> str:
    data = {"grant_type": "client_credentials"}
    if scope:
        data["scope"] = scope
    response = token_post(http, data, HTTP_AUTHORIZATION=basic(client_id, secret))
    assert response.status_code == 200, response.content.decode()
    return str(response.json()["access_token"])


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
