"""The screens: 決算 (chief), its CSV/XLSX, the certificate form (PDF), the verification page."""

from __future__ import annotations

import io
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
from choshu.reports.certificates import issue_certificate
from choshu.reports.models import Certificate
from choshu.taxpayers.models import Taxpayer

pytestmark = pytest.mark.django_db


@pytest.fixture
def chief(sample_city: Any, make_user: Callable[..., Any]) -> Client:
    return login_verified(Client(), make_user("chief", role=Role.CHIEF, municipality=sample_city))


@pytest.fixture
def clerk_user(sample_city: Any, make_user: Callable[..., Any]) -> Any:
    return make_user("clerk", role=Role.CLERK, municipality=sample_city)


def test_the_settlement_page_shows_the_figures_and_the_identity(chief: Client) -> None:
    r = chief.get(reverse("reports:settlement"), {"year": "2024"})
    body = r.content.decode()
    assert r.status_code == 200
    for s in (
        "市税決算（2024年度・本税）",
        "個人住民税(普通徴収)",
        "現年課税分",
        "59,000",
        "151,800",
        "一致",
        "未締め",
    ):
        assert s in body, s
    bad = chief.get(reverse("reports:settlement"), {"year": "20x4"})
    assert bad.status_code == 400 and "会計年度は西暦の4桁" in bad.content.decode()


def test_the_csv_and_xlsx_hold_the_same_lines_and_are_recorded(chief: Client) -> None:
    csv = chief.get(reverse("reports:settlement-csv"), {"year": "2024"})
    assert csv.status_code == 200
    lines = csv.content.decode("cp932").splitlines()
    assert lines[0].startswith("会計年度,税目コード,税目,区分,繰越調定額,調定額")
    assert "2024,,合計,計,0,151800,0,0,151800,0,0.0,0" in lines
    x = chief.get(reverse("reports:settlement-xlsx"), {"year": "2024"})
    ws = load_workbook(io.BytesIO(x.content)).active
    assert ws is not None
    rows = [list(r) for r in ws.iter_rows(min_row=3, values_only=True)]
    assert [2024, None, "合計", "計", 0, 151800, 0, 0, 151800, 0, "0.0", 0] in rows
    assert len(rows) == len(lines) - 1
    assert AuditLog.objects.filter(function="決算の出力").count() == 2
    assert chief.get(reverse("reports:settlement-csv"), {"year": "abc"}).status_code == 400


def test_a_clerk_issues_a_certificate_as_pdf_and_another_verifies_it(
    sample_city: Any, clerk_user: Any, chief: Client
) -> None:
    client = login_verified(Client(), clerk_user)
    taro = Taxpayer.objects.get(taxpayer_no="1001")
    url = reverse("reports:certificate", args=[taro.pk])
    page = client.get(url)
    assert (
        page.status_code == 200
        and "納税証明書の発行" in page.content.decode()
        and "59,000" in page.content.decode()
    )
    assert AuditLog.objects.filter(function="納税証明書の発行画面", subject_ids=[taro.pk]).exists()
    r = client.post(url, {"kind": "payment", "first_year": "2024", "purpose": "入札参加"})
    assert r.status_code == 200 and r["Content-Type"] == "application/pdf" and r.content.startswith(b"%PDF")
    cert = Certificate.objects.get()
    hanako = Taxpayer.objects.get(taxpayer_no="1002")
    bad = client.post(
        reverse("reports:certificate", args=[hanako.pk]),
        {"kind": "vehicle", "first_year": "2024", "vehicle_no": "川口 480 あ 1"},
    )
    assert bad.status_code == 400 and "未納があるため" in bad.content.decode()
    assert client.post(url, {"kind": "payment", "first_year": "二〇二四"}).status_code == 400
    assert client.post(url, {"kind": "payment", "first_year": "2024", "last_year": "2023"}).status_code == 400
    assert Certificate.objects.count() == 1
    v = chief.post(reverse("reports:certificate-verify"), {"number": cert.number, "code": cert.code})
    assert v.status_code == 200 and "一致しました" in v.content.decode()
    w = chief.post(reverse("reports:certificate-verify"), {"number": cert.number, "code": "X"})
    assert "一致しません" in w.content.decode()
    assert chief.post(reverse("reports:certificate-verify"), {"number": "", "code": ""}).status_code == 400


def test_the_rights(sample_city: Any, clerk_user: Any, make_user: Callable[..., Any]) -> None:
    clerk = login_verified(Client(), clerk_user)
    assert clerk.get(reverse("reports:settlement")).status_code == 403
    assert clerk.get(reverse("reports:certificate-verify")).status_code == 200
    contractor = login_verified(
        Client(), make_user("w", role=Role.WINDOW_CONTRACTOR, municipality=sample_city)
    )
    taro = Taxpayer.objects.get(taxpayer_no="1001")
    assert contractor.get(reverse("reports:certificate", args=[taro.pk])).status_code == 403
    _ = issue_certificate, date
