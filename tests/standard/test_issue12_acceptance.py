"""Issue 12, "How it will be checked": a city loaded from independent files of the standard's layouts.

固定資産税・都市計画税 on a co-ownership, 法人住民税 with its 事業年度 and 申告区分 filed late, a 特別徴収義務者
with 12 installments and two employees, a mailing address for one tax item only, a person under 支援措置
and a deceased person with an heir representative. Then: balances split by component equal the sums
computed here from the rule in docs/rules.md "Breakdown" (computed independently below); no export or
print file holds the protected address; a bad row of each new file is refused with line and column; every
file imported again changes nothing.

The breakdown rule (floor to the minor components, the rest to the main one) is how cities split a
combined 固定資産税・都市計画税 payment; the source is cited in docs/rules.md and rules/tests/test_breakdown.py.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from django.apps import apps
from django.test import Client
from django.urls import reverse

from choshu.accounts.models import Role
from choshu.formats.errors import FileRefused
from choshu.levies.models import Installment, Levy
from choshu.levies.selectors import component_totals, installment_balances
from choshu.levies.services import levies_import
from choshu.levies.tax_items import catalog
from choshu.levies.verify import ledger_problems
from choshu.operations.disclosure import disclosure_export
from choshu.receipts.services import counter_receipt_take
from choshu.taxpayers import protection
from choshu.taxpayers.addressee import Via, addressee_for
from choshu.taxpayers.models import Taxpayer
from choshu.taxpayers.related_imports import (
    co_owners_import,
    heirs_import,
    mailing_addresses_import,
    special_collectors_import,
    special_employees_import,
)
from choshu.taxpayers.services import taxpayers_import

pytestmark = pytest.mark.django_db

BOOKED_ON = date(2026, 4, 1)
PAID_ON = date(2026, 12, 1)
DV_ADDRESS = "埼玉県川口市青木9-9-9"
DV_POSTAL = "3320031"
STAMP = "OP0012,2026-11-30,10:15:00"

TAXPAYERS = (
    "taxpayer_no,kind,name,name_kana,birth_date,sex,postal_code,address,address_extra,phone,my_number,"
    "corporate_number,resident,deceased_on,support_measure_from,support_measure_until,operator_id,operated_on,"
    "operated_time",
    [
        f"1001,individual,川口 太郎,カワグチ タロウ,1970-05-01,1,332-0012,埼玉県川口市本町1-1-1,,048-000-0001,,,1,,,,{STAMP}",
        f"1002,individual,川口 花子,カワグチ ハナコ,1972-07-07,2,3320012,埼玉県川口市本町1-1-1,,,,,1,,,,{STAMP}",
        f"1003,individual,青木 和子,アオキ カズコ,1985-03-03,2,{DV_POSTAL},{DV_ADDRESS},,,,,1,,2026-01-01,,{STAMP}",
        f"1004,individual,芝 一郎,シバ イチロウ,1940-01-01,1,3330866,埼玉県川口市芝1-2-3,,,,,1,2026-06-01,,,{STAMP}",
        f"1005,individual,芝 次郎,シバ ジロウ,1968-02-02,1,1000001,東京都千代田区千代田1-1,,,,,0,,,,{STAMP}",
        f"2001,corporation,株式会社川口製作所,カブシキガイシャカワグチセイサクショ,1990-04-01,,3320034,埼玉県川口市並木2-2-2,,,,,0,,,,{STAMP}",
        f"3001,corporation,株式会社埼玉商事,カブシキガイシャサイタマショウジ,1995-10-01,,3320015,埼玉県川口市川口3-3-3,,,,,0,,,,{STAMP}",
        f"4001,co_ownership,川口 太郎 外1名,カワグチ タロウ ホカ1メイ,,,3320012,埼玉県川口市本町1-1-1,,,,,1,,,,{STAMP}",
    ],
)

LEVY_HEADER = (
    "tax_item,levy_year,relevant_year,notice_no,taxpayer_no,special_collector_no,filing_type,filing_history_no,"
    "business_year_no,business_year_start,business_year_end,installment_no,statutory_due_date,due_date,"
    "designated_due_date,due_date_special,principal,breakdown_1,breakdown_2,breakdown_3,slip_no,operator_id,"
    "operated_on,operated_time"
)
FIXED_ASSET = [(1, "2026-04-30"), (2, "2026-07-31"), (3, "2026-12-25"), (4, "2027-03-01")]
SPECIAL_DUE = [f"{2026 + (m < 7)}-{m:02d}-10" for m in (7, 8, 9, 10, 11, 12, 1, 2, 3, 4, 5, 6)]
LEVIES = [
    # 固定資産税・都市計画税 of the co-ownership: 70,000 + 15,000 per installment
    *(
        f"04,2026,2026,400001,4001,,,0,0,,,{no},{d},{d},{d},,85000,70000,15000,,,{STAMP}"
        for no, d in FIXED_ASSET
    ),
    # 法人住民税, business year 2025-04-01..2026-03-31, filed late: 法定納期限 2026-06-01, 納期限 2026-07-15
    f"03,2026,2025,200001,2001,,10,1,1,2025-04-01,2026-03-31,1,2026-06-01,2026-07-15,2026-07-15,,173457,50000,123457,,,{STAMP}",
    # 個人住民税(特別徴収) of the employer: 12 monthly installments of 10,000
    *(
        f"02,2026,2026,300001,3001,123456,,0,0,,,{no},{d},{d},{d},,10000,,,,,{STAMP}"
        for no, d in enumerate(SPECIAL_DUE, start=1)
    ),
    f"01,2026,2026,100003,1003,,,0,0,,,1,2026-06-30,2026-06-30,2026-06-30,,20000,,,,,{STAMP}",
    f"01,2026,2026,100004,1004,,,0,0,,,1,2026-06-30,2026-06-30,2026-06-30,,30000,,,,,{STAMP}",
]
COLLECTORS = (
    "designation_no,taxpayer_no,name,due_date_special,contact_name,contact_phone,delete_flag,operator_id,"
    "operated_on,operated_time",
    [f"123456,3001,株式会社埼玉商事,0,総務課 埼玉,048-111-2222,0,{STAMP}"],
)
EMPLOYEES = (
    "designation_no,employee_taxpayer_no,levy_year,annual_amount,start_month,end_date,delete_flag,operator_id,"
    "operated_on,operated_time",
    [f"123456,1001,2026,60000,2026-06,,0,{STAMP}", f"123456,1002,2026,60000,2026-06,,0,{STAMP}"],
)
MAILING = (
    "taxpayer_no,tax_item,vehicle_no,name,name_kana,postal_code,address,address_extra,kind,set_reason,phone,"
    "valid_from,valid_until,memo,delete_flag,operator_id,operated_on,operated_time",
    [f"1001,04,,川口 太郎,,3330801,埼玉県川口市東川口2-2-2,管理事務所気付,,,,2026-01-01,,,0,{STAMP}"],
)
CO_OWNERS = (
    "ownership_taxpayer_no,levy_year,asset_group_no,member_seq,member_taxpayer_no,is_representative,"
    "share_numerator,share_denominator,delete_flag,operator_id,operated_on,operated_time",
    [f"4001,2026,A001,1,1001,1,1,2,0,{STAMP}", f"4001,2026,A001,2,1002,0,1,2,0,{STAMP}"],
)
HEIRS = (
    "deceased_taxpayer_no,seq,heir_taxpayer_no,is_representative,share_numerator,share_denominator,since,"
    "delete_flag,operator_id,operated_on,operated_time",
    [f"1004,1,1005,1,1,1,2026-06-01,0,{STAMP}"],
)


def split(paid: int, levied: list[int]) -> list[int]:
    """The rule, computed here on its own: floor(C × L_i / L) for each minor component, the rest to the
    main one (docs/rules.md "Breakdown")."""
    total = sum(levied)
    minors = [paid * part // total for part in levied[1:]]
    return [paid - sum(minors), *minors]


def table_counts() -> dict[str, int]:
    return {
        model._meta.label: model.objects.count()
        for model in apps.get_models()
        if model._meta.app_label in ("taxpayers", "levies", "receipts")
    }


class City:
    """The files, written to disk, and their importers in order."""

    def __init__(self, municipality: Any, write_csv: Callable[..., Path]) -> None:
        self.m = municipality
        self.files: list[tuple[Callable[..., Any], Path, dict[str, Any]]] = [
            (taxpayers_import, write_csv(TAXPAYERS[0], TAXPAYERS[1], name="taxpayers.csv"), {}),
            (special_collectors_import, write_csv(*COLLECTORS, name="special_collectors.csv"), {}),
            (levies_import, write_csv(LEVY_HEADER, LEVIES, name="levies.csv"), {"booking_date": BOOKED_ON}),
            (special_employees_import, write_csv(*EMPLOYEES, name="special_employees.csv"), {}),
            (
                mailing_addresses_import,
                write_csv(*MAILING, name="mailing_addresses.csv"),
                {"tax_items": set(catalog(municipality.pk))},
            ),
            (co_owners_import, write_csv(*CO_OWNERS, name="co_owners.csv"), {}),
            (heirs_import, write_csv(*HEIRS, name="heirs.csv"), {}),
        ]

    def load(self) -> list[dict[str, Any]]:
        return [run(municipality=self.m, path=path, **kw).as_dict() for run, path, kw in self.files]

    def person(self, no: str) -> Taxpayer:
        return Taxpayer.objects.get(municipality=self.m, taxpayer_no=no)

    def slip(self, notice_no: str, installment_no: int) -> str:
        inst = Installment.objects.get(
            municipality=self.m, levy__notice_no=notice_no, installment_no=installment_no
        )
        assert inst.slip_no
        return inst.slip_no


@pytest.fixture
def city(municipality: Any, write_csv: Callable[..., Path]) -> City:
    loaded = City(municipality, write_csv)
    loaded.load()
    return loaded


def test_balances_split_by_component_equal_the_rule_computed_outside(city: City, make_user: Any) -> None:
    clerk = make_user("clerk", role=Role.CLERK, municipality=city.m)
    payments = [("400001", 1, 30_001), ("400001", 1, 40_000), ("400001", 2, 85_000), ("200001", 1, 100_000)]
    for notice_no, no, amount in payments:
        counter_receipt_take(
            actor=clerk, municipality=city.m, slip_no=city.slip(notice_no, no), amount=amount, paid_on=PAID_ON
        )
    rows = installment_balances(taxpayer_ids=[city.person("4001").pk, city.person("2001").pk], as_of=PAID_ON)
    by_key = {(r.notice_no, r.installment_no): r for r in rows}

    expected = {
        ("400001", 1): (split(70_001, [70_000, 15_000]), [70_000, 15_000]),
        ("400001", 2): (split(85_000, [70_000, 15_000]), [70_000, 15_000]),
        ("400001", 3): ([0, 0], [70_000, 15_000]),
        ("200001", 1): (split(100_000, [50_000, 123_457]), [50_000, 123_457]),
    }
    for key, (paid, levied) in expected.items():
        parts = by_key[key].components
        assert [c.levied for c in parts] == levied
        assert [c.paid for c in parts] == paid, key
        assert [c.outstanding for c in parts] == [lv - p for lv, p in zip(levied, paid, strict=True)]
        assert sum(c.paid for c in parts) == by_key[key].principal_paid
    assert [c.code for c in by_key[("400001", 1)].components] == ["fixed_asset", "city_planning"]
    assert [c.code for c in by_key[("200001", 1)].components] == ["per_capita", "corporate_tax"]
    # the installment paid in full has every component cleared exactly
    assert [c.outstanding for c in by_key[("400001", 2)].components] == [0, 0]

    totals = {(t.tax_item, t.code): t for t in component_totals(rows)}
    city_planning_paid = split(70_001, [70_000, 15_000])[1] + 15_000
    assert totals[("04", "city_planning")].paid == city_planning_paid
    assert totals[("04", "city_planning")].levied == 4 * 15_000
    assert totals[("04", "fixed_asset")].paid == 70_001 + 85_000 - city_planning_paid
    assert totals[("03", "corporate_tax")].paid == 100_000 * 123_457 // 173_457
    _, problems = ledger_problems(municipality_id=city.m.pk)
    assert problems == []


def test_the_standard_keys_dates_and_stamps_are_kept(city: City) -> None:
    corp = Levy.objects.get(municipality=city.m, notice_no="200001")
    assert (corp.levy_year, corp.relevant_year, corp.filing_type, corp.filing_history_no) == (
        2026,
        2025,
        "10",
        1,
    )
    assert (corp.business_year_start, corp.business_year_end) == (date(2025, 4, 1), date(2026, 3, 31))
    inst = corp.installments.get()
    assert inst.statutory_due_date == date(2026, 6, 1) and inst.due_date == date(2026, 7, 15)
    # 申告納付: the 延滞金 runs from the day after the 法定納期限 (law.md §a7)
    assert inst.late_charge_base_date == date(2026, 6, 1)
    assert (inst.source_operator, inst.source_operated_on) == ("OP0012", date(2026, 11, 30))
    special = Levy.objects.get(municipality=city.m, notice_no="300001")
    assert special.special_collector is not None and special.special_collector.designation_no == "123456"
    assert special.taxpayer == city.person("3001") and special.installments.count() == 12
    assert city.person("1001").source_operator == "OP0012"


def test_addressees_follow_the_records(city: City) -> None:
    taro, co_ownership, deceased = city.person("1001"), city.person("4001"), city.person("1004")
    on = date(2026, 12, 7)
    fixed_asset = addressee_for(taro, "04", on)
    assert fixed_asset.rule == Via.MAILING_ITEM and fixed_asset.address == "埼玉県川口市東川口2-2-2"
    assert addressee_for(taro, "01", on).rule == Via.REGISTERED  # the 送付先 is for 04 only
    rep = addressee_for(co_ownership, "04", on, levy_year=2026)
    assert rep.rule == Via.CO_OWNER_REPRESENTATIVE and rep.addressee_taxpayer_id == taro.pk
    heir = addressee_for(deceased, "01", on)
    assert heir.rule == Via.HEIR_REPRESENTATIVE and heir.address == "東京都千代田区千代田1-1"
    assert heir.addressee_taxpayer_id == city.person("1005").pk


def test_no_export_or_print_holds_the_protected_address(city: City, make_user: Any, tmp_path: Path) -> None:
    chief = make_user("chief", role=Role.CHIEF, municipality=city.m)  # holds the disclosure right
    protected = city.person("1003")
    assert protection.refuse_reason(protected, date(2026, 12, 7)) is not None
    addressee = addressee_for(protected, "01", date(2026, 12, 7))
    assert addressee.protected_taxpayer_id == protected.pk and not protection.printable(
        protected, date(2026, 12, 7)
    )
    with pytest.raises(protection.ProtectedPersonRefused):
        disclosure_export(actor=chief, taxpayer=protected, folder=tmp_path / "out", as_of=date(2026, 12, 7))
    written = [p.read_bytes() for p in tmp_path.rglob("*") if p.is_file() and p.parent != tmp_path]
    assert not any(DV_ADDRESS.encode() in b or DV_ADDRESS.encode("cp932") in b for b in written)
    # nor does any screen of the person show it to a clerk
    from conftest import login_verified

    clerk = login_verified(Client(), make_user("clerk", role=Role.CLERK, municipality=city.m))
    page = clerk.get(reverse("web:taxpayer-overview", args=[protected.pk])).content.decode()
    assert DV_ADDRESS not in page and DV_POSTAL not in page and protection.WARNING in page


BAD_ROWS = [
    (0, 2, "kind", "1006,person,山田,,,,,,,,,,1,,,,,,"),
    (1, 2, "taxpayer_no", f"777777,9999,株式会社不明,0,,,0,{STAMP}"),
    (2, 2, "principal", f"04,2026,2026,400009,4001,,,0,0,,,1,2026-04-30,2026-04-30,2026-04-30,,85000,70000,14999,,,{STAMP}"),
    (3, 2, "employee_taxpayer_no", f"123456,9999,2026,60000,2026-06,,0,{STAMP}"),
    (4, 2, "postal_code", f"1002,04,,川口 花子,,33-08,埼玉県川口市東川口2-2-2,,,,,2026-01-01,,,0,{STAMP}"),
    (5, 2, "is_representative", f"4001,2027,A001,1,1001,2,1,2,0,{STAMP}"),
    (6, 2, "since", f"1004,2,1002,0,1,2,2026-13-01,0,{STAMP}"),
]  # fmt: skip


@pytest.mark.parametrize(("index", "line", "column", "row"), BAD_ROWS)
def test_a_bad_row_of_each_new_file_is_refused_with_line_and_column(
    city: City, write_csv: Callable[..., Path], index: int, line: int, column: str, row: str
) -> None:
    run, path, kw = city.files[index]
    header = path.read_text(encoding="utf-8-sig").splitlines()[0]
    before = table_counts()
    with pytest.raises(FileRefused) as refused:
        run(municipality=city.m, path=write_csv(header, [row]), **kw)
    assert [(e.line, e.column) for e in refused.value.errors][:1] == [(line, column)]
    assert all(e.reason for e in refused.value.errors)
    assert table_counts() == before


def test_every_file_imported_again_changes_nothing(city: City, tmp_path: Path) -> None:
    before = table_counts()
    again = city.load()
    assert all(summary["already_imported"] for summary in again)
    assert table_counts() == before
    # the same rows in new files (not the same bytes) change nothing either
    renamed = []
    for run, path, kw in city.files:
        copy = tmp_path / f"again-{path.name}"
        copy.write_bytes(path.read_bytes() + b"\r\n")
        renamed.append((run, copy, kw))
    for run, copy, kw in renamed:
        summary = run(municipality=city.m, path=copy, **kw).as_dict()
        assert summary["created"] == 0 and summary["updated"] == 0, (copy.name, summary)
    assert table_counts() == before
