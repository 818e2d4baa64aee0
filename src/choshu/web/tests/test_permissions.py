"""Permission matrix of every staff view: anonymous, each role, other municipality, right role."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from conftest import login_verified
from django.test import Client
from django.urls import reverse

from choshu.accounts.models import Role
from choshu.accounts.permissions import ROLE_RIGHTS, Right
from choshu.audit.models import AuditKind, AuditLog
from choshu.web.tests.conftest import by_no

ROLES = list(Role)


def _client_for(client: Client, make_user: Callable[..., Any], role: str, municipality: Any) -> Client:
    login_verified(client, make_user(f"user-{role}", role=role, municipality=municipality))
    return client


def _view_urls(taxpayer: Any) -> dict[str, str]:
    return {
        "search": reverse("web:search") + "?kana=カワグチ",
        "overview": reverse("web:taxpayer-overview", args=[taxpayer.pk]),
    }


@pytest.mark.parametrize("view", ["search", "overview"])
def test_an_anonymous_visitor_is_sent_to_the_login_page(client: Client, taxpayer: Any, view: str) -> None:
    url = _view_urls(taxpayer)[view]
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("web:login") + "?next=")
    assert not AuditLog.objects.filter(kind=AuditKind.ACCESS).exists()


@pytest.mark.parametrize("role", ROLES)
def test_the_search_page_opens_only_for_roles_with_the_search_right(
    client: Client, make_user: Callable[..., Any], sample_city: Any, role: str
) -> None:
    client = _client_for(client, make_user, role, sample_city)
    response = client.get(reverse("web:search"), {"kana": "カワグチ"})
    allowed = Right.TAXPAYER_SEARCH in ROLE_RIGHTS[role]
    assert response.status_code == (200 if allowed else 403)
    assert ("川口 太郎" in response.content.decode()) is allowed


@pytest.mark.parametrize("role", ROLES)
def test_the_overview_opens_only_for_roles_with_the_view_right(
    client: Client, make_user: Callable[..., Any], taxpayer: Any, role: str
) -> None:
    client = _client_for(client, make_user, role, taxpayer.municipality)
    response = client.get(reverse("web:taxpayer-overview", args=[taxpayer.pk]))
    allowed = Right.TAXPAYER_VIEW in ROLE_RIGHTS[role]
    assert response.status_code == (200 if allowed else 403)


def test_the_roles_without_taxpayer_rights_are_the_call_centre_support_and_audit_roles() -> None:
    refused = {role for role in Role if Right.TAXPAYER_VIEW not in ROLE_RIGHTS[role]}
    assert refused == {Role.CALLCENTER_OPERATOR, Role.SUPPORT_CONTRACTOR, Role.AUDITOR}


@pytest.mark.parametrize("view", ["search", "overview"])
def test_a_refused_user_sees_a_japanese_403_page_and_no_personal_data(
    client: Client, make_user: Callable[..., Any], taxpayer: Any, view: str
) -> None:
    client = _client_for(client, make_user, Role.AUDITOR, taxpayer.municipality)
    response = client.get(_view_urls(taxpayer)[view])
    html = response.content.decode()
    assert response.status_code == 403
    assert "この画面を表示する権限がありません" in html
    assert '<html lang="ja">' in html
    assert "川口 太郎" not in html
    assert not AuditLog.objects.filter(kind=AuditKind.ACCESS).exists()


def test_the_overview_of_another_municipalitys_taxpayer_is_not_found(
    client: Client, make_user: Callable[..., Any], sample_city: Any, other_city: Any
) -> None:
    client = _client_for(client, make_user, Role.CHIEF, sample_city)
    stranger = by_no(other_city, "1001")
    response = client.get(reverse("web:taxpayer-overview", args=[stranger.pk]))
    assert response.status_code == 404
    assert "見つかりません" in response.content.decode()
    assert "草加 次郎" not in response.content.decode()
    assert not AuditLog.objects.filter(kind=AuditKind.ACCESS).exists()


def test_an_overview_of_a_missing_taxpayer_is_not_found(clerk_client: Client) -> None:
    assert clerk_client.get(reverse("web:taxpayer-overview", args=[999_999])).status_code == 404


def test_the_search_of_another_municipality_never_shows_this_citys_people(
    client: Client, make_user: Callable[..., Any], sample_city: Any, other_city: Any
) -> None:
    client = _client_for(client, make_user, Role.CLERK, other_city)
    response = client.get(reverse("web:search"), {"kana": "カワグチ"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "草加 次郎" in html
    assert "川口 太郎" not in html


def test_a_user_bound_to_no_municipality_is_refused(
    client: Client, make_user: Callable[..., Any], taxpayer: Any
) -> None:
    client = _client_for(client, make_user, Role.CHIEF, None)
    assert client.get(reverse("web:search")).status_code == 403
    assert client.get(reverse("web:taxpayer-overview", args=[taxpayer.pk])).status_code == 403


def test_the_login_page_is_open_to_anonymous_visitors_and_in_japanese(client: Client) -> None:
    response = client.get(reverse("web:login"))
    html = response.content.decode()
    assert response.status_code == 200
    assert '<html lang="ja">' in html
    assert "パスワード" in html
    assert "csrfmiddlewaretoken" in html


def test_the_root_sends_anonymous_visitors_to_login_and_staff_to_search(client: Client, clerk: Any) -> None:
    assert client.get("/")["Location"] == reverse("web:login")
    login_verified(client, clerk)
    assert client.get("/")["Location"] == reverse("web:search")


def test_logout_by_get_is_refused_so_a_link_cannot_sign_a_clerk_out(clerk_client: Client) -> None:
    assert clerk_client.get(reverse("web:logout")).status_code == 405
    assert clerk_client.get(reverse("web:search")).status_code == 200


def test_pages_with_personal_data_are_not_cached_and_cannot_be_framed(
    clerk_client: Client, taxpayer: Any
) -> None:
    response = clerk_client.get(reverse("web:taxpayer-overview", args=[taxpayer.pk]))
    assert "no-store" in response["Cache-Control"]
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
