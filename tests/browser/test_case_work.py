"""In a real browser (issue 18 §3, §4, §5): an officer opens a case from the work list and logs a visit with a
promise (HTMX: the timeline shows it without a reload), builds a payment plan (preview by HTMX, save, pledge)
and the timeline shows it; the chief reassigns the case from the case list.
Same fixtures as ``test_counter_close.py`` (Debian Chromium through Playwright)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, timedelta
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


def test_an_officer_logs_a_visit_with_a_promise_and_the_chief_reassigns(
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
    from choshu.cases.models import AssignmentRule, Case, ContactLog, ContactTemplate
    from choshu.cases.services import case_setting_set, cases_run

    officer = make_user("sato", role=Role.CASE_OFFICER, municipality=sample_city, team="整理1班")
    other = make_user("ito", role=Role.CASE_OFFICER, municipality=sample_city, team="整理2班")
    chief = make_user("kacho", role=Role.CHIEF, municipality=sample_city, team="管理")
    for u in (officer, chief):
        totp_device(u)
    case_setting_set(actor=None, municipality=sample_city, valid_from=date(2024, 1, 1), min_amount=20000,
                     min_age_days=30, note="試験")  # fmt: skip
    AssignmentRule.objects.create(
        municipality=sample_city, priority=1, name="全件", officer=officer, team="整理1班"
    )
    # The built-in 経過記録 templates come from a data migration, which an earlier transactional test's
    # flush removes in a full run: this test makes the one it uses.
    ContactTemplate.objects.get_or_create(
        municipality=None, name="臨戸（面談）",
        defaults={"channel": "visit", "counterpart": "本人", "summary": "臨戸し本人と面談。", "follow_up_days": 14},
    )  # fmt: skip
    today = timezone.localdate()
    cases_run(municipality=sample_city, as_of=today, today=today)
    taro = Case.objects.get(taxpayer__taxpayer_no="1001")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    base = live_server.url

    _login(page, base, officer)
    page.get_by_role("navigation", name="メインメニュー").get_by_role("link", name="滞納整理").click()
    expect(page.get_by_role("heading", name="今日の仕事（滞納整理）")).to_be_visible()
    new_cases = page.locator("#new-cases")
    expect(new_cases).to_contain_text("川口 太郎")
    page.screenshot(path=str(SCREENSHOTS / "30_case_work_list.png"), full_page=True)
    new_cases.get_by_role("link", name=f"案件 #{taro.pk}を開く").click()
    expect(page.get_by_role("heading", name=f"滞納案件 #{taro.pk}（ケースファイル）")).to_be_visible()
    expect(page.locator("#arrears-title")).to_contain_text("滞納の内訳")

    page.evaluate("window.__notReloaded = true")
    panel = page.locator("#contact-panel")
    panel.get_by_label("定型文").select_option(label="臨戸（面談）")
    expect(panel.get_by_label("内容")).to_have_value("臨戸し本人と面談。")
    panel.get_by_label("手段").select_option("visit")
    panel.get_by_label("相手方").fill("本人")
    panel.get_by_label("内容").fill("臨戸し本人と面談。今月末までに2万円を納付すると約束。")
    panel.get_by_label("納付約束額（円）").fill("20000")
    promise = today + timedelta(days=14)
    panel.get_by_label("納付約束日").fill(promise.isoformat())
    panel.get_by_label("次回の対応").fill("入金確認")
    panel.get_by_label("次回対応日").fill((promise + timedelta(days=1)).isoformat())
    panel.get_by_role("button", name="経過記録を登録").click()
    expect(page.locator("#contact-panel")).to_contain_text("経過記録を登録しました")
    timeline = page.locator("#timeline")
    expect(timeline).to_contain_text("納付約束 20,000円")
    expect(timeline).to_contain_text("臨戸（訪問）（本人）")
    assert page.evaluate("window.__notReloaded") is True, "経過はページ内で更新されるはずです"
    page.screenshot(path=str(SCREENSHOTS / "31_case_contact_logged.png"), full_page=True)
    log = ContactLog.objects.get(case=taro)
    assert (log.promise_amount, log.promise_on, log.channel) == (20000, promise, "visit")

    # the timeline filter (HTMX)
    timeline.get_by_label("経過記録").check()
    timeline.get_by_role("button", name="絞り込む").click()
    expect(page.locator("#timeline tbody tr")).to_have_count(1)

    # 分納計画を作成 (issue 18 §5): equal instalments, preview (HTMX), save, record the pledge
    page.goto(base + f"/cases/{taro.pk}/")
    page.get_by_role("link", name="分納計画を作成").click()
    expect(page.get_by_role("heading", name=re.compile("分納計画を作成"))).to_be_visible()
    page.get_by_label("回数", exact=True).fill("3")
    page.get_by_label("第1回の納付予定日").fill((today + timedelta(days=10)).isoformat())
    page.get_by_label("分納の理由・申出の内容").fill("臨戸時に本人から3回の分納の申出")
    page.get_by_role("button", name="予定を確認する").click()
    preview = page.locator("#plan-preview")
    expect(preview).to_contain_text("第3回")
    expect(preview).to_contain_text("分納の対象額")
    page.screenshot(path=str(SCREENSHOTS / "33_plan_preview.png"), full_page=True)
    page.get_by_role("button", name="保存する（作成中）").click()
    expect(page.get_by_role("heading", name=re.compile("分納誓約 #"))).to_contain_text("作成中")
    page.get_by_label("誓約日（署名を受けた日）").fill(today.isoformat())
    page.get_by_role("button", name="誓約を記録する").click()
    expect(page.get_by_role("heading", name=re.compile("分納誓約 #"))).to_contain_text("誓約中")
    expect(page.get_by_role("link", name="納付書を印刷")).to_have_count(3)
    page.screenshot(path=str(SCREENSHOTS / "34_plan_pledged.png"), full_page=True)
    page.get_by_role("link", name="ケースファイルに戻る").click()
    expect(page.locator("#case-title")).to_contain_text("分納中")
    expect(page.locator("#timeline")).to_contain_text("分納を誓約")
    expect(page.locator("#timeline")).to_contain_text("分納計画を作成")

    page.get_by_role("button", name="ログアウト").click()
    _login(page, base, chief)
    page.goto(base + "/cases/list/")
    expect(page.get_by_role("heading", name="滞納案件一覧")).to_be_visible()
    page.get_by_label(f"案件 #{taro.pk} 川口 太郎 を選ぶ").check()
    page.get_by_label("新しい担当者").select_option(label=f"整理2班 {other}")
    page.get_by_role("group", name="選んだ案件の担当替え").get_by_label("理由").fill("担当の異動")
    page.get_by_role("button", name="担当替えする").click()
    expect(page.locator(".messages")).to_contain_text("1件の案件を 整理2班 ito に担当替えしました")
    page.screenshot(path=str(SCREENSHOTS / "32_case_reassigned.png"), full_page=True)
    taro.refresh_from_db()
    assert (taro.officer_id, taro.team) == (other.pk, "整理2班")
    page.goto(base + "/cases/workload/")
    expect(page.get_by_role("table", name="担当者別の状況")).to_contain_text("整理2班")
    assert errors == []
