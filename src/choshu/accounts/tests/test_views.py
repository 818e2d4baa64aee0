"""The section chief's rights screens: permission matrix, grant and revoke, new accounts, deactivation."""

from __future__ import annotations

from base64 import b32encode
from collections.abc import Callable
from typing import Any

import pytest
from conftest import login_verified
from django.test import Client
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from choshu.accounts.models import RightChange, Role, User
from choshu.accounts.permissions import Right, effective_rights
from choshu.audit.models import AuditKind, AuditLog

ROLES = list(Role)

# view name → (HTTP method, the right it needs)
ADMIN_VIEWS = {
    "user-list": ("get", Right.RIGHTS_ADMIN),
    "user-new": ("get", Right.RIGHTS_ADMIN),
    "user-detail": ("get", Right.RIGHTS_ADMIN),
    "user-deactivate": ("post", Right.RIGHTS_ADMIN),
    "report-changes": ("get", Right.RIGHTS_REPORT),
    "report-changes-csv": ("get", Right.RIGHTS_REPORT),
    "report-review": ("get", Right.RIGHTS_REPORT),
    "report-review-csv": ("get", Right.RIGHTS_REPORT),
}
WITH_TARGET = {"user-detail", "user-deactivate"}


def _url(view: str, target: Any) -> str:
    return reverse(f"accounts:{view}", args=[target.pk] if view in WITH_TARGET else [])


def _signed_in(user: Any) -> Client:
    return login_verified(Client(), user)


def _call(client: Client, view: str, target: Any) -> Any:
    method, _right = ADMIN_VIEWS[view]
    if method == "post":
        return client.post(_url(view, target), {"reason": "異動"})
    return client.get(_url(view, target))


@pytest.fixture(autouse=True)
def fast_password_hashing(settings: Any) -> None:
    """Argon2 takes about 0.2 s per account; these tests are about screens, not password hashing."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def chief(make_user: Callable[..., Any], municipality: Any) -> Any:
    return make_user("kacho", role=Role.CHIEF, municipality=municipality)


@pytest.fixture
def target(make_user: Callable[..., Any], municipality: Any) -> Any:
    """A clerk of 川口市 whose rights the chief manages."""
    return make_user("tanto", role=Role.CLERK, municipality=municipality, team="収納第1係")


@pytest.fixture
def chief_client(chief: Any) -> Client:
    return _signed_in(chief)


def _fresh(user: Any) -> Any:
    return User.objects.get(pk=user.pk)


def _messages(response: Any) -> str:
    return " ".join(str(m) for m in response.context["messages"]) if response.context else ""


# ---------------------------------------------------------------------------------------------------
# Permission matrix
# ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("view", ADMIN_VIEWS)
def test_an_anonymous_visitor_is_sent_to_the_login_page(client: Client, target: Any, view: str) -> None:
    response = _call(client, view, target)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("web:login") + "?next=")
    assert _fresh(target).is_active


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("view", ADMIN_VIEWS)
def test_each_role_reaches_a_rights_screen_only_with_its_right(
    make_user: Callable[..., Any], municipality: Any, target: Any, view: str, role: str
) -> None:
    user = make_user(f"user-{role}", role=role, municipality=municipality)
    allowed = ADMIN_VIEWS[view][1] in effective_rights(user)
    response = _call(_signed_in(user), view, target)
    if not allowed:
        assert response.status_code == 403
        assert "この画面を表示する権限がありません" in response.content.decode()
        assert _fresh(target).is_active
    elif ADMIN_VIEWS[view][0] == "post":
        assert response.status_code == 302
        assert not _fresh(target).is_active
    else:
        assert response.status_code == 200


def test_the_rights_roles_are_the_chief_for_administration_and_chief_and_auditor_for_reports(
    make_user: Callable[..., Any], municipality: Any
) -> None:
    users = {role: make_user(f"u-{role}", role=role, municipality=municipality) for role in ROLES}
    admins = {role for role, u in users.items() if Right.RIGHTS_ADMIN in effective_rights(u)}
    reporters = {role for role, u in users.items() if Right.RIGHTS_REPORT in effective_rights(u)}
    assert admins == {Role.CHIEF}
    assert reporters == {Role.CHIEF, Role.AUDITOR}


@pytest.mark.parametrize("view", sorted(WITH_TARGET))
def test_a_chief_of_another_municipality_finds_no_such_account(
    make_user: Callable[..., Any], other_municipality: Any, target: Any, view: str
) -> None:
    stranger = make_user("soka-kacho", role=Role.CHIEF, municipality=other_municipality)
    response = _call(_signed_in(stranger), view, target)
    assert response.status_code == 404
    assert "tanto" not in response.content.decode()
    assert _fresh(target).is_active


def test_the_account_list_shows_only_the_chiefs_own_municipality(
    chief_client: Client, target: Any, make_user: Callable[..., Any], other_municipality: Any
) -> None:
    make_user("soka-tanto", role=Role.CLERK, municipality=other_municipality)
    html = chief_client.get(reverse("accounts:user-list")).content.decode()
    assert "tanto" in html and "収納第1係" in html
    assert "soka-tanto" not in html
    assert Right.TAXPAYER_EDIT.label in html


def test_a_user_bound_to_no_municipality_is_refused(make_user: Callable[..., Any], target: Any) -> None:
    floating = make_user("floating", role=Role.CHIEF, municipality=None)
    assert _signed_in(floating).get(reverse("accounts:user-list")).status_code == 403


def test_the_menu_shows_rights_administration_to_the_chief_and_the_reports_to_the_auditor(
    chief_client: Client, make_user: Callable[..., Any], municipality: Any
) -> None:
    admin_link = reverse("accounts:user-list")
    report_link = reverse("accounts:report-review")
    chief_html = chief_client.get(reverse("web:search")).content.decode()
    assert admin_link in chief_html and report_link in chief_html
    auditor = make_user("kansa", role=Role.AUDITOR, municipality=municipality)
    auditor_html = _signed_in(auditor).get(reverse("accounts:report-review")).content.decode()
    assert report_link in auditor_html and admin_link not in auditor_html
    clerk = make_user("clerk", role=Role.CLERK, municipality=municipality)
    clerk_html = _signed_in(clerk).get(reverse("web:search")).content.decode()
    assert admin_link not in clerk_html and report_link not in clerk_html


# ---------------------------------------------------------------------------------------------------
# Grant and revoke
# ---------------------------------------------------------------------------------------------------


def _set(client: Client, user: Any, right: str, action: str, reason: str = "番号利用事務の担当") -> Any:
    url = reverse("accounts:user-detail", args=[user.pk])
    return client.post(url, {"right": right, "action": action, "reason": reason}, follow=True)


def test_a_chief_grants_a_right_and_the_change_is_recorded_with_the_reason(
    chief_client: Client, chief: Any, target: Any
) -> None:
    response = _set(chief_client, target, Right.APPROVE, "grant")
    assert "「決裁（二人目の確認）」を付与しました" in _messages(response)
    assert Right.APPROVE in effective_rights(_fresh(target))
    change = RightChange.objects.get(user=target, action=RightChange.Action.GRANT)
    assert (change.right, change.reason, change.changed_by, change.before, change.after) == (
        Right.APPROVE,
        "番号利用事務の担当",
        chief,
        "無",
        "有",
    )
    assert AuditLog.objects.filter(kind=AuditKind.CHANGE, function="権限変更", user=chief).count() == 1


def test_a_chief_revokes_a_default_right(chief_client: Client, target: Any) -> None:
    response = _set(chief_client, target, Right.TAXPAYER_EDIT, "revoke", reason="異動")
    assert "取り消しました" in _messages(response)
    assert Right.TAXPAYER_EDIT not in effective_rights(_fresh(target))
    assert RightChange.objects.filter(user=target, action=RightChange.Action.REVOKE).count() == 1


def test_a_change_without_a_reason_is_refused_with_a_japanese_message(
    chief_client: Client, target: Any
) -> None:
    response = _set(chief_client, target, Right.APPROVE, "grant", reason="")
    assert "変更理由を入力してください" in _messages(response)
    assert Right.APPROVE not in effective_rights(_fresh(target))
    assert not RightChange.objects.filter(user=target).exists()


def test_a_right_beyond_the_roles_ceiling_is_neither_offered_nor_accepted(
    chief_client: Client, make_user: Callable[..., Any], municipality: Any
) -> None:
    window = make_user("madoguchi", role=Role.WINDOW_CONTRACTOR, municipality=municipality)
    html = chief_client.get(reverse("accounts:user-detail", args=[window.pk])).content.decode()
    assert f'value="{Right.TAXPAYER_VIEW.value}"' in html
    assert f'value="{Right.MY_NUMBER_REVEAL.value}"' not in html
    response = _set(chief_client, window, Right.MY_NUMBER_REVEAL, "grant")
    assert "付与できません（契約・職務の範囲外）" in _messages(response)
    assert Right.MY_NUMBER_REVEAL not in effective_rights(_fresh(window))


def test_a_chief_cannot_change_their_own_rights_and_is_told_why(chief_client: Client, chief: Any) -> None:
    page = chief_client.get(reverse("accounts:user-detail", args=[chief.pk])).content.decode()
    assert "ご自身の権限の変更・利用停止はできません" in page
    assert 'name="action"' not in page
    response = _set(chief_client, chief, Right.BACKUP, "grant")
    assert "自分自身の権限は変更できません" in _messages(response)
    assert not RightChange.objects.filter(user=chief).exists()


def test_granting_a_right_already_held_says_so(chief_client: Client, target: Any) -> None:
    response = _set(chief_client, target, Right.TAXPAYER_VIEW, "grant")
    assert "権限は既にその状態です" in _messages(response)


def test_a_right_change_by_get_changes_nothing(chief_client: Client, target: Any) -> None:
    url = reverse("accounts:user-detail", args=[target.pk])
    chief_client.get(url, {"right": Right.APPROVE, "action": "grant", "reason": "x"})
    assert Right.APPROVE not in effective_rights(_fresh(target))


# ---------------------------------------------------------------------------------------------------
# New accounts
# ---------------------------------------------------------------------------------------------------

NEW_USER = {
    "username": "shinnin.hanako",
    "display_name": "新任 花子",
    "role": Role.CASE_OFFICER,
    "team": "滞納整理第2係",
    "password": "sakura no hana 2025",
    "password_confirm": "sakura no hana 2025",
}


def test_a_chief_creates_an_account_and_sees_the_second_factor_key_once(
    chief_client: Client, chief: Any, municipality: Any
) -> None:
    response = chief_client.post(reverse("accounts:user-new"), NEW_USER)
    html = response.content.decode()
    assert response.status_code == 200
    created = User.objects.get(username="shinnin.hanako")
    assert (created.role, created.municipality, created.team) == (
        Role.CASE_OFFICER,
        municipality,
        "滞納整理第2係",
    )
    assert created.check_password("sakura no hana 2025")
    secret = b32encode(TOTPDevice.objects.get(user=created).bin_key).decode()
    assert secret in html and "otpauth://totp/" in html
    assert "sakura no hana 2025" not in html
    assert "no-store" in response["Cache-Control"]
    change = RightChange.objects.get(user=created)
    assert (change.action, change.changed_by) == (RightChange.Action.CREATE, chief)
    assert AuditLog.objects.filter(function="利用者登録", user=chief).exists()
    later = chief_client.get(reverse("accounts:user-detail", args=[created.pk])).content.decode()
    assert secret not in later


def test_a_weak_password_is_refused_in_japanese_and_no_account_is_made(chief_client: Client) -> None:
    data = {**NEW_USER, "password": "12345678", "password_confirm": "12345678"}
    response = chief_client.post(reverse("accounts:user-new"), data)
    assert response.status_code == 400
    assert "パスワード" in response.content.decode() and "短すぎ" in response.content.decode()
    assert not User.objects.filter(username="shinnin.hanako").exists()


def test_a_mistyped_confirmation_is_refused(chief_client: Client) -> None:
    response = chief_client.post(reverse("accounts:user-new"), {**NEW_USER, "password_confirm": "other"})
    assert response.status_code == 400
    assert "確認用のパスワードが一致しません" in response.content.decode()
    assert not User.objects.filter(username="shinnin.hanako").exists()


def test_a_taken_user_id_is_refused(chief_client: Client, target: Any) -> None:
    response = chief_client.post(reverse("accounts:user-new"), {**NEW_USER, "username": "tanto"})
    assert response.status_code == 400
    assert "利用者ID tanto は登録済みです" in response.content.decode()


# ---------------------------------------------------------------------------------------------------
# Deactivation
# ---------------------------------------------------------------------------------------------------


def test_a_deactivated_account_is_recorded_and_its_open_session_ends(
    chief_client: Client, chief: Any, target: Any
) -> None:
    target_client = _signed_in(target)
    assert target_client.get(reverse("web:search")).status_code == 200
    url = reverse("accounts:user-deactivate", args=[target.pk])
    response = chief_client.post(url, {"reason": "退職"}, follow=True)
    assert "利用停止にしました" in _messages(response)
    assert not _fresh(target).is_active
    change = RightChange.objects.get(user=target)
    assert (change.action, change.reason, change.changed_by) == (RightChange.Action.DEACTIVATE, "退職", chief)
    log = AuditLog.objects.get(function="利用停止")
    assert (log.user, log.subject_ids) == (chief, [target.pk])
    after = target_client.get(reverse("web:search"))
    assert after.status_code == 302 and after["Location"].startswith(reverse("web:login"))


def test_deactivation_needs_a_reason(chief_client: Client, target: Any) -> None:
    url = reverse("accounts:user-deactivate", args=[target.pk])
    response = chief_client.post(url, {"reason": " "}, follow=True)
    assert "利用停止の理由を入力してください" in _messages(response)
    assert _fresh(target).is_active


def test_a_chief_cannot_deactivate_themselves(chief_client: Client, chief: Any) -> None:
    url = reverse("accounts:user-deactivate", args=[chief.pk])
    response = chief_client.post(url, {"reason": "テスト"}, follow=True)
    assert "自分自身を利用停止にすることはできません" in _messages(response)
    assert _fresh(chief).is_active
    assert not RightChange.objects.filter(action=RightChange.Action.DEACTIVATE).exists()


def test_deactivating_twice_is_refused_and_recorded_once(chief_client: Client, target: Any) -> None:
    url = reverse("accounts:user-deactivate", args=[target.pk])
    chief_client.post(url, {"reason": "退職"})
    response = chief_client.post(url, {"reason": "退職"}, follow=True)
    assert "既に利用停止" in _messages(response)
    assert RightChange.objects.filter(action=RightChange.Action.DEACTIVATE).count() == 1


def test_deactivation_by_get_is_not_allowed(chief_client: Client, target: Any) -> None:
    assert chief_client.get(reverse("accounts:user-deactivate", args=[target.pk])).status_code == 405
    assert _fresh(target).is_active
