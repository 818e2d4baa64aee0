"""Auditor screens: search the access log of one's own municipality, check the chain, and be logged."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
from conftest import login_verified
from django.test import Client
from django.urls import reverse

from choshu.accounts.models import Role
from choshu.accounts.permissions import Right, effective_rights
from choshu.audit.models import AuditKind, AuditLog, AuditSeal
from choshu.audit.sealing import head, seal_all
from choshu.audit.services import audit_record
from choshu.audit.tests.test_chain import raw
from choshu.web.audit_views import detail_summary
from choshu.web.tests.conftest import MY_NUMBER_OF_TARO, by_no
from choshu.web.tests.conftest import other_city as other_city  # fixture shared with the web tests

ROLES = list(Role)
JST = ZoneInfo("Asia/Tokyo")
LOG_URL = "/audit/"
VERIFY_URL = "/audit/verify/"


@pytest.fixture
def taxpayer(sample_city: Any) -> Any:
    """川口 太郎 (宛名番号 1001) of ``sample_city``."""
    return by_no(sample_city, "1001")


@pytest.fixture
def auditor(make_user: Callable[..., Any], sample_city: Any) -> Any:
    return make_user("kansa", role=Role.AUDITOR, municipality=sample_city)


@pytest.fixture
def auditor_client(auditor: Any) -> Client:
    return login_verified(Client(), auditor)


def _staff_client(
    make_user: Callable[..., Any], username: str, municipality: Any, role: str = Role.CLERK
) -> Client:
    return login_verified(Client(), make_user(username, role=role, municipality=municipality))


def _rows(html: str) -> list[str]:
    """The visible text of each row of the result table."""
    body = html.split('<table class="data-table audit-table">', 1)[-1].split("</table>", 1)[0]
    rows = re.findall(r"<tr>(.*?)</tr>", body, flags=re.S)[1:]  # skip the header row
    return [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row)).strip() for row in rows]


def _at(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=JST)


def _log_at(when: datetime, municipality: Any, function: str, **kwargs: Any) -> AuditLog:
    # audit_record hashes ``at`` as given; a UTC time is what the database gives back (as timezone.now()).
    with mock.patch("django.utils.timezone.now", return_value=when.astimezone(UTC)):
        return audit_record(kind=AuditKind.ACCESS, function=function, municipality=municipality, **kwargs)


def _views_of_the_log() -> list[AuditLog]:
    return list(AuditLog.objects.filter(function="アクセスログ照会").order_by("pk"))


# --- permission matrix --------------------------------------------------------------------------


def test_an_anonymous_visitor_is_sent_to_the_login_page(client: Client, db: Any) -> None:
    for response in (client.get(LOG_URL), client.post(VERIFY_URL)):
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("web:login") + "?next=")
    assert not AuditLog.objects.filter(kind=AuditKind.ACCESS).exists()


def test_the_audit_urls_are_mounted_under_audit() -> None:
    assert reverse("audit:log") == LOG_URL
    assert reverse("audit:verify") == VERIFY_URL


@pytest.mark.parametrize("role", ROLES)
def test_only_roles_with_the_audit_right_open_the_log_and_run_the_check(
    client: Client, make_user: Callable[..., Any], sample_city: Any, role: str
) -> None:
    user = make_user(f"user-{role}", role=role, municipality=sample_city)
    login_verified(client, user)
    allowed = Right.AUDIT_VIEW in effective_rights(user)
    listing = client.get(LOG_URL)
    assert listing.status_code == (200 if allowed else 403)
    assert ("アクセスログ照会" in listing.content.decode()) is allowed
    assert client.post(VERIFY_URL).status_code == (200 if allowed else 403)
    assert len(_views_of_the_log()) == (1 if allowed else 0)


def test_only_the_auditor_role_reads_the_log_by_default() -> None:
    from choshu.accounts.permissions import ROLE_DEFAULTS

    assert {r for r in Role if Right.AUDIT_VIEW in ROLE_DEFAULTS[r]} == {Role.AUDITOR}


def test_the_check_by_get_is_refused(auditor_client: Client) -> None:
    assert auditor_client.get(VERIFY_URL).status_code == 405


def test_a_user_bound_to_no_municipality_is_refused(make_user: Callable[..., Any], db: Any) -> None:
    client = _staff_client(make_user, "nobody", None, Role.AUDITOR)
    assert client.get(LOG_URL).status_code == 403
    assert client.post(VERIFY_URL).status_code == 403


# --- scope: one municipality ----------------------------------------------------------------------


def test_records_of_another_municipality_are_never_listed(
    auditor_client: Client, make_user: Callable[..., Any], taxpayer: Any, other_city: Any
) -> None:
    _staff_client(make_user, "kawaguchi-clerk", taxpayer.municipality).get(
        reverse("web:taxpayer-overview", args=[taxpayer.pk])
    )
    soka_clerk = _staff_client(make_user, "soka-clerk", other_city)
    soka_clerk.get(reverse("web:taxpayer-overview", args=[by_no(other_city, "1001").pk]))
    audit_record(kind=AuditKind.ACCESS, function="草加市だけの照会", municipality=other_city)

    html = auditor_client.get(LOG_URL).content.decode()
    assert "kawaguchi-clerk" in html
    assert "soka-clerk" not in html
    assert "草加市だけの照会" not in html
    # searching by the shared 宛名番号 finds only this city's person
    rows = _rows(auditor_client.get(LOG_URL, {"taxpayer_no": "1001"}).content.decode())
    assert rows and all("kawaguchi-clerk" in row for row in rows)
    assert not any(
        "soka-clerk" in row
        for row in _rows(auditor_client.get(LOG_URL, {"username": "soka-clerk"}).content.decode())
    )


def test_the_auditor_of_the_other_municipality_sees_only_its_own_records(
    make_user: Callable[..., Any], sample_city: Any, other_city: Any
) -> None:
    audit_record(kind=AuditKind.ACCESS, function="川口市の照会", municipality=sample_city)
    audit_record(kind=AuditKind.ACCESS, function="草加市の照会", municipality=other_city)
    html = _staff_client(make_user, "soka-kansa", other_city, Role.AUDITOR).get(LOG_URL).content.decode()
    assert "草加市の照会" in html
    assert "川口市の照会" not in html


def test_a_failed_login_is_listed_only_when_the_typed_name_belongs_to_this_municipality(
    client: Client, auditor_client: Client, make_user: Callable[..., Any], sample_city: Any, other_city: Any
) -> None:
    make_user("tanaka", role=Role.CLERK, municipality=sample_city)
    make_user("sato", role=Role.CLERK, municipality=other_city)
    for name in ("tanaka", "sato", "no-such-user"):
        client.post(reverse("web:login"), {"username": name, "password": "wrong password 1"})
    html = auditor_client.get(LOG_URL, {"kind": AuditKind.LOGIN_FAILED}).content.decode()
    rows = _rows(html)
    assert len(rows) == 1 and "tanaka" in rows[0] and "ログイン失敗" in rows[0]
    assert "sato" not in html and "no-such-user" not in html


# --- search ---------------------------------------------------------------------------------------


def test_the_search_by_person_lists_every_record_about_that_person_only(
    auditor_client: Client, make_user: Callable[..., Any], sample_city: Any, taxpayer: Any
) -> None:
    hanako = by_no(sample_city, "1002")
    clerk = _staff_client(make_user, "clerk", sample_city)
    clerk.get(reverse("web:taxpayer-overview", args=[taxpayer.pk]))
    clerk.get(reverse("web:taxpayer-overview", args=[hanako.pk]))
    clerk.get(reverse("web:search"), {"kana": "カワグチ"})
    rows = _rows(auditor_client.get(LOG_URL, {"taxpayer_no": "1001"}).content.decode())
    assert [row.split(" ")[2] for row in rows] == ["clerk", "clerk"]
    assert "宛名検索" in rows[0] and "個人別収納状況照会" in rows[1]  # newest first
    assert all("1001" in row and "1002" not in row for row in rows)


def test_a_person_number_that_does_not_exist_finds_nothing(auditor_client: Client, taxpayer: Any) -> None:
    audit_record(
        kind=AuditKind.ACCESS, function="照会", municipality=taxpayer.municipality,
        subject_type="taxpayer", subject_ids=[taxpayer.pk],
    )  # fmt: skip
    html = auditor_client.get(LOG_URL, {"taxpayer_no": "9999"}).content.decode()
    assert "条件に一致する記録はありません。" in html


def test_the_search_by_user_name_lists_only_that_users_records(
    auditor_client: Client, make_user: Callable[..., Any], taxpayer: Any
) -> None:
    for name in ("yamada", "yamamoto"):
        _staff_client(make_user, name, taxpayer.municipality).get(
            reverse("web:taxpayer-overview", args=[taxpayer.pk])
        )
    rows = _rows(auditor_client.get(LOG_URL, {"username": "yamada"}).content.decode())
    assert [row.split(" ")[2:5:2] for row in rows] == [
        ["yamada", "個人別収納状況照会"],
        ["yamada", "ログイン"],
    ]


def test_the_search_by_period_uses_japanese_calendar_days(auditor_client: Client, sample_city: Any) -> None:
    _log_at(_at(2025, 1, 10, 9, 0), sample_city, "一月の照会")
    _log_at(_at(2025, 1, 31, 23, 30), sample_city, "月末深夜の照会")  # 14:30 UTC on the 31st
    _log_at(_at(2025, 2, 1, 0, 30), sample_city, "二月一日未明の照会")  # still 31 January in UTC
    _log_at(_at(2025, 3, 1, 9, 0), sample_city, "三月の照会")

    def functions(**conditions: str) -> list[str]:
        html = auditor_client.get(LOG_URL, {"kind": AuditKind.ACCESS, **conditions}).content.decode()
        return [row.split(" ")[4] for row in _rows(html)]

    assert functions(date_from="2025-01-01", date_to="2025-01-31") == ["月末深夜の照会", "一月の照会"]
    assert functions(date_from="2025-02-01", date_to="2025-02-28") == ["二月一日未明の照会"]
    assert functions(date_from="2025-02-01", date_to="2025-12-31") == ["三月の照会", "二月一日未明の照会"]
    assert functions(date_to="2025-01-10") == ["一月の照会"]


def test_a_period_ending_before_it_starts_is_refused_with_a_message(auditor_client: Client) -> None:
    response = auditor_client.get(LOG_URL, {"date_from": "2025-02-01", "date_to": "2025-01-01"})
    assert response.status_code == 400
    assert "期間の終わりは始まりと同じ日か、それより後の日にしてください。" in response.content.decode()
    assert _views_of_the_log() == []


def test_the_search_by_kind_lists_only_that_kind(auditor_client: Client, sample_city: Any) -> None:
    audit_record(kind=AuditKind.EXPORT, function="開示請求出力", municipality=sample_city)
    audit_record(kind=AuditKind.ACCESS, function="宛名検索", municipality=sample_city)
    rows = _rows(auditor_client.get(LOG_URL, {"kind": AuditKind.EXPORT}).content.decode())
    assert len(rows) == 1 and "開示請求出力" in rows[0] and "出力" in rows[0]


def test_the_list_is_newest_first_and_paged_by_fifty(auditor_client: Client, sample_city: Any) -> None:
    for i in range(55):
        _log_at(_at(2025, 4, 1, 9, i), sample_city, f"照会{i:02d}")
    first = _rows(
        auditor_client.get(LOG_URL, {"kind": AuditKind.ACCESS, "date_to": "2025-04-01"}).content.decode()
    )
    second_html = auditor_client.get(
        LOG_URL, {"kind": AuditKind.ACCESS, "date_to": "2025-04-01", "page": "2"}
    ).content.decode()
    second = _rows(second_html)
    assert len(first) == 50 and len(second) == 5
    assert "照会54" in first[0] and "照会05" in first[-1]
    assert "照会04" in second[0] and "照会00" in second[-1]
    assert "kind=access" in second_html and "page=1" in second_html  # the conditions stay in the links


def test_a_row_shows_time_user_address_function_kind_subjects_and_detail(
    auditor_client: Client, make_user: Callable[..., Any], taxpayer: Any
) -> None:
    clerk = _staff_client(make_user, "suzuki", taxpayer.municipality)
    clerk.get(reverse("web:search"), {"kana": "カワグチ"}, REMOTE_ADDR="10.20.30.40")
    log = AuditLog.objects.get(function="宛名検索")
    [row] = _rows(
        auditor_client.get(LOG_URL, {"username": "suzuki", "kind": AuditKind.ACCESS}).content.decode()
    )
    local = log.at.astimezone(JST)
    assert row.startswith(local.strftime("%Y/%m/%d %H:%M:%S") + " suzuki 10.20.30.40 宛名検索 照会 1001")
    assert "検索条件：カナ氏名=カワグチ" in row and "kana" not in row and "件数：1" in row


def test_the_viewing_of_the_log_is_itself_logged_with_the_conditions(
    auditor: Any, auditor_client: Client, taxpayer: Any
) -> None:
    auditor_client.get(LOG_URL, {"taxpayer_no": "1001", "date_from": "2025-01-01"}, REMOTE_ADDR="10.0.0.9")
    [log] = _views_of_the_log()
    assert log.kind == AuditKind.ACCESS
    assert log.user == auditor
    assert log.client_addr == "10.0.0.9"
    assert log.municipality == taxpayer.municipality
    assert log.detail["conditions"] == {"taxpayer_no": "1001", "date_from": "2025-01-01"}
    assert log.subject_ids == [taxpayer.pk]  # the person learns of it through a disclosure request


def test_the_my_number_never_appears_in_the_list_even_after_a_reveal(
    auditor_client: Client, make_user: Callable[..., Any], taxpayer: Any
) -> None:
    officer = _staff_client(make_user, "officer", taxpayer.municipality, Role.CASE_OFFICER)
    officer.post(reverse("web:my-number-reveal", args=[taxpayer.pk]), {"purpose": "identity_check"})
    html = auditor_client.get(LOG_URL).content.decode()
    assert "個人番号表示" in html and "目的：本人確認" in html
    assert MY_NUMBER_OF_TARO not in re.sub(r"\D", "", html)


def test_the_detail_summary_is_readable_and_cut_when_long() -> None:
    assert detail_summary({"query": {"kana": "カワ"}, "count": 2}) == "検索条件：カナ氏名=カワ　件数：2"
    # issue 13 §6: keys, coded values, amounts and ISO dates as a clerk reads them
    assert (
        detail_summary({"request": 5, "kind": "taxpayer_edit", "amount": 12000, "paid_on": "2024-05-31"})
        == "決裁番号：5　種別：宛名情報の訂正　金額：12,000円　領収日：2024/05/31"
    )
    assert detail_summary({"payload": {"slip_no": "123", "channel": "eltax"}}) == (
        "内容：納付番号=123 収納経路=地方税共通納税"
    )
    assert (
        detail_summary({"purpose": "other", "purpose_label": "その他", "reason": "x"})
        == "目的：その他　理由：x"
    )
    assert detail_summary({"files": {"a.csv": "ff" * 32, "a.pdf": "ee" * 32}}) == "ファイル：a.csv,a.pdf"
    long = detail_summary({"reason": "あ" * 500})
    assert len(long) == 200 and long.endswith("…")


# --- chain-integrity panel ------------------------------------------------------------------------


def test_the_check_reports_ok_on_an_intact_chain_and_is_logged(
    auditor: Any, auditor_client: Client, sample_city: Any
) -> None:
    for i in range(3):
        audit_record(kind=AuditKind.ACCESS, function=f"照会{i}", municipality=sample_city)
    records = AuditLog.objects.count()
    response = auditor_client.post(VERIFY_URL)
    html = response.content.decode()
    assert response.status_code == 200
    assert "OK：改ざん・削除の形跡はありません。" in html
    assert '<html lang="ja">' in html  # without HTMX: a page of its own
    log = AuditLog.objects.get(function="アクセスログ改ざん検証")
    assert log.user == auditor and log.detail == {"ok": True, "records": records, "problems": 0}


def test_an_edited_record_shows_as_a_problem_in_the_panel(auditor_client: Client, sample_city: Any) -> None:
    logs = [
        audit_record(kind=AuditKind.ACCESS, function=f"照会{i}", municipality=sample_city) for i in range(3)
    ]
    raw("UPDATE audit_auditlog SET function = %s WHERE id = %s", ["改ざん", logs[1].pk])
    response = auditor_client.post(VERIFY_URL, headers={"HX-Request": "true"})
    html = response.content.decode()
    assert "<html" not in html  # HTMX: only the panel
    assert "問題が1件見つかりました" in html
    assert "内容が署名と一致しません（改ざん・偽造の疑い）" in html
    assert f'<td class="num">{logs[1].pk}</td>' in html
    assert "OK：" not in html
    assert AuditLog.objects.get(function="アクセスログ改ざん検証").detail["ok"] is False


def test_each_auditor_checks_their_own_municipality_s_chain_with_its_lag(
    auditor_client: Client, sample_city: Any, other_city: Any
) -> None:
    mine = [
        audit_record(kind=AuditKind.ACCESS, function=f"川口市の照会{i}", municipality=sample_city)
        for i in range(3)
    ]
    theirs = [
        audit_record(kind=AuditKind.ACCESS, function=f"草加市の照会{i}", municipality=other_city)
        for i in range(2)
    ]
    seal_all(force_checkpoint=True)
    audit_record(kind=AuditKind.ACCESS, function="川口市の封印待ち", municipality=sample_city)
    raw("DELETE FROM audit_auditseal WHERE log_id = %s", [theirs[0].pk])  # another tenant's problem
    raw("DELETE FROM audit_auditlog WHERE id = %s", [theirs[0].pk])
    html = auditor_client.post(VERIFY_URL).content.decode()
    assert "OK：改ざん・削除の形跡はありません。" in html and "草加市" not in html
    n = head(sample_city.pk)[0]  # the sample city's imports wrote records before these
    assert f"{n}件（封印番号 1〜{n}）" in html and f"{n}件目まで" in html
    assert "封印待ち</dt><dd>1件（最も古いもので" in html
    seq = AuditSeal.objects.get(log=mine[1]).seq
    raw("DELETE FROM audit_auditseal WHERE log_id = %s", [mine[1].pk])
    raw("DELETE FROM audit_auditlog WHERE id = %s", [mine[1].pk])
    html = auditor_client.post(VERIFY_URL).content.decode()
    assert f"封印番号 {seq}〜{seq} の記録がありません（削除の疑い）" in html
    assert f'<td class="num">{mine[2].pk}</td>' in html and "川口市の照会2" in html


def test_the_log_page_offers_the_check_as_a_post_button(auditor_client: Client) -> None:
    html = auditor_client.get(LOG_URL).content.decode()
    assert f'method="post" action="{VERIFY_URL}"' in html
    assert "検証を実行" in html
    assert "csrfmiddlewaretoken" in html


def test_an_auditor_signing_in_lands_on_the_audit_log_and_a_clerk_on_the_search(
    auditor: Any, make_user: Callable[..., Any], sample_city: Any
) -> None:
    from conftest import totp_now

    for user, landing in (
        (auditor, LOG_URL),
        (make_user("clerk", role=Role.CLERK, municipality=sample_city), "/search/"),
    ):
        client = Client()
        client.post(reverse("web:login"), {"username": user.username, "password": "correct horse 1"})
        response = client.post(reverse("web:login-otp"), {"token": totp_now(user)}, follow=True)
        assert response.redirect_chain[-1][0] == landing
        assert response.status_code == 200
