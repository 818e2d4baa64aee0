"""個人別収納状況照会: amounts by tax item and year, the masked My Number, 名寄せ, 履歴 and payments."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from conftest import TAXPAYER_HEADER
from django.test import Client
from django.urls import reverse

from choshu.levies.ledger import Leg, post
from choshu.levies.models import Account, Component, Installment, TxnKind
from choshu.operations.overview import person_overview
from choshu.receipts.models import Channel, Payment
from choshu.taxpayers.models import IdentityLink
from choshu.web.tests.conftest import MY_NUMBER_OF_TARO, by_no

AS_OF = date(2024, 12, 1)


def _pay(taxpayer: Any, *, notice_no: str, installment_no: int, amount: int, paid_on: date) -> None:
    """A bank payment fully matched to one installment (there is no receipts service yet: the ledger
    posting goes through the real ledger service, the ``Payment`` row is written directly)."""
    inst = Installment.objects.get(
        taxpayer=taxpayer, levy__notice_no=notice_no, installment_no=installment_no
    )
    txn = post(
        municipality=taxpayer.municipality,
        kind=TxnKind.PAYMENT,
        legal_date=paid_on,
        booking_date=paid_on,
        legs=[
            Leg(Account.CASH, amount),
            Leg(Account.RECEIVABLE, -amount, Component.PRINCIPAL, installment=inst),
        ],
    )
    Payment.objects.create(
        municipality=taxpayer.municipality,
        channel=Channel.BANK,
        reference=f"test-{txn.pk}",
        taxpayer=taxpayer,
        amount=amount,
        paid_on=paid_on,
        booked_on=paid_on,
        slip_no=inst.slip_no or "",
        txn=txn,
    )


def _text(html: str) -> str:
    """The visible text with tags removed and whitespace collapsed, to assert on table rows."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_the_overview_groups_levies_by_tax_item_and_year_with_subtotals(clerk: Any, taxpayer: Any) -> None:
    overview = person_overview(user=clerk, taxpayer=taxpayer, as_of=AS_OF)
    assert [(g.tax_item_name, [y.levy_year for y in g.years]) for g in overview.tax_items] == [
        ("個人住民税(普通徴収)", [2024]),
        ("固定資産税・都市計画税", [2024]),
    ]
    resident = overview.tax_items[0].years[0]
    assert [(r.balance.installment_no, r.balance.principal) for r in resident.rows] == [
        (1, 30000),
        (2, 29000),
    ]
    assert (resident.totals.levied, resident.totals.paid, resident.totals.outstanding) == (59000, 0, 59000)
    assert (overview.totals.levied, overview.totals.paid, overview.totals.outstanding) == (71000, 0, 71000)


def test_a_payment_shows_as_received_and_reduces_the_outstanding_amount(clerk: Any, taxpayer: Any) -> None:
    _pay(taxpayer, notice_no="100001", installment_no=1, amount=10000, paid_on=date(2024, 7, 1))
    overview = person_overview(user=clerk, taxpayer=taxpayer, as_of=AS_OF)
    first = overview.tax_items[0].years[0].rows[0].balance
    assert (first.principal, first.principal_paid, first.principal_outstanding) == (30000, 10000, 20000)
    assert (overview.totals.levied, overview.totals.paid, overview.totals.outstanding) == (
        71000,
        10000,
        61000,
    )
    assert [p.amount for p in overview.payments] == [10000]


def test_a_payment_after_the_reference_date_is_not_yet_counted(clerk: Any, taxpayer: Any) -> None:
    _pay(taxpayer, notice_no="100001", installment_no=1, amount=10000, paid_on=date(2024, 12, 2))
    overview = person_overview(user=clerk, taxpayer=taxpayer, as_of=AS_OF)
    assert overview.totals.paid == 0


def test_the_overview_page_shows_the_amounts_with_thousands_separators(
    clerk_client: Client, taxpayer: Any
) -> None:
    _pay(taxpayer, notice_no="100001", installment_no=1, amount=10000, paid_on=date(2024, 7, 1))
    html = clerk_client.get(reverse("web:taxpayer-overview", args=[taxpayer.pk])).content.decode()
    text = _text(html)
    assert "個人住民税(普通徴収)" in text
    assert "2024年度 第1期" not in text  # the year is a row header, not repeated on every line
    assert "100001 第1期 R6.7.1 30,000 10,000 20,000" in text
    assert "100001 第2期 R6.9.2 29,000 0 29,000" in text
    assert "2024年度 小計 59,000 10,000 49,000" in text
    assert "固定資産税・都市計画税 計 12,000 0 12,000" in text
    assert "調定額 71,000 円" in text
    assert "未納額 61,000 円" in text
    assert "金融機関" in text


def test_the_person_header_shows_name_kana_birth_date_address_phone_and_residence(
    clerk_client: Client, taxpayer: Any
) -> None:
    text = _text(clerk_client.get(reverse("web:taxpayer-overview", args=[taxpayer.pk])).content.decode())
    for expected in (
        "川口 太郎",
        "カワグチ タロウ",
        "昭和45年4月1日（1970/04/01）",
        "〒3330801 埼玉県川口市東川口1-2-3",
        "送付先 住所と同じ",
        "048-111-2222",
        "住登区分 住登者",
        "死亡日 －",
    ):
        assert expected in text, expected


def test_a_non_resident_is_marked_住登外(clerk_client: Client, sample_city: Any) -> None:
    hanako = by_no(sample_city, "1002")
    text = _text(clerk_client.get(reverse("web:taxpayer-overview", args=[hanako.pk])).content.decode())
    assert "住登区分 住登外" in text
    assert "埼玉県川口市鳩ヶ谷本町2-1-1 101号" in text


def test_the_my_number_is_always_masked_and_its_digits_never_reach_the_page(
    clerk_client: Client, taxpayer: Any
) -> None:
    html = clerk_client.get(reverse("web:taxpayer-overview", args=[taxpayer.pk])).content.decode()
    assert "＊＊＊＊ ＊＊＊＊ ＊＊＊＊" in html
    digits_only = re.sub(r"\D", "", html)
    assert MY_NUMBER_OF_TARO not in digits_only
    assert MY_NUMBER_OF_TARO[-4:] + "<" not in html


def test_a_person_without_a_my_number_shows_未登録(clerk_client: Client, sample_city: Any) -> None:
    hanako = by_no(sample_city, "1002")
    text = _text(clerk_client.get(reverse("web:taxpayer-overview", args=[hanako.pk])).content.decode())
    assert "個人番号 未登録" in text


def test_a_corporation_shows_its_corporate_number_and_founding_date(
    clerk_client: Client, sample_city: Any
) -> None:
    corp = by_no(sample_city, "2001")
    text = _text(clerk_client.get(reverse("web:taxpayer-overview", args=[corp.pk])).content.decode())
    assert "法人番号 5835678256246" in text
    assert "設立日 平成11年1月4日" in text
    assert "個人番号" not in text


def test_linked_identities_are_listed_both_ways_and_their_levies_included(
    clerk: Any, clerk_client: Client, sample_city: Any, taxpayer: Any
) -> None:
    hanako = by_no(sample_city, "1002")
    # No 名寄せ service exists yet; the link row is written directly.
    IdentityLink.objects.create(
        municipality=sample_city, taxpayer=taxpayer, linked=hanako, reason="住登外登録の統合"
    )
    from_hanako = person_overview(user=clerk, taxpayer=hanako, as_of=AS_OF)
    assert [link.taxpayer.taxpayer_no for link in from_hanako.linked] == ["1001"]
    assert from_hanako.totals.levied == 10800 + 71000
    assert sorted(from_hanako.subject_ids) == sorted([hanako.pk, taxpayer.pk])
    text = _text(clerk_client.get(reverse("web:taxpayer-overview", args=[taxpayer.pk])).content.decode())
    assert "1002 鳩ヶ谷 花子 ハトガヤ ハナコ" in text
    assert "住登外登録の統合" in text
    assert "1002 500001 第1期 R6.5.31 10,800" in text


def test_a_link_to_another_municipalitys_person_is_never_shown(
    clerk: Any, taxpayer: Any, other_city: Any
) -> None:
    stranger = by_no(other_city, "1001")
    IdentityLink.objects.create(municipality=taxpayer.municipality, taxpayer=taxpayer, linked=stranger)
    overview = person_overview(user=clerk, taxpayer=taxpayer, as_of=AS_OF)
    assert overview.linked == []
    assert overview.subject_ids == [taxpayer.pk]


def test_the_history_lists_revisions_newest_first_with_changed_fields_and_reason(
    clerk_client: Client, taxpayer: Any, write_csv: Callable[..., Path]
) -> None:
    from choshu.taxpayers.services import taxpayers_import

    moved = write_csv(
        TAXPAYER_HEADER,
        [
            "1001,individual,川口 太郎,カワグチ タロウ,1970-04-01,1,3330802,埼玉県川口市戸塚2-2-2,,048-999-0000,"
            "621498320257,,1,",
        ],
    )
    taxpayers_import(municipality=taxpayer.municipality, path=moved)
    text = _text(clerk_client.get(reverse("web:taxpayer-overview", args=[taxpayer.pk])).content.decode())
    history = text[text.index("履歴番号 変更日時") :]
    assert re.search(
        r"2 \d{4}/\d\d/\d\d \d\d:\d\d 郵便番号、住所、電話番号 一括処理 宛名取込\(異動\)", history
    )
    assert history.index("宛名取込(異動)") < history.index("宛名取込(新規)")
    assert "新規登録" in history


def test_the_overview_refuses_a_taxpayer_of_another_city_even_when_called_directly(
    clerk: Any, other_city: Any
) -> None:
    from django.http import Http404

    with pytest.raises(Http404):
        person_overview(user=clerk, taxpayer=by_no(other_city, "1001"), as_of=AS_OF)


def test_the_person_page_shows_the_breakdown_under_its_installment(
    clerk_client: Client, taxpayer: Any, write_csv: Callable
) -> None:
    from choshu.levies.tests.test_breakdown_ledger import FIXED, give_breakdown
    from choshu.levies.tests.test_verify_incremental import pay

    give_breakdown(Installment.objects.get(levy__notice_no="400001"), FIXED)
    pay(write_csv, [("400001", 5000, "2024-04-10")])
    html = clerk_client.get(
        reverse("web:taxpayer-overview", args=[taxpayer.pk]), {"as_of": AS_OF.isoformat()}
    ).content.decode()
    text = _text(html)
    # 本税 7,000 · 延滞金 0 (7,000 yen from 5/1 to 12/1 is under 1,000 yen of 延滞金) · 合計 7,000
    assert (
        "400001 第1期 R6.4.30 12,000 5,000 7,000 0 7,000 うち 固定資産税 9,882 4,118 5,764 うち 都市計画税 2,118 882 1,236"
        in text
    )
    assert "固定資産税・都市計画税 計 12,000 5,000 7,000" in text  # the components are not counted twice
    assert 'rowspan="3"' in html  # the year header spans the installment and its two components
