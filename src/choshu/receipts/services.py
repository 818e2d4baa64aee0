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
import time
import zlib
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import Sum
from django.utils import timezone

from choshu.accounts.permissions import Right, has_right
from choshu.approvals.models import RequestKind
from choshu.approvals.services import request_create
from choshu.audit.models import AuditKind
from choshu.audit.services import audit_record
from choshu.core.bulk import insert_rows, reserve_id_block
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
from choshu.levies.ledger import PAID_KINDS, Leg, Posting, post_many
from choshu.levies.models import Account, Component, LedgerEntry, TxnKind
from choshu.receipts.fastlane import ConcurrentChange, FastResult, PaymentStage
from choshu.receipts.models import Channel, Payment, PaymentStatus, SuspenseItem, SuspenseReason
from choshu.receipts.slips import InstallmentState, SlipTarget, confirmation_no, slip_targets
from choshu.rules.allocation import Allocation, OwedItem, allocate
from choshu.rules.allocation import Component as AllocComponent
from choshu.rules.late_charge import compute_late_charge
from choshu.rules.parameters import RateNotKnownError
from choshu.taxpayers.models import Taxpayer

logger = logging.getLogger(__name__)

CHUNK = 5000
FAST_LANE = True
"""Post the common case set-based (``receipts.fastlane``). Off, every record takes the Python path — the
same result, record by record; the differential tests compare the two."""
IMPORT_ATTEMPTS = 3
"""Attempts of an import that a counter receipt overtakes (``payments_import``)."""


@dataclass
class PaymentImportSummary:
    records: int = 0
    posted: int = 0
    provisional: int = 0
    cancelled: int = 0
    reversed: int = 0
    overpaid: int = 0
    suspense: int = 0
    already_imported: int = 0
    amount_total: int = 0
    amount_posted: int = 0
    amount_overpaid: int = 0
    amount_suspense: int = 0
    amount_reversed: int = 0
    file_already_imported: bool = False
    job_id: int | None = None
    warnings: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


# --- what is owed, kept current while a chunk is reconciled -------------------------------------


@dataclass
class _Owed:
    """Principal outstanding, earlier principal payments and late charge paid, per installment."""

    installments: dict[int, InstallmentState] = field(default_factory=dict)
    principal_payments: dict[int, list[tuple[date, int]]] = field(default_factory=dict)
    late_charge_paid: dict[int, int] = field(default_factory=dict)

    def load_history(self, inst_ids: Sequence[int]) -> None:
        """Earlier payments of installments paid late (their late charge depends on them)."""
        ids = [i for i in inst_ids if i not in self.principal_payments]
        if not ids:
            return
        for i in ids:
            self.principal_payments[i] = []
            self.late_charge_paid[i] = 0
        rows = (
            LedgerEntry.objects.filter(installment_id__in=ids, txn__kind__in=PAID_KINDS)
            .filter(account__in=[Account.RECEIVABLE, Account.LATE_CHARGE_INCOME])
            .values("installment_id", "account", "component", "txn__legal_date")
            .annotate(total=Sum("amount"))
            .values_list("installment_id", "account", "component", "txn__legal_date", "total")
        )
        for inst_id, account, component, legal_date, total in rows:
            if account == Account.RECEIVABLE and component == Component.PRINCIPAL and total < 0:
                self.principal_payments[inst_id].append((legal_date, -int(total)))
            elif account == Account.LATE_CHARGE_INCOME:
                self.late_charge_paid[inst_id] -= int(total)

    def place(self, target: SlipTarget, amount: int, paid_on: date) -> tuple[Allocation, list[Leg]]:
        """Split ``amount`` over the slip's installments (rules.allocation) and return the crediting legs:
        principal (receivable), late charge (income, 調定即収納) and any overpayment of the person.
        The in-memory state is updated, so later payments of the same chunk see what is left."""
        # The chunk's one state per installment: a combined slip and an installment's own slip, both
        # paid in one chunk, were resolved to two copies of the installment (slip_targets); reading the
        # copy would place the same principal twice.
        states = [self.installments.setdefault(i.pk, i) for i in target.installments]
        items = [
            OwedItem(
                key=str(i.pk),
                due_date=i.due_date,
                principal=max(0, i.principal_outstanding),
                late_charge=self.late_charge_owed(i, paid_on),
            )
            for i in states
        ]
        alloc = allocate(amount, items)
        legs: list[Leg] = []
        for line in alloc.lines:
            inst = self.installments[int(line.key)]
            if line.component == AllocComponent.PRINCIPAL:
                legs.append(
                    Leg(
                        Account.RECEIVABLE,
                        -line.amount,
                        Component.PRINCIPAL,
                        installment_id=inst.pk,
                        taxpayer_id=inst.taxpayer_id,
                    )
                )
                inst.principal_outstanding -= line.amount
                inst.principal_paid += line.amount
                self.principal_payments.setdefault(inst.pk, []).append((paid_on, line.amount))
            else:
                legs.append(
                    Leg(
                        Account.LATE_CHARGE_INCOME,
                        -line.amount,
                        Component.LATE_CHARGE,
                        installment_id=inst.pk,
                        taxpayer_id=inst.taxpayer_id,
                    )
                )
                self.late_charge_paid[inst.pk] = self.late_charge_paid.get(inst.pk, 0) + line.amount
        if alloc.overpayment:
            legs.append(
                Leg(
                    Account.OVERPAYMENT,
                    -alloc.overpayment,
                    installment_id=target.installments[0].pk,
                    taxpayer_id=target.taxpayer_id,
                )
            )
        return alloc, legs

    def late_charge_owed(self, inst: InstallmentState, paid_on: date) -> int:
        """延滞金 due on this installment as of ``paid_on``, less what was already paid (法326条 etc.)."""
        if paid_on <= inst.due_date or inst.principal_levied < 2000:
            return 0
        prior = sorted((d, y) for d, y in self.principal_payments.get(inst.pk, []) if d <= paid_on and y > 0)
        until = paid_on
        if inst.principal_outstanding <= 0 and prior:
            until = max(prior[-1][0], inst.due_date)  # paid in full earlier: the charge stopped then
        try:
            accrued = compute_late_charge(
                principal=inst.principal_levied, due_date=inst.due_date, until=until, payments=prior
            ).late_charge
        except RateNotKnownError:
            return 0
        return max(0, accrued - self.late_charge_paid.get(inst.pk, 0))


# --- the import -------------------------------------------------------------------------------------


def channel_settings(municipality: Municipality) -> ChannelSettings:
    return ChannelSettings(
        conveni_company_code=municipality.conveni_company_code,
        conveni_client_code=municipality.conveni_client_code,
        eltax_agency_no=municipality.eltax_agency_no,
    )


def payments_import(
    *, municipality: Municipality, channel: str, path: str | Path, actor: Any = None
) -> PaymentImportSummary:
    """Import one payment file of ``channel`` (``conveni``, ``bank`` or ``eltax``).

    An import overtaken by a counter receipt on one of its installments (``ConcurrentChange``: the
    whole attempt is rolled back) is run again, up to ``IMPORT_ATTEMPTS`` times in all.
    """
    kind = f"import-payments-{channel}"
    try:
        data = read_bytes(path)
        for attempt in range(1, IMPORT_ATTEMPTS + 1):
            try:
                return _import_once(municipality, channel, data, str(path), actor, kind)
            except ConcurrentChange as exc:
                if attempt == IMPORT_ATTEMPTS:
                    _job_not_done(
                        municipality, kind, actor, path, Job.Status.FAILED, [RowError(0, "", str(exc))]
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
        _job_not_done(municipality, kind, actor, path, Job.Status.REFUSED, refused.errors)
        raise


def _job_not_done(
    municipality: Municipality,
    kind: str,
    actor: Any,
    path: str | Path,
    status: str,
    errors: Sequence[RowError],
) -> None:
    """The job record of an import that wrote nothing (its own transaction was rolled back)."""
    job = job_start(municipality=municipality, kind=kind, actor=actor, file_name=str(path))
    job_finish(job, status=status, errors=[e.as_dict() for e in errors[:200]])


def _import_once(
    municipality: Municipality, channel: str, data: bytes, path: str, actor: Any, kind: str
) -> PaymentImportSummary:
    """One attempt: the whole file in one transaction."""
    stream = stream_payment_file(data, channel, settings=channel_settings(municipality), file_name=path)
    summary = PaymentImportSummary()
    summary.file_already_imported = file_already_imported(
        municipality=municipality, kind=kind, sha256=stream.sha256
    )
    with transaction.atomic():
        _lock(municipality, channel)
        job = job_start(
            municipality=municipality, kind=kind, actor=actor, file_name=path, file_sha256=stream.sha256
        )
        _stream_into(_Importer(municipality, channel, job, actor, summary), stream, path)
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


def _stream_into(importer: _Importer, stream: PaymentStream, file_name: str) -> None:
    """Stage the file while it is read, post the common case set-based, reconcile the rest in Python.

    Everything happens inside the caller's transaction: if any row turns out malformed (or a
    cancellation has nothing to cancel), the file is refused with every error and nothing is kept.
    The fast lane (``receipts.fastlane``) posts first; the other records follow in file order, and
    cancellations come after all other records of the file.
    """
    started = time.monotonic()
    stage = PaymentStage(importer.m.pk, importer.m.code, importer.channel)
    stage.create()
    chunk: list[PaymentRecord] = []
    for rec in stream.records:
        importer.summary.records += 1
        if stream.errors:
            continue  # the file will be refused: read on only to report every error
        chunk.append(rec)
        if len(chunk) >= CHUNK:
            stage.add(chunk)
            chunk.clear()
    if stream.errors:
        raise FileRefused(sorted(stream.errors, key=lambda e: e.line), file_name)
    stage.add(chunk)
    staged = time.monotonic()
    fast = FastResult(0, 0)
    if FAST_LANE:
        fast = stage.post_fast(
            job_id=importer.job.pk if importer.job else None, actor_id=importer.actor_id, now=importer.now
        )
    fast_done = time.monotonic()
    importer.summary.posted += fast.posted
    importer.summary.amount_total += fast.amount
    importer.summary.amount_posted += fast.amount
    business: list[RowError] = []
    cancels: list[PaymentRecord] = []
    for records in stage.rest(CHUNK, posted=fast.posted, skip_done=FAST_LANE):
        cancels.extend(r for r in records if r.kind == RecordKind.CANCEL)
        others = [r for r in records if r.kind != RecordKind.CANCEL]
        if others and not business:
            try:
                importer.chunk(others, file_name)
            except FileRefused as refused:
                business.extend(refused.errors)
    importer.summary.already_imported += stage.already_imported
    if not business:
        try:
            importer.cancellations(cancels, file_name)
        except FileRefused as refused:
            business.extend(refused.errors)
    stage.drop()
    logger.info(
        "import %s: read and staged %d records in %.1f s, fast lane %d in %.1f s, the rest in %.1f s",
        file_name,
        stage.staged,
        staged - started,
        fast.posted,
        fast_done - staged,
        time.monotonic() - fast_done,
    )
    if business:
        raise FileRefused(sorted(business, key=lambda e: e.line), file_name)


def _lock(municipality: Municipality, channel: str) -> None:
    """One import per (municipality, channel) at a time (PostgreSQL advisory lock; SQLite has one writer)."""
    if connection.vendor == "postgresql":
        key = zlib.crc32(f"payments:{municipality.pk}:{channel}".encode())
        with connection.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", [key])
            # Fresh statistics: after a large seed or import the planner would otherwise misjudge the
            # per-chunk look-ups (seen: a bitmap scan of every bank payment instead of the unique index).
            cur.execute("ANALYZE receipts_payment, levies_installment, receipts_paymentslip")


class _Importer:
    def __init__(
        self,
        municipality: Municipality,
        channel: str,
        job: Job | None,
        actor: Any,
        summary: PaymentImportSummary,
    ) -> None:
        self.m = municipality
        self.channel = channel
        self.job = job
        self.actor = actor
        self.summary = summary
        self.today = timezone.localdate()
        self.now = timezone.now()
        self.actor_id = actor.pk if getattr(actor, "is_authenticated", False) else None

    def chunk(self, records: Sequence[PaymentRecord], file_name: str) -> None:
        refs = {
            p.reference: p
            for p in Payment.objects.filter(
                municipality=self.m, channel=self.channel, reference__in={r.reference for r in records}
            )
        }
        targets = slip_targets(self.m, {r.slip_no for r in records if r.kind == RecordKind.FINAL})
        owed = _Owed({i.pk: i for t in targets.values() for i in t.installments})
        late = [
            i.pk
            for r in records
            if r.kind == RecordKind.FINAL and r.slip_no in targets
            for i in targets[r.slip_no].installments
            if r.paid_on > i.due_date
        ]
        owed.load_history(late)
        errors: list[RowError] = []
        new: list[Payment] = []
        changed: list[Payment] = []
        posted: list[tuple[Payment, Posting, SuspenseReason | None]] = []
        for rec in records:
            existing = refs.get(rec.reference)
            if rec.kind == RecordKind.PROVISIONAL:
                if existing is not None:
                    self.summary.already_imported += 1
                    continue
                payment = self._payment(rec, PaymentStatus.PROVISIONAL)
                refs[rec.reference] = payment
                new.append(payment)
                self.summary.provisional += 1
            elif rec.kind == RecordKind.CANCEL_PROVISIONAL:
                self._cancel_provisional(rec, existing, changed, errors)
            else:  # FINAL
                if existing is not None and existing.status in (
                    PaymentStatus.POSTED,
                    PaymentStatus.SUSPENSE,
                    PaymentStatus.REVERSED,
                ):
                    self.summary.already_imported += 1
                    continue
                payment = existing or self._payment(rec, PaymentStatus.POSTED)
                if existing is not None:
                    self._fill(existing, rec)
                    changed.append(existing)
                else:
                    new.append(payment)
                refs[rec.reference] = payment
                posting, reason = self._reconcile(payment, rec, targets.get(rec.slip_no), owed)
                posted.append((payment, posting, reason))
        if errors:
            raise FileRefused(errors, file_name)
        self._write(new, changed, posted)

    # -- records -----------------------------------------------------------------------------------

    def _payment(self, rec: PaymentRecord, status: str) -> Payment:
        payment = Payment(
            municipality=self.m, channel=self.channel, reference=rec.reference, status=status, job=self.job
        )
        self._fill(payment, rec)
        return payment

    def _fill(self, payment: Payment, rec: PaymentRecord) -> None:
        payment.amount = rec.amount
        payment.paid_on = rec.paid_on
        payment.booked_on = rec.booked_on
        payment.slip_no = rec.slip_no
        payment.confirmation_no = rec.confirmation_no
        payment.detail = {**rec.detail, "line": rec.line}
        payment.job = self.job

    def _cancel_provisional(
        self, rec: PaymentRecord, existing: Payment | None, changed: list[Payment], errors: list[RowError]
    ) -> None:
        if existing is None:
            errors.append(
                RowError(
                    rec.line,
                    "種別",
                    "速報取消に対応する速報がありません（先に速報のファイルを取り込んでください）",
                )
            )
        elif existing.status == PaymentStatus.PROVISIONAL:
            existing.status = PaymentStatus.CANCELLED
            changed.append(existing)
            self.summary.cancelled += 1
        elif existing.status == PaymentStatus.CANCELLED:
            self.summary.already_imported += 1
        else:
            # The agent's 確報 already confirmed the money: the late 速報取消 changes nothing, but it is a
            # business exception the office must see (summary, job record, audit log) — not a file error.
            self.summary.warnings.append(
                {
                    "line": rec.line,
                    "reference": rec.reference,
                    "reason": "確報で計上済みの収納に対する速報取消です。収納は取り消していません（収納代行に確認してください）",
                }
            )

    def _reconcile(
        self, payment: Payment, rec: PaymentRecord, target: SlipTarget | None, owed: _Owed
    ) -> tuple[Posting, SuspenseReason | None]:
        reason = self._suspense_reason(rec, target)
        amount = rec.amount
        self.summary.posted += 1
        self.summary.amount_total += amount
        if reason is not None or target is None:
            payment.status, payment.suspended, payment.allocated, payment.overpaid = (
                PaymentStatus.SUSPENSE,
                amount,
                0,
                0,
            )
            payment.taxpayer_id = target.taxpayer_id if target else None
            self.summary.suspense += 1
            self.summary.amount_suspense += amount
            legs = [Leg(Account.CASH, amount), Leg(Account.SUSPENSE, -amount)]
            return self._posting(rec, legs), reason or SuspenseReason.UNKNOWN_SLIP
        alloc, placed = owed.place(target, amount, rec.paid_on)
        legs = [Leg(Account.CASH, amount, taxpayer_id=target.taxpayer_id), *placed]
        if alloc.overpayment:
            self.summary.overpaid += 1
            self.summary.amount_overpaid += alloc.overpayment
        payment.status, payment.taxpayer_id = PaymentStatus.POSTED, target.taxpayer_id
        payment.allocated, payment.overpaid, payment.suspended = alloc.allocated, alloc.overpayment, 0
        self.summary.amount_posted += alloc.allocated
        return self._posting(rec, legs), None

    def _suspense_reason(self, rec: PaymentRecord, target: SlipTarget | None) -> SuspenseReason | None:
        if target is None:
            return SuspenseReason.UNKNOWN_SLIP
        if target.cancelled:
            return SuspenseReason.CANCELLED_SLIP
        if rec.confirmation_no and rec.confirmation_no != confirmation_no(self.m.code, rec.slip_no):
            return SuspenseReason.CONFIRMATION_MISMATCH
        items = {i.tax_item for i in target.installments if target.combined is None}
        if rec.tax_item and items and rec.tax_item not in items:
            return SuspenseReason.TAX_ITEM_MISMATCH
        return None

    def _posting(self, rec: PaymentRecord, legs: list[Leg]) -> Posting:
        booking = rec.booked_on or rec.paid_on
        return Posting(
            kind=TxnKind.PAYMENT,
            legal_date=rec.paid_on,
            booking_date=booking,
            legs=legs,
            memo=f"{self.channel} {rec.slip_no}",
        )

    # -- writing -----------------------------------------------------------------------------------

    def _write(
        self,
        new: list[Payment],
        changed: list[Payment],
        posted: list[tuple[Payment, Posting, SuspenseReason | None]],
    ) -> None:
        _reserve_payment_ids(new)  # the entries name their payment
        txn_ids = post_many(
            municipality=self.m,
            postings=[replace(p, payment_id=payment.pk) for payment, p, _ in posted],
            actor=self.actor,
            job=self.job,
        )
        for (payment, _, _), txn_id in zip(posted, txn_ids, strict=True):
            payment.txn_id = txn_id
        _insert_payments(new)
        if changed:
            Payment.objects.bulk_update(
                changed,
                [
                    "status",
                    "amount",
                    "paid_on",
                    "booked_on",
                    "slip_no",
                    "confirmation_no",
                    "allocated",
                    "overpaid",
                    "suspended",
                    "detail",
                    "txn",
                    "taxpayer",
                    "job",
                ],
                batch_size=2000,
            )
        SuspenseItem.objects.bulk_create(
            [
                SuspenseItem(municipality=self.m, payment=p, reason=reason, amount=p.amount)
                for p, _, reason in posted
                if reason is not None
            ],
            batch_size=2000,
        )

    def cancellations(self, records: Sequence[PaymentRecord], file_name: str) -> None:
        """eLTAX 取消: reverse the transaction with the same id (after every final of the file)."""
        if not records:
            return
        errors: list[RowError] = []
        refs = {
            p.reference: p
            for p in Payment.objects.filter(
                municipality=self.m, channel=self.channel, reference__in={r.reference for r in records}
            )
        }
        for rec in records:
            payment = refs.get(rec.reference)
            if payment is None or payment.status in (PaymentStatus.PROVISIONAL, PaymentStatus.CANCELLED):
                errors.append(
                    RowError(
                        rec.line,
                        "cancelled",
                        "取消対象の取引がありません（取引IDを確認してください）",
                        rec.reference,
                    )
                )
                continue
            if payment.status == PaymentStatus.REVERSED:
                self.summary.already_imported += 1
                continue
            if payment.amount != rec.amount:
                errors.append(
                    RowError(rec.line, "amount", "取消の金額が元の取引と一致しません", str(rec.amount))
                )
                continue
            payment_reverse_post(
                payment,
                legal_date=rec.paid_on,
                booking_date=rec.booked_on or rec.paid_on,
                actor=self.actor,
                job=self.job,
                reason="eLTAX 取消",
            )
            self.summary.reversed += 1
            self.summary.amount_reversed += payment.amount
        if errors:
            raise FileRefused(errors, file_name)


# --- reversal -----------------------------------------------------------------------------------------


PAYMENT_COLUMNS = ("id", "municipality_id", "channel", "reference", "status", "taxpayer_id", "amount", "paid_on",
                   "booked_on", "slip_no", "confirmation_no", "allocated", "overpaid", "suspended", "detail",
                   "txn_id", "reversal_txn_id", "job_id", "created_at")  # fmt: skip


def _reserve_payment_ids(payments: list[Payment]) -> None:
    """Ids for new payments (set on the objects) before anything refers to them."""
    for payment, pk in zip(payments, reserve_id_block(Payment, len(payments)), strict=True):
        payment.pk = pk


def _insert_payments(payments: list[Payment]) -> None:
    """New payments in one COPY (PostgreSQL) / executemany (SQLite); their ids were reserved
    (``_reserve_payment_ids``) before their ledger entries named them."""
    now = timezone.now()
    insert_rows(
        Payment,
        PAYMENT_COLUMNS,
        [
            (
                p.pk,
                p.municipality_id,
                p.channel,
                p.reference,
                p.status,
                p.taxpayer_id,
                p.amount,
                p.paid_on,
                p.booked_on,
                p.slip_no,
                p.confirmation_no,
                p.allocated,
                p.overpaid,
                p.suspended,
                json.dumps(p.detail, ensure_ascii=False),
                p.txn_id,
                p.reversal_txn_id,
                p.job_id,
                now,
            )
            for p in payments
        ],
    )
    for p in payments:
        p._state.adding = False


def payment_reverse_post(
    payment: Payment, *, legal_date: date, booking_date: date, actor: Any, job: Job | None, reason: str
) -> None:
    """Post the exact negation of the payment's entries: balances and late charges re-open.

    A payment of an import's fast lane shares its transaction (and its cash entry) with the other
    payments of the same 領収日 and 日計日: its own entries are those that name it, and the cash it
    brought in is its amount.
    """
    legs = [
        Leg(e.account, -e.amount, e.component, installment_id=e.installment_id, taxpayer_id=e.taxpayer_id)
        for e in LedgerEntry.objects.filter(txn_id=payment.txn_id, payment_id=payment.pk).order_by("id")
    ]
    if not any(leg.account == Account.CASH for leg in legs):
        legs.insert(0, Leg(Account.CASH, -payment.amount))
    [txn_id] = post_many(
        municipality=payment.municipality,
        postings=[
            Posting(
                kind=TxnKind.PAYMENT_REVERSAL,
                legal_date=legal_date,
                booking_date=booking_date,
                legs=legs,
                memo=f"収納取消: {reason}",
                payment_id=payment.pk,
            )
        ],
        actor=actor,
        job=job,
    )
    payment.status = PaymentStatus.REVERSED
    payment.reversal_txn_id = txn_id
    payment.save(update_fields=["status", "reversal_txn"])
    SuspenseItem.objects.filter(payment=payment).update(status="closed", note=f"収納取消: {reason}")


def payment_totals_problems(municipality_id: int | None = None, limit: int = 1000) -> list[dict[str, Any]]:
    """Every payment with a transaction: allocated + overpaid + suspended = amount = what its own entries
    place (credits to the receivable, late charge, overpayment and suspense accounts that name it); and
    every such transaction's cash = the amounts of its payments (one payment, or a fast lane's group)."""
    where = "AND p.municipality_id = %s" if municipality_id else ""
    params = [municipality_id] if municipality_id else []
    with connection.cursor() as cur:
        cur.execute(
            # The entries are summed per payment first: joined payment by payment through txn_id, a
            # fast-lane transaction's hundreds of entries would be visited once per payment in it.
            f"""SELECT p.id, p.amount, p.allocated, p.overpaid, p.suspended, COALESCE(-placed.total, 0)
                FROM receipts_payment p
                LEFT JOIN (SELECT e.payment_id, e.txn_id, SUM(e.amount) AS total FROM levies_ledgerentry e
                           WHERE e.payment_id IS NOT NULL AND e.account <> 'cash'
                           GROUP BY e.payment_id, e.txn_id) placed
                       ON placed.payment_id = p.id AND placed.txn_id = p.txn_id
                WHERE p.txn_id IS NOT NULL {where}
                  AND (p.allocated + p.overpaid + p.suspended <> p.amount
                       OR COALESCE(-placed.total, 0) <> p.amount)""",
            params,
        )
        rows = cur.fetchmany(limit)
        cur.execute(
            f"""SELECT paid.txn_id, paid.amount, COALESCE(cash.amount, 0)
                FROM (SELECT p.txn_id, SUM(p.amount) AS amount FROM receipts_payment p
                      WHERE p.txn_id IS NOT NULL {where} GROUP BY p.txn_id) paid
                LEFT JOIN (SELECT e.txn_id, SUM(e.amount) AS amount FROM levies_ledgerentry e
                           WHERE e.account = 'cash' GROUP BY e.txn_id) cash ON cash.txn_id = paid.txn_id
                WHERE COALESCE(cash.amount, 0) <> paid.amount""",
            params,
        )
        cash_rows = cur.fetchmany(limit)
    return [
        {
            "kind": "payment_split",
            "id": pk,
            "detail": f"amount {amount} allocated {a} overpaid {o} suspended {s} placed {placed}",
        }
        for pk, amount, a, o, s, placed in rows
    ] + [
        {"kind": "payment_cash", "id": txn_id, "detail": f"payments {paid} cash {cash}"}
        for txn_id, paid, cash in cash_rows
    ]


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
        line=0,
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
    summary = PaymentImportSummary(records=1)
    importer = _Importer(municipality, Channel.COUNTER, None, actor, summary)
    owed = _Owed({i.pk: i for i in target.installments})
    owed.load_history([i.pk for i in target.installments if paid_on > i.due_date])
    payment = importer._payment(rec, PaymentStatus.POSTED)
    posting, reason = importer._reconcile(payment, rec, target, owed)
    importer._write([payment], [], [(payment, posting, reason)])
    audit_record(
        kind=AuditKind.CHANGE,
        function="窓口収納",
        municipality=municipality,
        user=actor,
        subject_type="taxpayer",
        subject_ids=[target.taxpayer_id] if target.taxpayer_id else [],
        detail={"payment": payment.pk, "slip_no": slip_no, "amount": amount, "paid_on": paid_on.isoformat()},
    )
    return payment


@transaction.atomic
def payment_reverse(*, actor: Any, payment: Payment, reason: str, on: date | None = None) -> Payment:
    """収納取消 (bank error, bounced, wrong slip): the exact negation is booked; late charges re-open."""
    if not has_right(actor, Right.PAYMENT_REVERSE) or actor.municipality_id != payment.municipality_id:
        raise PermissionDenied("収納を取り消す権限がありません")
    payment = Payment.objects.select_for_update().get(pk=payment.pk)
    if payment.status not in (PaymentStatus.POSTED, PaymentStatus.SUSPENSE):
        raise ValidationError(f"この収納は「{payment.get_status_display()}」のため取り消せません")
    if not reason.strip():
        raise ValidationError("取消理由を入力してください")
    day = on or timezone.localdate()
    payment_reverse_post(
        payment, legal_date=payment.paid_on, booking_date=day, actor=actor, job=None, reason=reason
    )
    audit_record(
        kind=AuditKind.CHANGE,
        function="収納取消",
        municipality=payment.municipality,
        user=actor,
        subject_type="taxpayer",
        subject_ids=[payment.taxpayer_id] if payment.taxpayer_id else [],
        detail={"payment": payment.pk, "amount": payment.amount, "reason": reason},
    )
    return payment


@transaction.atomic
def suspense_assign_request(*, actor: Any, item: SuspenseItem, slip_no: str, reason: str) -> Any:
    """Ask to place a suspended payment on a slip (installments of a person); a second person approves."""
    item = SuspenseItem.objects.select_for_update().select_related("payment").get(pk=item.pk)
    if item.status != "open":
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
    SuspenseItem.objects.filter(pk=item.pk).update(status="assign_pending")
    return req


def _apply_suspense_assign(req: Any, approver: Any) -> None:
    """Approved: move the amount from suspense to the slip's installments (allocation rules apply)."""
    item = (
        SuspenseItem.objects.select_for_update()
        .select_related("payment")
        .get(pk=req.payload["suspense_item"])
    )
    payment = item.payment
    target = slip_targets(payment.municipality, [req.payload["slip_no"]]).get(req.payload["slip_no"])
    if target is None or item.status not in ("open", "assign_pending"):
        raise ValidationError("充当先または未消込の状態が変わっています。申請をやり直してください")
    owed = _Owed({i.pk: i for i in target.installments})
    owed.load_history([i.pk for i in target.installments if payment.paid_on > i.due_date])
    alloc, placed = owed.place(target, item.amount, payment.paid_on)
    legs = [Leg(Account.SUSPENSE, item.amount, taxpayer_id=target.taxpayer_id), *placed]
    post_many(
        municipality=payment.municipality,
        postings=[
            Posting(
                kind=TxnKind.SUSPENSE_ASSIGN,
                legal_date=payment.paid_on,
                booking_date=timezone.localdate(),
                legs=legs,
                memo=f"未消込充当 決裁#{req.pk}",
                payment_id=payment.pk,
            )
        ],
        actor=approver,
    )
    Payment.objects.filter(pk=payment.pk).update(
        taxpayer_id=target.taxpayer_id,
        allocated=payment.allocated + alloc.allocated,
        overpaid=payment.overpaid + alloc.overpayment,
        suspended=payment.suspended - item.amount,
        status=PaymentStatus.POSTED,
    )
    SuspenseItem.objects.filter(pk=item.pk).update(
        status="assigned", resolved_by=approver, resolved_at=timezone.now()
    )


@transaction.atomic
def suspense_mark_refund(*, actor: Any, item: SuspenseItem, note: str) -> SuspenseItem:
    """Give up placing it: the amount is to be refunded (the refunds issue pays it out)."""
    if not has_right(actor, Right.SUSPENSE_WORK) or actor.municipality_id != item.municipality_id:
        raise PermissionDenied("未消込を処理する権限がありません")
    if item.status != "open":
        raise ValidationError("この未消込は処理済みです")
    if not note.strip():
        raise ValidationError("還付とする理由を入力してください")
    item.status, item.note, item.resolved_by, item.resolved_at = (
        "refund_requested",
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
