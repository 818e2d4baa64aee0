"""延滞金 on 個人別収納状況照会: per installment 本税（未納）· 延滞金 · 合計 as of a 計算基準日, totals, the
date field, and the derivation (延滞金計算明細) opened from an amount.

Every figure is checked against ``rules.late_charge.compute_late_charge`` for the same dates (its
published worked examples are ``rules/tests/scenarios/late_charge.toml``, e.g. 豊橋市
https://www-city-toyohashi-lg-jp.cache.yimg.jp/dd.aspx?menuid=10874 ).
"""

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
from choshu.accounts.permissions import ROLE_RIGHTS, Right
from choshu.audit.models import AuditKind, AuditLog, AuditSubject
from choshu.formats.display import yen
from choshu.levies.models import Installment
from choshu.levies.tests.test_verify_incremental import pay
from choshu.rules.late_charge import compute_late_charge
from choshu.web.tests.conftest import by_no

AS_OF = date(2026, 1, 31)
DERIVATION = "web:late-charge-derivation"


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def _page(client: Client, taxpayer: Any, as_of: str = AS_OF.isoformat()) -> Any:
    return client.get(reverse("web:taxpayer-overview", args=[taxpayer.pk]), {"as_of": as_of})


def _lc(principal: int, due: date, until: date, payments: list[tuple[date, int]] | None = None) -> int:
    return compute_late_charge(
        principal=principal, due_date=due, until=until, payments=payments or []
    ).late_charge


def test_each_installment_shows_principal_late_charge_and_total_equal_to_the_rules(
    clerk_client: Client, taxpayer: Any, write_csv: Callable
) -> None:
    pay(write_csv, [("100001", 20000, "2025-06-30")])  # 第1期: 10,000 of 本税 left
    first = _lc(30000, date(2024, 7, 1), AS_OF, [(date(2025, 6, 30), 20000)])
    second = _lc(29000, date(2024, 9, 2), AS_OF)
    fixed = _lc(12000, date(2024, 4, 30), AS_OF)
    assert (first, second, fixed) == (2900, 3400, 1700)  # the rules' figures, not zero
    response = _page(clerk_client, taxpayer)
    assert response.status_code == 200
    text = _text(response.content.decode())
    assert f"100001 第1期 R6.7.1 30,000 20,000 10,000 {yen(first)} {yen(10000 + first)}" in text
    assert f"100001 第2期 R6.9.2 29,000 0 29,000 {yen(second)} {yen(29000 + second)}" in text
    resident = 10000 + 29000 + first + second
    assert f"2024年度 小計 59,000 20,000 39,000 {yen(first + second)} {yen(resident)}" in text
    assert f"個人住民税(普通徴収) 計 59,000 20,000 39,000 {yen(first + second)} {yen(resident)}" in text
    assert f"固定資産税・都市計画税 計 12,000 0 12,000 {yen(fixed)} {yen(12000 + fixed)}" in text
    assert f"延滞金 {yen(first + second + fixed)} 円" in text
    assert f"合計 {yen(resident + 12000 + fixed)} 円" in text
    assert "計算基準日 令和8年1月31日（2026/01/31）現在" in text
    assert "督促手数料" not in text  # no fee in the data: no column


def test_the_default_date_is_today_and_the_field_changes_it(clerk_client: Client, taxpayer: Any) -> None:
    from django.utils import timezone

    today = timezone.localdate()
    html = clerk_client.get(reverse("web:taxpayer-overview", args=[taxpayer.pk])).content.decode()
    assert f'value="{today.isoformat()}"' in html  # the field shows the date used
    assert f"（{today:%Y/%m/%d}）現在" in _text(html)
    earlier = _text(_page(clerk_client, taxpayer, "2024-07-01").content.decode())
    assert "100001 第1期 R6.7.1 30,000 0 30,000 0 30,000" in earlier  # nothing yet on its due date


@pytest.mark.parametrize("bad", ["2026-02-30", "令和8年", "20260131x", "1900-01-01"])
def test_a_bad_date_gets_a_japanese_error_and_the_page_as_of_today(
    clerk_client: Client, taxpayer: Any, bad: str
) -> None:
    response = _page(clerk_client, taxpayer, bad)
    assert response.status_code == 400
    text = _text(response.content.decode())
    assert "計算基準日は" in text and "本日" in text
    assert "川口 太郎" in text  # the page still shows, as of today


def test_a_late_charge_of_an_installment_paid_in_full_still_shows(
    clerk_client: Client, taxpayer: Any, write_csv: Callable
) -> None:
    pay(write_csv, [("100001", 30000, "2025-06-30")])
    charge = _lc(30000, date(2024, 7, 1), date(2025, 6, 30))
    text = _text(_page(clerk_client, taxpayer).content.decode())
    assert f"100001 第1期 R6.7.1 30,000 30,000 0 {yen(charge)} {yen(charge)}" in text


def test_the_amount_links_to_its_derivation(clerk_client: Client, taxpayer: Any) -> None:
    inst = Installment.objects.get(taxpayer=taxpayer, levy__notice_no="100001", installment_no=1)
    html = _page(clerk_client, taxpayer).content.decode()
    url = reverse(DERIVATION, args=[taxpayer.pk, inst.pk]) + "?as_of=2026-01-31"
    assert f'href="{url}"' in html and f'hx-get="{url}"' in html


def test_the_derivation_shows_periods_days_rates_bases_rounding_and_articles(
    clerk_client: Client, taxpayer: Any, write_csv: Callable
) -> None:
    pay(write_csv, [("100001", 20000, "2025-06-30")])
    inst = Installment.objects.get(taxpayer=taxpayer, levy__notice_no="100001", installment_no=1)
    result = compute_late_charge(
        principal=30000, due_date=date(2024, 7, 1), until=AS_OF, payments=[(date(2025, 6, 30), 20000)]
    )
    response = clerk_client.get(reverse(DERIVATION, args=[taxpayer.pk, inst.pk]), {"as_of": "2026-01-31"})
    assert response.status_code == 200
    text = _text(response.content.decode())
    for s in result.segments:
        line = f"{s.start:%Y/%m/%d}〜{s.end:%Y/%m/%d} {s.days}日 {s.rate}% {yen(s.base)} {yen(s.yen)}"
        assert line in text, line
    assert "2024/07/02〜2024/08/01 31日 2.4% 30,000 61" in text  # the first month
    assert "2025/07/01〜2025/12/31 184日 8.7% 10,000 438" in text  # the base after the payment
    assert f"計 {yen(result.subtotal)}" in text
    assert f"100円未満切捨て {yen(result.late_charge)}" in text
    assert f"未納の延滞金 {yen(result.late_charge)}" in text
    assert "2025/06/30 20,000" in text  # the principal payment that changed the base
    assert "起算日 令和6年7月2日（2024/07/02）納期限の翌日" in text
    assert "1か月を経過する日 令和6年8月1日（2024/08/01）" in text
    assert "地方税法326条" in text and "附則3条の2" in text and "20条の4の2第2項" in text
    assert "川口 太郎" in text


def test_the_derivation_subtracts_late_charge_already_paid(
    clerk_client: Client, taxpayer: Any, write_csv: Callable
) -> None:
    pay(write_csv, [("100001", 31000, "2025-06-30")])  # 30,000 本税 + 1,000 of the 2,400 延滞金
    inst = Installment.objects.get(taxpayer=taxpayer, levy__notice_no="100001", installment_no=1)
    text = _text(
        clerk_client.get(
            reverse(DERIVATION, args=[taxpayer.pk, inst.pk]), {"as_of": "2026-01-31"}
        ).content.decode()
    )
    assert "100円未満切捨て 2,400" in text
    assert "納付済みの延滞金 −1,000" in text
    assert "未納の延滞金 1,400" in text


def test_the_derivation_is_a_fragment_to_htmx_and_is_logged_as_a_view_of_the_person(
    clerk_client: Client, taxpayer: Any
) -> None:
    inst = Installment.objects.get(taxpayer=taxpayer, levy__notice_no="100001", installment_no=1)
    response = clerk_client.get(
        reverse(DERIVATION, args=[taxpayer.pk, inst.pk]), {"as_of": "2026-01-31"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" not in html and "延滞金の計算明細" in html
    log = AuditLog.objects.filter(kind=AuditKind.ACCESS, function="延滞金計算明細").get()
    assert log.detail["installment_id"] == inst.pk and log.detail["as_of"] == "2026-01-31"
    assert list(AuditSubject.objects.filter(log=log).values_list("taxpayer_id", flat=True)) == [taxpayer.pk]


def test_a_bad_date_on_the_derivation_is_refused_in_japanese(clerk_client: Client, taxpayer: Any) -> None:
    inst = Installment.objects.get(taxpayer=taxpayer, levy__notice_no="100001", installment_no=1)
    response = clerk_client.get(reverse(DERIVATION, args=[taxpayer.pk, inst.pk]), {"as_of": "2026-13-01"})
    assert response.status_code == 400
    assert "計算基準日は" in response.content.decode()


def test_the_derivation_of_another_persons_installment_is_not_found(
    clerk_client: Client, taxpayer: Any, sample_city: Any
) -> None:
    hanako = by_no(sample_city, "1002")
    hers = Installment.objects.get(taxpayer=hanako)
    response = clerk_client.get(reverse(DERIVATION, args=[taxpayer.pk, hers.pk]))
    assert response.status_code == 404
    assert not AuditLog.objects.filter(function="延滞金計算明細").exists()


def test_an_anonymous_visitor_is_sent_to_login(client: Client, taxpayer: Any) -> None:
    inst = Installment.objects.filter(taxpayer=taxpayer).first()
    assert inst is not None
    response = client.get(reverse(DERIVATION, args=[taxpayer.pk, inst.pk]))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("web:login") + "?next=")


@pytest.mark.parametrize("role", list(Role))
def test_the_derivation_opens_only_for_roles_with_the_view_right(
    client: Client, make_user: Callable[..., Any], taxpayer: Any, role: str
) -> None:
    login_verified(client, make_user(f"user-{role}", role=role, municipality=taxpayer.municipality))
    inst = Installment.objects.filter(taxpayer=taxpayer).first()
    assert inst is not None
    response = client.get(reverse(DERIVATION, args=[taxpayer.pk, inst.pk]))
    assert response.status_code == (200 if Right.TAXPAYER_VIEW in ROLE_RIGHTS[role] else 403)


def test_the_derivation_of_another_municipalitys_person_is_not_found(
    clerk_client: Client, other_city: Any
) -> None:
    stranger = by_no(other_city, "1001")
    inst = Installment.objects.get(taxpayer=stranger)
    assert clerk_client.get(reverse(DERIVATION, args=[stranger.pk, inst.pk])).status_code == 404
