"""Every view of a person writes an access-log record; logins, logouts and failed logins are logged."""

from __future__ import annotations

import json
from typing import Any

from conftest import totp_now
from django.test import Client
from django.urls import reverse

from choshu.audit.models import AuditKind, AuditLog, AuditSubject
from choshu.taxpayers.models import IdentityLink
from choshu.web.tests.conftest import by_no

PASSWORD = "correct horse 1"  # the password ``make_user`` gives every test user


def _access_logs() -> list[AuditLog]:
    return list(AuditLog.objects.filter(kind=AuditKind.ACCESS).order_by("pk"))


def test_a_search_logs_who_from_where_and_the_people_listed(
    clerk: Any, clerk_client: Client, sample_city: Any
) -> None:
    clerk_client.get(reverse("web:search"), {"address": "埼玉県川口市"}, REMOTE_ADDR="10.1.2.3")
    [log] = _access_logs()
    expected_ids = sorted(by_no(sample_city, no).pk for no in ("1001", "1002", "2001"))
    assert log.user == clerk
    assert log.username == "clerk"
    assert log.client_addr == "10.1.2.3"
    assert log.function == "宛名検索"
    assert log.municipality == sample_city
    assert sorted(log.subject_ids) == expected_ids
    assert log.detail["query"] == {"address": "埼玉県川口市"}
    assert sorted(AuditSubject.objects.filter(log=log).values_list("taxpayer_id", flat=True)) == expected_ids


def test_a_search_with_no_hits_is_still_logged_with_its_condition(clerk_client: Client) -> None:
    clerk_client.get(reverse("web:search"), {"kana": "ン"})
    [log] = _access_logs()
    assert log.subject_ids == []
    assert log.detail["query"] == {"kana": "ン"}


def test_opening_the_search_form_without_a_condition_logs_nothing(clerk_client: Client) -> None:
    clerk_client.get(reverse("web:search"))
    assert _access_logs() == []


def test_an_htmx_search_is_logged_like_a_full_page_search(clerk_client: Client, taxpayer: Any) -> None:
    clerk_client.get(reverse("web:search"), {"taxpayer_no": "1001"}, headers={"HX-Request": "true"})
    [log] = _access_logs()
    assert log.subject_ids == [taxpayer.pk]


def test_the_overview_logs_the_person_and_the_linked_identities(
    clerk: Any, clerk_client: Client, sample_city: Any, taxpayer: Any
) -> None:
    hanako = by_no(sample_city, "1002")
    IdentityLink.objects.create(municipality=sample_city, taxpayer=hanako, linked=taxpayer)
    clerk_client.get(reverse("web:taxpayer-overview", args=[taxpayer.pk]), REMOTE_ADDR="10.9.8.7")
    [log] = _access_logs()
    assert log.function == "個人別収納状況照会"
    assert log.user == clerk
    assert log.client_addr == "10.9.8.7"
    assert sorted(log.subject_ids) == sorted([taxpayer.pk, hanako.pk])
    assert log.subject_type == "taxpayer"


def test_a_refused_or_missing_overview_writes_no_access_record(clerk_client: Client, other_city: Any) -> None:
    clerk_client.get(reverse("web:taxpayer-overview", args=[by_no(other_city, "1001").pk]))
    assert _access_logs() == []


def test_a_login_is_logged_with_user_and_address(client: Client, clerk: Any) -> None:
    response = client.post(
        reverse("web:login"), {"username": "clerk", "password": PASSWORD}, REMOTE_ADDR="192.0.2.10"
    )
    assert response["Location"] == reverse("web:login-otp")
    assert not AuditLog.objects.filter(kind=AuditKind.LOGIN).exists()  # not signed in before the code
    response = client.post(reverse("web:login-otp"), {"token": totp_now(clerk)}, REMOTE_ADDR="192.0.2.10")
    assert response["Location"] == reverse("web:search")
    log = AuditLog.objects.get(kind=AuditKind.LOGIN)
    assert (log.user, log.client_addr, log.municipality) == (clerk, "192.0.2.10", clerk.municipality)


def test_a_logout_is_logged_and_ends_the_session(client: Client, clerk: Any) -> None:
    client.post(reverse("web:login"), {"username": "clerk", "password": PASSWORD})
    client.post(reverse("web:login-otp"), {"token": totp_now(clerk)})
    assert client.get(reverse("web:search")).status_code == 200
    response = client.post(reverse("web:logout"), REMOTE_ADDR="192.0.2.11")
    assert response["Location"] == reverse("web:login")
    log = AuditLog.objects.get(kind=AuditKind.LOGOUT)
    assert (log.user, log.client_addr) == (clerk, "192.0.2.11")
    assert client.get(reverse("web:search")).status_code == 302


def test_a_failed_login_is_logged_without_the_password(client: Client, clerk: Any) -> None:
    wrong = "wrong-password-42"
    response = client.post(
        reverse("web:login"), {"username": "clerk", "password": wrong}, REMOTE_ADDR="192.0.2.12"
    )
    assert response.status_code == 200
    assert "ユーザー名またはパスワードが正しくありません" in response.content.decode()
    log = AuditLog.objects.get(kind=AuditKind.LOGIN_FAILED)
    assert log.user is None
    assert log.client_addr == "192.0.2.12"
    assert log.detail == {"username": "clerk", "known_user": True}
    assert log.municipality == clerk.municipality
    stored = json.dumps([log.detail, log.function, log.username], ensure_ascii=False)
    assert wrong not in stored
    assert not AuditLog.objects.filter(kind=AuditKind.LOGIN).exists()


def test_a_failed_login_for_an_unknown_name_is_logged_without_a_municipality(client: Client, db: Any) -> None:
    client.post(reverse("web:login"), {"username": "nobody", "password": "whatever-123"})
    log = AuditLog.objects.get(kind=AuditKind.LOGIN_FAILED)
    assert log.municipality is None
    assert log.detail == {"username": "nobody", "known_user": False}
