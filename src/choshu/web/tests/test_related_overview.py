"""The person page's 送付先・関係者 (issue 12 §4): what each kind of person sees, the links, the access log,
the masked 送付先 of a 支援措置 person, and the staff edit of a 送付先 through the two-person check."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from conftest import login_verified
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from choshu.accounts.models import Role
from choshu.accounts.permissions import ROLE_RIGHTS, Right
from choshu.accounts.services import right_set
from choshu.approvals.models import ApprovalStatus, ChangeRequest, RequestKind
from choshu.audit.models import AuditKind, AuditLog
from choshu.taxpayers import protection
from choshu.taxpayers.addressee import Via, addressee_for
from choshu.taxpayers.models import MailingAddress, Taxpayer

ROLES = list(Role)


@pytest.fixture(autouse=True)
def fast_password_hashing(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def tp(municipality: Any, no: str) -> Taxpayer:
    return Taxpayer.objects.get(municipality=municipality, taxpayer_no=no)


def page(client: Client, person: Taxpayer) -> str:
    response = client.get(reverse("web:taxpayer-overview", args=[person.pk]))
    assert response.status_code == 200
    return response.content.decode()


def link(person: Taxpayer) -> str:
    return f'href="{reverse("web:taxpayer-overview", args=[person.pk])}"'


@pytest.fixture
def clerk_on(related_city: Any, make_user: Callable[..., Any]) -> Client:
    return login_verified(Client(), make_user("clerk", role=Role.CLERK, municipality=related_city))


# --- the person page -----------------------------------------------------------------------------


def test_a_person_sees_the_items_mailing_address_manager_co_ownership_estate_and_employer(
    related_city: Any,
    clerk_on: Client,
) -> None:
    html = page(clerk_on, tp(related_city, "1001"))
    assert "送付先・関係者" in html
    assert "固定資産税・都市計画税" in html and "〒3320011 埼玉県川口市元郷1-1-1 元郷ハイツ201" in html
    assert "納税管理人" in html and "税理 士郎" in html and link(tp(related_city, "4001")) in html
    assert "この宛名が構成員となっている共有" in html and link(tp(related_city, "3001")) in html
    assert "この宛名が相続人となっている被相続人" in html and link(tp(related_city, "1003")) in html
    assert "00012345" in html and "鋳物工業株式会社" in html and link(tp(related_city, "2002")) in html
    assert "120,000" in html


def test_a_co_ownership_shows_its_members_shares_and_representative(
    related_city: Any,
    clerk_on: Client,
) -> None:
    html = page(clerk_on, tp(related_city, "3001"))
    assert "共有者（構成員）" in html and "2024年度" in html
    assert link(tp(related_city, "1001")) in html and link(tp(related_city, "1002")) in html
    assert html.count(">代表者</span>") == 1 and html.count("1/2") == 2


def test_a_deceased_person_shows_the_heirs_and_their_representative(
    related_city: Any,
    clerk_on: Client,
) -> None:
    html = page(clerk_on, tp(related_city, "1003"))
    assert "相続人（承継納税義務者）" in html and html.count(">相続人代表者</span>") == 1
    assert link(tp(related_city, "1002")) in html and "2024/01/15" in html and ">R6.1.15</time>" in html


def test_an_employer_shows_its_designation_special_due_dates_and_employees(
    related_city: Any,
    clerk_on: Client,
) -> None:
    html = page(clerk_on, tp(related_city, "2002"))
    assert "特別徴収義務者指定番号" in html and "00012345" in html
    assert "あり（年2回納入）" in html and "1人" in html
    assert "この指定番号の調定はありません。" in html


def test_an_agent_sees_whom_they_represent(related_city: Any, clerk_on: Client) -> None:
    html = page(clerk_on, tp(related_city, "4001"))
    assert "この宛名が代理人・納税管理人となっている納税者" in html and link(tp(related_city, "1001")) in html


def test_a_person_without_related_records_sees_that_documents_go_to_the_address(
    sample_city: Any, make_user: Callable[..., Any]
) -> None:
    client = login_verified(Client(), make_user("clerk", role=Role.CLERK, municipality=sample_city))
    html = page(client, tp(sample_city, "1002"))
    assert "税目別の送付先はありません" in html and "代理人・納税管理人" not in html


def test_the_access_log_names_the_related_people_shown(related_city: Any, clerk_on: Client) -> None:
    page(clerk_on, tp(related_city, "1001"))
    log = AuditLog.objects.filter(kind=AuditKind.ACCESS, function="個人別収納状況照会").get()
    expected = {tp(related_city, no).pk for no in ("1001", "4001", "3001", "1003", "2002")}
    assert set(log.subject_ids) == expected


def test_a_protected_persons_mailing_address_is_masked_without_the_right(
    related_city: Any,
    make_user: Callable[..., Any],
) -> None:
    taro = tp(related_city, "1001")
    Taxpayer.objects.filter(pk=taro.pk).update(support_measure_from=timezone.localdate() - timedelta(days=1))
    clerk = login_verified(Client(), make_user("clerk", role=Role.CLERK, municipality=related_city))
    html = page(clerk, taro)
    assert "元郷1-1-1" not in html and protection.MASK in html
    chief = make_user("chief", role=Role.CHIEF, municipality=related_city)
    kacho = make_user("kacho", role=Role.CHIEF, municipality=related_city)
    right_set(
        actor=kacho, user=chief, right=Right.PROTECTED_ADDRESS_VIEW, granted=True, reason="支援措置の担当"
    )
    assert "元郷1-1-1" in page(login_verified(Client(), chief), taro)


# --- the 送付先 request: permissions ------------------------------------------------------------------


def mailing_url(person: Taxpayer) -> str:
    return reverse("approvals:mailing-address", args=[person.pk])


def test_an_anonymous_visitor_is_sent_to_the_login_page(related_city: Any) -> None:
    response = Client().get(mailing_url(tp(related_city, "1001")))
    assert response.status_code == 302 and response["Location"].startswith(reverse("web:login"))


@pytest.mark.parametrize("role", ROLES)
def test_the_mailing_request_opens_only_for_roles_that_may_edit(
    related_city: Any,
    make_user: Callable[..., Any],
    role: str,
) -> None:
    client = login_verified(Client(), make_user(f"user-{role}", role=role, municipality=related_city))
    response = client.get(mailing_url(tp(related_city, "1001")), {"tax_item": "04"})
    allowed = Right.TAXPAYER_EDIT in ROLE_RIGHTS[role]
    assert response.status_code == (200 if allowed else 403)
    assert ("元郷1-1-1" in response.content.decode()) is allowed  # the item's current 送付先, filled in
    assert AuditLog.objects.filter(kind=AuditKind.ACCESS, function="送付先の申請").exists() is allowed


def test_a_person_of_another_municipality_is_not_found(
    related_city: Any,
    other_municipality: Any,
    make_user: Callable[..., Any],
) -> None:
    client = login_verified(Client(), make_user("soka", role=Role.CLERK, municipality=other_municipality))
    assert client.get(mailing_url(tp(related_city, "1001"))).status_code == 404


# --- the 送付先 request: the two-person check end to end ---------------------------------------------------


@pytest.fixture
def staff(related_city: Any, make_user: Callable[..., Any]) -> dict[str, Client]:
    clerk = make_user("clerk", role=Role.CLERK, municipality=related_city)
    chief = make_user("chief", role=Role.CHIEF, municipality=related_city)
    return {"clerk": login_verified(Client(), clerk), "chief": login_verified(Client(), chief)}


FORM = {
    "tax_item": "05", "operation": "save", "name": "", "postal_code": "３３２－００３４",
    "address": "埼玉県川口市並木2-2-2", "address_extra": "並木荘3号", "phone": "", "set_reason": "単身赴任",
    "valid_from": "2024-04-01", "valid_until": "", "reason": "送付先変更届（窓口）",
}  # fmt: skip


def test_a_new_mailing_address_takes_effect_only_when_a_second_person_approves(
    related_city: Any,
    staff: dict[str, Client],
) -> None:
    taro = tp(related_city, "1001")
    response = staff["clerk"].post(mailing_url(taro), FORM)
    req = ChangeRequest.objects.get(kind=RequestKind.MAILING_ADDRESS)
    assert response.status_code == 302 and response["Location"] == reverse("approvals:detail", args=[req.pk])
    assert req.payload["operation"] == "登録" and req.payload["postal_code"] == "3320034"
    assert not MailingAddress.objects.filter(tax_item="05").exists()
    assert addressee_for(taro, "05", date(2024, 6, 1)).rule == Via.REGISTERED

    queue = staff["chief"].get(reverse("approvals:queue")).content.decode()
    assert "送付先（税目別）の登録・変更・終了" in queue
    assert "送付先住所" in queue and "埼玉県川口市並木2-2-2" in queue and "軽自動車税(種別割)" in queue

    own = staff["clerk"].post(reverse("approvals:approve", args=[req.pk]))
    assert own.status_code == 403  # a clerk has no approval right; and nobody approves their own
    staff["chief"].post(reverse("approvals:approve", args=[req.pk]))
    req.refresh_from_db()
    assert req.status == ApprovalStatus.APPROVED
    row = MailingAddress.objects.get(tax_item="05")
    assert (row.revision, row.is_current, row.address, row.address_extra, row.set_reason) == (
        1, True, "埼玉県川口市並木2-2-2", "並木荘3号", "単身赴任",
    )  # fmt: skip
    assert row.changed_by == req.requested_by and row.change_request == req
    assert row.change_request.decided_by is not None and row.change_request.decided_by.username == "chief"
    assert addressee_for(taro, "05", date(2024, 6, 1)).rule == Via.MAILING_ITEM


def test_changing_and_ending_an_items_mailing_address_keep_the_old_revisions(
    related_city: Any,
    staff: dict[str, Client],
) -> None:
    taro = tp(related_city, "1001")
    changed = FORM | {"tax_item": "04", "address": "埼玉県川口市元郷9-9-9", "postal_code": "3320011"}
    staff["clerk"].post(mailing_url(taro), changed)
    req = ChangeRequest.objects.get()
    assert req.payload["operation"] == "変更" and req.before["address"] == "埼玉県川口市元郷1-1-1"
    staff["chief"].post(reverse("approvals:approve", args=[req.pk]))
    old, new = MailingAddress.objects.filter(tax_item="04").order_by("revision")
    assert (old.is_current, new.is_current, new.revision, new.address) == (
        False,
        True,
        2,
        "埼玉県川口市元郷9-9-9",
    )
    assert new.kind == "01"  # what the form does not edit is kept

    staff["clerk"].post(mailing_url(taro), FORM | {"tax_item": "04", "operation": "end"})
    ending = ChangeRequest.objects.get(status=ApprovalStatus.PENDING)
    detail = staff["chief"].get(reverse("approvals:detail", args=[ending.pk])).content.decode()
    assert "終了" in detail and "埼玉県川口市元郷9-9-9" in detail
    staff["chief"].post(reverse("approvals:approve", args=[ending.pk]))
    assert not MailingAddress.objects.filter(tax_item="04", is_current=True).exists()
    closing = MailingAddress.objects.filter(tax_item="04").order_by("-revision").first()
    assert closing is not None and (closing.revision, closing.address) == (3, "埼玉県川口市元郷9-9-9")
    assert addressee_for(taro, "04", date(2024, 6, 1)).rule == Via.REGISTERED


def test_a_request_made_against_an_older_revision_is_not_applied(
    related_city: Any,
    staff: dict[str, Client],
) -> None:
    taro = tp(related_city, "1001")
    for address in ("埼玉県川口市元郷7-7-7", "埼玉県川口市元郷8-8-8"):
        staff["clerk"].post(mailing_url(taro), FORM | {"tax_item": "04", "address": address})
    first, second = ChangeRequest.objects.order_by("pk")
    staff["chief"].post(reverse("approvals:approve", args=[first.pk]))
    response = staff["chief"].post(reverse("approvals:approve", args=[second.pk]), follow=True)
    assert "申請の後にこの送付先が変更されています" in response.content.decode()
    second.refresh_from_db()
    assert second.status == ApprovalStatus.PENDING
    assert MailingAddress.objects.get(tax_item="04", is_current=True).address == "埼玉県川口市元郷7-7-7"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"address": ""}, "送付先住所を入力してください"),
        ({"postal_code": "33200"}, "郵便番号は7桁の数字"),
        ({"valid_until": "2024-03-31"}, "利用廃止年月日が登録年月日より前です"),
        ({"operation": "end"}, "この税目の送付先は登録されていません"),
        ({"tax_item": "99"}, "税目を一覧から選択してください"),
        ({"reason": ""}, "申請の理由を入力してください"),
    ],
)
def test_a_bad_request_is_answered_in_japanese_and_files_nothing(
    related_city: Any,
    staff: dict[str, Client],
    changes: dict[str, str],
    message: str,
) -> None:
    response = staff["clerk"].post(mailing_url(tp(related_city, "1001")), FORM | changes)
    assert response.status_code == 400 and message in response.content.decode()
    assert not ChangeRequest.objects.exists()


def test_an_unchanged_mailing_address_is_not_a_request(related_city: Any, staff: dict[str, Client]) -> None:
    same = FORM | {
        "tax_item": "04", "name": "川口 太郎 様方 山田", "postal_code": "3320011", "address": "埼玉県川口市元郷1-1-1",
        "address_extra": "元郷ハイツ201", "set_reason": "入院中", "valid_from": "2024-01-01",
    }  # fmt: skip
    response = staff["clerk"].post(mailing_url(tp(related_city, "1001")), same)
    assert response.status_code == 400 and "変更がありません" in response.content.decode()


def test_a_protected_persons_mailing_address_is_requested_only_by_someone_who_may_see_it(
    related_city: Any,
    staff: dict[str, Client],
) -> None:
    taro = tp(related_city, "1001")
    Taxpayer.objects.filter(pk=taro.pk).update(support_measure_from=timezone.localdate() - timedelta(days=1))
    response = staff["clerk"].post(mailing_url(taro), FORM)
    assert response.status_code == 400
    assert "支援措置対象者の住所・送付先は" in response.content.decode()
    assert not ChangeRequest.objects.exists()
