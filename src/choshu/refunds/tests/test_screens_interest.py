"""Screens for the open points of issue 16: the 加算金 of appropriations on the overpayment's page and
its decision (地方税法17条の4第1項), the 受付日 of an account (17条の4第2項), the 充当取消通知書 PDF."""

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
from choshu.refunds.models import NoticeKind, Overpayment, Refund, RefundAccount, RefundNotice
from choshu.refunds.tests.helpers import levy, pay, run
from choshu.refunds.tests.test_reversal import eltax

pytestmark = pytest.mark.django_db
D = date


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_the_interest_of_appropriations_is_shown_and_decided_from_the_page(
    sample_city: Any, write_csv: Callable[..., Any], make_user: Callable[..., Any]
) -> None:
    pay(write_csv, "1002", "500001", 10800, "2024-05-20")
    levy(write_csv, sample_city, ["04,2024,400002,1002,1,2024-04-30,3000000,"], D(2024, 4, 1))
    pay(write_csv, "1002", "400002", 3000000, "2024-04-25")
    pay(write_csv, "1002", "400002", 3000000, "2024-04-26")
    levy(write_csv, sample_city, ["04,2024,400003,1002,1,2024-07-31,3500000,"], D(2024, 7, 1))
    run("2024-10-31")
    op = Overpayment.objects.get()
    client = login_verified(Client(), make_user("clerk", role=Role.CLERK, municipality=sample_city))
    page = _text(client.get(f"/refunds/{op.pk}/").content.decode())
    assert "充当に係る還付加算金 4,800円（未払 4,800円）" in page and "還付決議を申請する" in page
    assert " 本税 " in page and "principal" not in page
    done = client.post(f"/refunds/{op.pk}/", {"decided_on": "2024-10-31", "reason": "充当の加算金"})
    assert done.status_code == 200
    refund = Refund.objects.get()
    assert (refund.amount, refund.refund_interest) == (0, 4800)
    page = _text(client.get(f"/refunds/{op.pk}/").content.decode())
    assert "未払 0円" in page and "還付決議を申請する" not in page


def test_the_account_form_takes_the_day_the_claim_arrived(
    sample_city: Any, write_csv: Callable[..., Any], make_user: Callable[..., Any]
) -> None:
    pay(write_csv, "1002", "500001", 10800, "2024-05-20")
    client = login_verified(Client(), make_user("clerk", role=Role.CLERK, municipality=sample_city))
    good = {
        "taxpayer_no": "1002", "source": "registered", "bank_code": "0001", "branch_code": "001",
        "deposit_type": "1", "account_no": "1234567", "holder_kana": "ハトガヤ ハナコ", "reason": "請求書の返送",
    }  # fmt: skip
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
    bad = client.post("/refunds/accounts/new/", {**good, "received_on": tomorrow})
    assert bad.status_code == 400 and "受付日" in bad.content.decode() and not RefundAccount.objects.exists()
    ok = client.post("/refunds/accounts/new/", {**good, "received_on": "2024-09-10"})
    assert ok.status_code == 200
    assert RefundAccount.objects.get().received_on == D(2024, 9, 10)


def test_the_cancellation_notice_prints(
    sample_city: Any, write_csv: Callable[..., Any], make_user: Callable[..., Any]
) -> None:
    levy(write_csv, sample_city, ["04,2024,400003,1002,1,2024-06-30,5000,"], D(2024, 6, 1))
    eltax(write_csv, ("tx-1", "0"), ("tx-2", "0"))
    run("2024-07-10")
    eltax(write_csv, ("tx-2", "1"))
    notice = RefundNotice.objects.get(kind=NoticeKind.APPROPRIATION_CANCEL)
    client = login_verified(Client(), make_user("clerk", role=Role.CLERK, municipality=sample_city))
    response = client.get(f"/refunds/notices/{notice.pk}/pdf/")
    assert response.status_code == 200 and response.content.startswith(b"%PDF")
    page = _text(client.get(f"/refunds/{notice.overpayment_id}/").content.decode())
    assert "充当取消通知書" in page and "取消（" in page
