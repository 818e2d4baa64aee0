"""The operator over HTTP (issue 20 §3): only the month's targets (name, phones, amounts — no address,
no 宛名番号) and the call entry; every other page, person, month and export answers 403/404 and is
logged. The chief's screens: criteria, exports, upload, report."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from choshu.audit.models import AuditKind, AuditLog
from choshu.callcenter.criteria import criteria_set
from choshu.callcenter.export import callcenter_export
from choshu.callcenter.middleware import FUNCTION_REFUSED
from choshu.callcenter.models import CallResult, CallTarget
from choshu.callcenter.results import HEADER
from choshu.callcenter.tests.conftest import AS_OF
from choshu.cases.models import Case, Channel, ContactLog

pytestmark = pytest.mark.django_db


@pytest.fixture
def month(scenario: dict[str, Any], tmp_path: Path) -> dict[str, Any]:
    """The current contract month exported (all years), and last 2024-08's list too."""
    city, today = scenario["city"], timezone.localdate()
    callcenter_export(municipality=city, month="2024-08", out=tmp_path / "old.csv", today=AS_OF)
    criteria_set(actor=None, municipality=city, valid_from=today, min_amount=5000, current_year_only=False)
    callcenter_export(municipality=city, month=f"{today:%Y-%m}", out=tmp_path / "now.csv", today=today,
                      actor=scenario["chief"])  # fmt: skip
    now = {
        t.taxpayer.taxpayer_no: t
        for t in CallTarget.objects.filter(month=f"{today:%Y-%m}").select_related("taxpayer")
    }
    old = {
        t.taxpayer.taxpayer_no: t
        for t in CallTarget.objects.filter(month="2024-08").select_related("taxpayer")
    }
    return {**scenario, "now": now, "old": old, "month": f"{today:%Y-%m}"}


def _client(user: Any) -> Client:
    from conftest import login_verified

    return login_verified(Client(), user)


def _refusals() -> int:
    return AuditLog.objects.filter(function=FUNCTION_REFUSED).count()


def test_the_operator_sees_the_months_targets_without_address_or_number(month: dict[str, Any]) -> None:
    c = _client(month["operator"])
    assert c.get("/")["Location"] == "/callcenter/calls/"
    r = c.get("/callcenter/calls/")
    assert r.status_code == 200
    html = r.content.decode()
    taro = month["now"]["1001"]
    for shown in ("川口 太郎", "カワグチ タロウ", "048-111-2222", taro.target_id, f"{taro.amount:,}円"):
        assert shown in html, shown
    for hidden in ("埼玉県川口市", "東川口", ">1001<", ">2001<", "621498320257", "1970"):
        assert hidden not in html, hidden
    assert month["old"]["1001"].target_id not in html  # last month's list is not shown
    log = AuditLog.objects.filter(function="催告センター架電対象者一覧").latest("pk")
    assert log.user_id == month["operator"].pk and taro.taxpayer_id in log.subject_ids


def test_the_operator_records_a_call_as_a_contact_log(month: dict[str, Any]) -> None:
    c = _client(month["operator"])
    target = month["now"]["1002"]
    url = f"/callcenter/calls/{target.target_id}/"
    assert c.get(url).status_code == 200
    called = timezone.localtime().replace(second=0, microsecond=0, tzinfo=None)
    bad = c.post(url, {"called_at": called.strftime("%Y-%m-%dT%H:%M"), "outcome": "1"})
    assert bad.status_code == 400 and "約束金額と約束日の両方" in bad.content.decode()
    promise = timezone.localdate()
    r = c.post(url, {"called_at": called.strftime("%Y-%m-%dT%H:%M"), "outcome": "1", "promise_amount": "5000",
                     "promise_on": promise.isoformat(), "notes": "今週中に納付"})  # fmt: skip
    assert r.status_code == 302
    result = CallResult.objects.get()
    assert (result.operator_code, result.outcome, result.promise_amount) == ("op01", "1", 5000)
    assert result.contact_id is not None
    log = ContactLog.objects.get(pk=result.contact_id)
    assert (log.channel, log.promise_amount, log.promise_on, log.recorded_by) == (
        Channel.CALL_CENTRE,
        5000,
        promise,
        month["operator"],
    )
    assert Case.objects.get(pk=log.case_id).follow_up_on == promise


@pytest.mark.parametrize(
    "path",
    [
        "/search/",
        "/cases/",
        "/callcenter/",
        "/callcenter/report/",
        "/audit/",
        "/receipts/counter/",
        "/jobs/",
        "/accounts/users/",
        "/no/such/page/",
        "/static/../etc/passwd",
    ],
)
def test_every_other_page_is_403_and_logged(month: dict[str, Any], path: str) -> None:
    c = _client(month["operator"])
    before = _refusals()
    for method in ("get", "post"):
        assert getattr(c, method)(path).status_code == 403, (method, path)
    assert _refusals() == before + 2
    log = AuditLog.objects.filter(function=FUNCTION_REFUSED).latest("pk")
    assert log.user_id == month["operator"].pk and log.kind == AuditKind.ACCESS


def test_other_peoples_pages_and_other_months_are_refused_and_logged(month: dict[str, Any]) -> None:
    c = _client(month["operator"])
    taro = month["now"]["1001"]
    case = Case.objects.get(taxpayer=taro.taxpayer, closed_on__isnull=True)
    before = _refusals()
    for path in (f"/taxpayers/{taro.taxpayer_id}/", f"/cases/{case.pk}/", f"/cases/{case.pk}/contacts/"):
        assert c.get(path).status_code == 403
    assert _refusals() == before + 3
    # a target of another month, or no target at all: 404, and the attempt logged
    for tid, why in ((month["old"]["1001"].target_id, "other_month"), ("CNOSUCH999", "no_such_target")):
        assert c.get(f"/callcenter/calls/{tid}/").status_code == 404
        assert c.post(f"/callcenter/calls/{tid}/", {"outcome": "4"}).status_code == 404
        log = AuditLog.objects.filter(function="催告センター架電対象者の照会（拒否）").latest("pk")
        assert log.detail["refused"] == why and log.user_id == month["operator"].pk
    assert not CallResult.objects.exists()


def test_staff_cannot_use_the_operator_pages_and_the_operator_not_the_staffs(month: dict[str, Any]) -> None:
    chief = _client(month["chief"])
    assert chief.get("/callcenter/calls/").status_code == 403
    assert chief.get("/callcenter/").status_code == 200
    officer = _client(month["officer"])
    assert officer.get("/callcenter/").status_code == 403


def test_the_chief_uploads_results_saves_criteria_and_reads_the_report(
    month: dict[str, Any], tmp_path: Path
) -> None:
    c = _client(month["chief"])
    page = c.get("/callcenter/").content.decode()
    assert month["month"] in page and "2024-08" in page
    old = month["old"]
    body = (
        ",".join(HEADER)
        + "\r\n"
        + f"2024-08,{old['1001'].target_id},2024-08-16,10:05,OP01,1,30000,2024-08-25,\r\n"
    )
    r = c.post("/callcenter/import/", {"file": SimpleUploadedFile("results.csv", body.encode("cp932"))})
    assert r.status_code == 200 and "登録 1 件" in r.content.decode()
    bad = ",".join(HEADER) + "\r\n" + "2024-08,CNOSUCH999,2024-08-16,10:05,OP01,4,,,\r\n"
    r = c.post("/callcenter/import/", {"file": SimpleUploadedFile("bad.csv", bad.encode("cp932"))})
    assert r.status_code == 400 and "2行目 対象者ID列" in r.content.decode()
    assert CallResult.objects.count() == 1
    r = c.post("/callcenter/criteria/", {"valid_from": "2026-01-01", "min_amount": "0"})
    assert r.status_code == 400 and "1 円以上" in r.content.decode()
    r = c.post("/callcenter/criteria/", {"valid_from": timezone.localdate().isoformat(), "min_amount": "3000",
                                         "current_year_only": "on", "exclude_relief": "on"})  # fmt: skip
    assert r.status_code == 302
    r = c.get("/callcenter/report/?month=2024-08")
    html = r.content.decode()
    assert r.status_code == 200 and "OP01" in html and "30,000円" in html
    assert c.get("/callcenter/report/?month=2024-13").status_code == 400


def test_the_report_counts_reached_promised_and_paid_within_30_days(
    month: dict[str, Any], tmp_path: Path
) -> None:
    from choshu.accounts.models import Role
    from choshu.callcenter.report import month_report
    from choshu.callcenter.results import CallInput, call_record
    from choshu.receipts.services import counter_receipt_take
    from choshu.receipts.slips import taxpayer_slips

    old, city = month["old"], month["city"]
    at = lambda d, h: timezone.make_aware(datetime(2024, 8, d, h, 0))  # noqa: E731
    call_record(
        actor=month["chief"],
        target=old["1001"],
        data=CallInput(at(16, 10), "OP01", "1", 30000, date(2024, 8, 25)),
    )
    call_record(actor=month["chief"], target=old["1002"], data=CallInput(at(16, 11), "OP01", "4"))
    call_record(actor=month["chief"], target=old["1002"], data=CallInput(at(20, 11), "OP02", "2"))
    call_record(actor=month["chief"], target=old["2001"], data=CallInput(at(17, 9), "OP02", "3"))
    clerk = month["officer"].__class__.objects.create_user(username="clerk", password="x y z 123", role=Role.CLERK,
                                                           municipality=city, display_name="clerk")  # fmt: skip
    slips = taxpayer_slips(city, old["1002"].taxpayer_id)
    counter_receipt_take(
        actor=clerk, municipality=city, slip_no=slips[0].slip_no, amount=10800, paid_on=date(2024, 9, 10)
    )
    r = month_report(city, "2024-08")
    assert r.targets == 3
    t = r.total
    assert (t.calls, t.called, t.reached, t.promised, t.promised_amount, t.paid_within_30_days) == (
        4,
        3,
        2,
        1,
        30000,
        1,
    )
    by = {x.operator: x for x in r.by_operator}
    assert (by["OP01"].calls, by["OP01"].reached, by["OP01"].promised, by["OP01"].paid_within_30_days) == (
        2,
        1,
        1,
        1,
    )
    assert (by["OP02"].calls, by["OP02"].reached, by["OP02"].promised, by["OP02"].paid_within_30_days) == (
        2,
        1,
        0,
        1,
    )


JUNK = ["9" * 30, "-1", "abc", " ", "a\x00b", "\x1b[31m", "x" * 5000, "2026-13-45", "9999-12-31", "令和99年13月45日",
        "<script>alert(1)</script>"]  # fmt: skip


def test_malformed_input_on_the_operators_pages_never_answers_500(month: dict[str, Any]) -> None:
    """The battery's fuzzer signs in as a chief, who may not open the operator's pages: the same junk here."""
    c = _client(month["operator"])
    url = f"/callcenter/calls/{month['now']['1001'].target_id}/"
    fields = ("called_at", "outcome", "promise_amount", "promise_on", "notes", "page")
    for value in JUNK:
        assert c.post(url, dict.fromkeys(fields, value)).status_code == 400, value
        assert c.get("/callcenter/calls/", {"page": value}).status_code == 200
        assert c.get(f"/callcenter/calls/{value[:40]}/").status_code in (403, 404)
    assert not CallResult.objects.exists()
    chief = _client(month["chief"])
    for value in JUNK:
        assert chief.get("/callcenter/report/", {"month": value}).status_code == 400
        assert (
            chief.post("/callcenter/criteria/", {"valid_from": value, "min_amount": value}).status_code == 400
        )
