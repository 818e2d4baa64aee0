"""Screens of 過誤納・充当・還付 (issue 16 §6): who reaches them (anonymous, a role without the right,
another municipality, the right role), what they show and write, bad input answered 400 with nothing
saved, the notice PDF with its embedded font, and the section on the person page."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from conftest import login_verified
from django.test import Client
from django.utils import timezone

from choshu.accounts.models import Role
from choshu.approvals.models import ChangeRequest, RequestKind
from choshu.audit.models import AuditKind, AuditLog
from choshu.refunds.models import Overpayment, OverpaymentStatus, Refund, RefundAccount, RefundNotice
from choshu.refunds.tests.helpers import levy, pay, run

pytestmark = pytest.mark.django_db
D = date


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


@pytest.fixture
def world(sample_city: Any, write_csv: Callable[..., Any]) -> Overpayment:
    """1002 pays its own slip and a large one twice: 3,000,000 円 over, no arrears."""
    pay(write_csv, "1002", "500001", 10800, "2024-05-20")
    levy(write_csv, sample_city, ["04,2024,400002,1002,1,2024-04-30,3000000,"], D(2024, 4, 1))
    pay(write_csv, "1002", "400002", 3000000, "2024-04-25")
    pay(write_csv, "1002", "400002", 3000000, "2024-04-26")
    run("2024-10-31")
    return Overpayment.objects.get()


def urls(op: Overpayment) -> list[str]:
    notice = RefundNotice.objects.get(overpayment=op)
    return ["/refunds/", f"/refunds/{op.pk}/", "/refunds/accounts/new/", f"/refunds/notices/{notice.pk}/pdf/"]


def test_anonymous_users_are_sent_to_the_login(world: Overpayment) -> None:
    for url in urls(world):
        response = Client().get(url)
        assert response.status_code == 302 and "/login/" in response["Location"], url


def test_a_role_without_the_right_is_refused(
    world: Overpayment, make_user: Callable[..., Any], sample_city: Any
) -> None:
    contractor = make_user("window", role=Role.WINDOW_CONTRACTOR, municipality=sample_city)
    client = login_verified(Client(), contractor)
    for url in urls(world):
        assert client.get(url).status_code == 403, url


def test_another_municipality_does_not_find_the_records(
    world: Overpayment, make_user: Callable[..., Any], other_municipality: Any
) -> None:
    stranger = make_user("stranger", role=Role.CLERK, municipality=other_municipality)
    client = login_verified(Client(), stranger)
    for url in urls(world)[1::2]:  # the detail and the PDF name a record
        assert client.get(url).status_code == 404, url
    page = client.get("/refunds/")
    assert page.status_code == 200 and "1002" not in _text(page.content.decode())


def test_the_list_filters_and_logs_the_access(
    world: Overpayment, make_user: Callable[..., Any], sample_city: Any
) -> None:
    clerk = make_user("clerk", role=Role.CLERK, municipality=sample_city)
    client = login_verified(Client(), clerk)
    page = _text(client.get("/refunds/?status=open").content.decode())
    assert "1002" in page and "二重納付" in page and "3,000,000" in page
    assert "1002" not in _text(client.get("/refunds/?status=paid").content.decode())
    assert "1002" not in _text(client.get("/refunds/?taxpayer_no=1001").content.decode())
    assert "1002" in _text(client.get("/refunds/?arose_from=2024-04-26&arose_to=2024-04-26").content.decode())
    bad = client.get("/refunds/?arose_from=2024-05-01&arose_to=2024-04-01")
    assert bad.status_code == 400 and "前です" in bad.content.decode()
    assert client.get("/refunds/?arose_from=not-a-date").status_code == 400
    assert AuditLog.objects.filter(kind=AuditKind.ACCESS, function="過誤納金の一覧").exists()


def test_a_refund_decision_from_the_screen_waits_for_approval(
    world: Overpayment, make_user: Callable[..., Any], sample_city: Any
) -> None:
    clerk = make_user("clerk", role=Role.CLERK, municipality=sample_city)
    client = login_verified(Client(), clerk)
    bad = client.post(f"/refunds/{world.pk}/", {"decided_on": "2024-13-01", "reason": "還付"})
    assert bad.status_code == 400 and not Refund.objects.exists()
    tomorrow = f"{timezone.localdate() + timedelta(days=1):%Y-%m-%d}"
    future = client.post(f"/refunds/{world.pk}/", {"decided_on": tomorrow, "reason": "還付"})
    assert (
        future.status_code == 400 and "未来の日付" in future.content.decode() and not Refund.objects.exists()
    )
    # a day outside the calendar every form accepts (core.forms) is refused before the rule above
    far = client.post(f"/refunds/{world.pk}/", {"decided_on": "9999-12-31", "reason": "還付"})
    assert (
        far.status_code == 400 and "までの範囲で入力" in far.content.decode() and not Refund.objects.exists()
    )
    early = client.post(f"/refunds/{world.pk}/", {"decided_on": "2024-01-01", "reason": "還付"})
    assert early.status_code == 400 and "発生日" in early.content.decode() and not Refund.objects.exists()
    done = client.post(f"/refunds/{world.pk}/", {"decided_on": "2024-10-31", "reason": "二重納付の還付"})
    assert done.status_code == 200 and "11,600" in _text(done.content.decode())
    refund = Refund.objects.get()
    assert refund.request.kind == RequestKind.REFUND and refund.request.status == "pending"
    assert Overpayment.objects.get().status == OverpaymentStatus.DECIDING
    again = client.post(f"/refunds/{world.pk}/", {"decided_on": "2024-10-31", "reason": "重複"})
    assert again.status_code == 400 and Refund.objects.count() == 1


def test_the_account_entry_checks_the_account_and_saves_nothing_when_bad(
    world: Overpayment, make_user: Callable[..., Any], sample_city: Any
) -> None:
    clerk = make_user("clerk", role=Role.CLERK, municipality=sample_city)
    client = login_verified(Client(), clerk)
    good = {
        "taxpayer_no": "1002", "source": "registered", "bank_code": "0001", "branch_code": "001",
        "deposit_type": "1", "account_no": "1234567", "holder_kana": "ハトガヤ ハナコ", "reason": "請求書の返送",
    }  # fmt: skip
    for change, message in (
        ({"bank_code": "9999"}, "金融機関コード"),
        ({"branch_code": "998"}, "支店"),
        ({"account_no": "123456789"}, "7桁以内"),
        ({"holder_kana": "鳩ヶ谷"}, "鳩"),
        ({"taxpayer_no": "9999"}, "見つかりません"),
    ):
        response = client.post("/refunds/accounts/new/", {**good, **change})
        assert response.status_code == 400 and message in response.content.decode(), change
    assert (
        not RefundAccount.objects.exists()
        and not ChangeRequest.objects.filter(kind=RequestKind.REFUND).exists()
    )
    response = client.post("/refunds/accounts/new/", good)
    assert response.status_code == 200 and "決裁を申請しました" in response.content.decode()
    assert RefundAccount.objects.get().holder_kana == "ﾊﾄｶﾞﾔ ﾊﾅｺ"


def test_the_notice_pdf_embeds_the_japanese_font_and_is_logged(
    world: Overpayment, make_user: Callable[..., Any], sample_city: Any
) -> None:
    clerk = make_user("clerk", role=Role.CLERK, municipality=sample_city)
    client = login_verified(Client(), clerk)
    notice = RefundNotice.objects.get()
    response = client.get(f"/refunds/notices/{notice.pk}/pdf/")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert (
        response.content.startswith(b"%PDF")
        and b"IPAexGothic" in response.content
        and b"FontFile2" in response.content
    )
    assert AuditLog.objects.filter(kind=AuditKind.EXPORT, function__startswith="過誤納金還付通知書").exists()


def test_the_person_page_shows_each_step(
    world: Overpayment, make_user: Callable[..., Any], sample_city: Any
) -> None:
    clerk = make_user("clerk", role=Role.CLERK, municipality=sample_city)
    client = login_verified(Client(), clerk)
    page = _text(client.get(f"/taxpayers/{world.taxpayer_id}/").content.decode())
    assert "過誤納・充当・還付" in page and "二重納付" in page and "過誤納還付通知書" in page
