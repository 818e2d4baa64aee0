"""開示請求: everything held about one person, as CSV and PDF, logged, and without the My Number."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.core.management import call_command
from django.core.management.base import CommandError

from choshu.accounts.models import Role
from choshu.audit.models import AuditLog
from choshu.operations.disclosure import disclosure_export
from choshu.taxpayers.models import Taxpayer


def test_the_export_holds_attributes_levies_and_history_but_not_the_my_number(
    sample_city: Any, make_user: Callable, tmp_path: Path
) -> None:
    chief = make_user("chief", role=Role.CHIEF, municipality=sample_city)
    taro = Taxpayer.objects.get(taxpayer_no="1001")
    files = disclosure_export(actor=chief, taxpayer=taro, folder=tmp_path, as_of=date(2026, 11, 26))
    text = files.csv_path.read_bytes().decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["区分", "項目", "内容"]
    sections = {r[0] for r in rows[1:]}
    assert {"宛名", "履歴", "調定・収納"} <= sections
    assert ["宛名", "氏名・名称", "川口 太郎"] in rows
    assert any("調定額 30,000円" in r[2] for r in rows if r[0] == "調定・収納")
    assert "621498320257" not in text and b"621498320257" not in files.pdf_path.read_bytes()
    assert files.pdf_path.read_bytes().startswith(b"%PDF")
    log = AuditLog.objects.get(function="開示請求出力")
    assert log.user == chief and log.subject_ids == [taro.pk] and len(log.detail["files"]) == 2


def test_the_export_needs_the_right_and_the_same_municipality(
    sample_city: Any, other_municipality: Any, make_user: Callable, tmp_path: Path
) -> None:
    taro = Taxpayer.objects.get(taxpayer_no="1001")
    for user in (
        make_user("w", role=Role.WINDOW_CONTRACTOR, municipality=sample_city),
        make_user("a", role=Role.AUDITOR, municipality=sample_city),
        make_user("s", role=Role.CHIEF, municipality=other_municipality),
    ):
        with pytest.raises(PermissionDenied):
            disclosure_export(actor=user, taxpayer=taro, folder=tmp_path / "out", as_of=date(2026, 11, 26))
    assert not (tmp_path / "out").exists()


def test_the_command_writes_both_files(sample_city: Any, make_user: Callable, tmp_path: Path) -> None:
    make_user("chief", role=Role.CHIEF, municipality=sample_city)
    call_command(
        "disclosure_export",
        "--taxpayer",
        "1002",
        "--operator",
        "chief",
        "--output",
        str(tmp_path / "out"),
        stdout=io.StringIO(),
    )
    assert sorted(p.suffix for p in (tmp_path / "out").iterdir()) == [".csv", ".pdf"]
    with pytest.raises(CommandError):
        call_command(
            "disclosure_export", "--taxpayer", "9999", "--operator", "chief", "--output", str(tmp_path)
        )


def test_each_installment_shows_principal_late_charge_and_total_as_of_the_export_date(
    sample_city: Any, make_user: Callable, tmp_path: Path
) -> None:
    """Issue 13 §1: 本税 · 延滞金 · 合計 per installment, the 延滞金 equal to the rules' figure
    (rules.late_charge; published examples in rules/tests/scenarios/late_charge.toml)."""
    from choshu.rules.late_charge import compute_late_charge

    chief = make_user("chief", role=Role.CHIEF, municipality=sample_city)
    taro = Taxpayer.objects.get(taxpayer_no="1001")
    as_of = date(2026, 1, 31)
    files = disclosure_export(actor=chief, taxpayer=taro, folder=tmp_path, as_of=as_of)
    rows = list(csv.reader(io.StringIO(files.csv_path.read_bytes().decode("utf-8-sig"))))
    late = compute_late_charge(principal=30000, due_date=date(2024, 7, 1), until=as_of).late_charge
    assert late == 3900
    first = next(r for r in rows if r[0] == "調定・収納" and "通知書100001 第1期" in r[1])
    assert first[2] == (
        f"納期限 2024-07-01 調定額 30,000円 収納額 0円 本税（未納） 30,000円 延滞金 {late:,}円"
        f" 合計 {30000 + late:,}円（2026-01-31 現在）"
    )


def test_a_formula_in_a_name_is_written_as_text_and_the_history_names_fields_in_japanese(
    sample_city: Any, make_user: Callable, tmp_path: Path
) -> None:
    """OWASP CSV injection: the citizen's copy is opened in a spreadsheet (issue 14 §3)."""
    from choshu.approvals.services import request_approve
    from choshu.taxpayers.changes import taxpayer_edit_request

    clerk = make_user("clerk", role=Role.CLERK, municipality=sample_city)
    chief = make_user("chief", role=Role.CHIEF, municipality=sample_city)
    taro = Taxpayer.objects.get(taxpayer_no="1001")
    formula = "=cmd|' /C calc'!A0"
    req = taxpayer_edit_request(actor=clerk, taxpayer=taro, changes={"name": formula}, reason="届出")
    request_approve(actor=chief, request=req, decided_on=date(2026, 11, 25))
    taro.refresh_from_db()
    files = disclosure_export(actor=chief, taxpayer=taro, folder=tmp_path, as_of=date(2026, 11, 26))
    rows = list(csv.reader(io.StringIO(files.csv_path.read_bytes().decode("utf-8-sig"))))
    assert ["宛名", "氏名・名称", "'" + formula] in rows
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)
    history = [r[2] for r in rows if r[0] == "履歴"]
    assert any("氏名" in h for h in history) and not any("name" in h.split() for h in history)
