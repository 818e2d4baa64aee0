"""督促状の一括発付 screen (issue 15 §8): dry run first (counts and amounts by tax item), then issue;
only staff holding ``dunning_run`` (a chief by default) reach it."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from conftest import login_verified
from django.test import Client
from django.urls import reverse

from choshu.accounts.models import Role
from choshu.accounts.permissions import Right
from choshu.accounts.services import right_set
from choshu.dunning.models import DunningNotice
from choshu.dunning.services import dunning_fee_set

pytestmark = pytest.mark.django_db
URL = "/dunning/run/"


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


@pytest.fixture
def city(sample_city: Any) -> Any:
    dunning_fee_set(actor=None, municipality=sample_city, valid_from=date(2024, 4, 1), yen=100, source="条例")
    return sample_city


def _client(make_user: Callable[..., Any], city: Any, role: str, name: str) -> Client:
    return login_verified(Client(), make_user(name, role=role, municipality=city))


def test_the_url_is_named() -> None:
    assert reverse("dunning:run") == URL


@pytest.mark.parametrize(
    ("role", "status"),
    [
        (Role.CHIEF, 200),
        (Role.CLERK, 403),
        (Role.CASE_OFFICER, 403),
        (Role.WINDOW_CONTRACTOR, 403),
        (Role.AUDITOR, 403),
        (Role.SUPPORT_CONTRACTOR, 403),
    ],  # fmt: skip
)
def test_only_the_right_reaches_the_screen(
    city: Any, make_user: Callable[..., Any], role: str, status: int
) -> None:
    client = _client(make_user, city, role, f"u-{role}")
    assert client.get(URL).status_code == status
    assert client.post(URL, {"as_of": "2024-07-15", "issue": "1"}).status_code == status
    if status == 403:
        assert DunningNotice.objects.count() == 0


def test_anonymous_goes_to_the_login_page(city: Any) -> None:
    response = Client().get(URL)
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_a_clerk_granted_the_right_reaches_it(city: Any, make_user: Callable[..., Any]) -> None:
    chief = make_user("kacho", role=Role.CHIEF, municipality=city)
    clerk = make_user("tanto", role=Role.CLERK, municipality=city)
    right_set(actor=chief, user=clerk, right=Right.DUNNING_RUN, granted=True, reason="督促担当")
    assert login_verified(Client(), clerk).get(URL).status_code == 200


def test_the_dry_run_shows_counts_by_tax_item_and_writes_nothing_then_issue(
    city: Any, make_user: Callable[..., Any]
) -> None:
    client = _client(make_user, city, Role.CHIEF, "kacho")
    response = client.post(URL, {"as_of": "2024-07-15"})
    text = _text(response.content.decode())
    assert response.status_code == 200 and "試行の結果（まだ発付していません）" in text
    assert "督促状 4 通（期別 4 件）" in text
    assert re.search(r"個人住民税\(普通徴収\) 1 1 30,000 0 100 30,100", text), text
    assert DunningNotice.objects.count() == 0
    response = client.post(URL, {"as_of": "2024-07-15", "issue": "1"})
    text = _text(response.content.decode())
    assert response.status_code == 200 and "発付しました" in text
    assert DunningNotice.objects.count() == 4
    again = _text(client.post(URL, {"as_of": "2024-07-15"}).content.decode())
    assert "督促状を発付する期別はありません。" in again


@pytest.mark.parametrize(
    ("as_of", "message"),
    [
        ("2999-01-04", "未来の日付"),
        ("2024-02-30", "YYYY-MM-DD"),
        ("", "発付日を入力してください"),
        ("2024-03-31", "督促手数料"),
    ],  # fmt: skip
)
def test_bad_input_is_answered_in_japanese_with_400_and_nothing_written(
    city: Any, make_user: Callable[..., Any], as_of: str, message: str
) -> None:
    client = _client(make_user, city, Role.CHIEF, "kacho")
    response = client.post(URL, {"as_of": as_of, "issue": "1"})
    assert response.status_code == 400 and message in response.content.decode()
    assert DunningNotice.objects.count() == 0


def test_another_municipalitys_chief_runs_only_their_own_city(
    city: Any, other_municipality: Any, make_user: Callable[..., Any]
) -> None:
    dunning_fee_set(
        actor=None, municipality=other_municipality, valid_from=date(2024, 4, 1), yen=0, source="条例"
    )
    client = _client(make_user, other_municipality, Role.CHIEF, "soka")
    text = _text(client.post(URL, {"as_of": "2024-07-15", "issue": "1"}).content.decode())
    assert "督促状を発付する期別はありません。" in text
    assert DunningNotice.objects.count() == 0
