"""催告書 screens (issue 15 §3, §8): build, review with amounts, exclude by hand, issue; who may."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from conftest import login_verified
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from choshu.accounts.models import Role
from choshu.audit.models import AuditKind, AuditLog
from choshu.dunning.models import ReminderExclusion, ReminderLetter, ReminderList
from choshu.dunning.reminders import Criteria, list_save
from choshu.dunning.services import dunning_fee_set, dunning_run
from choshu.taxpayers.models import Taxpayer

pytestmark = pytest.mark.django_db


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


@pytest.fixture
def city(sample_city: Any) -> Any:
    dunning_fee_set(actor=None, municipality=sample_city, valid_from=date(2024, 4, 1), yen=100, source="条例")
    dunning_run(municipality=sample_city, as_of=date(2024, 7, 15), today=date(2024, 7, 15))
    return sample_city


def _client(make_user: Callable[..., Any], city: Any, role: str, name: str | None = None) -> Client:
    return login_verified(Client(), make_user(name or f"u-{role}", role=role, municipality=city))


def _form(**extra: Any) -> dict[str, Any]:
    today = timezone.localdate()
    return {"name": "1月の催告", "as_of": today.isoformat(), "pay_by": today.isoformat(), "days_overdue": "0",
            "dunned_only": "on", **extra}  # fmt: skip


def _draft(city: Any, make_user: Callable[..., Any]) -> ReminderList:
    owner = make_user("owner", role=Role.CHIEF, municipality=city)
    today = timezone.localdate()
    return list_save(actor=owner, municipality=city, name="既存", criteria=Criteria(), as_of=today, pay_by=today,
                     today=today)  # fmt: skip


@pytest.mark.parametrize(
    ("role", "status"),
    [(Role.CHIEF, 200), (Role.CASE_OFFICER, 200), (Role.CLERK, 403), (Role.WINDOW_CONTRACTOR, 403),
     (Role.AUDITOR, 403), (Role.SUPPORT_CONTRACTOR, 403), (Role.CALLCENTER_OPERATOR, 403)],
)  # fmt: skip
def test_who_reaches_the_lists(city: Any, make_user: Callable[..., Any], role: str, status: int) -> None:
    rl = _draft(city, make_user)
    client = _client(make_user, city, role)
    for url in (
        reverse("dunning:reminders"),
        reverse("dunning:reminder-new"),
        reverse("dunning:reminder", args=[rl.pk]),
    ):
        assert client.get(url).status_code == status
    assert client.post(reverse("dunning:reminder-new"), _form()).status_code in (
        (302,) if status == 200 else (403,)
    )


def test_anonymous_goes_to_the_login_page(city: Any, make_user: Callable[..., Any]) -> None:
    rl = _draft(city, make_user)
    for url in (reverse("dunning:reminders"), reverse("dunning:reminder", args=[rl.pk])):
        response = Client().get(url)
        assert response.status_code == 302 and "/login/" in response["Location"]
    response = Client().post(reverse("dunning:reminder-issue", args=[rl.pk]))
    assert response.status_code == 302 and not ReminderLetter.objects.exists()


def test_another_municipality_s_list_is_not_found(
    city: Any, other_municipality: Any, make_user: Callable[..., Any]
) -> None:
    rl = _draft(city, make_user)
    outsider = login_verified(Client(), make_user("soka", role=Role.CHIEF, municipality=other_municipality))
    assert outsider.get(reverse("dunning:reminder", args=[rl.pk])).status_code == 404
    assert outsider.post(reverse("dunning:reminder-issue", args=[rl.pk])).status_code == 404
    assert not ReminderLetter.objects.exists()


def test_build_review_exclude_and_issue_in_the_browser_flow(city: Any, make_user: Callable[..., Any]) -> None:
    client = _client(make_user, city, Role.CHIEF, "kacho")
    response = client.post(reverse("dunning:reminder-new"), _form(tax_items=["01", "04", "05", "03"]))
    rl = ReminderList.objects.get()
    assert response["Location"] == reverse("dunning:reminder", args=[rl.pk])
    html = _text(client.get(response["Location"]).content.decode())
    assert "対象者 3 人" in html and "期別 4 件" in html and "122,800" in html
    assert "個人住民税" in html  # tax items by name
    viewed = AuditLog.objects.filter(function="催告対象リストの確認").latest("pk")
    assert viewed.kind == AuditKind.ACCESS and len(viewed.subject_ids) == 3
    victim = Taxpayer.objects.get(pk=viewed.subject_ids[0])
    client.post(
        reverse("dunning:reminder-exclude", args=[rl.pk]), {"taxpayer": victim.pk, "reason": "納付相談中"}
    )
    html = _text(client.get(reverse("dunning:reminder", args=[rl.pk])).content.decode())
    assert "対象者 2 人" in html and "納付相談中" in html and "手作業で除外 1 人" in html
    response = client.post(reverse("dunning:reminder-issue", args=[rl.pk]))
    assert response.status_code == 302
    assert ReminderLetter.objects.count() == 2 and not ReminderLetter.objects.filter(taxpayer=victim).exists()
    html = _text(client.get(reverse("dunning:reminder", args=[rl.pk])).content.decode())
    assert "発付した催告書" in html and "催告書 2 通" in html
    again = client.post(reverse("dunning:reminder-issue", args=[rl.pk]))
    assert again.status_code == 400 and "発付済み" in again.content.decode()


def test_a_case_officer_reviews_but_cannot_issue(city: Any, make_user: Callable[..., Any]) -> None:
    rl = _draft(city, make_user)
    officer = _client(make_user, city, Role.CASE_OFFICER, "tanto")
    assert "権限が必要です" in officer.get(reverse("dunning:reminder", args=[rl.pk])).content.decode()
    assert officer.post(reverse("dunning:reminder-issue", args=[rl.pk])).status_code == 403
    assert not ReminderLetter.objects.exists()


@pytest.mark.parametrize(
    ("extra", "message"),
    [({"name": ""}, "リスト名を入力してください"), ({"as_of": "2025-13-40"}, "YYYY-MM-DD"),
     ({"amount_min": "-5"}, "0 以上"), ({"amount_min": "500", "amount_max": "100"}, "金額の範囲が逆です"),
     ({"levy_year_from": "2025", "levy_year_to": "2024"}, "賦課年度の範囲が逆です"), ({"tax_items": ["99"]}, "選べない税目"),
     ({"postal_prefix": "33a"}, "郵便番号の先頭"), ({"pay_by": "2000-01-01"}, "納付期限")],
)  # fmt: skip
def test_bad_input_is_a_400_in_japanese_and_saves_nothing(
    city: Any, make_user: Callable[..., Any], extra: dict[str, Any], message: str
) -> None:
    client = _client(make_user, city, Role.CHIEF, "kacho")
    response = client.post(reverse("dunning:reminder-new"), _form(**extra))
    assert response.status_code == 400 and message in response.content.decode()
    assert not ReminderList.objects.exists()


def test_bad_exclusions_are_refused(city: Any, make_user: Callable[..., Any]) -> None:
    rl = _draft(city, make_user)
    client = _client(make_user, city, Role.CHIEF, "kacho")
    url = reverse("dunning:reminder-exclude", args=[rl.pk])
    assert client.post(url, {"taxpayer": "abc", "reason": "x"}).status_code == 400
    assert client.post(url, {"taxpayer": Taxpayer.objects.first().pk, "reason": ""}).status_code == 400  # type: ignore[union-attr]
    assert client.post(url, {"taxpayer": 10**9, "reason": "x"}).status_code == 404
    assert client.get(url).status_code == 405
    assert not ReminderExclusion.objects.exists()
