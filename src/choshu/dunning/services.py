"""督促 (dunning): the dunning run, the 督促手数料 setting and 督促停止 (suppression).

The run (``dunning_run``) is one database transaction: the candidates are chosen by one query into a
temporary table, then read back a slice of taxpayers at a time; each slice's amounts come from
``levies.selectors.amounts_due_lines`` (``amounts_due``'s figures as values; a fixed number of queries per slice) and its notices, slips, lines
and fee postings are written with bulk inserts. A refusal or a crash rolls everything back; a second
run on the same day finds no candidate (every installment is dunned once).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import Case, Exists, IntegerField, OuterRef, Q, Value, When
from django.utils import timezone

from choshu.accounts.models import User
from choshu.accounts.permissions import Right, has_right
from choshu.approvals.models import ChangeRequest, RequestKind
from choshu.approvals.services import request_create
from choshu.audit.models import AuditKind, AuditSubjectType
from choshu.audit.services import audit_record
from choshu.core.bulk import insert_rows, reserve_id_block
from choshu.core.models import Job, Municipality
from choshu.core.services import job_finish, job_start
from choshu.dunning.models import (
    DunningBatch,
    DunningFeeSetting,
    DunningNotice,
    DunningNoticeInstallment,
    DunningSuppression,
    NoticeStatus,
    SuppressionReason,
    suppressed_on,
)
from choshu.dunning.returned import returned_mail_refresh
from choshu.dunning.slips import CombinedSlips, SlipRow
from choshu.levies.ledger import Leg, Posting, post_many
from choshu.levies.models import Account, Component, Installment, TxnKind
from choshu.levies.selectors import DueLine, amounts_due_lines
from choshu.rules.dunning import dunning_fee, dunning_issue_deadline, dunning_payment_deadline
from choshu.rules.parameters import DunningFeeTable, FeeWindow, RateNotKnownError, dunning_fee_table
from choshu.taxpayers.models import Taxpayer
from choshu.taxpayers.protection import active_on

CANDIDATES = "choshu_dunning_candidates"
SLICE = 1000  # taxpayers per slice: memory follows the slice, not the city
FUNCTION = "督促状の一括発付"


def _refused(message: str) -> ValidationError:
    return ValidationError(message)


# --- the 督促手数料 setting ------------------------------------------------------------------------


@dataclass(frozen=True)
class FeeLookup:
    """The municipality's fee windows (its own settings, else the bundled parameters) and the key."""

    table: DunningFeeTable
    key: str
    name: str

    def fee(self, *, issued_on: date, due_date: date) -> int:
        try:
            return dunning_fee(self.key, issued_on=issued_on, due_date=due_date, table=self.table)
        except RateNotKnownError as exc:
            raise _refused(
                f"{issued_on:%Y-%m-%d} に適用する督促手数料が{self.name}に設定されていません。"
                "税条例の督促手数料（廃止済みなら 0 円）を `choshu dunning-fee --from 適用開始日 --yen 金額 "
                "--source 根拠` で登録してから実行してください（何も発付していません）"
            ) from exc

    def check(self, issued_on: date) -> None:
        """Refuse up front when no fee applies on ``issued_on`` (a fee keyed by the 納期限 is checked
        per notice)."""
        if self.table.basis.get(self.key, "issue_date") == "issue_date":
            self.fee(issued_on=issued_on, due_date=issued_on)


def fee_lookup(municipality: Municipality) -> FeeLookup:
    """The 督促手数料 windows of ``municipality``: its ``DunningFeeSetting`` rows when it has any, else
    the bundled ``dunning_fees.toml`` entry (by code, then by name)."""
    rows = list(DunningFeeSetting.objects.filter(municipality=municipality).order_by("valid_from"))
    if rows:
        windows = tuple(FeeWindow(start=r.valid_from, yen=r.yen, source=r.source) for r in rows)
        table = DunningFeeTable(windows={municipality.code: windows}, basis={municipality.code: "issue_date"})
        return FeeLookup(table, municipality.code, municipality.name)
    bundled = dunning_fee_table()
    key = municipality.code if municipality.code in bundled.windows else municipality.name
    return FeeLookup(bundled, key, municipality.name)


@transaction.atomic
def dunning_fee_set(
    *, actor: Any, municipality: Municipality, valid_from: date, yen: int, source: str
) -> DunningFeeSetting:
    """Record the 督促手数料 in force from ``valid_from`` (0 = abolished) and why (the ordinance)."""
    if yen < 0:
        raise _refused("督促手数料は 0 円以上で指定してください（廃止は 0）")
    if not source.strip():
        raise _refused("根拠（税条例の条・告示など）を --source で指定してください")
    if DunningFeeSetting.objects.filter(municipality=municipality, valid_from=valid_from).exists():
        raise _refused(f"{valid_from:%Y-%m-%d} からの督促手数料は既に登録されています")
    setting = DunningFeeSetting.objects.create(
        municipality=municipality,
        valid_from=valid_from,
        yen=yen,
        source=source.strip(),
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    audit_record(
        kind=AuditKind.CHANGE,
        function="督促手数料の設定",
        municipality=municipality,
        user=actor,
        detail={"valid_from": valid_from.isoformat(), "yen": yen, "source": setting.source},
    )
    return setting


# --- the dunning run ---------------------------------------------------------------------------------


@dataclass
class RunSummary:
    """What a dunning run found and did. Installments: ``candidates`` (past the 指定納期限, unpaid, not
    yet dunned), of which ``suppressed`` (督促停止 on the date); ``late_issue`` installments issued after
    the 20-day period (法329条: the notice is still valid). Notices: ``issued``, of which ``blocked``
    (支援措置: printed in the office, never in a vendor file). Yen: ``fee_total`` and the amounts."""

    as_of: date
    dry_run: bool
    pay_by: date
    candidates: int = 0
    suppressed: int = 0
    issued: int = 0
    installments: int = 0
    late_issue: int = 0
    blocked: int = 0
    fee_total: int = 0
    principal_total: int = 0
    late_charge_total: int = 0
    amount_total: int = 0
    by_tax_item: dict[str, dict[str, int]] = field(default_factory=dict)
    batch_id: int | None = None
    job_id: int | None = None
    returned_mail: dict[str, int] = field(default_factory=dict)  # dunning.returned.Refreshed

    def as_dict(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat(),
            "dry_run": self.dry_run,
            "pay_by": self.pay_by.isoformat(),
            "candidates": self.candidates,
            "suppressed": self.suppressed,
            "issued": self.issued,
            "installments": self.installments,
            "late_issue": self.late_issue,
            "blocked": self.blocked,
            "fee_total": self.fee_total,
            "principal_total": self.principal_total,
            "late_charge_total": self.late_charge_total,
            "amount_total": self.amount_total,
            "by_tax_item": self.by_tax_item,
            "batch_id": self.batch_id,
            "job_id": self.job_id,
            "returned_mail": self.returned_mail,
        }


@dataclass
class _Notice:
    """One notice of a slice: its lines (the installment's amounts and its 指定納期限) and their sums."""

    taxpayer_id: int
    tax_item: str
    blocked: bool
    lines: list[tuple[DueLine, date]] = field(default_factory=list)
    fee: int = 0
    principal: int = 0
    late_charge: int = 0
    late_lines: int = 0  # installments issued after the 20-day period (法329条)
    oldest: DueLine | None = None  # the oldest 納期限 (then the lowest id): the fee is booked on it

    def add(self, line: DueLine, designated: date, late: bool) -> None:
        self.lines.append((line, designated))
        self.principal += line.principal_due
        self.late_charge += line.late_charge or 0
        self.late_lines += late
        old = self.oldest
        if old is None or (line.due_date, line.installment_id) < (old.due_date, old.installment_id):
            self.oldest = line

    @property
    def total(self) -> int:
        return self.principal + self.late_charge + self.fee

    @property
    def oldest_line(self) -> DueLine:
        assert self.oldest is not None
        return self.oldest


def candidates_sql(municipality: Municipality, as_of: date) -> tuple[str, tuple[Any, ...]]:
    """The one query choosing the candidates: every installment of the municipality past its 指定納期限
    on ``as_of``, with 本税 outstanding and not yet dunned; flagged ``suppressed`` (a 督促停止 in force
    on ``as_of``) and ``blocked`` (the person under 支援措置 on ``as_of``, ``taxpayers.protection``)."""
    suppressed = DunningSuppression.objects.filter(installment=OuterRef("pk")).filter(suppressed_on(as_of))
    protected = Taxpayer.objects.filter(pk=OuterRef("taxpayer_id")).filter(active_on(as_of))
    flag = {"default": Value(0), "output_field": IntegerField()}
    qs = (
        Installment.objects.filter(
            municipality=municipality, principal_outstanding__gt=0, designated_due_date__lt=as_of
        )
        .filter(Q(extinguished_on__isnull=True) | Q(extinguished_on__gt=as_of))  # 消滅 (relief): not dunned
        .exclude(Exists(DunningNoticeInstallment.objects.filter(installment=OuterRef("pk"))))
        .annotate(
            suppressed=Case(When(Exists(suppressed), then=Value(1)), **flag),  # type: ignore[arg-type]
            blocked=Case(When(Exists(protected), then=Value(1)), **flag),  # type: ignore[arg-type]
        )
        .values_list("pk", "taxpayer_id", "levy__tax_item", "designated_due_date", "suppressed", "blocked")
        .order_by()
    )
    sql, params = qs.query.sql_with_params()
    return sql, tuple(params)


def _select_candidates(cur: Any, municipality: Municipality, as_of: date) -> None:
    cur.execute(f"DROP TABLE IF EXISTS {CANDIDATES}")
    cur.execute(
        f"""CREATE TEMP TABLE {CANDIDATES} (installment_id bigint PRIMARY KEY, taxpayer_id bigint NOT NULL,
            tax_item varchar(2) NOT NULL, designated_due_date date NOT NULL, suppressed integer NOT NULL,
            blocked integer NOT NULL)"""
    )
    sql, params = candidates_sql(municipality, as_of)
    cur.execute(
        f"""INSERT INTO {CANDIDATES} (installment_id, taxpayer_id, tax_item, designated_due_date, suppressed,
            blocked) {sql}""",  # noqa: S608 - the ORM's own SQL
        params,
    )
    cur.execute(f"CREATE INDEX {CANDIDATES}_tp ON {CANDIDATES} (taxpayer_id)")
    if connection.vendor == "postgresql":
        cur.execute(f"ANALYZE {CANDIDATES}")


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def _slices(cur: Any) -> Iterator[list[tuple[int, int, str, date, bool]]]:
    """The unsuppressed candidates, ``SLICE`` taxpayers at a time (keyset on the taxpayer id)."""
    last = 0
    while True:
        cur.execute(
            f"""SELECT DISTINCT taxpayer_id FROM {CANDIDATES} WHERE suppressed = 0 AND taxpayer_id > %s
                ORDER BY taxpayer_id LIMIT {SLICE}""",  # noqa: S608 - constants
            [last],
        )
        ids = [int(r[0]) for r in cur.fetchall()]
        if not ids:
            return
        last = ids[-1]
        cur.execute(
            f"""SELECT installment_id, taxpayer_id, tax_item, designated_due_date, blocked FROM {CANDIDATES}
                WHERE suppressed = 0 AND taxpayer_id BETWEEN %s AND %s""",  # noqa: S608
            [ids[0], ids[-1]],
        )
        yield [(int(i), int(t), str(x), _as_date(d), bool(b)) for i, t, x, d, b in cur.fetchall()]


def _notices(rows: list[tuple[int, int, str, date, bool]], as_of: date, fees: FeeLookup) -> list[_Notice]:
    """One notice per taxpayer and tax item of the slice, with the amounts as of ``as_of``
    (``levies.selectors.amounts_due_lines``: ``amounts_due``'s figures, the 延滞金 of the whole slice
    in one call of the rule; the notice prints no breakdown, so no components are read)."""
    designated = {r[0]: r[3] for r in rows}
    blocked = {r[1]: r[4] for r in rows}
    late: dict[date, bool] = {}  # per 指定納期限: issued after the 20-day period (法329条)
    grouped: dict[tuple[int, str], _Notice] = {}
    for a in amounts_due_lines(installment_ids=list(designated), as_of=as_of):
        if a.principal_due <= 0:  # paid in full by the run date after all (a 領収日 before it)
            continue
        if a.late_charge is None:
            raise _refused(
                f"延滞金の割合が設定されていない年があります（期別 {a.installment_id}、納期限 {a.due_date}）。"
                "rules/params の延滞金の割合を追加してから実行してください（何も発付していません）"
            )
        key = (a.taxpayer_id, a.tax_item)
        notice = grouped.get(key)
        if notice is None:
            notice = grouped[key] = _Notice(a.taxpayer_id, a.tax_item, blocked[a.taxpayer_id])
        d = designated[a.installment_id]
        is_late = late.get(d)
        if is_late is None:
            is_late = late[d] = as_of > dunning_issue_deadline(d)
        notice.add(a, d, is_late)
    for notice in grouped.values():
        notice.fee = fees.fee(issued_on=as_of, due_date=notice.oldest_line.due_date)
    return sorted(grouped.values(), key=lambda n: (n.taxpayer_id, n.tax_item))


def _count(summary: RunSummary, notices: Sequence[_Notice], as_of: date) -> None:
    for n in notices:
        summary.issued += 1
        summary.installments += len(n.lines)
        summary.late_issue += n.late_lines
        summary.blocked += int(n.blocked)
        summary.fee_total += n.fee
        summary.principal_total += n.principal
        summary.late_charge_total += n.late_charge
        summary.amount_total += n.total
        item = summary.by_tax_item.setdefault(
            n.tax_item,
            {"notices": 0, "installments": 0, "principal": 0, "late_charge": 0, "fee": 0, "total": 0},
        )
        item["notices"] += 1
        item["installments"] += len(n.lines)
        item["principal"] += n.principal
        item["late_charge"] += n.late_charge
        item["fee"] += n.fee
        item["total"] += n.total


class _Writer:
    """Writes one slice's notices: slips (numbered under the municipality's lock), notices, lines and
    the fee postings, each with one bulk insert."""

    def __init__(self, municipality: Municipality, as_of: date, actor: Any, job: Job) -> None:
        self.m = municipality
        self.as_of = as_of
        self.pay_by = dunning_payment_deadline(as_of)
        self.actor = actor
        self.job = job
        self.batch: DunningBatch | None = None
        user_id = actor.pk if getattr(actor, "is_authenticated", False) else None
        self.slips = CombinedSlips(municipality, issued_on=as_of, pay_by=self.pay_by, user_id=user_id)

    def write(self, notices: Sequence[_Notice]) -> None:
        if not notices:
            return
        if self.batch is None:
            self.batch = DunningBatch.objects.create(
                municipality=self.m,
                as_of=self.as_of,
                job=self.job,
                created_by=self.actor if getattr(self.actor, "is_authenticated", False) else None,
            )
        n = len(notices)
        slip_ids = self.slips.write(
            [SlipRow(x.taxpayer_id, x.total, [a.installment_id for a, _ in x.lines]) for x in notices]
        )
        notice_ids = reserve_id_block(DunningNotice, n)
        insert_rows(
            DunningNotice,
            (
                "id",
                "municipality_id",
                "batch_id",
                "taxpayer_id",
                "tax_item",
                "issued_on",
                "pay_by",
                "principal",
                "late_charge",
                "fee",
                "total",
                "fee_installment_id",
                "slip_id",
                "late_issue",
                "print_in_office",
                "status",
            ),  # fmt: skip
            [
                (
                    nid,
                    self.m.pk,
                    self.batch.pk,
                    x.taxpayer_id,
                    x.tax_item,
                    self.as_of,
                    self.pay_by,
                    x.principal,
                    x.late_charge,
                    x.fee,
                    x.total,
                    x.oldest_line.installment_id if x.fee else None,
                    sid,
                    x.late_lines > 0,
                    x.blocked,
                    NoticeStatus.ISSUED.value,
                )  # fmt: skip
                for nid, sid, x in zip(notice_ids, slip_ids, notices, strict=True)
            ],
        )
        insert_rows(
            DunningNoticeInstallment,
            ("notice_id", "installment_id", "principal", "late_charge"),
            [
                (nid, a.installment_id, a.principal_due, a.late_charge or 0)
                for nid, x in zip(notice_ids, notices, strict=True)
                for a, _ in x.lines
            ],
        )
        post_many(municipality=self.m, postings=[_fee_posting(x, self.as_of) for x in notices if x.fee],
                  actor=self.actor, job=self.job)  # fmt: skip


def _fee_posting(notice: _Notice, as_of: date) -> Posting:
    """督促手数料 as a receivable of its own (on the notice's oldest installment), against the levied
    contra account: paid like any receivable, in the order of ``rules.allocation``."""
    inst = notice.oldest_line.installment_id
    return Posting(
        kind=TxnKind.DUNNING_FEE,
        legal_date=as_of,
        booking_date=as_of,
        legs=[
            Leg(
                Account.RECEIVABLE,
                notice.fee,
                Component.DUNNING_FEE,
                installment_id=inst,
                taxpayer_id=notice.taxpayer_id,
            ),  # fmt: skip
            Leg(
                Account.LEVIED,
                -notice.fee,
                Component.DUNNING_FEE,
                installment_id=inst,
                taxpayer_id=notice.taxpayer_id,
            ),  # fmt: skip
        ],
        memo=f"督促手数料 {notice.tax_item}",
    )


def dunning_run(
    *, municipality: Municipality, as_of: date, today: date, actor: Any = None, dry_run: bool = False
) -> RunSummary:
    """督促状の一括発付 on ``as_of`` (the issue date), all or nothing. ``today`` is the caller's business
    day: a run date after it is refused. ``dry_run`` counts what would be issued and writes nothing."""
    if as_of > today:
        raise _refused(
            f"督促の発付日 {as_of:%Y-%m-%d} は未来の日付です。本日（{today:%Y-%m-%d}）以前の日付を指定してください"
        )
    fees = fee_lookup(municipality)
    fees.check(as_of)
    summary = RunSummary(as_of=as_of, dry_run=dry_run, pay_by=dunning_payment_deadline(as_of))
    with transaction.atomic():
        # Runs of one municipality (and the numbering of its combined slips) take turns.
        Municipality.objects.select_for_update().filter(pk=municipality.pk).first()
        # 返戻: a new 宛先 ends the 督促停止 of a returned mail, new levies to the old one get one
        # (dunning.returned; a dry run sees the same and rolls it back below).
        refreshed = returned_mail_refresh(municipality=municipality, on=as_of, actor=actor)
        summary.returned_mail = refreshed.as_dict()
        job = None
        if not dry_run:
            job = job_start(
                municipality=municipality,
                kind=Job.Kind.DUNNING_RUN,
                actor=actor,
                parameters={"as_of": as_of.isoformat()},
            )
        with connection.cursor() as cur:
            _select_candidates(cur, municipality, as_of)
            cur.execute(f"SELECT COUNT(*), COALESCE(SUM(suppressed), 0) FROM {CANDIDATES}")  # noqa: S608
            total, suppressed = cur.fetchone()
            summary.candidates, summary.suppressed = int(total), int(suppressed)
            writer = _Writer(municipality, as_of, actor, job) if job is not None else None
            for rows in _slices(cur):
                notices = _notices(rows, as_of, fees)
                _count(summary, notices, as_of)
                if writer is not None:
                    writer.write(notices)
            cur.execute(f"DROP TABLE {CANDIDATES}")
        if job is not None and writer is not None:
            summary.job_id = job.pk
            if writer.batch is not None:
                summary.batch_id = writer.batch.pk
                writer.batch.counts = summary.as_dict()
                writer.batch.save(update_fields=["counts"])
            job_finish(job, status=Job.Status.SUCCEEDED, counts=summary.as_dict())
            audit_record(
                kind=AuditKind.BATCH,
                function=FUNCTION,
                municipality=municipality,
                user=actor,
                job=job,
                detail={k: v for k, v in summary.as_dict().items() if k != "by_tax_item"},  # counts only
            )
        if dry_run:
            transaction.set_rollback(True)  # the returned-mail refresh of a dry run is not kept
    return summary


# --- 督促停止 (suppression) ----------------------------------------------------------------------------

REQUEST_LABELS = {
    "installment_id": "期別（内部番号）",
    "installment": "期別",
    "start": "停止開始日",
    "end": "停止終了日",
    "note": "備考",
}


def _check_actor(actor: User, installment: Installment) -> None:
    if not has_right(actor, Right.DUNNING_SUPPRESS):
        raise PermissionDenied("督促停止を登録する権限がありません")
    if installment.municipality_id != actor.municipality_id:
        raise PermissionDenied("他の自治体の期別は扱えません")


def _check_period(start: date, end: date | None) -> None:
    if end is not None and end < start:
        raise _refused(f"停止終了日（{end:%Y-%m-%d}）が開始日（{start:%Y-%m-%d}）より前です")


def _audit_suppression(actor: Any, s: DunningSuppression, function: str, **extra: Any) -> None:
    audit_record(
        kind=AuditKind.CHANGE,
        function=function,
        municipality=s.municipality,
        user=actor,
        subject_type=AuditSubjectType.TAXPAYER,
        subject_ids=[s.taxpayer_id],
        detail={
            "suppression": s.pk,
            "installment": s.installment_id,
            "reason": s.reason,
            "start": s.start.isoformat(),
            "end": s.end.isoformat() if s.end else None,
            "note": s.note,
            **extra,
        },
    )


@transaction.atomic
def suppression_add(
    *,
    actor: User,
    installment: Installment,
    reason: SuppressionReason,
    start: date,
    end: date | None = None,
    note: str = "",
) -> DunningSuppression:
    """督促停止 for one installment for a reason the office records as a fact (口座振替の結果待ち,
    徴収猶予, 換価の猶予, 執行停止, 破産, 分納, 返戻). A staff judgement (``manual``) needs a second
    person: ``suppression_request``."""
    _check_actor(actor, installment)
    if reason == SuppressionReason.MANUAL:
        raise _refused("職員の判断による督促停止は決裁が必要です（督促停止の申請から登録してください）")
    if reason not in SuppressionReason.values:
        raise _refused(f"督促停止の理由 {reason!r} は定義されていません")
    _check_period(start, end)
    s = DunningSuppression.objects.create(
        municipality_id=installment.municipality_id,
        installment=installment,
        taxpayer_id=installment.taxpayer_id,
        reason=reason,
        start=start,
        end=end,
        note=note.strip(),
        created_by=actor,
    )
    _audit_suppression(actor, s, "督促停止の登録")
    return s


def suppression_request(
    *, actor: User, installment: Installment, start: date, end: date | None, reason: str
) -> ChangeRequest:
    """A 督促停止 for a staff judgement (``manual``), for a second person to approve (決裁)."""
    _check_actor(actor, installment)
    _check_period(start, end)
    return request_create(
        actor=actor,
        kind=RequestKind.DUNNING_SUPPRESSION,
        reason=reason,
        payload={
            "installment_id": installment.pk,
            "installment": str(installment),
            "start": start.isoformat(),
            "end": end.isoformat() if end else None,
            "note": reason.strip(),
        },
        taxpayer=installment.taxpayer,
        required_right=Right.DUNNING_SUPPRESS,
    )


def _apply_manual_suppression(req: ChangeRequest, approver: User, decided_on: date) -> None:
    """The approved request takes effect: the suppression exists from now on (with its request)."""
    p = req.payload
    installment = Installment.objects.get(pk=p["installment_id"], municipality_id=req.municipality_id)
    s = DunningSuppression.objects.create(
        municipality_id=req.municipality_id,
        installment=installment,
        taxpayer_id=installment.taxpayer_id,
        reason=SuppressionReason.MANUAL,
        start=date.fromisoformat(p["start"]),
        end=date.fromisoformat(p["end"]) if p.get("end") else None,
        note=str(p.get("note", ""))[:300],
        request=req,
        created_by=req.requested_by,
    )
    _audit_suppression(approver, s, "督促停止の登録（決裁）", request=req.pk)


@transaction.atomic
def suppression_end(
    *, actor: User, suppression: DunningSuppression, end: date, note: str
) -> DunningSuppression:
    """End a suppression on ``end`` (the last day it applies); the row stays as history."""
    s = DunningSuppression.objects.select_for_update().get(pk=suppression.pk)
    _check_actor(actor, s.installment)
    if not note.strip():
        raise _refused("終了の理由を入力してください")
    if s.end is not None and s.end <= end:
        raise _refused(f"この督促停止は {s.end:%Y-%m-%d} に終了しています")
    _check_period(s.start, end)
    s.end, s.ended_by, s.end_note = end, actor, note.strip()[:300]
    s.save(update_fields=["end", "ended_by", "end_note"])
    _audit_suppression(actor, s, "督促停止の終了", end_note=s.end_note, ended_at=timezone.now().isoformat())
    return s
