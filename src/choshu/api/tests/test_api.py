"""The integration API as an independent client uses it: plain HTTP through Django's test client."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from choshu.api.models import AccessToken, SystemClient
from choshu.api.tests.conftest import basic, bearer, get_token, token_post
from choshu.audit.models import AuditLog
from choshu.levies.models import Installment
from choshu.taxpayers.models import Taxpayer

pytestmark = pytest.mark.django_db

TAXPAYERS = [
    {
        "taxpayer_no": "5001",
        "kind": "individual",
        "name": "連携 一郎",
        "name_kana": "レンケイ イチロウ",
        "birth_date": "1980-01-02",
        "sex": "1",
        "postal_code": "3320012",
        "address": "埼玉県川口市本町1-1-1",
        "resident": "1",
    },
    {"taxpayer_no": "5002", "kind": "corporation", "name": "株式会社連携", "resident": "0"},
]
LEVIES = [
    {
        "tax_item": "01",
        "levy_year": 2024,
        "notice_no": "700001",
        "taxpayer_no": "5001",
        "installment_no": 1,
        "due_date": "2024-07-01",
        "principal": 30000,
    },
    {
        "tax_item": "01",
        "levy_year": 2024,
        "notice_no": "700001",
        "taxpayer_no": "5001",
        "installment_no": 2,
        "due_date": "2024-09-02",
        "principal": 29000,
    },
]


def post_json(http: Client, url: str, body: Any, token: str) -> Any:
    return http.post(url, json.dumps(body), content_type="application/json", headers=bearer(token))


def test_a_client_gets_a_token_pushes_taxpayers_and_levies_and_reads_balances(
    municipality: Any, register: Callable[..., tuple[str, str]]
) -> None:
    http = Client()
    client_id, secret = register(municipality)
    token = get_token(http, client_id, secret)

    pushed = post_json(http, "/api/v1/taxpayers", {"records": TAXPAYERS}, token)
    assert pushed.status_code == 200, pushed.content
    assert pushed.json()["created"] == 2
    assert Taxpayer.objects.get(municipality=municipality, taxpayer_no="5001").name == "連携 一郎"

    levies = post_json(http, "/api/v1/levies", {"booking_date": "2024-04-01", "records": LEVIES}, token)
    assert levies.status_code == 200, levies.content
    assert levies.json()["created"] == 2

    # the same records again change nothing (natural keys)
    again = post_json(http, "/api/v1/levies", {"booking_date": "2024-04-01", "records": LEVIES}, token)
    assert again.status_code == 200 and again.json()["unchanged"] == 2 and again.json()["created"] == 0

    # a correction (更正) of one installment, pushed alone
    corrected = dict(LEVIES[0], principal=25000)
    one = post_json(http, "/api/v1/levies", {"booking_date": "2024-06-01", "records": [corrected]}, token)
    assert one.status_code == 200 and one.json()["corrections"] == 1

    response = http.get("/api/v1/taxpayers/5001/balances?as_of=2025-03-31", headers=bearer(token))
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["principal_due"] == 25000 + 29000
    first = body["installments"][0]
    assert first["principal"] == 25000 and first["status"] == "unpaid"
    # 延滞金 as of the date, the same figure the person page shows (levies.selectors.amounts_due)
    from choshu.levies.selectors import amounts_due

    tp = Taxpayer.objects.get(municipality=municipality, taxpayer_no="5001")
    expected = amounts_due(taxpayer_ids=[tp.pk], as_of=date(2025, 3, 31))
    assert [i["late_charge"] for i in body["installments"]] == [d.late_charge for d in expected]
    assert body["installments"][0]["late_charge"] > 0

    slips = http.get("/api/v1/taxpayers/5001/slips", headers=bearer(token))
    assert slips.status_code == 200 and len(slips.json()["slips"]) == 2

    # every call is audited with the client's identity
    logs = AuditLog.objects.filter(detail__client_id=client_id)
    functions = set(logs.values_list("function", flat=True))
    assert {"連携API 宛名登録", "連携API 調定登録", "連携API 残高照会", "連携API 納付書照会"} <= functions
    seen = logs.get(function="連携API 残高照会")
    assert seen.subject_ids == [tp.pk] and seen.detail["as_of"] == "2025-03-31"


def test_scopes_limit_what_a_token_may_do(
    municipality: Any, register: Callable[..., tuple[str, str]]
) -> None:
    http = Client()
    client_id, secret = register(municipality, ["037:balances:read"])
    token = get_token(http, client_id, secret)
    refused = post_json(http, "/api/v1/taxpayers", {"records": TAXPAYERS}, token)
    assert refused.status_code == 403
    assert "037:taxpayers:write" in refused.json()["detail"]
    assert not Taxpayer.objects.filter(taxpayer_no="5001").exists()
    # a scope the client was not given cannot be asked for
    response = token_post(
        http,
        {"grant_type": "client_credentials", "scope": "037:taxpayers:write"},
        HTTP_AUTHORIZATION=basic(client_id, secret),
    )
    assert response.status_code == 400 and response.json()["error"] == "invalid_scope"
    # a token narrowed to one scope has only that one
    full_id, full_secret = register(municipality)
    narrow = get_token(http, full_id, full_secret, scope="037:slips:read")
    assert post_json(http, "/api/v1/taxpayers", {"records": TAXPAYERS}, narrow).status_code == 403


def test_a_client_never_sees_or_touches_another_municipality(
    sample_city: Any, other_municipality: Any, register: Callable[..., tuple[str, str]]
) -> None:
    http = Client()
    client_id, secret = register(other_municipality)
    token = get_token(http, client_id, secret)
    # 1001 is 川口市's; 草加市's client is told it does not exist
    for junk in ("%00", "1" * 16, "abc", "%E3%81%82"):
        assert http.get(f"/api/v1/taxpayers/{junk}/balances", headers=bearer(token)).status_code == 404
    assert http.get("/api/v1/taxpayers/1001/balances", headers=bearer(token)).status_code == 404
    assert http.get("/api/v1/taxpayers/1001/slips", headers=bearer(token)).status_code == 404
    # its levy push for 1001 is refused: 1001 is not one of its 宛名
    refused = post_json(http, "/api/v1/levies", {"records": [dict(LEVIES[0], taxpayer_no="1001")]}, token)
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["index"] == 0
    assert refused.json()["errors"][0]["field"] == "taxpayer_no"
    # its pushes land in its own municipality only
    assert post_json(http, "/api/v1/taxpayers", {"records": TAXPAYERS}, token).status_code == 200
    assert set(Taxpayer.objects.filter(taxpayer_no="5001").values_list("municipality", flat=True)) == {
        other_municipality.pk
    }
    # the lists hold none of 川口市's records
    page = http.get("/api/v1/payments", headers=bearer(token)).json()
    assert page["items"] == []


def test_an_expired_or_revoked_token_is_refused(
    municipality: Any, register: Callable[..., tuple[str, str]], make_user: Callable[..., Any]
) -> None:
    http = Client()
    client_id, secret = register(municipality)
    token = get_token(http, client_id, secret)
    assert http.get("/api/v1/payments", headers=bearer(token)).status_code == 200
    AccessToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    response = http.get("/api/v1/payments", headers=bearer(token))
    assert response.status_code == 401
    assert "invalid_token" in response["WWW-Authenticate"]
    # revoked: the live token stops at once, and no new one is issued
    token = get_token(http, client_id, secret)
    from choshu.accounts.models import Role
    from choshu.api.clients import client_revoke

    chief = make_user("revoker", role=Role.CHIEF, municipality=municipality)
    client_revoke(actor=chief, client=SystemClient.objects.get(client_id=client_id), reason="更改")
    assert http.get("/api/v1/payments", headers=bearer(token)).status_code == 401
    response = token_post(
        http, {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=basic(client_id, secret)
    )
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"


@pytest.mark.usefixtures("production_password_hashers")
def test_tokens_and_secrets_are_stored_only_hashed(
    municipality: Any, register: Callable[..., tuple[str, str]]
) -> None:
    http = Client()
    client_id, secret = register(municipality)
    token = get_token(http, client_id, secret)
    row = SystemClient.objects.get(client_id=client_id)
    assert row.secret_hash.startswith("argon2") and secret not in row.secret_hash
    assert secret.encode() not in bytes(row.secret_enc)
    assert not AccessToken.objects.filter(token_hash=token).exists()
    assert AccessToken.objects.get().expires_at - AccessToken.objects.get().issued_at == timedelta(minutes=10)


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ("{not json", None),
        ('{"records": "x"}', "records"),
        ('{"records": []}', "records"),
        ('{"records": [{"taxpayer_no": 5001, "kind": "individual", "name": "x"}]}', "taxpayer_no"),
        (
            '{"records": [{"taxpayer_no": "5001", "kind": "individual", "name": "x", "colour": "red"}]}',
            "colour",
        ),
        ('{"records": [{"taxpayer_no": "5001", "kind": "robot", "name": "x"}]}', "kind"),
        ('{"records": [{"taxpayer_no": "5001", "kind": "individual", "name": "\\ud800"}]}', "name"),
        ("[1, 2]", None),
    ],
)
def test_malformed_bodies_get_a_precise_4xx_and_change_nothing(
    municipality: Any, register: Callable[..., tuple[str, str]], body: str, where: str | None
) -> None:
    http = Client()
    token = get_token(http, *register(municipality))
    response = http.post("/api/v1/taxpayers", body, content_type="application/json", headers=bearer(token))
    assert 400 <= response.status_code < 500, response.content
    if where:
        assert where in json.dumps(response.json(), ensure_ascii=False)
    assert not Taxpayer.objects.exists()


def test_an_oversized_batch_is_refused_whole(
    municipality: Any, register: Callable[..., tuple[str, str]]
) -> None:
    from choshu.api.schemas import MAX_BATCH

    http = Client()
    token = get_token(http, *register(municipality))
    records = [dict(TAXPAYERS[1], taxpayer_no=str(6000 + i)) for i in range(MAX_BATCH + 1)]
    response = post_json(http, "/api/v1/taxpayers", {"records": records}, token)
    assert response.status_code == 422
    assert "records" in response.json()["errors"][0]["loc"]
    assert not Taxpayer.objects.exists()


def test_a_batch_the_import_refuses_names_the_record_and_changes_nothing(
    municipality: Any, register: Callable[..., tuple[str, str]]
) -> None:
    http = Client()
    token = get_token(http, *register(municipality))
    records = [TAXPAYERS[0], dict(TAXPAYERS[1], postal_code="12"), dict(TAXPAYERS[1], taxpayer_no="5001")]
    response = post_json(http, "/api/v1/taxpayers", {"records": records}, token)
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert {(e["index"], e["field"]) for e in errors} >= {(1, "postal_code"), (2, "taxpayer_no")}
    assert not Taxpayer.objects.exists()
    # a levy for a 宛名 never pushed
    response = post_json(http, "/api/v1/levies", {"records": LEVIES}, token)
    assert response.status_code == 422 and not Installment.objects.exists()


def test_without_a_token_every_route_answers_401(db: Any) -> None:
    http = Client()
    for url in ("/api/v1/payments", "/api/v1/dunning", "/api/v1/write-offs", "/api/v1/taxpayers/1/balances"):
        assert http.get(url).status_code == 401
        assert http.get(url, HTTP_AUTHORIZATION="Bearer nonsense").status_code == 401
    assert http.post("/api/v1/taxpayers", "{}", content_type="application/json").status_code == 401


def test_the_schema_and_docs_are_served(db: Any) -> None:
    http = Client()
    schema = http.get("/api/schema/")
    assert schema.status_code == 200
    doc = schema.json()
    assert doc["openapi"].startswith("3.")
    assert "/api/v1/taxpayers/{taxpayer_no}/balances" in doc["paths"]
    assert (
        doc["components"]["securitySchemes"]["OAuth2"]["flows"]["clientCredentials"]["tokenUrl"]
        == "/api/oauth/token"
    )
    assert http.get("/api/docs/").status_code == 200


def test_a_body_over_the_upload_limit_is_a_4xx(
    municipality: Any, register: Callable[..., tuple[str, str]]
) -> None:
    http = Client()
    token = get_token(http, *register(municipality))
    huge = json.dumps({"records": [dict(TAXPAYERS[0], name="あ" * 400)] * 1000})
    assert len(huge.encode()) > 2_621_440  # Django's DATA_UPLOAD_MAX_MEMORY_SIZE
    response = http.post("/api/v1/taxpayers", huge, content_type="application/json", headers=bearer(token))
    assert 400 <= response.status_code < 500
    assert not Taxpayer.objects.exists()
