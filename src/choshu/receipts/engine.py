"""The payment engine: every payment record of every channel, staged, decided once, written in sets.

1. **Stage.** The parsed records go into a temporary table while the file is read (COPY on
   PostgreSQL).
2. **Facts.** Set-based SQL gathers, per record, what the decision needs: the installments its slip
   pays (its own slip or a combined one, oldest first) with their cached amounts, the payment an
   earlier import holds under the same reference, whether another record of the file reaches the
   same installment or repeats the reference, and — only for installments where a payment made
   after the 納期限 may reach the 延滞金 — their earlier payments.
3. **Decide.** The facts are read back in file order (a server-side cursor: memory does not grow with
   the file) and each record is decided by :func:`choshu.rules.reconcile.reconcile` — the one place
   the law is applied. State is carried from record to record only for installments and references
   that occur more than once in the file.
4. **Write.** The decisions go into two temporary tables (one row per payment, one per placed line);
   the ledger (``levies.ledger.post_selected``) and the payment rows are written from them in a few
   statements. Every payment is one ledger transaction of its own.

eLTAX cancellations are decided after every other record of the file has been written (they may
cancel a payment of the same file), by the same function.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, fields
from datetime import date, datetime
from typing import Any

from django.db import DatabaseError, connection
from django.db.models import Sum

from choshu.core.bulk import IdDrawer, copy_rows
from choshu.formats.payments import PaymentRecord, RecordKind
from choshu.levies.exemptions import late_charge_exemptions
from choshu.levies.ledger import LAST_TIMINGS as LEDGER_TIMINGS
from choshu.levies.ledger import PAID_KINDS, post_selected
from choshu.levies.models import Account, Component, LedgerEntry, TxnKind
from choshu.receipts.models import PaymentStatus, SuspenseStatus
from choshu.receipts.slips import confirmation_no
from choshu.rules import reconcile as rr
from choshu.rules.allocation import Component as AllocComponent
from choshu.rules.late_charge import Exemption

logger = logging.getLogger(__name__)

STAGE = "choshu_pay_stage"
SEEN = "choshu_pay_seen"
TARGET = "choshu_pay_target"
MULTI = "choshu_pay_multi"
REPEAT = "choshu_pay_repeat"
NEED = "choshu_pay_need"
FEES = "choshu_pay_fees"
DECIDED = "choshu_pay_decided"
LINES = "choshu_pay_lines"
TABLES = (STAGE, SEEN, TARGET, MULTI, REPEAT, NEED, FEES, DECIDED, LINES)
STAGE_COLUMNS = ("line", "kind", "reference", "slip_no", "confirmation_no", "tax_item", "amount", "paid_on",
                 "booked_on", "detail", "conf_ok")  # fmt: skip
DECIDED_COLUMNS = ("line", "payment_id", "is_new", "status", "taxpayer_id", "allocated", "overpaid", "suspended",
                   "reason", "txn_id", "overpaid_installment_id", "fill")  # fmt: skip
LINE_COLUMNS = ("txn_id", "payment_id", "installment_id", "taxpayer_id", "component", "amount", "before")
FETCH = 10_000  # facts read back per round trip; decisions written per batch

_encode = json.JSONEncoder(ensure_ascii=False, check_circular=False).encode
ENGINE_ACCOUNTS = {
    AllocComponent.PRINCIPAL: (Account.RECEIVABLE.value, Component.PRINCIPAL.value),
    AllocComponent.LATE_CHARGE: (Account.LATE_CHARGE_INCOME.value, Component.LATE_CHARGE.value),
    AllocComponent.DUNNING_FEE: (Account.RECEIVABLE.value, Component.DUNNING_FEE.value),
    AllocComponent.ENFORCEMENT_COST: (Account.RECEIVABLE.value, Component.ENFORCEMENT_COST.value),
}


@dataclass
class ReceiptCounts:
    """What was done with the records of a file (or a counter receipt), by count and by yen."""

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
    warnings: list[dict[str, Any]] = field(default_factory=list)

    def add(self, other: ReceiptCounts) -> None:
        for f in fields(ReceiptCounts):
            if f.name == "warnings":
                self.warnings.extend(other.warnings)
            else:
                setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))


@dataclass
class Outcome(ReceiptCounts):
    """What an engine run did: the counts, and what only the caller needs."""

    errors: list[tuple[int, str, str, str]] = field(default_factory=list)  # line, field, message, value
    payment_ids: list[int] = field(default_factory=list)  # of records decided (only when asked)
    phases: dict[str, float] = field(default_factory=dict)


# Enum look-ups out of the per-record path (``Member.value`` is a descriptor call per use).
_KINDS = {k.value: k for k in rr.Kind}
_STATUSES = {k.value: k for k in rr.Status}
_VALUE: dict[Any, str] = {m: m.value for e in (rr.Status, rr.Reason, AllocComponent) for m in e}
_PRINCIPAL = AllocComponent.PRINCIPAL
_ALREADY, _WARN, _ERROR, _REVERSE = rr.Action.ALREADY, rr.Action.WARN, rr.Action.ERROR, rr.Action.REVERSE
_POST, _SUSPEND, _CANCEL_PROVISIONAL = rr.Action.POST, rr.Action.SUSPEND, rr.Action.CANCEL_PROVISIONAL


class _IdPool:
    """Primary keys of one table handed out one at a time, drawn from the database a batch at a time."""

    def __init__(self, table: str) -> None:
        self.drawer = IdDrawer(table)
        self.pool: list[int] = []

    def take(self) -> int:
        if not self.pool:
            self.pool = self.drawer.draw(FETCH)[::-1]
        return self.pool.pop()


@dataclass
class _Slot:
    """A payment row as this run leaves it: an earlier one (``payment_id``) or a new one."""

    line: int
    payment_id: int
    is_new: bool
    status: str
    amount: int
    taxpayer_id: int | None = None
    allocated: int = 0
    overpaid: int = 0
    suspended: int = 0
    reason: str | None = None
    txn_id: int | None = None
    overpaid_installment_id: int | None = None
    fill: bool = False  # the payment row takes the fields of the record on ``line`` (else only its state)

    def row(self) -> tuple[Any, ...]:
        return (self.line, self.payment_id, self.is_new, self.status, self.taxpayer_id, self.allocated,
                self.overpaid, self.suspended, self.reason, self.txn_id, self.overpaid_installment_id,
                self.fill)  # fmt: skip


class PaymentEngine:
    """One run of the engine over one file (or one counter receipt), inside the caller's transaction;
    used as a context manager, it creates its temporary tables and drops them at the end."""

    def __init__(
        self,
        *,
        municipality_id: int,
        municipality_code: str,
        channel: str,
        job_id: int | None,
        actor_id: int | None,
        now: datetime,
        keep_payment_ids: bool = False,
    ) -> None:
        self.m = municipality_id
        self.code = municipality_code
        self.channel = channel
        self.job_id = job_id
        self.actor_id = actor_id
        self.now = now
        self.pg = connection.vendor == "postgresql"
        # SQLite must be told to drive a join from the staged records (CROSS JOIN fixes its order):
        # otherwise it may walk a large table by an index and scan the staged records for each row.
        self.join_big = "JOIN" if self.pg else "CROSS JOIN"
        self.staged = 0
        self.keep_payment_ids = keep_payment_ids
        self.out = Outcome()
        self._payment_ids = _IdPool("receipts_payment")
        self._txn_ids = _IdPool("levies_ledgertransaction")
        self._dates: dict[Any, date] = {}
        self._exemptions: dict[int, tuple[Exemption, ...]] = {}
        self._mark = time.monotonic()

    # -- staging ---------------------------------------------------------------------------------

    def __enter__(self) -> PaymentEngine:
        self.create()
        return self

    def __exit__(self, *exc: object) -> None:
        # After a database error the transaction is aborted (PostgreSQL): the temporary tables go with
        # its rollback, and a DROP now would only hide the error.
        with contextlib.suppress(DatabaseError):
            drop_tables()

    def create(self) -> None:
        detail = "jsonb" if self.pg else "text"
        with connection.cursor() as cur:
            for table in TABLES:
                cur.execute(f"DROP TABLE IF EXISTS {table}")
            cur.execute(
                f"""CREATE TEMP TABLE {STAGE} (line integer NOT NULL, kind varchar(20) NOT NULL,
                    reference varchar(120) NOT NULL, slip_no varchar(16) NOT NULL,
                    confirmation_no varchar(4) NOT NULL, tax_item varchar(2) NOT NULL,
                    amount bigint NOT NULL, paid_on date NOT NULL, booked_on date, detail {detail} NOT NULL,
                    conf_ok boolean NOT NULL)"""
            )
            cur.execute(
                f"""CREATE TEMP TABLE {DECIDED} (line integer NOT NULL, payment_id bigint NOT NULL,
                    is_new boolean NOT NULL, status varchar(12) NOT NULL, taxpayer_id bigint, allocated bigint,
                    overpaid bigint, suspended bigint, reason varchar(30), txn_id bigint,
                    overpaid_installment_id bigint, fill boolean NOT NULL)"""
            )
            cur.execute(
                f"""CREATE TEMP TABLE {LINES} (txn_id bigint NOT NULL, payment_id bigint NOT NULL,
                    installment_id bigint NOT NULL, taxpayer_id bigint, component varchar(20) NOT NULL,
                    amount bigint NOT NULL, before bigint)"""
            )

    def add(self, records: Sequence[PaymentRecord]) -> None:
        if records:
            self.staged += len(records)
            copy_rows(STAGE, STAGE_COLUMNS, (self._row(r) for r in records))

    def _row(self, r: PaymentRecord) -> tuple[Any, ...]:
        conf_ok = not r.confirmation_no or r.confirmation_no == confirmation_no(self.code, r.slip_no)
        paid_on: date | str = r.paid_on if self.pg else r.paid_on.isoformat()
        booked_on: date | str | None = r.booked_on
        if r.booked_on is not None and not self.pg:
            booked_on = r.booked_on.isoformat()
        detail = _encode({**r.detail, "line": r.line})
        return (r.line, r.kind.value, r.reference, r.slip_no, r.confirmation_no, r.tax_item, r.amount, paid_on,
                booked_on, detail, conf_ok)  # fmt: skip

    def _lap(self, phase: str) -> None:
        now = time.monotonic()
        self.out.phases[phase] = round(self.out.phases.get(phase, 0.0) + now - self._mark, 2)
        self._mark = now

    # -- the run -----------------------------------------------------------------------------------

    def run(self) -> Outcome:
        """Decide and write every staged record: first all but eLTAX cancellations, then those."""
        self._lap("read_stage")
        if not self.staged:
            return self.out
        with connection.cursor() as cur:
            if self.pg:
                cur.execute("SET LOCAL work_mem = '256MB'")  # the file's joins in memory, not temp files
                cur.execute("SET LOCAL jit = off")  # plain statements over many rows: JIT costs more
                cur.execute(f"ANALYZE {STAGE}")
            self._gather(cur)
        self._lap("facts")
        history = self._history()
        self._lap("history")
        self._decide_all(history, cancels=False)
        self._lap("decide")
        if self.out.errors:
            return self.out
        self._write()
        self._decide_all({}, cancels=True)
        if not self.out.errors:
            self._write_reversals()
        self._lap("cancels")
        return self.out

    def _gather(self, cur: Any) -> None:
        m = self.m
        # The earlier payment under each record's reference (one probe of the unique index per record).
        cur.execute(
            f"""CREATE TEMP TABLE {SEEN} AS
                SELECT s.line, p.id, p.status, p.amount, p.txn_id FROM {STAGE} s
                {self.join_big} receipts_payment p ON p.municipality_id = %s AND p.channel = %s
                                                   AND p.reference = s.reference""",  # noqa: S608
            [m, self.channel],
        )
        cur.execute(f"CREATE INDEX {SEEN}_line ON {SEEN} (line)")
        if self.pg:
            cur.execute(f"ANALYZE {SEEN}")
        # What each 確報 pays: the installment of its own slip, or every installment of a combined slip —
        # not needed for a 確報 an earlier import already posted (it is decided ``already``).
        done = (
            f"NOT EXISTS (SELECT 1 FROM {SEEN} p WHERE p.line = s.line AND p.status IN "
            f"('{PaymentStatus.POSTED.value}', '{PaymentStatus.SUSPENSE.value}', '{PaymentStatus.REVERSED.value}'))"
        )
        cur.execute(
            f"""CREATE TEMP TABLE {TARGET} AS
                SELECT s.line, i.id AS installment_id, 0 AS combined, 0 AS cancelled, i.taxpayer_id AS slip_taxpayer
                FROM {STAGE} s
                {self.join_big} levies_installment i ON i.municipality_id = %s AND i.slip_no = s.slip_no
                WHERE s.kind = '{RecordKind.FINAL.value}' AND {done}
                UNION ALL
                SELECT s.line, psi.installment_id, 1, CASE WHEN ps.cancelled_on IS NULL THEN 0 ELSE 1 END,
                       ps.taxpayer_id
                FROM {STAGE} s
                {self.join_big} receipts_paymentslip ps ON ps.municipality_id = %s AND ps.slip_no = s.slip_no
                LEFT JOIN receipts_paymentslip_installments psi ON psi.paymentslip_id = ps.id
                WHERE s.kind = '{RecordKind.FINAL.value}' AND {done}""",  # noqa: S608
            [m, m],
        )
        # Installments reached by two records or more, and references repeated in the file: their state
        # is carried from record to record.
        cur.execute(
            f"""CREATE TEMP TABLE {MULTI} AS SELECT installment_id FROM {TARGET}
                WHERE installment_id IS NOT NULL GROUP BY installment_id HAVING COUNT(*) > 1"""  # noqa: S608
        )
        cur.execute(
            f"""CREATE TEMP TABLE {REPEAT} AS SELECT reference FROM {STAGE}
                GROUP BY reference HAVING COUNT(*) > 1"""  # noqa: S608
        )
        # Installments whose earlier payments the 延滞金 may need (``rules.reconcile.late_charge_owed`` is
        # reached only by a payment after the 納期限 that exceeds what is owed before it — or may, when
        # another record of the file or a combined slip reaches the installment).
        cur.execute(
            f"""CREATE TEMP TABLE {NEED} AS
                SELECT DISTINCT t.installment_id FROM {TARGET} t
                JOIN {STAGE} s ON s.line = t.line
                JOIN levies_installment i ON i.id = t.installment_id
                WHERE s.paid_on > i.late_charge_base_date
                  AND (t.combined = 1 OR s.amount > i.principal_outstanding
                       OR t.installment_id IN (SELECT installment_id FROM {MULTI}))"""  # noqa: S608
        )
        # The 督促手数料 owed on the installments a record pays (a receivable of its own, booked by the
        # dunning run on the notice's oldest installment). A fee exists only after the 納期限, so only
        # records paid after it probe the ledger; a fee booked after the record's 領収日 is not owed by it
        # (``services.fees_owed`` says the same for the counter).
        # The 滞納処分費 (``enforcement``: 郵送料, 登記嘱託費, 公売費用…) is a receivable of its own in the
        # same way, booked on an installment of the disposition; ``cost`` is read beside ``fee``.
        fee, cost = Component.DUNNING_FEE.value, Component.ENFORCEMENT_COST.value
        booked_later = f"x.kind IN ('{TxnKind.DUNNING_FEE.value}', '{TxnKind.ENFORCEMENT_COST.value}') AND x.legal_date > s.paid_on"
        cur.execute(
            f"""CREATE TEMP TABLE {FEES} AS
                SELECT t.line, t.installment_id,
                       SUM(CASE WHEN e.component <> '{fee}' OR ({booked_later}) THEN 0 ELSE e.amount END) AS fee,
                       SUM(CASE WHEN e.component <> '{cost}' OR ({booked_later}) THEN 0 ELSE e.amount END) AS cost
                FROM {TARGET} t
                JOIN {STAGE} s ON s.line = t.line
                JOIN levies_installment i ON i.id = t.installment_id
                JOIN levies_ledgerentry e ON e.installment_id = t.installment_id
                     AND e.account = '{Account.RECEIVABLE.value}' AND e.component IN ('{fee}', '{cost}')
                JOIN levies_ledgertransaction x ON x.id = e.txn_id
                WHERE s.paid_on > i.due_date
                GROUP BY t.line, t.installment_id"""  # noqa: S608 - constants only
        )
        cur.execute(f"CREATE INDEX {TARGET}_line ON {TARGET} (line)")
        if self.pg:
            cur.execute(f"ANALYZE {TARGET}, {MULTI}, {REPEAT}, {NEED}, {FEES}")

    def _history(self) -> dict[int, tuple[list[tuple[date, int]], int]]:
        """Earlier principal payments (領収日, yen) and 延滞金 paid, of the installments in ``NEED``."""
        kinds = ", ".join(f"'{k.value}'" for k in PAID_KINDS)
        found: dict[int, tuple[list[tuple[date, int]], int]] = {}
        with connection.cursor() as cur:
            cur.execute(f"SELECT installment_id FROM {NEED}")  # noqa: S608
            for (inst,) in cur.fetchall():
                found[int(inst)] = ([], 0)
            if not found:
                return found
            # 法15条の9 periods of the few of them under a relief (the 延滞金 they owe depends on them)
            self._exemptions = late_charge_exemptions(found)
            cur.execute(
                f"""SELECT e.installment_id, e.account, e.component, t.legal_date, SUM(e.amount)
                    FROM {NEED} n
                    {self.join_big} levies_ledgerentry e ON e.installment_id = n.installment_id
                    JOIN levies_ledgertransaction t ON t.id = e.txn_id
                    WHERE t.kind IN ({kinds})
                      AND e.account IN ('{Account.RECEIVABLE.value}', '{Account.LATE_CHARGE_INCOME.value}')
                    GROUP BY e.installment_id, e.account, e.component, t.legal_date"""  # noqa: S608
            )
            _fold_history(found, cur.fetchall(), self._date)
        return found

    # -- deciding ----------------------------------------------------------------------------------

    def _facts(self, cancels: bool) -> Iterator[list[tuple[Any, ...]]]:
        """The facts of every record (one row per record × installment), in file order, a batch at a
        time, from a server-side cursor on PostgreSQL (memory stays bounded whatever the file)."""
        which = "=" if cancels else "<>"
        sql = f"""
            SELECT s.line, s.kind, s.reference, s.amount, s.paid_on, s.tax_item, s.conf_ok,
                   p.id, p.status, p.amount,
                   CASE WHEN r.reference IS NULL THEN 0 ELSE 1 END,
                   t.installment_id, t.combined, t.cancelled, t.slip_taxpayer,
                   i.taxpayer_id, i.due_date, l.tax_item, i.principal_levied, i.principal_outstanding,
                   CASE WHEN mu.installment_id IS NULL THEN 0 ELSE 1 END, s.booked_on, i.late_charge_base_date,
                   f.fee, i.extinguished_on, f.cost
            FROM {STAGE} s
            LEFT JOIN {SEEN} p ON p.line = s.line
            LEFT JOIN {REPEAT} r ON r.reference = s.reference
            LEFT JOIN {TARGET} t ON t.line = s.line
            LEFT JOIN levies_installment i ON i.id = t.installment_id
            LEFT JOIN levies_levy l ON l.id = i.levy_id
            LEFT JOIN {MULTI} mu ON mu.installment_id = t.installment_id
            LEFT JOIN {FEES} f ON f.line = t.line AND f.installment_id = t.installment_id
            WHERE s.kind {which} '{RecordKind.CANCEL.value}'
            ORDER BY s.line, i.due_date, i.id"""  # noqa: S608 - constants only
        if cancels:
            # The payments as this run left them (a cancellation may undo a payment of the same file).
            sql = sql.replace(f"LEFT JOIN {SEEN} p ON p.line = s.line", (
                f"LEFT JOIN receipts_payment p ON p.municipality_id = {int(self.m)} "
                f"AND p.channel = '{self.channel}' AND p.reference = s.reference"))  # fmt: skip
        if self.pg:
            raw = connection.connection  # psycopg: a named (server-side) cursor streams the rows
            with raw.cursor(name="choshu_payment_facts", binary=True) as cur:
                cur.itersize = FETCH
                cur.execute(sql)
                while rows := cur.fetchmany(FETCH):
                    yield rows
            return
        with connection.cursor() as cur:
            cur.execute(sql)
            while rows := cur.fetchmany(FETCH):
                yield rows

    def _date(self, value: Any) -> date:
        if isinstance(value, date):
            return value
        d = self._dates.get(value)
        if d is None:
            d = self._dates[value] = date.fromisoformat(value)
        return d

    def _decide_all(self, history: dict[int, tuple[list[tuple[date, int]], int]], *, cancels: bool) -> None:
        """Decide every record (one ``reconcile`` call each) and stage the decisions in batches."""
        shared: dict[int, rr.Owed] = {}  # installments reached by several records of the file
        slots: dict[str, _Slot] = {}  # payments under references repeated in the file
        self._reversals: list[tuple[int, int, date, date]] = []
        decided: list[_Slot] = []
        lines: list[tuple[Any, ...]] = []
        pending: list[tuple[Any, ...]] = []
        for batch in self._facts(cancels):
            for row in batch:
                if pending and pending[0][0] != row[0]:
                    self._one(pending, history, shared, slots, decided, lines)
                    pending = []
                pending.append(row)
            if len(decided) >= FETCH:
                self._flush(decided, lines)
        if pending:
            self._one(pending, history, shared, slots, decided, lines)
        if not cancels:
            decided.extend(slots.values())
            self._flush(decided, lines)

    def _one(
        self,
        rows: list[tuple[Any, ...]],
        history: dict[int, tuple[list[tuple[date, int]], int]],
        shared: dict[int, rr.Owed],
        slots: dict[str, _Slot],
        decided: list[_Slot],
        lines: list[tuple[Any, ...]],
    ) -> None:
        (line, kind, reference, amount, paid_on, tax_item, conf_ok, prior_id, prior_status, prior_amount,
         repeated, *_) = rows[0]  # fmt: skip
        paid = self._date(paid_on)
        owed: list[rr.Owed] = []
        combined = cancelled = any_shared = False
        slip_taxpayer = None
        for r in rows:
            inst_id = r[11]
            combined, cancelled, slip_taxpayer = bool(r[12]), bool(r[13]), r[14]
            if inst_id is None:
                continue
            o = shared.get(inst_id)
            if o is None:
                hist = history.get(inst_id)
                # installment, taxpayer, 納期限, 税目, 本税 levied and outstanding, 督促手数料, 滞納処分費,
                # history, the 延滞金's base date, the 消滅日 (relief.prescription: nothing owed)
                o = rr.Owed(inst_id, r[15], self._date(r[16]), r[17], r[18], r[19], max(0, int(r[23] or 0)),
                            max(0, int(r[25] or 0)),
                            list(hist[0]) if hist is not None else None, hist[1] if hist is not None else 0,
                            self._date(r[22]), self._date(r[24]) if r[24] is not None else None,
                            self._exemptions.get(inst_id, ()))  # fmt: skip
                if r[20]:
                    shared[inst_id] = o
            if r[20]:
                any_shared = True
            owed.append(o)
        found = rows[0][14] is not None or rows[0][11] is not None
        # kind, amount, 領収日, 税目, slip found / cancelled / combined, 確認番号 right, the slip's taxpayer
        record = rr.Record(_KINDS[kind], int(amount), paid, tax_item, found, cancelled, combined, bool(conf_ok),
                           slip_taxpayer)  # fmt: skip
        slot = slots.get(reference) if repeated else None
        if slot is not None:
            prior: rr.Prior | None = rr.Prior(_STATUSES[slot.status], slot.amount)
        elif prior_id is not None:
            prior = rr.Prior(_STATUSES[prior_status], int(prior_amount))
        else:
            prior = None
        decision = rr.reconcile(record, owed, prior)
        self._count(record, decision, line, reference)
        action = decision.action
        if action is _ALREADY or action is _WARN or action is _ERROR:
            return
        if action is _REVERSE:
            booked = rows[0][21]
            self._reversals.append((int(prior_id), line, paid, self._date(booked) if booked else paid))
            if repeated:
                slots[reference] = _Slot(line, int(prior_id), False, _VALUE[rr.Status.REVERSED], int(amount))
            return
        if slot is None:
            is_new = prior_id is None
            slot = _Slot(line, self._payment_ids.take() if is_new else int(prior_id), is_new, "", int(amount))
        if action is not _CANCEL_PROVISIONAL:  # a cancelled 速報 keeps what the 速報 said
            slot.line, slot.amount, slot.fill = line, int(amount), True
        slot.status = _VALUE[decision.status]
        if action is _POST or action is _SUSPEND:
            slot.txn_id = self._txn_ids.take()
            slot.taxpayer_id = decision.taxpayer_id
            slot.allocated, slot.overpaid, slot.suspended = (
                decision.allocated,
                decision.overpayment,
                decision.suspended,
            )
            slot.reason = _VALUE[decision.reason] if decision.reason else None
            slot.overpaid_installment_id = decision.overpaid_installment_id
            by_id = {o.installment_id: o for o in owed} if len(owed) > 1 else None
            for pl in decision.lines:
                before = None
                if pl.component is _PRINCIPAL:  # the outstanding 本税 this line is placed on
                    before = (
                        by_id[pl.installment_id] if by_id is not None else owed[0]
                    ).principal_outstanding
                lines.append((slot.txn_id, slot.payment_id, pl.installment_id, pl.taxpayer_id,
                              _VALUE[pl.component], pl.amount, before))  # fmt: skip
            if any_shared:  # a later record of the file reaches one of these installments
                rr.apply(decision, owed, paid)
        if self.keep_payment_ids:
            self.out.payment_ids.append(slot.payment_id)
        if repeated:
            slots[reference] = slot
        else:
            decided.append(slot)

    def _count(self, record: rr.Record, d: rr.Decision, line: int, reference: str) -> None:
        out = self.out
        a = d.action
        if a is _POST or a is _SUSPEND:
            out.posted += 1
            out.amount_total += record.amount
            if a is _SUSPEND:
                out.suspense += 1
                out.amount_suspense += record.amount
            else:
                out.amount_posted += d.allocated
                if d.overpayment:
                    out.overpaid += 1
                    out.amount_overpaid += d.overpayment
        elif a is _ALREADY:
            out.already_imported += 1
        elif a is rr.Action.NEW_PROVISIONAL:
            out.provisional += 1
        elif a is rr.Action.CANCEL_PROVISIONAL:
            out.cancelled += 1
        elif a is _WARN:
            out.warnings.append({"line": line, "reference": reference, "reason": d.message})
        elif a is _ERROR:
            # the value shown with the error, as before the engine: the amount, the transaction id, or none
            value = str(record.amount) if d.field == "amount" else reference if d.field == "cancelled" else ""
            out.errors.append((line, d.field, d.message, value))
        else:  # REVERSE
            out.reversed += 1
            out.amount_reversed += record.amount

    def _flush(self, decided: list[_Slot], lines: list[tuple[Any, ...]]) -> None:
        if decided:
            copy_rows(DECIDED, DECIDED_COLUMNS, (s.row() for s in decided))
            decided.clear()
        if lines:
            copy_rows(LINES, LINE_COLUMNS, lines)
            lines.clear()

    # -- writing -----------------------------------------------------------------------------------

    def _write(self) -> None:
        with connection.cursor() as cur:
            if self.pg:
                cur.execute(f"ANALYZE {DECIDED}, {LINES}")
            else:
                cur.execute(f"CREATE INDEX {DECIDED}_line ON {DECIDED} (line)")
        p: dict[str, Any] = {"m": self.m, "channel": self.channel}
        paid_kind = TxnKind.PAYMENT.value
        post_selected(
            municipality_id=self.m,
            txns=f"""SELECT d.txn_id AS id, '{paid_kind}' AS kind, s.paid_on AS legal_date,
                            COALESCE(s.booked_on, s.paid_on) AS booking_date,
                            %(channel)s || ' ' || s.slip_no AS memo, CAST(NULL AS bigint) AS reverses_id
                     FROM {DECIDED} d JOIN {STAGE} s ON s.line = d.line WHERE d.txn_id IS NOT NULL""",
            entries=self._entries_sql(),
            params=p,
            recorded_at=self.now,
            actor_id=self.actor_id,
            job_id=self.job_id,
            expected=f"""SELECT installment_id, MAX(before) AS principal_outstanding FROM {LINES}
                         WHERE component = '{AllocComponent.PRINCIPAL.value}' GROUP BY installment_id""",
        )
        self._lap("ledger")
        self.out.phases.update({f"ledger: {k}": v for k, v in LEDGER_TIMINGS.items() if v >= 0.05})
        with connection.cursor() as cur:
            cur.execute(
                f"""INSERT INTO receipts_payment (id, municipality_id, channel, reference, status, taxpayer_id,
                        amount, paid_on, booked_on, slip_no, confirmation_no, allocated, overpaid, suspended,
                        detail, txn_id, reversal_txn_id, job_id, created_at)
                    SELECT d.payment_id, %(m)s, %(channel)s, s.reference, d.status, d.taxpayer_id, s.amount,
                           s.paid_on, s.booked_on, s.slip_no, s.confirmation_no, COALESCE(d.allocated, 0),
                           COALESCE(d.overpaid, 0), COALESCE(d.suspended, 0), s.detail, d.txn_id, NULL,
                           %(job)s, %(now)s
                    FROM {DECIDED} d JOIN {STAGE} s ON s.line = d.line
                    WHERE d.is_new ORDER BY d.payment_id""",  # noqa: S608
                {**p, "job": self.job_id, "now": self.now},
            )
            cur.execute(
                f"""UPDATE receipts_payment SET status = d.status, taxpayer_id = d.taxpayer_id,
                        amount = s.amount, paid_on = s.paid_on, booked_on = s.booked_on, slip_no = s.slip_no,
                        confirmation_no = s.confirmation_no, allocated = COALESCE(d.allocated, 0),
                        overpaid = COALESCE(d.overpaid, 0), suspended = COALESCE(d.suspended, 0),
                        detail = s.detail, txn_id = d.txn_id, job_id = %(job)s
                    FROM {DECIDED} d JOIN {STAGE} s ON s.line = d.line
                    WHERE NOT d.is_new AND d.fill AND receipts_payment.id = d.payment_id""",  # noqa: S608
                {"job": self.job_id},
            )
            # An earlier 速報 cancelled by a 速報取消: only its state changes.
            cur.execute(
                f"""UPDATE receipts_payment SET status = d.status
                    FROM {DECIDED} d WHERE NOT d.is_new AND NOT d.fill AND receipts_payment.id = d.payment_id"""  # noqa: S608
            )
            cur.execute(
                f"""INSERT INTO receipts_suspenseitem (municipality_id, payment_id, reason, amount, status, note,
                        created_at)
                    SELECT %(m)s, d.payment_id, d.reason, d.suspended, '{SuspenseStatus.OPEN.value}', '', %(now)s
                    FROM {DECIDED} d WHERE d.reason IS NOT NULL""",  # noqa: S608
                {"m": self.m, "now": self.now},
            )
        self._lap("payments")

    def _entries_sql(self) -> str:
        """Every entry of the decided payments: cash in, each placed line, the overpayment, suspense."""
        kind = TxnKind.PAYMENT.value
        parts = [
            f"""SELECT '{kind}' AS kind, d.txn_id, '{Account.CASH.value}' AS account, '' AS component,
                       CAST(NULL AS bigint) AS installment_id, d.taxpayer_id, d.payment_id, s.amount
                FROM {DECIDED} d JOIN {STAGE} s ON s.line = d.line WHERE d.txn_id IS NOT NULL""",
            f"""SELECT '{kind}', x.txn_id, CASE x.component {self._case_account()} END,
                       CASE x.component {self._case_component()} END, x.installment_id, x.taxpayer_id,
                       x.payment_id, -x.amount
                FROM {LINES} x""",
            f"""SELECT '{kind}', d.txn_id, '{Account.OVERPAYMENT.value}', '', d.overpaid_installment_id,
                       d.taxpayer_id, d.payment_id, -d.overpaid
                FROM {DECIDED} d WHERE d.txn_id IS NOT NULL AND d.overpaid > 0""",
            f"""SELECT '{kind}', d.txn_id, '{Account.SUSPENSE.value}', '', CAST(NULL AS bigint), CAST(NULL AS bigint),
                       d.payment_id, -d.suspended
                FROM {DECIDED} d WHERE d.txn_id IS NOT NULL AND d.suspended > 0""",
        ]
        return " UNION ALL ".join(parts)

    @staticmethod
    def _case_account() -> str:
        return " ".join(f"WHEN '{c.value}' THEN '{a}'" for c, (a, _) in ENGINE_ACCOUNTS.items())

    @staticmethod
    def _case_component() -> str:
        return " ".join(f"WHEN '{c.value}' THEN '{k}'" for c, (_, k) in ENGINE_ACCOUNTS.items())

    def _write_reversals(self) -> None:
        """eLTAX cancellations: each payment's transaction negated in a transaction of its own."""
        if not self._reversals:
            return
        reverse_payments(
            municipality_id=self.m,
            reversals=[
                (pid, self._txn_ids.take(), legal, booking) for pid, _, legal, booking in self._reversals
            ],
            memo="収納取消: eLTAX 取消",
            now=self.now,
            actor_id=self.actor_id,
            job_id=self.job_id,
        )


def _fold_history(
    found: dict[int, tuple[list[tuple[date, int]], int]], rows: Iterable[Sequence[Any]], to_date: Any
) -> None:
    """(installment, account, component, legal date, total) rows → earlier principal payments and 延滞金 paid."""
    for inst, account, component, legal_date, total in rows:
        payments, late_paid = found[int(inst)]
        if account == Account.RECEIVABLE and component == Component.PRINCIPAL and total < 0:
            payments.append((to_date(legal_date), -int(total)))
        elif account == Account.LATE_CHARGE_INCOME:
            found[int(inst)] = (payments, late_paid - int(total))


def installment_history(installment_ids: Sequence[int]) -> dict[int, tuple[list[tuple[date, int]], int]]:
    """Earlier principal payments and 延滞金 paid of a few installments (a single payment's slip)."""
    found: dict[int, tuple[list[tuple[date, int]], int]] = {i: ([], 0) for i in installment_ids}
    if not found:
        return found
    rows = (
        LedgerEntry.objects.filter(installment_id__in=list(found), txn__kind__in=PAID_KINDS)
        .filter(account__in=[Account.RECEIVABLE, Account.LATE_CHARGE_INCOME])
        .values("installment_id", "account", "component", "txn__legal_date")
        .annotate(total=Sum("amount"))
        .values_list("installment_id", "account", "component", "txn__legal_date", "total")
    )
    _fold_history(found, rows, lambda d: d)
    return found


REVERSE = "choshu_pay_reverse"

# Apps above receipts that keep something made of a payment (refunds: the appropriations and refunds of
# the overpayment it made) are told of reversals inside the same database transaction, before the
# reversal is committed: ``hook(municipality_id, table)``, ``table`` being the temporary table of the
# reversals (payment_id, txn_id, legal_date, booking_date). A hook may refuse (raise) the reversal.
REVERSAL_HOOKS: list[Callable[[int, str], None]] = []


def reverse_payments(
    *,
    municipality_id: int,
    reversals: Iterable[tuple[int, int, date, date]],
    memo: str,
    now: datetime,
    actor_id: int | None,
    job_id: int | None,
) -> None:
    """Reverse payments (payment id, new transaction id, legal date, booking date): each payment's own
    transaction is negated by a ``payment_reversal`` transaction (balances and 延滞金 re-open), the
    payment is marked reversed, and its suspense item closed."""
    pg = connection.vendor == "postgresql"
    with connection.cursor() as cur:
        cur.execute(f"DROP TABLE IF EXISTS {REVERSE}")
        cur.execute(
            f"""CREATE TEMP TABLE {REVERSE} (payment_id bigint NOT NULL, txn_id bigint NOT NULL,
                legal_date date NOT NULL, booking_date date NOT NULL)"""
        )
    rows = [(p, t, a if pg else a.isoformat(), b if pg else b.isoformat()) for p, t, a, b in reversals]
    copy_rows(REVERSE, ("payment_id", "txn_id", "legal_date", "booking_date"), rows)
    kind = TxnKind.PAYMENT_REVERSAL.value
    post_selected(
        municipality_id=municipality_id,
        txns=f"""SELECT r.txn_id AS id, '{kind}' AS kind, r.legal_date, r.booking_date,
                        %(memo)s AS memo, p.txn_id AS reverses_id
                 FROM {REVERSE} r JOIN receipts_payment p ON p.id = r.payment_id""",  # noqa: S608
        entries=f"""SELECT '{kind}' AS kind, r.txn_id, e.account, e.component, e.installment_id, e.taxpayer_id,
                           e.payment_id, -e.amount AS amount
                    FROM {REVERSE} r JOIN receipts_payment p ON p.id = r.payment_id
                    JOIN levies_ledgerentry e ON e.txn_id = p.txn_id""",  # noqa: S608
        params={"memo": memo},
        recorded_at=now,
        actor_id=actor_id,
        job_id=job_id,
    )
    with connection.cursor() as cur:
        cur.execute(
            f"""UPDATE receipts_payment SET status = '{PaymentStatus.REVERSED.value}', reversal_txn_id = r.txn_id
                FROM {REVERSE} r WHERE receipts_payment.id = r.payment_id"""  # noqa: S608
        )
        cur.execute(
            f"""UPDATE receipts_suspenseitem SET status = '{SuspenseStatus.CLOSED.value}', note = %s
                WHERE payment_id IN (SELECT payment_id FROM {REVERSE})""",  # noqa: S608
            [memo[:300]],
        )
    for hook in REVERSAL_HOOKS:
        hook(municipality_id, REVERSE)
    with connection.cursor() as cur:
        cur.execute(f"DROP TABLE {REVERSE}")


def drop_tables() -> None:
    with connection.cursor() as cur:
        for table in TABLES:
            cur.execute(f"DROP TABLE IF EXISTS {table}")
