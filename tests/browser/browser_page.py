"""The browser tests' shared pieces; a test module imports the ``page`` fixture from here.

Debian's Chromium (``apt-get install chromium``; Japanese text needs ``fonts-noto-cjk``) driven by
Playwright against pytest-django's live server. Screenshots go to ``var/screenshots/``. Without
Chromium the tests are skipped, and fail in CI."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# Playwright's sync API runs an event loop in this thread; Django would otherwise refuse ORM calls.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
PASSWORD = "correct horse 1"


@pytest.fixture
def page() -> Iterator[Any]:
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} がありません（apt-get install chromium fonts-noto-cjk）"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from django.db import connections
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        context = browser.new_context(locale="ja-JP", viewport={"width": 1280, "height": 900})
        page = context.new_page()
        page.set_default_timeout(10_000)
        yield page
        context.close()
        browser.close()
        # The test's ORM calls ran while Playwright's event loop was running, so Django (asgiref's
        # context-local connections) opened a connection of their own: closed here, or it would still
        # hold the test database when pytest-django drops it at the end of the session.
        connections.close_all()
