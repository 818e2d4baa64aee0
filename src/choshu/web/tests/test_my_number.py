"""個人番号の表示: only for number-using work, one person at a time, the purpose logged, never the number."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from typing import Any
from unittest import mock

import pytest
from conftest import login_verified
from django.test import Client
from django.urls import reverse

from choshu.accounts.models import Role
from choshu.accounts.permissions import Right, effective_rights
from choshu.accounts.services import right_set
from choshu.audit.models import AuditKind, AuditLog, AuditSubject
from choshu.web.tests.conftest import MY_NUMBER_OF_TARO, by_no

ROLES = list(Role)
PURPOSE = {"purpose": "asset_investigation"}
FORMATTED = "6214 9832 0257"


def _login(client: Client, make_user: Callable[..., Any], role: str, municipality: Any) -> tuple[Client, Any]:
    user = make_user(f"user-{role}", role=role, municipality=municipality)
    login_verified(client, user)
    return client, user


def _reveal_url(taxpayer: Any) -> str:
    return reverse("web:my-number-reveal", args=[taxpayer.pk])


def _has_form(html: str, taxpayer: Any) -> bool:
    return f'action="{_reveal_url(taxpayer)}"' in html


def _reveal_logs() -> list[AuditLog]:
    return list(AuditLog.objects.filter(function="個人番号表示").order_by("pk"))


def _digits(html: str) -> str:
    return re.sub(r"\D", "", html)


@pytest.fixture
def officer(make_user: Callable[..., Any], sample_city: Any) -> Any:
    return make_user("officer", role=Role.CASE_OFFICER, municipality=sample_city)


@pytest.fixture
def officer_client(client: Client, officer: Any) -> Client:
    return login_verified(client, officer)


# --- permission matrix --------------------------------------------------------------------------


def test_an_anonymous_visitor_is_sent_to_the_login_page_and_nothing_is_revealed(
    client: Client, taxpayer: Any
) -> None:
    response = client.post(_reveal_url(taxpayer), PURPOSE)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("web:login") + "?next=")
    assert _reveal_logs() == []


@pytest.mark.parametrize("role", ROLES)
def test_the_number_is_revealed_only_to_roles_with_the_reveal_right(
    client: Client, make_user: Callable[..., Any], taxpayer: Any, role: str
) -> None:
    client, user = _login(client, make_user, role, taxpayer.municipality)
    allowed = Right.MY_NUMBER_REVEAL in effective_rights(user)
    response = client.post(_reveal_url(taxpayer), PURPOSE)
    assert response.status_code == (200 if allowed else 403)
    assert (FORMATTED in response.content.decode()) is allowed
    assert len(_reveal_logs()) == (1 if allowed else 0)


def test_only_case_officers_and_chiefs_may_reveal_by_default() -> None:
    from choshu.accounts.permissions import ROLE_DEFAULTS

    assert {r for r in Role if Right.MY_NUMBER_REVEAL in ROLE_DEFAULTS[r]} == {Role.CASE_OFFICER, Role.CHIEF}


@pytest.mark.parametrize("role", ROLES)
def test_the_overview_offers_the_reveal_form_only_with_the_right_and_never_contains_the_digits(
    client: Client, make_user: Callable[..., Any], taxpayer: Any, role: str
) -> None:
    client, user = _login(client, make_user, role, taxpayer.municipality)
    response = client.get(reverse("web:taxpayer-overview", args=[taxpayer.pk]))
    rights = effective_rights(user)
    assert response.status_code == (200 if Right.TAXPAYER_VIEW in rights else 403)
    html = response.content.decode()
    assert MY_NUMBER_OF_TARO not in _digits(html)
    assert _has_form(html, taxpayer) is (Right.MY_NUMBER_REVEAL in rights and response.status_code == 200)
    assert ("個人番号を表示" in html) is _has_form(html, taxpayer)


def test_a_right_withdrawn_by_the_chief_removes_the_form_and_refuses_the_reveal(
    client: Client, make_user: Callable[..., Any], officer: Any, taxpayer: Any
) -> None:
    chief = make_user("chief", role=Role.CHIEF, municipality=taxpayer.municipality)
    right_set(actor=chief, user=officer, right=Right.MY_NUMBER_REVEAL, granted=False, reason="異動")
    login_verified(client, officer)
    overview = client.get(reverse("web:taxpayer-overview", args=[taxpayer.pk])).content.decode()
    assert not _has_form(overview, taxpayer)
    assert client.post(_reveal_url(taxpayer), PURPOSE).status_code == 403


def test_a_clerk_granted_the_right_by_the_chief_may_reveal(
    client: Client, make_user: Callable[..., Any], clerk: Any, taxpayer: Any
) -> None:
    chief = make_user("chief", role=Role.CHIEF, municipality=taxpayer.municipality)
    right_set(actor=chief, user=clerk, right=Right.MY_NUMBER_REVEAL, granted=True, reason="滞納整理の応援")
    login_verified(client, clerk)
    assert FORMATTED in client.post(_reveal_url(taxpayer), PURPOSE).content.decode()


def test_another_municipalitys_person_is_not_found_and_nothing_is_logged(
    client: Client, make_user: Callable[..., Any], sample_city: Any, other_city: Any
) -> None:
    client, _ = _login(client, make_user, Role.CHIEF, sample_city)
    stranger = by_no(other_city, "1001")
    response = client.post(_reveal_url(stranger), PURPOSE)
    assert response.status_code == 404
    assert "草加 次郎" not in response.content.decode()
    assert _reveal_logs() == []


def test_a_user_bound_to_no_municipality_is_refused(
    client: Client, make_user: Callable[..., Any], taxpayer: Any
) -> None:
    client, _ = _login(client, make_user, Role.CHIEF, None)
    assert client.post(_reveal_url(taxpayer), PURPOSE).status_code == 403


def test_a_reveal_by_get_is_refused_so_a_link_or_prefetch_never_shows_the_number(
    officer_client: Client, taxpayer: Any
) -> None:
    response = officer_client.get(_reveal_url(taxpayer), PURPOSE)
    assert response.status_code == 405
    assert _reveal_logs() == []


def test_a_reveal_without_the_csrf_token_is_refused(officer: Any, taxpayer: Any) -> None:
    client = login_verified(Client(enforce_csrf_checks=True), officer)
    response = client.post(_reveal_url(taxpayer), PURPOSE)
    assert response.status_code == 403
    assert MY_NUMBER_OF_TARO not in _digits(response.content.decode())
    assert _reveal_logs() == []


# --- the reveal itself ----------------------------------------------------------------------------


def test_the_number_appears_formatted_in_the_reveal_response_which_is_never_cached(
    officer_client: Client, taxpayer: Any
) -> None:
    response = officer_client.post(_reveal_url(taxpayer), PURPOSE)
    html = response.content.decode()
    assert response.status_code == 200
    assert FORMATTED in html
    assert "滞納処分のための財産調査" in html
    assert "no-store" in response["Cache-Control"]
    assert '<html lang="ja">' in html  # without HTMX: a small page of its own


def test_an_htmx_reveal_returns_only_the_fragment_and_keeps_it_out_of_the_history_cache(
    officer_client: Client, taxpayer: Any
) -> None:
    response = officer_client.post(_reveal_url(taxpayer), PURPOSE, headers={"HX-Request": "true"})
    html = response.content.decode()
    assert response.status_code == 200
    assert FORMATTED in html
    assert "<html" not in html
    assert 'hx-history="false"' in html
    assert "no-store" in response["Cache-Control"]


def test_the_overview_stays_masked_after_a_reveal(officer_client: Client, taxpayer: Any) -> None:
    officer_client.post(_reveal_url(taxpayer), PURPOSE)
    html = officer_client.get(reverse("web:taxpayer-overview", args=[taxpayer.pk])).content.decode()
    assert "＊＊＊＊ ＊＊＊＊ ＊＊＊＊" in html
    assert MY_NUMBER_OF_TARO not in _digits(html)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, "個人番号を表示する目的を選択してください。"),
        ({"purpose": ""}, "個人番号を表示する目的を選択してください。"),
        ({"purpose": "curiosity"}, "表示する目的を一覧から選択してください。"),
        ({"purpose": "other", "reason": "  "}, "「その他」を選んだときは、表示する理由を入力してください。"),
    ],
)
def test_a_reveal_without_a_valid_purpose_is_refused_and_shows_no_number_and_logs_nothing(
    officer_client: Client, taxpayer: Any, data: dict[str, str], message: str
) -> None:
    response = officer_client.post(_reveal_url(taxpayer), data)
    html = response.content.decode()
    assert response.status_code == 400
    assert message in html
    assert MY_NUMBER_OF_TARO not in _digits(html)
    assert _reveal_logs() == []


def test_an_htmx_reveal_without_a_purpose_returns_the_form_with_the_error_so_htmx_shows_it(
    officer_client: Client, taxpayer: Any
) -> None:
    response = officer_client.post(_reveal_url(taxpayer), {}, headers={"HX-Request": "true"})
    html = response.content.decode()
    assert response.status_code == 200  # htmx does not swap 4xx responses
    assert "個人番号を表示する目的を選択してください。" in html
    assert "<html" not in html
    assert MY_NUMBER_OF_TARO not in _digits(html)
    assert _reveal_logs() == []


def test_the_log_records_who_whose_when_and_why_but_never_the_number(
    officer: Any, officer_client: Client, taxpayer: Any
) -> None:
    officer_client.post(
        _reveal_url(taxpayer), {"purpose": "other", "reason": "還付金の口座確認"}, REMOTE_ADDR="10.2.3.4"
    )
    [log] = _reveal_logs()
    assert log.kind == AuditKind.ACCESS
    assert log.user == officer
    assert log.client_addr == "10.2.3.4"
    assert log.subject_ids == [taxpayer.pk]
    assert list(AuditSubject.objects.filter(log=log).values_list("taxpayer_id", flat=True)) == [taxpayer.pk]
    assert log.detail == {
        "taxpayer_no": "1001",
        "purpose": "other",
        "purpose_label": "その他（理由を入力）",
        "reason": "還付金の口座確認",
    }
    every_log = json.dumps(list(AuditLog.objects.values()), default=str, ensure_ascii=False)
    assert MY_NUMBER_OF_TARO not in every_log
    assert FORMATTED not in every_log


def test_each_reveal_is_one_person_and_one_record(officer_client: Client, taxpayer: Any) -> None:
    officer_client.post(_reveal_url(taxpayer), PURPOSE)
    officer_client.post(_reveal_url(taxpayer), {"purpose": "identity_check"})
    assert [log.detail["purpose"] for log in _reveal_logs()] == ["asset_investigation", "identity_check"]
    assert all(log.subject_ids == [taxpayer.pk] for log in _reveal_logs())


def test_the_number_never_reaches_the_application_log(
    officer_client: Client, taxpayer: Any, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        officer_client.post(_reveal_url(taxpayer), PURPOSE)
        officer_client.post(_reveal_url(taxpayer), {})
    assert caplog.records, "the request logger should have recorded the 400"
    assert MY_NUMBER_OF_TARO not in caplog.text
    assert FORMATTED not in caplog.text


def test_a_failed_decryption_shows_the_error_page_and_leaves_no_reveal_record(
    officer_client: Client, taxpayer: Any, caplog: pytest.LogCaptureFixture
) -> None:
    from choshu.taxpayers.crypto import FieldKeyError

    officer_client.raise_request_exception = False
    with mock.patch("choshu.web.views.decrypt_my_number", side_effect=FieldKeyError("鍵が違います")):
        response = officer_client.post(_reveal_url(taxpayer), PURPOSE)
    assert response.status_code == 500
    assert "システムエラーが発生しました" in response.content.decode()
    assert _reveal_logs() == []


def test_a_person_without_a_my_number_and_a_corporation_offer_no_reveal(
    officer_client: Client, sample_city: Any
) -> None:
    for taxpayer_no in ("1002", "2001"):  # 1002 has no My Number; 2001 is a corporation
        person = by_no(sample_city, taxpayer_no)
        html = officer_client.get(reverse("web:taxpayer-overview", args=[person.pk])).content.decode()
        assert not _has_form(html, person)
        assert officer_client.post(_reveal_url(person), PURPOSE).status_code == 404
    assert _reveal_logs() == []


# --- the request buttons on the overview (two-person check, seed III) -----------------------------


@pytest.mark.parametrize("role", ROLES)
def test_the_overview_offers_the_correction_requests_only_to_roles_with_the_edit_right(
    client: Client, make_user: Callable[..., Any], taxpayer: Any, role: str
) -> None:
    client, user = _login(client, make_user, role, taxpayer.municipality)
    response = client.get(reverse("web:taxpayer-overview", args=[taxpayer.pk]))
    if Right.TAXPAYER_VIEW not in effective_rights(user):
        assert response.status_code == 403
        return
    html = response.content.decode()
    may_edit = Right.TAXPAYER_EDIT in effective_rights(user)
    assert (f'href="{reverse("approvals:taxpayer-edit", args=[taxpayer.pk])}"' in html) is may_edit
    assert (f'href="{reverse("approvals:my-number-link", args=[taxpayer.pk])}"' in html) is may_edit
    assert ("宛名情報の訂正を申請" in html) is may_edit
    assert ("個人番号の登録・訂正を申請" in html) is may_edit


def test_a_corporation_offers_the_address_correction_but_no_my_number_request(
    clerk_client: Client, sample_city: Any
) -> None:
    corporation = by_no(sample_city, "2001")
    html = clerk_client.get(reverse("web:taxpayer-overview", args=[corporation.pk])).content.decode()
    assert "宛名情報の訂正を申請" in html
    assert "個人番号の登録・訂正を申請" not in html
    assert reverse("approvals:my-number-link", args=[corporation.pk]) not in html
