"""``choshu import-levies`` with the standard's layout (issue 12 §1, §2, §6, §7): the levy key of the
standard, tax items from the municipality's table, the breakdown, 特別徴収義務者, the 期別マスタ, a
fixed-width 宛名番号, the three dates and the 延滞金's base date, the source system's stamps."""

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
from django.utils import timezone

from choshu.formats.levies_csv import HEADER
from choshu.levies.models import (
    Installment,
    InstallmentBreakdown,
    InstallmentCalendar,
    LedgerEntry,
    LedgerTransaction,
    Levy,
    TaxItem,
    TxnKind,
)
from choshu.taxpayers.models import SpecialCollector, Taxpayer

NEW_HEADER = ",".join(HEADER)

BASE = {
    "tax_item": "01", "levy_year": "2025", "relevant_year": "", "notice_no": "700001", "taxpayer_no": "1001",
    "special_collector_no": "", "filing_type": "", "filing_history_no": "", "business_year_no": "",
    "business_year_start": "", "business_year_end": "", "installment_no": "1", "statutory_due_date": "",
    "due_date": "2025-06-30", "designated_due_date": "", "due_date_special": "", "principal": "10000",
    "breakdown_1": "", "breakdown_2": "", "breakdown_3": "", "slip_no": "", "operator_id": "",
    "operated_on": "", "operated_time": "",
}  # fmt: skip


def row(**values: str) -> str:
    unknown = set(values) - set(BASE)
    assert not unknown, unknown
    return ",".join((BASE | values)[h] for h in HEADER)


def cmd(name: str, *args: str) -> dict[str, Any]:
    out = StringIO()
    call_command(name, *args, stdout=out)
    return json.loads(out.getvalue().strip().splitlines()[-1])


def state() -> list[Any]:
    return [
        list(Levy.objects.order_by("pk").values()),
        list(Installment.objects.order_by("pk").values()),
        list(InstallmentBreakdown.objects.order_by("pk").values()),
        list(LedgerEntry.objects.order_by("pk").values()),
    ]


@pytest.fixture
def load(write_csv: Callable[..., Path]) -> Callable[..., dict[str, Any]]:
    def run(*rows: str, booking_date: str = "2025-04-01") -> dict[str, Any]:
        return cmd(
            "import_levies", str(write_csv(NEW_HEADER, list(rows))), "--booking-date", booking_date, "--json"
        )

    return run


@pytest.fixture
def refused(write_csv: Callable[..., Path]) -> Callable[..., list[tuple[int, str]]]:
    """The (line, column) of every error of a refused file; asserts exit 2 and that nothing changed."""

    def run(*rows: str) -> list[tuple[int, str]]:
        before = state()
        out = StringIO()
        with pytest.raises(CommandError) as exc:
            call_command("import_levies", str(write_csv(NEW_HEADER, list(rows))), "--json", stdout=out)
        assert exc.value.returncode == 2
        assert state() == before
        errors = json.loads(out.getvalue().strip().splitlines()[-1])["errors"]
        assert all(e["reason"] for e in errors)
        return [(e["line"], e["column"]) for e in errors]

    return run


def breakdown_of(inst: Installment) -> list[tuple[int, str, int, int]]:
    return list(
        InstallmentBreakdown.objects.filter(installment=inst)
        .order_by("seq")
        .values_list("seq", "code", "levied", "paid")
    )


# -- the levy key, the dates, the stamps ----------------------------------------------------------------


def test_every_column_of_the_standard_layout_is_stored(sample_city: Any, load: Callable) -> None:
    summary = load(
        row(tax_item="03", levy_year="2025", relevant_year="2024", notice_no="300009", taxpayer_no="2001",
            filing_type="1", filing_history_no="2", business_year_no="3", business_year_start="2024-04-01",
            business_year_end="2025-03-31", statutory_due_date="2025-05-31", due_date="2025-06-20",
            designated_due_date="2025-07-10", principal="130000", breakdown_1="50000", breakdown_2="80000",
            operator_id="OP42", operated_on="2025-06-01", operated_time="13:45:10")
    )  # fmt: skip
    assert (summary["created"], summary["levies_created"]) == (1, 1)
    levy = Levy.objects.get(notice_no="300009")
    assert (levy.relevant_year, levy.filing_type, levy.filing_history_no, levy.business_year_no) == (
        2024,
        "1",
        2,
        3,
    )
    assert (levy.business_year_start, levy.business_year_end) == (date(2024, 4, 1), date(2025, 3, 31))
    assert (levy.source_operator, levy.source_operated_on, levy.source_operated_time) == (
        "OP42",
        date(2025, 6, 1),
        time(13, 45, 10),
    )
    inst = levy.installments.get()
    assert (inst.statutory_due_date, inst.due_date, inst.designated_due_date) == (
        date(2025, 5, 31),
        date(2025, 6, 20),
        date(2025, 7, 10),
    )
    # 法人住民税 is 申告納付: the 延滞金 runs from the day after the 法定納期限 (law.md §a7).
    assert inst.late_charge_base_date == date(2025, 5, 31)
    assert (inst.source_operator, inst.source_operated_on, inst.source_operated_time) == (
        "OP42",
        date(2025, 6, 1),
        time(13, 45, 10),
    )


def test_a_notice_item_runs_its_late_charge_from_its_due_date_whatever_its_statutory_one(
    sample_city: Any, load: Callable
) -> None:
    load(row(statutory_due_date="2025-04-30", due_date="2025-06-30"))
    inst = Installment.objects.get(levy__notice_no="700001")
    assert (inst.statutory_due_date, inst.late_charge_base_date) == (date(2025, 4, 30), date(2025, 6, 30))


def test_levies_differing_only_in_a_key_of_the_standard_are_distinct(
    sample_city: Any, load: Callable
) -> None:
    summary = load(
        row(tax_item="03", notice_no="300009", taxpayer_no="2001", breakdown_1="5000", breakdown_2="5000"),
        row(tax_item="03", notice_no="300009", taxpayer_no="2001", relevant_year="2024", breakdown_1="5000",
            breakdown_2="5000"),
        row(tax_item="03", notice_no="300009", taxpayer_no="2001", filing_history_no="1", breakdown_1="5000",
            breakdown_2="5000"),
        row(tax_item="03", notice_no="300009", taxpayer_no="2001", business_year_no="7", breakdown_1="5000",
            breakdown_2="5000"),
    )  # fmt: skip
    assert (summary["created"], summary["levies_created"]) == (4, 4)
    keys = set(
        Levy.objects.filter(notice_no="300009").values_list(
            "relevant_year", "filing_history_no", "business_year_no"
        )
    )
    assert keys == {(2025, 0, 0), (2024, 0, 0), (2025, 1, 0), (2025, 0, 7)}


def test_the_same_installment_of_the_same_standard_key_twice_is_refused(
    sample_city: Any, refused: Callable
) -> None:
    assert refused(row(relevant_year="2024"), row(relevant_year="2024", principal="1")) == [
        (3, "installment_no")
    ]


def test_a_notice_belongs_to_one_taxpayer_whatever_the_rest_of_its_key(
    sample_city: Any, refused: Callable
) -> None:
    # In the file: the same 通知書番号 under another 相当年度 for someone else.
    assert refused(row(), row(relevant_year="2024", taxpayer_no="1002")) == [(3, "taxpayer_no")]
    # Against the database: 100001 of 2024 is 1001's (sample city).
    assert refused(row(levy_year="2024", relevant_year="2023", notice_no="100001", taxpayer_no="1002")) == [
        (2, "taxpayer_no")
    ]


def test_the_same_file_twice_changes_nothing(sample_city: Any, load: Callable) -> None:
    rows = (
        row(tax_item="04", notice_no="400009", principal="30000", breakdown_1="25000", breakdown_2="5000",
            operator_id="OP1", operated_on="2025-04-01", operated_time="08:00:00"),
        row(installment_no="2", due_date="2025-08-31", statutory_due_date="2025-08-31", slip_no=""),
    )  # fmt: skip
    first = load(*rows)
    assert first["created"] == 2
    before = state()
    again = load(*rows)
    assert (again["created"], again["updated"], again["corrections"], again["unchanged"]) == (0, 0, 0, 2)
    assert (again["levies_created"], again["levies_updated"]) == (0, 0)
    assert state() == before


def test_changed_dates_and_stamps_update_the_installment_and_the_levy(
    sample_city: Any, load: Callable
) -> None:
    load(row(tax_item="03", notice_no="300009", taxpayer_no="2001", breakdown_1="5000", breakdown_2="5000",
             filing_type="1", operator_id="A"))  # fmt: skip
    summary = load(
        row(tax_item="03", notice_no="300009", taxpayer_no="2001", breakdown_1="5000", breakdown_2="5000",
            filing_type="2", statutory_due_date="2025-05-31", operator_id="B", operated_on="2025-07-01")
    )  # fmt: skip
    assert (summary["updated"], summary["levies_updated"], summary["corrections"]) == (1, 1, 0)
    levy = Levy.objects.get(notice_no="300009")
    assert (levy.filing_type, levy.source_operator, levy.source_operated_on) == ("2", "B", date(2025, 7, 1))
    inst = levy.installments.get()
    assert (inst.statutory_due_date, inst.late_charge_base_date, inst.source_operator) == (
        date(2025, 5, 31),
        date(2025, 5, 31),
        "B",
    )


# -- tax items as data ------------------------------------------------------------------------------


def test_a_tax_item_is_checked_against_the_municipalitys_table(
    sample_city: Any, load: Callable, refused: Callable
) -> None:
    # 07 国民健康保険税 is an item of every municipality (with its three components).
    assert (
        load(row(tax_item="07", breakdown_1="6000", breakdown_2="3000", breakdown_3="1000"))["created"] == 1
    )
    assert refused(row(tax_item="99"), row(tax_item="A1", installment_no="2")) == [
        (2, "tax_item"),
        (3, "tax_item"),
    ]
    TaxItem.objects.filter(municipality=sample_city, code="05").update(is_active=False)
    assert refused(row(tax_item="05")) == [(2, "tax_item")]
    # A city's own item, added as data, is accepted.
    TaxItem.objects.create(
        municipality=sample_city, code="A1", name="保育料", short_name="保育料", assessment="notice"
    )
    assert load(row(tax_item="A1", notice_no="900001"))["created"] == 1


def test_the_old_layout_refuses_an_item_the_municipality_does_not_have(
    sample_city: Any, write_csv: Callable
) -> None:
    from conftest import LEVY_HEADER

    TaxItem.objects.filter(municipality=sample_city, code="06").update(is_active=False)
    out = StringIO()
    with pytest.raises(CommandError):
        call_command("import_levies", str(write_csv(LEVY_HEADER, ["06,2024,600001,2001,1,2024-05-31,500000,"])),
                     "--json", stdout=out)  # fmt: skip
    (error,) = json.loads(out.getvalue().strip().splitlines()[-1])["errors"]
    assert (error["line"], error["column"]) == (2, "tax_item")


# -- the breakdown ----------------------------------------------------------------------------------


def test_new_installments_of_an_item_with_a_breakdown_get_its_rows(sample_city: Any, load: Callable) -> None:
    load(row(tax_item="04", notice_no="400009", principal="30000", breakdown_1="25000", breakdown_2="5000"))
    inst = Installment.objects.get(levy__notice_no="400009")
    assert breakdown_of(inst) == [(1, "fixed_asset", 25000, 0), (2, "city_planning", 5000, 0)]
    # An item without a breakdown has no rows.
    load(row(notice_no="700009"))
    assert breakdown_of(Installment.objects.get(levy__notice_no="700009")) == []


def test_the_old_layout_puts_the_whole_principal_on_the_main_component(sample_city: Any) -> None:
    inst = Installment.objects.get(levy__notice_no="400001")  # 04, imported in the old layout
    assert breakdown_of(inst) == [(1, "fixed_asset", 12000, 0), (2, "city_planning", 0, 0)]
    corp = Installment.objects.get(levy__notice_no="300001")  # 03
    assert breakdown_of(corp) == [(1, "per_capita", 70000, 0), (2, "corporate_tax", 0, 0)]


def test_a_correction_updates_the_breakdown_before_the_ledger_posts_it(
    sample_city: Any, load: Callable
) -> None:
    load(row(tax_item="04", notice_no="400009", principal="30000", breakdown_1="25000", breakdown_2="5000"))
    summary = load(
        row(tax_item="04", notice_no="400009", principal="24000", breakdown_1="20000", breakdown_2="4000")
    )
    assert summary["corrections"] == 1 and summary["amount_corrected"] == -6000
    inst = Installment.objects.get(levy__notice_no="400009")
    assert inst.principal_levied == 24000
    assert breakdown_of(inst) == [(1, "fixed_asset", 20000, 0), (2, "city_planning", 4000, 0)]
    assert LedgerTransaction.objects.filter(kind=TxnKind.CORRECTION).count() == 1
    # The same principal split another way: the breakdown alone changes (updated, no ledger posting).
    summary = load(
        row(tax_item="04", notice_no="400009", principal="24000", breakdown_1="21000", breakdown_2="3000")
    )
    assert (summary["updated"], summary["corrections"]) == (1, 0)
    assert breakdown_of(inst) == [(1, "fixed_asset", 21000, 0), (2, "city_planning", 3000, 0)]
    assert LedgerTransaction.objects.filter(kind=TxnKind.CORRECTION).count() == 1


def test_an_old_layout_correction_moves_the_whole_principal_to_the_main_component(
    sample_city: Any, write_csv: Callable
) -> None:
    from conftest import LEVY_HEADER

    cmd("import_levies", str(write_csv(LEVY_HEADER, ["04,2024,400001,1001,1,2024-04-30,15000,"])), "--json")
    inst = Installment.objects.get(levy__notice_no="400001")
    assert breakdown_of(inst) == [(1, "fixed_asset", 15000, 0), (2, "city_planning", 0, 0)]


BREAKDOWN_BAD = [
    # 04 has two components: both amounts are required, a third is not allowed, they sum to the principal
    ({"tax_item": "04", "breakdown_1": "10000"}, [(2, "breakdown_2")]),
    ({"tax_item": "04", "breakdown_2": "10000"}, [(2, "breakdown_1")]),
    ({"tax_item": "04", "breakdown_1": "5000", "breakdown_2": "4000"}, [(2, "principal")]),
    (
        {"tax_item": "04", "breakdown_1": "5000", "breakdown_2": "5000", "breakdown_3": "0"},
        [(2, "breakdown_3")],
    ),
    # 07 has three
    ({"tax_item": "07", "breakdown_1": "5000", "breakdown_2": "5000"}, [(2, "breakdown_3")]),
    # 01 has none: the columns stay empty
    ({"breakdown_1": "10000"}, [(2, "breakdown_1")]),
]


@pytest.mark.parametrize(("values", "errors"), BREAKDOWN_BAD)
def test_a_breakdown_that_does_not_fit_the_item_is_refused(
    sample_city: Any, refused: Callable, values: dict[str, str], errors: list[tuple[int, str]]
) -> None:
    assert refused(row(**values)) == errors


def test_an_item_with_more_components_than_the_layout_has_columns_is_refused(
    sample_city: Any, refused: Callable
) -> None:
    from choshu.levies.models import TaxItemBreakdown

    nhi = TaxItem.objects.get(municipality=sample_city, code="07")
    TaxItemBreakdown.objects.create(tax_item=nhi, seq=4, code="other", name="その他")
    assert refused(row(tax_item="07", breakdown_1="1", breakdown_2="1", breakdown_3="1")) == [(2, "tax_item")]


# -- 特別徴収義務者 ---------------------------------------------------------------------------------------


@pytest.fixture
def collector(sample_city: Any) -> SpecialCollector:
    return SpecialCollector.objects.create(
        municipality=sample_city,
        taxpayer=Taxpayer.objects.get(municipality=sample_city, taxpayer_no="2001"),
        designation_no="88001",
        name="株式会社キューポラ",
        changed_at=timezone.now(),
    )


def test_a_special_collection_levy_belongs_to_its_collector(
    collector: SpecialCollector, load: Callable
) -> None:
    rows = [
        row(tax_item="02", notice_no="200001", taxpayer_no="2001", special_collector_no="88001",
            installment_no=str(n), due_date=f"2025-{5 + n:02d}-10")
        for n in range(1, 8)
    ]  # fmt: skip
    assert load(*rows)["created"] == 7
    levy = Levy.objects.get(notice_no="200001")
    assert (levy.special_collector_id, levy.special_collector_no, levy.taxpayer.taxpayer_no) == (
        collector.pk,
        "88001",
        "2001",
    )


def test_special_collector_rules(collector: SpecialCollector, refused: Callable) -> None:
    # unknown 指定番号; the employee's 宛名番号 instead of the 義務者's; item 02 without a 指定番号
    assert refused(
        row(tax_item="02", notice_no="200001", taxpayer_no="2001", special_collector_no="99999"),
        row(tax_item="02", notice_no="200002", taxpayer_no="1001", special_collector_no="88001"),
        row(tax_item="02", notice_no="200003", taxpayer_no="2001"),
    ) == [(2, "special_collector_no"), (3, "taxpayer_no"), (4, "special_collector_no")]
    # A collector that is no longer current is not one.
    SpecialCollector.objects.filter(pk=collector.pk).update(is_current=False)
    assert refused(
        row(tax_item="02", notice_no="200001", taxpayer_no="2001", special_collector_no="88001")
    ) == [(2, "special_collector_no")]


# -- 期別マスタ and the fixed-width 宛名番号 ----------------------------------------------------------------


def test_where_the_calendar_has_the_items_year_the_installment_must_be_one_of_it(
    sample_city: Any, load: Callable, refused: Callable
) -> None:
    for no in (1, 2, 3, 4):
        InstallmentCalendar.objects.create(municipality=sample_city, tax_item="01", levy_year=2025, installment_no=no,
                                           label=f"第{no}期", year_month="2025-06")  # fmt: skip
    assert refused(row(installment_no="4"), row(installment_no="5")) == [(3, "installment_no")]
    # another year, another item: no calendar, any 期別
    assert load(row(installment_no="4"), row(levy_year="2026", installment_no="9"),
                row(tax_item="05", notice_no="500009", installment_no="9"))["created"] == 3  # fmt: skip


def test_a_fixed_width_taxpayer_number_matches_with_or_without_its_leading_zeros(
    municipality: Any, write_csv: Callable, load: Callable, refused: Callable
) -> None:
    from conftest import TAXPAYER_HEADER

    from choshu.taxpayers.services import taxpayers_import

    taxpayers_import(
        municipality=municipality,
        path=write_csv(
            TAXPAYER_HEADER, ["00001001,individual,川口 太郎,,1970-04-01,1,3330801,川口市,,,,,1,"]
        ),
    )
    municipality.taxpayer_no_width = 8
    municipality.save()
    load(row(taxpayer_no="1001"), row(taxpayer_no="0000001001", installment_no="2"))
    assert set(Installment.objects.values_list("taxpayer__taxpayer_no", flat=True)) == {"00001001"}
    assert refused(row(notice_no="700002", taxpayer_no="123456789")) == [(2, "taxpayer_no")]
