"""The 036 → 037 standard files (docs/formats.md §34). The files are written here with plain ``csv``
code from the item names of docs/formats.md §34 — an independent writer, not the module's layouts."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from conftest import TAXPAYER_HEADER
from django.core.management import call_command
from django.core.management.base import CommandError

from choshu.dunning.models import (
    DunningNotice,
    DunningNoticeInstallment,
    DunningSuppression,
    NoticeStatus,
    ReturnedMail,
)
from choshu.dunning.selectors import prescription_events
from choshu.formats.errors import FileRefused
from choshu.levies.models import Installment, InstallmentCalendar
from choshu.levies.selectors import installment_balances
from choshu.receipts.models import Payment, PaymentStatus
from choshu.stdlink.imports import stdlink_import
from choshu.stdlink.models import StdFile, StdRecord, StdRecordChange
from choshu.taxpayers.models import MailingAddress, Representative, Taxpayer
from choshu.taxpayers.services import taxpayers_import

pytestmark = pytest.mark.django_db

CITY = "112038"
OPS = {
    "最新フラグ": "1",
    "操作年月日": "2024-06-01",
    "操作時刻": "10:11:12",
    "操作者ID": "U0001",
    "削除フラグ": "0",
}


def period(item: str, year: int, notice: str, inst: int) -> dict[str, str]:
    return {
        "賦課年度": str(year), "相当年度": str(year), "業務詳細（科目）コード": item, "期別": f"{inst:02d}",
        "特別徴収義務者指定番号": "", "児童_宛名番号": "000000000000000", "通知書番号": notice.zfill(20),
        "事業年度番号": "0", "申告履歴番号": "0",
    }  # fmt: skip


def write(tmp_path: Path, name: str, rows: list[dict[str, str]], encoding: str = "utf-8") -> Path:
    """A standard file: header of the rows' item names, one row per record (plain csv)."""
    header = list(dict.fromkeys(k for r in rows for k in r))
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(header)
    for r in rows:
        w.writerow([r.get(h, "") for h in header])
    path = tmp_path / name
    path.write_bytes(buf.getvalue().encode(encoding))
    return path


def levy_row(
    item: str, notice: str, inst: int, atena: str, due: str, tax: int, **extra: str
) -> dict[str, str]:
    return {
        "市区町村コード": CITY, **period(item, 2024, notice, inst), "宛名番号": atena, "納期限": due,
        "指定納期限": "", "法定納期限": "", "税額": str(tax), "督促手数料": "0", "延滞金": "0",
        "収納額_本税": "0", "不納欠損事由": "", **OPS, **extra,
    }  # fmt: skip


def pay_row(item: str, notice: str, inst: int, atena: str, no: str, amount: int, paid: str, kari: str = "1",
            **extra: str) -> dict[str, str]:  # fmt: skip
    return {
        "市区町村コード": CITY, **period(item, 2024, notice, inst), "収納履歴番号": no, "宛名番号": atena,
        "収納額_本税": str(amount), "収納額_督促手数料": "0", "収納額_延滞金": "0", "仮消区分": kari,
        "領収日": paid, "収入日": paid, "納付チャネル区分": "01", **OPS, **extra,
    }  # fmt: skip


@pytest.fixture
def people(municipality: Any, write_csv: Callable[..., Path]) -> Any:
    path = write_csv(
        TAXPAYER_HEADER,
        [
            "1001,individual,川口 太郎,カワグチ タロウ,1970-04-01,1,3330801,埼玉県川口市東川口1-2-3,,,,,1,",
            "1002,individual,鳩ヶ谷 花子,ハトガヤ ハナコ,1985-12-24,2,3340002,埼玉県川口市鳩ヶ谷本町2-1-1,,,,,1,",
            "3001,individual,芝 次郎,シバ ジロウ,1960-01-01,1,3330811,埼玉県川口市戸塚1-1-1,,,,,1,",
        ],
    )
    taxpayers_import(municipality=municipality, path=path)
    return municipality


LEVIES = [
    ("01", "100001", 1, "1001", "2024-06-30", 30000),
    ("01", "100001", 2, "1001", "2024-08-31", 29000),
    ("05", "500001", 1, "1002", "2024-05-31", 10800),
]


def load_levies(tmp_path: Path, m: Any, mode: str = "delta", rows: list[tuple[Any, ...]] = LEVIES) -> Any:
    path = write(tmp_path, f"036o005_20240601_{len(rows)}{mode}.csv", [levy_row(*r) for r in rows])
    return stdlink_import(municipality=m, path=path, mode=mode, booking_date=date(2024, 4, 1))


def inst(notice: str, no: int) -> Installment:
    return Installment.objects.get(levy__notice_no=notice, installment_no=no)


def refused(path: Path, m: Any, **kw: Any) -> list[dict[str, Any]]:
    with pytest.raises(FileRefused) as exc:
        stdlink_import(municipality=m, path=path, **kw)
    return [e.as_dict() for e in exc.value.errors]


# --- the issue's check: an independent writer's files import to the expected balances ---------------


def test_scenario_files_import_to_expected_balances(people: Any, tmp_path: Path) -> None:
    m = people
    cal = [
        {"市区町村コード": CITY, "賦課年度": "2024", "業務詳細（科目）コード": "01", "期別": f"{n:02d}",
         "期別名称": f"第{n}期", "年月": ym, "納期限": due, **OPS}
        for n, ym, due in ((1, "2024-06", "2024-06-30"), (2, "2024-08", "2024-08-31"))
    ]  # fmt: skip
    s = stdlink_import(municipality=m, path=write(tmp_path, "036o015_1.csv", cal))
    assert s.created == 2 and InstallmentCalendar.objects.filter(tax_item="01", levy_year=2024).count() == 2
    load_levies(tmp_path, m)
    payments = [
        pay_row("01", "100001", 1, "1001", "1", 30000, "2024-06-20"),
        pay_row("01", "100001", 2, "1001", "2", 9000, "2024-08-20"),
        pay_row("05", "500001", 1, "1002", "3", 4000, "2024-05-20", kari="0"),  # 仮消: no money yet
    ]
    s = stdlink_import(municipality=m, path=write(tmp_path, "036o006_1.csv", payments))
    assert s.applied["posted"] == 2 and s.applied["provisional"] == 1
    dun = [{"市区町村コード": CITY, **period("01", 2024, "100001", 2), "宛名番号": "1001", "履歴番号": "1",
            "督促状発行日": "2024-09-20", "督促状返戻日": "", "督促区分": "1", "引き抜き区分": "0", **OPS}]  # fmt: skip
    stdlink_import(municipality=m, path=write(tmp_path, "036o007_1.csv", dun))
    stop = [{"市区町村コード": CITY, "督促停止管理番号": "S1", "宛名番号": "1002", **period("05", 2024, "500001", 1),
             "督促停止年月日": "2024-06-10", "督促停止事由": "01", "督促停止解除年月日": "", **OPS}]  # fmt: skip
    stdlink_import(municipality=m, path=write(tmp_path, "036o009_1.csv", stop))
    ret = [{"市区町村コード": CITY, "宛名番号": "1001", "業務ID": "036", "業務詳細（科目）コード": "01",
            "返戻物種別": "02", "履歴番号": "1", "賦課年度": "2024", "相当年度": "2024", "期別": "02",
            "通知書番号": "100001".zfill(20), "返戻事由": "01", "返戻日": "2024-09-25", **OPS}]  # fmt: skip
    s = stdlink_import(municipality=m, path=write(tmp_path, "036o012_1.csv", ret))
    assert s.applied["returned"] == 1
    rep = [{"市区町村コード": CITY, "納税義務者_宛名番号": "1001", "代理人_宛名番号": "3001", "業務ID": "036",
            "業務詳細（科目）コード": "00", "代理人_有効期間開始年月日": "2024-04-01", "代理人_有効期間終了年月日": "",
            "代理人_肩書": "09", "電話番号": "048-000-0000", "メモ": "", **OPS}]  # fmt: skip
    stdlink_import(municipality=m, path=write(tmp_path, "036o013_1.csv", rep))

    # balances equal the sums of the scenario
    levied = {(n, i): tax for _, n, i, _, _, tax in LEVIES}
    paid = {("100001", 1): 30000, ("100001", 2): 9000}
    ids = list(Taxpayer.objects.filter(municipality=m).values_list("pk", flat=True))
    rows = installment_balances(taxpayer_ids=ids, as_of=date(2024, 10, 1))
    got = {(b.notice_no, b.installment_no): (b.principal, b.principal_outstanding) for b in rows}
    assert got == {k: (v, v - paid.get(k, 0)) for k, v in levied.items()}
    assert sum(b.principal_outstanding for b in rows) == sum(levied.values()) - sum(paid.values())
    assert Payment.objects.filter(channel="std036", status=PaymentStatus.PROVISIONAL).count() == 1
    # the 督促 is seen by prescription; the 督促停止, the returned mail, the representative exist
    i2 = inst("100001", 2)
    assert [e.on for e in prescription_events([i2.pk])[i2.pk]] == [date(2024, 9, 20)]
    notice = DunningNotice.objects.get()
    assert notice.status == NoticeStatus.ISSUED and notice.pay_by == date(2024, 9, 30)
    assert ReturnedMail.objects.get().notice == notice
    s1 = DunningSuppression.objects.get()
    assert s1.installment == inst("500001", 1) and s1.start == date(2024, 6, 10) and s1.end is None
    r = Representative.objects.get(is_current=True)
    assert (r.taxpayer.taxpayer_no, r.agent.taxpayer_no, r.role) == ("1001", "3001", "tax_manager")
    # the standard's stamps are kept beside choshu's change log
    rec = StdRecord.objects.get(kind="036o007")
    assert (rec.source_operator, str(rec.source_operated_on), str(rec.source_operated_time)) == (
        "U0001", "2024-06-01", "10:11:12")  # fmt: skip
    assert StdRecordChange.objects.filter(record=rec, action="created").count() == 1
    # a person's audit trail names the import that changed their records
    from choshu.audit.models import AuditLog

    log = AuditLog.objects.get(function="標準連携取込（督促情報）", kind="change")
    assert log.subject_ids == [Taxpayer.objects.get(taxpayer_no="1001").pk]


# --- 調定収納情報 ----------------------------------------------------------------------------------


def test_levies_reimport_changes_nothing_and_another_encoding_too(people: Any, tmp_path: Path) -> None:
    m = people
    first = load_levies(tmp_path, m)
    assert first.created == 3
    before = list(Installment.objects.values_list("pk", "principal_levied", "principal_outstanding"))
    again = load_levies(tmp_path, m)
    assert again.already_imported
    cp932 = write(tmp_path, "036o005_cp932.csv", [levy_row(*r) for r in LEVIES], encoding="cp932")
    s = stdlink_import(municipality=m, path=cp932, booking_date=date(2024, 4, 1))
    assert (s.unchanged, s.created, s.updated) == (3, 0, 0)
    assert list(Installment.objects.values_list("pk", "principal_levied", "principal_outstanding")) == before


def test_levies_delta_correction_and_delete(people: Any, tmp_path: Path) -> None:
    m = people
    load_levies(tmp_path, m)
    rows = [levy_row("01", "100001", 2, "1001", "2024-08-31", 25000),
            levy_row("05", "500001", 1, "1002", "2024-05-31", 10800, 削除フラグ="1")]  # fmt: skip
    s = stdlink_import(
        municipality=m, path=write(tmp_path, "036o005_d.csv", rows), booking_date=date(2024, 5, 1)
    )
    assert (s.updated, s.deleted) == (1, 1)
    assert inst("100001", 2).principal_levied == 25000
    assert inst("500001", 1).principal_levied == 0  # cancelled: a correction to 0, the installment kept
    assert inst("100001", 1).principal_levied == 30000  # not in the delta file: untouched


def test_levies_full_closes_what_is_missing(people: Any, tmp_path: Path) -> None:
    m = people
    load_levies(tmp_path, m)
    s = load_levies(tmp_path, m, mode="full", rows=LEVIES[:2])
    assert s.closed == 1 and s.unchanged == 2
    assert inst("500001", 1).principal_levied == 0
    assert Installment.objects.count() == 3  # never deleted
    rec = StdRecord.objects.get(kind="036o005", natural_key__contains="|05|")
    assert rec.deleted and rec.changes.filter(action="closed").exists()


def test_levies_bad_rows_name_line_and_item(people: Any, tmp_path: Path) -> None:
    m = people
    rows = [levy_row(*r) for r in LEVIES]
    rows[1]["納期限"] = "2024-02-30"
    rows[2]["税額"] = "1,000"
    rows[0]["市区町村コード"] = "999999"
    errors = refused(write(tmp_path, "036o005_bad.csv", rows), m)
    found = {(e["line"], e["column"]) for e in errors}
    assert {(2, "市区町村コード"), (3, "納期限"), (4, "税額")} <= found
    assert all(e["reason"] for e in errors)
    assert Installment.objects.count() == 0
    assert StdFile.objects.get().status == "refused" and StdRecord.objects.count() == 0


def test_levies_unknown_taxpayer_is_reported_on_the_standard_item(people: Any, tmp_path: Path) -> None:
    rows = [levy_row("01", "100001", 1, "9999", "2024-06-30", 100)]
    errors = refused(write(tmp_path, "036o005_x.csv", rows), people)
    assert errors[0]["line"] == 2 and errors[0]["column"] == "宛名番号"
    assert StdRecord.objects.count() == 0 and Installment.objects.count() == 0


def test_missing_required_item_in_header(people: Any, tmp_path: Path) -> None:
    row = levy_row(*LEVIES[0])
    del row["納期限"]
    errors = refused(write(tmp_path, "036o005_h.csv", [row]), people)
    assert errors == [
        {"line": 1, "column": "納期限", "reason": "必須の項目「納期限」が見出し行にありません", "value": ""}
    ]


def test_kind_from_name_or_option(people: Any, tmp_path: Path) -> None:
    path = write(tmp_path, "levies_from_vendor.csv", [levy_row(*LEVIES[0])])
    errors = refused(path, people)
    assert "ファイルID" in errors[0]["reason"]
    s = stdlink_import(municipality=people, path=path, kind="levies", booking_date=date(2024, 4, 1))
    assert s.kind == "036o005" and s.created == 1


def test_latest_flag_zero_rows_are_skipped(people: Any, tmp_path: Path) -> None:
    rows = [levy_row(*LEVIES[0]), levy_row(*LEVIES[1], 最新フラグ="0")]
    s = stdlink_import(
        municipality=people, path=write(tmp_path, "036o005_l.csv", rows), booking_date=date(2024, 4, 1)
    )
    assert (s.rows, s.skipped, s.created) == (1, 1, 1)


# --- 収納履歴情報 ----------------------------------------------------------------------------------


def test_payments_post_reimport_cancel(people: Any, tmp_path: Path) -> None:
    m = people
    load_levies(tmp_path, m)
    rows = [pay_row("01", "100001", 1, "1001", "1", 10000, "2024-06-20")]
    stdlink_import(municipality=m, path=write(tmp_path, "036o006_a.csv", rows))
    assert inst("100001", 1).principal_outstanding == 20000
    # the same record in another file: unchanged
    rows2 = [*rows, pay_row("01", "100001", 1, "1001", "2", 5000, "2024-06-25")]
    s = stdlink_import(municipality=m, path=write(tmp_path, "036o006_b.csv", rows2))
    assert (s.unchanged, s.created) == (1, 1)
    assert inst("100001", 1).principal_outstanding == 15000
    # 削除フラグ 1 reverses it
    rows3 = [pay_row("01", "100001", 1, "1001", "2", 5000, "2024-06-25", 削除フラグ="1")]
    s = stdlink_import(municipality=m, path=write(tmp_path, "036o006_c.csv", rows3))
    assert s.deleted == 1 and s.applied["cancelled"] == 1
    assert inst("100001", 1).principal_outstanding == 20000
    # full: a receipt not in the file any more is reversed
    s = stdlink_import(municipality=m, path=write(tmp_path, "036o006_full.csv", [
        pay_row("05", "500001", 1, "1002", "9", 800, "2024-05-20")]), mode="full")  # fmt: skip
    assert s.closed == 1
    assert inst("100001", 1).principal_outstanding == 30000
    assert inst("500001", 1).principal_outstanding == 10000
    assert Payment.objects.filter(channel="std036", status=PaymentStatus.REVERSED).count() == 2


def test_payments_provisional_then_final(people: Any, tmp_path: Path) -> None:
    m = people
    load_levies(tmp_path, m)
    stdlink_import(municipality=m, path=write(tmp_path, "036o006_p.csv", [
        pay_row("05", "500001", 1, "1002", "1", 10800, "2024-05-20", kari="0")]))  # fmt: skip
    assert inst("500001", 1).principal_outstanding == 10800
    stdlink_import(municipality=m, path=write(tmp_path, "036o006_f.csv", [
        pay_row("05", "500001", 1, "1002", "1", 10800, "2024-05-20", kari="1")]))  # fmt: skip
    assert inst("500001", 1).principal_outstanding == 0
    assert Payment.objects.get().status == PaymentStatus.POSTED


def test_payments_bad_rows(people: Any, tmp_path: Path) -> None:
    m = people
    load_levies(tmp_path, m)
    rows = [
        pay_row("01", "100001", 9, "1001", "1", 100, "2024-06-20"),  # no such 期別
        pay_row("01", "100001", 1, "1002", "2", 100, "2024-06-20"),  # someone else's
        pay_row("01", "100001", 1, "1001", "3", 100, ""),  # 領収日 missing
        pay_row("01", "100001", 1, "1001", "3", 100, "2024-06-20"),  # key twice
    ]
    errors = refused(write(tmp_path, "036o006_bad.csv", rows), m)
    found = {(e["line"], e["column"]) for e in errors}
    assert {(2, "通知書番号"), (3, "宛名番号"), (4, "領収日"), (5, "")} <= found
    assert Payment.objects.count() == 0


def test_payment_amount_change_after_posting_is_refused(people: Any, tmp_path: Path) -> None:
    m = people
    load_levies(tmp_path, m)
    stdlink_import(municipality=m, path=write(tmp_path, "036o006_1.csv", [
        pay_row("01", "100001", 1, "1001", "1", 100, "2024-06-20")]))  # fmt: skip
    errors = refused(
        write(tmp_path, "036o006_2.csv", [pay_row("01", "100001", 1, "1001", "1", 200, "2024-06-20")]), m
    )
    assert errors[0]["line"] == 2 and errors[0]["column"] == "収納額_本税"


# --- 督促情報・督促停止情報 ---------------------------------------------------------------------------


def dun_row(issued: str, **extra: str) -> dict[str, str]:
    return {"市区町村コード": CITY, **period("01", 2024, "100001", 2), "宛名番号": "1001", "履歴番号": "1",
            "督促状発行日": issued, "督促状返戻日": "", "督促区分": "1", "引き抜き区分": "0", **OPS, **extra}  # fmt: skip


def test_dunning_external_notice_withdrawn_and_full(people: Any, tmp_path: Path) -> None:
    m = people
    load_levies(tmp_path, m)
    stdlink_import(municipality=m, path=write(tmp_path, "036o007_1.csv", [dun_row("2024-09-20")]))
    line = DunningNoticeInstallment.objects.get()
    assert line.installment == inst("100001", 2) and line.principal == 29000
    s = stdlink_import(municipality=m, path=write(tmp_path, "036o007_1b.csv", [dun_row("2024-09-20")]))
    assert s.already_imported  # the same bytes
    later = [dun_row("2024-09-20", 操作時刻="11:00:00")]  # new stamps alone are not a change
    s = stdlink_import(municipality=m, path=write(tmp_path, "036o007_2.csv", later))
    assert s.unchanged == 1 and DunningNotice.objects.count() == 1
    stdlink_import(
        municipality=m, path=write(tmp_path, "036o007_3.csv", [dun_row("2024-09-20", 引き抜き区分="1")])
    )
    assert DunningNotice.objects.get().status == NoticeStatus.CANCELLED
    i2 = inst("100001", 2)
    assert prescription_events([i2.pk]) == {}
    stdlink_import(municipality=m, path=write(tmp_path, "036o007_4.csv", [dun_row("2024-09-21")]))
    assert DunningNotice.objects.get().status == NoticeStatus.ISSUED
    other = {**dun_row("2024-09-22"), **period("01", 2024, "100001", 1)}
    s = stdlink_import(municipality=m, path=write(tmp_path, "036o007_5.csv", [other]), mode="full")
    assert s.closed == 1
    assert sorted(DunningNotice.objects.values_list("status", flat=True)) == ["cancelled", "issued"]


def test_dunning_bad_rows(people: Any, tmp_path: Path) -> None:
    m = people
    load_levies(tmp_path, m)
    rows = [dun_row(""), dun_row("2024-13-01", 履歴番号="2")]
    errors = refused(write(tmp_path, "036o007_bad.csv", rows), m)
    assert {(e["line"], e["column"]) for e in errors} == {(2, "督促状発行日"), (3, "督促状発行日")}
    assert DunningNotice.objects.count() == 0


def test_suppression_lift_by_header_and_delete(people: Any, tmp_path: Path) -> None:
    m = people
    load_levies(tmp_path, m)
    detail = {"市区町村コード": CITY, "督促停止管理番号": "S1", "宛名番号": "1002", **period("05", 2024, "500001", 1),
              "督促停止年月日": "2024-06-10", "督促停止事由": "01", "督促停止解除年月日": "", **OPS}  # fmt: skip
    stdlink_import(municipality=m, path=write(tmp_path, "036o009_1.csv", [detail]))
    head = {"市区町村コード": CITY, "督促停止管理番号": "S1", "宛名番号": "1002", "督促停止年月日": "2024-06-10",
            "督促停止事由": "01", "督促停止解除年月日": "2024-07-01", "督促停止解除事由": "02", **OPS}  # fmt: skip
    stdlink_import(municipality=m, path=write(tmp_path, "036o008_1.csv", [head]))
    s = DunningSuppression.objects.get()
    assert s.end == date(2024, 6, 30) and "解除" in s.end_note
    bad = {**detail, "督促停止解除年月日": "2024-06-01"}
    errors = refused(write(tmp_path, "036o009_bad.csv", [bad]), m)
    assert errors[0]["column"] == "督促停止解除年月日"


# --- 送付先・連絡先, 振替口座 ----------------------------------------------------------------------------


def test_addressees_delta_and_full(people: Any, tmp_path: Path) -> None:
    m = people
    row = {"市区町村コード": CITY, "宛名番号": "1001", "業務ID": "036", "業務詳細（科目）コード": "00", "軽自管理番号": "",
           "送付先履歴番号": "1", "氏名_名称": "川口 太郎 様方", "郵便番号": "3330801", "住所": "埼玉県川口市青木1-1",
           "住所_方書": "", "送付先区分": "01", **OPS}  # fmt: skip
    s = stdlink_import(municipality=m, path=write(tmp_path, "036o014_1.csv", [row]))
    assert s.created == 1 and MailingAddress.objects.filter(is_current=True).count() == 1
    s = stdlink_import(
        municipality=m, path=write(tmp_path, "036o014_2.csv", [{**row, "住所": "埼玉県川口市青木2-2"}])
    )
    assert s.updated == 1
    assert MailingAddress.objects.get(is_current=True).address == "埼玉県川口市青木2-2"
    other = {**row, "宛名番号": "1002"}
    s = stdlink_import(municipality=m, path=write(tmp_path, "036o014_3.csv", [other]), mode="full")
    assert s.closed == 1
    assert list(
        MailingAddress.objects.filter(is_current=True).values_list("taxpayer__taxpayer_no", flat=True)
    ) == ["1002"]
    errors = refused(write(tmp_path, "036o014_4.csv", [{**row, "宛名番号": "7777"}]), m)
    assert errors[0]["line"] == 2 and errors[0]["column"] == "宛名番号"


def test_debit_accounts_become_one_mandate_request(people: Any, tmp_path: Path, make_user: Any) -> None:
    from choshu.debits.models import Mandate

    m = people
    row = {"市区町村コード": CITY, "宛名番号": "1001", "業務詳細（科目）コード": "01", "振替口座区分": "1",
           "口座振替開始日": "2024-04-01", "金融機関コード": "0001", "店舗番号": "001", "口座種別": "1",
           "口座番号": "1234567", "口座名義人カナ": "カワグチ タロウ", "独自項目": "x", **OPS}  # fmt: skip
    path = write(tmp_path, "036o010_1.csv", [row])
    errors = refused(path, m)
    assert "--operator" in errors[0]["reason"]
    clerk = make_user("clerk1", role="clerk", municipality=m)
    s = stdlink_import(municipality=m, path=path, actor=clerk, reason="統合収納から")
    assert s.applied["mandates"] == 1 and Mandate.objects.get().request_id == s.applied["request_id"]
    assert StdRecord.objects.get(kind="036o010").data["独自項目"] == "x"
    again = write(tmp_path, "036o010_2.csv", [{**row, "操作時刻": "12:00:00"}])
    s = stdlink_import(municipality=m, path=again, actor=clerk)
    assert s.unchanged == 1 and Mandate.objects.count() == 1  # no second request
    bad = write(tmp_path, "036o010_3.csv", [{**row, "宛名番号": "1002", "口座名義人カナ": "ｶﾜｸﾞﾁ😀"}])
    errors = refused(bad, m, actor=clerk)
    assert errors[0]["line"] == 2 and errors[0]["column"] == "口座名義人カナ"
    assert Mandate.objects.count() == 1


# --- the command ------------------------------------------------------------------------------------


def test_command_json_and_refusal(people: Any, tmp_path: Path, capsys: Any) -> None:
    path = write(tmp_path, "036o005_cmd.csv", [levy_row(*LEVIES[0])])
    call_command("stdlink_import", str(path), "--json", "--booking-date", "2024-04-01")
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["created"] == 1 and out["kind"] == "036o005"
    bad = write(tmp_path, "036o005_cmd2.csv", [levy_row("01", "100002", 1, "1001", "2024-06-30", -1)])
    with pytest.raises(CommandError) as exc:
        call_command("stdlink_import", str(bad), "--json")
    assert exc.value.returncode == 2
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["refused"] and out["errors"][0]["column"] == "税額"


# --- the file drop ----------------------------------------------------------------------------------


def test_inbox_routes_standard_files_in_order(people: Any, tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    pay = write(
        inbox, "036o006_20240701_1.csv", [pay_row("01", "100001", 1, "1001", "1", 1000, "2024-06-20")]
    )
    lev = write(inbox, "036o005_full_20240601_1.csv", [levy_row(*r) for r in LEVIES])
    for p in (pay, lev):
        (inbox / f"{p.name}.done").write_text("")
    out = io.StringIO()
    call_command("import_inbox", str(inbox), "--booking-date", "2024-04-01", "--json", stdout=out)
    files = json.loads(out.getvalue().strip().splitlines()[-1])["files"]
    assert [(f["file"], f["status"], f.get("mode")) for f in files] == [
        ("036o005_full_20240601_1.csv", "imported", "full"),
        ("036o006_20240701_1.csv", "imported", "delta"),
    ]
    assert inst("100001", 1).principal_outstanding == 29000
    # the same file dropped again: processed as already imported, nothing changes
    again = write(
        inbox, "036o006_20240701_1.csv", [pay_row("01", "100001", 1, "1001", "1", 1000, "2024-06-20")]
    )
    (inbox / f"{again.name}.done").write_text("")
    out = io.StringIO()
    call_command("import_inbox", str(inbox), "--json", stdout=out)
    files = json.loads(out.getvalue().strip().splitlines()[-1])["files"]
    assert files[0]["status"] == "already_imported"
    assert inst("100001", 1).principal_outstanding == 29000
    # a bad standard file: rejected/ with the line and item, nothing written
    bad = write(inbox, "036o007_20240920_1.csv", [dun_row("2024-09-31")])
    (inbox / f"{bad.name}.done").write_text("")
    out = io.StringIO()
    with pytest.raises(CommandError):
        call_command("import_inbox", str(inbox), "--json", stdout=out)
    files = json.loads(out.getvalue().strip().splitlines()[-1])["files"]
    assert files[0]["status"] == "rejected" and (files[0]["errors"][0]["line"], files[0]["errors"][0]["column"]) == (
        2, "督促状発行日")  # fmt: skip
    assert (inbox / "rejected" / bad.name).exists() and DunningNotice.objects.count() == 0


def test_co_owners(people: Any, tmp_path: Path, write_csv: Callable[..., Path]) -> None:
    from choshu.taxpayers.models import CoOwner

    m = people
    taxpayers_import(
        municipality=m, path=write_csv(TAXPAYER_HEADER, ["5001,co_ownership,川口 太郎 外1名,,,,,,,,,,1,"])
    )
    rows = [
        {"市区町村コード": CITY, "課税年度": "2024", "共有_宛名番号": "5001", "共有資産番号": "A1", "構成員連番": str(n),
         "構成員_義務者宛名番号": no, "代表者フラグ": rep, "現況持分_分子": "1", "現況持分_分母": "2", **OPS}
        for n, no, rep in ((1, "1001", "1"), (2, "1002", "0"))
    ]  # fmt: skip
    s = stdlink_import(municipality=m, path=write(tmp_path, "036o011_1.csv", rows))
    assert s.created == 2 and CoOwner.objects.filter(is_current=True).count() == 2
    bad = [{**rows[0], "代表者フラグ": "0"}, rows[1]]
    errors = refused(write(tmp_path, "036o011_2.csv", bad), m)
    assert errors and CoOwner.objects.filter(is_current=True, is_representative=True).count() == 1


def test_levies_receipts_differing_from_the_payments_are_warned(people: Any, tmp_path: Path) -> None:
    m = people
    load_levies(tmp_path, m)
    stdlink_import(municipality=m, path=write(tmp_path, "036o006_w.csv", [
        pay_row("01", "100001", 1, "1001", "1", 1000, "2024-06-20")]))  # fmt: skip
    rows = [levy_row(*LEVIES[0], 収納額_本税="1000"), levy_row(*LEVIES[1], 収納額_本税="500")]
    s = stdlink_import(
        municipality=m, path=write(tmp_path, "036o005_w.csv", rows), booking_date=date(2024, 4, 1)
    )
    assert s.warnings == [
        "3行目: 収納額_本税 500円と choshu の収納額（本税）0円が一致しません（収納履歴情報の取込漏れがないか確認してください）"
    ]


def test_deleting_what_the_feed_never_sent_changes_nothing(people: Any, tmp_path: Path) -> None:
    row = levy_row("01", "100009", 1, "1001", "2024-06-30", 5000, 削除フラグ="1")
    s = stdlink_import(
        municipality=people, path=write(tmp_path, "036o005_del.csv", [row]), booking_date=date(2024, 4, 1)
    )
    assert (s.rows, s.unchanged) == (1, 1)
    assert Installment.objects.count() == 0 and StdRecord.objects.count() == 0


def test_provisional_amount_change_is_refused(people: Any, tmp_path: Path) -> None:
    m = people
    load_levies(tmp_path, m)
    stdlink_import(municipality=m, path=write(tmp_path, "036o006_p1.csv", [
        pay_row("05", "500001", 1, "1002", "1", 1000, "2024-05-20", kari="0")]))  # fmt: skip
    errors = refused(write(tmp_path, "036o006_p2.csv", [
        pay_row("05", "500001", 1, "1002", "1", 2000, "2024-05-20", kari="1")]), m)  # fmt: skip
    assert errors[0]["column"] == "収納額_本税" and "変更できません" in errors[0]["reason"]
    # 仮消区分 9: the provisional payment is cancelled
    stdlink_import(municipality=m, path=write(tmp_path, "036o006_p3.csv", [
        pay_row("05", "500001", 1, "1002", "1", 1000, "2024-05-20", kari="9")]))  # fmt: skip
    assert Payment.objects.get().status == PaymentStatus.CANCELLED


# --- every kind: the same content again changes nothing; a bad row names its line and item -------------


def _cal(n: int) -> dict[str, str]:
    return {"市区町村コード": CITY, "賦課年度": "2024", "業務詳細（科目）コード": "01", "期別": str(n),
            "期別名称": f"第{n}期", "年月": f"2024{5 + n:02d}", "納期限": f"2024-{5 + n:02d}-30", **OPS}  # fmt: skip


def _stop(n: int) -> dict[str, str]:
    return {"市区町村コード": CITY, "督促停止管理番号": f"S{n}", "宛名番号": "1002", **period("05", 2024, "500001", 1),
            "督促停止年月日": "2024-06-10", "督促停止事由": "01", "督促停止解除年月日": "", **OPS}  # fmt: skip


def _stop_head(n: int) -> dict[str, str]:
    return {"市区町村コード": CITY, "督促停止管理番号": f"S{n}", "宛名番号": "1002", "督促停止年月日": "2024-06-10",
            "督促停止事由": "01", **OPS}  # fmt: skip


def _ret(n: int) -> dict[str, str]:
    return {"市区町村コード": CITY, "宛名番号": "1001", "業務詳細（科目）コード": "01", "返戻物種別": "01",
            "履歴番号": str(n), "賦課年度": "2024", "期別": "01", "通知書番号": "100001", "返戻日": "2024-07-05", **OPS}  # fmt: skip


def _rep(n: int) -> dict[str, str]:
    return {"市区町村コード": CITY, "納税義務者_宛名番号": "1001", "代理人_宛名番号": "3001", "業務詳細（科目）コード": "00",
            "代理人_有効期間開始年月日": f"2024-0{n}-01", "代理人_肩書": "01", **OPS}  # fmt: skip


CASES = [
    # kind, row maker, the bad item, a bad value, the records choshu holds afterwards
    ("036o015", _cal, "年月", "2024-13", lambda: InstallmentCalendar.objects.count()),
    ("036o009", _stop, "督促停止年月日", "", lambda: DunningSuppression.objects.count()),
    ("036o008", _stop_head, "宛名番号", "8888", lambda: StdRecord.objects.filter(kind="036o008").count()),
    ("036o012", _ret, "返戻日", "2024/07/05", lambda: StdRecord.objects.filter(kind="036o012").count()),
    (
        "036o013",
        _rep,
        "代理人_宛名番号",
        "4444",
        lambda: Representative.objects.filter(is_current=True).count(),
    ),
]


@pytest.mark.parametrize(("kind", "make", "item", "bad", "count"), CASES, ids=[c[0] for c in CASES])
def test_each_kind_again_and_bad_rows(
    people: Any, tmp_path: Path, kind: str, make: Any, item: str, bad: str, count: Any
) -> None:
    m = people
    load_levies(tmp_path, m)
    s = stdlink_import(municipality=m, path=write(tmp_path, f"{kind}_1.csv", [make(1), make(2)]))
    assert s.created == 2 and count() == 2
    changes = StdRecordChange.objects.count()
    again = [{**make(1), "操作時刻": "23:59:59"}, {**make(2), "操作者ID": "U0002"}]
    s = stdlink_import(municipality=m, path=write(tmp_path, f"{kind}_2.csv", again, encoding="cp932"))
    assert (s.unchanged, s.created, s.updated) == (2, 0, 0)
    assert count() == 2 and StdRecordChange.objects.count() == changes
    errors = refused(write(tmp_path, f"{kind}_3.csv", [make(3), {**make(4), item: bad}]), m)
    assert [(e["line"], e["column"]) for e in errors] == [(3, item)]
    assert count() == 2


def test_breakdowns_and_deleting_an_installment_with_one(people: Any, tmp_path: Path) -> None:
    from choshu.levies.models import InstallmentBreakdown

    m = people
    nhi = {"調定額_国民健康保険内訳_医療一般分": "50000", "調定額_国民健康保険内訳_医療退職分": "1000",
           "調定額_国民健康保険内訳_支援一般分": "20000", "調定額_国民健康保険内訳_介護一般分": "9000"}  # fmt: skip
    rows = [
        levy_row("04", "400001", 1, "1001", "2024-04-30", 12000, 調定額_都市計画税="2000"),
        levy_row("07", "700001", 1, "1001", "2024-07-31", 80000, **nhi),
    ]
    stdlink_import(municipality=m, path=write(tmp_path, "036o005_b.csv", rows), booking_date=date(2024, 4, 1))

    def split(notice: str) -> list[int]:
        return list(InstallmentBreakdown.objects.filter(installment=inst(notice, 1)).order_by("seq")
                    .values_list("levied", flat=True))  # fmt: skip

    assert split("400001") == [10000, 2000]
    assert split("700001") == [51000, 20000, 9000]
    deleted = [{**rows[0], "削除フラグ": "1"}]
    s = stdlink_import(
        municipality=m, path=write(tmp_path, "036o005_bd.csv", deleted), booking_date=date(2024, 5, 1)
    )
    assert s.deleted == 1 and inst("400001", 1).principal_levied == 0 and split("400001") == [0, 0]
