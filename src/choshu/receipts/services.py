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
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import Count, Min, Sum
from django.utils import timezone

from choshu.accounts.permissions import Right, has_right
from choshu.approvals.models import ApprovalStatus, ChangeRequest, RequestKind
from choshu.approvals.services import request_create
from choshu.audit.models import AuditKind, AuditSubjectType
from choshu.audit.services import audit_record
from choshu.core.bulk import IdDrawer
from choshu.core.models import Job, Municipality
from choshu.core.services import file_already_imported, job_finish, job_start
from choshu.formats.csvfile import read_bytes
from choshu.formats.display import wareki, yen
from choshu.formats.errors import FileRefused, RowError
from choshu.formats.payments import (
    ChannelSettings,
    PaymentRecord,
    PaymentStream,
    RecordKind,
    stream_payment_file,
)
from choshu.levies.exemptions import late_charge_exemptions
from choshu.levies.ledger import Leg, Posting, StaleBalance, post_many
from choshu.levies.models import Account, Component, Installment, LedgerEntry, TxnKind
from choshu.levies.tax_items import tax_item_name
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
    CashierDay,
    Channel,
    CounterReceipt,
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
    channel_counts: dict[str, Any] = field(default_factory=dict)  # a registered channel's own counts

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.update(d.pop("channel_counts"))
        return d


# --- the import -------------------------------------------------------------------------------------


@dataclass
class ChannelStream(PaymentStream):
    """A payment file of a channel an app above receipts reads (``FileChannel``): its records go
    through the engine like any other; ``finish`` then runs in the same transaction (the job is
    written) and returns counts added to the summary (``channel_counts``)."""

    finish: Callable[[Job, Any], dict[str, Any]] | None = None


@dataclass(frozen=True)
class FileChannel:
    """A payment file channel registered by an app above receipts (the Zengin 口座振替 result: the
    ``debits`` app): ``import-payments --channel NAME`` opens the file with ``open(municipality,
    bytes, file name, processing day)`` and the records become payments of ``payment_channel``. The
    processing day is the caller's (the command's or the queued job's day), never read from the clock
    inside the channel."""

    name: str
    payment_channel: Channel
    job_kind: Job.Kind
    open: Callable[[Municipality, bytes, str, date], ChannelStream]


FILE_CHANNELS: dict[str, FileChannel] = {}


def register_file_channel(channel: FileChannel) -> None:
    FILE_CHANNELS[channel.name] = channel


def import_channels() -> list[str]:
    """Every channel ``import-payments`` reads: the built-in ones and those registered."""
    return [c.value for c in IMPORT_JOB_KIND] + sorted(FILE_CHANNELS)


def import_job_kind(channel: str) -> Job.Kind:
    registered = FILE_CHANNELS.get(channel)
    return registered.job_kind if registered is not None else IMPORT_JOB_KIND[Channel(channel)]


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
    today: date | None = None,
) -> PaymentImportSummary:
    """Import one payment file of ``channel`` (``conveni``, ``bank`` or ``eltax``, or a registered one).

    ``today`` is the processing day a registered channel reads its file around (the 口座振替 result
    says only MMDD); the local date when not given.

    ``job``: the record made when the file was queued (browser uploads), else a new one is made.
    ``progress`` is told the records read so far once per chunk (``core.progress``).

    An import overtaken by a counter receipt on one of its installments (``StaleBalance``: the whole
    attempt is rolled back) is run again, up to ``IMPORT_ATTEMPTS`` times in all.
    """
    kind = import_job_kind(channel)
    day = today or timezone.localdate()  # one processing day for every attempt
    try:
        for attempt in range(1, IMPORT_ATTEMPTS + 1):
            try:
                return _import_once(
                    municipality,
                    channel,
                    str(path),
                    actor,
                    kind,
                    job,
                    progress,
                    day,
                )
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
    queued: Job | None,
    progress: Callable[[int], None] | None,
    today: date,
) -> PaymentImportSummary:
    """One attempt: the whole file in one transaction. The file's bytes are let go once decoded (the
    stream holds the text only): a 500,000-record file is tens of megabytes each way."""
    registered = FILE_CHANNELS.get(channel)
    stream: PaymentStream
    if registered is not None:
        stream = registered.open(municipality, read_bytes(path), path, today)
        channel = registered.payment_channel.value
    else:
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
        if isinstance(stream, ChannelStream) and stream.finish is not None:
            summary.channel_counts = stream.finish(job, actor)
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


@dataclass(frozen=True)
class SlipOwed:
    """What one slip owes as of a 領収日: 本税 (with any fee) and 延滞金, as the engine would place them."""

    slip_no: str
    target: SlipTarget
    principal: int
    late_charge: int

    @property
    def total(self) -> int:
        return self.principal + self.late_charge


def slips_owed(municipality: Municipality, slip_nos: Sequence[str], *, paid_on: date) -> list[SlipOwed]:
    """The slips in the order given, each with what it owes on ``paid_on`` (``owed_amounts``: the
    延滞金 the engine computes for a payment of that day).

    Refuses an unknown or cancelled slip, the same slip twice, and slips sharing an installment."""
    if not slip_nos:
        raise ValidationError("納付番号を入力してください")
    if len(set(slip_nos)) != len(slip_nos):
        raise ValidationError("同じ納付番号が2回入力されています")
    targets = slip_targets(municipality, slip_nos)
    seen: set[int] = set()
    out = []
    for slip_no in slip_nos:
        target = targets.get(slip_no)
        if target is None or target.cancelled or target.taxpayer_id is None:
            raise ValidationError(f"この納付番号の納付書はありません（または無効です）: {slip_no}")
        ids = {i.pk for i in target.installments}
        if ids & seen:
            raise ValidationError(f"納付番号 {slip_no} は、ほかの納付書と同じ期別を含んでいます")
        seen |= ids
        ended = extinguished_dates(ids)
        if any(on <= paid_on for on in ended.values()):
            on = min(ended.values())
            raise ValidationError(
                f"納付番号 {slip_no} の税は、{wareki(on)} に徴収権が消滅しています（地方税法18条の時効など）。"
                "消滅した税は納付の申出があっても収納できません。収納せずに納税者へ説明してください",
                code="extinguished",
            )
        owed = owed_amounts(target, paid_on=paid_on)
        out.append(
            SlipOwed(
                slip_no=slip_no,
                target=target,
                principal=sum(o.principal + o.fees for o in owed),
                late_charge=sum(o.late_charge for o in owed),
            )
        )
    return out


def split_amount(amount: int, owed: Sequence[SlipOwed]) -> list[int]:
    """One cash amount over several slips, in the order given: each slip up to what it owes, the last
    one the rest (an overpayment, when the amount is more than every slip owes)."""
    shares, rest = [], amount
    for k, slip in enumerate(owed):
        share = rest if k == len(owed) - 1 else min(rest, slip.total)
        if share <= 0:
            raise ValidationError(
                f"領収金額が不足しています。{k + 1}枚目の納付書（{slip.slip_no}）に充てる金額がありません。"
                "納付書を外すか、金額を確認してください"
            )
        shares.append(share)
        rest -= share
    return shares


def _check_levied_by(owed: Sequence[SlipOwed], paid_on: date) -> None:
    """A 領収日 before the levy exists (its 調定日, the booking date of its levy transaction) is refused."""
    ids = [i.pk for s in owed for i in s.target.installments]
    first = (
        LedgerEntry.objects.filter(installment_id__in=ids, account=Account.RECEIVABLE, txn__kind=TxnKind.LEVY)
        .values("installment_id")
        .annotate(levied_on=Min("txn__booking_date"))
    )
    for row in first:
        if paid_on < row["levied_on"]:
            raise ValidationError(
                f"領収日（{wareki(paid_on)}）は調定日（{wareki(row['levied_on'])}）より前です。"
                "調定前の税には収納できません。領収日を確認してください"
            )


def _check_counter(actor: Any, municipality: Municipality, amount: Any) -> None:
    if not has_right(actor, Right.COUNTER_RECEIPT) or actor.municipality_id != municipality.pk:
        raise PermissionDenied("窓口収納の権限がありません")
    if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
        raise ValidationError("金額は1円以上の整数で入力してください")


def _check_receipt(
    owed: Sequence[SlipOwed], *, amount: int, paid_on: date, tendered: int | None, overpayment_accepted: bool
) -> None:
    _check_levied_by(owed, paid_on)
    total = sum(s.total for s in owed)
    if amount > total and not overpayment_accepted:
        raise ValidationError(
            f"領収金額 {yen(amount)}円 は納付額の合計 {yen(total)}円 を {yen(amount - total)}円 超えています。"
            "超える分を過誤納金として受け入れる場合は「過誤納金として受け入れる」を確認してください",
            code="overpayment",
        )
    if tendered is not None and tendered < amount:
        raise ValidationError("お預かり金額が領収金額より少なくなっています")
    split_amount(amount, owed)


def cashier_open_day(*, municipality: Municipality, cashier: Any, on: date) -> date:
    """The cashier's first day on or after ``on`` that is not closed (日計締め)."""
    closed = set(
        CashierDay.objects.filter(municipality=municipality, cashier=cashier, day__gte=on).values_list(
            "day", flat=True
        )
    )
    day = on
    while day in closed:
        day += timedelta(days=1)
    return day


def _lock_cashier(cashier: Any) -> None:
    """Receipts and the day's close of one cashier serialise on the cashier's user row."""
    list(get_user_model().objects.select_for_update().filter(pk=cashier.pk).values_list("pk", flat=True))


def _record_receipt(
    *,
    actor: Any,
    municipality: Municipality,
    slip_nos: Sequence[str],
    amount: int,
    paid_on: date,
    booked_from: date,
    note: str,
    tendered: int | None,
    overpayment_accepted: bool,
    approval: Any = None,
) -> CounterReceipt:
    """Write one receipt: a payment per slip, each decided by the engine, booked on the open day."""
    _lock_cashier(actor)
    owed = slips_owed(municipality, slip_nos, paid_on=paid_on)
    _check_receipt(
        owed, amount=amount, paid_on=paid_on, tendered=tendered, overpayment_accepted=overpayment_accepted
    )
    shares = split_amount(amount, owed)
    booked_on = cashier_open_day(municipality=municipality, cashier=actor, on=booked_from)
    tendered = amount if tendered is None else tendered
    receipt = CounterReceipt.objects.create(
        municipality=municipality,
        cashier=actor,
        paid_on=paid_on,
        booked_on=booked_on,
        amount=amount,
        tendered=tendered,
        change=tendered - amount,
        approval=approval,
    )
    records = [
        PaymentRecord(
            line=k + 1,
            channel=Channel.COUNTER,
            kind=RecordKind.FINAL,
            reference=f"counter:{receipt.pk}:{k + 1}",
            slip_no=slip.slip_no,
            confirmation_no="",
            tax_item="",
            amount=share,
            paid_on=paid_on,
            booked_on=booked_on,
            detail={
                "clerk": actor.username,
                "note": note,
                "receipt": str(receipt.pk),
                **({"overpayment_confirmed": "1"} if overpayment_accepted else {}),
                **({"approval": str(approval.pk)} if approval is not None else {}),
            },
        )
        for k, (slip, share) in enumerate(zip(owed, shares, strict=True))
    ]
    # The same engine as every import: the records are decided by rules.reconcile.
    receipt.payments = post_records(
        municipality=municipality, channel=Channel.COUNTER, actor=actor, records=records
    )
    receipt.save(update_fields=["payments"])
    audit_record(
        kind=AuditKind.CHANGE,
        function="窓口収納",
        municipality=municipality,
        user=actor,
        subject_type=AuditSubjectType.TAXPAYER,
        subject_ids=sorted({s.target.taxpayer_id for s in owed if s.target.taxpayer_id}),
        detail={
            "receipt": receipt.pk,
            "payments": receipt.payments,
            "slip_nos": list(slip_nos),
            "amount": amount,
            "paid_on": paid_on.isoformat(),
            "booked_on": booked_on.isoformat(),
            "overpayment_accepted": overpayment_accepted,
            "approval": approval.pk if approval is not None else None,
        },
    )
    return receipt


@transaction.atomic
def counter_receipt_record(
    *,
    actor: Any,
    municipality: Municipality,
    slip_nos: Sequence[str],
    amount: int,
    paid_on: date,
    entered_on: date | None = None,
    note: str = "",
    tendered: int | None = None,
    overpayment_accepted: bool = False,
) -> CounterReceipt:
    """窓口収納: cash taken at the counter against one or more slips (one receipt number).

    ``entered_on`` is the day the receipt is entered (the screen passes today; not given = ``paid_on``).
    The 領収日 must be that day: another date goes through ``counter_backdated_request`` (決裁).
    The amount is split over the slips in order (``split_amount``); each slip's share is reconciled
    exactly like an imported payment. More than every slip owes is refused unless
    ``overpayment_accepted`` (the excess becomes 過誤納金 on the last slip, as the engine books it). The
    receipt is booked on the cashier's first open day from ``entered_on`` (日計締め)."""
    _check_counter(actor, municipality, amount)
    entered_on = entered_on or paid_on
    if paid_on != entered_on:
        raise ValidationError("領収日が本日以外の収納は、理由を入力して決裁を申請してください")
    return _record_receipt(
        actor=actor,
        municipality=municipality,
        slip_nos=slip_nos,
        amount=amount,
        paid_on=paid_on,
        booked_from=entered_on,
        note=note,
        tendered=tendered,
        overpayment_accepted=overpayment_accepted,
    )


@transaction.atomic
def counter_receipt_take(
    *,
    actor: Any,
    municipality: Municipality,
    slip_no: str,
    amount: int,
    paid_on: date,
    note: str = "",
    overpayment_accepted: bool = False,
) -> Payment:
    """One slip, entered on its 領収日 (``counter_receipt_record``): the slip's payment."""
    receipt = counter_receipt_record(
        actor=actor,
        municipality=municipality,
        slip_nos=[slip_no],
        amount=amount,
        paid_on=paid_on,
        note=note,
        overpayment_accepted=overpayment_accepted,
    )
    return Payment.objects.get(pk=receipt.payments[0])


OVERPAYMENT_ACCEPTED = "受け入れる"  # the request's answer to 「過誤納金として受け入れる」, as shown in 決裁


@transaction.atomic
def counter_backdated_request(
    *,
    actor: Any,
    municipality: Municipality,
    slip_nos: Sequence[str],
    amount: int,
    paid_on: date,
    entered_on: date,
    reason: str,
    note: str = "",
    tendered: int | None = None,
    overpayment_accepted: bool = False,
) -> Any:
    """A receipt with a 領収日 other than today: checked now, written only when a chief approves (決裁).

    On approval it keeps its 領収日 (the 延滞金 stops that day) and is booked on the requester's first
    open day from the approval day, so no closed 日計 ever changes."""
    _check_counter(actor, municipality, amount)
    if paid_on > entered_on:
        raise ValidationError("領収日に未来の日付は指定できません")
    if paid_on == entered_on:
        raise ValidationError("領収日が本日の収納は決裁なしで登録できます")
    owed = slips_owed(municipality, slip_nos, paid_on=paid_on)
    _check_receipt(
        owed, amount=amount, paid_on=paid_on, tendered=tendered, overpayment_accepted=overpayment_accepted
    )
    return request_create(
        actor=actor,
        kind=RequestKind.COUNTER_BACKDATED,
        reason=reason,
        taxpayer=Taxpayer.objects.get(pk=int(owed[0].target.taxpayer_id or 0)),
        payload={
            "slip_nos": " ".join(slip_nos),
            "amount": amount,
            "paid_on": paid_on.isoformat(),
            "entered_on": entered_on.isoformat(),
            "owed": sum(s.total for s in owed),
            **({"tendered": tendered} if tendered is not None else {}),
            "overpayment_accepted": OVERPAYMENT_ACCEPTED if overpayment_accepted else "受け入れない",
            **({"note": note} if note else {}),
        },
        required_right=Right.COUNTER_RECEIPT,
    )


def _apply_counter_backdated(req: Any, approver: Any, decided_on: date) -> None:
    """Approved: the receipt is written with its own 領収日, booked from the approval day."""
    p = req.payload
    _record_receipt(
        actor=req.requested_by,
        municipality=req.municipality,
        slip_nos=str(p["slip_nos"]).split(),
        amount=int(p["amount"]),
        paid_on=date.fromisoformat(p["paid_on"]),
        booked_from=decided_on,
        note=str(p.get("note") or ""),
        tendered=p.get("tendered"),
        overpayment_accepted=p.get("overpayment_accepted") == OVERPAYMENT_ACCEPTED,
        approval=req,
    )


def cashier_day_totals(*, municipality: Municipality, cashier: Any, day: date) -> dict[str, int]:
    """The cashier's receipts booked on ``day``: count, amount, お預かり and お釣り."""
    totals = CounterReceipt.objects.filter(
        municipality=municipality, cashier=cashier, booked_on=day
    ).aggregate(receipts=Count("pk"), amount=Sum("amount"), tendered=Sum("tendered"), change=Sum("change"))
    return {k: int(v or 0) for k, v in totals.items()}


@transaction.atomic
def cashier_day_close(
    *, actor: Any, municipality: Municipality, day: date, counted: int, reason: str, today: date
) -> CashierDay:
    """日計締め（レジ締め）: the cash counted against the day's receipts; a difference needs a reason.

    After it, the cashier's receipts are booked on the next open day (``cashier_open_day``)."""
    if not has_right(actor, Right.COUNTER_RECEIPT) or actor.municipality_id != municipality.pk:
        raise PermissionDenied("窓口収納の権限がありません")
    if day > today:
        raise ValidationError("未来の日は締められません")
    if not isinstance(counted, int) or isinstance(counted, bool) or counted < 0:
        raise ValidationError("現金実査額は0円以上の整数で入力してください")
    _lock_cashier(actor)
    if CashierDay.objects.filter(municipality=municipality, cashier=actor, day=day).exists():
        raise ValidationError(f"{wareki(day)}の日計は締め済みです")
    totals = cashier_day_totals(municipality=municipality, cashier=actor, day=day)
    difference = counted - totals["amount"]
    if difference and not reason.strip():
        raise ValidationError(f"現金に過不足（{yen(difference)}円）があります。理由を入力してください")
    closed = CashierDay.objects.create(
        municipality=municipality,
        cashier=actor,
        day=day,
        receipts=totals["receipts"],
        amount=totals["amount"],
        tendered=totals["tendered"],
        change=totals["change"],
        counted=counted,
        difference=difference,
        reason=reason.strip(),
        closed_at=timezone.now(),
    )
    audit_record(
        kind=AuditKind.CHANGE,
        function="日計締め",
        municipality=municipality,
        user=actor,
        detail={
            "day": day.isoformat(),
            **totals,
            "counted": counted,
            "difference": difference,
            "reason": reason,
        },
    )
    return closed


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


def reversal_effects(payment: Payment) -> list[str]:
    """What a reversal of ``payment`` undoes, one line per 期別 (本税・延滞金) and for 過誤納金・未消込."""
    if payment.txn_id is None:
        return []
    rows = (
        LedgerEntry.objects.filter(txn_id=payment.txn_id)
        .exclude(account=Account.CASH)
        .values("installment_id", "account")
        .annotate(total=Sum("amount"))
    )
    per: dict[int | None, dict[str, int]] = {}
    for row in rows:
        key = (
            row["installment_id"]
            if row["account"] in (Account.RECEIVABLE, Account.LATE_CHARGE_INCOME)
            else None
        )
        per.setdefault(key, {}).setdefault(row["account"], 0)
        per[key][row["account"]] -= int(row["total"])
    names = {
        i.pk: f"{i.levy.levy_year}年度 {tax_item_name(i.municipality_id, i.levy.tax_item)} "
        f"通知書番号{i.levy.notice_no} 第{i.installment_no}期"
        for i in Installment.objects.filter(pk__in=[k for k in per if k is not None]).select_related("levy")
    }
    lines = [
        f"{names.get(k, k)}：本税 {yen(v.get(Account.RECEIVABLE, 0))}円・延滞金 "
        f"{yen(v.get(Account.LATE_CHARGE_INCOME, 0))}円"
        for k, v in per.items()
        if k is not None
    ]
    other = per.get(None, {})
    if other.get(Account.OVERPAYMENT):
        lines.append(f"過誤納金 {yen(other[Account.OVERPAYMENT])}円")
    if other.get(Account.SUSPENSE):
        lines.append(f"未消込 {yen(other[Account.SUSPENSE])}円")
    return lines


REVERSIBLE = (PaymentStatus.POSTED, PaymentStatus.SUSPENSE)


def pending_reversal(payment: Payment) -> Any:
    """The reversal of ``payment`` waiting for 決裁, if any."""
    return (
        ChangeRequest.objects.filter(
            municipality_id=payment.municipality_id,
            kind=RequestKind.PAYMENT_REVERSAL,
            status=ApprovalStatus.PENDING,
            payload__payment=payment.pk,
        )
        .defer("secret")
        .first()
    )


@transaction.atomic
def payment_reverse_request(*, actor: Any, payment: Payment, reason: str) -> Any:
    """収納取消の申請 (any channel: counter, bank, conveni, eLTAX): nothing changes until a second person
    with the approval right approves it; then the exact negation is booked on the approval day."""
    if not has_right(actor, Right.PAYMENT_REVERSE) or actor.municipality_id != payment.municipality_id:
        raise PermissionDenied("収納を取り消す権限がありません")
    payment = Payment.objects.select_for_update().get(pk=payment.pk)
    if payment.status not in REVERSIBLE:
        raise ValidationError(f"この収納は「{payment.get_status_display()}」のため取り消せません")
    if not reason.strip():
        raise ValidationError("取消理由を入力してください")
    pending = pending_reversal(payment)
    if pending is not None:
        raise ValidationError(f"この収納の取消は既に申請されています（申請 #{pending.pk}）")
    taxpayer = Taxpayer.objects.filter(pk=payment.taxpayer_id).first() if payment.taxpayer_id else None
    return request_create(
        actor=actor,
        kind=RequestKind.PAYMENT_REVERSAL,
        reason=reason,
        taxpayer=taxpayer,
        payload={
            "payment": payment.pk,
            "channel": payment.get_channel_display(),
            "amount": payment.amount,
            "paid_on": payment.paid_on.isoformat(),
            "slip_no": payment.slip_no,
            "undo": " ／ ".join(reversal_effects(payment)),
        },
        required_right=Right.PAYMENT_REVERSE,
    )


def _apply_payment_reversal(req: Any, approver: Any, decided_on: date) -> None:
    """Approved: the payment's exact negation, booked on the approval day; late charges re-open."""
    payment = Payment.objects.select_for_update().get(
        pk=req.payload["payment"], municipality=req.municipality
    )
    if payment.status not in REVERSIBLE:
        raise ValidationError(f"この収納は「{payment.get_status_display()}」のため取り消せません")
    payment_reverse_post(
        payment,
        legal_date=payment.paid_on,
        booking_date=decided_on,
        actor=approver,
        job=None,
        reason=f"{req.reason}（決裁#{req.pk}）",
    )
    audit_record(
        kind=AuditKind.CHANGE,
        function="収納取消",
        municipality=req.municipality,
        user=approver,
        subject_type=AuditSubjectType.TAXPAYER,
        subject_ids=[payment.taxpayer_id] if payment.taxpayer_id else [],
        detail={"payment": payment.pk, "amount": payment.amount, "request": req.pk, "reason": req.reason},
    )


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


def fees_owed(
    installment_ids: Sequence[int], *, paid_on: date, component: Component = Component.DUNNING_FEE
) -> dict[int, int]:
    """督促手数料 (or, with ``component`` ENFORCEMENT_COST, 滞納処分費) owed on these installments by a
    payment of ``paid_on`` (one grouped query, as the engine's ``FEES``): every entry, except one booked
    after ``paid_on``."""
    if not installment_ids:
        return {}
    kind = TxnKind.DUNNING_FEE if component == Component.DUNNING_FEE else TxnKind.ENFORCEMENT_COST
    rows = (
        LedgerEntry.objects.filter(
            installment_id__in=list(installment_ids),
            account=Account.RECEIVABLE,
            component=component,
        )
        .exclude(txn__kind=kind, txn__legal_date__gt=paid_on)
        .values_list("installment_id")
        .annotate(total=Sum("amount"))
        .order_by()
    )
    return {int(inst): max(0, int(total)) for inst, total in rows if total}


def extinguished_dates(installment_ids: Iterable[int]) -> dict[int, date]:
    """The 消滅日 of those of these installments whose liability is extinguished (``relief``)."""
    rows = Installment.objects.filter(pk__in=list(installment_ids), extinguished_on__isnull=False)
    return {pk: on for pk, on in rows.values_list("pk", "extinguished_on") if on is not None}


def owed_on_slip(target: SlipTarget, *, paid_on: date) -> list[rr.Owed]:
    """The slip's installments as ``rules.reconcile`` sees them, with the earlier payments of those paid
    after the 延滞金's base date (the 延滞金 owed on ``paid_on`` depends on them)."""
    ended = extinguished_dates(i.pk for i in target.installments)
    late = [i.pk for i in target.installments if paid_on > i.late_charge_base_date]
    history = installment_history(late)
    exempted = late_charge_exemptions(late)
    past_due = [i.pk for i in target.installments if paid_on > i.due_date]
    fees = fees_owed(past_due, paid_on=paid_on)
    costs = fees_owed(past_due, paid_on=paid_on, component=Component.ENFORCEMENT_COST)
    return [
        rr.Owed(
            installment_id=i.pk,
            taxpayer_id=i.taxpayer_id,
            due_date=i.due_date,
            tax_item=i.tax_item,
            principal_levied=i.principal_levied,
            principal_outstanding=i.principal_outstanding,
            dunning_fee=fees.get(i.pk, 0),
            enforcement_cost=costs.get(i.pk, 0),
            principal_payments=list(history[i.pk][0]) if i.pk in history else None,
            late_charge_paid=history[i.pk][1] if i.pk in history else 0,
            late_charge_base_date=i.late_charge_base_date,
            extinguished_on=ended.get(i.pk),
            late_charge_exemptions=exempted.get(i.pk, ()),
        )
        for i in target.installments
    ]


@dataclass(frozen=True)
class OwedOn:
    """What a payment dated ``paid_on`` settles on one installment, as the engine places it: 本税
    outstanding now (the cache: a later-dated payment already counts), fees, and the 延滞金 as of
    ``paid_on`` less all 延滞金 paid (``rules.reconcile.late_charge_owed``)."""

    owed: rr.Owed
    principal: int
    fees: int
    late_charge: int

    @property
    def installment_id(self) -> int:
        return self.owed.installment_id

    @property
    def total(self) -> int:
        return self.principal + self.fees + self.late_charge


def post_records(
    *, municipality: Municipality, channel: Channel, actor: Any, records: list[PaymentRecord]
) -> list[int]:
    """Post a few payment records entered by a person (a counter receipt, a 取立) through the one payment
    engine, in the caller's transaction; the payments' ids. A record the engine refuses, or a balance
    changed meanwhile (``StaleBalance``), raises ``ValidationError`` and posts nothing."""
    try:
        with PaymentEngine(
            municipality_id=municipality.pk,
            municipality_code=municipality.code,
            channel=channel,
            job_id=None,
            actor_id=actor.pk,
            now=timezone.now(),
            keep_payment_ids=True,
        ) as engine:
            engine.add(records)
            out = engine.run()
    except StaleBalance as exc:
        raise ValidationError(str(exc)) from exc
    if out.errors:
        raise ValidationError(out.errors[0][2])
    return list(out.payment_ids)


def owed_amounts(target: SlipTarget, *, paid_on: date) -> list[OwedOn]:
    """``owed_on_slip`` with the amounts: the one place the counter, the slip lists and the 納付書 read
    what a payment of ``paid_on`` settles (the figure the engine's ``reconcile`` would place)."""
    return [
        OwedOn(
            owed=o,
            principal=max(0, o.principal_outstanding),
            fees=o.dunning_fee + o.enforcement_cost,
            late_charge=rr.late_charge_owed(o, paid_on),
        )
        for o in owed_on_slip(target, paid_on=paid_on)
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


REQUEST_LABELS = {
    "slip_nos": "納付番号",
    "amount": "領収金額（円）",
    "paid_on": "領収日",
    "entered_on": "入力日",
    "owed": "領収日現在の納付額（本税＋延滞金、円）",
    "tendered": "お預かり（円）",
    "overpayment_accepted": "過誤納金として受け入れる",
    "note": "メモ",
    "payment": "収納番号",
    "channel": "収納経路",
    "slip_no": "納付番号",
    "undo": "取り消される充当（期別ごと）",
}
"""Screen names of the attributes of the counter's two requests (決裁の画面)."""
