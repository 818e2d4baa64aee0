"""逆連携 037 → 036: the files this system owns, for a 統合収納 system run beside it (issue 22 §3).

``choshu stdlink-export --kind KIND --out DIR [--since YYYY-MM-DD | --full] [--as-of DATE]``; the
layouts are docs/formats.md §35, the items standard-data.md §2 (as a vendor implementation reveals
them). Every file is CSV with the standard's item names as header, one row per record, dates
``YYYY-MM-DD`` (``0000-00-00`` when empty), times ``HH:MM:SS``, 期別 two digits; UTF-8 (no BOM) or CP932.

* **Full** (``--full``): the current state — every record in effect or ended, as the table reads now.
* **Delta** (``--since``): the records created or changed on or after the date, by the timestamps and
  history the tables keep (the rule of each file is in ``Kind.delta``'s docstring and formats.md §35).

No file has an address column, so a 支援措置 person's address can appear in none (the standard's 037
files carry keys and amounts only); 個人番号 is never written (no file of the standard asks for it).
Queries read by keyset slices of ``SLICE`` rows, so memory does not grow with the tables. All the
files of one run are written through ``core.outfiles.output_file`` and published together inside the
transaction of the audit record (出力): all or nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from choshu.approvals.models import ChangeRequest
from choshu.audit.models import AuditKind
from choshu.audit.services import audit_record
from choshu.core.models import Municipality
from choshu.core.outfiles import NOTHING, check_out, output_file
from choshu.dunning.reminder_models import ReminderLetterInstallment
from choshu.enforcement.models import AdvanceCollection, Seizure, SeizureStatus
from choshu.formats.csv_safe import cp932_unencodable, csv_line_writer, encode_cp932
from choshu.levies.models import Installment, LedgerEntry
from choshu.levies.selectors import DueLine, amounts_due_lines
from choshu.plans.models import PaymentPlan, PlanInstalment, PlanStatus, PlanStatusChange
from choshu.receipts.models import SlipIssue
from choshu.refunds.models import Appropriation
from choshu.relief.models import (
    ExtinctionReason,
    Relief,
    ReliefKind,
    ReliefStatus,
    WriteOffLine,
    WriteOffStatus,
)
from choshu.relief.prescription import compute, installment_events, prescription_years
from choshu.relief.relief import exemption_of
from choshu.rules.late_charge import ExemptionMode
from choshu.taxpayers.models import Heir

SLICE = 1000
FUNCTION = "標準連携ファイル出力（統合滞納→統合収納）"
ENCODINGS = ("utf-8", "cp932")
NO_DATE = "0000-00-00"
NO_TIME = "00:00:00"

# --- the common item groups (standard-data.md §2) --------------------------------------------------------

K_ITEMS = [
    "市区町村コード", "合併前_市区町村コード", "賦課年度", "相当年度", "通知書番号", "業務詳細（科目）コード",
    "特別徴収義務者指定番号", "期別", "申告履歴番号", "事業年度番号", "児童_宛名番号",
]  # fmt: skip
K_PERIOD = K_ITEMS[2:]
T_ITEMS = ["削除フラグ", "操作者ID", "操作年月日", "操作時刻"]
LATEST = ["最新フラグ", "指定都市_行政区等コード"]
FILING = ["申告区分", "事業年度開始日", "事業年度終了日"]
AMOUNTS = ["本税（料）", "延滞金", "督促手数料", "法人住民税内訳_均等割額", "法人住民税内訳_法人税割額"]

# The installment's columns every file reads (values, from the installment or through a relation).
_INST = (
    "levy__levy_year", "levy__relevant_year", "levy__notice_no", "levy__tax_item", "levy__special_collector_no",
    "installment_no", "levy__filing_history_no", "levy__business_year_no", "taxpayer__taxpayer_no",
    "levy__filing_type", "levy__business_year_start", "levy__business_year_end",
)  # fmt: skip
N_INST = len(_INST)


def inst_cols(prefix: str = "") -> list[str]:
    return [prefix + c for c in _INST]


def d(value: date | None) -> str:
    return value.isoformat() if value else NO_DATE


@dataclass(frozen=True)
class Inst:
    """The period-detail key of one installment, as the files write it."""

    levy_year: int
    relevant_year: int
    notice_no: str
    tax_item: str
    special_collector_no: str
    installment_no: int
    filing_history_no: int
    business_year_no: int
    taxpayer_no: str
    filing_type: str
    business_year_start: date | None
    business_year_end: date | None

    def period(self) -> list[str]:
        """賦課年度 … 児童_宛名番号 (児童_宛名番号: not kept, empty)."""
        return [
            str(self.levy_year), str(self.relevant_year), self.notice_no, self.tax_item,
            self.special_collector_no, f"{self.installment_no:02d}", str(self.filing_history_no),
            str(self.business_year_no), "",
        ]  # fmt: skip

    def filing(self) -> list[str]:
        return [self.filing_type, d(self.business_year_start), d(self.business_year_end)]


def inst(values: Sequence[Any]) -> Inst:
    return Inst(*values[:N_INST])


@dataclass
class Run:
    """One run's settings and the stamp of its rows (操作者ID, 操作年月日, 操作時刻)."""

    municipality: Municipality
    full: bool
    since: date | None
    as_of: date
    operator: str
    stamp: datetime

    @property
    def since_at(self) -> datetime:
        assert self.since is not None
        return timezone.make_aware(datetime.combine(self.since, time.min))

    def key(self) -> list[str]:
        code = self.municipality.code
        return [code, code]  # 合併前_市区町村コード defaults to 市区町村コード

    def tail(self, deleted: bool = False) -> list[str]:
        return [
            "1" if deleted else "0",
            self.operator,
            self.stamp.date().isoformat(),
            self.stamp.strftime("%H:%M:%S"),
        ]


Rows = Iterator[list[str]]


def keyset(qs: QuerySet[Any], cols: Sequence[str]) -> Iterator[list[tuple[Any, ...]]]:
    """``(pk, *cols)`` of ``qs`` by primary key, ``SLICE`` rows at a time."""
    last = 0
    while True:
        rows = list(qs.filter(pk__gt=last).order_by("pk").values_list("pk", *cols)[:SLICE])
        if not rows:
            return
        last = rows[-1][0]
        yield rows


def dues_on(pairs: Iterable[tuple[int, date]]) -> dict[tuple[int, date], DueLine]:
    """What each (installment, day) owed on that day: one ``amounts_due_lines`` call per distinct day
    of the slice (the records of a slice share few days: a run's seizures, a month's reliefs)."""
    by_day: dict[date, set[int]] = {}
    for iid, day in pairs:
        by_day.setdefault(day, set()).add(iid)
    out: dict[tuple[int, date], DueLine] = {}
    for day, ids in by_day.items():
        for x in amounts_due_lines(installment_ids=sorted(ids), as_of=day):
            out[(x.installment_id, day)] = x
    return out


def _decided_since(field_name: str, since_at: datetime) -> Exists:
    return Exists(ChangeRequest.objects.filter(pk=OuterRef(field_name), decided_at__gte=since_at))


# --- 2.1 滞納明細 -------------------------------------------------------------------------------------

ARREARS_HEADER = (
    K_ITEMS + LATEST + ["宛名番号", "被保険者番号", "配偶者_宛名番号", "国保記号番号"] + FILING
    + ["変更納期限", "分割納付の有無", "処分の有無", "執行停止の有無", "欠損の有無"] + T_ITEMS
    + ["未納額_本税（料）", "未納額_延滞金", "未納額_督促手数料", "延滞金計算基準日"]
)  # fmt: skip


def _changed_installments(run: Run) -> Q:
    """An installment touched on or after ``since``: a ledger entry recorded, extinguished, or a plan,
    relief, seizure, 繰上徴収 or booked write-off about it made or decided."""
    at, on = run.since_at, run.since
    i = OuterRef("pk")
    plan_changed = PaymentPlan.objects.filter(installments=i).filter(
        Q(created_at__gte=at)
        | Exists(PlanStatusChange.objects.filter(plan=OuterRef("pk"), changed_at__gte=at))
    )
    relief_changed = Relief.objects.filter(installments=i).filter(
        Q(created_at__gte=at) | Q(cancelled_on__gte=on) | _decided_since("request", at)
    )
    seizure_changed = Seizure.objects.filter(installments=i).filter(
        Q(created_at__gte=at) | Q(released_on__gte=on) | _decided_since("request", at)
        | _decided_since("release_request", at)
    )  # fmt: skip
    return (
        Q(extinguished_on__gte=on)
        | Exists(LedgerEntry.objects.filter(installment_id=i, txn__recorded_at__gte=at))
        | Exists(plan_changed)
        | Exists(relief_changed)
        | Exists(seizure_changed)
        | Exists(AdvanceCollection.objects.filter(installment_id=i, created_at__gte=at))
        | Exists(WriteOffLine.objects.filter(installment_id=i, batch__booked_on__gte=on))
    )


def arrears_rows(run: Run) -> Rows:
    """Full: the installments past their 指定納期限 on the as-of date with 本税 unpaid, or extinguished
    (its 欠損の有無 says whether the write-off is booked). Delta: every installment changed since (``_changed_installments``), past its
    指定納期限 — one fully paid (nothing owed as of the date) with 削除フラグ 1."""
    m = run.municipality
    i = OuterRef("pk")
    qs = Installment.objects.filter(municipality=m, designated_due_date__lt=run.as_of)
    if run.full:
        qs = qs.filter(Q(principal_outstanding__gt=0) | Q(extinguished_on__isnull=False))
    else:
        qs = qs.filter(_changed_installments(run))
    qs = qs.annotate(
        x_plan=Exists(PaymentPlan.objects.filter(installments=i, status=PlanStatus.PLEDGED)),
        x_seizure=Exists(Seizure.objects.filter(installments=i, status=SeizureStatus.ACTIVE)),
        x_stop=Exists(
            Relief.objects.filter(
                installments=i, kind=ReliefKind.ENFORCEMENT_SUSPENSION, status=ReliefStatus.ACTIVE
            )
        ),
        x_written=Exists(
            WriteOffLine.objects.filter(installment_id=i, active=True, batch__status=WriteOffStatus.BOOKED)
        ),
    )
    cols = [*inst_cols(), "x_plan", "x_seizure", "x_stop", "x_written", "extinguished_on"]
    for chunk in keyset(qs, cols):
        ids = [r[0] for r in chunk]
        dues = {x.installment_id: x for x in amounts_due_lines(installment_ids=ids, as_of=run.as_of)}
        advanced = dict(
            AdvanceCollection.objects.filter(installment_id__in=ids)
            .order_by("installment_id", "notified_on", "pk")
            .values_list("installment_id", "new_due_date")
        )  # the latest 繰上徴収 wins (dict keeps the last)
        for r in chunk:
            k = inst(r[1:])
            plan, seizure, stop, written, ended = r[1 + N_INST :]
            due = dues[r[0]]
            charge = due.late_charge or 0
            # 削除フラグ 1: nothing owed as of the date (完納), not because the claim was extinguished
            paid = due.principal_due + charge + due.dunning_fee == 0 and (ended is None or ended > run.as_of)
            yield [
                *run.key(), *k.period(), "1", "", k.taxpayer_no, "", "", "", *k.filing(),
                d(advanced.get(r[0])), _flag(plan), _flag(seizure), _flag(stop), _flag(written),
                *run.tail(deleted=paid),
                str(due.principal_due), str(charge), str(due.dunning_fee), run.as_of.isoformat(),
            ]  # fmt: skip


def _flag(value: Any) -> str:
    return "1" if value else "0"


# --- 2.2 分割納付計画 ----------------------------------------------------------------------------------

PLAN_HEADER = (
    ["市区町村コード", "合併前_市区町村コード", "分割納付管理番号", *K_PERIOD, "分納誓約履歴番号", "分割回数",
     "納付書発行回数", *LATEST, "宛名番号", "被保険者番号", *FILING, "納付予定年月日",
     "分割納付金額_本税（料）", "分割納付金額_督促手数料", "分割納付金額_延滞金", "納付番号", "MPN確認番号",
     "MPN納付区分", "分割納付金額_法人住民税内訳_均等割額", "分割納付金額_法人住民税内訳_法人税割額", *T_ITEMS]
)  # fmt: skip
PLAN_ENDED = (PlanStatus.COMPLETED, PlanStatus.DEFAULTED, PlanStatus.CANCELLED)


def plan_split(
    principal: int, fee: int, late_charge: int, caps: Sequence[tuple[int, int]], amounts: Sequence[int]
) -> list[list[tuple[int, int, int, int]]]:
    """Each plan instalment's amount split over the plan's installments (formats.md §35.2): paid to 本税
    first, oldest installment first, each up to its share of the plan's 本税 (its 調定額, the last one
    taking the rest), then to 督促手数料, then to 延滞金 (both booked on the oldest installment).
    ``caps`` = (installment id, 調定額) oldest first; the result per instalment: (id, 本税, 手数料, 延滞金)."""
    left = principal
    queue: list[list[int]] = []  # [installment id, component index, amount]
    for n, (iid, levied) in enumerate(caps):
        share = left if n == len(caps) - 1 else min(levied, left)
        left -= share
        queue.append([iid, 0, share])
    first = caps[0][0]
    queue += [[first, 1, fee], [first, 2, late_charge]]
    queue = [q for q in queue if q[2] > 0]
    out: list[list[tuple[int, int, int, int]]] = []
    for amount in amounts:
        parts: dict[int, list[int]] = {}
        while amount > 0 and queue:
            q = queue[0]
            take = min(amount, q[2])
            parts.setdefault(q[0], [0, 0, 0])[q[1]] += take
            q[2] -= take
            amount -= take
            if q[2] == 0:
                queue.pop(0)
        out.append([(iid, p[0], p[1], p[2]) for iid, p in parts.items()])
    return out


def plan_rows(run: Run) -> Rows:
    """Full: the plans in force (誓約中). Delta: the plans made, or whose status changed, since (draft
    plans are never sent), 削除フラグ 1 when the plan has ended (履行完了・不履行・取消)."""
    qs = PaymentPlan.objects.filter(municipality=run.municipality).exclude(status=PlanStatus.DRAFT)
    if run.full:
        qs = qs.filter(status=PlanStatus.PLEDGED)
    else:
        qs = qs.filter(
            Q(created_at__gte=run.since_at)
            | Exists(PlanStatusChange.objects.filter(plan=OuterRef("pk"), changed_at__gte=run.since_at))
        )
    for chunk in keyset(qs, ["status", "principal", "fee", "late_charge"]):
        ids = [r[0] for r in chunk]
        insts: dict[int, list[tuple[Any, ...]]] = {}
        for row in (
            Installment.objects.filter(payment_plans__in=ids)
            .order_by("designated_due_date", "pk")
            .values_list("payment_plans", "pk", "principal_levied", *inst_cols())
        ):
            insts.setdefault(row[0], []).append(row[1:])
        instalments: dict[int, list[tuple[Any, ...]]] = {}
        for row in (
            PlanInstalment.objects.filter(plan_id__in=ids)
            .order_by("plan_id", "no")
            .values_list("plan_id", "no", "amount", "due_on", "slip__slip_no")
        ):
            instalments.setdefault(row[0], []).append(row[1:])
        for pk, status, principal, fee, late_charge in chunk:
            covered = insts.get(pk, [])
            steps = instalments.get(pk, [])
            if not covered or not steps:
                continue
            by_id = {c[0]: inst(c[2:]) for c in covered}
            split = plan_split(
                principal, fee, late_charge, [(c[0], c[1]) for c in covered], [s[1] for s in steps]
            )
            for (no, _amount, due_on, slip_no), parts in zip(steps, split, strict=True):
                for iid, p, f, lc in parts:
                    k = by_id[iid]
                    yield [
                        *run.key(), f"3100{pk:010d}", *k.period(), "1", str(no), "1" if slip_no else "0",
                        "1", "", k.taxpayer_no, "", *k.filing(), d(due_on), str(p), str(f), str(lc),
                        slip_no or "", "", "", "0", "0", *run.tail(deleted=status in PLAN_ENDED),
                    ]  # fmt: skip


# --- 2.3 徴収（換価）猶予, 2.9 執行停止 ----------------------------------------------------------------------

DEFERRAL_HEADER = (
    ["市区町村コード", "合併前_市区町村コード", "徴収（換価）猶予管理番号", "宛名番号", "申請年月日", *K_PERIOD,
     *LATEST, "猶予区分", "徴収（換価）猶予区分", "開始年月日", "終了年月日", "取消決議年月日", "被保険者番号",
     *FILING, *("猶予金額_" + a for a in AMOUNTS), *T_ITEMS]
)  # fmt: skip
SUSPENSION_HEADER = (
    ["市区町村コード", "合併前_市区町村コード", "執行停止管理番号", "宛名番号", *K_PERIOD, *LATEST,
     "執行停止年月日", "執行停止取消年月日", "被保険者番号", *FILING, *("執行停止金額_" + a for a in AMOUNTS),
     *T_ITEMS]
)  # fmt: skip
DEFERRAL_CODE = {
    ReliefKind.COLLECTION_DEFERRAL: "01",
    ReliefKind.LIQUIDATION_DEFERRAL_APPLICATION: "02",
    ReliefKind.LIQUIDATION_DEFERRAL: "03",
}


def _reliefs(run: Run, kinds: Sequence[str]) -> QuerySet[Relief]:
    qs = Relief.objects.filter(
        municipality=run.municipality,
        kind__in=kinds,
        status__in=(ReliefStatus.ACTIVE, ReliefStatus.CANCELLED),
    )
    if not run.full:
        at = run.since_at
        qs = qs.filter(Q(created_at__gte=at) | Q(cancelled_on__gte=run.since) | _decided_since("request", at))
    return qs


def _relief_lines(run: Run, qs: QuerySet[Relief]) -> Iterator[tuple[tuple[Any, ...], Inst, Any]]:
    """(relief values, installment key, amounts owed on the relief's start) per relief and installment."""
    cols = ["kind", "start", "end", "cancelled_on", "created_at", "request__requested_at"]
    for chunk in keyset(qs, cols):
        ids = [r[0] for r in chunk]
        pairs: dict[int, list[tuple[Any, ...]]] = {}
        for row in (
            Installment.objects.filter(reliefs__in=ids)
            .order_by("pk")
            .values_list("reliefs", "pk", *inst_cols())
        ):
            pairs.setdefault(row[0], []).append(row[1:])
        dues = dues_on((p[0], r[2]) for r in chunk for p in pairs.get(r[0], []))
        for r in chunk:
            for p in pairs.get(r[0], []):
                yield r, inst(p[1:]), dues[(p[0], r[2])]


def deferral_rows(run: Run) -> Rows:
    """Full: every 徴収猶予・換価の猶予 in effect or cancelled (pending and rejected ones are not sent).
    Delta: made, decided or cancelled since. Amounts: what the installment owed on the start day."""
    qs = _reliefs(run, list(DEFERRAL_CODE))
    for r, k, due in _relief_lines(run, qs):
        pk, kind, start, end, cancelled, created, requested = r
        made = requested or created
        applied = timezone.localtime(made).date() if made else None
        yield [
            *run.key(), f"4100{pk:010d}", k.taxpayer_no, d(applied), *k.period(), "1", "", "1",
            DEFERRAL_CODE[kind], d(start), d(end), d(cancelled), "", *k.filing(), str(due.principal_due),
            str(due.late_charge or 0), str(due.dunning_fee), "0", "0", *run.tail(),
        ]  # fmt: skip


def suspension_rows(run: Run) -> Rows:
    """Full: every 執行停止 in effect or cancelled. Delta: made, decided or cancelled since. Amounts: what
    the installment owed on the day the suspension started."""
    qs = _reliefs(run, [ReliefKind.ENFORCEMENT_SUSPENSION])
    for r, k, due in _relief_lines(run, qs):
        pk, _kind, start, _end, cancelled, _created, _requested = r
        yield [
            *run.key(), f"5100{pk:010d}", k.taxpayer_no, *k.period(), "1", "", d(start), d(cancelled), "",
            *k.filing(), str(due.principal_due), str(due.late_charge or 0), str(due.dunning_fee), "0", "0",
            *run.tail(),
        ]  # fmt: skip


# --- 2.4 延滞金減免 (法15条の9, from the reliefs) --------------------------------------------------------

LATE_CHARGE_RELIEF_HEADER = (
    ["市区町村コード", "合併前_市区町村コード", "延滞金減免管理番号", *K_PERIOD, *LATEST, "宛名番号", "開始年月日",
     "終了年月日", "被保険者番号", *FILING, "免除金額", "免除区分", "免除率（手入力）", *T_ITEMS]
)  # fmt: skip
EXEMPTION_CODE = {ExemptionMode.EXCLUDED: "1", ExemptionMode.DEFERRAL_RATE: "2"}
"""免除区分 (choshu's code; the vendor's table is not public): 1 全額免除, 2 猶予特例基準割合を超える部分の免除."""


def late_charge_relief_rows(run: Run) -> Rows:
    """One row per relief and installment whose days reduce the 延滞金 (法15条の9: every approved 徴収猶予,
    換価の猶予 and 執行停止 — ``relief.relief.exemption_of``), as the vendor builds the file from its 猶予 and
    執行停止 records: 管理番号 = the 猶予 (41…) or 執行停止 (51…) file's number; 開始 = the relief's start;
    終了 = its end or the day before its cancellation (0000-00-00 while an 執行停止 runs). Full: all of them;
    delta: made, decided or cancelled since (as the 猶予 and 執行停止 files)."""
    qs = _reliefs(run, [*DEFERRAL_CODE, ReliefKind.ENFORCEMENT_SUSPENSION])
    for chunk in keyset(qs, ["kind", "ground", "start", "end", "cancelled_on", "taxpayer__taxpayer_no"]):
        by_relief: dict[int, list[tuple[Any, ...]]] = {}
        for row in (
            Installment.objects.filter(reliefs__in=[r[0] for r in chunk])
            .order_by("pk")
            .values_list("reliefs", *inst_cols())
        ):
            by_relief.setdefault(row[0], []).append(row[1:])
        for pk, kind, ground, start, end, cancelled, taxpayer_no in chunk:
            last = end
            if cancelled is not None:
                last = (
                    cancelled - timedelta(days=1)
                    if last is None
                    else min(last, cancelled - timedelta(days=1))
                )
            if last is not None and last < start:
                continue  # cancelled before it began: no day was reduced
            mode, _why = exemption_of(kind, ground)
            number = f"{'51' if kind == ReliefKind.ENFORCEMENT_SUSPENSION else '41'}00{pk:010d}"
            for values in by_relief.get(pk, []):
                k = inst(values)
                yield [
                    *run.key(), number, *k.period(), "1", "", taxpayer_no, d(start), d(last), "", *k.filing(),
                    "0", EXEMPTION_CODE[mode], "0", *run.tail(),
                ]  # fmt: skip


# --- 2.5 差押, 2.8 繰上徴収 --------------------------------------------------------------------------------

SEIZURE_HEADER = (
    ["市区町村コード", "合併前_市区町村コード", "処分コード", "滞納処分管理番号", "宛名番号", *K_PERIOD, *LATEST,
     "発送年月日", "到達年月日", "解除年月日", *FILING, *AMOUNTS, *T_ITEMS]
)  # fmt: skip
ADVANCE_HEADER = (
    ["市区町村コード", "合併前_市区町村コード", "処分コード", "繰上徴収管理番号", "宛名番号", *K_PERIOD, *LATEST,
     "繰上徴収決議年月日", "繰上徴収取消年月日", "繰上徴収後_納期限", "繰上徴収後_納期限_時刻", "被保険者番号",
     *FILING, *("処分金額_" + a for a in AMOUNTS), *T_ITEMS]
)  # fmt: skip


def seizure_rows(run: Run) -> Rows:
    """処分コード 02 (差押). Full: every seizure in effect or released. Delta: made, decided or released
    since. Amounts: what each installment owed on the seizure day (本税, 延滞金, 督促手数料)."""
    qs = Seizure.objects.filter(
        municipality=run.municipality, status__in=(SeizureStatus.ACTIVE, SeizureStatus.RELEASED)
    )
    if not run.full:
        at = run.since_at
        qs = qs.filter(
            Q(created_at__gte=at) | Q(released_on__gte=run.since) | _decided_since("request", at)
            | _decided_since("release_request", at)
        )  # fmt: skip
    for chunk in keyset(qs, ["executed_on", "served_on", "released_on"]):
        ids = [r[0] for r in chunk]
        pairs: dict[int, list[tuple[Any, ...]]] = {}
        for row in (
            Installment.objects.filter(seizures__in=ids)
            .order_by("pk")
            .values_list("seizures", "pk", *inst_cols())
        ):
            pairs.setdefault(row[0], []).append(row[1:])
        dues = dues_on((p[0], r[1]) for r in chunk for p in pairs.get(r[0], []))
        for pk, executed, served, released in chunk:
            for p in pairs.get(pk, []):
                k, due = inst(p[1:]), dues[(p[0], executed)]
                yield [
                    *run.key(), "02", f"0200{pk:010d}", k.taxpayer_no, *k.period(), "1", "", d(executed),
                    d(served or executed), d(released), *k.filing(), str(due.principal_due),
                    str(due.late_charge or 0), str(due.dunning_fee), "0", "0", *run.tail(),
                ]  # fmt: skip


def advance_rows(run: Run) -> Rows:
    """処分コード 01 (繰上徴収). Full: every 繰上徴収 (choshu keeps no cancellation: 取消年月日 empty).
    Delta: made since. 時刻: not kept, ``00:00:00``. Amounts: owed on the notice day (the standard's
    order, not the vendor's swapped columns)."""
    qs = AdvanceCollection.objects.filter(municipality=run.municipality)
    if not run.full:
        qs = qs.filter(created_at__gte=run.since_at)
    for chunk in keyset(qs, ["installment_id", "notified_on", "new_due_date", *inst_cols("installment__")]):
        dues = dues_on((r[1], r[2]) for r in chunk)
        for pk, iid, notified, new_due, *rest in chunk:
            k = inst(rest)
            due = dues[(iid, notified)]
            yield [
                *run.key(), "01", f"7000{pk:010d}", k.taxpayer_no, *k.period(), "1", "", d(notified), NO_DATE,
                d(new_due), NO_TIME, "", *k.filing(), str(due.principal_due), str(due.late_charge or 0),
                str(due.dunning_fee), "0", "0", *run.tail(),
            ]  # fmt: skip


# --- 2.10 充当明細 --------------------------------------------------------------------------------------

APPROPRIATION_HEADER = (
    ["市区町村コード", "合併前_市区町村コード", "充当管理番号", "宛名番号", "処分コード", *K_PERIOD, *LATEST,
     "充当日（予定日）", "充当入力年月日", "義務者宛名番号", "被保険者番号", *FILING, "延滞金計算年月日",
     *("充当額_" + a for a in AMOUNTS), "滞納処分費への充当有無", "充当額_滞納処分費", *T_ITEMS]
)  # fmt: skip
_COMPONENT_COLUMN = {"principal": 0, "late_charge": 1, "dunning_fee": 2}


def appropriation_rows(run: Run) -> Rows:
    """One row per 充当 (one component of one installment). Full: all. Delta: the ledger transaction
    recorded since. 充当入力年月日: the day the transaction was recorded."""
    qs = Appropriation.objects.filter(municipality=run.municipality)
    if not run.full:
        qs = qs.filter(txn__recorded_at__gte=run.since_at)
    cols = ["taxpayer__taxpayer_no", "component", "amount", "appropriable_on", "appropriated_on",
            "txn__recorded_at", *inst_cols("installment__")]  # fmt: skip
    for chunk in keyset(qs, cols):
        for pk, payer_no, component, amount, appropriable, appropriated, recorded, *rest in chunk:
            k = inst(rest)
            money = ["0", "0", "0", "0", "0"]
            cost = "0"
            if component == "enforcement_cost":
                cost = str(amount)
            else:
                money[_COMPONENT_COLUMN.get(component, 0)] = str(amount)
            entered = timezone.localtime(recorded).date() if recorded else None
            yield [
                *run.key(), f"7200{pk:010d}", payer_no, "99", *k.period(), "1", "", d(appropriated), d(entered),
                k.taxpayer_no, "", *k.filing(), d(appropriable), *money, "1" if cost != "0" else "0", cost,
                *run.tail(),
            ]  # fmt: skip


# --- 2.11 不納欠損 --------------------------------------------------------------------------------------

WRITE_OFF_HEADER = (
    [*K_ITEMS, "宛名番号", "欠損年月日", *LATEST, "被保険者番号", *FILING, "不納欠損事由",
     *("不納欠損金額_" + a for a in AMOUNTS), *T_ITEMS]
)  # fmt: skip
WRITE_OFF_REASON = {
    ExtinctionReason.PRESCRIPTION: "01",
    ExtinctionReason.ENFORCEMENT_SUSPENSION: "02",
    ExtinctionReason.IMMEDIATE: "03",
}


def write_off_rows(run: Run) -> Rows:
    """The booked 不納欠損 lines (pending or rejected proposals are not sent). 欠損年月日 = the 計上日.
    Full: all booked lines still in effect. Delta: booked since."""
    qs = WriteOffLine.objects.filter(
        batch__municipality=run.municipality, batch__status=WriteOffStatus.BOOKED, active=True
    )
    if not run.full:
        qs = qs.filter(batch__booked_on__gte=run.since)
    cols = [
        "batch__booked_on",
        "reason",
        "principal",
        "late_charge",
        "dunning_fee",
        *inst_cols("installment__"),
    ]
    for chunk in keyset(qs, cols):
        for _pk, booked, reason, principal, late_charge, fee, *rest in chunk:
            k = inst(rest)
            yield [
                *run.key(), *k.period(), k.taxpayer_no, d(booked), "1", "", "", *k.filing(),
                WRITE_OFF_REASON.get(reason, ""), str(principal), str(late_charge), str(fee), "0", "0", *run.tail(),
            ]  # fmt: skip


# --- 2.12 納付書発行 --------------------------------------------------------------------------------------

SLIP_HEADER = (
    ["市区町村コード", "合併前_市区町村コード", "賦課年度", "相当年度", "通知書番号", "業務詳細（科目）コード",
     "申告履歴番号", "事業年度番号", "特別徴収義務者指定番号", "期別", "児童_宛名番号", "発行システム区分",
     "発行回数", "発行連番", *LATEST, "宛名番号", "被保険者番号", "収納額", "延滞金", "督促手数料", "指定期限",
     "種別コード", "車両番号_標板文字", "車両番号_分類番号", "車両番号_かな文字", "車両番号_一連指定番号",
     "コンビニバーコード使用期限", "マルチペイメント支払期限", "二次元コード支払期限", "収納機関番号",
     "滞納消込特定キー情報1", "滞納消込特定キー情報2", "納付種別", "納付番号", "MPN確認番号", "MPN納付区分",
     "バーコード情報", "OCRID", "上段OCR", "下段OCR", "eLTAX納税者ID", "eL番号",
     "納付済通知書を一意に特定する番号", "時効延長有無区分", *T_ITEMS]
)  # fmt: skip


def slip_rows(run: Run) -> Rows:
    """One row per installment of each 納付書 choshu issued (``SlipIssue``; amounts per installment as
    printed). 発行回数 = 再発行区分 + 1; 発行連番 = the line's place on the slip. Full: all. Delta: issued
    since. Never written: the addressee and address the slip printed."""
    qs = SlipIssue.objects.filter(municipality=run.municipality)
    if not run.full:
        qs = qs.filter(issued_at__gte=run.since_at)
    for chunk in keyset(qs, ["slip_no", "reissue_no", "pay_by", "printed", "taxpayer__taxpayer_no"]):
        ids = [r[0] for r in chunk]
        keys: dict[int, Inst] = {}
        for row in Installment.objects.filter(slip_issues__in=ids).values_list("pk", *inst_cols()):
            keys[row[0]] = inst(row[1:])
        for pk, slip_no, reissue_no, pay_by, printed, taxpayer_no in chunk:
            for seq, line in enumerate(printed.get("lines", []), start=1):
                k = keys.get(line.get("installment"))
                if k is None:
                    continue
                yield [
                    *run.key(), str(k.levy_year), str(k.relevant_year), k.notice_no, k.tax_item,
                    str(k.filing_history_no), str(k.business_year_no), k.special_collector_no,
                    f"{k.installment_no:02d}", "", "03", str(reissue_no + 1), str(seq), "1", "", taxpayer_no, "",
                    str(line.get("principal", 0)), str(line.get("late_charge", 0)), str(line.get("fee", 0)),
                    d(pay_by), "", "", "", "", "", d(pay_by), d(pay_by), NO_DATE, "", slip_no, "", "",
                    slip_no, printed.get("confirmation_no", ""), "", printed.get("barcode", ""), "",
                    printed.get("ocr_upper", ""), printed.get("ocr_lower", ""), "", printed.get("el_number", ""),
                    f"{pk:012d}", "1", *run.tail(),
                ]  # fmt: skip


# --- 2.13 承継 ----------------------------------------------------------------------------------------------

SUCCESSION_HEADER = [
    "市区町村コード", "納税義務者_宛名番号", "納税義務者_履歴番号", "承継納付義務者連番", "承継納付義務者_宛名番号",
    *LATEST, "異動年月日", "異動事由", "持分_分子", "持分_分母", "削除フラグ", "操作者ID", "操作年月日", "操作時刻",
]  # fmt: skip


def succession_rows(run: Run) -> Rows:
    """相続人 (``taxpayers.Heir``): full = the current rows; delta = the rows changed since, a row
    replaced by a later revision with 削除フラグ 1. 異動事由 fixed ``1`` (承継)."""
    qs = Heir.objects.filter(municipality=run.municipality)
    qs = qs.filter(is_current=True) if run.full else qs.filter(changed_at__gte=run.since_at)
    cols = ["deceased__taxpayer_no", "revision", "seq", "heir__taxpayer_no", "since", "share_numerator",
            "share_denominator", "is_current"]  # fmt: skip
    for chunk in keyset(qs, cols):
        for _pk, deceased, revision, seq, heir, since, num, den, current in chunk:
            stamp = run.tail(deleted=not current)
            yield [
                run.municipality.code, deceased, str(revision), str(seq), heir, "1", "", d(since), "1",
                str(num or 0), str(den or 0), *stamp,
            ]  # fmt: skip


# --- 2.14 時効 ------------------------------------------------------------------------------------------

PRESCRIPTION_HEADER = (
    [*K_ITEMS, *LATEST, "宛名番号", "被保険者番号", *FILING, "2年時効完成年月日", "5年時効完成年月日",
     "執行停止時効完成年月日", "催告延長期限年月日", *T_ITEMS]
)  # fmt: skip


def prescription_rows(run: Run) -> Rows:
    """The installments not fully paid whose 指定納期限 has passed on the as-of date (the vendor's rule),
    with the dates ``rules.prescription`` derives now from their events (督促, 納付, 承認, 差押, 催告, 猶予,
    執行停止): 完成 of the 2- or 5-year limitation (by the tax item's ``prescription_years``), and the 3-year
    end of a 執行停止. Delta: the same installments changed since (as 滞納明細). 催告延長期限年月日: the
    rules fold the 催告's 6 months into the completion date; the column is empty (``0000-00-00``)."""
    m = run.municipality
    qs = Installment.objects.filter(
        municipality=m, designated_due_date__lt=run.as_of, principal_outstanding__gt=0
    )
    if not run.full:
        qs = qs.filter(_changed_installments(run))
    years = prescription_years(m.pk)
    for chunk in keyset(qs, ["statutory_due_date", *inst_cols()]):
        events = installment_events([r[0] for r in chunk])
        for pk, statutory, *rest in chunk:
            k = inst(rest)
            n = years.get(k.tax_item, 5)
            result = compute(statutory, events.get(pk, []), n)
            done = result.prescription_completes_on
            yield [
                *run.key(), *k.period(), "1", "", k.taxpayer_no, "", *k.filing(), d(done if n == 2 else None),
                d(done if n != 2 else None), d(result.suspension_expires_on), NO_DATE, *run.tail(),
            ]  # fmt: skip


# --- 2.15 催告発送管理 -------------------------------------------------------------------------------------

REMINDER_HEADER = (
    [*K_ITEMS, "発送年月日", *LATEST, "宛名番号", "被保険者番号", *FILING, "催告期限", "催告_指定期限", "催告区分",
     "納付書種類", *T_ITEMS]
)  # fmt: skip


def reminder_rows(run: Run) -> Rows:
    """One row per installment of each 催告書 sent (``dunning.ReminderLetter``). 催告区分 ``01`` (催告書: the
    standard's code table is not in the source read); 納付書種類 ``1`` when the letter carries a slip.
    Full: all letters. Delta: letters issued on or after the date."""
    qs = ReminderLetterInstallment.objects.filter(letter__municipality=run.municipality)
    if not run.full:
        qs = qs.filter(letter__issued_on__gte=run.since)
    cols = ["letter__issued_on", "letter__pay_by", "letter__slip_id", *inst_cols("installment__")]
    for chunk in keyset(qs, cols):
        for _pk, issued, pay_by, slip, *rest in chunk:
            k = inst(rest)
            yield [
                *run.key(), *k.period(), d(issued), "1", "", k.taxpayer_no, "", *k.filing(), d(pay_by), d(pay_by),
                "01", "1" if slip else "", *run.tail(),
            ]  # fmt: skip


# --- the kinds ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Kind:
    name: str
    label: str
    base: str  # the file name's stem (formats.md §35)
    header: list[str]
    rows: Callable[[Run], Rows]


KINDS: dict[str, Kind] = {
    k.name: k
    for k in [
        Kind("arrears", "滞納明細管理", "taino", ARREARS_HEADER, arrears_rows),
        Kind("plan", "分割納付計画情報", "bunno", PLAN_HEADER, plan_rows),
        Kind("deferral", "徴収（換価）猶予情報", "yuyo", DEFERRAL_HEADER, deferral_rows),
        Kind(
            "late_charge_relief",
            "延滞金減免情報",
            "entai",
            LATE_CHARGE_RELIEF_HEADER,
            late_charge_relief_rows,
        ),
        Kind("seizure", "差押情報", "sashiosae", SEIZURE_HEADER, seizure_rows),
        Kind("advance", "繰上徴収情報", "kuriage", ADVANCE_HEADER, advance_rows),
        Kind("suspension", "執行停止情報", "shikkoteishi", SUSPENSION_HEADER, suspension_rows),
        Kind("appropriation", "充当明細", "juto", APPROPRIATION_HEADER, appropriation_rows),
        Kind("write_off", "不納欠損期別情報", "kesson", WRITE_OFF_HEADER, write_off_rows),
        Kind("slip", "納付書発行情報", "nofusho_hakko", SLIP_HEADER, slip_rows),
        Kind("succession", "承継納税義務者情報", "shokei", SUCCESSION_HEADER, succession_rows),
        Kind("prescription", "時効情報", "jiko", PRESCRIPTION_HEADER, prescription_rows),
        Kind("reminder", "催告発送管理情報", "saikoku_hasso", REMINDER_HEADER, reminder_rows),
    ]
}


@dataclass
class ExportSummary:
    kind: str
    mode: str
    since: str | None
    as_of: str
    encoding: str
    files: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def parse_kinds(kind: str) -> list[Kind]:
    if kind == "all":
        return list(KINDS.values())
    if kind not in KINDS:
        names = "、".join(KINDS)
        raise ValidationError(
            f"--kind {kind!r} は出力できるファイルの種類ではありません（{names} か all を指定してください）"
        )
    return [KINDS[kind]]


def file_name(kind: Kind, stamp: datetime, n: int = 1) -> str:
    """``<stem>_<YYYYMMDDHHMMSS>_<n>.csv`` (the vendor's naming, standard-data.md §0)."""
    return f"{kind.base}_{stamp:%Y%m%d%H%M%S}_{n}.csv"


def file_paths(folder: Path, kinds: Sequence[Kind], stamp: datetime) -> list[Path]:
    """The run's names: ``n`` = the first number none of whose names is taken (two runs in one second)."""
    for n in range(1, 1000):
        paths = [folder / file_name(k, stamp, n) for k in kinds]
        if not any(p.exists() for p in paths):
            return paths
    raise ValidationError(f"出力先のフォルダ {folder} に同じ時刻のファイルが多すぎます（{NOTHING}）")


def _encoded(kind: Kind, run: Run, encoding: str, counts: dict[str, int]) -> Iterator[bytes]:
    write = csv_line_writer()  # the one spreadsheet-safe line writer: text starting like a formula gets "'"

    def line(cells: Sequence[str]) -> str:
        # a negative amount is a number, not a formula: written as the int it is
        return write([int(c) if c[:1] == "-" and c[1:].isdigit() else c for c in cells])

    encode: Callable[[str], bytes] = (lambda t: t.encode("utf-8")) if encoding == "utf-8" else encode_cp932
    yield encode(line(kind.header))
    for row in kind.rows(run):
        assert len(row) == len(kind.header), (kind.name, len(row), len(kind.header))
        text = line(row)
        if encoding == "cp932" and cp932_unencodable(text):
            counts["replaced"] += 1
        counts["rows"] += 1
        yield encode(text)


def stdlink_export(
    *,
    municipality: Municipality,
    kind: str,
    out: str | Path,
    today: date,
    since: date | None = None,
    full: bool = False,
    as_of: date | None = None,
    encoding: str = "utf-8",
    actor: Any = None,
) -> ExportSummary:
    """Write the file(s) of ``kind`` (or ``all``) into the folder ``out``: all or nothing."""
    kinds = parse_kinds(kind)
    if full == (since is not None):
        raise ValidationError(f"--full か --since YYYY-MM-DD のどちらか一方を指定してください（{NOTHING}）")
    if since is not None and since > today:
        raise ValidationError(
            f"--since の日付 {since} が未来です（今日以前の日付を指定してください。{NOTHING}）"
        )
    as_of = as_of or today
    if as_of > today:
        raise ValidationError(
            f"--as-of の日付 {as_of} が未来です（今日以前の日付を指定してください。{NOTHING}）"
        )
    if encoding not in ENCODINGS:
        raise ValidationError(f"文字コードは utf-8 か cp932 を指定してください（{NOTHING}）")
    folder = Path(out)
    if not folder.is_dir():
        raise ValidationError(
            f"出力先のフォルダ {folder} がありません（作成してから指定してください。{NOTHING}）"
        )
    stamp = timezone.localtime()
    operator = getattr(actor, "username", "") or "choshu"
    run = Run(municipality, full, since, as_of, operator[:20], stamp)
    paths = file_paths(folder, kinds, stamp)
    for p in paths:
        check_out(p)
    s = ExportSummary(kind=kind, mode="full" if full else "delta", since=since.isoformat() if since else None,
                      as_of=as_of.isoformat(), encoding=encoding)  # fmt: skip
    with ExitStack() as stack, transaction.atomic():
        handles = []
        for k, p in zip(kinds, paths, strict=True):
            f = stack.enter_context(output_file(p))
            counts = {"rows": 0, "replaced": 0}
            for data in _encoded(k, run, encoding, counts):
                f.write(data)
            handles.append(f)
            s.files.append({"name": p.name, "kind": k.name, "label": k.label, "rows": counts["rows"],
                            "replaced": counts["replaced"], "sha256": f.sha256, "bytes": f.size})  # fmt: skip
        audit_record(kind=AuditKind.EXPORT, function=FUNCTION, municipality=municipality,
                     user=actor if getattr(actor, "is_authenticated", False) else None, detail=s.as_dict())  # fmt: skip
        for f in handles:
            f.publish()
    return s
