"""End to end in a real browser (issue 13 §2): a cashier takes cash, closes the day, and the 日計表
agrees; a back-dated receipt waits for a chief's approval and leaves the closed day's 日計表 unchanged."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from browser_page import PASSWORD, SCREENSHOTS, page  # noqa: F401  (fixture)

pytestmark = pytest.mark.browser


def _login(tab: Any, base: str, user: Any) -> None:
    from conftest import totp_now

    tab.goto(base + "/login/")
    tab.get_by_label("ユーザー名").fill(user.username)
    tab.get_by_label("パスワード").fill(PASSWORD)
    tab.get_by_role("button", name="ログイン").click()
    tab.get_by_label("確認コード").fill(totp_now(user))
    tab.get_by_role("button", name="確認").click()
    tab.wait_for_url(re.compile(r"/search/$"))


def _daily_table(tab: Any, base: str, day: str) -> str:
    tab.goto(f"{base}/receipts/daily/?date={day}")
    return str(tab.locator(".daily-table").inner_text())


def test_a_cashier_closes_the_day_and_a_back_dated_receipt_waits_for_approval(
    transactional_db: Any,
    live_server: Any,
    sample_city: Any,
    make_user: Callable[..., Any],
    page: Any,  # noqa: F811
) -> None:
    from conftest import totp_device
    from django.utils import timezone
    from playwright.sync_api import expect

    from choshu.accounts.models import Role
    from choshu.approvals.models import ChangeRequest, RequestKind
    from choshu.receipts.models import CounterReceipt, Payment
    from choshu.receipts.slips import taxpayer_slips
    from choshu.taxpayers.models import Taxpayer

    cashier = make_user("tanaka", role=Role.CLERK, municipality=sample_city)
    chief = make_user("kakaricho", role=Role.CHIEF, municipality=sample_city)
    totp_device(cashier)
    totp_device(chief)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    base = live_server.url
    today = timezone.localdate()
    hanako = Taxpayer.objects.get(municipality=sample_city, taxpayer_no="1002")
    taro = Taxpayer.objects.get(municipality=sample_city, taxpayer_no="1001")
    first_slip = taxpayer_slips(sample_city, hanako.pk)[0].slip_no
    second_slip = taxpayer_slips(sample_city, taro.pk)[0].slip_no

    # 1. The cashier takes cash for a slip: the amount is pre-filled with 本税 + 延滞金 as of today.
    _login(page, base, cashier)
    page.goto(f"{base}/receipts/counter/?slip_no={first_slip}")
    amount = int(page.get_by_label("領収金額（円）").input_value())
    assert amount > 10800  # 10,800 本税 due 2024-05-31, and the 延滞金 since
    page.get_by_label("お預かり（円）").fill(str(amount + 1000))
    page.get_by_role("button", name="収納する").click()
    expect(page.locator("body")).to_contain_text("お釣り 1,000円")
    page.screenshot(path=str(SCREENSHOTS / "counter_01_receipt.png"), full_page=True)

    # 2. The cashier closes the day: the cash counted equals the receipts; the 日計表 agrees.
    page.goto(f"{base}/receipts/counter/close/")
    expect(page.locator("body")).to_contain_text(f"{amount:,}")
    page.get_by_label("現金実査額（円）").fill(str(amount))
    page.get_by_role("button", name="日計を締める").click()
    expect(page.locator("body")).to_contain_text("締め済み")
    page.screenshot(path=str(SCREENSHOTS / "counter_02_closed.png"), full_page=True)
    page.goto(f"{base}/receipts/daily/?date={today.isoformat()}")
    expect(page.locator("body")).to_contain_text("締め済みの領収金額の合計と一致しています")
    closed_day = _daily_table(page, base, today.isoformat())
    assert f"{amount:,}" in closed_day

    # 3. A receipt dated yesterday is only a request.
    yesterday = (today - timedelta(days=1)).isoformat()
    page.goto(f"{base}/receipts/counter/?slip_no={second_slip}")
    page.get_by_label("領収金額（円）").fill("1000")
    page.locator("#id_paid_on").fill(yesterday)
    page.get_by_label("本日以外の領収日とする理由").fill("出張徴収で受領した現金を持ち帰った")
    page.get_by_role("button", name="収納する").click()
    expect(page.locator("body")).to_contain_text("決裁を申請しました")
    assert not Payment.objects.filter(slip_no=second_slip).exists()
    page.get_by_role("button", name="ログアウト").click()

    # 4. The chief approves it: booked with its own 領収日 on the cashier's next open day.
    _login(page, base, chief)
    req = ChangeRequest.objects.get(kind=RequestKind.COUNTER_BACKDATED)
    page.goto(f"{base}/approvals/")
    expect(page.locator("body")).to_contain_text("窓口収納（本日以外の領収日）")
    page.get_by_role("link", name=f"#{req.pk}").click()
    page.screenshot(path=str(SCREENSHOTS / "counter_03_request.png"), full_page=True)
    page.get_by_role("button", name="承認").click()
    expect(page.locator("body")).to_contain_text("承認")
    receipt = CounterReceipt.objects.exclude(approval=None).get()
    assert receipt.paid_on.isoformat() == yesterday and receipt.booked_on == today + timedelta(days=1)
    assert _daily_table(page, base, today.isoformat()) == closed_day  # the closed day is unchanged
    page.screenshot(path=str(SCREENSHOTS / "counter_04_daily.png"), full_page=True)
    assert errors == []
