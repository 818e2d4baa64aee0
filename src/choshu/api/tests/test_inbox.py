"""choshu import-inbox: marked files only, processed/ or rejected/ with a report, nothing twice."""

from __future__ import annotations

import contextlib
import json
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from conftest import LEVY_HEADER, TAXPAYER_HEADER
from django.core.management import call_command
from django.core.management.base import CommandError

from choshu.levies.models import Installment
from choshu.taxpayers.models import Taxpayer

pytestmark = pytest.mark.django_db


def drop(inbox: Path, name: str, lines: list[str], *, done: bool = True) -> Path:
    path = inbox / name
    path.write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")
    if done:
        (inbox / f"{name}.done").write_text("")
    return path


def run(inbox: Path) -> list[dict[str, Any]]:
    out = StringIO()
    with contextlib.suppress(CommandError):  # exit 2 when a file was rejected; the JSON is printed first
        call_command("import_inbox", str(inbox), "--booking-date", "2024-04-01", "--json", stdout=out)
    return json.loads(out.getvalue().strip().splitlines()[-1])["files"]


def test_marked_files_are_imported_in_order_and_moved_with_a_report(
    municipality: Any, tmp_path: Path
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    # the levies file sorts before the taxpayers file by name, but taxpayers go first
    drop(inbox, "levies-0401.csv", [LEVY_HEADER, "01,2024,100001,1001,1,2024-07-01,30000,"])
    drop(inbox, "taxpayers-0401.csv", [TAXPAYER_HEADER, "1001,individual,川口 太郎,,,,,,,,,,1,"])
    drop(inbox, "taxpayers-half.csv", [TAXPAYER_HEADER, "1002,individual,書きかけ,,,,,,,,,,1,"], done=False)
    (inbox / ".taxpayers-hidden.csv").write_text("x")
    results = run(inbox)
    assert [(r["file"], r["status"]) for r in results] == [
        ("taxpayers-0401.csv", "imported"),
        ("levies-0401.csv", "imported"),
    ]
    assert Installment.objects.filter(levy__notice_no="100001").count() == 1
    # the half-written file (no marker) is left alone and not read
    assert (inbox / "taxpayers-half.csv").exists()
    assert not Taxpayer.objects.filter(taxpayer_no="1002").exists()
    processed = inbox / "processed"
    assert (processed / "levies-0401.csv").exists()
    report = json.loads((processed / "levies-0401.csv.report.json").read_text(encoding="utf-8"))
    assert (
        report["status"] == "imported" and report["summary"]["created"] == 1 and len(report["sha256"]) == 64
    )
    assert not (inbox / "levies-0401.csv.done").exists()


def test_a_file_sent_again_is_not_imported_twice_and_a_bad_one_is_rejected(
    municipality: Any, tmp_path: Path
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    rows = [TAXPAYER_HEADER, "1001,individual,川口 太郎,,,,,,,,,,1,"]
    drop(inbox, "taxpayers.csv", rows)
    assert run(inbox)[0]["status"] == "imported"
    drop(inbox, "taxpayers.csv", rows)
    again = run(inbox)
    assert again[0]["status"] == "already_imported"
    assert len(list((inbox / "processed").glob("taxpayers.csv*.report.json"))) == 2  # nothing overwritten
    drop(inbox, "taxpayers-bad.csv", [TAXPAYER_HEADER, "1003,individual,,,,,,,,,,,1,"])
    drop(inbox, "unknown.csv", ["a,b"])
    results = {r["file"]: r for r in run(inbox)}
    assert results["taxpayers-bad.csv"]["status"] == "rejected"
    assert results["taxpayers-bad.csv"]["errors"][0]["column"] == "name"
    assert results["unknown.csv"]["status"] == "rejected"
    assert (inbox / "rejected" / "taxpayers-bad.csv.report.json").exists()
    assert not Taxpayer.objects.filter(taxpayer_no="1003").exists()


def test_a_file_left_in_work_by_a_killed_run_is_finished_once(municipality: Any, tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    (inbox / ".work").mkdir(parents=True)
    rows = [TAXPAYER_HEADER, "1001,individual,川口 太郎,,,,,,,,,,1,"]
    drop(inbox / ".work", "taxpayers.csv", rows, done=False)
    assert run(inbox)[0]["status"] == "imported"
    # killed after the import committed, before the move: the hash tells it was imported
    drop(inbox / ".work", "taxpayers.csv", rows, done=False)
    assert run(inbox)[0]["status"] == "already_imported"
    assert Taxpayer.objects.filter(taxpayer_no="1001").count() == 1
