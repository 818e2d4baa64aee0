"""End to end in a real browser: log in, search by kana, open the person, see the amounts.

Runs Debian's Chromium (``apt-get install chromium``; Japanese text needs ``fonts-noto-cjk``) through
Playwright against pytest-django's live server. Screenshots go to ``var/screenshots/``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from browser_page import PASSWORD, SCREENSHOTS, page  # noqa: F401  (the fixture)

MY_NUMBER_OF_TARO = "621498320257"

pytestmark = pytest.mark.browser


def test_a_clerk_logs_in_searches_by_kana_and_sees_a_persons_amounts(
    transactional_db: Any,
    live_server: Any,
    sample_city: Any,
    make_user: Callable[..., Any],
    page: Any,  # noqa: F811
) -> None:
    from conftest import totp_device, totp_now
    from playwright.sync_api import expect

    from choshu.accounts.models import Role
    from choshu.audit.models import AuditKind, AuditLog

    suzuki = make_user("suzuki", role=Role.CLERK, municipality=sample_city)
    totp_device(suzuki)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    page.goto(live_server.url + "/")
    expect(page).to_have_url(re.compile(r"/login/$"))
    expect(page.get_by_role("heading", name="ログイン")).to_be_visible()
    page.screenshot(path=str(SCREENSHOTS / "01_login.png"), full_page=True)
    page.get_by_label("ユーザー名").fill("suzuki")
    page.get_by_label("パスワード").fill(PASSWORD)
    page.get_by_role("button", name="ログイン").click()

    expect(page).to_have_url(re.compile(r"/login/otp/$"))
    expect(page.get_by_role("heading", name="二要素認証")).to_be_visible()
    page.get_by_label("確認コード").fill(totp_now(suzuki))
    page.screenshot(path=str(SCREENSHOTS / "01b_otp.png"), full_page=True)
    page.get_by_role("button", name="確認").click()

    expect(page).to_have_url(re.compile(r"/search/$"))
    expect(page.locator(".municipality")).to_have_text("川口市")
    assert page.evaluate("typeof window.htmx") == "object", "htmx が読み込まれていません"
    page.evaluate("window.__notReloaded = true")
    page.get_by_label("カナ氏名").fill("かわぐち")
    page.get_by_label("カナ氏名").press("Enter")
    results = page.locator("#search-results")
    expect(results.get_by_role("link", name="川口 太郎")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/search/\?.*kana="))
    assert page.evaluate("window.__notReloaded") is True, "検索結果は部分更新されるはずです"
    page.screenshot(path=str(SCREENSHOTS / "02_search.png"), full_page=True)

    results.get_by_role("link", name="川口 太郎").click()
    expect(page.get_by_role("heading", name="個人別収納状況照会")).to_be_visible()
    resident_tax = page.get_by_role("table", name="個人住民税(普通徴収)")
    expect(resident_tax).to_contain_text("30,000")
    expect(resident_tax).to_contain_text("59,000")
    expect(page.locator(".summary")).to_contain_text("71,000")
    expect(page.locator(".masked")).to_have_text("＊＊＊＊ ＊＊＊＊ ＊＊＊＊")
    assert MY_NUMBER_OF_TARO not in re.sub(r"\D", "", page.content())
    page.screenshot(path=str(SCREENSHOTS / "03_overview.png"), full_page=True)

    page.get_by_role("button", name="ログアウト").click()
    expect(page).to_have_url(re.compile(r"/login/$"))
    assert errors == []
    kinds = list(
        AuditLog.objects.exclude(kind=AuditKind.BATCH).order_by("pk").values_list("kind", "function")
    )
    assert kinds == [
        (AuditKind.LOGIN, "ログイン"),
        (AuditKind.ACCESS, "宛名検索"),
        (AuditKind.ACCESS, "個人別収納状況照会"),
        (AuditKind.LOGOUT, "ログアウト"),
    ]
