"""The auditor's screen, issue 13 §9: the client address on every record (changes and 決裁 too), the
search by function, and the CSV export of a search (itself logged, formula cells neutralised)."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import Any

import pytest
from conftest import login_verified
from django.test import Client
from django.urls import reverse

from choshu.accounts.models import Role
from choshu.accounts.permissions import Right, effective_rights
from choshu.approvals.models import ChangeRequest
from choshu.audit.models import AuditKind, AuditLog
from choshu.audit.services import CLI_CLIENT, audit_record
from choshu.web.audit_forms import AUDIT_FUNCTIONS
from choshu.web.tests.conftest import by_no
from choshu.web.tests.conftest import other_city as other_city  # fixture shared with the web tests

LOG_URL = "/audit/"
EXPORT_URL = "/audit/export.csv"


@pytest.fixture(autouse=True)
def fast_password_hashing(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def auditor_client(make_user: Callable[..., Any], sample_city: Any) -> Client:
    return login_verified(Client(), make_user("kansa", role=Role.AUDITOR, municipality=sample_city))


def _client(make_user: Callable[..., Any], name: str, municipality: Any, role: str) -> Client:
    return login_verified(Client(), make_user(name, role=role, municipality=municipality))


def _csv(response: Any) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith("\ufeff")
    return list(csv.reader(io.StringIO(body[1:])))


# --- the client address on changes and approvals --------------------------------------------------


def test_changes_and_approvals_carry_the_client_address(
    make_user: Callable[..., Any], sample_city: Any
) -> None:
    clerk = _client(make_user, "clerk", sample_city, Role.CLERK)
    chief = _client(make_user, "chief", sample_city, Role.CHIEF)
    hanako = by_no(sample_city, "1002")
    edit = {
        "name": hanako.name, "name_kana": hanako.name_kana, "postal_code": "333-0801",
        "address": "埼玉県川口市東川口1-1-1", "address_extra": "", "mailing_postal_code": "",
        "mailing_address": "", "phone": "", "reason": "転居届",
    }  # fmt: skip
    url = reverse("approvals:taxpayer-edit", args=[hanako.pk])
    clerk.post(url, edit, REMOTE_ADDR="10.1.1.1")
    first = ChangeRequest.objects.get()
    chief.post(reverse("approvals:approve", args=[first.pk]), {"comment": "確認"}, REMOTE_ADDR="10.2.2.2")
    clerk.post(url, {**edit, "address": "埼玉県川口市西川口2-2-2"}, REMOTE_ADDR="10.1.1.1")
    second = ChangeRequest.objects.exclude(pk=first.pk).get()
    chief.post(reverse("approvals:reject", args=[second.pk]), {"comment": "不備"}, REMOTE_ADDR="10.3.3.3")

    def addresses(prefix: str) -> list[str]:
        return list(
            AuditLog.objects.filter(kind=AuditKind.CHANGE, function__startswith=prefix)
            .order_by("pk")
            .values_list("client_addr", flat=True)
        )

    assert addresses("決裁申請") == ["10.1.1.1", "10.1.1.1"]
    assert addresses("決裁承認") == ["10.2.2.2"]
    assert addresses("決裁否認") == ["10.3.3.3"]


def test_a_record_written_by_a_command_says_cli(
    sample_city: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from django.db import connections

    from choshu.cli import main

    monkeypatch.setattr(connections, "close_all", lambda: None)  # it holds the test's transaction
    main(["balances", "--taxpayer", "1001", "--as-of", "2026-11-26", "--json"])
    capsys.readouterr()
    log = AuditLog.objects.get(function="期別残高照会(CLI)")
    assert log.client_addr == CLI_CLIENT
    # and a service called outside a request and outside the command line records no address
    assert audit_record(kind=AuditKind.ACCESS, function="x", municipality=sample_city).client_addr == ""


# --- search by function ---------------------------------------------------------------------------


def test_the_search_by_function_finds_every_my_number_reveal(
    auditor_client: Client, make_user: Callable[..., Any], sample_city: Any
) -> None:
    officer = _client(make_user, "officer", sample_city, Role.CASE_OFFICER)
    for _ in range(2):
        officer.post(
            reverse("web:my-number-reveal", args=[by_no(sample_city, "1001").pk]),
            {"purpose": "identity_check"},
        )
    officer.get(reverse("web:taxpayer-overview", args=[by_no(sample_city, "1001").pk]))
    html = auditor_client.get(LOG_URL, {"function": "my_number_reveal"}).content.decode()
    assert '記録 <span class="count">2件' in html
    assert "個人別収納状況照会" not in html.split("audit-results-title", 1)[1]


def test_the_search_by_function_finds_exports_and_login_failures(
    client: Client, auditor_client: Client, make_user: Callable[..., Any], sample_city: Any
) -> None:
    make_user("tanaka", role=Role.CLERK, municipality=sample_city)
    client.post(reverse("web:login"), {"username": "tanaka", "password": "wrong password 1"})
    audit_record(kind=AuditKind.EXPORT, function="開示請求出力", municipality=sample_city)
    audit_record(kind=AuditKind.ACCESS, function="宛名検索", municipality=sample_city)
    failed = auditor_client.get(LOG_URL, {"function": "login_failed"}).content.decode()
    assert "tanaka" in failed and "開示請求出力" not in failed
    exports = auditor_client.get(LOG_URL, {"function": "export"}).content.decode()
    assert "開示請求出力" in exports and "ログイン失敗" not in exports.split("audit-results-title", 1)[1]


def test_every_function_has_a_japanese_label_and_an_unknown_one_is_refused(auditor_client: Client) -> None:
    html = auditor_client.get(LOG_URL).content.decode()
    for label, _ in AUDIT_FUNCTIONS.values():
        assert label in html
    response = auditor_client.get(LOG_URL, {"function": "nonsense"})
    assert response.status_code == 400 and "機能は一覧から選択してください。" in response.content.decode()


# --- CSV export -----------------------------------------------------------------------------------


def test_the_export_holds_the_search_result_and_is_itself_logged(
    auditor_client: Client, make_user: Callable[..., Any], sample_city: Any
) -> None:
    officer = _client(make_user, "officer", sample_city, Role.CASE_OFFICER)
    taro = by_no(sample_city, "1001")
    officer.post(
        reverse("web:my-number-reveal", args=[taro.pk]), {"purpose": "identity_check"}, REMOTE_ADDR="10.9.9.9"
    )
    response = auditor_client.get(EXPORT_URL, {"function": "my_number_reveal"}, REMOTE_ADDR="10.7.7.7")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment;" in response["Content-Disposition"]
    assert "no-store" in response["Cache-Control"]
    rows = _csv(response)
    assert rows[0] == [
        "記録番号",
        "日時",
        "利用者",
        "端末アドレス",
        "機能",
        "種別",
        "対象（宛名番号）",
        "内容",
    ]
    [row] = rows[1:]
    assert row[2:7] == ["officer", "10.9.9.9", "個人番号表示", "照会", "1001"]
    assert "目的：本人確認" in row[7]
    log = AuditLog.objects.get(function="アクセスログ出力")
    assert (log.kind, log.client_addr, log.username) == (AuditKind.EXPORT, "10.7.7.7", "kansa")
    assert log.detail["conditions"] == {"function": "my_number_reveal"} and log.detail["count"] == 1
    # the export is found by the function filter 「出力」 and by the audit one
    assert "アクセスログ出力" in auditor_client.get(LOG_URL, {"function": "export"}).content.decode()


def test_formula_cells_are_neutralised(auditor_client: Client, sample_city: Any) -> None:
    audit_record(
        kind=AuditKind.ACCESS, function="=HYPERLINK(\"http://evil\")", municipality=sample_city,
        detail={"reason": "+SUM(A1)"},
    )  # fmt: skip
    rows = _csv(auditor_client.get(EXPORT_URL, {"kind": AuditKind.ACCESS}))
    [row] = [r for r in rows[1:] if "HYPERLINK" in r[4]]
    assert row[4] == '\'=HYPERLINK("http://evil")' and row[7] == "理由：+SUM(A1)"  # text inside a cell
    assert not any(cell.startswith(("=", "+", "-", "@")) for r in rows for cell in r)


def test_the_export_of_an_invalid_search_is_refused_and_not_logged(auditor_client: Client) -> None:
    response = auditor_client.get(EXPORT_URL, {"date_from": "2025-02-01", "date_to": "2025-01-01"})
    assert response.status_code == 400
    assert not AuditLog.objects.filter(function="アクセスログ出力").exists()


def test_the_export_streams_many_records(auditor_client: Client, sample_city: Any, settings: Any) -> None:
    from choshu.web import audit_views

    for i in range(7):
        audit_record(kind=AuditKind.BATCH, function=f"取込{i}", municipality=sample_city)
    original = audit_views.EXPORT_CHUNK
    audit_views.EXPORT_CHUNK = 3  # several chunks
    try:
        rows = _csv(auditor_client.get(EXPORT_URL, {"function": "batch"}))
    finally:
        audit_views.EXPORT_CHUNK = original
    assert [r[4] for r in rows[1:] if r[4][-1].isdigit()] == [f"取込{i}" for i in reversed(range(7))]
    assert {"宛名取込", "調定取込"} <= {r[4] for r in rows[1:]}  # the sample city's own imports


# --- permissions ----------------------------------------------------------------------------------


def test_an_anonymous_visitor_is_sent_to_the_login_page(client: Client, db: Any) -> None:
    response = client.get(EXPORT_URL)
    assert response.status_code == 302 and response["Location"].startswith(reverse("web:login"))


@pytest.mark.parametrize("role", list(Role))
def test_only_roles_with_the_audit_right_export(
    make_user: Callable[..., Any], sample_city: Any, role: str
) -> None:
    user = make_user(f"user-{role}", role=role, municipality=sample_city)
    client = login_verified(Client(), user)
    allowed = Right.AUDIT_VIEW in effective_rights(user)
    assert client.get(EXPORT_URL).status_code == (200 if allowed else 403)
    assert AuditLog.objects.filter(function="アクセスログ出力").exists() is allowed


def test_the_export_holds_only_the_auditors_municipality(
    auditor_client: Client, sample_city: Any, other_city: Any
) -> None:
    audit_record(kind=AuditKind.ACCESS, function="川口市の照会", municipality=sample_city)
    audit_record(kind=AuditKind.ACCESS, function="草加市の照会", municipality=other_city)
    functions = [r[4] for r in _csv(auditor_client.get(EXPORT_URL))[1:]]
    assert "川口市の照会" in functions and "草加市の照会" not in functions
