"""Screens of 返戻・公示送達 and 督促停止 (issue 15 §5, §8): who reaches them, what they write and
show, that a bad line writes nothing (400), and that another municipality's numbers are not found."""

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
from choshu.approvals.models import ChangeRequest, RequestKind
from choshu.audit.models import AuditKind, AuditLog
from choshu.dunning.models import (
    DunningNoticeInstallment,
    DunningSuppression,
    PublicNotice,
    ReturnedMail,
    SuppressionReason,
)
from choshu.dunning.services import dunning_fee_set, dunning_run, suppression_add
from choshu.levies.models import Installment

pytestmark = pytest.mark.django_db
D = date
URLS = {
    "returned": "/dunning/returned/",
    "public": "/dunning/public-notice/",
    "list": "/dunning/suppressions/",
    "new": "/dunning/suppressions/new/",
}


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def inst(notice_no: str, no: int = 1) -> Installment:
    return Installment.objects.get(levy__notice_no=notice_no, installment_no=no)


def notice_slip(notice_no: str) -> str:
    notice = DunningNoticeInstallment.objects.get(installment=inst(notice_no)).notice
    assert notice.slip is not None
    return str(notice.slip.slip_no)


@pytest.fixture
def city(sample_city: Any) -> Any:
    dunning_fee_set(actor=None, municipality=sample_city, valid_from=D(2024, 4, 1), yen=100, source="条例")
    dunning_run(municipality=sample_city, as_of=D(2024, 7, 15), today=timezone.localdate())
    return sample_city


def client_for(make_user: Callable[..., Any], city: Any, role: str, name: str = "") -> Client:
    return login_verified(Client(), make_user(name or f"u-{role}", role=role, municipality=city))


def test_the_urls_are_named() -> None:
    assert reverse("dunning:returned-mail") == URLS["returned"]
    assert reverse("dunning:public-notice") == URLS["public"]
    assert reverse("dunning:suppression-list") == URLS["list"]
    assert reverse("dunning:suppression-new") == URLS["new"]


SUPPRESS = {Role.CHIEF, Role.CLERK, Role.CASE_OFFICER}


@pytest.mark.parametrize("role", list(Role.values))
def test_each_role_reaches_exactly_the_screens_of_its_rights(
    city: Any, make_user: Callable[..., Any], role: str
) -> None:
    client = client_for(make_user, city, role)
    for key, url in URLS.items():
        allowed = role == Role.CHIEF if key == "public" else role in SUPPRESS
        assert client.get(url).status_code == (200 if allowed else 403), (role, key)
    if role not in SUPPRESS:  # a POST without the right writes nothing
        assert client.post(URLS["returned"], {"lines": notice_slip("100001"), "returned_on": "2024-07-22",
                                              "reason": "moved_unknown"}).status_code == 403  # fmt: skip
        assert not ReturnedMail.objects.exists()


def test_anonymous_goes_to_the_login_page(city: Any) -> None:
    for url in URLS.values():
        response = Client().get(url)
        assert response.status_code == 302 and "/login/" in response["Location"]


def test_returned_mail_is_registered_from_the_scan_field_and_the_result_is_access_logged(
    city: Any, make_user: Callable[..., Any]
) -> None:
    client = client_for(make_user, city, Role.CLERK)
    lines = f"{notice_slip('100001')}\r\n\r\n{notice_slip('500001')},2024-07-25,保管期間経過\r\n"
    response = client.post(
        URLS["returned"], {"lines": lines, "returned_on": "2024-07-22", "reason": "moved_unknown"}
    )
    assert response.status_code == 200
    text = _text(response.content.decode())
    assert "2件の返戻を登録しました" in text and "川口 太郎" in text and "鳩ヶ谷 花子" in text
    assert "転居先不明" in text and "保管期間経過" in text
    assert ReturnedMail.objects.count() == 2
    log = AuditLog.objects.get(function="返戻の登録（結果）")
    assert log.kind == AuditKind.ACCESS and len(log.subject_ids) == 2


def test_bad_lines_are_listed_with_400_and_nothing_is_written(
    city: Any, make_user: Callable[..., Any]
) -> None:
    client = client_for(make_user, city, Role.CLERK)
    lines = "\n".join([notice_slip("100001"), str(inst("100001", 2).slip_no), notice_slip("100001")])
    response = client.post(
        URLS["returned"], {"lines": lines, "returned_on": "2024-07-22", "reason": "moved_unknown"}
    )
    assert response.status_code == 400
    text = _text(response.content.decode())
    assert "どの行も登録していません" in text
    assert "2行目" in text and "督促状の納付書ではありません" in text
    assert "3行目" in text and "1行目と同じ納付番号です" in text
    assert not ReturnedMail.objects.exists() and not DunningSuppression.objects.exists()
    empty = client.post(
        URLS["returned"], {"lines": "", "returned_on": "2024-07-22", "reason": "moved_unknown"}
    )
    assert empty.status_code == 400 and "納付番号を1件以上入力してください" in empty.content.decode()
    bad_date = client.post(
        URLS["returned"], {"lines": "x", "returned_on": "2024-13-40", "reason": "moved_unknown"}
    )
    assert bad_date.status_code == 400 and "返戻日は" in bad_date.content.decode()


def test_another_municipality_finds_none_of_this_city_s_notices_or_installments(
    city: Any, other_municipality: Any, make_user: Callable[..., Any]
) -> None:
    suppression_add(actor=make_user("tanto", role=Role.CLERK, municipality=city), installment=inst("500001"),
                    reason=SuppressionReason.BANKRUPTCY, start=D(2024, 7, 1))  # fmt: skip
    stranger = client_for(make_user, other_municipality, Role.CHIEF, "yoso")
    response = stranger.post(URLS["returned"], {"lines": notice_slip("100001"), "returned_on": "2024-07-22",
                                                "reason": "moved_unknown"})  # fmt: skip
    assert response.status_code == 400 and "見つかりません" in response.content.decode()
    response = stranger.post(URLS["public"], {"slip_no": notice_slip("100001"), "posted_on": "2024-08-01"})
    assert response.status_code == 400 and "見つかりません" in response.content.decode()
    response = stranger.post(URLS["new"], {"slip_no": str(inst("100001").slip_no), "reason": "bankruptcy",
                                           "start": "2024-07-01"})  # fmt: skip
    assert response.status_code == 400 and "見つかりません" in response.content.decode()
    listing = stranger.get(URLS["list"], {"state": "all"}).content.decode()
    assert "鳩ヶ谷" not in listing and "条件に合う督促停止はありません" in listing
    assert not ReturnedMail.objects.exists() and not PublicNotice.objects.exists()
    assert DunningSuppression.objects.count() == 1


def test_public_notice_screen_shows_the_deemed_service_and_the_dates(
    city: Any, make_user: Callable[..., Any]
) -> None:
    client = client_for(make_user, city, Role.CHIEF, "kacho")
    client.post(
        URLS["returned"],
        {"lines": notice_slip("100001"), "returned_on": "2024-07-22", "reason": "address_unknown"},
    )
    response = client.post(
        URLS["public"], {"slip_no": notice_slip("100001"), "posted_on": "2024-08-01", "note": "掲示場"}
    )
    assert response.status_code == 200
    text = _text(response.content.decode())
    assert "公示送達を登録しました" in text
    assert "令和6年8月8日" in text and "令和6年8月19日" in text and "令和6年8月20日" in text
    assert AuditLog.objects.filter(function="公示送達の登録（結果）", kind=AuditKind.ACCESS).count() == 1
    again = client.post(URLS["public"], {"slip_no": notice_slip("100001"), "posted_on": "2024-08-02"})
    assert again.status_code == 400 and "登録済み" in again.content.decode()
    # the person page shows the dates
    page = _text(
        client.get(reverse("web:taxpayer-overview", args=[inst("100001").taxpayer_id])).content.decode()
    )
    assert "公示送達" in page and "返戻" in page and "R6.8.20" in page


def test_suppression_entry_registers_a_fact_and_requests_approval_for_a_judgement(
    city: Any, make_user: Callable[..., Any]
) -> None:
    client = client_for(make_user, city, Role.CLERK, "tanto")
    slip = str(inst("500001").slip_no)
    response = client.post(URLS["new"], {"slip_no": slip, "reason": "bankruptcy", "start": "2024-07-01",
                                         "note": "破産手続開始決定"})  # fmt: skip
    assert response.status_code == 200 and "督促停止を登録しました" in response.content.decode()
    s = DunningSuppression.objects.get()
    assert (s.reason, s.start, s.end, s.note) == ("bankruptcy", D(2024, 7, 1), None, "破産手続開始決定")
    assert AuditLog.objects.filter(function="督促停止の登録", kind=AuditKind.CHANGE).count() == 1
    response = client.post(URLS["new"], {"slip_no": slip, "reason": "manual", "start": "2024-07-01",
                                         "end": "2024-12-31", "note": "本人と相談中"})  # fmt: skip
    assert response.status_code == 200 and "決裁を申請しました" in response.content.decode()
    assert ChangeRequest.objects.get().kind == RequestKind.DUNNING_SUPPRESSION
    assert DunningSuppression.objects.count() == 1  # the manual one waits for the approval


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"reason": "manual", "note": ""}, "決裁の申請理由"),
        ({"end": "2024-06-01"}, "停止終了日が停止開始日より前です"),
        ({"slip_no": "0000000000000000"}, "期別が見つかりません"),
        ({"start": ""}, "停止開始日を入力してください"),
        ({"reason": "lost"}, "停止理由を一覧から選んでください"),
    ],
)
def test_suppression_entry_refuses_bad_input_with_400_and_writes_nothing(
    city: Any, make_user: Callable[..., Any], data: dict[str, str], message: str
) -> None:
    client = client_for(make_user, city, Role.CLERK, "tanto")
    post = {
        "slip_no": str(inst("500001").slip_no),
        "reason": "bankruptcy",
        "start": "2024-07-01",
        "note": "",
    } | data
    response = client.post(URLS["new"], post)
    assert response.status_code == 400 and message in response.content.decode()
    assert not DunningSuppression.objects.exists() and not ChangeRequest.objects.exists()


def test_the_list_filters_by_reason_and_state_and_is_access_logged(
    city: Any, make_user: Callable[..., Any]
) -> None:
    clerk = make_user("tanto", role=Role.CLERK, municipality=city)
    suppression_add(
        actor=clerk, installment=inst("500001"), reason=SuppressionReason.BANKRUPTCY, start=D(2024, 7, 1)
    )
    suppression_add(actor=clerk, installment=inst("300001"), reason=SuppressionReason.PAYMENT_PLAN, start=D(2024, 6, 1),
                    end=D(2024, 6, 30))  # fmt: skip
    client = login_verified(Client(), clerk)
    active = _text(client.get(URLS["list"]).content.decode())
    assert "鳩ヶ谷 花子" in active and "キューポラ" not in active  # the plan ended on 2024-06-30
    ended = _text(client.get(URLS["list"], {"state": "ended"}).content.decode())
    assert "キューポラ" in ended and "鳩ヶ谷 花子" not in ended
    on_day = _text(client.get(URLS["list"], {"state": "active", "on": "2024-06-15"}).content.decode())
    assert "キューポラ" in on_day and "鳩ヶ谷 花子" not in on_day
    by_reason = _text(client.get(URLS["list"], {"state": "all", "reason": "bankruptcy"}).content.decode())
    assert "鳩ヶ谷 花子" in by_reason and "キューポラ" not in by_reason
    logs = AuditLog.objects.filter(function="督促停止の一覧", kind=AuditKind.ACCESS)
    assert logs.count() == 4
    assert client.get(URLS["list"], {"on": "2024-99-99"}).status_code == 200  # a bad day: today, never a 500


def test_a_suppression_is_ended_from_its_page_and_stays_as_history(
    city: Any, make_user: Callable[..., Any]
) -> None:
    clerk = make_user("tanto", role=Role.CLERK, municipality=city)
    s = suppression_add(actor=clerk, installment=inst("500001"), reason=SuppressionReason.BANKRUPTCY,
                        start=D(2024, 7, 1))  # fmt: skip
    url = reverse("dunning:suppression-end", args=[s.pk])
    assert url == f"/dunning/suppressions/{s.pk}/end/"
    client = login_verified(Client(), clerk)
    listing = client.get(URLS["list"]).content.decode()
    assert url in listing
    page = client.get(url)
    assert page.status_code == 200 and "鳩ヶ谷 花子" in page.content.decode()
    assert AuditLog.objects.filter(function="督促停止の終了", kind=AuditKind.ACCESS).count() == 1
    bad = client.post(url, {"end": "2024-06-01", "note": "免責決定"})
    assert bad.status_code == 400 and "開始日" in bad.content.decode()
    missing = client.post(url, {"end": "2024-09-30", "note": ""})
    assert missing.status_code == 400 and "終了の理由を入力してください" in missing.content.decode()
    assert DunningSuppression.objects.get().end is None
    done = client.post(url, {"end": "2024-09-30", "note": "免責決定"})
    assert done.status_code == 200 and "督促停止を終了しました" in done.content.decode()
    s.refresh_from_db()
    assert (s.end, s.end_note, s.ended_by) == (D(2024, 9, 30), "免責決定", clerk)
    assert AuditLog.objects.filter(function="督促停止の終了", kind=AuditKind.CHANGE).count() == 1


def test_ending_needs_the_right_and_the_same_municipality(
    city: Any, other_municipality: Any, make_user: Callable[..., Any]
) -> None:
    clerk = make_user("tanto", role=Role.CLERK, municipality=city)
    s = suppression_add(actor=clerk, installment=inst("500001"), reason=SuppressionReason.BANKRUPTCY,
                        start=D(2024, 7, 1))  # fmt: skip
    url = reverse("dunning:suppression-end", args=[s.pk])
    window = client_for(make_user, city, Role.WINDOW_CONTRACTOR)
    assert window.get(url).status_code == 403
    assert window.post(url, {"end": "2024-09-30", "note": "x"}).status_code == 403
    stranger = client_for(make_user, other_municipality, Role.CHIEF, "yoso")
    assert stranger.get(url).status_code == 404
    assert stranger.post(url, {"end": "2024-09-30", "note": "x"}).status_code == 404
    assert Client().get(url).status_code == 302
    assert DunningSuppression.objects.get().end is None
