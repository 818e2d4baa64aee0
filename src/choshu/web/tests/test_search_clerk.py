"""宛名検索 as a clerk expects it (issue 13 §7): 宛名番号 with or without leading zeros, 生年月日 in 西暦 or
和暦, 法人番号; each result with the person's 未納額 and warning flags, in a fixed number of queries."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from conftest import TAXPAYER_HEADER
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from choshu.audit.models import AuditLog
from choshu.core.models import Municipality
from choshu.levies.arrears import arrears_by_taxpayer
from choshu.levies.selectors import installment_balances
from choshu.receipts.services import counter_receipt_take
from choshu.receipts.slips import taxpayer_slips
from choshu.taxpayers import selectors
from choshu.taxpayers.models import IdentityLink, Taxpayer
from choshu.taxpayers.numbering import taxpayer_nos_for_search
from choshu.taxpayers.selectors import SearchQuery, taxpayer_search
from choshu.web.tests.conftest import by_no

CORPORATE_NUMBER = "5835678256246"  # 株式会社キューポラ (2001) in sample_city


@pytest.fixture(autouse=True)
def fast_password_hashing(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _text(response: Any) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode()))


def _found(user: Any, **typed: str) -> list[str]:
    return [tp.taxpayer_no for tp in taxpayer_search(user=user, query=SearchQuery(**typed)).taxpayers]


# --- 宛名番号 with or without leading zeros --------------------------------------------------------------


def test_a_number_typed_with_or_without_leading_zeros_finds_the_person(
    clerk: Any, sample_city: Any, write_csv: Callable[..., Path]
) -> None:
    from choshu.taxpayers.services import taxpayers_import

    # a city without a fixed width keeps numbers as received: one held zero-filled, one not
    row = "0000003001,individual,芝 三郎,シバ サブロウ,1990-01-01,1,3330866,埼玉県川口市芝1-1,,,,,1,"
    taxpayers_import(municipality=sample_city, path=write_csv(TAXPAYER_HEADER, [row]))
    assert sample_city.taxpayer_no_width is None
    for typed in ("3001", "03001", "0000003001", "０００３００１"):
        assert _found(clerk, taxpayer_no=typed) == ["0000003001"], typed
    for typed in ("1001", "0001001", "000000000001001"):
        assert _found(clerk, taxpayer_no=typed) == ["1001"], typed
    assert _found(clerk, taxpayer_no="10010") == []


def test_with_a_fixed_width_the_typed_number_is_zero_filled_to_it(clerk: Any, sample_city: Any) -> None:
    Municipality.objects.filter(pk=sample_city.pk).update(taxpayer_no_width=10)
    Taxpayer.objects.filter(municipality=sample_city, taxpayer_no="1001").update(taxpayer_no="0000001001")
    clerk.municipality.refresh_from_db()
    assert taxpayer_nos_for_search(clerk.municipality, "1001") == ["0000001001"]
    for typed in ("1001", "001001", "0000001001"):
        assert _found(clerk, taxpayer_no=typed) == ["0000001001"], typed


def test_without_a_width_the_candidates_are_few_and_exact(sample_city: Any) -> None:
    nos = taxpayer_nos_for_search(sample_city, "0012")
    assert nos[:3] == ["0012", "12", "012"] and nos[-1] == "000000000000012" and len(nos) == 14
    assert taxpayer_nos_for_search(sample_city, "A-12") == ["A-12"]  # not digits: exact as typed


# --- 生年月日 -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "typed", ["1970-04-01", "19700401", "1970/4/1", "S45.4.1", "昭和45年4月1日", "Ｓ４５．４．１"]
)
def test_a_birth_date_in_western_or_era_form_finds_the_person(clerk_client: Client, typed: str) -> None:
    response = clerk_client.get(reverse("web:search"), {"birth_date": typed})
    text = _text(response)
    assert response.status_code == 200
    assert "川口 太郎" in text and "鳩ヶ谷 花子" not in text
    assert "S45.4.1" in text and "1970/04/01" in text  # the row shows it in both forms
    log = AuditLog.objects.filter(function="宛名検索").latest("pk")
    assert log.detail["query"] == {"birth_date": "1970-04-01"}  # what was searched for, logged


def test_a_birth_date_and_a_kana_must_both_match(clerk: Any, sample_city: Any) -> None:
    assert _found(clerk, birth_date="1985-12-24", kana="ハト") == ["1002"]
    assert _found(clerk, birth_date="1985-12-24", kana="カワ") == []


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("H31.5.1", "平成の期間にない日付です"),
        ("1970-02-30", "という日付はありません"),
        ("いつか", "日付として読めません"),
    ],
)
def test_a_bad_birth_date_is_refused_in_japanese_and_nobody_is_listed(
    clerk_client: Client, typed: str, message: str
) -> None:
    before = AuditLog.objects.filter(function="宛名検索").count()
    response = clerk_client.get(reverse("web:search"), {"birth_date": typed})
    text = _text(response)
    assert response.status_code == 200
    assert "生年月日・設立日：" in text and message in text
    assert "川口 太郎" not in text
    assert AuditLog.objects.filter(function="宛名検索").count() == before


# --- 法人番号 -------------------------------------------------------------------------------------------


def test_a_corporate_number_finds_the_corporation(clerk: Any, clerk_client: Client) -> None:
    assert _found(clerk, corporate_number=CORPORATE_NUMBER) == ["2001"]
    text = _text(clerk_client.get(reverse("web:search"), {"corporate_number": "５８３５６７８２５６２４６"}))
    assert "株式会社キューポラ" in text


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("6835678256246", "法人番号が正しくありません（先頭のチェックデジットが合いません）"),
        ("583567825624", "法人番号は13桁の数字で入力してください"),
        ("ABCDEFGHIJKLM", "法人番号は13桁の数字で入力してください"),
    ],
)
def test_a_bad_corporate_number_is_refused_in_japanese(
    clerk_client: Client, typed: str, message: str
) -> None:
    text = _text(clerk_client.get(reverse("web:search"), {"corporate_number": typed}))
    assert "法人番号：" in text and message in text and "株式会社キューポラ" not in text


# --- arrears and flags in each row ----------------------------------------------------------------------


def test_each_row_shows_the_persons_arrears_as_of_today(
    clerk: Any, clerk_client: Client, sample_city: Any
) -> None:
    taro = by_no(sample_city, "1001")
    counter_receipt_take(
        actor=clerk,
        municipality=sample_city,
        slip_no=taxpayer_slips(sample_city, taro.pk)[0].slip_no,
        amount=10000,
        paid_on=timezone.localdate(),
    )
    today = timezone.localdate()
    balances = installment_balances(taxpayer_ids=[taro.pk], as_of=today)
    expected = sum(b.principal_outstanding for b in balances if b.due_date < today)
    assert expected == 30000 + 29000 + 12000 - 10000  # the sample levies of 2024 are all past due
    assert arrears_by_taxpayer(taxpayer_ids=[taro.pk], as_of=today)[taro.pk].overdue == expected
    text = _text(clerk_client.get(reverse("web:search"), {"address": "埼玉県川口市"}))
    assert "未納額（本税・円）" in text
    assert f"{expected:,}" in text and "70,000" in text and "10,800" in text


def test_an_installment_not_yet_due_is_shown_apart(clerk: Any, sample_city: Any) -> None:
    taro = by_no(sample_city, "1001")
    arrears = arrears_by_taxpayer(taxpayer_ids=[taro.pk], as_of=date(2024, 8, 1))[taro.pk]
    assert (arrears.overdue, arrears.not_yet_due) == (30000 + 12000, 29000)
    assert arrears_by_taxpayer(taxpayer_ids=[], as_of=date(2024, 8, 1)) == {}


def test_each_row_shows_the_warning_flags(
    clerk_client: Client, sample_city: Any, write_csv: Callable[..., Path]
) -> None:
    from choshu.taxpayers.services import taxpayers_import

    rows = [
        "3001,individual,芝 三郎,シバ サブロウ,1940-01-01,1,3330866,埼玉県川口市芝1-1,,,,,0,2024-03-01",
        "3002,individual,芝 三郎,シバ サブロウ,1940-01-01,1,3330866,埼玉県川口市芝1-1,,,,,1,",
    ]
    taxpayers_import(municipality=sample_city, path=write_csv(TAXPAYER_HEADER, rows))
    IdentityLink.objects.create(
        municipality=sample_city, taxpayer=by_no(sample_city, "3002"), linked=by_no(sample_city, "3001")
    )
    html = clerk_client.get(reverse("web:search"), {"kana": "シバ"}).content.decode()
    first, second = re.findall(r"<tr>.*?</tr>", html, re.S)[1:3]
    assert "3001" in first and "死亡" in first and "住登外" in first and "名寄せ" in first
    assert "3002" in second and "名寄せ" in second and "死亡" not in second and "住登外" not in second


def test_the_results_take_the_same_queries_for_one_row_or_many(
    clerk_client: Client, sample_city: Any, write_csv: Callable[..., Path]
) -> None:
    """The arrears and flags of the page are set-based: no query per row."""
    from choshu.taxpayers.services import taxpayers_import

    rows = [
        f"{4000 + i},individual,谷 {i},タニ {i},1950-01-01,1,3330000,埼玉県川口市谷{i},,,,,1,"
        for i in range(30)
    ]
    taxpayers_import(municipality=sample_city, path=write_csv(TAXPAYER_HEADER, rows))
    # The first request of a session may renew its idle window (a session write, once a minute):
    # made before counting, so only the rows can make the counts differ.
    assert clerk_client.get(reverse("web:search")).status_code == 200
    counts = []
    for typed in ({"kana": "タニ 1"}, {"kana": "タニ"}):  # 11 rows, then 30 rows
        with CaptureQueriesContext(connection) as queries:
            response = clerk_client.get(reverse("web:search"), typed)
        assert response.status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1], counts


def test_a_birth_date_search_is_answered_from_its_index(big_city: Any) -> None:
    [condition] = selectors._search_conditions(big_city, SearchQuery(birth_date="1970-04-01"))
    sql, params = (
        Taxpayer.objects.filter(condition).values_list("pk", flat=True)[:2001].query.sql_with_params()
    )
    with connection.cursor() as cur:
        cur.execute(
            ("EXPLAIN " if connection.vendor == "postgresql" else "EXPLAIN QUERY PLAN ") + sql, params
        )
        plan = " ".join(str(row) for row in cur.fetchall())
    assert "taxpayer_birth_idx" in plan, plan


@pytest.fixture
def big_city(sample_city: Any, write_csv: Callable[..., Path]) -> Any:
    from choshu.taxpayers.services import taxpayers_import

    rows = [
        f"{50000 + i},individual,佐藤 {i},サトウ {i},1980-01-{i % 28 + 1:02d},1,3330000,埼玉県川口市本町{i},,,,,1,"
        for i in range(2000)
    ]
    taxpayers_import(municipality=sample_city, path=write_csv(TAXPAYER_HEADER, rows))
    with connection.cursor() as cur:
        cur.execute("ANALYZE")
    return sample_city
