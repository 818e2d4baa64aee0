"""callcenter-import (issue 20 §2): a results file written by hand becomes exactly the expected
経過記録; the same file twice imports nothing; every bad row refuses the whole file with its line."""

from __future__ import annotations

import json
from datetime import date, datetime
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from choshu.audit.models import AuditKind, AuditLog
from choshu.callcenter.export import callcenter_export
from choshu.callcenter.models import CallImport, CallResult, CallTarget
from choshu.callcenter.results import HEADER
from choshu.callcenter.tests.conftest import AS_OF
from choshu.cases.models import Case, Channel, ContactLog, Stage
from choshu.cases.services import case_stage_set

pytestmark = pytest.mark.django_db
HEAD = ",".join(HEADER)


@pytest.fixture
def exported(scenario: dict[str, Any], tmp_path: Path) -> dict[str, Any]:
    callcenter_export(municipality=scenario["city"], month="2024-08", out=tmp_path / "t.csv", today=AS_OF,
                      actor=scenario["chief"])  # fmt: skip
    ids = {t.taxpayer.taxpayer_no: t.target_id for t in CallTarget.objects.select_related("taxpayer")}
    return {**scenario, "ids": ids}


def _file(tmp_path: Path, name: str, lines: list[str], encoding: str = "cp932") -> Path:
    path = tmp_path / name
    path.write_bytes(("\r\n".join([HEAD, *lines]) + "\r\n").encode(encoding))
    return path


def _import(city: Any, path: Path, *extra: str) -> dict[str, Any]:
    out = StringIO()
    call_command("callcenter_import", str(path), "--json", "--municipality", city.code, *extra, stdout=out)
    return json.loads(out.getvalue().strip().splitlines()[-1])


def test_an_independently_written_file_gives_exactly_the_expected_contact_logs(
    exported: dict[str, Any], tmp_path: Path
) -> None:
    ids, city = exported["ids"], exported["city"]
    path = _file(tmp_path, "results.csv", [
        f"2024-08,{ids['1001']},2024-08-16,10:05,OP01,1,30000,2024-08-25,月末に窓口で納付",
        f"2024-08,{ids['1002']},2024-08-16,10:20,OP02,4,,,",
        f"2024-08,{ids['2001']},2024-08-17,14:00,OP01,5,,,経理担当者から折り返し",
    ])  # fmt: skip
    before = ContactLog.objects.count()
    d = _import(city, path, "--operator", "chief")
    assert (d["rows"], d["imported"], d["duplicates"], d["month"]) == (3, 3, 0, "2024-08")
    logs = {
        c.taxpayer.taxpayer_no: c
        for c in ContactLog.objects.filter(channel=Channel.CALL_CENTRE).select_related("taxpayer", "case")
    }
    assert ContactLog.objects.count() == before + 3 and set(logs) == {"1001", "1002", "2001"}
    taro = logs["1001"]
    assert timezone.localtime(taro.contacted_at).replace(tzinfo=None) == datetime(2024, 8, 16, 10, 5)
    assert (taro.promise_amount, taro.promise_on, taro.follow_up_on) == (
        30000,
        date(2024, 8, 25),
        date(2024, 8, 25),
    )
    assert "OP01" in taro.summary and "納付約束" in taro.summary and "月末に窓口で納付" in taro.summary
    assert taro.recorded_by == exported["chief"] and taro.case.closed_on is None
    assert Case.objects.get(pk=taro.case_id).follow_up_on == date(2024, 8, 25)  # the work list's follow-up
    assert (logs["1002"].promise_amount, logs["1002"].follow_up_on) == (None, None)
    assert "不在" in logs["1002"].summary
    assert logs["2001"].follow_up_on == date(2024, 8, 18) and "折り返し" in logs["2001"].summary
    assert CallResult.objects.filter(contact__isnull=False).count() == 3
    log = AuditLog.objects.get(kind=AuditKind.BATCH, function="催告センター架電結果の取込")
    assert log.detail["imported"] == 3


def test_the_same_file_twice_imports_nothing_and_repeated_rows_are_skipped(
    exported: dict[str, Any], tmp_path: Path
) -> None:
    ids, city = exported["ids"], exported["city"]
    row = f"2024-08,{ids['1002']},2024-08-16,10:20,OP02,4,,,"
    path = _file(tmp_path, "r1.csv", [row])
    assert _import(city, path, "--operator", "chief")["imported"] == 1
    again = _import(city, path, "--operator", "chief")  # the export's chief is also the default recorder
    assert again["already_imported"] is True and again["imported"] == 0
    later = _file(
        tmp_path, "r2.csv", [row, f"2024-08,{ids['1002']},2024-08-20,09:00,OP02,2,,,"], encoding="utf-8"
    )
    d = _import(city, later)
    assert (d["imported"], d["duplicates"]) == (1, 1)
    assert ContactLog.objects.filter(channel=Channel.CALL_CENTRE).count() == 2
    assert CallImport.objects.count() == 2


@pytest.mark.parametrize(
    ("line", "column", "reason"),
    [
        ("2024-08,CZZZZZZZZZ,2024-08-16,10:00,OP01,4,,,", "対象者ID", "出力した対象者にありません"),
        ("2024-08,{1002},2024-08-32,10:00,OP01,4,,,", "架電日", "実在する日付"),
        ("2024-08,{1002},2024-08-16,25:00,OP01,4,,,", "架電時刻", "HH:MM"),
        ("2024-08,{1002},2024-09-01,10:00,OP01,4,,,", "架電日", "対象年月 2024-08 の外"),
        ("2024-08,{1002},2024-08-16,10:00,OP01,1,,,", "約束金額", "約束金額と約束日の両方"),
        ("2024-08,{1002},2024-08-16,10:00,OP01,1,5000,,", "約束日", "約束金額と約束日の両方"),
        ("2024-08,{1002},2024-08-16,10:00,OP01,1,5千円,2024-08-30,", "約束金額", "半角数字"),
        ("2024-08,{1002},2024-08-16,10:00,OP01,1,5000,2024-08-10,", "約束日", "架電日より前"),
        (
            "2024-08,{1002},2024-08-16,10:00,OP01,4,5000,2024-08-30,",
            "約束金額",
            "結果コード 1（納付約束）のときだけ",
        ),
        ("2024-08,{1002},2024-08-16,10:00,OP01,9,,,", "結果コード", "1〜6"),
        ("2024-08,{1002},2024-08-16,10:00,,4,,,", "オペレーターコード", "20 文字以内"),
        ("2024-8,{1002},2024-08-16,10:00,OP01,4,,,", "対象年月", "YYYY-MM"),
    ],
)
def test_a_bad_row_refuses_the_whole_file(
    exported: dict[str, Any], tmp_path: Path, line: str, column: str, reason: str
) -> None:
    ids, city = exported["ids"], exported["city"]
    good = f"2024-08,{ids['1001']},2024-08-16,10:05,OP01,4,,,"
    path = _file(tmp_path, "bad.csv", [good, line.replace("{1002}", ids["1002"])])
    out = StringIO()
    with pytest.raises(CommandError) as e:
        call_command("callcenter_import", str(path), "--json", "--operator", "chief", "--municipality", city.code,
                     stdout=out)  # fmt: skip
    assert e.value.returncode == 2
    d = json.loads(out.getvalue().strip().splitlines()[-1])
    assert d["refused"] is True
    errors = [x for x in d["errors"] if x["line"] == 3]
    assert errors and errors[0]["column"] == column and reason in errors[0]["reason"], d["errors"]
    assert not ContactLog.objects.filter(channel=Channel.CALL_CENTRE).exists()
    assert not CallResult.objects.exists() and not CallImport.objects.exists()


def test_a_row_for_another_month_refuses_the_file(exported: dict[str, Any], tmp_path: Path) -> None:
    city, ids = exported["city"], exported["ids"]
    callcenter_export(municipality=city, month="2024-09", out=tmp_path / "sep.csv", today=AS_OF)
    sep = CallTarget.objects.get(month="2024-09", taxpayer__taxpayer_no="1002").target_id
    path = _file(tmp_path, "mixed.csv", [
        f"2024-08,{ids['1001']},2024-08-16,10:05,OP01,4,,,",
        f"2024-08,{sep},2024-08-16,10:06,OP01,4,,,",
        f"2024-09,{sep},2024-09-02,10:06,OP01,4,,,",
    ])  # fmt: skip
    with pytest.raises(Exception) as e:
        from choshu.callcenter.results import callcenter_import

        callcenter_import(municipality=city, path=path, actor=exported["chief"])
    text = str(e.value)
    assert "3行目 対象者ID列: この対象者IDは 2024-09 の対象者です" in text
    assert "4行目 対象年月列: 1 ファイルは 1 か月分です" in text
    assert not CallResult.objects.exists()


def test_a_wrong_header_or_an_empty_file_is_refused(exported: dict[str, Any], tmp_path: Path) -> None:
    city = exported["city"]
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("対象者ID,結果\r\nX,1\r\n", encoding="utf-8")
    empty = _file(tmp_path, "empty.csv", [])
    for path in (wrong, empty):
        with pytest.raises(CommandError):
            call_command("callcenter_import", str(path), "--operator", "chief", "--municipality", city.code,
                         stdout=StringIO(), stderr=StringIO())  # fmt: skip
    assert not CallImport.objects.exists()


def test_the_import_needs_the_right(exported: dict[str, Any], tmp_path: Path) -> None:
    path = _file(tmp_path, "r.csv", [f"2024-08,{exported['ids']['1002']},2024-08-16,10:20,OP02,4,,,"])
    with pytest.raises(CommandError, match="権限"):
        call_command("callcenter_import", str(path), "--operator", "officer", "--municipality", exported["city"].code,
                     stdout=StringIO())  # fmt: skip
    assert not CallResult.objects.exists()


def test_a_call_to_a_person_whose_case_has_closed_is_kept_without_a_contact_log(
    exported: dict[str, Any], tmp_path: Path
) -> None:
    city, ids = exported["city"], exported["ids"]
    case = Case.objects.get(taxpayer__taxpayer_no="1002", closed_on__isnull=True)
    case_stage_set(actor=exported["chief"], case=case, stage=Stage.CLOSED, note="完納確認", today=AS_OF)
    d = _import(
        city,
        _file(tmp_path, "r.csv", [f"2024-08,{ids['1002']},2024-08-16,10:20,OP02,6,,,"]),
        "--operator",
        "chief",
    )
    assert (d["imported"], d["closed_cases"]) == (1, 1)
    assert CallResult.objects.get().contact is None
