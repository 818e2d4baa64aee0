"""In a real browser (issue 19, the check): an officer records a seizure from the case file, it waits for
決裁; a chief approves it in the approvals queue; the seizure then appears in the open-seizures list with
the right next step (送達待ち), and the officer's list filtered by that step shows it.
Same fixtures as ``test_case_work.py`` (Debian Chromium through Playwright)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from browser_page import PASSWORD, SCREENSHOTS, page  # noqa: F401  (the fixture)

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


def test_an_officer_records_a_seizure_that_a_chief_approves(
    transactional_db: Any,
    live_server: Any,
    sample_city: Any,
    make_user: Callable[..., Any],
    page: Any,  # noqa: F811
) -> None:
    from conftest import totp_device
    from playwright.sync_api import expect

    from choshu.accounts.models import Role
    from choshu.cases.models import Case
    from choshu.cases.services import case_setting_set, cases_run
    from choshu.dunning.services import dunning_fee_set, dunning_run
    from choshu.enforcement.models import Seizure, SeizureStatus

    officer = make_user("sato", role=Role.CASE_OFFICER, municipality=sample_city, team="整理1班")
    chief = make_user("kacho", role=Role.CHIEF, municipality=sample_city, team="管理")
    for u in (officer, chief):
        totp_device(u)
    dunned = date(2024, 7, 15)  # the 督促状 is long more than 10 days old (地方税法331条1項1号)
    dunning_fee_set(
        actor=None, municipality=sample_city, valid_from=date(2024, 4, 1), yen=100, source="税条例（例）"
    )
    dunning_run(municipality=sample_city, as_of=dunned, today=dunned)
    case_setting_set(actor=None, municipality=sample_city, valid_from=date(2024, 1, 1), min_amount=1,
                     min_age_days=0, note="試験")  # fmt: skip
    cases_run(municipality=sample_city, as_of=date(2024, 7, 20), today=date(2024, 7, 20))
    case = Case.objects.get(taxpayer__taxpayer_no="1001", closed_on__isnull=True)
    case.team = "整理1班"
    case.save(update_fields=["team"])
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    base = live_server.url

    _login(page, base, officer)
    page.goto(base + f"/cases/{case.pk}/")
    page.locator("#enforcement").get_by_role("link", name="差押を起案する", exact=True).click()
    expect(page.get_by_role("heading", name="差押の起案")).to_be_visible()
    page.get_by_label("財産の種類").select_option("deposit")
    page.get_by_label(re.compile(r"第1期（納期限 .*本税 12,000円）")).check()
    page.get_by_label(re.compile("財産の表示")).fill("川口信用金庫 本店 普通 1234567")
    page.get_by_label(re.compile(r"^第三債務者（")).fill("川口信用金庫")
    page.get_by_label("第三債務者の所在地").fill("埼玉県川口市本町1-1-1")
    page.get_by_label(re.compile("差押金額・見積価額")).fill("12000")
    page.get_by_label("起案の理由・財産調査の結果").fill("預金照会の回答で残高 85,000円を確認")
    page.get_by_role("button", name="決裁を申請する").click()
    expect(page.get_by_role("status")).to_contain_text("決裁を申請しました")
    seizure = Seizure.objects.get()
    assert seizure.status == SeizureStatus.PENDING
    page.goto(base + "/enforcement/seizures/")
    row = page.locator("tr", has_text=f"#{seizure.pk}")
    expect(row).to_contain_text("決裁待ち")
    page.screenshot(path=str(SCREENSHOTS / "40_seizure_waiting.png"), full_page=True)

    # the chief, in a browser session of their own, approves it in the approvals queue
    chief_context = page.context.browser.new_context(locale="ja-JP", viewport={"width": 1280, "height": 900})
    tab = chief_context.new_page()
    tab.set_default_timeout(10_000)
    _login(tab, base, chief)
    tab.goto(base + "/approvals/")
    tab.get_by_role("link", name=f"#{seizure.request_id}", exact=True).click()
    expect(tab.locator("body")).to_contain_text("川口信用金庫 本店 普通 1234567")
    tab.get_by_role("button", name="承認").click()
    expect(tab.locator("body")).to_contain_text(f"申請 #{seizure.request_id}（滞納処分）を承認しました")
    seizure.refresh_from_db()
    assert seizure.status == SeizureStatus.ACTIVE
    tab.goto(base + "/enforcement/seizures/")
    expect(tab.locator("tr", has_text=f"#{seizure.pk}")).to_contain_text("送達待ち")
    chief_context.close()

    # back to the officer: the open-seizures list with the next step
    page.goto(base + "/enforcement/seizures/")
    page.get_by_label("次の手順").select_option("serve")
    page.get_by_role("button", name="絞り込む").click()
    row = page.locator("tr", has_text=f"#{seizure.pk}")
    expect(row).to_contain_text("差押中")
    expect(row).to_contain_text("送達待ち：差押通知書（差押書）を送付し送達日を記録する")
    page.screenshot(path=str(SCREENSHOTS / "41_seizure_open_list.png"), full_page=True)
    page.get_by_label("次の手順").select_option("collect")
    page.get_by_role("button", name="絞り込む").click()
    expect(page.locator("body")).to_contain_text("該当する差押中・決裁待ちの差押はありません")
    assert errors == []
