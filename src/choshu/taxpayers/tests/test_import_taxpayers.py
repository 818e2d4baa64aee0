"""``choshu import-taxpayers`` (interchange.md §1): all-or-nothing, idempotent, revisioned, encrypted."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import TAXPAYER_HEADER
from django.core.management import call_command
from django.core.management.base import CommandError

from choshu.audit.models import AuditLog
from choshu.core.models import Job
from choshu.taxpayers.crypto import decrypt_my_number, my_number_hash
from choshu.taxpayers.models import Taxpayer, TaxpayerRevision

GOOD = [
    "1001,individual,川口 太郎,カワグチ タロウ,1970-04-01,1,3330801,埼玉県川口市東川口1-2-3,,048-111-2222,"
    "621498320257,,1,",
    "2001,corporation,株式会社キューポラ,キューポラ,1999-01-04,,3320012,埼玉県川口市本町4-1-1,,,,5835678256246,0,",
]


def run(path: Path, *extra: str) -> dict[str, Any]:
    from io import StringIO

    out = StringIO()
    call_command("import_taxpayers", str(path), "--json", *extra, stdout=out)
    return json.loads(out.getvalue().strip().splitlines()[-1])


def test_a_clean_file_creates_each_taxpayer_with_a_first_revision(
    municipality: Any, write_csv: Callable
) -> None:
    summary = run(write_csv(TAXPAYER_HEADER, GOOD))
    assert summary | {"job_id": None} == summary | {
        "rows": 2,
        "created": 2,
        "updated": 0,
        "unchanged": 0,
        "corrections": 0,
        "job_id": None,
    }
    tp = Taxpayer.objects.get(taxpayer_no="1001")
    assert tp.name == "川口 太郎" and tp.resident and tp.sex == "1"
    assert tp.revisions.get().revision == 1
    corp = Taxpayer.objects.get(taxpayer_no="2001")
    assert corp.kind == "corporation" and corp.corporate_number == "5835678256246" and not corp.resident


def test_the_my_number_is_encrypted_at_rest_and_findable_by_keyed_hash(
    municipality: Any, write_csv: Callable
) -> None:
    run(write_csv(TAXPAYER_HEADER, GOOD))
    tp = Taxpayer.objects.get(taxpayer_no="1001")
    assert tp.my_number_enc is not None and b"621498320257" not in bytes(tp.my_number_enc)
    assert decrypt_my_number(tp.my_number_enc) == "621498320257"
    assert Taxpayer.objects.get(my_number_hash=my_number_hash("621498320257")) == tp
    revision_json = json.dumps(list(TaxpayerRevision.objects.values("data")), ensure_ascii=False)
    audit_json = json.dumps(list(AuditLog.objects.values("detail")), ensure_ascii=False)
    assert "621498320257" not in revision_json and "621498320257" not in audit_json


def test_names_are_stored_exactly_as_received_without_normalisation(
    municipality: Any, write_csv: Callable
) -> None:
    name = "髙橋　﨑子\U000e0100"  # 髙/﨑 variants and an ideographic variation selector
    kana = "ﾀｶﾊｼ ｻｷｺ"  # half-width kana stays half-width
    run(write_csv(TAXPAYER_HEADER, [f"3001,individual,{name},{kana},1990-01-01,2,,,,,,,1,"]))
    tp = Taxpayer.objects.get(taxpayer_no="3001")
    assert tp.name == name and tp.name_kana == kana
    assert tp.search_kana == "タカハシサキコ"


def test_importing_the_same_file_twice_changes_nothing(municipality: Any, write_csv: Callable) -> None:
    path = write_csv(TAXPAYER_HEADER, GOOD)
    run(path)
    before = list(Taxpayer.objects.values())
    second = run(path)
    assert (second["created"], second["updated"], second["unchanged"]) == (0, 0, 2)
    assert second["already_imported"] is True
    assert list(Taxpayer.objects.values()) == before
    assert TaxpayerRevision.objects.count() == 2


def test_a_changed_row_is_a_new_revision_recording_the_changed_fields(
    municipality: Any, write_csv: Callable
) -> None:
    run(write_csv(TAXPAYER_HEADER, GOOD))
    moved = GOOD[0].replace("東川口1-2-3", "本町1-1-1")
    summary = run(write_csv(TAXPAYER_HEADER, [moved]))
    assert summary["updated"] == 1
    tp = Taxpayer.objects.get(taxpayer_no="1001")
    assert tp.address == "埼玉県川口市本町1-1-1" and tp.revision == 2
    latest = tp.revisions.order_by("-revision").first()
    assert latest is not None and latest.changed_fields == ["address"]
    assert latest.data["address"] == "埼玉県川口市本町1-1-1"
    assert tp.revisions.get(revision=1).data["address"] == "埼玉県川口市東川口1-2-3"


BAD_ROWS = [
    ("1001,individual,川口 太郎,カワグチ,1970-04-01,1,,,,,621498320258,,1,", "my_number", "チェックデジット"),
    ("1001,individual,川口 太郎,カワグチ,1970-02-30,1,,,,,,,1,", "birth_date", "存在しない日付"),
    ("1001,individual,川口 太郎,カワグチ,1970/04/01,1,,,,,,,1,", "birth_date", "YYYY-MM-DD"),
    ("1001,person,川口 太郎,カワグチ,1970-04-01,1,,,,,,,1,", "kind", "値が不正"),
    ("1001,individual,,カワグチ,1970-04-01,1,,,,,,,1,", "name", "必須"),
    ("10A1,individual,川口 太郎,カワグチ,1970-04-01,1,,,,,,,1,", "taxpayer_no", "半角数字"),
    (
        "2002,corporation,株式会社X,エックス,1999-01-04,,,,,,,5835678256247,0,",
        "corporate_number",
        "チェックデジット",
    ),
    ("1001,individual,川口 太郎,カワグチ,1970-04-01,1,,,,,,,2,", "resident", "値が不正"),
    ("1001,individual,川口 太郎,カワグチ,1970-04-01,1,,,,,", "", "列の数"),
    (
        "1001,individual,川口 太郎,カワグチ,1970-04-01,1,,埼玉県" + "あ" * 300 + ",,,,,1,",
        "address",
        "300文字",
    ),
    ("1001,individual,川口 太郎,カワグチ,1970-04-01,1,,,,0" * 1 + "1" * 30 + ",,,1,", "phone", "30文字"),
    ("1001,individual,川口 太郎,カワグチ,1970-04-01,1,332 0012,,,,,,1,", "postal_code", "7桁の数字"),
    ("1001,individual,川口 太郎,カワグチ,1970-04-01,1,33200123,,,,,,1,", "postal_code", "7桁の数字"),
]


@pytest.mark.parametrize(("row", "column", "reason"), BAD_ROWS)
def test_one_bad_row_refuses_the_whole_file_with_line_column_and_reason(
    municipality: Any, write_csv: Callable, row: str, column: str, reason: str
) -> None:
    path = write_csv(TAXPAYER_HEADER, [GOOD[1], row])
    with pytest.raises(CommandError) as exc:
        run(path)
    assert exc.value.returncode == 2
    job = Job.objects.get(kind="import-taxpayers")
    assert job.status == Job.Status.REFUSED
    error = job.errors[0]
    assert (error["line"], error["column"]) == (3, column) and reason in error["reason"]
    assert Taxpayer.objects.count() == 0  # the good row was not written either


@pytest.mark.parametrize("written", ["3320012", "332-0012", "３３２－００１２", "３３２ー００１２"])
def test_a_postal_code_with_or_without_hyphen_and_in_full_width_is_stored_as_seven_digits(
    municipality: Any, write_csv: Callable, written: str
) -> None:
    """Issue 12: 郵便番号 as the standard systems write it (332-0012, full width) are accepted."""
    row = GOOD[1].replace(",3320012,", f",{written},")
    run(write_csv(TAXPAYER_HEADER, [row]))
    assert Taxpayer.objects.get(taxpayer_no="2001").postal_code == "3320012"
    # The same person sent again with the other spelling is the same 宛名: nothing changes.
    again = run(write_csv(TAXPAYER_HEADER, [GOOD[1]]))
    assert (again["unchanged"], again["updated"]) == (1, 0)


def test_a_duplicated_taxpayer_number_in_one_file_is_refused(municipality: Any, write_csv: Callable) -> None:
    with pytest.raises(CommandError):
        run(write_csv(TAXPAYER_HEADER, [GOOD[0], GOOD[0]]))
    assert "重複" in Job.objects.get().errors[0]["reason"]
    assert Taxpayer.objects.count() == 0


def test_the_refusal_is_printed_as_json_on_the_last_line(
    municipality: Any, write_csv: Callable, capsys: pytest.CaptureFixture[str]
) -> None:
    from io import StringIO

    out = StringIO()
    with pytest.raises(CommandError):
        call_command("import_taxpayers", str(write_csv("wrong,header", ["1"])), "--json", stdout=out)
    payload = json.loads(out.getvalue().strip().splitlines()[-1])
    assert payload["refused"] is True and payload["errors"][0]["line"] == 1


def test_a_cp932_file_is_read_like_utf8(municipality: Any, write_csv: Callable) -> None:
    run(write_csv(TAXPAYER_HEADER, GOOD, encoding="cp932"))
    assert Taxpayer.objects.get(taxpayer_no="1001").name == "川口 太郎"


def test_the_command_needs_a_municipality_when_there_are_several(
    municipality: Any, other_municipality: Any, write_csv: Callable
) -> None:
    path = write_csv(TAXPAYER_HEADER, GOOD)
    with pytest.raises(CommandError, match="複数"):
        run(path)
    run(path, "--municipality", "112089")
    assert Taxpayer.objects.get(taxpayer_no="1001").municipality == other_municipality
