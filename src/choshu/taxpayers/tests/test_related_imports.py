"""The six related-record imports (docs/formats.md §7–§12): commands, refusals with line and column,
idempotency, revisions, ending a record, source stamps and the database checks."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, time
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from choshu.audit.models import AuditKind, AuditLog
from choshu.core.models import Job
from choshu.taxpayers.models import (
    CoOwner,
    Heir,
    MailingAddress,
    Representative,
    SpecialCollectionEmployee,
    SpecialCollector,
    Taxpayer,
)
from choshu.taxpayers.tests.related_data import (
    CO_OWNER_HEADER,
    HEIR_HEADER,
    MAILING_HEADER,
    REPRESENTATIVE_HEADER,
    SPECIAL_COLLECTOR_HEADER,
    SPECIAL_EMPLOYEE_HEADER,
    related_people,
)

MAIL_1001_04 = "1001,04,,,,3320011,埼玉県川口市元郷1-1-1,元郷ハイツ201,01,入院中,,2024-01-01,,,0,OP01,2024-01-05,10:15:00"


def run(command: str, path: Path) -> dict[str, Any]:
    out = StringIO()
    call_command(command, str(path), "--json", stdout=out)
    return dict(json.loads(out.getvalue().strip().splitlines()[-1]))


def refused(command: str, path: Path) -> list[dict[str, Any]]:
    out = StringIO()
    with pytest.raises(CommandError) as exc:
        call_command(command, str(path), "--json", stdout=out)
    assert exc.value.returncode == 2
    payload = json.loads(out.getvalue().strip().splitlines()[-1])
    assert payload["refused"] is True
    return [{k: e[k] for k in ("line", "column", "reason")} for e in payload["errors"]]


def tp(municipality: Any, no: str) -> Taxpayer:
    return Taxpayer.objects.get(municipality=municipality, taxpayer_no=no)


@pytest.fixture
def people(sample_city: Any, write_csv: Callable[..., Path]) -> Any:
    return related_people(sample_city, write_csv)


# --- loading, summaries, stamps ----------------------------------------------------------------------


def test_a_mailing_address_file_creates_a_current_first_revision_with_the_source_stamps(
    people: Any, write_csv: Callable[..., Path]
) -> None:
    summary = run("import_mailing_addresses", write_csv(MAILING_HEADER, [MAIL_1001_04]))
    assert {k: v for k, v in summary.items() if k != "job_id"} == {
        "rows": 1, "created": 1, "updated": 0, "unchanged": 0, "ended": 0, "already_imported": False,
    }  # fmt: skip
    row = MailingAddress.objects.get()
    assert (row.taxpayer, row.tax_item, row.postal_code, row.address, row.address_extra) == (
        tp(people, "1001"), "04", "3320011", "埼玉県川口市元郷1-1-1", "元郷ハイツ201",
    )  # fmt: skip
    assert (row.revision, row.is_current, row.job_id, row.reason) == (
        1,
        True,
        summary["job_id"],
        "送付先取込（新規）",
    )
    assert (row.source_operator, row.source_operated_on, row.source_operated_time) == (
        "OP01", date(2024, 1, 5), time(10, 15),
    )  # fmt: skip
    assert (row.valid_from, row.valid_until, row.set_reason, row.kind) == (
        date(2024, 1, 1),
        None,
        "入院中",
        "01",
    )
    audit = AuditLog.objects.get(kind=AuditKind.BATCH, function="送付先取込")
    assert audit.job_id == summary["job_id"] and audit.detail["created"] == 1


def test_every_layout_loads_with_its_command(related_city: Any) -> None:
    assert Representative.objects.get().role == "tax_manager"  # 肩書 09
    assert CoOwner.objects.filter(is_current=True, is_representative=True).get().member.taxpayer_no == "1001"
    assert Heir.objects.filter(is_representative=True).get().heir.taxpayer_no == "1002"
    collector = SpecialCollector.objects.get()
    assert (collector.designation_no, collector.due_date_special, collector.taxpayer.taxpayer_no) == (
        "00012345", True, "2002",
    )  # fmt: skip
    employee = SpecialCollectionEmployee.objects.get()
    assert (employee.collector, employee.employee.taxpayer_no, employee.annual_amount, employee.start_month) == (
        collector, "1001", 120000, "2024-06",
    )  # fmt: skip
    kinds = set(Job.objects.filter(status=Job.Status.SUCCEEDED).values_list("kind", flat=True))
    assert {"import-mailing-addresses", "import-representatives", "import-co-owners", "import-heirs",
            "import-special-collectors", "import-special-employees"} <= kinds  # fmt: skip


def test_the_same_file_twice_changes_nothing_and_says_it_was_imported(
    people: Any, write_csv: Callable[..., Path]
) -> None:
    path = write_csv(MAILING_HEADER, [MAIL_1001_04])
    run("import_mailing_addresses", path)
    again = run("import_mailing_addresses", path)
    assert (again["already_imported"], again["created"], again["updated"], again["unchanged"]) == (
        True,
        0,
        0,
        1,
    )
    assert MailingAddress.objects.count() == 1


def test_another_file_with_the_same_content_in_cp932_changes_nothing(
    people: Any, write_csv: Callable[..., Path]
) -> None:
    rows = ["3001,2024,A1,1,1001,1,1,2,0,,,", "3001,2024,A1,2,1002,0,1,2,0,,,"]
    run("import_co_owners", write_csv(CO_OWNER_HEADER, rows))
    again = run("import_co_owners", write_csv(CO_OWNER_HEADER, rows[::-1], encoding="cp932"))
    assert (again["already_imported"], again["unchanged"], again["created"], again["updated"]) == (
        False,
        2,
        0,
        0,
    )
    assert CoOwner.objects.count() == 2


def test_a_changed_record_is_a_new_revision_and_the_old_one_is_kept(
    people: Any, write_csv: Callable[..., Path]
) -> None:
    run("import_mailing_addresses", write_csv(MAILING_HEADER, [MAIL_1001_04]))
    moved = MAIL_1001_04.replace("元郷1-1-1", "元郷2-2-2").replace("OP01,2024-01-05", "OP02,2024-02-01")
    summary = run("import_mailing_addresses", write_csv(MAILING_HEADER, [moved]))
    assert (summary["updated"], summary["created"]) == (1, 0)
    old, new = MailingAddress.objects.order_by("revision")
    assert (old.revision, old.is_current, old.address) == (1, False, "埼玉県川口市元郷1-1-1")
    assert (new.revision, new.is_current, new.address, new.source_operator) == (
        2,
        True,
        "埼玉県川口市元郷2-2-2",
        "OP02",
    )
    assert (new.job_id, new.reason) == (summary["job_id"], "送付先取込（異動）")


def test_only_new_source_stamps_are_not_a_change(people: Any, write_csv: Callable[..., Path]) -> None:
    run("import_mailing_addresses", write_csv(MAILING_HEADER, [MAIL_1001_04]))
    restamped = MAIL_1001_04.replace("OP01,2024-01-05", "OP09,2024-03-01")
    assert run("import_mailing_addresses", write_csv(MAILING_HEADER, [restamped]))["unchanged"] == 1
    assert MailingAddress.objects.get().source_operator == "OP01"


def test_delete_flag_ends_the_record_with_a_closing_revision_and_a_second_time_changes_nothing(
    people: Any, write_csv: Callable[..., Path]
) -> None:
    run("import_mailing_addresses", write_csv(MAILING_HEADER, [MAIL_1001_04]))
    ending = "1001,04,,,,,,,,,,,,,1,OP03,2024-04-01,090000"
    summary = run("import_mailing_addresses", write_csv(MAILING_HEADER, [ending]))
    assert (summary["ended"], summary["unchanged"]) == (1, 0)
    old, closing = MailingAddress.objects.order_by("revision")
    assert not old.is_current and not closing.is_current
    assert (closing.revision, closing.address, closing.reason, closing.source_operator) == (
        2, "埼玉県川口市元郷1-1-1", "送付先取込（終了）", "OP03",
    )  # fmt: skip
    assert closing.source_operated_time == time(9, 0)
    again = run("import_mailing_addresses", write_csv(MAILING_HEADER, [ending, "1002,00,,,,,,,,,,,,,1,,,"]))
    assert (again["ended"], again["unchanged"]) == (0, 2)
    back = run("import_mailing_addresses", write_csv(MAILING_HEADER, [MAIL_1001_04]))
    assert back["created"] == 1
    assert MailingAddress.objects.get(is_current=True).revision == 3


def test_a_special_collector_keeps_one_current_row_and_its_employees_follow_the_designation_no(
    related_city: Any, write_csv: Callable[..., Path]
) -> None:
    renamed = "00012345,2002,鋳物工業株式会社 川口工場,0,総務 花子,048-333-4445,0,,,"
    assert run("import_special_collectors", write_csv(SPECIAL_COLLECTOR_HEADER, [renamed]))["updated"] == 1
    current = SpecialCollector.objects.get(is_current=True)
    assert (current.revision, current.name, current.due_date_special) == (
        2,
        "鋳物工業株式会社 川口工場",
        False,
    )
    # the employee's row still points at revision 1; the same row again is unchanged, a new amount a revision
    same = run(
        "import_special_employees",
        write_csv(SPECIAL_EMPLOYEE_HEADER, ["00012345,1001,2024,120000,2024-06,,0,,,"]),
    )
    assert same["unchanged"] == 1
    raised = run(
        "import_special_employees",
        write_csv(SPECIAL_EMPLOYEE_HEADER, ["00012345,1001,2024,132000,2024-06,,0,,,"]),
    )
    assert raised["updated"] == 1
    employee = SpecialCollectionEmployee.objects.get(is_current=True)
    assert (employee.collector, employee.annual_amount, employee.revision) == (current, 132000, 2)


def test_a_taxpayer_no_is_matched_with_or_without_leading_zeros_where_the_width_is_fixed(
    people: Any, write_csv: Callable[..., Path]
) -> None:
    people.taxpayer_no_width = 4
    people.save()
    run(
        "import_mailing_addresses",
        write_csv(MAILING_HEADER, [MAIL_1001_04.replace("1001,", "000001001,", 1)]),
    )
    assert MailingAddress.objects.get().taxpayer.taxpayer_no == "1001"
    errors = refused(
        "import_mailing_addresses", write_csv(MAILING_HEADER, [MAIL_1001_04.replace("1001,", "11001,", 1)])
    )
    assert errors == [
        {"line": 2, "column": "taxpayer_no", "reason": "宛名番号が団体の宛名番号の桁数（4桁）を超えています"}
    ]


# --- refusals --------------------------------------------------------------------------------------


def test_a_refused_file_writes_nothing_and_records_a_refused_job(
    people: Any, write_csv: Callable[..., Path]
) -> None:
    rows = [MAIL_1001_04, "9999,00,,,,,埼玉県川口市1,,,,,,,,0,,,"]
    errors = refused("import_mailing_addresses", write_csv(MAILING_HEADER, rows))
    assert errors == [
        {
            "line": 3,
            "column": "taxpayer_no",
            "reason": "宛名番号が登録されていません（先に宛名を取り込んでください）",
        }
    ]
    assert not MailingAddress.objects.exists()
    job = Job.objects.get(kind="import-mailing-addresses")
    assert job.status == Job.Status.REFUSED and job.errors[0]["line"] == 3


def test_an_unknown_tax_item_code_and_a_key_twice_are_refused_with_line_and_column(
    people: Any, write_csv: Callable[..., Path]
) -> None:
    rows = [MAIL_1001_04, MAIL_1001_04.replace(",04,", ",99,"), MAIL_1001_04]
    errors = refused("import_mailing_addresses", write_csv(MAILING_HEADER, rows))
    assert errors == [
        {"line": 3, "column": "tax_item", "reason": "業務詳細（科目）コードが税目マスタにありません（00 = 全税目）"},
        {"line": 4, "column": "taxpayer_no",
         "reason": "同じ宛名番号・業務詳細（科目）コード・軽自管理番号の送付先が2行目にもあります"},
    ]  # fmt: skip


def test_representatives_refuse_an_unknown_agent_and_an_unknown_role(
    people: Any, write_csv: Callable[..., Path]
) -> None:
    rows = ["1001,4001,00,boss,2024-01-01,,,,0,,,", "1001,8888,00,agent,2024-01-01,,,,0,,,"]
    errors = refused("import_representatives", write_csv(REPRESENTATIVE_HEADER, rows))
    assert [(e["line"], e["column"]) for e in errors] == [(2, "role"), (3, "agent_taxpayer_no")]
    assert "09 = 納税管理人" in errors[0]["reason"]


def test_co_owners_must_belong_to_a_co_ownership_and_members_must_be_persons(
    people: Any, write_csv: Callable[..., Path]
) -> None:
    rows = ["1001,2024,,1,1002,1,,,0,,,", "3001,2024,,1,3001,1,,,0,,,"]
    errors = refused("import_co_owners", write_csv(CO_OWNER_HEADER, rows))
    assert errors == [
        {
            "line": 2,
            "column": "ownership_taxpayer_no",
            "reason": "この宛名は共有（区分 co_ownership）ではありません",
        },
        {"line": 3, "column": "member_taxpayer_no", "reason": "共有の宛名を自分の構成員にはできません"},
    ]


@pytest.mark.parametrize(
    ("rows", "count"),
    [
        (["3001,2024,,1,1001,1,,,0,,,", "3001,2024,,2,1002,1,,,0,,,"], 2),
        (["3001,2024,,1,1001,0,,,0,,,", "3001,2024,,2,1002,0,,,0,,,"], 0),
    ],
)
def test_a_co_ownership_has_exactly_one_representative_per_year(
    people: Any, write_csv: Callable[..., Path], rows: list[str], count: int
) -> None:
    errors = refused("import_co_owners", write_csv(CO_OWNER_HEADER, rows))
    assert errors == [
        {
            "line": 2,
            "column": "is_representative",
            "reason": f"代表者は共有・課税年度ごとに1人です（取込後の代表者: {count}人）",
        }
    ]


def test_the_one_representative_rule_counts_the_records_already_loaded(
    related_city: Any, write_csv: Callable[..., Path]
) -> None:
    # 1001 is the representative of 3001 for 2024: a third member as representative makes two
    second = ["3001,2024,A1,3,4001,1,,,0,,,"]
    errors = refused("import_co_owners", write_csv(CO_OWNER_HEADER, second))
    assert errors[0]["reason"] == "代表者は共有・課税年度ごとに1人です（取込後の代表者: 2人）"
    # handing the role over in one file is fine, and so is ending the representative with the others
    handover = ["3001,2024,A1,1,1001,0,1,2,0,,,", "3001,2024,A1,2,1002,1,1,2,0,,,"]
    assert run("import_co_owners", write_csv(CO_OWNER_HEADER, handover))["updated"] == 2
    ending_all = ["3001,2024,A1,1,1001,,,,1,,,", "3001,2024,A1,2,1002,,,,1,,,"]
    assert run("import_co_owners", write_csv(CO_OWNER_HEADER, ending_all))["ended"] == 2
    assert not CoOwner.objects.filter(is_current=True).exists()


def test_heirs_need_a_deceased_taxpayer_and_one_representative(
    people: Any, write_csv: Callable[..., Path]
) -> None:
    errors = refused("import_heirs", write_csv(HEIR_HEADER, ["1001,1,1002,1,,,,0,,,"]))
    assert errors == [
        {"line": 2, "column": "deceased_taxpayer_no",
         "reason": "被相続人の宛名に死亡日が登録されていません（先に宛名の死亡日を取り込んでください）"},
    ]  # fmt: skip
    errors = refused(
        "import_heirs", write_csv(HEIR_HEADER, ["1003,1,1001,0,,,,0,,,", "1003,2,1002,0,,,,0,,,"])
    )
    assert errors[0]["reason"] == "代表者は被相続人ごとに1人です（取込後の代表者: 0人）"


def test_special_employees_need_a_registered_designation_no(
    people: Any, write_csv: Callable[..., Path]
) -> None:
    errors = refused(
        "import_special_employees", write_csv(SPECIAL_EMPLOYEE_HEADER, ["77777777,1001,2024,1000,,,0,,,"])
    )
    assert errors == [
        {"line": 2, "column": "designation_no",
         "reason": "特別徴収義務者指定番号が登録されていません（先に特別徴収義務者を取り込んでください）"},
    ]  # fmt: skip


def test_a_wrong_header_is_refused_on_line_one(people: Any, write_csv: Callable[..., Path]) -> None:
    errors = refused("import_heirs", write_csv(HEIR_HEADER.replace("seq", "no"), ["1003,1,1001,1,,,,0,,,"]))
    assert errors[0]["line"] == 1 and "見出し行が仕様と一致しません" in errors[0]["reason"]
