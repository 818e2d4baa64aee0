"""In a real browser (issue 20 §3, "How it will be checked"): a call-centre operator signs in with the same
second factor as staff, sees only this month's targets (name, phone, amounts — no address, no 宛名番号),
records a call with a promise, and is refused (403, logged) on every other page: a person's page, the
case file, the search, the chief's call-centre screens and the export; a target of another month is 404.
Same fixtures as ``test_counter_close.py`` (Debian Chromium through Playwright)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from browser_page import PASSWORD, SCREENSHOTS, page  # noqa: F401  (the fixture)

pytestmark = pytest.mark.browser


def test_the_operator_sees_only_this_months_targets_and_records_a_call(
    transactional_db: Any,
    live_server: Any,
    sample_city: Any,
    make_user: Callable[..., Any],
    page: Any,  # noqa: F811
    tmp_path: Path,
) -> None:
    from conftest import totp_device, totp_now
    from django.utils import timezone
    from playwright.sync_api import expect

    from choshu.accounts.models import Role
    from choshu.audit.models import AuditLog
    from choshu.callcenter.criteria import criteria_set
    from choshu.callcenter.export import callcenter_export
    from choshu.callcenter.models import CallResult, CallTarget
    from choshu.cases.models import Case, Channel, ContactLog
    from choshu.cases.services import case_setting_set, cases_run

    today = timezone.localdate()
    case_setting_set(actor=None, municipality=sample_city, valid_from=date(2000, 1, 1), min_amount=1,
                     min_age_days=0, note="試験")  # fmt: skip
    cases_run(municipality=sample_city, as_of=today, today=today)
    criteria_set(actor=None, municipality=sample_city, valid_from=date(2000, 4, 1), min_amount=1,
                 current_year_only=False)  # fmt: skip
    callcenter_export(municipality=sample_city, month=f"{today:%Y-%m}", out=tmp_path / "now.csv", today=today)
    targets = {t.taxpayer.taxpayer_no: t for t in CallTarget.objects.select_related("taxpayer")}
    assert "1001" in targets
    taro = targets["1001"]
    operator = make_user("op01", role=Role.CALLCENTER_OPERATOR, municipality=sample_city)
    totp_device(operator)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    base = live_server.url

    page.goto(base + "/login/")
    page.get_by_label("ユーザー名").fill(operator.username)
    page.get_by_label("パスワード").fill(PASSWORD)
    page.get_by_role("button", name="ログイン").click()
    page.get_by_label("確認コード").fill(totp_now(operator))
    page.get_by_role("button", name="確認").click()
    page.wait_for_url(re.compile(r"/callcenter/calls/$"))  # the operator's only page
    expect(page.get_by_role("heading", name=re.compile("当月の架電対象者"))).to_be_visible()
    table = page.get_by_role("table", name="当月の架電対象者")
    expect(table).to_contain_text("川口 太郎")
    expect(table).to_contain_text(taro.target_id)
    body = page.locator("main").inner_text()
    for hidden in ("埼玉県", "東川口", taro.taxpayer.taxpayer_no + "\t"):
        assert hidden not in body, hidden
    page.screenshot(path=str(SCREENSHOTS / "40_callcenter_operator_list.png"), full_page=True)

    table.get_by_role("row", name=re.compile(taro.target_id)).get_by_role(
        "link", name=re.compile("結果を入力")
    ).click()
    expect(page.get_by_role("heading", name=re.compile("架電結果の入力"))).to_be_visible()
    called = timezone.localtime().strftime("%Y-%m-%dT%H:%M")
    page.get_by_label("架電日時").fill(called)
    page.locator("select[name=outcome]").select_option(label="納付約束")
    page.get_by_label("約束金額（円）").fill("5000")
    page.get_by_label("約束日").fill(today.isoformat())
    page.get_by_label("備考").fill("今週中に納付するとのこと")
    page.get_by_role("button", name="架電結果を登録").click()
    expect(page.get_by_role("status")).to_contain_text("架電結果を登録しました")
    result = CallResult.objects.get()
    log = ContactLog.objects.get(pk=result.contact_id)
    case = Case.objects.get(pk=log.case_id)
    assert (case.taxpayer_id, log.channel, log.promise_amount, log.promise_on) == (
        taro.taxpayer_id, Channel.CALL_CENTRE, 5000, today
    )  # fmt: skip

    # every other page: 403 and an access record of the refusal; another month's target: 404
    before = AuditLog.objects.count()
    for path in (f"/taxpayers/{taro.taxpayer_id}/", f"/cases/{case.pk}/", "/search/", "/callcenter/",
                 "/callcenter/report/", "/audit/"):  # fmt: skip
        response = page.goto(base + path)
        assert response is not None and response.status == 403, path
        assert "埼玉県" not in page.content()
    assert AuditLog.objects.count() >= before + 6
    response = page.goto(base + "/callcenter/calls/CNOSUCH999/")
    assert response is not None and response.status == 404
    page.screenshot(path=str(SCREENSHOTS / "41_callcenter_operator_refused.png"), full_page=True)
    assert CallResult.objects.count() == 1
    assert errors == []
