"""callcenter-export (issue 20 §1): exactly the expected people from a known scenario, every reason of
exclusion counted, no forbidden column or value, the targets stored, the export logged; refusals write
nothing."""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from choshu.audit.models import AuditKind, AuditLog
from choshu.callcenter.criteria import criteria_set
from choshu.callcenter.export import HEADER, callcenter_export
from choshu.callcenter.models import CallExport, CallTarget
from choshu.callcenter.tests.conftest import AS_OF
from choshu.levies.models import Installment
from choshu.levies.selectors import amounts_due_lines

pytestmark = pytest.mark.django_db


def _read(path: Path, encoding: str = "cp932") -> list[dict[str, str]]:
    rows = list(csv.reader(io.StringIO(path.read_bytes().decode(encoding), newline="")))
    return [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]


def test_the_file_holds_exactly_the_expected_people(scenario: dict[str, Any], tmp_path: Path) -> None:
    city, tp = scenario["city"], scenario["tp"]
    out = tmp_path / "targets.csv"
    s = callcenter_export(municipality=city, month="2024-08", out=out, today=AS_OF, actor=scenario["chief"])
    rows = _read(out)
    assert list(rows[0]) == HEADER
    names = {r["氏名・名称"] for r in rows}
    assert names == {"川口 太郎", "鳩ヶ谷 花子", "株式会社キューポラ"}
    assert (s.targets, s.rows) == (3, 4)  # 太郎: 01 第1期 (7/1) and 04 (4/30); 01 第2期 (9/2) is not yet due
    assert s.excluded == {"deceased": 1, "protected": 1, "relief": 1, "enforcement": 1, "promise_pending": 1,
                          "no_case": 1, "below_min_amount": 1}  # fmt: skip
    # one random target id per person, stored, never the 宛名番号
    ids = {r["氏名・名称"]: r["対象者ID"] for r in rows}
    targets = {
        t.taxpayer.taxpayer_no: t
        for t in CallTarget.objects.filter(month="2024-08").select_related("taxpayer")
    }
    assert set(targets) == {"1001", "1002", "2001"}
    assert ids["川口 太郎"] == targets["1001"].target_id
    assert all(
        t.target_id not in ("1001", "1002", "2001") and len(t.target_id) == 10 for t in targets.values()
    )
    # amounts: the rule's late charge as of the 基準日, per installment; the total is their sum
    taro = [r for r in rows if r["氏名・名称"] == "川口 太郎"]
    inst = {
        i.installment_no if i.levy.tax_item == "01" else 0: i
        for i in Installment.objects.filter(taxpayer=tp["1001"])
    }
    dues = {
        d.installment_id: d
        for d in amounts_due_lines(installment_ids=[i.pk for i in inst.values()], as_of=AS_OF)
    }
    first = next(
        r
        for r in taro
        if r["税目"] == "個人住民税（普通徴収）" or r["期別"] == "1" and r["指定納期限"] == "2024-07-01"
    )
    d = dues[inst[1].pk]
    assert (first["本税"], first["延滞金"], first["延滞金の基準日"]) == (
        "30000",
        str(d.late_charge),
        "2024-08-15",
    )
    assert int(first["合計"]) == d.principal_due + (d.late_charge or 0) + d.dunning_fee
    assert first["納付番号"] and first["年度"] == "2024"
    assert s.amount == sum(int(r["合計"]) for r in rows) == sum(t.amount for t in targets.values())
    assert s.amount == CallExport.objects.get(month="2024-08").amount


def test_no_forbidden_column_or_value(scenario: dict[str, Any], tmp_path: Path) -> None:
    out = tmp_path / "targets.csv"
    callcenter_export(municipality=scenario["city"], month="2024-08", out=out, today=AS_OF)
    text = out.read_bytes().decode("cp932")
    header = text.splitlines()[0]
    for forbidden in ("個人番号", "マイナンバー", "生年月日", "住所", "宛名番号", "郵便番号", "法人番号"):
        assert forbidden not in header
    for value in ("621498320257", "5835678256246", "1970-04-01", "東川口", "3330801", "1001,", ",1001"):
        assert value not in text, value
    assert "048-111-2222" in text  # the phone is there


def test_the_birth_date_only_when_configured(scenario: dict[str, Any], tmp_path: Path) -> None:
    criteria_set(actor=scenario["chief"], municipality=scenario["city"], valid_from=date(2024, 8, 1), min_amount=5000,
                 include_birth_date=True)  # fmt: skip
    out = tmp_path / "targets.csv"
    callcenter_export(municipality=scenario["city"], month="2024-08", out=out, today=AS_OF, encoding="utf-8")
    assert out.read_bytes().startswith(b"\xef\xbb\xbf")
    rows = _read(out, "utf-8-sig")
    assert {r["生年月日"] for r in rows if r["氏名・名称"] == "川口 太郎"} == {"1970-04-01"}


def test_the_export_is_logged_with_its_rows_and_hash(scenario: dict[str, Any], tmp_path: Path) -> None:
    import hashlib

    out = tmp_path / "targets.csv"
    s = callcenter_export(
        municipality=scenario["city"], month="2024-08", out=out, today=AS_OF, actor=scenario["chief"]
    )
    log = AuditLog.objects.get(kind=AuditKind.EXPORT, function="催告センター対象者ファイル出力")
    assert log.detail["rows"] == 4 and log.detail["targets"] == 3
    assert log.detail["sha256"] == hashlib.sha256(out.read_bytes()).hexdigest() == s.sha256
    assert log.user_id == scenario["chief"].pk


def test_refusals_write_nothing(scenario: dict[str, Any], tmp_path: Path) -> None:
    city = scenario["city"]
    out = tmp_path / "targets.csv"
    for month, message in (
        ("2024-13", "年月ではありません"),
        ("2024-07", "終わった月"),
        ("x", "年月ではありません"),
    ):
        with pytest.raises(ValidationError, match=message):
            callcenter_export(municipality=city, month=month, out=out, today=AS_OF)
    with pytest.raises(ValidationError, match="cp932 か utf-8"):
        callcenter_export(municipality=city, month="2024-08", out=out, today=AS_OF, encoding="latin-1")
    with pytest.raises(ValidationError, match="基準日"):
        callcenter_export(municipality=city, month="2024-08", out=out, today=AS_OF, as_of=date(2024, 9, 1))
    assert not out.exists() and not CallTarget.objects.exists() and not CallExport.objects.exists()
    callcenter_export(municipality=city, month="2024-08", out=out, today=AS_OF)
    again = tmp_path / "again.csv"
    with pytest.raises(ValidationError, match="出力済み"):
        callcenter_export(municipality=city, month="2024-08", out=again, today=AS_OF)
    assert not again.exists() and CallTarget.objects.count() == 3
    exists = tmp_path / "exists.csv"
    exists.write_text("x")
    with pytest.raises(ValidationError, match="既に存在"):
        callcenter_export(municipality=city, month="2024-09", out=exists, today=AS_OF)
    assert exists.read_text() == "x" and not CallExport.objects.filter(month="2024-09").exists()


def test_the_command_prints_targets_excluded_and_amount(scenario: dict[str, Any], tmp_path: Path) -> None:
    """Through ``choshu callcenter-export`` for the current month (all years: the sample's levies are 2024)."""
    city = scenario["city"]
    today = timezone.localdate()
    criteria_set(actor=None, municipality=city, valid_from=today, min_amount=5000, current_year_only=False)
    out = tmp_path / "now.csv"
    buffer = StringIO()
    call_command("callcenter_export", "--month", f"{today:%Y-%m}", "--out", str(out), "--json",
                 "--operator", "chief", "--municipality", city.code, stdout=buffer)  # fmt: skip
    d = json.loads(buffer.getvalue().strip().splitlines()[-1])
    assert {"targets", "excluded", "amount"} <= set(d)
    # today the 支援措置 (to 2025-12-31), the 猶予 (to 2025-01-31) and the promise (2024-08-31) have ended,
    # and 3008's 2023 arrears count: 1001, 1002, 2001, 3002, 3003, 3005, 3008
    assert d["targets"] == 7
    assert d["excluded"] == {"deceased": 1, "protected": 0, "relief": 0, "enforcement": 1, "promise_pending": 0,
                             "no_case": 1, "below_min_amount": 1}  # fmt: skip
    assert d["amount"] == sum(t.amount for t in CallTarget.objects.filter(month=f"{today:%Y-%m}")) > 0
    with pytest.raises(CommandError) as e:
        call_command("callcenter_export", "--month", "2020-01", "--out", str(tmp_path / "old.csv"), "--municipality",
                     city.code)  # fmt: skip
    assert e.value.returncode == 2
