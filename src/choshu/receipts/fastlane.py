"""The common case of a payment import, reconciled set-based in SQL (the "fast lane").

Almost every record of a bank or conveni file pays one installment's own slip, no more than is
still owed, with the right 確認番号 and 税目, and is the only record in the file for that slip.
Such a payment is placed entirely on the installment's principal whatever its date (the allocation
order puts 本税 before 延滞金, ``rules.allocation``), so it needs no Python: the records are staged in
a temporary table (COPY on PostgreSQL), and a handful of statements post them: one ledger
transaction per 領収日 × 日計日 of the file (a batch journal, as a 日計 is), with one cash entry for its
total and one receivable entry (−amount, naming its payment) per payment; the payment rows; and one
``UPDATE … FROM`` of the installments' cached amounts.

Every other record — 速報 and 速報取消, cancellations, unknown or combined slips, mismatches,
overpayments, references already imported or repeated in the file, slips with two or more records,
and every record of an installment that a combined slip of the file reaches — is handed back, in
file order, to the reconciliation in Python (``services._Importer``), after the fast lane has posted. A fast-lane installment has no
other record in the file, so the order does not matter: the result is the same as reconciling the
file line by line.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.db import connection

from choshu.core.bulk import id_sequence
from choshu.formats.payments import REFERENCE_HAS_SLIP, PaymentRecord, RecordKind
from choshu.levies.models import Account, Component, TxnKind
from choshu.receipts.models import PaymentStatus
from choshu.receipts.slips import confirmation_no

logger = logging.getLogger(__name__)

STAGE = "choshu_payment_stage"
FAST = "choshu_payment_fast"
GROUPS = "choshu_payment_groups"
DONE = "choshu_payment_done"
SEEN = "choshu_payment_seen"
REST = "choshu_payment_rest"
TABLES = (STAGE, SEEN, FAST, GROUPS, DONE, REST)
# Planner statistics are refreshed before the Python lane only when the fast lane added this many
# payments or more: below that the earlier statistics still plan its look-ups well.
ANALYZE_AFTER = 10_000
STAGE_COLUMNS = ("line", "kind", "reference", "slip_no", "confirmation_no", "tax_item", "amount", "paid_on",
                 "booked_on", "detail", "conf_ok")  # fmt: skip


# One encoder for every staged row (``json.dumps`` builds a new one per call with these options).
_encode = json.JSONEncoder(ensure_ascii=False, check_circular=False).encode


class ConcurrentChange(RuntimeError):
    """An installment changed under the import (a counter receipt at the same moment): nothing is kept;
    running the import again is safe."""


@dataclass(frozen=True)
class FastResult:
    posted: int
    amount: int


class _Timed:
    """A cursor that adds each statement's seconds to ``timings`` (by its first words), for the log."""

    def __init__(self, cur: Any, timings: dict[str, float]) -> None:
        self.cur = cur
        self.timings = timings

    def execute(self, sql: str, params: Any = None) -> None:
        started = time.monotonic()
        self.cur.execute(sql, params)
        words = sql.split()
        label = " ".join(words[: 4 if words[0] == "CREATE" else 3])  # CREATE TEMP TABLE name
        self.timings[label] = self.timings.get(label, 0.0) + time.monotonic() - started

    def fetchone(self) -> Any:
        return self.cur.fetchone()

    @property
    def rowcount(self) -> int:
        return int(self.cur.rowcount)


class PaymentStage:
    """A temporary table of one file's valid records, then the fast lane's postings."""

    def __init__(self, municipality_id: int, municipality_code: str, channel: str) -> None:
        self.m = municipality_id
        self.code = municipality_code
        self.channel = channel
        self.pg = connection.vendor == "postgresql"
        # How the staged records join a large table. SQLite must be told to drive the join from them
        # (CROSS JOIN fixes its join order): otherwise it may walk the big table by an index and scan
        # the staged records for each row (seen: 266 s for 2,000 records against 1M installments, and
        # 34 s for 200 records against a city's payments). PostgreSQL plans the join itself.
        self.join_big = "JOIN" if self.pg else "CROSS JOIN"
        self.staged = 0
        self.fast_table = False  # whether post_fast created FAST (the rest is then what it left)
        self.seen_table = False  # whether SEEN exists (``_find_seen``)
        self.already_imported = 0  # records of the rest that an earlier import already holds (``rest``)
        self.timings: dict[str, float] = {}

    # -- staging -------------------------------------------------------------------------------------

    def create(self) -> None:
        # PostgreSQL parses the detail into jsonb while the file is still being read (COPY runs on the
        # server while Python parses the next rows), not later in the serial insert of the payments.
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

    def add(self, records: Sequence[PaymentRecord]) -> None:
        if not records:
            return
        self.staged += len(records)
        rows = (self._row(r) for r in records)
        with connection.cursor() as cur:
            if self.pg:
                with cur.cursor.copy(f"COPY {STAGE} ({', '.join(STAGE_COLUMNS)}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            else:
                marks = ", ".join(["?"] * len(STAGE_COLUMNS))
                cur.cursor.executemany(f"INSERT INTO {STAGE} VALUES ({marks})", rows)  # noqa: S608

    def _row(self, r: PaymentRecord) -> tuple[Any, ...]:
        conf_ok = not r.confirmation_no or r.confirmation_no == confirmation_no(self.code, r.slip_no)
        paid_on: date | str = r.paid_on if self.pg else r.paid_on.isoformat()
        booked_on: date | str | None = r.booked_on
        if r.booked_on is not None and not self.pg:
            booked_on = r.booked_on.isoformat()
        detail = _encode({**r.detail, "line": r.line})
        return (r.line, r.kind.value, r.reference, r.slip_no, r.confirmation_no, r.tax_item, r.amount, paid_on,
                booked_on, detail, conf_ok)  # fmt: skip

    # -- the fast lane -------------------------------------------------------------------------------

    def post_fast(self, *, job_id: int | None, actor_id: int | None, now: datetime) -> FastResult:
        """Post every fast-lane record; returns how many and their total."""
        if not self.staged:
            return FastResult(0, 0)
        p = {"m": self.m, "channel": self.channel, "job": job_id, "actor": actor_id, "now": now}
        with connection.cursor() as raw:
            cur = _Timed(raw, self.timings)
            if self.pg:
                # Hash joins and aggregates the size of the file: in memory rather than in temporary
                # files (this transaction only).
                cur.execute("SET LOCAL work_mem = '256MB'")
                # Plain statements over many rows: compiling them (JIT) costs more than it saves.
                cur.execute("SET LOCAL jit = off")
                cur.execute(f"ANALYZE {STAGE}")
            self._find_seen(cur)
            cur.execute(self._select_fast(), p)
            self.fast_table = True
            cur.execute(f"SELECT COUNT(*), COALESCE(SUM(amount), 0) FROM {FAST}")
            posted, amount = cur.fetchone()
            if not posted:
                return FastResult(0, 0)
            # One transaction per 領収日 × 日計日: its cash entry is the group's total.
            cur.execute(
                f"""CREATE TEMP TABLE {GROUPS} AS
                    SELECT {self._new_id("levies_ledgertransaction", "paid_on, booking")} AS txn_id, g.* FROM (
                        SELECT paid_on, booking, COUNT(*) AS n, SUM(amount) AS amount FROM {FAST}
                        GROUP BY paid_on, booking ORDER BY paid_on, booking
                    ) g"""  # noqa: S608 - constants only
            )
            cur.execute(
                f"""INSERT INTO levies_ledgertransaction
                        (id, municipality_id, kind, legal_date, booking_date, recorded_at, actor_id, job_id,
                         reverses_id, memo)
                    SELECT txn_id, %(m)s, '{TxnKind.PAYMENT.value}', paid_on, booking, %(now)s, %(actor)s, %(job)s,
                           NULL, %(channel)s || ' ' || n || '件'
                    FROM {GROUPS} ORDER BY txn_id""",  # noqa: S608
                p,
            )
            cur.execute(
                f"""INSERT INTO levies_ledgerentry
                        (municipality_id, txn_id, account, component, installment_id, taxpayer_id, amount,
                         payment_id)
                    SELECT %(m)s, txn_id, '{Account.CASH.value}', '', NULL, NULL, amount, NULL
                    FROM {GROUPS}
                    UNION ALL
                    SELECT * FROM (
                        SELECT %(m)s, g.txn_id, '{Account.RECEIVABLE.value}', '{Component.PRINCIPAL.value}',
                               f.installment_id, f.taxpayer_id, -f.amount, f.payment_id
                        FROM {FAST} f JOIN {GROUPS} g ON g.paid_on = f.paid_on AND g.booking = f.booking
                        ORDER BY f.payment_id
                    ) r""",  # noqa: S608
                p,
            )
            cur.execute(
                f"""INSERT INTO receipts_payment
                        (id, municipality_id, channel, reference, status, taxpayer_id, amount, paid_on,
                         booked_on, slip_no, confirmation_no, allocated, overpaid, suspended, detail, txn_id,
                         reversal_txn_id, job_id, created_at)
                    SELECT f.payment_id, %(m)s, %(channel)s, s.reference, '{PaymentStatus.POSTED.value}',
                           f.taxpayer_id, s.amount, s.paid_on, s.booked_on, s.slip_no, s.confirmation_no,
                           s.amount, 0, 0, s.detail, g.txn_id, NULL, %(job)s, %(now)s
                    FROM {FAST} f
                    JOIN {STAGE} s ON s.line = f.line
                    JOIN {GROUPS} g ON g.paid_on = f.paid_on AND g.booking = f.booking
                    ORDER BY f.payment_id""",  # noqa: S608
                p,
            )
            # The outstanding amount is checked again row by row: a counter receipt committed since the
            # fast lane was chosen would otherwise be overtaken (PostgreSQL re-reads the changed row).
            cur.execute(
                f"""UPDATE levies_installment
                    SET principal_paid = principal_paid + d.amount,
                        principal_outstanding = principal_outstanding - d.amount
                    FROM {FAST} d
                    WHERE levies_installment.id = d.installment_id
                      AND levies_installment.principal_outstanding >= d.amount""",  # noqa: S608
                p,
            )
            if cur.rowcount != posted:  # one record per installment in the fast lane
                raise ConcurrentChange(
                    "取込中に期別の収納状況が変わりました（窓口収納などと同時）。何も記録していません。もう一度取り込んでください"
                )
        logger.info("fast lane: %s records, %s", posted, {k: round(v, 2) for k, v in self.timings.items()})
        return FastResult(int(posted), int(amount))

    def _select_fast(self) -> str:
        """The fast-lane records with their installment and a fresh payment id, into ``FAST``.

        ``bad``: slips with more than one record in the file, or with a record that is not a plain
        確報 — a 速報 or 速報取消, a wrong 確認番号, a reference repeated in the file or already imported,
        a combined slip. ``covered``: installments that a combined slip paid in this file reaches.
        The records of those slips and installments all go to the Python path; every other record pays
        one installment once, so it fits if its amount is within the outstanding principal.
        """
        # PostgreSQL draws the ids in the subquery's order; SQLite numbers the rows in that order
        # (_new_id), and an ORDER BY here would steer its planner away from the staged records.
        order = "ORDER BY i.taxpayer_id, i.id" if self.pg else ""
        # A repeated reference: for bank and conveni it is a repeated slip as well, already caught
        # above (formats.payments.REFERENCE_HAS_SLIP), so the staged references need no grouping.
        repeated = (
            ""
            if self.channel in REFERENCE_HAS_SLIP
            else f"""UNION
                SELECT s.slip_no FROM {STAGE} s
                JOIN (SELECT reference FROM {STAGE} GROUP BY reference HAVING COUNT(*) > 1) d
                  ON d.reference = s.reference"""
        )
        payment_id = self._new_id("receipts_payment", "taxpayer_id, installment_id")
        return f"""
            CREATE TEMP TABLE {FAST} AS
            WITH bad AS MATERIALIZED (
                SELECT slip_no FROM {STAGE}
                GROUP BY slip_no
                HAVING COUNT(*) > 1 OR MAX(CASE WHEN kind <> '{RecordKind.FINAL.value}' OR NOT conf_ok
                                                THEN 1 ELSE 0 END) = 1
                {repeated}
                UNION
                SELECT slip_no FROM {SEEN}
                UNION
                SELECT ps.slip_no FROM receipts_paymentslip ps
                WHERE ps.municipality_id = %(m)s AND ps.slip_no IN (SELECT slip_no FROM {STAGE})
            ),
            covered AS MATERIALIZED (
                SELECT psi.installment_id FROM receipts_paymentslip_installments psi
                JOIN receipts_paymentslip ps ON ps.id = psi.paymentslip_id
                WHERE ps.municipality_id = %(m)s AND ps.slip_no IN (SELECT slip_no FROM {STAGE})
            )
            SELECT {payment_id} AS payment_id, q.* FROM (
                SELECT s.line, s.amount, s.paid_on, COALESCE(s.booked_on, s.paid_on) AS booking,
                       i.id AS installment_id, i.taxpayer_id
                FROM {STAGE} s
                {self.join_big} levies_installment i ON i.municipality_id = %(m)s AND i.slip_no = s.slip_no
                JOIN levies_levy l ON l.id = i.levy_id
                WHERE s.amount <= i.principal_outstanding
                  AND (s.tax_item = '' OR s.tax_item = l.tax_item)
                  AND NOT EXISTS (SELECT 1 FROM bad b WHERE b.slip_no = s.slip_no)
                  AND NOT EXISTS (SELECT 1 FROM covered v WHERE v.installment_id = i.id)
                {order}
            ) q
            """

    def _find_seen(self, cur: Any) -> None:
        """``SEEN``: the staged records whose reference an earlier import holds, with that payment's
        status. One look-up per staged record, shared by the fast lane's choice (such a record is
        never in it) and the count of records of a file sent again (``rest``)."""
        cur.execute(
            f"""CREATE TEMP TABLE {SEEN} AS
                SELECT s.line, s.slip_no, p.status FROM {STAGE} s
                {self.join_big} receipts_payment p ON p.municipality_id = %s AND p.channel = %s
                                                  AND p.reference = s.reference""",  # noqa: S608
            [self.m, self.channel],
        )
        if not self.pg:  # SQLite probes it by line from the rest (PostgreSQL hashes it)
            cur.execute(f"CREATE INDEX {SEEN}_line ON {SEEN} (line)")
        self.seen_table = True

    def _new_id(self, table: str, order: str) -> str:
        """SQL for a fresh id of ``table`` per row, in the row order ``order`` (a window ordering).

        PostgreSQL: the table's sequence, its name looked up once (``core.bulk.id_sequence``), drawn
        in the order the rows arrive. SQLite (one writer at a time, as ``core.bulk.reserve_id_block``):
        the largest id so far plus the row's number in ``order``.
        """
        if self.pg:
            return f"nextval('{id_sequence(table)}'::regclass)"
        return f"(SELECT COALESCE(MAX(id), 0) FROM {table}) + ROW_NUMBER() OVER (ORDER BY {order})"

    # -- the rest, for the reconciliation in Python ---------------------------------------------------

    def rest(self, chunk: int, *, posted: int, skip_done: bool = True) -> Iterator[list[PaymentRecord]]:
        """Every staged record not posted by the fast lane, in file order, ``chunk`` at a time; with
        ``skip_done``, less those an earlier import already holds (counted in ``already_imported``)."""
        if posted == self.staged:
            return
        with connection.cursor() as cur:
            if self.pg and posted >= ANALYZE_AFTER:
                # The fast lane just added its payments: the reconciliation's look-ups by reference
                # and slip are planned on fresh statistics (own uncommitted rows count as live).
                cur.execute("ANALYZE receipts_payment, levies_installment")
            if self.fast_table:
                # Indexed, or SQLite plans the anti-join as a scan of FAST per staged row.
                cur.execute(f"CREATE INDEX {FAST}_line ON {FAST} (line)")
                cur.execute(
                    f"""CREATE TEMP TABLE {REST} AS SELECT s.* FROM {STAGE} s
                        WHERE NOT EXISTS (SELECT 1 FROM {FAST} f WHERE f.line = s.line)"""  # noqa: S608
                )
            else:
                cur.execute(f"CREATE TEMP TABLE {REST} AS SELECT * FROM {STAGE}")  # noqa: S608
            if skip_done:
                # Records of a file sent again: those the reconciliation would only count as already
                # imported are counted here (a re-sent file of 500,000 records would otherwise go
                # through Python record by record). Only references that occur once in the file: a
                # 速報, 確報 and 取消 of the same reference in one file change one another and stay on
                # the Python path. Every record whose reference repeats in the file is in the rest (the
                # fast lane takes none of them), so counting in the rest is counting in the file. The
                # fast lane's payments are not in SEEN, and need not be: none shares a reference with
                # a record of the rest.
                if not self.seen_table:
                    self._find_seen(cur)
                cur.execute(
                    f"""CREATE TEMP TABLE {DONE} AS
                        SELECT s.line FROM {REST} s
                        {self.join_big} {SEEN} p ON p.line = s.line
                        WHERE ((s.kind = '{RecordKind.PROVISIONAL.value}')
                            OR (s.kind = '{RecordKind.FINAL.value}' AND p.status IN ('{PaymentStatus.POSTED.value}',
                                '{PaymentStatus.SUSPENSE.value}', '{PaymentStatus.REVERSED.value}'))
                            OR (s.kind = '{RecordKind.CANCEL_PROVISIONAL.value}'
                                AND p.status = '{PaymentStatus.CANCELLED.value}'))
                          AND s.reference IN (SELECT reference FROM {REST} GROUP BY reference HAVING COUNT(*) = 1)"""  # noqa: S608
                )
                cur.execute(f"SELECT COUNT(*) FROM {DONE}")
                self.already_imported = int(cur.fetchone()[0])
                cur.execute(f"SELECT COUNT(*) FROM {REST}")
                if self.already_imported == int(cur.fetchone()[0]):  # the whole rest: a file sent again
                    cur.execute(f"DELETE FROM {REST}")  # noqa: S608
                elif self.already_imported:
                    cur.execute(f"CREATE INDEX {DONE}_line ON {DONE} (line)")
                    cur.execute(f"DELETE FROM {REST} WHERE line IN (SELECT line FROM {DONE})")  # noqa: S608
            cur.execute(f"CREATE INDEX {REST}_line ON {REST} (line)")
        last = 0
        while True:
            with connection.cursor() as cur:
                cur.execute(
                    f"""SELECT line, kind, reference, slip_no, confirmation_no, tax_item, amount, paid_on,
                               booked_on, detail
                        FROM {REST} WHERE line > %s ORDER BY line LIMIT %s""",  # noqa: S608
                    [last, chunk],
                )
                rows = cur.fetchall()
            if not rows:
                return
            last = rows[-1][0]
            yield [self._record(row) for row in rows]

    def _record(self, row: Sequence[Any]) -> PaymentRecord:
        line, kind, reference, slip_no, conf, tax_item, amount, paid_on, booked_on, detail = row
        if isinstance(paid_on, str):
            paid_on = date.fromisoformat(paid_on)
        if isinstance(booked_on, str):
            booked_on = date.fromisoformat(booked_on)
        extra = json.loads(detail) if isinstance(detail, str) else detail  # jsonb arrives decoded
        extra.pop("line", None)
        return PaymentRecord(
            line=line,
            channel=self.channel,
            kind=RecordKind(kind),
            reference=reference,
            slip_no=slip_no,
            confirmation_no=conf,
            tax_item=tax_item,
            amount=int(amount),
            paid_on=paid_on,
            booked_on=booked_on,
            detail=extra,
        )

    def drop(self) -> None:
        with connection.cursor() as cur:
            for table in TABLES:
                cur.execute(f"DROP TABLE IF EXISTS {table}")
