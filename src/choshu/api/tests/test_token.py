"""The token endpoint: client_secret_basic and client_secret_jwt (RFC 7523), errors per RFC 6749 §5.2."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

import jwt
import pytest
from django.test import Client

from choshu.api.tests.conftest import basic, bearer, get_token, token_post
from choshu.audit.models import AuditKind, AuditLog

pytestmark = pytest.mark.django_db
AUD = "http://testserver/api/oauth/token"
JWT_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def assertion(client_id: str, secret: str, **changes: Any) -> str:
    claims = {
        "iss": client_id,
        "sub": client_id,
        "aud": AUD,
        "exp": int(time.time()) + 120,
        "jti": str(uuid.uuid4()),
    }
    claims.update(changes)
    return jwt.encode({k: v for k, v in claims.items() if v is not None}, secret, algorithm="HS256")


def jwt_post(http: Client, token: str) -> Any:
    return token_post(
        http,
        {"grant_type": "client_credentials", "client_assertion_type": JWT_TYPE, "client_assertion": token},
    )


def test_client_secret_jwt_gives_a_token_once_per_jti(
    municipality: Any, register: Callable[..., tuple[str, str]]
) -> None:
    http = Client()
    client_id, secret = register(municipality)
    signed = assertion(client_id, secret)
    response = jwt_post(http, signed)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 600
    assert "no-store" in response["Cache-Control"]
    assert http.get("/api/v1/payments", headers=bearer(body["access_token"])).status_code == 200
    # the same assertion again (its jti) is refused
    replay = jwt_post(http, signed)
    assert replay.status_code == 401
    assert replay.json()["error"] == "invalid_client"
    assert "jti" in replay.json()["error_description"]


@pytest.mark.parametrize(
    ("changes", "key"),
    [
        ({"aud": "https://elsewhere.example/token"}, None),
        ({"exp": int(time.time()) - 10}, None),
        ({"exp": int(time.time()) + 3600}, None),
        ({"sub": "someone-else"}, None),
        ({"jti": None}, None),
        ({}, "wrong secret"),
        ({"iss": "unknown-client"}, None),
    ],
)
def test_a_bad_assertion_is_refused(
    municipality: Any, register: Callable[..., tuple[str, str]], changes: dict[str, Any], key: str | None
) -> None:
    http = Client()
    client_id, secret = register(municipality)
    response = jwt_post(http, assertion(client_id, key or secret, **changes))
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert AuditLog.objects.filter(kind=AuditKind.LOGIN_FAILED, function="連携システムの認証失敗").exists()


def test_an_unsigned_or_other_algorithm_assertion_is_refused(
    municipality: Any, register: Callable[..., tuple[str, str]]
) -> None:
    http = Client()
    client_id, secret = register(municipality)
    claims = {"iss": client_id, "sub": client_id, "aud": AUD, "exp": int(time.time()) + 60, "jti": "a"}
    for token in (
        jwt.encode(claims, "", algorithm="none"),
        jwt.encode(claims, secret, algorithm="HS512"),
        "junk",
    ):
        response = jwt_post(http, token)
        assert response.status_code == 401 and response.json()["error"] == "invalid_client"


@pytest.mark.parametrize(
    ("data", "error", "status"),
    [
        ({}, "invalid_request", 400),
        ({"grant_type": "password"}, "unsupported_grant_type", 400),
        ({"grant_type": "client_credentials"}, "invalid_client", 401),
    ],
)
def test_oauth_errors_are_rfc6749_json(db: Any, data: dict[str, str], error: str, status: int) -> None:
    response = token_post(Client(), data)
    assert response.status_code == status
    body = response.json()
    assert body["error"] == error and body["error_description"]


def test_wrong_secret_wrong_method_and_wrong_content_type(
    municipality: Any, register: Callable[..., tuple[str, str]]
) -> None:
    http = Client()
    client_id, secret = register(municipality)
    bad = token_post(http, {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=basic(client_id, "nope"))
    assert bad.status_code == 401 and bad.json()["error"] == "invalid_client"
    assert http.get("/api/oauth/token").status_code == 405
    multipart = http.post(
        "/api/oauth/token", {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=basic(client_id, secret)
    )
    assert multipart.status_code == 400 and multipart.json()["error"] == "invalid_request"
    junk = token_post(http, {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION="Basic %%%")
    assert junk.status_code == 401


def test_an_address_guessing_secrets_is_slowed_down_and_others_are_not(
    municipality: Any, register: Callable[..., tuple[str, str]], settings: Any
) -> None:
    """After CHOSHU_API_AUTH_FAILURES failed authentications from one address in the window, that address
    gets 429 with Retry-After — even with the right secret — while another address still gets its token."""
    settings.CHOSHU_API_AUTH_FAILURES = 3
    client_id, secret = register(municipality)
    http = Client(REMOTE_ADDR="192.0.2.7")
    for _ in range(3):
        wrong = token_post(
            http, {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=basic(client_id, "x")
        )
        assert wrong.status_code == 401
    right = token_post(
        http, {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=basic(client_id, secret)
    )
    assert right.status_code == 429 and right["Retry-After"] == "60"
    assert right.json()["error"] == "invalid_client" and "15分間に3回" in right.json()["error_description"]
    failures = AuditLog.objects.filter(function="連携システムの認証失敗", client_addr="192.0.2.7")
    assert failures.count() == 3  # the refusals while slowed down are not counted again
    elsewhere = Client(REMOTE_ADDR="192.0.2.8")
    ok = token_post(
        elsewhere, {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=basic(client_id, secret)
    )
    assert ok.status_code == 200


def test_a_client_asking_for_tokens_in_a_loop_is_refused_after_the_minute_s_limit(
    municipality: Any, register: Callable[..., tuple[str, str]], settings: Any
) -> None:
    settings.CHOSHU_API_TOKENS_PER_MINUTE = 2
    client_id, secret = register(municipality)
    other_id, other_secret = register(municipality)
    http = Client()
    for _ in range(2):
        get_token(http, client_id, secret)
    third = token_post(
        http, {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=basic(client_id, secret)
    )
    assert third.status_code == 429 and "1分間に2回まで" in third.json()["error_description"]
    get_token(http, other_id, other_secret)  # another system is not affected
