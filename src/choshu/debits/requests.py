"""口座振替依頼データ: ``choshu debit-request`` — one Zengin 種別91 file per collecting bank.

One transaction: the lines are chosen and inserted by one statement (every installment due on the
debit date with 本税 outstanding and an active, approved mandate covering its tax item), each gets a
督促停止 of reason 口座振替の結果待ち (also one statement), and each file is written from a cursor over
its lines (bounded memory). The same date again returns the run already written; ``regenerate`` voids
it (its lines, suppressions and files) first, unless a result has been applied to it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any, BinaryIO, cast

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from choshu.audit.models import AuditKind
from choshu.audit.services import audit_record
from choshu.core.models import Job, Municipality
from choshu.core.outfiles import output_file
from choshu.core.services import job_finish, job_start
from choshu.debits.models import (
    CollectingAccount,
    DebitFile,
    DebitLine,
    DebitRun,
    LineStatus,
    MandateKind,
    MandateStatus,
    RunStatus,
)
from choshu.dunning.models import DunningSuppression, SuppressionReason
from choshu.formats.zengin import (
    DebitHeader,
    DebitRecord,
    bank_info,
    branch_info,
    is_bank_business_day,
    write_debit_file,
)
from choshu.receipts.services import owed_amounts
from choshu.receipts.slips import slip_targets

FETCH = 10_000
FUNCTION = "口座振替依頼データの作成"


@dataclass
class RequestSummary:
    run_id: int
    debit_date: str
    files: list[dict[str, Any]] = field(default_factory=list)
    records: int = 0
    amount: int = 0
    blocked: int = 0
    already: bool = False
    voided_run: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@lru_cache(maxsize=4096)
def _names(bank_code: str, branch_code: str) -> tuple[str, str]:
    """The optional 銀行名・支店名 fields, from the reference data (blank when unknown)."""
    bank = bank_info(bank_code)
    branch = branch_info(bank_code, branch_code)
    return (bank.kana[:15] if bank else "", branch.kana[:15] if branch else "")


def _summary_of(run: DebitRun, *, already: bool) -> RequestSummary:
    s = RequestSummary(run_id=run.pk, debit_date=run.debit_date.isoformat(), already=already)
    for f in run.files.select_related("collecting").order_by("pk"):
        s.files.append(
            {"path": f.path, "bank_code": f.collecting.bank_code, "records": f.records, "amount": f.amount,
             "sha256": f.sha256}
        )  # fmt: skip
    s.records, s.amount, s.blocked = run.records, run.amount, run.blocked
    return s


def _void(run: DebitRun, actor: Any) -> None:
    if run.files.filter(lines__status__in=[LineStatus.COLLECTED, LineStatus.FAILED]).exists():
        raise ValidationError(
            f"{run.debit_date:%Y-%m-%d} の依頼データには振替結果を取り込み済みのため、再作成できません"
        )
    installments = DebitLine.objects.filter(file__run=run).values("installment_id")
    DunningSuppression.objects.filter(
        reason=SuppressionReason.DIRECT_DEBIT,
        end__isnull=True,
        start=run.debit_date,
        installment_id__in=installments,
    ).update(end=run.debit_date, end_note="口座振替依頼データの再作成（取消）")
    DebitLine.objects.filter(file__run=run).update(status=LineStatus.VOID)
    run.status, run.voided_at = RunStatus.VOID, timezone.now()
    run.voided_by = actor if getattr(actor, "is_authenticated", False) else None
    run.save(update_fields=["status", "voided_at", "voided_by"])
    for f in run.files.all():
        if os.path.exists(f.path):
            os.replace(f.path, f.path + ".void")


def _insert_lines(
    municipality: Municipality, run: DebitRun, files: dict[str, int], default: int | None
) -> None:
    """Every line of the run in one statement (see the module docstring)."""
    d = run.debit_date if connection.vendor == "postgresql" else run.debit_date.isoformat()
    case = " ".join(f"WHEN '{bank}' THEN {file_id}" for bank, file_id in files.items())
    file_expr = f"CASE c.bank_code {case} ELSE {default if default is not None else 'NULL'} END"
    if not files:
        file_expr = str(default) if default is not None else "NULL"
    sent = f"""EXISTS (SELECT 1 FROM debits_debitline x WHERE x.mandate_id = c.mandate_id
                       AND x.status <> '{LineStatus.VOID.value}')"""
    sql = f"""
        INSERT INTO debits_debitline (municipality_id, file_id, mandate_id, installment_id, taxpayer_id,
            debit_date, amount, new_code, bank_code, branch_code, deposit_type, account, holder_kana, status,
            result_code, notice, follow_up_note)
        SELECT %(m)s, {file_expr}, c.mandate_id, c.installment_id, c.taxpayer_id, %(d)s, c.amount,
               CASE WHEN c.first_of_mandate = 1 AND NOT {sent}
                    THEN CASE c.kind WHEN '{MandateKind.CHANGE.value}' THEN '2' ELSE '1' END ELSE '0' END,
               c.bank_code, c.branch_code, c.deposit_type, c.account, c.holder_kana, '{LineStatus.PENDING.value}',
               '', '', ''
        FROM (
            SELECT b.*, ROW_NUMBER() OVER (PARTITION BY b.mandate_id ORDER BY b.installment_id) AS first_of_mandate
            FROM (
                SELECT i.id AS installment_id, i.taxpayer_id, i.principal_outstanding AS amount,
                       m.id AS mandate_id, m.kind, m.bank_code, m.branch_code, m.deposit_type, m.account,
                       m.holder_kana, m.has_bank_warnings, m.bank_override_by_id,
                       ROW_NUMBER() OVER (PARTITION BY i.id ORDER BY CASE WHEN m.tax_item = '' THEN 1 ELSE 0 END,
                                          m.start DESC, m.id DESC) AS choice
                FROM levies_installment i
                JOIN levies_levy l ON l.id = i.levy_id
                JOIN debits_mandate m ON m.municipality_id = i.municipality_id AND m.taxpayer_id = i.taxpayer_id
                     AND (m.tax_item = l.tax_item OR m.tax_item = '')
                     AND m.status = '{MandateStatus.ACTIVE.value}' AND m.start <= %(d)s
                     AND (m."end" IS NULL OR m."end" >= %(d)s)
                WHERE i.municipality_id = %(m)s AND i.due_date = %(d)s AND i.principal_outstanding > 0
            ) b
            WHERE b.choice = 1 AND NOT (b.has_bank_warnings AND b.bank_override_by_id IS NULL)
        ) c
        WHERE {file_expr} IS NOT NULL
        ORDER BY c.installment_id"""  # noqa: S608 - codes and ids only
    with connection.cursor() as cur:
        cur.execute(sql, {"m": municipality.pk, "d": d})


def _blocked_count(municipality: Municipality, debit_date: date) -> int:
    """Installments due with 本税 outstanding and an active mandate that got no line: the bank code is
    not yet confirmed by a chief, or no collecting account takes the bank."""
    d = debit_date if connection.vendor == "postgresql" else debit_date.isoformat()
    with connection.cursor() as cur:
        cur.execute(
            f"""SELECT COUNT(DISTINCT i.id) FROM levies_installment i
                JOIN debits_mandate m ON m.municipality_id = i.municipality_id AND m.taxpayer_id = i.taxpayer_id
                     AND m.status = '{MandateStatus.ACTIVE.value}' AND m.start <= %(d)s
                     AND (m."end" IS NULL OR m."end" >= %(d)s)
                WHERE i.municipality_id = %(m)s AND i.due_date = %(d)s AND i.principal_outstanding > 0
                  AND NOT EXISTS (SELECT 1 FROM debits_debitline x WHERE x.installment_id = i.id
                                  AND x.debit_date = %(d)s AND x.status <> '{LineStatus.VOID.value}')""",  # noqa: S608
            {"m": municipality.pk, "d": d},
        )
        (missing,) = cur.fetchone()
    return int(missing)


def _late_amounts(municipality: Municipality, run: DebitRun) -> None:
    """Lines whose debit date is after the 延滞金's base date (a 申告納付 item past its 法定納期限): the
    amount is what ``receipts.services.owed_amounts`` says a payment on the debit date settles. For
    every other line that is the 本税 outstanding, which the insert took (no fee or 延滞金 can be owed
    on the 納期限 itself)."""
    late = (
        DebitLine.objects.filter(file__run=run, installment__late_charge_base_date__lt=run.debit_date)
        .values_list("pk", "installment__slip_no")
        .iterator(chunk_size=1000)
    )
    batch: list[tuple[int, str]] = []
    for pk, slip in late:
        batch.append((pk, slip or ""))
        if len(batch) >= 1000:
            _update_amounts(municipality, run.debit_date, batch)
            batch = []
    _update_amounts(municipality, run.debit_date, batch)


def _update_amounts(municipality: Municipality, on: date, rows: list[tuple[int, str]]) -> None:
    if not rows:
        return
    targets = slip_targets(municipality, [slip for _, slip in rows if slip])
    for pk, slip in rows:
        target = targets.get(slip)
        if target is not None:
            total = sum(o.total for o in owed_amounts(target, paid_on=on))
            DebitLine.objects.filter(pk=pk).update(amount=total)


def _suppress(municipality: Municipality, run: DebitRun, actor_id: int | None) -> int:
    """A 督促停止 (口座振替の結果待ち) from the debit date, open until the result, for every line."""
    with connection.cursor() as cur:
        cur.execute(
            f"""INSERT INTO dunning_dunningsuppression (municipality_id, installment_id, taxpayer_id, reason,
                    start, "end", note, request_id, created_by_id, created_at, ended_by_id, end_note)
                SELECT %(m)s, l.installment_id, l.taxpayer_id, '{SuppressionReason.DIRECT_DEBIT.value}', l.debit_date,
                       NULL, %(note)s, NULL, %(actor)s, %(now)s, NULL, ''
                FROM debits_debitline l JOIN debits_debitfile f ON f.id = l.file_id
                WHERE f.run_id = %(run)s""",  # noqa: S608
            {"m": municipality.pk, "note": f"口座振替依頼 {run.debit_date:%Y-%m-%d}", "actor": actor_id,
             "now": timezone.now(), "run": run.pk},
        )  # fmt: skip
        return int(cur.rowcount)


def _records(file_id: int) -> Iterator[DebitRecord]:
    """The file's lines in id order, a keyset batch at a time (bounded memory on either database)."""
    last = 0
    while True:
        rows = list(
            DebitLine.objects.filter(file_id=file_id, pk__gt=last)
            .order_by("pk")
            .values_list(
                "pk",
                "bank_code",
                "branch_code",
                "deposit_type",
                "account",
                "holder_kana",
                "amount",
                "new_code",
            )[:FETCH]  # fmt: skip
        )
        if not rows:
            return
        for pk, bank, branch, dtype, account, holder, amount, new_code in rows:
            bank_name, branch_name = _names(bank, branch)
            yield DebitRecord(
                bank_code=bank, branch_code=branch, deposit_type=dtype, account=account, holder=holder,
                amount=amount, new_code=new_code, customer_no=str(pk), bank_name=bank_name,
                branch_name=branch_name,
            )  # fmt: skip
        last = rows[-1][0]


def _write(f: DebitFile, run: DebitRun, out_dir: Path) -> None:
    acc = f.collecting
    bank_name, branch_name = _names(acc.bank_code, acc.branch_code)
    header = DebitHeader(
        originator_code=acc.originator_code, originator_name=acc.originator_name, debit_date=run.debit_date,
        bank_code=acc.bank_code, branch_code=acc.branch_code, deposit_type=acc.deposit_type,
        account=acc.account, bank_name=bank_name, branch_name=branch_name,
    )  # fmt: skip
    path = out_dir / f"KF{run.debit_date:%Y%m%d}_{acc.bank_code}_{run.pk}.txt"
    with output_file(path) as out:  # a field the writer cannot write leaves nothing behind
        totals = write_debit_file(cast(BinaryIO, out), header, _records(f.pk))
        out.publish()
    f.path, f.sha256, f.records, f.amount = str(path), out.sha256, totals.count, totals.amount
    f.save(update_fields=["path", "sha256", "records", "amount"])


def debit_request(
    *,
    municipality: Municipality,
    debit_date: date,
    out_dir: str | Path,
    actor: Any = None,
    regenerate: bool = False,
) -> RequestSummary:
    """Write the request files for ``debit_date`` (see the module docstring)."""
    out = Path(out_dir)
    if not out.is_dir():
        raise ValidationError(f"出力先 {out} がありません（フォルダを作成してから実行してください）")
    if not is_bank_business_day(debit_date):
        raise ValidationError(f"引落日 {debit_date:%Y-%m-%d} は金融機関の営業日ではありません")
    written: list[DebitFile] = []
    try:
        with transaction.atomic():
            existing = (
                DebitRun.objects.select_for_update()
                .filter(municipality=municipality, debit_date=debit_date, status=RunStatus.WRITTEN)
                .first()
            )
            voided = None
            if existing is not None:
                if not regenerate:
                    return _summary_of(existing, already=True)
                _void(existing, actor)
                voided = existing.pk
            summary = _run(municipality, debit_date, out, actor, written)
            summary.voided_run = voided
            return summary
    except BaseException:
        for f in written:
            if f.path and os.path.exists(f.path):
                os.remove(f.path)
        raise


def _run(
    municipality: Municipality, debit_date: date, out: Path, actor: Any, written: list[DebitFile]
) -> RequestSummary:
    accounts = list(
        CollectingAccount.objects.filter(municipality=municipality, is_active=True).order_by("pk")
    )
    if not accounts:
        raise ValidationError(
            "口座振替の収納口座（委託者コード）が設定されていません（団体設定で登録してください）"
        )
    actor_id = actor.pk if getattr(actor, "is_authenticated", False) else None
    job = job_start(
        municipality=municipality, kind=Job.Kind.DEBIT_REQUEST, actor=actor,
        parameters={"debit_date": debit_date.isoformat(), "out": str(out)},
    )  # fmt: skip
    run = DebitRun.objects.create(
        municipality=municipality, debit_date=debit_date, job=job, out_dir=str(out), created_by_id=actor_id
    )
    files = {
        a.bank_code: DebitFile.objects.create(run=run, collecting=a, path="", sha256="") for a in accounts
    }
    default = next((files[a.bank_code].pk for a in accounts if a.is_default), None)
    _insert_lines(municipality, run, {bank: f.pk for bank, f in files.items()}, default)
    _late_amounts(municipality, run)
    suppressed = _suppress(municipality, run, actor_id)
    summary = RequestSummary(run_id=run.pk, debit_date=debit_date.isoformat())
    for f in files.values():
        if not f.lines.exists():
            f.delete()
            continue
        written.append(f)
        _write(f, run, out)
        summary.files.append(
            {"path": f.path, "bank_code": f.collecting.bank_code, "records": f.records, "amount": f.amount,
             "sha256": f.sha256}
        )  # fmt: skip
        summary.records += f.records
        summary.amount += f.amount
    summary.blocked = _blocked_count(municipality, debit_date)
    run.records, run.amount, run.blocked = summary.records, summary.amount, summary.blocked
    run.save(update_fields=["records", "amount", "blocked"])
    counts = {**summary.as_dict(), "suppressions": suppressed}
    job_finish(job, status=Job.Status.SUCCEEDED, counts=counts)
    audit_record(
        kind=AuditKind.EXPORT, function=FUNCTION, municipality=municipality, user=actor, job=job,
        detail={k: v for k, v in counts.items() if k != "files"} | {"files": [f["path"] for f in summary.files]},
    )  # fmt: skip
    return summary
