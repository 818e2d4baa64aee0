"""The 月次統計 and 月計表 screens: who may see them (reports_view), what they show (aggregates, the
charts as SVG with Japanese labels and no script), the exports, the audit records, bad input."""

from __future__ import annotations

import base64
import io
import re
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from conftest import login_verified
from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook

from choshu.accounts.models import Role
from choshu.audit.models import AuditLog
from choshu.reports.models import StatisticsSetting

pytestmark = pytest.mark.django_db

PAGES = ["reports:statistics", "reports:monthly-statement", "reports:monthly-statement-csv",
         "reports:monthly-statement-xlsx"]  # fmt: skip


@pytest.fixture
def chief(sample_city: Any, make_user: Callable[..., Any]) -> Client:
    return login_verified(Client(), make_user("chief", role=Role.CHIEF, municipality=sample_city))


def test_only_reports_view_may_see_them(
    sample_city: Any, chief: Client, make_user: Callable[..., Any]
) -> None:
    for role in (Role.CLERK, Role.WINDOW_CONTRACTOR):
        other = login_verified(Client(), make_user(f"u-{role}", role=role, municipality=sample_city))
        for name in PAGES:
            assert other.get(reverse(name), {"month": "2024-06"}).status_code == 403, (role, name)
    for name in PAGES:
        assert Client().get(reverse(name)).status_code == 302  # to the sign-in page
        assert chief.get(reverse(name), {"month": "2024-06"}).status_code == 200, name


def test_the_statistics_page_shows_aggregates_charts_and_suppression(sample_city: Any, chief: Client) -> None:
    r = chief.get(reverse("reports:statistics"), {"month": "2024-06"})
    body = r.content.decode()
    assert r.status_code == 200
    for s in ("月次統計（2024年6月・2024年度・本税）", "収納率（累計）の推移", "収納経路別の収入", "経過年数別",
              "滞納整理の進行状況別", "当月の還付・不納欠損", "秘匿", "10人未満"):  # fmt: skip
        assert s in body, s
    # the sample city has 3 persons: with the default minimum of 10 every count is hidden
    assert "川口 太郎" not in body and "1001" not in body
    urls = re.findall(r'src="data:image/svg\+xml;base64,([^"]+)"', body)
    assert len(urls) == 3
    svgs = [base64.b64decode(u).decode() for u in urls]
    assert "収納率" in svgs[0] and "2024年度 現年課税分" not in svgs[0]  # hidden in the table: not drawn
    for svg in svgs:
        assert svg.startswith("<svg") and "<script" not in svg and "IPAexGothic" in svg
    assert "データがありません" in svgs[1] and "No data" not in svgs[1]  # no payment in June 2024
    assert "<script" not in body.split("<main", 1)[-1]
    assert AuditLog.objects.filter(function="月次統計の表示").count() == 1
    assert chief.get(reverse("reports:statistics")).status_code == 200  # this month by default
    # with a minimum of 1 nothing is hidden: the lines and the bars are drawn
    StatisticsSetting.objects.create(municipality=sample_city, valid_from=date(2024, 4, 1), min_persons=1)
    body = chief.get(reverse("reports:statistics"), {"month": "2024-06"}).content.decode()
    svgs = [
        base64.b64decode(u).decode() for u in re.findall(r'src="data:image/svg\+xml;base64,([^"]+)"', body)
    ]
    assert "2024年度 現年課税分" in svgs[0] and "2023年度 現年課税分" in svgs[0]
    assert "1人未満" in body


def test_the_monthly_statement_page_and_its_files(chief: Client) -> None:
    r = chief.get(reverse("reports:monthly-statement"), {"month": "2024-04"})
    body = r.content.decode()
    assert r.status_code == 200
    for s in ("月計表（2024年4月分・本税）", "2024年度 4月分", "2023年度 出納整理期間4月分", "個人住民税(普通徴収)",
              "151,800", "一致"):  # fmt: skip
        assert s in body, s
    assert AuditLog.objects.filter(function="月計表の表示").count() == 1
    csv = chief.get(reverse("reports:monthly-statement-csv"), {"month": "2024-04"})
    lines = csv.content.decode("cp932").splitlines()
    assert lines[0].startswith("対象年月,会計年度")
    assert any(",合計,計," in line and ",151800," in line for line in lines)
    x = chief.get(reverse("reports:monthly-statement-xlsx"), {"month": "2024-04"})
    ws = load_workbook(io.BytesIO(x.content)).active
    assert ws is not None and ws.title == "月計表"
    assert len(list(ws.iter_rows(min_row=3))) == len(lines) - 1
    assert AuditLog.objects.filter(function="月計表の出力").count() == 2


@pytest.mark.parametrize("bad", ["2024-13", "abc", "2099-01", "1999-01"])
def test_bad_months_are_400_in_japanese(chief: Client, bad: str) -> None:
    for name in ("reports:statistics", "reports:monthly-statement"):
        r = chief.get(reverse(name), {"month": bad})
        assert r.status_code == 400 and "対象年月" in r.content.decode(), (name, bad)
    r = chief.get(reverse("reports:monthly-statement-csv"), {"month": bad})
    assert r.status_code == 400 and "対象年月" in r.content.decode()
