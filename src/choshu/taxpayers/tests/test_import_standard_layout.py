"""taxpayers.csv in the standard layout (issue 12 §5–7): the 支援措置 period and the source stamps, kind
共有, a fixed-width 宛名番号 — and the old layout still working as before."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, time
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from conftest import TAXPAYER_HEADER
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError

from choshu.accounts.models import Role
from choshu.audit.models import AuditLog
from choshu.core.models import Job
from choshu.formats.errors import FileRefused
from choshu.formats.taxpayers_csv import HEADER
from choshu.taxpayers.models import Taxpayer, TaxpayerRevision
from choshu.taxpayers.numbering import taxpayer_no_width_set
from choshu.taxpayers.selectors import SearchQuery, taxpayer_search
from choshu.taxpayers.services import taxpayers_import

STANDARD_HEADER = ",".join(HEADER)
OLD_ROW = "1001,individual,川口 太郎,カワグチ タロウ,1970-04-01,1,3330801,埼玉県川口市東川口1-2-3,,048-111-2222,,,1,"
PROTECTED = OLD_ROW + ",2025-04-01,2026-03-31,OP0001,2025-03-28,09:15:00"
CO_OWNERSHIP = "5001,co_ownership,川口 太郎 外1名,カワグチ タロウ ホカ1メイ,,,3330801,埼玉県川口市東川口1-2-3,,,,,1,,,,,,"


def run(path: Path) -> dict[str, Any]:
    out = StringIO()
    call_command("import_taxpayers", str(path), "--json", stdout=out)
    return json.loads(out.getvalue().strip().splitlines()[-1])


def refused(path: Path) -> list[tuple[int, str, str]]:
    out = StringIO()
    with pytest.raises(CommandError) as caught:
        call_command("import_taxpayers", str(path), "--json", stdout=out)
    assert caught.value.returncode == 2
    payload = json.loads(out.getvalue().strip().splitlines()[-1])
    return [(e["line"], e["column"], e["reason"]) for e in payload["errors"]]


def taro() -> Taxpayer:
    return Taxpayer.objects.get(taxpayer_no="1001")


def test_the_standard_layout_stores_the_support_measure_period_and_the_source_stamps(
    municipality: Any, write_csv: Callable
) -> None:
    summary = run(write_csv(STANDARD_HEADER, [PROTECTED]))
    assert summary["created"] == 1
    tp = taro()
    assert (tp.support_measure_from, tp.support_measure_until) == (date(2025, 4, 1), date(2026, 3, 31))
    assert tp.is_protected(date(2025, 4, 1)) and not tp.is_protected(date(2026, 4, 1))
    assert (tp.source_operator, tp.source_operated_on, tp.source_operated_time) == (
        "OP0001",
        date(2025, 3, 28),
        time(9, 15),
    )
    first = tp.revisions.get()
    assert (
        first.data["support_measure_from"] == "2025-04-01"
        and first.data["support_measure_until"] == "2026-03-31"
    )


def test_a_change_of_the_period_is_a_revision_naming_it(municipality: Any, write_csv: Callable) -> None:
    run(write_csv(STANDARD_HEADER, [PROTECTED]))
    extended = PROTECTED.replace("2026-03-31", "2027-03-31").replace("OP0001,2025-03-28", "OP0002,2026-03-20")
    summary = run(write_csv(STANDARD_HEADER, [extended]))
    assert (summary["updated"], summary["unchanged"]) == (1, 0)
    tp = taro()
    assert tp.support_measure_until == date(2027, 3, 31) and tp.revision == 2
    latest = tp.revisions.get(revision=2)
    assert latest.changed_fields == ["support_measure_until"]
    assert latest.data["support_measure_until"] == "2027-03-31"
    assert (tp.source_operator, tp.source_operated_on) == ("OP0002", date(2026, 3, 20))
    ended = extended.replace(",2025-04-01,2027-03-31,", ",,,")
    run(write_csv(STANDARD_HEADER, [ended]))
    tp = taro()
    assert tp.support_measure_from is None and tp.support_measure_until is None
    assert tp.revisions.get(revision=3).changed_fields == ["support_measure_from", "support_measure_until"]


def test_a_row_whose_attributes_are_unchanged_keeps_its_stamps_and_makes_no_revision(
    municipality: Any, write_csv: Callable
) -> None:
    run(write_csv(STANDARD_HEADER, [PROTECTED]))
    summary = run(write_csv(STANDARD_HEADER, [PROTECTED.replace("OP0001", "OP0009")]))
    assert (summary["updated"], summary["unchanged"]) == (0, 1)
    assert taro().source_operator == "OP0001" and TaxpayerRevision.objects.count() == 1


def test_the_old_layout_leaves_an_existing_persons_period_and_stamps_as_they_are(
    municipality: Any, write_csv: Callable
) -> None:
    run(write_csv(STANDARD_HEADER, [PROTECTED]))
    moved = OLD_ROW.replace("東川口1-2-3", "本町1-1-1")
    summary = run(write_csv(TAXPAYER_HEADER, [moved]))
    assert summary["updated"] == 1
    tp = taro()
    assert tp.address == "埼玉県川口市本町1-1-1"
    assert (tp.support_measure_from, tp.support_measure_until) == (date(2025, 4, 1), date(2026, 3, 31))
    assert (tp.source_operator, tp.source_operated_time) == ("OP0001", time(9, 15))
    latest = tp.revisions.get(revision=2)
    assert latest.changed_fields == ["address"]
    assert latest.data["support_measure_from"] == "2025-04-01"
    again = run(write_csv(TAXPAYER_HEADER, [moved], name="again.csv"))
    assert (again["updated"], again["unchanged"]) == (0, 1)


def test_the_old_layout_creates_people_without_a_period_or_stamps(
    municipality: Any, write_csv: Callable
) -> None:
    run(write_csv(TAXPAYER_HEADER, [OLD_ROW]))
    tp = taro()
    assert tp.support_measure_from is None and tp.source_operator == "" and tp.source_operated_on is None


def test_the_same_standard_file_twice_changes_nothing(municipality: Any, write_csv: Callable) -> None:
    path = write_csv(STANDARD_HEADER, [PROTECTED, CO_OWNERSHIP])
    run(path)
    before = list(Taxpayer.objects.order_by("pk").values())
    second = run(path)
    assert second["already_imported"] is True and (second["created"], second["updated"]) == (0, 0)
    assert list(Taxpayer.objects.order_by("pk").values()) == before
    assert TaxpayerRevision.objects.count() == 2


def test_a_co_ownership_is_imported_as_kind_kyoyu(municipality: Any, write_csv: Callable) -> None:
    run(write_csv(STANDARD_HEADER, [CO_OWNERSHIP]))
    group = Taxpayer.objects.get(taxpayer_no="5001")
    assert group.kind == "co_ownership" and group.get_kind_display() == "共有"
    assert group.birth_date is None and group.sex == "" and not group.has_my_number


def row(**changes: str) -> str:
    """A standard-layout row of 川口 太郎 with some columns changed."""
    values = dict(zip(HEADER, PROTECTED.split(","), strict=True))
    values.update(changes)
    return ",".join(values[c] for c in HEADER)


BAD = [
    (row(support_measure_from="", support_measure_until="2026-03-31"), "support_measure_until", "開始日も"),
    (row(support_measure_until="2025-03-31"), "support_measure_until", "開始日より前"),
    (row(support_measure_from="2025/04/01"), "support_measure_from", "YYYY-MM-DD"),
    (row(support_measure_until="2026-02-30"), "support_measure_until", "存在しない日付"),
    (row(operator_id="X" * 21), "operator_id", "20文字以内"),
    (row(operated_on="20250328"), "operated_on", "YYYY-MM-DD"),
    (row(operated_time="9:15"), "operated_time", "HH:MM:SS"),
    (row(operated_time="24:00:00"), "operated_time", "HH:MM:SS"),
    (row(operated_on="", operated_time="09:15:00"), "operated_time", "操作年月日も"),
    (row(kind="co_ownership", name="共有", sex=""), "birth_date", "共有"),
    (CO_OWNERSHIP.replace(",,,,,1,", ",,,621498320257,,1,", 1), "my_number", "共有"),
    (CO_OWNERSHIP.replace(",,,,,1,", ",,,,5835678256246,1,", 1), "corporate_number", "共有"),
    (row(kind="kyoyu"), "kind", "co_ownership=共有"),
    (PROTECTED + ",", "", "列の数が 20 です（19 列必要です）"),
]


@pytest.mark.parametrize(("bad", "column", "reason"), BAD)
def test_a_bad_row_of_the_standard_layout_refuses_the_file_with_line_column_and_reason(
    municipality: Any, write_csv: Callable, bad: str, column: str, reason: str
) -> None:
    other = "1002,individual,鳩ヶ谷 花子,ハトガヤ ハナコ,1985-12-24,2,,,,,,,0,,,,,,"
    errors = refused(write_csv(STANDARD_HEADER, [other, bad]))
    assert [(line, col) for line, col, _ in errors] == [(3, column)]
    assert reason in errors[0][2]
    assert not Taxpayer.objects.exists()
    assert Job.objects.get().status == Job.Status.REFUSED


def test_a_header_of_neither_layout_is_refused_naming_both(municipality: Any, write_csv: Callable) -> None:
    errors = refused(write_csv(STANDARD_HEADER.replace("operator_id", "operator"), [PROTECTED]))
    assert errors[0][0] == 1 and "operator_id" in errors[0][2] and "旧形式" in errors[0][2]


# --- 宛名番号 of fixed width ---------------------------------------------------------------------------


def test_with_a_fixed_width_123_and_0000000123_are_the_same_person(
    municipality: Any, write_csv: Callable
) -> None:
    taxpayer_no_width_set(actor=None, municipality=municipality, width=10)
    run(write_csv(TAXPAYER_HEADER, [OLD_ROW.replace("1001,", "123,", 1)]))
    person = Taxpayer.objects.get()
    assert person.taxpayer_no == "0000000123"
    summary = run(
        write_csv(TAXPAYER_HEADER, [OLD_ROW.replace("1001,", "0000000123,", 1).replace("1-2-3", "9-9-9")])
    )
    assert (summary["created"], summary["updated"]) == (0, 1)
    assert Taxpayer.objects.get().pk == person.pk and Taxpayer.objects.get().address.endswith("9-9-9")
    longer = run(
        write_csv(
            TAXPAYER_HEADER, [OLD_ROW.replace("1001,", "000000000000123,", 1).replace("1-2-3", "9-9-9")]
        )
    )
    assert (longer["created"], longer["updated"], longer["unchanged"]) == (0, 0, 1)


def test_a_number_that_does_not_fit_the_width_is_refused_and_two_spellings_are_one_number(
    municipality: Any, write_csv: Callable
) -> None:
    taxpayer_no_width_set(actor=None, municipality=municipality, width=4)
    errors = refused(write_csv(TAXPAYER_HEADER, [OLD_ROW, OLD_ROW.replace("1001,", "12345,", 1)]))
    assert errors == [(3, "taxpayer_no", "宛名番号がこの団体の桁数（4桁）に収まりません")]
    twice = refused(
        write_csv(TAXPAYER_HEADER, [OLD_ROW.replace("1001,", "12,", 1), OLD_ROW.replace("1001,", "0012,", 1)])
    )
    assert twice == [(3, "taxpayer_no", "宛名番号が2行目と重複しています")]


def test_setting_the_width_zero_fills_the_numbers_held_and_the_search_finds_either_spelling(
    sample_city: Any, make_user: Callable
) -> None:
    chief = make_user("chief", role=Role.CHIEF, municipality=sample_city)
    assert taxpayer_no_width_set(actor=chief, municipality=sample_city, width=8) == 3
    assert sorted(Taxpayer.objects.values_list("taxpayer_no", flat=True)) == [
        "00001001",
        "00001002",
        "00002001",
    ]
    log = AuditLog.objects.get(function="団体設定の変更")
    assert log.detail["after"] == {"taxpayer_no_width": 8} and log.detail["zero_filled"] == 3
    for typed in ("1001", "00001001", "0000000000001001", "１００１"):
        found = taxpayer_search(user=chief, query=SearchQuery(taxpayer_no=typed))
        assert [t.name for t in found.taxpayers] == ["川口 太郎"], typed
    assert not taxpayer_search(user=chief, query=SearchQuery(taxpayer_no="1000001001")).taxpayers


def test_a_width_the_numbers_held_do_not_fit_is_refused_and_changes_nothing(
    sample_city: Any, write_csv: Callable
) -> None:
    with pytest.raises(ValidationError, match="3桁に収まらない宛名番号"):
        taxpayer_no_width_set(actor=None, municipality=sample_city, width=3)
    taxpayers_import(
        municipality=sample_city, path=write_csv(TAXPAYER_HEADER, [OLD_ROW.replace("1001,", "01001,", 1)])
    )
    with pytest.raises(ValidationError, match="01001 と 1001"):
        taxpayer_no_width_set(actor=None, municipality=sample_city, width=6)
    sample_city.refresh_from_db()
    assert sample_city.taxpayer_no_width is None
    assert sorted(Taxpayer.objects.values_list("taxpayer_no", flat=True)) == ["01001", "1001", "1002", "2001"]


def test_the_municipality_settings_command_sets_and_clears_the_width(sample_city: Any) -> None:
    out = StringIO()
    call_command("municipality_settings", "--taxpayer-no-width", "6", "--json", stdout=out)
    assert json.loads(out.getvalue()) == {"taxpayer_no_width": 6, "zero_filled": 3}
    sample_city.refresh_from_db()
    assert sample_city.taxpayer_no_width == 6
    with pytest.raises(CommandError) as caught:
        call_command("municipality_settings", "--taxpayer-no-width", "2", stdout=StringIO())
    assert caught.value.returncode == 2
    call_command("municipality_settings", "--taxpayer-no-width", "none", stdout=StringIO())
    sample_city.refresh_from_db()
    assert sample_city.taxpayer_no_width is None
    assert Taxpayer.objects.filter(taxpayer_no="001001").exists()  # numbers stay as they were filled


def test_a_file_refused_for_its_width_is_reported_like_any_bad_file(
    municipality: Any, write_csv: Callable
) -> None:
    taxpayer_no_width_set(actor=None, municipality=municipality, width=2)
    with pytest.raises(FileRefused):
        taxpayers_import(municipality=municipality, path=write_csv(STANDARD_HEADER, [PROTECTED]))


def test_the_commands_taking_a_taxpayer_number_find_it_with_or_without_leading_zeros(
    sample_city: Any,
) -> None:
    taxpayer_no_width_set(actor=None, municipality=sample_city, width=8)
    for typed in ("1001", "00001001"):
        out = StringIO()
        call_command("balances", "--taxpayer", typed, "--as-of", "2024-06-01", "--json", stdout=out)
        assert json.loads(out.getvalue())["taxpayer"] == "00001001"
