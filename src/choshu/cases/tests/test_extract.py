"""delinquents-extract (issue 18 §9): the CP932 file's layout read back, the month's 基準日, the case
columns, refusals that write nothing."""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from choshu.audit.models import AuditLog
from choshu.cases.extract import GROUPS, HEADER, parse_month
from choshu.cases.models import AssignmentRule
from choshu.cases.services import cases_run
from choshu.cases.tests.conftest import AS_OF
from choshu.taxpayers.models import Taxpayer

pytestmark = pytest.mark.django_db


def _read(path: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_bytes().decode("cp932"), newline="")))


def test_the_file_has_one_row_per_delinquent_person(
    city: Any, staff: dict[str, Any], rules: list[AssignmentRule], tmp_path: Path
) -> None:
    cases_run(municipality=city, as_of=AS_OF, today=AS_OF)
    out = tmp_path / "delinquents.csv"
    buffer = StringIO()
    call_command("delinquents_extract", "--month", "2024-09", "--out", str(out), "--json",
                 "--municipality", city.code, stdout=buffer)  # fmt: skip
    d = json.loads(buffer.getvalue().strip().splitlines()[-1])
    rows = _read(out)
    assert rows[0] == HEADER and len(HEADER) == 15 + 5 * GROUPS
    assert out.read_bytes().endswith(b"\r\n")
    body = {r[2]: dict(zip(HEADER, r, strict=True)) for r in rows[1:]}
    # 2024-09-30: every installment is past its 指定納期限; nobody has paid
    assert set(body) == {"1001", "1002", "2001"}
    taro = body["1001"]
    assert (taro["抽出年月"], taro["基準日"], taro["氏名・名称"]) == ("2024-09", "2024-09-30", "川口 太郎")
    assert (taro["本税滞納額合計"], taro["滞納期別数"], taro["最古の指定納期限"]) == (
        "71000",
        "3",
        "2024-04-30",
    )
    assert (taro["進行状況"], taro["班"], taro["担当者"]) == ("催告中", "整理1班", "officer_a")
    # groups: by year then tax item: 01 (59,000 over 2 installments), 04 (12,000)
    assert (taro["税目コード1"], taro["年度1"], taro["本税1"], taro["期別数1"]) == (
        "01",
        "2024",
        "59000",
        "2",
    )
    assert (taro["税目コード2"], taro["本税2"], taro["税目コード3"]) == ("04", "12000", "")
    assert taro["税目1"] and taro["外字置換"] == "0"
    hanako = body["1002"]
    assert (hanako["案件番号"], hanako["進行状況"], hanako["本税滞納額合計"]) == ("", "", "10800")
    assert (d["persons"], d["amount_total"], d["with_case"]) == (3, 71000 + 10800 + 70000, 2)
    assert AuditLog.objects.filter(function="滞納者データ出力").count() == 1


def test_a_character_cp932_lacks_is_written_as_geta_and_counted(city: Any, tmp_path: Path) -> None:
    Taxpayer.objects.filter(taxpayer_no="1002").update(name="𠮷田 花子")
    out = tmp_path / "d.csv"
    buffer = StringIO()
    call_command("delinquents_extract", "--month", "2024-09", "--out", str(out), "--json",
                 "--municipality", city.code, stdout=buffer)  # fmt: skip
    assert json.loads(buffer.getvalue().strip().splitlines()[-1])["replaced"] == 1
    row = next(r for r in _read(out)[1:] if r[2] == "1002")
    assert row[3] == "〓田 花子" and row[HEADER.index("外字置換")] == "1"


def test_the_month_and_the_output_are_checked_and_nothing_is_written(city: Any, tmp_path: Path) -> None:
    tmp_path = tmp_path / "out"  # (the sample city's input files are in tmp_path itself)
    tmp_path.mkdir()
    existing = tmp_path / "exists.csv"
    existing.write_text("keep")
    for args, message in [
        (["--month", "2024-13", "--out", str(tmp_path / "a.csv")], "年月ではありません"),
        (["--month", "202409", "--out", str(tmp_path / "a.csv")], "年月ではありません"),
        (["--month", "2999-01", "--out", str(tmp_path / "a.csv")], "まだ始まっていない"),
        (["--month", "2024-09", "--out", str(existing)], "既に存在"),
        (["--month", "2024-09", "--out", str(tmp_path / "no" / "a.csv")], "フォルダ"),
    ]:
        with pytest.raises(CommandError, match=message):
            call_command("delinquents_extract", *args, "--municipality", city.code)
    assert existing.read_text() == "keep"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["exists.csv"]
    assert not AuditLog.objects.filter(function="滞納者データ出力").exists()


def test_the_current_month_is_counted_to_today() -> None:
    assert parse_month("2026-12", date(2026, 12, 7)) == ("2026-12", date(2026, 12, 7))
    assert parse_month("2024-02", date(2026, 12, 7)) == ("2024-02", date(2024, 2, 29))
