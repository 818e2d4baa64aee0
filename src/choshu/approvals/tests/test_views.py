"""決裁の画面: permission matrix, request → approve / reject / withdraw, self-approval refused, the
access log, and no My Number in any page."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from conftest import login_verified
from django.test import Client
from django.urls import reverse

from choshu.accounts.models import Role
from choshu.accounts.permissions import Right, effective_rights
from choshu.approvals.models import ApprovalStatus, ChangeRequest
from choshu.audit.models import AuditKind, AuditLog, AuditSubject
from choshu.taxpayers.changes import my_number_link_request, taxpayer_edit_request
from choshu.taxpayers.models import Taxpayer

ROLES = list(Role)
MY_NUMBER_OF_TARO = "621498320257"  # registered for 1001 in ``sample_city``
NEW_MY_NUMBER = "983205673214"  # valid check digit, for 鳩ヶ谷 花子 (1002)
NEW_MY_NUMBER_TYPED = "9832-0567-3214"


def _signed_in(user: Any) -> Client:
    return login_verified(Client(), user)


def _tp(municipality: Any, taxpayer_no: str) -> Taxpayer:
    return Taxpayer.objects.get(municipality=municipality, taxpayer_no=taxpayer_no)


def _messages(response: Any) -> str:
    return " ".join(str(m) for m in response.context["messages"]) if response.context else ""


@pytest.fixture(autouse=True)
def fast_password_hashing(settings: Any) -> None:
    """Argon2 takes about 0.2 s per account; these tests are about screens, not password hashing."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def staff(sample_city: Any, make_user: Callable[..., Any]) -> dict[str, Any]:
    return {
        "clerk": make_user("clerk", role=Role.CLERK, municipality=sample_city),
        "clerk2": make_user("clerk2", role=Role.CLERK, municipality=sample_city),
        "chief": make_user("chief", role=Role.CHIEF, municipality=sample_city),
        "chief2": make_user("chief2", role=Role.CHIEF, municipality=sample_city),
    }


@pytest.fixture
def hanako(sample_city: Any) -> Taxpayer:
    return _tp(sample_city, "1002")


@pytest.fixture
def edit_request(staff: dict[str, Any], hanako: Taxpayer) -> ChangeRequest:
    """A clerk asks to correct 鳩ヶ谷 花子's address (pending)."""
    return taxpayer_edit_request(
        actor=staff["clerk2"],
        taxpayer=hanako,
        changes={"address": "埼玉県川口市本町1-1-1", "address_extra": ""},
        reason="転居届",
    )


# ---------------------------------------------------------------------------------------------------
# Permission matrix
# ---------------------------------------------------------------------------------------------------


def _urls(req: ChangeRequest, taxpayer: Taxpayer) -> dict[str, tuple[str, str]]:
    return {
        "queue": ("get", reverse("approvals:queue")),
        "detail": ("get", reverse("approvals:detail", args=[req.pk])),
        "approve": ("post", reverse("approvals:approve", args=[req.pk])),
        "reject": ("post", reverse("approvals:reject", args=[req.pk])),
        "withdraw": ("post", reverse("approvals:withdraw", args=[req.pk])),
        "taxpayer-edit": ("get", reverse("approvals:taxpayer-edit", args=[taxpayer.pk])),
        "my-number-link": ("get", reverse("approvals:my-number-link", args=[taxpayer.pk])),
    }


VIEWS = ["queue", "detail", "approve", "reject", "withdraw", "taxpayer-edit", "my-number-link"]


def _call(client: Client, view: str, req: ChangeRequest, taxpayer: Taxpayer) -> Any:
    method, url = _urls(req, taxpayer)[view]
    if method == "post":
        return client.post(url, {"comment": "確認しました"})
    return client.get(url)


def _expected(view: str, rights: frozenset[str]) -> int:
    """What a user with ``rights`` gets from ``view`` for a request made by someone else.

    Requests show a person's data, so the queue needs TAXPAYER_VIEW and either APPROVE (all requests)
    or TAXPAYER_EDIT (own requests only: another's request is "not found"). Deciding needs APPROVE;
    withdrawing is the requester's, so an approver is sent back with the refusal message.
    """
    sees_queue = Right.TAXPAYER_VIEW in rights and bool({Right.APPROVE, Right.TAXPAYER_EDIT} & rights)
    if view == "queue":
        return 200 if sees_queue else 403
    if view == "detail":
        return (200 if Right.APPROVE in rights else 404) if sees_queue else 403
    if view in ("approve", "reject"):
        return 302 if Right.APPROVE in rights else 403
    if view == "withdraw":
        return (302 if Right.APPROVE in rights else 404) if sees_queue else 403
    return 200 if {Right.TAXPAYER_EDIT, Right.TAXPAYER_VIEW} <= rights else 403


@pytest.mark.parametrize("view", VIEWS)
def test_an_anonymous_visitor_is_sent_to_the_login_page(
    client: Client, edit_request: ChangeRequest, hanako: Taxpayer, view: str
) -> None:
    response = _call(client, view, edit_request, hanako)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("web:login") + "?next=")
    assert ChangeRequest.objects.get(pk=edit_request.pk).status == ApprovalStatus.PENDING


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("view", VIEWS)
def test_each_role_reaches_an_approval_screen_according_to_its_rights(
    make_user: Callable[..., Any],
    sample_city: Any,
    edit_request: ChangeRequest,
    hanako: Taxpayer,
    view: str,
    role: str,
) -> None:
    user = make_user(f"user-{role}", role=role, municipality=sample_city)
    expected = _expected(view, effective_rights(user))
    response = _call(_signed_in(user), view, edit_request, hanako)
    assert response.status_code == expected
    status = ChangeRequest.objects.get(pk=edit_request.pk).status
    if view == "approve" and expected == 302:
        assert status == ApprovalStatus.APPROVED
    elif view == "reject" and expected == 302:
        assert status == ApprovalStatus.REJECTED
    else:
        assert status == ApprovalStatus.PENDING
    if expected in (403, 404):
        assert "鳩ヶ谷 花子" not in response.content.decode()


def test_only_the_clerk_and_case_officer_roles_see_their_own_requests_only(
    make_user: Callable[..., Any], sample_city: Any
) -> None:
    own_only = set()
    for role in ROLES:
        rights = effective_rights(make_user(f"u-{role}", role=role, municipality=sample_city))
        if _expected("queue", rights) == 200 and Right.APPROVE not in rights:
            own_only.add(role)
    assert own_only == {Role.CLERK, Role.CASE_OFFICER}


@pytest.mark.parametrize("view", VIEWS)
def test_a_chief_of_another_municipality_finds_nothing(
    make_user: Callable[..., Any],
    other_municipality: Any,
    edit_request: ChangeRequest,
    hanako: Taxpayer,
    view: str,
) -> None:
    stranger = make_user("soka-chief", role=Role.CHIEF, municipality=other_municipality)
    response = _call(_signed_in(stranger), view, edit_request, hanako)
    html = response.content.decode()
    assert response.status_code == (200 if view == "queue" else 404)
    assert "鳩ヶ谷 花子" not in html and "転居届" not in html
    assert ChangeRequest.objects.get(pk=edit_request.pk).status == ApprovalStatus.PENDING


def test_a_requester_sees_only_their_own_requests_and_an_approver_sees_all(
    staff: dict[str, Any], edit_request: ChangeRequest, sample_city: Any
) -> None:
    taxpayer_edit_request(
        actor=staff["clerk"],
        taxpayer=_tp(sample_city, "2001"),
        changes={"phone": "048-999-0000"},
        reason="電話",
    )
    clerk_html = _signed_in(staff["clerk"]).get(reverse("approvals:queue")).content.decode()
    assert "株式会社キューポラ" in clerk_html and "鳩ヶ谷 花子" not in clerk_html
    chief_html = _signed_in(staff["chief"]).get(reverse("approvals:queue")).content.decode()
    assert "株式会社キューポラ" in chief_html and "鳩ヶ谷 花子" in chief_html


def test_the_menu_shows_approvals_to_staff_who_request_or_approve(
    staff: dict[str, Any], make_user: Callable[..., Any], sample_city: Any
) -> None:
    link = reverse("approvals:queue")
    assert link in _signed_in(staff["clerk"]).get(reverse("web:search")).content.decode()
    window = make_user("madoguchi", role=Role.WINDOW_CONTRACTOR, municipality=sample_city)
    assert link not in _signed_in(window).get(reverse("web:search")).content.decode()


# ---------------------------------------------------------------------------------------------------
# The queue and the detail
# ---------------------------------------------------------------------------------------------------


def test_the_queue_shows_kind_subject_requester_reason_and_before_and_after(
    staff: dict[str, Any], edit_request: ChangeRequest
) -> None:
    response = _signed_in(staff["chief"]).get(reverse("approvals:queue"))
    html = response.content.decode()
    for text in (
        "宛名情報の訂正",
        "1002",
        "鳩ヶ谷 花子",
        "clerk2",
        "転居届",
        "埼玉県川口市鳩ヶ谷本町2-1-1",
        "埼玉県川口市本町1-1-1",
        "住所",
    ):
        assert text in html
    log = AuditLog.objects.get(kind=AuditKind.ACCESS, function="決裁一覧")
    assert log.subject_ids == [edit_request.taxpayer_id]


def test_the_status_filter_lists_decided_requests(staff: dict[str, Any], edit_request: ChangeRequest) -> None:
    client = _signed_in(staff["chief"])
    client.post(reverse("approvals:reject", args=[edit_request.pk]), {"comment": "戸籍と不一致"})
    assert "鳩ヶ谷 花子" not in client.get(reverse("approvals:queue")).content.decode()
    rejected = client.get(reverse("approvals:queue"), {"status": "rejected"}).content.decode()
    assert "鳩ヶ谷 花子" in rejected and "否認" in rejected
    assert "鳩ヶ谷 花子" in client.get(reverse("approvals:queue"), {"status": "all"}).content.decode()


def test_opening_a_request_writes_the_access_log_for_the_person(
    staff: dict[str, Any], edit_request: ChangeRequest, hanako: Taxpayer
) -> None:
    response = _signed_in(staff["chief"]).get(reverse("approvals:detail", args=[edit_request.pk]))
    assert response.status_code == 200
    log = AuditLog.objects.get(kind=AuditKind.ACCESS, function="決裁の照会")
    assert (log.user, log.subject_ids, log.detail["request"]) == (
        staff["chief"],
        [edit_request.taxpayer_id],
        edit_request.pk,
    )
    assert AuditSubject.objects.filter(log=log, taxpayer_id=hanako.pk).exists()


def test_a_refused_visitor_leaves_no_access_log(staff: dict[str, Any], edit_request: ChangeRequest) -> None:
    response = _signed_in(staff["clerk"]).get(reverse("approvals:detail", args=[edit_request.pk]))
    assert response.status_code == 404
    assert not AuditLog.objects.filter(kind=AuditKind.ACCESS).exists()


# ---------------------------------------------------------------------------------------------------
# Request → decision
# ---------------------------------------------------------------------------------------------------


def test_an_edit_request_takes_effect_only_when_a_second_person_approves(
    staff: dict[str, Any], hanako: Taxpayer
) -> None:
    clerk = _signed_in(staff["clerk"])
    url = reverse("approvals:taxpayer-edit", args=[hanako.pk])
    form = clerk.get(url).content.decode()
    assert 'value="埼玉県川口市鳩ヶ谷本町2-1-1"' in form and 'value="101号"' in form
    assert AuditLog.objects.filter(kind=AuditKind.ACCESS, function="宛名訂正の申請").exists()
    data = {
        "name": hanako.name, "name_kana": hanako.name_kana, "postal_code": "333-0801",
        "address": "埼玉県川口市東川口1-1-1", "address_extra": "", "mailing_postal_code": "",
        "mailing_address": "", "phone": "", "reason": "転居届",
    }  # fmt: skip
    response = clerk.post(url, data, follow=True)
    req = ChangeRequest.objects.get()
    assert response.redirect_chain[-1][0] == reverse("approvals:detail", args=[req.pk])
    assert "決裁（承認）されると宛名に反映されます" in _messages(response)
    assert req.payload == {
        "postal_code": "3330801",
        "address": "埼玉県川口市東川口1-1-1",
        "address_extra": "",
    }
    assert Taxpayer.objects.get(pk=hanako.pk).address == "埼玉県川口市鳩ヶ谷本町2-1-1"

    approved = _signed_in(staff["chief"]).post(
        reverse("approvals:approve", args=[req.pk]), {"comment": "届出を確認"}, follow=True
    )
    assert "承認しました" in _messages(approved)
    changed = Taxpayer.objects.get(pk=hanako.pk)
    assert (changed.address, changed.postal_code, changed.revision) == (
        "埼玉県川口市東川口1-1-1",
        "3330801",
        2,
    )
    req.refresh_from_db()
    assert (req.status, req.decided_by, req.comment) == (
        ApprovalStatus.APPROVED,
        staff["chief"],
        "届出を確認",
    )


def test_an_edit_request_without_changes_or_with_a_bad_postal_code_is_refused(
    staff: dict[str, Any], hanako: Taxpayer
) -> None:
    clerk = _signed_in(staff["clerk"])
    url = reverse("approvals:taxpayer-edit", args=[hanako.pk])
    same = {f: getattr(hanako, f) for f in ("name", "name_kana", "postal_code", "address", "address_extra")}
    response = clerk.post(url, {**same, "reason": "確認"})
    assert response.status_code == 400 and "変更がありません" in response.content.decode()
    response = clerk.post(url, {**same, "postal_code": "12-34", "reason": "確認"})
    assert response.status_code == 400 and "郵便番号は数字7桁で入力してください" in response.content.decode()
    response = clerk.post(url, {**same, "phone": "048-000-0000", "reason": ""})
    assert response.status_code == 400 and "訂正の理由を入力してください" in response.content.decode()
    assert not ChangeRequest.objects.exists()


def test_a_rejection_needs_a_reason_and_then_changes_nothing(
    staff: dict[str, Any], edit_request: ChangeRequest, hanako: Taxpayer
) -> None:
    chief = _signed_in(staff["chief"])
    url = reverse("approvals:reject", args=[edit_request.pk])
    response = chief.post(url, {"comment": "  "}, follow=True)
    assert "否認の理由を入力してください" in _messages(response)
    assert ChangeRequest.objects.get(pk=edit_request.pk).status == ApprovalStatus.PENDING
    response = chief.post(url, {"comment": "転居届の写しがありません"}, follow=True)
    assert "否認しました" in _messages(response)
    req = ChangeRequest.objects.get(pk=edit_request.pk)
    assert (req.status, req.comment) == (ApprovalStatus.REJECTED, "転居届の写しがありません")
    assert Taxpayer.objects.get(pk=hanako.pk).address == "埼玉県川口市鳩ヶ谷本町2-1-1"
    requester = _signed_in(staff["clerk2"]).get(reverse("approvals:detail", args=[req.pk])).content.decode()
    assert "転居届の写しがありません" in requester


def test_the_requester_withdraws_a_pending_request(
    staff: dict[str, Any], edit_request: ChangeRequest
) -> None:
    requester = _signed_in(staff["clerk2"])
    page = requester.get(reverse("approvals:detail", args=[edit_request.pk])).content.decode()
    assert reverse("approvals:withdraw", args=[edit_request.pk]) in page
    response = requester.post(reverse("approvals:withdraw", args=[edit_request.pk]), follow=True)
    assert "取り下げました" in _messages(response)
    assert ChangeRequest.objects.get(pk=edit_request.pk).status == ApprovalStatus.WITHDRAWN


def test_someone_else_cannot_withdraw_a_request(staff: dict[str, Any], edit_request: ChangeRequest) -> None:
    response = _signed_in(staff["chief"]).post(
        reverse("approvals:withdraw", args=[edit_request.pk]), follow=True
    )
    assert "取下げできるのは申請した本人だけです" in _messages(response)
    assert ChangeRequest.objects.get(pk=edit_request.pk).status == ApprovalStatus.PENDING


def test_self_approval_is_refused_with_the_reason_shown(staff: dict[str, Any], hanako: Taxpayer) -> None:
    req = taxpayer_edit_request(
        actor=staff["chief"], taxpayer=hanako, changes={"phone": "048-000-0000"}, reason="本人申出"
    )
    chief = _signed_in(staff["chief"])
    page = chief.get(reverse("approvals:detail", args=[req.pk])).content.decode()
    assert "ご自身の申請は決裁できません" in page
    assert reverse("approvals:approve", args=[req.pk]) not in page
    response = chief.post(reverse("approvals:approve", args=[req.pk]), {"comment": ""}, follow=True)
    assert "自分の申請は決裁できません（別の職員の確認が必要です）" in _messages(response)
    response = chief.post(reverse("approvals:reject", args=[req.pk]), {"comment": "誤り"}, follow=True)
    assert "自分の申請は決裁できません" in _messages(response)
    assert ChangeRequest.objects.get(pk=req.pk).status == ApprovalStatus.PENDING
    assert Taxpayer.objects.get(pk=hanako.pk).phone == ""


def test_a_decided_request_cannot_be_decided_again(
    staff: dict[str, Any], edit_request: ChangeRequest
) -> None:
    _signed_in(staff["chief"]).post(reverse("approvals:approve", args=[edit_request.pk]))
    response = _signed_in(staff["chief2"]).post(
        reverse("approvals:reject", args=[edit_request.pk]), {"comment": "遅れて否認"}, follow=True
    )
    assert "既に「承認」です" in _messages(response)
    assert ChangeRequest.objects.get(pk=edit_request.pk).status == ApprovalStatus.APPROVED


def test_a_decision_by_get_is_not_allowed(staff: dict[str, Any], edit_request: ChangeRequest) -> None:
    chief = _signed_in(staff["chief"])
    assert chief.get(reverse("approvals:approve", args=[edit_request.pk])).status_code == 405
    assert ChangeRequest.objects.get(pk=edit_request.pk).status == ApprovalStatus.PENDING


def test_an_edit_form_of_another_municipalitys_taxpayer_is_not_found(
    make_user: Callable[..., Any], other_municipality: Any, hanako: Taxpayer
) -> None:
    stranger = _signed_in(make_user("soka-clerk", role=Role.CLERK, municipality=other_municipality))
    response = stranger.post(
        reverse("approvals:taxpayer-edit", args=[hanako.pk]), {"name": "乗っ取り", "reason": "x"}
    )
    assert response.status_code == 404
    assert not ChangeRequest.objects.exists()


# ---------------------------------------------------------------------------------------------------
# My Number: requested, approved, and never shown
# ---------------------------------------------------------------------------------------------------


def _pages(client: Client, req: ChangeRequest) -> list[str]:
    urls = [
        reverse("approvals:queue"),
        reverse("approvals:queue") + "?status=all",
        reverse("approvals:detail", args=[req.pk]),
        reverse("approvals:my-number-link", args=[req.taxpayer_id]),
        reverse("approvals:taxpayer-edit", args=[req.taxpayer_id]),
    ]
    return [client.get(url).content.decode() for url in urls]


def test_a_my_number_link_is_requested_approved_and_never_shown(
    staff: dict[str, Any], hanako: Taxpayer
) -> None:
    clerk = _signed_in(staff["clerk"])
    url = reverse("approvals:my-number-link", args=[hanako.pk])
    form = clerk.get(url).content.decode()
    assert 'type="password"' in form and 'autocomplete="off"' in form
    response = clerk.post(url, {"number": NEW_MY_NUMBER_TYPED, "reason": "申告書で確認"}, follow=True)
    html = response.content.decode()
    req = ChangeRequest.objects.get()
    assert "個人番号の登録" in html
    assert NEW_MY_NUMBER not in html and NEW_MY_NUMBER_TYPED not in html
    assert not Taxpayer.objects.get(pk=hanako.pk).has_my_number
    chief = _signed_in(staff["chief"])
    for page in _pages(chief, req) + _pages(clerk, req):
        assert NEW_MY_NUMBER not in page and "9832" not in page
        assert MY_NUMBER_OF_TARO not in page
    chief.post(reverse("approvals:approve", args=[req.pk]))
    assert Taxpayer.objects.get(pk=hanako.pk).has_my_number
    for page in _pages(chief, req):
        assert NEW_MY_NUMBER not in page
    assert NEW_MY_NUMBER not in str(list(AuditLog.objects.values_list("detail", flat=True)))


def test_a_wrong_my_number_is_refused_and_not_sent_back_to_the_browser(
    staff: dict[str, Any], hanako: Taxpayer
) -> None:
    wrong = "983205673215"  # check digit off by one
    response = _signed_in(staff["clerk"]).post(
        reverse("approvals:my-number-link", args=[hanako.pk]), {"number": wrong, "reason": "申告書"}
    )
    html = response.content.decode()
    assert response.status_code == 400
    assert "個人番号が正しくありません" in html
    assert wrong not in html
    assert not ChangeRequest.objects.exists()


def test_a_correction_of_a_registered_my_number_never_shows_the_old_one(
    staff: dict[str, Any], sample_city: Any
) -> None:
    taro = _tp(sample_city, "1001")
    req = my_number_link_request(actor=staff["clerk"], taxpayer=taro, number=NEW_MY_NUMBER, reason="訂正届")
    chief = _signed_in(staff["chief"])
    pages = _pages(chief, req)
    assert "個人番号の訂正" in pages[2] and "登録あり" in pages[2]
    for page in pages:
        assert MY_NUMBER_OF_TARO not in page and NEW_MY_NUMBER not in page


def test_a_corporation_is_offered_no_my_number_form(staff: dict[str, Any], sample_city: Any) -> None:
    corp = _tp(sample_city, "2001")
    client = _signed_in(staff["clerk"])
    page = client.get(reverse("approvals:my-number-link", args=[corp.pk])).content.decode()
    assert "法人には個人番号を登録できません" in page and 'type="password"' not in page
    response = client.post(
        reverse("approvals:my-number-link", args=[corp.pk]), {"number": NEW_MY_NUMBER, "reason": "x"}
    )
    assert response.status_code == 400
    assert not ChangeRequest.objects.exists()
