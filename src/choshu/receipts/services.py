"""収納・消込: importing payment files and reconciling every payment against installments.

A payment becomes exactly one ledger transaction: cash in (+amount) against the installments'
receivables (principal), late-charge income (延滞金, 調定即収納), the person's overpayment (過誤納金) and
suspense (未消込). ``allocated + overpaid + suspended = amount`` always.

Import rules (interchange.md §3):
- the whole file is validated first (``formats.payments``); a malformed file changes nothing;
- conveni 速報 is recorded as provisional (no money yet), its 確報 posts it once, 速報取消 cancels it;
- eLTAX cancellations reverse the transaction with the same id;
- unknown or cancelled slips, wrong 確認番号 or 税目 go to the suspense queue — never dropped;
- the same file (or record) again changes nothing; a killed import re-run gives the same state
  (one database transaction per file; natural keys per record).
The legal payment date (``paid_on``) drives late charges; the booking date drives the daily totals.
"""

from __future__ import annotations

import json
import logging
import zlib
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.utils import timezone

from choshu.accounts.permissions import Right, has_right
from choshu.approvals.models import RequestKind
from choshu.approvals.services import request_create
from choshu.audit.models import AuditKind, AuditSubjectType
from choshu.audit.services import audit_record
from choshu.core.bulk import IdDrawer
from choshu.core.models import Job, Municipality
from choshu.core.services import file_already_imported, job_finish, job_start
from choshu.formats.csvfile import read_bytes
from choshu.formats.errors import FileRefused, RowError
from choshu.formats.payments import (
    ChannelSettings,
    PaymentRecord,
    PaymentStream,
    RecordKind,
    stream_payment_file,
)
from choshu.levies.ledger import Leg, Posting, StaleBalance, post_many
from choshu.levies.models import Account, Component, TxnKind
from choshu.levies.verify import payment_totals_problems  # noqa: F401  (re-exported: receipts' own check)
from choshu.receipts.engine import (
    ENGINE_ACCOUNTS,
    PaymentEngine,
    ReceiptCounts,
    installment_history,
    reverse_payments,
)
from choshu.receipts.models import (
    IMPORT_JOB_KIND,
    Channel,
    Payment,
    PaymentStatus,
    SuspenseItem,
    SuspenseStatus,
)
from choshu.receipts.slips import SlipTarget, slip_targets
from choshu.rules import reconcile as rr
from choshu.taxpayers.models import Taxpayer

logger = logging.getLogger(__name__)

CHUNK = 5000  # records staged per COPY batch while the file is read
IMPORT_ATTEMPTS = 3
"""Attempts of an import that a counter receipt overtakes (``payments_import``)."""


@dataclass
class PaymentImportSummary(ReceiptCounts):
    records: int = 0
    file_already_imported: bool = False
    job_id: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


# --- the import -------------------------------------------------------------------------------------


def channel_settings(municipality: Municipality) -> ChannelSettings:
    return ChannelSettings(
        conveni_company_code=municipality.conveni_company_code,
        conveni_client_code=municipality.conveni_client_code,
        eltax_agency_no=municipality.eltax_agency_no,
    )


def payments_import(
    *,
    municipality: Municipality,
    channel: str,
    path: str | Path,
    actor: Any = None,
    job: Job | None = None,
    progress: Callable[[int], None] | None = None,
) -> PaymentImportSummary:
    """Import one payment file of ``channel`` (``conveni``, ``bank`` or ``eltax``).

    ``job``: the record made when the file was queued (browser uploads), else a new one is made.
    ``progress`` is told the records read so far once per chunk (``core.progress``).

    An import overtaken by a counter receipt on one of its installments (``StaleBalance``: the whole
    attempt is rolled back) is run again, up to ``IMPORT_ATTEMPTS`` times in all.
    """
    kind = IMPORT_JOB_KIND[Channel(channel)]
    try:
        for attempt in range(1, IMPORT_ATTEMPTS + 1):
            try:
                return _import_once(municipality, channel, str(path), actor, kind, job, progress)
            except StaleBalance as exc:
                if attempt == IMPORT_ATTEMPTS:
                    _job_not_done(
                        municipality, kind, actor, path, Job.Status.FAILED, [RowError(0, "", str(exc))], job
                    )
                    raise
                logger.warning(
                    "import %s: an installment changed during the import (attempt %d of %d); running it again",
                    path,
                    attempt,
                    IMPORT_ATTEMPTS,
                )
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises
    except FileRefused as refused:
        _job_not_done(municipality, kind, actor, path, Job.Status.REFUSED, refused.errors, job)
        raise


def _job_not_done(
    municipality: Municipality,
    kind: Job.Kind,
    actor: Any,
    path: str | Path,
    status: Job.Status,
    errors: Sequence[RowError],
    job: Job | None = None,
) -> None:
    """The job record of an import that wrote nothing (its own transaction was rolled back)."""
    job = job_start(municipality=municipality, kind=kind, actor=actor, file_name=str(path), job=job)
    job_finish(job, status=status, errors=[e.as_dict() for e in errors[:200]])


def _import_once(
    municipality: Municipality,
    channel: str,
    path: str,
    actor: Any,
    kind: Job.Kind,
    queued: Job | None = None,
    progress: Callable[[int], None] | None = None,
) -> PaymentImportSummary:
    """One attempt: the whole file in one transaction. The file's bytes are let go once decoded (the
    stream holds the text only): a 500,000-record file is tens of megabytes each way."""
    stream = stream_payment_file(
        read_bytes(path), channel, settings=channel_settings(municipality), file_name=path
    )
    summary = PaymentImportSummary()
    summary.file_already_imported = file_already_imported(
        municipality=municipality, kind=kind, sha256=stream.sha256
    )
    with transaction.atomic():
        _lock(municipality, channel)
        job = job_start(
            municipality=municipality,
            kind=kind,
            actor=actor,
            file_name=path,
            file_sha256=stream.sha256,
            job=queued,
        )
        engine = PaymentEngine(
            municipality_id=municipality.pk,
            municipality_code=municipality.code,
            channel=channel,
            job_id=job.pk,
            actor_id=_actor_id(actor),
            now=timezone.now(),
        )
        _run_engine(engine, stream, path, summary, progress)
        summary.job_id = job.pk
        job_finish(job, status=Job.Status.SUCCEEDED, counts=summary.as_dict())
        audit_record(
            kind=AuditKind.BATCH,
            function="収納データ取込",
            municipality=municipality,
            user=actor,
            job=job,
            detail={"file": path, "channel": channel, "sha256": stream.sha256, **summary.as_dict()},
        )
    return summary


def _actor_id(actor: Any) -> int | None:
    return actor.pk if getattr(actor, "is_authenticated", False) else None


def _run_engine(
    engine: PaymentEngine,
    stream: PaymentStream,
    file_name: str,
    summary: PaymentImportSummary,
    progress: Callable[[int], None] | None = None,
) -> None:
    """Stage the file while it is read, then decide and write every record (``receipts.engine``).

    Everything happens inside the caller's transaction: if any row is malformed, or a record cannot be
    applied (a 速報取消 or cancellation with nothing to cancel), the file is refused with every error
    and nothing is kept.
    """
    chunk: list[PaymentRecord] = []
    with engine:
        for rec in stream.records:
            summary.records += 1
            if progress is not None and summary.records % CHUNK == 0:
                progress(summary.records)  # at chunk boundaries: a bounded number of writes
            if stream.errors:
                continue  # the file will be refused: read on only to report every error
            chunk.append(rec)
            if len(chunk) >= CHUNK:
                engine.add(chunk)
                chunk.clear()
        if progress is not None:
            progress(summary.records)
        if stream.errors:
            raise FileRefused(sorted(stream.errors, key=lambda e: e.line), file_name)
        engine.add(chunk)
        out = engine.run()
    logger.info("import %s: %d records; import phases %s", file_name, engine.staged, json.dumps(out.phases))
    if out.errors:
        raise FileRefused(sorted((RowError(*e) for e in out.errors), key=lambda e: e.line), file_name)
    summary.add(out)


def _lock(municipality: Municipality, channel: str) -> None:
    """One import per (municipality, channel) at a time (PostgreSQL advisory lock; SQLite has one writer)."""
    if connection.vendor == "postgresql":
        key = zlib.crc32(f"payments:{municipality.pk}:{channel}".encode())
        with connection.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", [key])
            # Fresh statistics: after a large seed or import the planner would otherwise misjudge the
            # look-ups of the facts (seen: a bitmap scan of every bank payment instead of the unique index).
            cur.execute("ANALYZE receipts_payment, levies_installment, receipts_paymentslip")


# --- reversal and checks ------------------------------------------------------------------------------


def payment_reverse_post(
    payment: Payment, *, legal_date: date, booking_date: date, actor: Any, job: Job | None, reason: str
) -> None:
    """Post the exact negation of the payment's own transaction: balances and late charges re-open."""
    reverse_payments(
        municipality_id=payment.municipality_id,
        reversals=[(payment.pk, IdDrawer("levies_ledgertransaction").draw(1)[0], legal_date, booking_date)],
        memo=f"収納取消: {reason}",
        now=timezone.now(),
        actor_id=_actor_id(actor),
        job_id=job.pk if job is not None else None,
    )
    payment.refresh_from_db(fields=["status", "reversal_txn"])


# --- staff actions: counter receipts, reversals, the suspense queue -------------------------------------


@transaction.atomic
def counter_receipt_take(
    *, actor: Any, municipality: Municipality, slip_no: str, amount: int, paid_on: date, note: str = ""
) -> Payment:
    """窓口収納: cash taken at the counter against a slip (an installment's or a combined one).

    Reconciled exactly like an imported payment (same allocation, overpayment and suspense rules);
    the legal and booking dates are the day the cash was taken.
    """
    if not has_right(actor, Right.COUNTER_RECEIPT) or actor.municipality_id != municipality.pk:
        raise PermissionDenied("窓口収納の権限がありません")
    if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
        raise ValidationError("金額は1円以上の整数で入力してください")
    target = slip_targets(municipality, [slip_no]).get(slip_no)
    if target is None or target.cancelled:
        raise ValidationError("この納付番号の納付書はありません（または無効です）")
    seq = Payment.objects.filter(municipality=municipality, channel=Channel.COUNTER).count() + 1
    rec = PaymentRecord(
        line=1,
        channel=Channel.COUNTER,
        kind=RecordKind.FINAL,
        reference=f"counter:{paid_on.isoformat()}:{actor.pk}:{seq}:{timezone.now().timestamp():.6f}",
        slip_no=slip_no,
        confirmation_no="",
        tax_item="",
        amount=amount,
        paid_on=paid_on,
        booked_on=paid_on,
        detail={"clerk": actor.username, "note": note},
    )
    # The same engine as every import: one record, decided by rules.reconcile.
    try:
        with PaymentEngine(
            municipality_id=municipality.pk,
            municipality_code=municipality.code,
            channel=Channel.COUNTER,
            job_id=None,
            actor_id=actor.pk,
            now=timezone.now(),
            keep_payment_ids=True,
        ) as engine:
            engine.add([rec])
            out = engine.run()
    except StaleBalance as exc:
        raise ValidationError(str(exc)) from exc
    if out.errors:
        raise ValidationError(out.errors[0][2])
    payment = Payment.objects.get(pk=out.payment_ids[0])
    audit_record(
        kind=AuditKind.CHANGE,
        function="窓口収納",
        municipality=municipality,
        user=actor,
        subject_type=AuditSubjectType.TAXPAYER,
        subject_ids=[target.taxpayer_id] if target.taxpayer_id else [],
        detail={"payment": payment.pk, "slip_no": slip_no, "amount": amount, "paid_on": paid_on.isoformat()},
    )
    return payment


@transaction.atomic
def payment_reverse(*, actor: Any, payment: Payment, reason: str, on: date) -> Payment:
    """収納取消 (bank error, bounced, wrong slip): the exact negation is booked; late charges re-open."""
    if not has_right(actor, Right.PAYMENT_REVERSE) or actor.municipality_id != payment.municipality_id:
        raise PermissionDenied("収納を取り消す権限がありません")
    payment = Payment.objects.select_for_update().get(pk=payment.pk)
    if payment.status not in (PaymentStatus.POSTED, PaymentStatus.SUSPENSE):
        raise ValidationError(f"この収納は「{payment.get_status_display()}」のため取り消せません")
    if not reason.strip():
        raise ValidationError("取消理由を入力してください")
    payment_reverse_post(
        payment, legal_date=payment.paid_on, booking_date=on, actor=actor, job=None, reason=reason
    )
    audit_record(
        kind=AuditKind.CHANGE,
        function="収納取消",
        municipality=payment.municipality,
        user=actor,
        subject_type=AuditSubjectType.TAXPAYER,
        subject_ids=[payment.taxpayer_id] if payment.taxpayer_id else [],
        detail={"payment": payment.pk, "amount": payment.amount, "reason": reason},
    )
    return payment


@transaction.atomic
def suspense_assign_request(*, actor: Any, item: SuspenseItem, slip_no: str, reason: str) -> Any:
    """Ask to place a suspended payment on a slip (installments of a person); a second person approves."""
    item = SuspenseItem.objects.select_for_update().select_related("payment").get(pk=item.pk)
    if item.status != SuspenseStatus.OPEN:
        raise ValidationError("この未消込は処理済みです")
    target = slip_targets(item.payment.municipality, [slip_no]).get(slip_no)
    if target is None or target.cancelled or target.taxpayer_id is None:
        raise ValidationError("充当先の納付番号が見つかりません")
    req = request_create(
        actor=actor,
        kind=RequestKind.SUSPENSE_ASSIGN,
        reason=reason,
        taxpayer=Taxpayer.objects.get(pk=target.taxpayer_id),
        payload={
            "suspense_item": item.pk,
            "payment": item.payment_id,
            "slip_no": slip_no,
            "amount": item.amount,
        },
        required_right=Right.SUSPENSE_WORK,
    )
    SuspenseItem.objects.filter(pk=item.pk).update(status=SuspenseStatus.ASSIGN_PENDING, approval=req)
    return req


def _apply_suspense_assign(req: Any, approver: Any, decided_on: date) -> None:
    """Approved: move the amount from suspense to the slip's installments (allocation rules apply)."""
    item = (
        SuspenseItem.objects.select_for_update()
        .select_related("payment")
        .get(pk=req.payload["suspense_item"])
    )
    payment = item.payment
    target = slip_targets(payment.municipality, [req.payload["slip_no"]]).get(req.payload["slip_no"])
    if target is None or item.status not in (SuspenseStatus.OPEN, SuspenseStatus.ASSIGN_PENDING):
        raise ValidationError("充当先または未消込の状態が変わっています。申請をやり直してください")
    owed = owed_on_slip(target, paid_on=payment.paid_on)
    record = rr.Record(
        kind=rr.Kind.FINAL,
        amount=item.amount,
        paid_on=payment.paid_on,
        slip_found=True,
        combined=target.combined is not None,
        taxpayer_id=target.taxpayer_id,
    )
    decision = rr.reconcile(record, owed, None)  # the same decision as any payment on this slip
    legs = [Leg(Account.SUSPENSE, item.amount, taxpayer_id=target.taxpayer_id), *legs_of(decision)]
    post_many(
        municipality=payment.municipality,
        postings=[
            Posting(
                kind=TxnKind.SUSPENSE_ASSIGN,
                legal_date=payment.paid_on,
                booking_date=decided_on,
                legs=legs,
                memo=f"未消込充当 決裁#{req.pk}",
                payment_id=payment.pk,
            )
        ],
        actor=approver,
    )
    alloc = decision
    Payment.objects.filter(pk=payment.pk).update(
        taxpayer_id=target.taxpayer_id,
        allocated=payment.allocated + alloc.allocated,
        overpaid=payment.overpaid + alloc.overpayment,
        suspended=payment.suspended - item.amount,
        status=PaymentStatus.POSTED,
    )
    SuspenseItem.objects.filter(pk=item.pk).update(
        status=SuspenseStatus.ASSIGNED, approval=req, resolved_by=approver, resolved_at=timezone.now()
    )


@transaction.atomic
def suspense_mark_refund(*, actor: Any, item: SuspenseItem, note: str) -> SuspenseItem:
    """Give up placing it: the amount is to be refunded (the refunds issue pays it out)."""
    if not has_right(actor, Right.SUSPENSE_WORK) or actor.municipality_id != item.municipality_id:
        raise PermissionDenied("未消込を処理する権限がありません")
    if item.status != SuspenseStatus.OPEN:
        raise ValidationError("この未消込は処理済みです")
    if not note.strip():
        raise ValidationError("還付とする理由を入力してください")
    item.status, item.note, item.resolved_by, item.resolved_at = (
        SuspenseStatus.REFUND_REQUESTED,
        note,
        actor,
        timezone.now(),
    )
    item.save(update_fields=["status", "note", "resolved_by", "resolved_at"])
    audit_record(
        kind=AuditKind.CHANGE,
        function="未消込を還付へ",
        municipality=item.municipality,
        user=actor,
        detail={"suspense_item": item.pk, "amount": item.amount, "note": note},
    )
    return item


# --- the decision's legs, for the single postings (suspense assignment) ------------------------------


def owed_on_slip(target: SlipTarget, *, paid_on: date) -> list[rr.Owed]:
    """The slip's installments as ``rules.reconcile`` sees them, with the earlier payments of those paid
    after the 延滞金's base date (the 延滞金 owed on ``paid_on`` depends on them)."""
    late = [i.pk for i in target.installments if paid_on > i.late_charge_base_date]
    history = installment_history(late)
    return [
        rr.Owed(
            installment_id=i.pk,
            taxpayer_id=i.taxpayer_id,
            due_date=i.due_date,
            tax_item=i.tax_item,
            principal_levied=i.principal_levied,
            principal_outstanding=i.principal_outstanding,
            principal_payments=list(history[i.pk][0]) if i.pk in history else None,
            late_charge_paid=history[i.pk][1] if i.pk in history else 0,
            late_charge_base_date=i.late_charge_base_date,
        )
        for i in target.installments
    ]


def legs_of(decision: rr.Decision) -> list[Leg]:
    """The crediting legs of a decision: each placed line and the overpayment."""
    legs = []
    for line in decision.lines:
        account, component = ENGINE_ACCOUNTS[line.component]
        legs.append(
            Leg(
                Account(account),
                -line.amount,
                Component(component),
                installment_id=line.installment_id,
                taxpayer_id=line.taxpayer_id,
            )
        )
    if decision.overpayment:
        legs.append(
            Leg(
                Account.OVERPAYMENT,
                -decision.overpayment,
                installment_id=decision.overpaid_installment_id,
                taxpayer_id=decision.taxpayer_id,
            )
        )
    return legs
