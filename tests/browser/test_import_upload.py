"""End to end in a real browser: a section chief uploads a bank payment file, the background worker
imports it, and the page that followed its progress shows the result.

The worker runs in the test's own thread (``choshu worker --batch``: django-tasks' database backend,
the same task table the upload wrote to) while the page polls its status partial.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from browser_page import PASSWORD, SCREENSHOTS, page  # noqa: F401  (its fixture)

pytestmark = pytest.mark.browser


def test_a_chief_uploads_a_payment_file_and_sees_the_result_after_the_background_import(
    transactional_db: Any,
    live_server: Any,
    sample_city: Any,
    make_user: Callable[..., Any],
    page: Any,  # noqa: F811
    tmp_path: Path,
    settings: Any,
) -> None:
    from conftest import totp_device, totp_now
    from django.core.management import call_command
    from playwright.sync_api import expect

    from choshu.accounts.models import Role
    from choshu.core.models import Job
    from choshu.web.tests.test_jobs import bank_file

    settings.CHOSHU_UPLOAD_DIR = tmp_path / "uploads"
    chief = make_user("kacho", role=Role.CHIEF, municipality=sample_city)
    totp_device(chief)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    data = tmp_path / "bank.csv"
    data.write_bytes(bank_file())

    page.goto(live_server.url + "/login/")
    page.get_by_label("ユーザー名").fill("kacho")
    page.get_by_label("パスワード").fill(PASSWORD)
    page.get_by_role("button", name="ログイン").click()
    page.get_by_label("確認コード").fill(totp_now(chief))
    page.get_by_role("button", name="確認").click()
    expect(page).to_have_url(re.compile(r"/search/$"))

    page.get_by_role("link", name="ファイル取込").click()
    expect(page.get_by_role("heading", name="取込履歴")).to_be_visible()
    page.get_by_role("link", name="ファイルを取り込む").click()
    page.get_by_label("取込の種類").select_option(label="収納取込（金融機関）")
    page.get_by_label("ファイル", exact=True).set_input_files(str(data))
    page.screenshot(path=str(SCREENSHOTS / "20_import_upload.png"), full_page=True)
    page.get_by_role("button", name="取り込む").click()

    expect(page).to_have_url(re.compile(r"/jobs/\d+/$"))
    expect(page.locator("#job-status")).to_contain_text("待機中")
    page.screenshot(path=str(SCREENSHOTS / "21_import_queued.png"), full_page=True)

    call_command("worker", "--batch", stdout=StringIO(), stderr=StringIO())  # the background worker

    # the page polls its status; once the job has ended it reloads with the result
    expect(page.get_by_text("取込が完了しました")).to_be_visible()
    expect(page.locator(".job-amounts")).to_contain_text("35,000円")
    expect(page.locator(".job-suspense")).to_contain_text("5,000")
    expect(page.locator("progress")).to_have_attribute("value", "100")
    page.screenshot(path=str(SCREENSHOTS / "22_import_result.png"), full_page=True)
    assert Job.objects.get(kind=Job.Kind.IMPORT_PAYMENTS_BANK).status == Job.Status.SUCCEEDED

    page.get_by_role("link", name="取込履歴に戻る").click()
    expect(page.locator(".job-table")).to_contain_text("ブラウザ")
    assert errors == []
