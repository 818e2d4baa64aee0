"""宛名検索: each search field, prefix semantics, limits, and that other cities never appear."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import TAXPAYER_HEADER
from django.db import connection
from django.test import Client
from django.urls import reverse

from choshu.accounts.models import Role
from choshu.taxpayers import selectors
from choshu.taxpayers.models import Taxpayer
from choshu.taxpayers.selectors import SearchQuery, address_prefixes, taxpayer_search

# (what the clerk types, the 宛名番号 expected in 川口市, in kana order)
CASES = [
    ({"taxpayer_no": "1001"}, ["1001"]),
    ({"taxpayer_no": "１００１"}, ["1001"]),
    ({"taxpayer_no": "100"}, []),
    ({"kana": "カワグチ"}, ["1001"]),
    ({"kana": "ｶﾜｸﾞﾁ"}, ["1001"]),
    ({"kana": "かわぐち"}, ["1001"]),
    ({"kana": "かわぐち　たろう"}, ["1001"]),
    ({"kana": "ハト"}, ["1002"]),
    ({"kana": "タロウ"}, []),
    ({"name": "川口"}, ["1001"]),
    ({"name": "川口太"}, ["1001"]),
    ({"name": "株式会社"}, ["2001"]),
    ({"name": "太郎"}, []),
    ({"address": "本町4"}, ["2001"]),
    ({"address": "本町４－１"}, ["2001"]),
    ({"address": "川口市本町4"}, ["2001"]),
    ({"address": "埼玉県川口市本町4-1-1"}, ["2001"]),
    ({"address": "鳩ヶ谷本町"}, ["1002"]),
    ({"address": "東川口1-2-3"}, ["1001"]),
    ({"address": "埼玉県川口市"}, ["1001", "2001", "1002"]),
    ({"address": "埼玉県草加市"}, []),
    ({"phone": "048-111-2222"}, ["1001"]),
    ({"phone": "0481112222"}, ["1001"]),
    ({"phone": "（048）222-3333"}, ["2001"]),
    ({"phone": "111-2222"}, []),
    ({"notice_no": "100001"}, ["1001"]),
    ({"notice_no": "400001"}, ["1001"]),
    ({"notice_no": "300001"}, ["2001"]),
    ({"notice_no": "10000"}, []),
    ({"kana": "カワグチ", "phone": "048-222-3333"}, []),
    ({"kana": "キュー", "address": "本町"}, ["2001"]),
]


@pytest.mark.parametrize(("typed", "expected"), CASES, ids=[str(c[0]) for c in CASES])
def test_search_finds_the_people_of_this_city_by_each_field(
    clerk: Any, other_city: Any, typed: dict[str, str], expected: list[str]
) -> None:
    result = taxpayer_search(user=clerk, query=SearchQuery(**typed))
    assert [tp.taxpayer_no for tp in result.taxpayers] == expected
    assert all(tp.municipality_id == clerk.municipality_id for tp in result.taxpayers)
    assert result.has_more is False


@pytest.mark.parametrize(
    "typed",
    [
        {"taxpayer_no": "1001"},
        {"kana": "カワグチ"},
        {"phone": "048-111-2222"},
        {"notice_no": "100001"},
        {"address": "本町4"},
    ],
)
def test_search_never_returns_the_look_alike_person_of_another_city(
    clerk: Any, other_city: Any, typed: dict[str, str]
) -> None:
    names = [tp.name for tp in taxpayer_search(user=clerk, query=SearchQuery(**typed)).taxpayers]
    assert "草加 次郎" not in names


def test_the_other_city_finds_its_own_person_with_the_same_keys(
    make_user: Callable[..., Any], sample_city: Any, other_city: Any
) -> None:
    soka_clerk = make_user("soka", role=Role.CLERK, municipality=other_city)
    for typed in (
        {"taxpayer_no": "1001"},
        {"kana": "カワグチ"},
        {"notice_no": "100001"},
        {"address": "本町4"},
    ):
        names = [tp.name for tp in taxpayer_search(user=soka_clerk, query=SearchQuery(**typed)).taxpayers]
        assert names == ["草加 次郎"], typed


def test_search_returns_at_most_the_limit_and_says_there_are_more(clerk: Any) -> None:
    result = taxpayer_search(user=clerk, query=SearchQuery(address="埼玉県川口市"), limit=2)
    assert [tp.taxpayer_no for tp in result.taxpayers] == ["1001", "2001"]
    assert result.has_more is True
    assert result.partial is False


def test_a_very_broad_search_without_kana_shows_a_sample_and_says_so(
    clerk: Any, clerk_client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(selectors, "PROBE_LIMIT", 2)
    result = taxpayer_search(user=clerk, query=SearchQuery(address="埼玉県川口市"))
    assert len(result.taxpayers) == 2
    assert (result.has_more, result.partial) == (True, True)
    html = clerk_client.get(reverse("web:search"), {"address": "埼玉県川口市"}).content.decode()
    assert "該当が非常に多いため" in html


def test_a_very_broad_kana_search_still_lists_the_first_in_kana_order(
    clerk: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(selectors, "PROBE_LIMIT", 0)
    result = taxpayer_search(user=clerk, query=SearchQuery(kana="カ"), limit=1)
    assert [tp.taxpayer_no for tp in result.taxpayers] == ["1001"]
    assert (result.has_more, result.partial) == (False, False)


def test_an_empty_search_returns_nobody(clerk: Any) -> None:
    result = taxpayer_search(user=clerk, query=SearchQuery(kana="  "))
    assert result.taxpayers == []
    assert result.has_more is False


def test_an_address_typed_without_the_prefecture_is_also_looked_for_inside_the_city(sample_city: Any) -> None:
    assert address_prefixes(sample_city, "本町4") == ["本町4", "埼玉県川口市本町4"]
    assert address_prefixes(sample_city, "川口市本町") == ["川口市本町", "埼玉県川口市本町"]
    assert address_prefixes(sample_city, "東京都千代田区") == ["東京都千代田区"]


def test_the_search_page_lists_results_with_links_to_the_overview(
    clerk_client: Client, taxpayer: Any
) -> None:
    response = clerk_client.get(reverse("web:search"), {"kana": "ｶﾜｸﾞﾁ"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" in html
    assert "川口 太郎" in html
    assert reverse("web:taxpayer-overview", args=[taxpayer.pk]) in html
    assert "1件" in html


def test_an_htmx_search_returns_only_the_results_fragment(clerk_client: Client) -> None:
    response = clerk_client.get(reverse("web:search"), {"name": "株式会社"}, headers={"HX-Request": "true"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html
    assert 'id="search-results"' in html
    assert "株式会社キューポラ" in html
    assert "HX-Request" in response["Vary"]


def test_a_phone_number_without_digits_is_refused_with_a_japanese_message(clerk_client: Client) -> None:
    response = clerk_client.get(reverse("web:search"), {"phone": "なし"})
    assert "電話番号は数字で入力してください" in response.content.decode()


def test_submitting_an_empty_form_asks_for_a_condition(clerk_client: Client) -> None:
    response = clerk_client.get(reverse("web:search"), {"kana": ""})
    assert "検索条件を1つ以上入力してください" in response.content.decode()


def test_the_search_page_has_labelled_fields_and_the_first_has_focus(clerk_client: Client) -> None:
    html = clerk_client.get(reverse("web:search")).content.decode()
    for label in ("宛名番号", "カナ氏名", "氏名・名称", "住所", "電話番号", "通知書番号"):
        assert f">{label}</label>" in html
    assert 'for="id_kana"' in html
    assert "autofocus" in html
    assert 'aria-describedby="id_kana_helptext"' in html


SURNAMES = [
    ("佐藤", "サトウ"),
    ("鈴木", "スズキ"),
    ("高橋", "タカハシ"),
    ("田中", "タナカ"),
    ("渡辺", "ワタナベ"),
    ("川口", "カワグチ"),
    ("山本", "ヤマモト"),
    ("中村", "ナカムラ"),
    ("小林", "コバヤシ"),
    ("加藤", "カトウ"),
]
TOWNS = ["本町", "栄町", "幸町", "青木", "並木", "芝", "南町", "戸塚", "安行", "神根"]


@pytest.fixture
def big_city(sample_city: Any, write_csv: Callable[..., Path]) -> Any:
    """3,000 more people imported through the real service, with statistics, so plans are realistic."""
    from choshu.taxpayers.services import taxpayers_import

    rows = []
    for i in range(3000):
        kanji, kana = SURNAMES[i % len(SURNAMES)]
        town = TOWNS[(i // 10) % len(TOWNS)]
        rows.append(
            f"{50000 + i},individual,{kanji} {i},{kana} {i},1980-01-01,1,3330000,"
            f"埼玉県川口市{town}{i % 5 + 1}-{i % 40 + 1},,048-{i:03d}-{i:04d},,,1,"
        )
    taxpayers_import(municipality=sample_city, path=write_csv(TAXPAYER_HEADER, rows))
    with connection.cursor() as cur:
        cur.execute("ANALYZE")
    return sample_city


def _plan(queryset: Any) -> str:
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cur:
        cur.execute(
            ("EXPLAIN " if connection.vendor == "postgresql" else "EXPLAIN QUERY PLAN ") + sql, params
        )
        return " ".join(str(row) for row in cur.fetchall())


def _index_searches(plan: str, index: str) -> bool:
    """The plan reads ``index`` with a condition on its search column (not a scan of the whole city)."""
    if connection.vendor == "postgresql":
        return bool(
            re.search(rf"(Index (Only )?Scan using|Bitmap Index Scan on) taxpayer_{index}_(like_)?idx", plan)
        ) and bool(re.search(rf"Index Cond: \(.*search_{index}", plan))
    return bool(re.search(rf"INDEX taxpayer_{index}_idx \(municipality_id=\? AND search_{index}[=>]", plan))


@pytest.mark.parametrize(
    ("index", "typed"),
    [
        ("kana", {"kana": "カワ"}),
        ("name", {"name": "川口 1"}),
        ("address", {"address": "埼玉県川口市本町4-1"}),
        ("phone", {"phone": "048-123-0123"}),
    ],
)
def test_each_search_field_is_answered_from_its_index(
    big_city: Any, index: str, typed: dict[str, str]
) -> None:
    """On a million taxpayers a scan of the city is too slow: the plan must search that column's index."""
    [condition] = selectors._search_conditions(big_city, SearchQuery(**typed))
    plan = _plan(Taxpayer.objects.filter(condition).values_list("pk", flat=True)[:2001])
    assert _index_searches(plan, index), plan


def test_an_address_without_prefecture_is_searched_as_two_index_ranges(big_city: Any) -> None:
    conditions = selectors._search_conditions(big_city, SearchQuery(address="本町4-1"))
    assert len(conditions) == 2
    for condition in conditions:
        plan = _plan(Taxpayer.objects.filter(condition).values_list("pk", flat=True)[:2001])
        assert _index_searches(plan, "address"), plan


def test_a_broad_kana_search_reads_its_rows_from_the_kana_index(big_city: Any) -> None:
    ordered = selectors.search_queryset(big_city, SearchQuery(kana="カ")).order_by(
        "search_kana", "taxpayer_no"
    )
    plan = _plan(ordered[:51])
    assert _index_searches(plan, "kana"), plan


def test_postgresql_has_pattern_indexes_on_the_four_search_columns(db: Any) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("the pattern indexes exist only on PostgreSQL (migration taxpayers 0002)")
    with connection.cursor() as cur:
        cur.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'taxpayers_taxpayer'")
        indexes = dict(cur.fetchall())
    for column in ("kana", "name", "address", "phone"):
        assert f"search_{column} varchar_pattern_ops" in indexes[f"taxpayer_{column}_like_idx"]
