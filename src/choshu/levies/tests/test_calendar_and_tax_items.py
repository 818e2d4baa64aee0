"""``choshu import-calendar``, ``choshu calendar-generate`` and ``choshu tax-items`` (issue 12 §1)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from choshu.audit.models import AuditLog
from choshu.core.models import Job
from choshu.formats.calendar_csv import HEADER
from choshu.levies.models import InstallmentCalendar, TaxItem

CAL_HEADER = ",".join(HEADER)


def cmd(name: str, *args: str) -> dict[str, Any]:
    out = StringIO()
    call_command(name, *args, "--json", stdout=out)
    return json.loads(out.getvalue().strip().splitlines()[-1])


def calendar() -> list[tuple[Any, ...]]:
    return list(
        InstallmentCalendar.objects.order_by("tax_item", "levy_year", "installment_no").values_list(
            "tax_item", "levy_year", "installment_no", "label", "year_month", "nominal_due_date", "ad_hoc"
        )
    )


ROWS = [
    "01,2025,1,第1期,2025-06,2025-06-30,0",
    "01,2025,2,第2期,2025-08,2025-09-01,",
    "07,2025,1,第1期,2025-07,,0",
    "01,2025,9,随時,2026-03,,1",
]


def test_a_calendar_file_is_imported_and_the_same_file_again_changes_nothing(
    municipality: Any, write_csv: Callable[..., Path]
) -> None:
    path = write_csv(CAL_HEADER, ROWS)
    first = cmd("import_calendar", str(path))
    assert (first["rows"], first["created"], first["updated"], first["unchanged"]) == (4, 4, 0, 0)
    assert calendar() == [
        ("01", 2025, 1, "第1期", "2025-06", date(2025, 6, 30), False),
        ("01", 2025, 2, "第2期", "2025-08", date(2025, 9, 1), False),
        ("01", 2025, 9, "随時", "2026-03", None, True),
        ("07", 2025, 1, "第1期", "2025-07", None, False),
    ]
    before = calendar()
    again = cmd("import_calendar", str(path))
    assert (again["created"], again["updated"], again["unchanged"], again["already_imported"]) == (
        0,
        0,
        4,
        True,
    )
    assert calendar() == before
    assert AuditLog.objects.filter(function="期別マスタ取込").count() == 2
    assert Job.objects.filter(kind=Job.Kind.IMPORT_CALENDAR, status=Job.Status.SUCCEEDED).count() == 2


def test_a_row_of_a_key_already_there_replaces_it(municipality: Any, write_csv: Callable[..., Path]) -> None:
    cmd("import_calendar", str(write_csv(CAL_HEADER, ROWS)))
    summary = cmd(
        "import_calendar", str(write_csv(CAL_HEADER, ["01,2025,2,第2期(変更),2025-08,2025-08-31,0"]))
    )
    assert (summary["created"], summary["updated"]) == (0, 1)
    assert InstallmentCalendar.objects.get(tax_item="01", installment_no=2).nominal_due_date == date(
        2025, 8, 31
    )
    assert InstallmentCalendar.objects.count() == 4


BAD = [
    ("1,2025,1,第1期,2025-06,,0", "tax_item"),
    ("99,2025,1,第1期,2025-06,,0", "tax_item"),  # not in the 税目マスタ
    ("01,25,1,第1期,2025-06,,0", "levy_year"),
    ("01,2025,0,第1期,2025-06,,0", "installment_no"),
    ("01,2025,1,,2025-06,,0", "label"),
    ("01,2025,1,第1期,2025-13,,0", "year_month"),
    ("01,2025,1,第1期,2025-06,2025-06-31,0", "nominal_due_date"),
    ("01,2025,1,第1期,2025-06,,2", "ad_hoc"),
    ("07,2025,1,第1期,2025-07,,0", "installment_no"),  # the same key as line 2
    ("01,2025,1,第1期", ""),
]


@pytest.mark.parametrize(("row", "column"), BAD)
def test_a_bad_row_refuses_the_whole_calendar_file(
    municipality: Any, write_csv: Callable[..., Path], row: str, column: str
) -> None:
    out = StringIO()
    with pytest.raises(CommandError) as exc:
        call_command("import_calendar", str(write_csv(CAL_HEADER, ["07,2025,1,第1期,2025-07,,0", row])), "--json",
                     stdout=out)  # fmt: skip
    assert exc.value.returncode == 2
    errors = json.loads(out.getvalue().strip().splitlines()[-1])["errors"]
    assert [(e["line"], e["column"]) for e in errors] == [(3, column)] and errors[0]["reason"]
    assert InstallmentCalendar.objects.count() == 0


def test_calendar_generate_creates_the_missing_rows_from_the_ordinance(
    municipality: Any, write_csv: Callable[..., Path]
) -> None:
    cmd("import_calendar", str(write_csv(CAL_HEADER, ["01,2025,1,6月期,2025-06,2025-06-25,0"])))
    result = cmd("calendar_generate", "--levy-year", "2025")
    assert result["kept"] == 1
    rows = {(r[0], r[2]): r for r in calendar()}
    # The city's own row is kept; the other 期 of 01 and the other items come from the ordinance.
    assert rows[("01", 1)][3:6] == ("6月期", "2025-06", date(2025, 6, 25))
    assert {no for item, no in rows if item == "01"} == {1, 2, 3, 4}
    assert len([1 for item, _ in rows if item == "07"]) == 8  # 国保税: 7月〜翌2月
    # 2025-08-31 is a Sunday: the 納期限 moves to Monday 2025-09-01 (地方税法20条の5).
    assert rows[("01", 2)][5] == date(2025, 9, 1)
    assert result["items"]["02"] == 12  # 特別徴収: 12 monthly installments
    assert result["created"] == sum(result["items"].values()) == len(rows) - 1
    assert cmd("calendar_generate", "--levy-year", "2025")["created"] == 0


def test_calendar_generate_refuses_a_malformed_year(municipality: Any) -> None:
    with pytest.raises(CommandError) as exc:
        call_command("calendar_generate", "--levy-year", "25")
    assert exc.value.returncode == 2


def test_tax_items_lists_the_items_with_their_assessment_and_breakdown(municipality: Any) -> None:
    TaxItem.objects.filter(municipality=municipality, code="06").update(is_active=False)
    items = {i["code"]: i for i in cmd("tax_items")["tax_items"]}
    assert sorted(items) == ["01", "02", "03", "04", "05", "06", "07"]
    assert (items["03"]["assessment"], [b["code"] for b in items["03"]["breakdown"]]) == (
        "self",
        ["per_capita", "corporate_tax"],
    )
    assert [b["name"] for b in items["04"]["breakdown"]] == ["固定資産税", "都市計画税"]
    assert items["01"]["breakdown"] == [] and items["06"]["active"] is False
