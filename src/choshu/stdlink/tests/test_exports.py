"""``choshu stdlink-export`` (docs/formats.md §35): each file read back with plain ``csv`` and compared
with rows computed here from the scenario.

The scenario is the sample city (root conftest) with a 督促 of 2024-07-15 (fee 100円), then:
1001 — a seizure (2024-08-01) of 100001-1, a 繰上徴収 of 100001-2, a 催告書 of 2024-10-01;
1002 (支援措置, address 鳩ヶ谷本町) — a pledged plan of 10,800円 in 3 instalments on 500001-1;
2001 — a 徴収猶予 (2024-06-10 to 2025-06-09) and an appropriation of 5,000円 on 300001-1;
1001's 400001-1 written off (booked 2026-03-31) after a 執行停止.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from datetime import date, datetime
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from choshu.accounts.models import Role
from choshu.audit.models import AuditLog
from choshu.cases.models import Case
from choshu.cases.services import case_setting_set, cases_run
from choshu.dunning.models import ReminderLetter, ReminderLetterInstallment, ReminderList
from choshu.dunning.services import dunning_fee_set, dunning_run
from choshu.enforcement.models import AdvanceCollection, Seizure, SeizureStatus
from choshu.levies.models import Installment, LedgerTransaction
from choshu.levies.selectors import amounts_due_lines
from choshu.plans.models import PaymentPlan, PlanInstalment, PlanMethod, PlanStatus
from choshu.receipts.models import SlipIssue
from choshu.refunds.models import Appropriation, Overpayment
from choshu.relief.models import (
    ExtinctionReason,
    Relief,
    ReliefGround,
    ReliefKind,
    ReliefStatus,
    WriteOffBatch,
    WriteOffLine,
    WriteOffStatus,
)
from choshu.stdlink.exports import KINDS, plan_split
from choshu.taxpayers.models import Heir, Taxpayer

D = date
AS_OF = D(2026, 12, 1)
TODAY = D(2026, 12, 8)


def inst(notice_no: str, no: int = 1) -> Installment:
    return Installment.objects.select_related("levy").get(levy__notice_no=notice_no, installment_no=no)


def aware(day: date) -> datetime:
    return timezone.make_aware(datetime(day.year, day.month, day.day, 10, 0))


@pytest.fixture
def s(sample_city: Any, make_user: Callable[..., Any]) -> dict[str, Any]:
    city = sample_city
    dunning_fee_set(actor=None, municipality=city, valid_from=D(2024, 4, 1), yen=100, source="税条例（例）")
    dunning_run(municipality=city, as_of=D(2024, 7, 15), today=D(2024, 7, 15))
    case_setting_set(actor=None, municipality=city, valid_from=D(2024, 1, 1), min_amount=1, min_age_days=0,
                     note="試験")  # fmt: skip
    cases_run(municipality=city, as_of=D(2024, 7, 20), today=D(2024, 7, 20))
    chief = make_user("chief", role=Role.CHIEF, municipality=city, team="管理")
    Taxpayer.objects.filter(taxpayer_no="1002").update(support_measure_from=D(2024, 1, 1))
    case = Case.objects.get(taxpayer__taxpayer_no="1001", closed_on__isnull=True)
    t1001 = Taxpayer.objects.get(taxpayer_no="1001")
    seizure = Seizure.objects.create(
        municipality=city, taxpayer=t1001, case=case, kind="deposit", description="普通預金", amount=30000,
        executed_on=D(2024, 8, 1), served_on=D(2024, 8, 2), status=SeizureStatus.ACTIVE, created_by=chief,
    )  # fmt: skip
    seizure.installments.set([inst("100001")])
    Seizure.objects.filter(pk=seizure.pk).update(created_at=aware(D(2024, 8, 1)))
    adv = AdvanceCollection.objects.create(municipality=city, installment=inst("100001", 2), notified_on=D(2024, 8, 5),
                                           new_due_date=D(2024, 8, 15), ground="1号", created_by=chief)  # fmt: skip
    AdvanceCollection.objects.filter(pk=adv.pk).update(created_at=aware(D(2024, 8, 5)))
    t1002 = Taxpayer.objects.get(taxpayer_no="1002")
    plan = PaymentPlan.objects.create(
        municipality=city, taxpayer=t1002, status=PlanStatus.PLEDGED, method=PlanMethod.EQUAL, principal=10800,
        fee=100, late_charge=0, total=10900, note="分納", pledged_on=D(2026, 11, 1), created_by=chief,
    )  # fmt: skip
    plan.installments.set([inst("500001")])
    for no, amount, due in [(1, 3700, D(2026, 12, 25)), (2, 3600, D(2027, 1, 25)), (3, 3600, D(2027, 2, 25))]:
        PlanInstalment.objects.create(plan=plan, no=no, amount=amount, due_on=due)
    PaymentPlan.objects.filter(pk=plan.pk).update(created_at=aware(D(2026, 11, 1)))
    t2001 = Taxpayer.objects.get(taxpayer_no="2001")
    relief = Relief.objects.create(
        municipality=city, taxpayer=t2001, kind=ReliefKind.COLLECTION_DEFERRAL, ground=ReliefGround.ILLNESS,
        start=D(2024, 6, 10), end=D(2025, 6, 9), status=ReliefStatus.ACTIVE, note="入院",
    )  # fmt: skip
    relief.installments.set([inst("300001")])
    Relief.objects.filter(pk=relief.pk).update(created_at=aware(D(2024, 6, 10)))
    stop = Relief.objects.create(
        municipality=city, taxpayer=t1001, kind=ReliefKind.ENFORCEMENT_SUSPENSION, ground=ReliefGround.NO_PROPERTY,
        start=D(2024, 9, 1), status=ReliefStatus.ACTIVE, note="財産なし",
    )  # fmt: skip
    stop.installments.set([inst("400001")])
    Relief.objects.filter(pk=stop.pk).update(created_at=aware(D(2024, 9, 1)))
    txn = LedgerTransaction.objects.order_by("pk").first()
    assert txn is not None
    over = Overpayment.objects.create(
        municipality=city, taxpayer=t2001, source_txn=txn, source_entry_id=999_001, origin="double_payment",
        cause=4, arose_on=D(2026, 10, 1), paid_on=D(2026, 10, 1), amount=5000, appropriated=5000,
        status="appropriated", created_at=aware(D(2026, 10, 1)),
    )  # fmt: skip
    appr = Appropriation.objects.create(
        municipality=city, overpayment=over, taxpayer=t2001, installment=inst("300001"), component="principal",
        amount=5000, appropriable_on=D(2026, 10, 1), appropriated_on=D(2026, 10, 2), txn=txn,
    )  # fmt: skip
    ended = inst("400001")
    Installment.objects.filter(pk=ended.pk).update(extinguished_on=D(2025, 9, 1),
                                                   extinguished_reason="enforcement_suspension")  # fmt: skip
    batch = WriteOffBatch.objects.create(municipality=city, fiscal_year=2025, status=WriteOffStatus.BOOKED,
                                         booked_on=D(2026, 3, 31))  # fmt: skip
    WriteOffLine.objects.create(batch=batch, installment=ended, taxpayer=t1001, tax_item="04", levy_year=2024,
                                reason=ExtinctionReason.ENFORCEMENT_SUSPENSION, extinguished_on=D(2025, 9, 1),
                                principal=12000, late_charge=1500, dunning_fee=100)  # fmt: skip
    rl = ReminderList.objects.create(municipality=city, name="10月催告", as_of=D(2024, 10, 1), pay_by=D(2024, 10, 15),
                                     status="issued", created_by=chief)  # fmt: skip
    letter = ReminderLetter.objects.create(municipality=city, reminder_list=rl, taxpayer=t1001, issued_on=D(2024, 10, 1),
                                           as_of=D(2024, 10, 1), pay_by=D(2024, 10, 15), principal=59000,
                                           late_charge=0, fee=100, total=59100)  # fmt: skip
    ReminderLetterInstallment.objects.create(letter=letter, installment=inst("100001"), principal=30000,
                                             late_charge=0, fee=100)  # fmt: skip
    issue = SlipIssue.objects.create(
        municipality=city, taxpayer=t1002, slip_no="1234567890123456", principal=10800, late_charge=900, fee=100,
        total=11800, late_charge_as_of=D(2026, 11, 30), pay_by=D(2026, 12, 15), issued_by=chief,
        issued_at=aware(D(2026, 11, 30)),
        printed={"confirmation_no": "42", "barcode": "91234567", "ocr_upper": "U", "ocr_lower": "L",
                 "address": "埼玉県川口市鳩ヶ谷本町2-1-1", "postal_code": "3340002",
                 "lines": [{"installment": inst("500001").pk, "principal": 10800, "late_charge": 900, "fee": 100}]},
    )  # fmt: skip
    issue.installments.set([inst("500001")])
    heir = Taxpayer.objects.get(taxpayer_no="1002")
    Heir.objects.create(municipality=city, deceased=t1001, heir=heir, seq=1, share_numerator=1, share_denominator=2,
                        since=D(2026, 6, 1), changed_at=aware(D(2026, 6, 2)))  # fmt: skip
    return {"city": city, "chief": chief, "issue": issue, "plan": plan, "relief": relief, "stop": stop, "seizure": seizure,
            "adv": adv, "appr": appr, "txn": txn}  # fmt: skip


def export(out: Path, *args: str) -> dict[str, Any]:
    buf = StringIO()
    call_command("stdlink_export", "--out", str(out), *args, "--json", stdout=buf)
    return json.loads(buf.getvalue().strip().splitlines()[-1])


def read(out: Path, name: str, encoding: str = "utf-8") -> list[dict[str, str]]:
    with (out / name).open(encoding=encoding, newline="") as f:
        return list(csv.DictReader(f))


def one(result: dict[str, Any], kind: str) -> dict[str, Any]:
    return next(f for f in result["files"] if f["kind"] == kind)


K = [
    "市区町村コード",
    "合併前_市区町村コード",
    "賦課年度",
    "相当年度",
    "通知書番号",
    "業務詳細（科目）コード",
    "期別",
]


def key(r: dict[str, str]) -> tuple[str, ...]:
    return tuple(r[k] for k in K)


def k_of(i: Installment) -> tuple[str, ...]:
    return ("112038", "112038", str(i.levy.levy_year), str(i.levy.relevant_year), i.levy.notice_no, i.levy.tax_item,
            f"{i.installment_no:02d}")  # fmt: skip


def test_all_files_full(s: dict[str, Any], tmp_path: Path) -> None:
    tmp_path = tmp_path / "out"
    tmp_path.mkdir()
    res = export(tmp_path, "--kind", "all", "--full", "--as-of", AS_OF.isoformat(), "--operator", "chief")
    assert {f["kind"] for f in res["files"]} == set(KINDS)
    for f in res["files"]:
        data = (tmp_path / f["name"]).read_bytes()
        import hashlib

        assert hashlib.sha256(data).hexdigest() == f["sha256"]
        header = next(csv.reader(io.StringIO(data.decode("utf-8"))))
        assert header == KINDS[f["kind"]].header
        assert f["rows"] == len(read(tmp_path, f["name"]))
    assert AuditLog.objects.filter(kind="export", function__startswith="標準連携ファイル出力").count() == 1

    # 滞納明細: every installment past due and unpaid, with its flags and amounts as of the date
    rows = {key(r): r for r in read(tmp_path, one(res, "arrears")["name"])}
    expected = [i for i in Installment.objects.select_related("levy") if i.designated_due_date < AS_OF]
    assert set(rows) == {k_of(i) for i in expected}
    dues = {
        x.installment_id: x for x in amounts_due_lines(installment_ids=[i.pk for i in expected], as_of=AS_OF)
    }
    for i in expected:
        r = rows[k_of(i)]
        due = dues[i.pk]
        assert r["宛名番号"] == i.taxpayer.taxpayer_no
        assert (r["未納額_本税（料）"], r["未納額_延滞金"], r["未納額_督促手数料"]) == (
            str(due.principal_due), str(due.late_charge), str(due.dunning_fee))  # fmt: skip
        assert r["操作者ID"] == "chief" and r["削除フラグ"] == "0"
    assert rows[k_of(inst("100001"))]["処分の有無"] == "1"
    assert rows[k_of(inst("100001", 2))]["変更納期限"] == "2024-08-15"
    assert rows[k_of(inst("100001", 2))]["処分の有無"] == "0"
    assert rows[k_of(inst("500001"))]["分割納付の有無"] == "1"
    assert rows[k_of(inst("400001"))]["執行停止の有無"] == "1"
    assert rows[k_of(inst("400001"))]["欠損の有無"] == "1"
    assert rows[k_of(inst("400001"))]["未納額_本税（料）"] == "0"  # extinguished: nothing can be collected
    assert rows[k_of(inst("300001"))]["変更納期限"] == "0000-00-00"
    assert int(rows[k_of(inst("100001"))]["未納額_本税（料）"]) == 30000
    assert int(rows[k_of(inst("100001"))]["未納額_延滞金"]) > 0

    # 分割納付計画: 3,700 = 3,600 本税 … the 本税 first, then the fee
    plan = s["plan"]
    rows_p = read(tmp_path, one(res, "plan")["name"])
    split = plan_split(10800, 100, 0, [(inst("500001").pk, 10800)], [3700, 3600, 3600])
    assert split == [[(inst("500001").pk, 3700, 0, 0)], [(inst("500001").pk, 3600, 0, 0)],
                     [(inst("500001").pk, 3500, 100, 0)]]  # fmt: skip
    got = [(r["分割納付管理番号"], r["分割回数"], r["納付予定年月日"], r["分割納付金額_本税（料）"],
            r["分割納付金額_督促手数料"], r["分割納付金額_延滞金"], r["削除フラグ"], r["宛名番号"]) for r in rows_p]  # fmt: skip
    mgmt = f"3100{plan.pk:010d}"
    assert got == [
        (mgmt, "1", "2026-12-25", "3700", "0", "0", "0", "1002"),
        (mgmt, "2", "2027-01-25", "3600", "0", "0", "0", "1002"),
        (mgmt, "3", "2027-02-25", "3500", "100", "0", "0", "1002"),
    ]

    # 猶予 / 執行停止
    (y,) = read(tmp_path, one(res, "deferral")["name"])
    assert key(y) == k_of(inst("300001"))
    due = amounts_due_lines(installment_ids=[inst("300001").pk], as_of=D(2024, 6, 10))[0]
    assert (y["徴収（換価）猶予管理番号"], y["徴収（換価）猶予区分"], y["開始年月日"], y["終了年月日"], y["取消決議年月日"],
            y["猶予金額_本税（料）"], y["猶予金額_延滞金"]) == (
        f"4100{s['relief'].pk:010d}", "01", "2024-06-10", "2025-06-09", "0000-00-00", "70000", str(due.late_charge))  # fmt: skip
    (t,) = read(tmp_path, one(res, "suspension")["name"])
    assert key(t) == k_of(inst("400001"))
    assert (
        t["執行停止管理番号"],
        t["執行停止年月日"],
        t["執行停止取消年月日"],
        t["執行停止金額_本税（料）"],
    ) == (f"5100{s['stop'].pk:010d}", "2024-09-01", "0000-00-00", "12000")

    # 差押 (処分コード 02) and 繰上徴収 (01)
    (z,) = read(tmp_path, one(res, "seizure")["name"])
    assert (key(z), z["処分コード"], z["滞納処分管理番号"], z["発送年月日"], z["到達年月日"], z["解除年月日"], z["本税（料）"],
            z["督促手数料"]) == (k_of(inst("100001")), "02", f"0200{s['seizure'].pk:010d}", "2024-08-01", "2024-08-02",
                            "0000-00-00", "30000", "100")  # fmt: skip
    (a,) = read(tmp_path, one(res, "advance")["name"])
    assert (
        key(a),
        a["処分コード"],
        a["繰上徴収決議年月日"],
        a["繰上徴収後_納期限"],
        a["繰上徴収後_納期限_時刻"],
    ) == (k_of(inst("100001", 2)), "01", "2024-08-05", "2024-08-15", "00:00:00")

    # 充当明細
    (j,) = read(tmp_path, one(res, "appropriation")["name"])
    assert (key(j), j["充当管理番号"], j["処分コード"], j["充当日（予定日）"], j["延滞金計算年月日"], j["充当額_本税（料）"],
            j["充当額_延滞金"], j["義務者宛名番号"], j["滞納処分費への充当有無"]) == (
        k_of(inst("300001")), f"7200{s['appr'].pk:010d}", "99", "2026-10-02", "2026-10-01", "5000", "0", "2001", "0")  # fmt: skip

    # 不納欠損
    (w,) = read(tmp_path, one(res, "write_off")["name"])
    assert (key(w), w["宛名番号"], w["欠損年月日"], w["不納欠損事由"], w["不納欠損金額_本税（料）"], w["不納欠損金額_延滞金"],
            w["不納欠損金額_督促手数料"]) == (k_of(inst("400001")), "1001", "2026-03-31", "02", "12000", "1500", "100")  # fmt: skip

    # 時効: unpaid, past due; 5-year dates (the tax items here have 5 years)
    rows_j = {key(r): r for r in read(tmp_path, one(res, "prescription")["name"])}
    assert k_of(inst("100001")) in rows_j
    assert rows_j[k_of(inst("100001"))]["2年時効完成年月日"] == "0000-00-00"
    assert rows_j[k_of(inst("100001"))]["5年時効完成年月日"] > "2029-01-01"

    # 催告発送管理
    (c,) = read(tmp_path, one(res, "reminder")["name"])
    assert (key(c), c["発送年月日"], c["催告期限"], c["宛名番号"]) == (
        k_of(inst("100001")),
        "2024-10-01",
        "2024-10-15",
        "1001",
    )

    # 納付書発行: per installment as printed, the addressee never
    (n,) = read(tmp_path, one(res, "slip")["name"])
    assert (n["通知書番号"], n["期別"], n["発行システム区分"], n["発行回数"], n["発行連番"], n["宛名番号"], n["収納額"],
            n["延滞金"], n["督促手数料"], n["指定期限"], n["納付番号"], n["MPN確認番号"], n["バーコード情報"],
            n["納付済通知書を一意に特定する番号"]) == (
        "500001", "01", "03", "1", "1", "1002", "10800", "900", "100", "2026-12-15", "1234567890123456", "42",
        "91234567", f"{s['issue'].pk:012d}")  # fmt: skip

    # 承継
    (h,) = read(tmp_path, one(res, "succession")["name"])
    assert (h["納税義務者_宛名番号"], h["承継納付義務者_宛名番号"], h["承継納付義務者連番"], h["異動年月日"], h["持分_分子"],
            h["持分_分母"], h["削除フラグ"]) == ("1001", "1002", "1", "2026-06-01", "1", "2", "0")  # fmt: skip

    # 延滞金減免 (法15条の9): the illness deferral exempts in full (1), so does the open 執行停止 (no end yet)
    reductions = {r["延滞金減免管理番号"]: r for r in read(tmp_path, one(res, "late_charge_relief")["name"])}
    assert set(reductions) == {f"4100{s['relief'].pk:010d}", f"5100{s['stop'].pk:010d}"}
    ill, stop = reductions[f"4100{s['relief'].pk:010d}"], reductions[f"5100{s['stop'].pk:010d}"]
    assert (ill["通知書番号"], ill["宛名番号"], ill["開始年月日"], ill["終了年月日"], ill["免除区分"], ill["免除金額"]) == (
        "300001", "2001", "2024-06-10", "2025-06-09", "1", "0")  # fmt: skip
    assert (stop["通知書番号"], stop["宛名番号"], stop["開始年月日"], stop["終了年月日"], stop["免除区分"]) == (
        "400001", "1001", "2024-09-01", "0000-00-00", "1")  # fmt: skip

    # no address (支援措置 or not), no 個人番号 anywhere
    everything = "".join((tmp_path / f["name"]).read_text("utf-8") for f in res["files"])
    for secret in ("鳩ヶ谷本町", "東川口", "621498320257", "3340002"):
        assert secret not in everything


def test_delta_vs_full(s: dict[str, Any], tmp_path: Path) -> None:
    full_dir, delta_dir = tmp_path / "f", tmp_path / "d"
    full_dir.mkdir()
    delta_dir.mkdir()
    full = export(full_dir, "--kind", "all", "--full", "--as-of", AS_OF.isoformat())
    delta = export(delta_dir, "--kind", "all", "--since", "2026-11-01", "--as-of", AS_OF.isoformat())
    counts = {f["kind"]: f["rows"] for f in delta["files"]}
    fulls = {f["kind"]: f["rows"] for f in full["files"]}
    # changed since 2026-11-01: the plan only (made then); the rest is older (the ledger of the sample
    # city was recorded when the test ran: every installment's entries are new)
    assert counts["plan"] == 3 and fulls["plan"] == 3
    for old in ("deferral", "suspension", "seizure", "advance", "write_off", "reminder"):
        assert counts[old] == 0, old
        assert fulls[old] == 1, old
    assert counts["appropriation"] == 1  # its ledger transaction was recorded now
    # a plan cancelled: in the delta with 削除フラグ 1
    PaymentPlan.objects.filter(pk=s["plan"].pk).update(status=PlanStatus.CANCELLED)
    again = tmp_path / "a"
    again.mkdir()
    res = export(again, "--kind", "plan", "--since", "2026-11-02", "--as-of", AS_OF.isoformat())
    assert res["files"][0]["rows"] == 0  # the status change has no history row: made before the date
    res = export(again, "--kind", "plan", "--since", "2026-11-01", "--as-of", AS_OF.isoformat())
    assert {r["削除フラグ"] for r in read(again, res["files"][0]["name"])} == {"1"}
    res = export(again, "--kind", "plan", "--full", "--as-of", AS_OF.isoformat())
    assert res["files"][0]["rows"] == 0  # full = the plans in force


def test_delta_arrears_since_today_finds_the_ledger_of_today(s: dict[str, Any], tmp_path: Path) -> None:
    tmp_path = tmp_path / "out"
    tmp_path.mkdir()
    today = timezone.localdate()
    res = export(tmp_path, "--kind", "arrears", "--since", today.isoformat(), "--as-of", AS_OF.isoformat())
    assert res["files"][0]["rows"] == 5  # the levies were booked by this test run (ledger recorded today)


def test_slices(s: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Read 2 records at a time (keyset): the same files, byte for byte apart from the stamp."""
    from choshu.stdlink import exports

    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    big = export(a, "--kind", "all", "--full", "--as-of", AS_OF.isoformat())
    monkeypatch.setattr(exports, "SLICE", 2)
    small = export(b, "--kind", "all", "--full", "--as-of", AS_OF.isoformat())

    def body(folder: Path, name: str) -> list[list[str]]:  # without the run's stamp (操作年月日・操作時刻)
        return [[v for k, v in r.items() if k not in ("操作年月日", "操作時刻")] for r in read(folder, name)]

    for x, y in zip(big["files"], small["files"], strict=True):
        assert x["rows"] == y["rows"]
        assert sorted(body(a, x["name"])) == sorted(body(b, y["name"])), x["kind"]


def test_cp932(s: dict[str, Any], tmp_path: Path) -> None:
    tmp_path = tmp_path / "out"
    tmp_path.mkdir()
    res = export(
        tmp_path, "--kind", "deferral", "--full", "--encoding", "cp932", "--as-of", AS_OF.isoformat()
    )
    f = res["files"][0]
    raw = (tmp_path / f["name"]).read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf")
    assert (
        raw.decode("cp932")
        .splitlines()[0]
        .startswith("市区町村コード,合併前_市区町村コード,徴収（換価）猶予管理番号")
    )
    assert read(tmp_path, f["name"], "cp932")[0]["宛名番号"] == "2001"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--kind", "nothing", "--full"], "出力できるファイルの種類ではありません"),
        (["--kind", "plan", "--since", "2026-13-01"], "--since の日付が不正です"),
        (["--kind", "plan", "--full", "--as-of", "2099-01-01"], "未来です"),
        (["--kind", "plan", "--full", "--as-of", "R8.1.1"], "--as-of の日付が不正です"),
        (["--kind", "plan", "--since", "2099-01-01"], "未来です"),
        (["--kind", "plan"], "どちらか一方"),
        (["--kind", "plan", "--full", "--since", "2026-01-01"], "どちらか一方"),
        (["--kind", "plan", "--full", "--encoding", "latin-1"], "utf-8 か cp932"),
        (["--kind", "plan", "--full", "--operator", "nobody"], "利用者 nobody"),
    ],
)
def test_bad_input(s: dict[str, Any], tmp_path: Path, args: list[str], message: str) -> None:
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(CommandError) as exc:
        call_command("stdlink_export", "--out", str(out), *args)
    assert exc.value.returncode == 2
    assert message in str(exc.value)
    assert list(out.iterdir()) == []


def test_missing_folder(s: dict[str, Any], tmp_path: Path) -> None:
    with pytest.raises(CommandError) as exc:
        call_command("stdlink_export", "--out", str(tmp_path / "nope"), "--kind", "all", "--full")
    assert exc.value.returncode == 2
    assert "出力先のフォルダ" in str(exc.value)
    assert not (tmp_path / "nope").exists()


def test_all_or_nothing(s: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A failure in the last file leaves none of the files (nor a part file) and no audit record."""
    from choshu.stdlink import exports

    def boom(run: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setitem(
        exports.KINDS, "reminder", exports.Kind("reminder", "催告", "saikoku_hasso", ["x"], boom)
    )
    before = AuditLog.objects.count()
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(RuntimeError):
        call_command("stdlink_export", "--out", str(out), "--kind", "all", "--full")
    assert list(out.iterdir()) == []
    assert AuditLog.objects.count() == before


def test_arrears_paid_in_full_is_deleted_in_the_delta(sample_city: Any, write_csv: Callable[..., Path],
                                                       tmp_path: Path) -> None:  # fmt: skip
    """1002 pays 500001 before its 納期限 (no 延滞金): the delta sends it with 削除フラグ 1, the full file
    no longer has it."""
    from choshu.formats.payments import BANK_HEADER
    from choshu.receipts.services import payments_import
    from choshu.receipts.slips import taxpayer_slips

    tp = Taxpayer.objects.get(taxpayer_no="1002")
    rows = [
        f"{x.ocr_lower},{x.amount},2024-05-20,0001,123,2024-05-20" for x in taxpayer_slips(sample_city, tp.pk)
    ]
    payments_import(municipality=sample_city, channel="bank", path=write_csv(",".join(BANK_HEADER), rows))
    assert inst("500001").principal_outstanding == 0
    out = tmp_path / "out"
    out.mkdir()
    delta = export(
        out, "--kind", "arrears", "--since", timezone.localdate().isoformat(), "--as-of", AS_OF.isoformat()
    )
    rows_d = {r["通知書番号"] + r["期別"]: r for r in read(out, delta["files"][0]["name"])}
    assert rows_d["50000101"]["削除フラグ"] == "1"
    assert rows_d["50000101"]["未納額_本税（料）"] == "0"
    assert rows_d["30000101"]["削除フラグ"] == "0"
    full = export(out, "--kind", "arrears", "--full", "--as-of", AS_OF.isoformat())
    assert "50000101" not in {r["通知書番号"] + r["期別"] for r in read(out, full["files"][0]["name"])}
    assert {r["通知書番号"] + r["期別"] for r in read(out, full["files"][0]["name"])} == {
        "10000101", "10000102", "40000101", "30000101"}  # fmt: skip


def test_queries_do_not_grow_with_the_records(s: dict[str, Any], tmp_path: Path) -> None:
    """Set-based: more seizures (of the same day) and more reminder lines cost no more queries."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def count(name: str) -> int:
        out = tmp_path / name
        out.mkdir()
        with CaptureQueriesContext(connection) as q:
            export(out, "--kind", "all", "--full", "--as-of", AS_OF.isoformat())
        return len(q.captured_queries)

    before = count("a")
    chief, case = s["chief"], Case.objects.get(taxpayer__taxpayer_no="1001", closed_on__isnull=True)
    for _ in range(5):
        z = Seizure.objects.create(
            municipality=s["city"], taxpayer=case.taxpayer, case=case, kind="deposit", description="定期預金",
            amount=1000, executed_on=D(2024, 8, 1), status=SeizureStatus.ACTIVE, created_by=chief,
        )  # fmt: skip
        z.installments.set([inst("100001"), inst("100001", 2)])
    assert count("b") == before


def test_lines_go_through_the_spreadsheet_safe_writer() -> None:
    """A text cell starting like a formula is written with ``'`` (formats.csv_safe); a negative amount
    stays a number; zero-padded codes keep their zeros."""
    from collections import Counter

    from choshu.stdlink.exports import Kind, _encoded

    kind = Kind(
        "x", "試験", "x", ["a", "b", "c", "d"], lambda run: iter([["=HYPERLINK(1)", "-1200", "0001", "@x"]])
    )
    counts: Counter[str] = Counter()
    text = b"".join(_encoded(kind, None, "utf-8", counts)).decode()  # type: ignore[arg-type]
    assert text.splitlines()[1] == "'=HYPERLINK(1),-1200,0001,'@x"
    assert counts["rows"] == 1
