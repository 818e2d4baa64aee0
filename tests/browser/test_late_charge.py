"""In a real browser: the person page's 延滞金 as of a chosen 計算基準日 equal the rules' figures, and a
click on one opens its derivation in place (HTMX) — issue 13 §1.

Same fixtures as ``test_login_search_overview.py`` (Debian Chromium through Playwright).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from browser_page import PASSWORD, SCREENSHOTS, page  # noqa: F401  (the fixture)

pytestmark = pytest.mark.browser


def test_a_clerk_sees_the_late_charges_as_of_a_date_and_opens_a_derivation(
    transactional_db: Any,
    live_server: Any,
    sample_city: Any,
    make_user: Callable[..., Any],
    page: Any,  # noqa: F811
) -> None:
    from conftest import totp_device, totp_now
    from playwright.sync_api import expect

    from choshu.accounts.models import Role
    from choshu.audit.models import AuditLog
    from choshu.formats.display import yen
    from choshu.rules.late_charge import compute_late_charge

    suzuki = make_user("suzuki", role=Role.CLERK, municipality=sample_city)
    totp_device(suzuki)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    page.goto(live_server.url + "/login/")
    page.get_by_label("ユーザー名").fill("suzuki")
    page.get_by_label("パスワード").fill(PASSWORD)
    page.get_by_role("button", name="ログイン").click()
    page.get_by_label("確認コード").fill(totp_now(suzuki))
    page.get_by_role("button", name="確認").click()
    expect(page).to_have_url(re.compile(r"/search/$"))

    page.get_by_label("カナ氏名").fill("かわぐち")
    page.get_by_label("カナ氏名").press("Enter")
    page.locator("#search-results").get_by_role("link", name="川口 太郎").click()
    expect(page.get_by_role("heading", name="個人別収納状況照会")).to_be_visible()

    page.get_by_role("textbox", name="計算基準日").fill("2026-01-31")
    page.get_by_role("button", name="この日で再計算").click()
    expect(page).to_have_url(re.compile(r"as_of=2026-01-31"))
    expect(page.locator("#totals-title")).to_contain_text("令和8年1月31日")

    first = compute_late_charge(principal=30000, due_date=date(2024, 7, 1), until=date(2026, 1, 31))
    resident_tax = page.get_by_role("table", name="個人住民税(普通徴収)")
    row = resident_tax.get_by_role("row").filter(has_text="第1期")
    expect(row).to_contain_text(yen(first.late_charge))
    expect(row).to_contain_text(yen(30000 + first.late_charge))
    page.screenshot(path=str(SCREENSHOTS / "10_late_charges.png"), full_page=True)

    page.evaluate("window.__notReloaded = true")
    row.get_by_role("link", name=re.compile("第1期.*延滞金の計算明細")).click()
    detail = page.locator("#late-charge-detail")
    expect(detail).to_contain_text("延滞金の計算明細")
    for s in first.segments:
        expect(detail).to_contain_text(f"{s.start:%Y/%m/%d}〜{s.end:%Y/%m/%d}")
        expect(detail).to_contain_text(f"{s.rate}%")
    expect(detail).to_contain_text("地方税法326条")
    assert page.evaluate("window.__notReloaded") is True, "明細はページ内に表示されるはずです"
    page.screenshot(path=str(SCREENSHOTS / "11_late_charge_derivation.png"), full_page=True)

    page.goto(page.url.split("?")[0] + "?as_of=2026-02-30")
    expect(page.locator(".error-summary")).to_contain_text("計算基準日は")
    assert errors == []
    assert AuditLog.objects.filter(function="延滞金計算明細").count() == 1
