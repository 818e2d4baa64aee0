"""口座振替依頼データ (issue 17 §2): one 種別91 file per collecting bank, read back here by an
independent byte-slicing reader (positions of formats-reference §1.1): lengths, order, repertoire,
trailer sums, 新規コード once per mandate; idempotent per date; regenerate voids the earlier run."""

from __future__ import annotations

import json
import re
from datetime import date
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command

from choshu.debits.models import DebitLine, DebitRun, LineStatus, RunStatus
from choshu.debits.requests import debit_request
from choshu.debits.services import collecting_account_set
from choshu.debits.tests.conftest import approved
from choshu.debits.tests.zengin_bytes import data_fields, field, parse
from choshu.dunning.models import DunningSuppression, SuppressionReason
from choshu.levies.models import Installment

pytestmark = pytest.mark.django_db
D = date
# 半角カナ (0xA1-0xDF), upper-case Latin, digits, space and ( ) - . : the name fields' repertoire (§7.2)
NAME_BYTES = re.compile(rb"[\xa1-\xdfA-Z0-9 ().\-]*")


def _request(municipality: Any, out: Path, on: date, **kw: Any) -> dict[str, Any]:
    return debit_request(municipality=municipality, debit_date=on, out_dir=out, **kw).as_dict()


def test_the_request_file_reads_back_field_by_field(debit_city: Any, tmp_path: Path) -> None:
    s = _request(debit_city, tmp_path, D(2024, 5, 31))
    assert (s["records"], s["amount"], len(s["files"])) == (1, 10800, 1)
    raw = Path(s["files"][0]["path"]).read_bytes()
    p = parse(raw)
    h = p.header
    assert (field(h, 1, 1), field(h, 2, 3), field(h, 4, 4), field(h, 5, 14)) == ("1", "91", "0", "1234567890")
    assert field(h, 15, 54).rstrip() == "ｶﾜｸﾞﾁｼ" and field(h, 55, 58) == "0531"
    assert (field(h, 59, 62), field(h, 78, 80), field(h, 96, 96), field(h, 97, 103)) == (
        "0001",
        "001",
        "1",
        "7654321",
    )
    assert field(h, 104, 120) == " " * 17
    [rec] = p.data
    f = data_fields(rec)
    line = DebitLine.objects.get()
    assert (f["bank"], f["branch"], f["type"], f["account"]) == (
        "9900",
        "408",
        "1",
        "1234567",
    )  # from 記号・番号
    assert f["holder"].rstrip() == "ﾊﾄｶﾞﾔ ﾊﾅｺ" and NAME_BYTES.fullmatch(rec[50:80])
    assert (f["amount"], f["new_code"], f["result"]) == ("0000010800", "1", "0")
    assert f["customer_no"] == f"{line.pk:020d}" and f["dummy"] == "    " and f["tail"] == " " * 8
    t = p.trailer
    assert (field(t, 2, 7), field(t, 8, 19)) == ("000001", "000000010800")
    assert field(t, 20, 55) == "0" * 36 and field(t, 56, 120) == " " * 65  # request: result totals zero
    assert p.end == b"9" + b" " * 119


def test_new_code_is_set_once_per_mandate_then_zero(
    debit_city: Any, people: dict[str, Any], tmp_path: Path
) -> None:
    s1 = _request(debit_city, tmp_path, D(2024, 7, 1))
    s2 = _request(debit_city, tmp_path, D(2024, 9, 2))
    codes = [
        data_fields(r)["new_code"]
        for s in (s1, s2)
        for r in parse(Path(s["files"][0]["path"]).read_bytes()).data
    ]
    assert codes == ["1", "0"]


def test_the_same_date_again_writes_nothing_and_regenerate_voids_the_first(
    debit_city: Any, tmp_path: Path
) -> None:
    first = _request(debit_city, tmp_path, D(2024, 5, 31))
    again = _request(debit_city, tmp_path, D(2024, 5, 31))
    assert again["already"] and again["run_id"] == first["run_id"] and DebitLine.objects.count() == 1
    old_path = first["files"][0]["path"]
    redo = _request(debit_city, tmp_path, D(2024, 5, 31), regenerate=True)
    assert redo["voided_run"] == first["run_id"] and redo["run_id"] != first["run_id"]
    assert DebitRun.objects.get(pk=first["run_id"]).status == RunStatus.VOID
    assert not Path(old_path).exists() and Path(old_path + ".void").exists()
    assert list(DebitLine.objects.order_by("pk").values_list("status", flat=True)) == [
        LineStatus.VOID,
        LineStatus.PENDING,
    ]
    # the voided line's 新規コード does not count: the new file still says 1
    assert data_fields(parse(Path(redo["files"][0]["path"]).read_bytes()).data[0])["new_code"] == "1"
    open_ = DunningSuppression.objects.filter(reason=SuppressionReason.DIRECT_DEBIT, end__isnull=True)
    assert open_.count() == 1


def test_each_line_suppresses_dunning_until_the_result(debit_city: Any, tmp_path: Path) -> None:
    _request(debit_city, tmp_path, D(2024, 5, 31))
    [s] = DunningSuppression.objects.all()
    inst = Installment.objects.get(levy__notice_no="500001")
    assert (s.installment_id, s.reason, s.start, s.end) == (
        inst.pk,
        SuppressionReason.DIRECT_DEBIT,
        D(2024, 5, 31),
        None,
    )


def test_a_blocked_mandate_gets_no_line_and_is_counted(
    debit_city: Any, people: dict[str, Any], tmp_path: Path
) -> None:
    approved(
        people, "2001", bank_code="9999", branch_code="999", holder_name="キューポラ", start=D(2024, 5, 1)
    )
    s = _request(debit_city, tmp_path, D(2024, 5, 31))
    assert (s["records"], s["blocked"]) == (1, 1)


def test_one_file_per_collecting_bank(debit_city: Any, people: dict[str, Any], tmp_path: Path) -> None:
    collecting_account_set(
        actor=people["chief"], municipality=debit_city, bank_code="9900", branch_code="019", deposit_type="2",
        account="0123456", originator_code="55555", originator_name="ｶﾜｸﾞﾁｼ ﾕｳﾁﾖ",
    )  # fmt: skip
    approved(people, "2001", holder_name="キューポラ", start=D(2024, 5, 1))
    s = _request(debit_city, tmp_path, D(2024, 5, 31))
    banks = {f["bank_code"]: f["records"] for f in s["files"]}
    assert banks == {"0001": 1, "9900": 1} and s["records"] == 2 and s["amount"] == 80800
    for f in s["files"]:
        p = parse(Path(f["path"]).read_bytes())
        assert field(p.header, 59, 62) == f["bank_code"]
        assert sum(int(data_fields(r)["amount"]) for r in p.data) == int(field(p.trailer, 8, 19))


def test_a_holiday_or_missing_folder_is_refused(debit_city: Any, tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="営業日"):
        _request(debit_city, tmp_path, D(2024, 6, 1))  # a Saturday
    with pytest.raises(ValidationError, match="出力先"):
        _request(debit_city, tmp_path / "nope", D(2024, 5, 31))
    assert not DebitRun.objects.exists()


def test_without_a_collecting_account_the_run_is_refused(sample_city: Any, tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="収納口座"):
        _request(sample_city, tmp_path, D(2024, 5, 31))


def test_the_command_prints_files_records_and_amount(debit_city: Any, tmp_path: Path) -> None:
    out = StringIO()
    call_command("debit_request", "--debit-date", "2024-05-31", "--out", str(tmp_path), "--json", stdout=out)
    d = json.loads(out.getvalue().strip().splitlines()[-1])
    assert (d["records"], d["amount"], len(d["files"])) == (1, 10800, 1)


def test_the_settings_command_registers_an_account_and_refuses_bad_codes(sample_city: Any) -> None:
    from django.core.management.base import CommandError

    out = StringIO()
    call_command(
        "debit_settings", "--bank", "0001", "--branch", "001", "--type", "1", "--account", "7654321",
        "--originator-code", "1234567890", "--originator-name", "カワグチシ", "--default", "--on-code-4", "end",
        "--json", stdout=out,
    )  # fmt: skip
    d = json.loads(out.getvalue().strip().splitlines()[-1])
    assert d["collecting_accounts"][0]["originator_name"] == "ｶﾜｸﾞﾁｼ" and d["on_code_4"] == "end"
    with pytest.raises(CommandError, match="金融機関コード"):
        call_command("debit_settings", "--bank", "01", "--branch", "001", "--type", "1", "--account", "1",
                     "--originator-code", "1", "--originator-name", "ｶ")  # fmt: skip
    with pytest.raises(CommandError, match="委託者名"):
        call_command("debit_settings", "--bank", "0005", "--branch", "001", "--type", "1", "--account", "1",
                     "--originator-code", "1", "--originator-name", "川口市")  # fmt: skip
