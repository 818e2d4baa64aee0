"""Verification of the ledger (``choshu verify-ledger``): the full check for audits and the incremental
check that keeps up with history.

**Full** (`verify_full`): every transaction sums to zero with two or more entries of its own
municipality, every installment's cache equals its entries, no orphan reference, and every payment's
split (``receipts.services.payment_totals_problems``). For installments with a breakdown (内訳): the
components' levied and paid amounts sum to the installment's (``breakdown_mismatch``) and each
component's paid amount is the sum of its stored splits (``split_mismatch``). Its time follows the
ledger's size.

**Incremental** (`verify_incremental`): only what was posted after the municipality's latest
``LedgerCheckpoint`` — transactions with ``id > through_txn_id`` and their entries, the payments
created (``id > through_payment_id``), named by those entries or reversed by those transactions — is
read: each new transaction balances with two or more entries of its municipality; the new rows have no
orphan reference; no entry was added to a verified transaction (``entry_after_checkpoint``); for every
installment the new entries touch, stored closing balance (``VerifiedBalance``) + the new principal
movements = the cached amounts, and its breakdown as in the full check; for every such payment with a transaction, allocated + overpaid +
suspended = amount = what its own entries place, and the cash of each new payment transaction = the
amounts of its payments. Its time follows what is new (and the indexes it uses: the primary keys,
``LedgerEntry.txn_id``, the partial ``payment_reversal_idx``; no index was added). What
it does not re-read (old rows, untouched caches) is the full check's to prove: run it before an audit.

A clean run records a checkpoint and the closing balances up to it (a full run rewrites all of the
municipality's balances from the proven caches; an incremental run upserts those it touched); a run
with problems records nothing, so the next run checks the same rows again.

**Why the checkpoint is safe with concurrent writers.** Ids come from sequences when a writer draws
them, not when it commits: an import may hold ids 100–199 uncommitted while a counter receipt commits
id 250. "Highest visible id" would then skip 100–199 forever. So the watermark is the highest id the
sequence has *issued* (PostgreSQL: the sequence's ``last_value``; SQLite: ``MAX(id)``, there is one
writer at a time and it draws above every committed id) read *before* waiting, and then the run waits
until every transaction open at that moment (other sessions of this database, `pg_stat_activity`)
has ended (the verifier's role must see them: the writers' own role, or ``pg_read_all_stats``),
and only then takes its snapshot (REPEATABLE READ): every id at or below the watermark is
either visible to the run or will never exist. Rows above it that are already visible are checked
too and checked again next time (idempotent). Waiting is bounded (``wait_seconds``); if a
transaction is still open then, the run verifies what it sees but does not advance the checkpoint
(``checkpoint.advanced = false``). The entries' watermark, which only serves
``entry_after_checkpoint``, is read after the wait (a writer draws its transaction's id before its
entries' ids). One verifier runs at a time (a session advisory lock on PostgreSQL; SQLite's
IMMEDIATE transactions). Limitation: on SQLite ``reserve_id_block`` draws ``MAX(id) + 1``, so a
purge that deletes the very highest transaction lets the next writer reuse its id below the
watermark; run the full check after a purge on SQLite.

**Retention purge.** It deletes whole transactions of the purged people; it must call
`forget_installments` with their installments' ids (same database transaction) so that no stored
balance outlives its installment. The incremental check starts from the installments touched by new
entries, so a purged installment (no entries left) is never reported.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from choshu.core.bulk import analyze, id_sequence
from choshu.core.models import Job, Municipality
from choshu.levies.ledger import LEVIED_KINDS, PAID_KINDS
from choshu.levies.models import (
    Account,
    CheckKind,
    Component,
    Installment,
    LedgerCheckpoint,
    LedgerEntry,
    LedgerTransaction,
    VerifiedBalance,
)

LIMIT = 1000


@dataclass(frozen=True)
class LedgerProblem:
    kind: str
    id: int
    detail: str

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "id": self.id, "detail": self.detail}


def ledger_problems(
    *, municipality_id: int | None = None, limit: int = 1000
) -> tuple[dict[str, int], list[LedgerProblem]]:
    """Prove the ledger: every transaction sums to zero and has entries; every cache equals its entries."""
    where_txn = "WHERE t.municipality_id = %s" if municipality_id else ""
    where_inst = "WHERE i.municipality_id = %s" if municipality_id else ""
    params = [municipality_id] if municipality_id else []
    problems: list[LedgerProblem] = []
    levied = ", ".join(f"'{k}'" for k in LEVIED_KINDS)
    paid = ", ".join(f"'{k}'" for k in PAID_KINDS)
    with connection.cursor() as cur:
        cur.execute(f"SELECT COUNT(*) FROM levies_ledgertransaction t {where_txn}", params)
        n_txn = cur.fetchone()[0]
        cur.execute(
            f"""SELECT t.id, COALESCE(SUM(e.amount), 0), COUNT(e.id)
                FROM levies_ledgertransaction t LEFT JOIN levies_ledgerentry e ON e.txn_id = t.id
                {where_txn} GROUP BY t.id
                HAVING COALESCE(SUM(e.amount), 0) <> 0 OR COUNT(e.id) < 2
                   OR SUM(CASE WHEN e.municipality_id <> t.municipality_id THEN 1 ELSE 0 END) > 0""",
            params,
        )
        for txn_id, total, count in cur.fetchmany(limit):
            problems.append(LedgerProblem("unbalanced_transaction", txn_id, f"sum={total} entries={count}"))
        cur.execute(f"SELECT COUNT(*) FROM levies_installment i {where_inst}", params)
        n_inst = cur.fetchone()[0]
        cur.execute(
            f"""SELECT i.id, i.principal_levied, i.principal_paid, i.principal_outstanding,
                       COALESCE(s.levied, 0), COALESCE(s.paid, 0), COALESCE(s.total, 0)
                FROM levies_installment i
                LEFT JOIN (
                    SELECT e.installment_id,
                           SUM(CASE WHEN t.kind IN ({levied}) THEN e.amount ELSE 0 END) AS levied,
                           -SUM(CASE WHEN t.kind IN ({paid}) THEN e.amount ELSE 0 END) AS paid,
                           SUM(e.amount) AS total
                    FROM levies_ledgerentry e JOIN levies_ledgertransaction t ON t.id = e.txn_id
                    WHERE e.account = '{Account.RECEIVABLE.value}' AND e.component = '{Component.PRINCIPAL.value}'
                    GROUP BY e.installment_id
                ) s ON s.installment_id = i.id
                {where_inst}
                  {"AND" if where_inst else "WHERE"} (i.principal_levied <> COALESCE(s.levied, 0)
                   OR i.principal_paid <> COALESCE(s.paid, 0)
                   OR i.principal_outstanding <> COALESCE(s.total, 0))""",
            params,
        )
        for iid, c_lev, c_paid, c_out, s_lev, s_paid, s_out in cur.fetchmany(limit - len(problems)):
            problems.append(
                LedgerProblem(
                    "cache_mismatch",
                    iid,
                    f"levied {c_lev}≠{s_lev}"
                    if c_lev != s_lev
                    else f"paid {c_paid}≠{s_paid}"
                    if c_paid != s_paid
                    else f"outstanding {c_out}≠{s_out}",
                )
            )
        scope = "{a}.municipality_id = %s" if municipality_id else "1 = 1"
        problems.extend(breakdown_problems(cur, scope, params, limit - len(problems)))
        problems.extend(_orphans(cur, municipality_id, limit - len(problems)))
    return {"transactions": n_txn, "installments": n_inst}, problems


def breakdown_problems(cur: Any, scope: str, params: list[Any], limit: int) -> list[LedgerProblem]:
    """The breakdown of the installments in ``scope`` (a condition on the alias ``{a}`` of the breakdown
    and split tables, with ``params``): Σ levied_i = principal_levied and Σ paid_i = principal_paid
    (``breakdown_mismatch``), and per component the stored splits sum to its paid amount — a split under
    a code the installment's breakdown does not have counts against 0 (``split_mismatch``)."""
    found: list[LedgerProblem] = []
    b_scope, s_scope = scope.format(a="b"), scope.format(a="s")
    cur.execute(
        f"""SELECT i.id, i.principal_levied, i.principal_paid, b.levied, b.paid
            FROM (SELECT b.installment_id, SUM(b.levied) AS levied, SUM(b.paid) AS paid
                  FROM levies_installmentbreakdown b WHERE {b_scope} GROUP BY b.installment_id) b
            JOIN levies_installment i ON i.id = b.installment_id
            WHERE i.principal_levied <> b.levied OR i.principal_paid <> b.paid
            ORDER BY i.id""",  # noqa: S608 - constants
        params,
    )
    for iid, levied, paid, b_levied, b_paid in cur.fetchmany(max(limit, 0)):
        detail = f"levied {levied}≠内訳 {b_levied}" if levied != b_levied else f"paid {paid}≠内訳 {b_paid}"
        found.append(LedgerProblem("breakdown_mismatch", iid, detail))
    cur.execute(
        f"""SELECT b.installment_id, b.code, b.paid, COALESCE(s.amount, 0)
            FROM levies_installmentbreakdown b
            LEFT JOIN (SELECT s.installment_id, s.code, SUM(s.amount) AS amount FROM levies_breakdownsplit s
                       WHERE {s_scope} GROUP BY s.installment_id, s.code) s
                   ON s.installment_id = b.installment_id AND s.code = b.code
            WHERE {b_scope} AND b.paid <> COALESCE(s.amount, 0)
            UNION ALL
            SELECT s.installment_id, s.code, 0, SUM(s.amount) FROM levies_breakdownsplit s
            WHERE {s_scope} AND NOT EXISTS (SELECT 1 FROM levies_installmentbreakdown b
                                            WHERE b.installment_id = s.installment_id AND b.code = s.code)
            GROUP BY s.installment_id, s.code HAVING SUM(s.amount) <> 0
            ORDER BY 1, 2""",  # noqa: S608 - constants
        params * 3,
    )
    for iid, code, paid, splits in cur.fetchmany(max(limit - len(found), 0)):
        found.append(LedgerProblem("split_mismatch", iid, f"{code}: paid {paid}≠按分の合計 {splits}"))
    return found


# References of the bulk tables that the database does not enforce (no FK constraints, see
# ``db_constraint=False`` in the models): proven here instead. (table, column, referenced table).
UNENFORCED_REFERENCES = (
    ("levies_ledgerentry", "txn_id", "levies_ledgertransaction"),
    ("levies_ledgerentry", "installment_id", "levies_installment"),
    ("levies_ledgerentry", "taxpayer_id", "taxpayers_taxpayer"),
    ("levies_ledgerentry", "municipality_id", "core_municipality"),
    ("levies_ledgerentry", "payment_id", "receipts_payment"),
    ("levies_ledgertransaction", "reverses_id", "levies_ledgertransaction"),
    ("levies_ledgertransaction", "municipality_id", "core_municipality"),
    ("levies_ledgertransaction", "job_id", "core_job"),
    ("levies_ledgertransaction", "actor_id", "accounts_user"),
    ("receipts_payment", "txn_id", "levies_ledgertransaction"),
    ("receipts_payment", "reversal_txn_id", "levies_ledgertransaction"),
    ("receipts_payment", "taxpayer_id", "taxpayers_taxpayer"),
    ("receipts_payment", "municipality_id", "core_municipality"),
    ("receipts_payment", "job_id", "core_job"),
    ("levies_breakdownsplit", "txn_id", "levies_ledgertransaction"),
    ("levies_breakdownsplit", "installment_id", "levies_installment"),
    ("levies_breakdownsplit", "payment_id", "receipts_payment"),
    ("levies_breakdownsplit", "municipality_id", "core_municipality"),
    ("levies_installmentbreakdown", "installment_id", "levies_installment"),
    ("levies_installmentbreakdown", "municipality_id", "core_municipality"),
)


def _orphans(cur: Any, municipality_id: int | None, limit: int) -> list[LedgerProblem]:
    """Rows whose reference points at nothing (``orphan_reference``: table.column → id)."""
    found: list[LedgerProblem] = []
    for table, column, target in UNENFORCED_REFERENCES:
        if len(found) >= limit:
            break
        where = "AND r.municipality_id = %s" if municipality_id else ""
        cur.execute(
            f"""SELECT r.id, r.{column} FROM {table} r
                WHERE r.{column} IS NOT NULL {where}
                  AND NOT EXISTS (SELECT 1 FROM {target} x WHERE x.id = r.{column})""",  # noqa: S608 - constants
            [municipality_id] if municipality_id else [],
        )
        for row_id, ref in cur.fetchmany(limit - len(found)):
            found.append(LedgerProblem("orphan_reference", row_id, f"{table}.{column} → {ref} がありません"))
    return found


# --- checkpoints ---------------------------------------------------------------------------------------

VERIFY_LOCK = (0x63687368, 0x76657269)  # pg_advisory_lock key: one verifier at a time
LEVIED_SQL = ", ".join(f"'{k}'" for k in LEVIED_KINDS)
PAID_SQL = ", ".join(f"'{k}'" for k in PAID_KINDS)
PRINCIPAL_SQL = f"e.account = '{Account.RECEIVABLE.value}' AND e.component = '{Component.PRINCIPAL.value}'"


@dataclass(frozen=True)
class Watermark:
    """The highest ids issued (transaction, payment, entry): see the module docstring."""

    txn: int
    payment: int
    entry: int


@dataclass
class VerifyResult:
    mode: str  # full | incremental
    counts: dict[str, int]
    problems: list[dict[str, Any]]
    checkpoint: dict[str, Any] = field(default_factory=dict)
    note: str = ""

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        payload: dict[str, Any] = {"ok": self.ok, "mode": self.mode, **self.counts}
        payload["checkpoint"] = self.checkpoint
        if self.note:
            payload["note"] = self.note
        payload["problems"] = self.problems
        return payload


def _issued(cur: Any, table: str) -> int:
    if connection.vendor == "postgresql":
        cur.execute(
            f"SELECT CASE WHEN is_called THEN last_value ELSE last_value - 1 END FROM {id_sequence(table)}"
        )  # noqa: S608
    else:
        cur.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}")  # noqa: S608 - constant
    return int(cur.fetchone()[0])


def _open_transactions(cur: Any) -> set[tuple[Any, ...]]:
    """Other sessions of this database with a transaction open (pid, start): PostgreSQL only."""
    cur.execute("SELECT pg_stat_clear_snapshot()")  # pg_stat_activity is otherwise frozen per transaction
    cur.execute(
        """SELECT pid, xact_start FROM pg_stat_activity
           WHERE datname = current_database() AND pid <> pg_backend_pid()
             AND xact_start IS NOT NULL AND backend_type = 'client backend'"""
    )
    return set(cur.fetchall())


def _settle(wait_seconds: float) -> tuple[Watermark, bool]:
    """The watermark, and whether every writer that may hold an id at or below it has finished."""
    with connection.cursor() as cur:
        txn = _issued(cur, LedgerTransaction._meta.db_table)
        payment = _issued(cur, "receipts_payment")
        settled = True
        if connection.vendor == "postgresql":
            pending = _open_transactions(cur)
            deadline = time.monotonic() + wait_seconds
            while pending and time.monotonic() < deadline:
                time.sleep(0.2)
                pending &= _open_transactions(cur)
            settled = not pending
        entry = _issued(cur, LedgerEntry._meta.db_table)
    return Watermark(txn=txn, payment=payment, entry=entry), settled


@contextmanager
def _verifier() -> Iterator[None]:
    """One verifier at a time (PostgreSQL session advisory lock; SQLite serializes writers itself)."""
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cur:
        cur.execute("SELECT pg_advisory_lock(%s, %s)", list(VERIFY_LOCK))
    try:
        yield
    finally:
        with connection.cursor() as cur:
            cur.execute("SELECT pg_advisory_unlock(%s, %s)", list(VERIFY_LOCK))


@contextmanager
def _snapshot() -> Iterator[None]:
    """One consistent snapshot for every query of the run (REPEATABLE READ on PostgreSQL when the run is
    the outermost transaction; SQLite's transaction is one snapshot and holds the write lock)."""
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        if outermost and connection.vendor == "postgresql":
            with connection.cursor() as cur:
                cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        yield


def latest_checkpoint(municipality: Municipality) -> LedgerCheckpoint | None:
    return LedgerCheckpoint.objects.filter(municipality=municipality).order_by("-id").first()


def _record(
    municipality: Municipality, kind: str, mark: Watermark, counts: dict[str, int]
) -> LedgerCheckpoint:
    now = timezone.now()
    job = Job.objects.create(
        municipality=municipality,
        kind="verify-ledger",
        status=Job.Status.SUCCEEDED,
        finished_at=now,
        parameters={"mode": kind},
        counts=counts,
    )
    return LedgerCheckpoint.objects.create(
        municipality=municipality,
        kind=kind,
        through_txn_id=mark.txn,
        through_entry_id=mark.entry,
        through_payment_id=mark.payment,
        verified_at=now,
        job=job,
        counts=counts,
    )


def _describe(
    cp: LedgerCheckpoint | None, previous: LedgerCheckpoint | None, advanced: bool
) -> dict[str, Any]:
    return {
        "advanced": advanced,
        "through_txn_id": cp.through_txn_id if cp else previous.through_txn_id if previous else None,
        "previous_through_txn_id": previous.through_txn_id if previous else None,
        "id": cp.pk if cp else previous.pk if previous else None,
    }


def _scope(municipality: Municipality | None) -> list[Municipality]:
    return [municipality] if municipality is not None else list(Municipality.objects.order_by("pk"))


# --- the full check ------------------------------------------------------------------------------------


def verify_full(*, municipality: Municipality | None = None, wait_seconds: float = 300) -> VerifyResult:
    """Today's full check; when it finds nothing, a checkpoint per municipality and all their balances."""
    municipality_id = municipality.pk if municipality is not None else None
    # Fresh planner statistics first: after a large import the whole-table checks below would
    # otherwise be planned as nested loops over millions of rows (PostgreSQL; no-op on SQLite).
    analyze(LedgerTransaction, LedgerEntry, Installment)
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("ANALYZE receipts_payment")
    with _verifier():
        mark, settled = _settle(wait_seconds)
        with _snapshot():
            counts, found = ledger_problems(municipality_id=municipality_id)
            problems = [p.as_dict() for p in found] + payment_totals_problems(municipality_id)
            checkpoint: dict[str, Any] = {"advanced": False}
            if not problems and settled:
                for m in _scope(municipality):
                    previous = latest_checkpoint(m)
                    _refresh_balances(m, mark)
                    cp = _record(m, CheckKind.FULL, mark, counts)
                    checkpoint = _describe(cp, previous, True)
    note = "" if settled else "実行中の取引が終わらなかったため検証点を進めていません"
    return VerifyResult("full", counts, problems, checkpoint, note)


def _refresh_balances(municipality: Municipality, mark: Watermark) -> None:
    """All of a municipality's closing balances up to the watermark, from the caches just proved equal to
    the entries (one pass over the installments, not a second GROUP BY over the ledger): the cache
    less the movements of the few visible transactions above the watermark."""
    m = municipality.pk
    with connection.cursor() as cur:
        cur.execute("DELETE FROM levies_verifiedbalance WHERE municipality_id = %s", [m])
        cur.execute(
            f"""INSERT INTO levies_verifiedbalance (installment_id, municipality_id, principal_levied,
                       principal_paid, principal_outstanding, through_txn_id)
                SELECT i.id, i.municipality_id, i.principal_levied - COALESCE(x.levied, 0),
                       i.principal_paid - COALESCE(x.paid, 0), i.principal_outstanding - COALESCE(x.total, 0), %s
                FROM levies_installment i
                LEFT JOIN (
                    SELECT e.installment_id,
                           SUM(CASE WHEN t.kind IN ({LEVIED_SQL}) THEN e.amount ELSE 0 END) AS levied,
                           -SUM(CASE WHEN t.kind IN ({PAID_SQL}) THEN e.amount ELSE 0 END) AS paid,
                           SUM(e.amount) AS total
                    FROM levies_ledgertransaction t JOIN levies_ledgerentry e ON e.txn_id = t.id
                    WHERE t.id > %s AND e.txn_id > %s AND {PRINCIPAL_SQL}
                    GROUP BY e.installment_id
                ) x ON x.installment_id = i.id
                WHERE i.municipality_id = %s""",  # noqa: S608 - constants
            [mark.txn, mark.txn, mark.txn, m],
        )


def forget_installments(installment_ids: Iterable[int]) -> int:
    """Drop the stored closing balances of these installments (the retention purge, before it deletes
    them, in its own transaction). Returns the number of rows deleted."""
    ids = list(installment_ids)
    deleted = 0
    for start in range(0, len(ids), 5000):
        deleted += VerifiedBalance.objects.filter(installment_id__in=ids[start : start + 5000]).delete()[0]
    return deleted


# --- the incremental check -----------------------------------------------------------------------------


def verify_incremental(
    *, municipality: Municipality | None = None, wait_seconds: float = 300
) -> VerifyResult:
    """What was posted since each municipality's latest checkpoint (module docstring).

    Without a checkpoint for a municipality of the scope there is nothing to start from: the full check
    runs instead (``mode = "full"``, with a note) and records the first checkpoint.
    """
    scope = _scope(municipality)
    previous = {m.pk: latest_checkpoint(m) for m in scope}
    if any(cp is None for cp in previous.values()):
        result = verify_full(municipality=municipality, wait_seconds=wait_seconds)
        result.note = "検証点がないため全件検証を行いました" + (f"（{result.note}）" if result.note else "")
        return result
    counts = {"transactions": 0, "entries": 0, "installments": 0, "payments": 0}
    problems: list[dict[str, Any]] = []
    checkpoint: dict[str, Any] = {"advanced": False}
    with _verifier():
        mark, settled = _settle(wait_seconds)
        with _snapshot():
            # Re-read inside the lock and the snapshot: another verifier may have advanced meanwhile.
            fresh = {m.pk: latest_checkpoint(m) for m in scope}
            _create_temp()
            for m in scope:
                cp = fresh[m.pk]
                assert cp is not None  # a checkpoint is never deleted
                n, found = _incremental_one(m, cp, mark, LIMIT - len(problems))
                for key, value in n.items():
                    counts[key] += value
                problems.extend(found)
            if municipality is None and len(problems) < LIMIT:
                floor = min(cp.through_txn_id for cp in fresh.values() if cp is not None) if fresh else 0
                problems.extend(_unknown_municipality(floor, mark, LIMIT - len(problems)))
            if not problems and settled:
                for m in scope:
                    cp = fresh[m.pk]
                    assert cp is not None
                    ahead = _ahead(mark, cp)
                    if ahead.txn > cp.through_txn_id or ahead.payment > cp.through_payment_id:
                        _advance_balances(m, ahead)
                        new = _record(m, CheckKind.INCREMENTAL, ahead, counts)
                        checkpoint = _describe(new, cp, True)
                    else:
                        checkpoint = _describe(None, cp, False)
            elif scope:
                checkpoint = _describe(None, fresh[scope[-1].pk], False)
            _drop_temp()
    note = "" if settled else "実行中の取引が終わらなかったため検証点を進めていません"
    return VerifyResult("incremental", counts, problems[:LIMIT], checkpoint, note)


MOVES = "choshu_verify_moves"
CANDIDATES = "choshu_verify_payments"


def _ahead(mark: Watermark, cp: LedgerCheckpoint) -> Watermark:
    """The watermark never goes back (SQLite's MAX(id) can, after a purge of the highest rows)."""
    return Watermark(
        txn=max(mark.txn, cp.through_txn_id),
        payment=max(mark.payment, cp.through_payment_id),
        entry=max(mark.entry, cp.through_entry_id),
    )


def _drop_temp() -> None:
    with connection.cursor() as cur:
        for table in (MOVES, CANDIDATES):
            cur.execute(f"DROP TABLE IF EXISTS {table}")


def _create_temp() -> None:
    _drop_temp()
    with connection.cursor() as cur:
        cur.execute(
            f"""CREATE TEMP TABLE {MOVES} (installment_id bigint PRIMARY KEY, municipality_id bigint,
                    levied bigint, paid bigint, total bigint,
                    levied_closed bigint, paid_closed bigint, total_closed bigint)"""
        )
        cur.execute(f"CREATE TEMP TABLE {CANDIDATES} (id bigint PRIMARY KEY, municipality_id bigint)")


def _incremental_one(
    municipality: Municipality, cp: LedgerCheckpoint, mark: Watermark, limit: int
) -> tuple[dict[str, int], list[dict[str, Any]]]:
    m = municipality.pk
    h = cp.through_txn_id
    mark = _ahead(mark, cp)
    problems: list[dict[str, Any]] = []

    def add(kind: str, rows: Iterable[tuple[Any, ...]], detail: Any) -> None:
        for row in rows:
            if len(problems) < limit:
                problems.append({"kind": kind, "id": row[0], "detail": detail(*row)})

    with connection.cursor() as cur:
        # What is new: the transactions above the checkpoint (primary key range) and their entries
        # (LedgerEntry.txn_id index).
        cur.execute(
            """SELECT COUNT(DISTINCT t.id), COUNT(e.id)
               FROM levies_ledgertransaction t LEFT JOIN levies_ledgerentry e ON e.txn_id = t.id AND e.txn_id > %s
               WHERE t.id > %s AND t.municipality_id = %s""",
            [h, h, m],
        )
        n_txn, n_entries = cur.fetchone()
        cur.execute(
            """SELECT t.id, COALESCE(SUM(e.amount), 0), COUNT(e.id)
               FROM levies_ledgertransaction t LEFT JOIN levies_ledgerentry e ON e.txn_id = t.id AND e.txn_id > %s
               WHERE t.id > %s AND t.municipality_id = %s
               GROUP BY t.id
               HAVING COALESCE(SUM(e.amount), 0) <> 0 OR COUNT(e.id) < 2
                   OR SUM(CASE WHEN e.municipality_id <> t.municipality_id THEN 1 ELSE 0 END) > 0""",
            [h, h, m],
        )
        add("unbalanced_transaction", cur.fetchmany(limit), lambda _, s, c: f"sum={s} entries={c}")
        # Append-only: no entry may join a transaction a checkpoint already proved.
        cur.execute(
            """SELECT e.id, e.txn_id FROM levies_ledgerentry e
               WHERE e.id > %s AND e.txn_id <= %s AND e.municipality_id = %s""",
            [cp.through_entry_id, h, m],
        )
        add(
            "entry_after_checkpoint",
            cur.fetchmany(limit),
            lambda _, t: f"検証済みの取引 {t} に明細が追加されています",
        )

        # Principal movements of the new entries per installment; the part up to the watermark closes
        # the next checkpoint's balances.
        cur.execute(
            f"""INSERT INTO {MOVES}
                SELECT e.installment_id, %s,
                       SUM(CASE WHEN t.kind IN ({LEVIED_SQL}) THEN e.amount ELSE 0 END),
                       -SUM(CASE WHEN t.kind IN ({PAID_SQL}) THEN e.amount ELSE 0 END),
                       SUM(e.amount),
                       SUM(CASE WHEN t.kind IN ({LEVIED_SQL}) AND t.id <= %s THEN e.amount ELSE 0 END),
                       -SUM(CASE WHEN t.kind IN ({PAID_SQL}) AND t.id <= %s THEN e.amount ELSE 0 END),
                       SUM(CASE WHEN t.id <= %s THEN e.amount ELSE 0 END)
                FROM levies_ledgertransaction t JOIN levies_ledgerentry e ON e.txn_id = t.id
                WHERE t.id > %s AND e.txn_id > %s AND t.municipality_id = %s
                  AND e.installment_id IS NOT NULL AND {PRINCIPAL_SQL}
                GROUP BY e.installment_id""",  # noqa: S608 - constants
            [m, mark.txn, mark.txn, mark.txn, h, h, m],
        )
        cur.execute(f"SELECT COUNT(*) FROM {MOVES} WHERE municipality_id = %s", [m])  # noqa: S608
        n_inst = cur.fetchone()[0]
        cur.execute(
            f"""SELECT i.id, i.principal_levied, i.principal_paid, i.principal_outstanding,
                       COALESCE(v.principal_levied, 0) + x.levied, COALESCE(v.principal_paid, 0) + x.paid,
                       COALESCE(v.principal_outstanding, 0) + x.total
                FROM {MOVES} x JOIN levies_installment i ON i.id = x.installment_id
                LEFT JOIN levies_verifiedbalance v ON v.installment_id = x.installment_id
                WHERE x.municipality_id = %s
                  AND (i.principal_levied <> COALESCE(v.principal_levied, 0) + x.levied
                       OR i.principal_paid <> COALESCE(v.principal_paid, 0) + x.paid
                       OR i.principal_outstanding <> COALESCE(v.principal_outstanding, 0) + x.total)""",  # noqa: S608
            [m],
        )
        add(
            "cache_mismatch",
            cur.fetchmany(max(limit - len(problems), 0)),
            lambda _, cl, cp_, co, sl, sp, so: (
                f"levied {cl}≠{sl}"
                if cl != sl
                else f"paid {cp_}≠{sp}"
                if cp_ != sp
                else f"outstanding {co}≠{so}"
            ),
        )

        # The breakdown of the installments the new entries touched (every split is written with a
        # principal movement, so every new split's installment is among them).
        touched = (
            f"{{a}}.installment_id IN (SELECT x.installment_id FROM {MOVES} x WHERE x.municipality_id = %s)"
        )
        problems.extend(
            p.as_dict() for p in breakdown_problems(cur, touched, [m], max(limit - len(problems), 0))
        )

        # Payments to check: created since (primary key range), named by a new entry, or reversed by a
        # new transaction (partial index payment_reversal_idx).
        cur.execute(
            f"""INSERT INTO {CANDIDATES}
                SELECT u.id, %s FROM (
                SELECT p.id FROM receipts_payment p WHERE p.id > %s AND p.municipality_id = %s
                UNION SELECT e.payment_id FROM levies_ledgerentry e
                      WHERE e.txn_id > %s AND e.payment_id IS NOT NULL AND e.municipality_id = %s
                UNION SELECT p.id FROM receipts_payment p WHERE p.reversal_txn_id > %s AND p.municipality_id = %s
                ) u""",  # noqa: S608
            [m, cp.through_payment_id, m, h, m, h, m],
        )
        cur.execute(
            f"SELECT COUNT(*) FROM {CANDIDATES} c JOIN receipts_payment p ON p.id = c.id WHERE c.municipality_id = %s",  # noqa: S608
            [m],
        )
        n_pay = cur.fetchone()[0]
        # Per payment, whatever the shape of its transaction: its own non-cash entries place its amount.
        cur.execute(
            f"""SELECT p.id, p.amount, p.allocated, p.overpaid, p.suspended, COALESCE(-placed.total, 0)
                FROM {CANDIDATES} c JOIN receipts_payment p ON p.id = c.id
                LEFT JOIN (SELECT e.payment_id, e.txn_id, SUM(e.amount) AS total FROM levies_ledgerentry e
                           WHERE e.txn_id IN (SELECT p2.txn_id FROM {CANDIDATES} c2
                                              JOIN receipts_payment p2 ON p2.id = c2.id
                                              WHERE c2.municipality_id = %s)
                             AND e.payment_id IS NOT NULL AND e.account <> '{Account.CASH.value}'
                           GROUP BY e.payment_id, e.txn_id) placed
                       ON placed.payment_id = p.id AND placed.txn_id = p.txn_id
                WHERE c.municipality_id = %s AND p.txn_id IS NOT NULL
                  AND (p.allocated + p.overpaid + p.suspended <> p.amount
                       OR COALESCE(-placed.total, 0) <> p.amount)""",  # noqa: S608
            [m, m],
        )
        add(
            "payment_split",
            cur.fetchmany(max(limit - len(problems), 0)),
            lambda _, amount, a, o, s, placed: (
                f"amount {amount} allocated {a} overpaid {o} suspended {s} placed {placed}"
            ),
        )
        # Per new payment transaction: its cash = the amounts of its payments (one, or a fast lane's
        # group: all of them are new, or named by its entries, so all are candidates).
        cur.execute(
            f"""SELECT paid.txn_id, paid.amount, COALESCE(cash.amount, 0)
                FROM (SELECT p.txn_id, SUM(p.amount) AS amount FROM {CANDIDATES} c
                      JOIN receipts_payment p ON p.id = c.id
                      WHERE c.municipality_id = %s AND p.txn_id > %s GROUP BY p.txn_id) paid
                LEFT JOIN (SELECT e.txn_id, SUM(e.amount) AS amount FROM levies_ledgerentry e
                           WHERE e.txn_id > %s AND e.account = '{Account.CASH.value}' GROUP BY e.txn_id) cash
                       ON cash.txn_id = paid.txn_id
                WHERE COALESCE(cash.amount, 0) <> paid.amount""",  # noqa: S608
            [m, h, h],
        )
        add(
            "payment_cash",
            cur.fetchmany(max(limit - len(problems), 0)),
            lambda _, p, c: f"payments {p} cash {c}",
        )
        problems.extend(_new_orphans(cur, m, cp, max(limit - len(problems), 0)))
    counts = {"transactions": n_txn, "entries": n_entries, "installments": n_inst, "payments": n_pay}
    return counts, problems


# The new rows of each table whose unenforced references are proven (UNENFORCED_REFERENCES): the new
# transactions and their entries by transaction id, the new payments by id and the payments reversed
# since by their reversal transaction.
NEW_ROWS = {
    "levies_ledgerentry": "r.txn_id > %(txn)s",
    "levies_breakdownsplit": "r.txn_id > %(txn)s",
    "levies_installmentbreakdown": f"r.installment_id IN (SELECT x.installment_id FROM {MOVES} x)",
    "levies_ledgertransaction": "r.id > %(txn)s",
    "receipts_payment": "(r.id > %(payment)s OR r.reversal_txn_id > %(txn)s)",
}


def _new_orphans(cur: Any, municipality_id: int, cp: LedgerCheckpoint, limit: int) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    params = {"txn": cp.through_txn_id, "payment": cp.through_payment_id, "m": municipality_id}
    for table, column, target in UNENFORCED_REFERENCES:
        if len(found) >= limit:
            break
        if column == "municipality_id":
            continue  # the rows are selected by it; rows of no known municipality: _unknown_municipality
        cur.execute(
            f"""SELECT r.id, r.{column} FROM {table} r
                WHERE {NEW_ROWS[table]} AND r.municipality_id = %(m)s AND r.{column} IS NOT NULL
                  AND NOT EXISTS (SELECT 1 FROM {target} x WHERE x.id = r.{column})""",  # noqa: S608 - constants
            params,
        )
        for row_id, ref in cur.fetchmany(limit - len(found)):
            found.append(
                LedgerProblem("orphan_reference", row_id, f"{table}.{column} → {ref} がありません").as_dict()
            )
    return found


def _unknown_municipality(floor: int, mark: Watermark, limit: int) -> list[dict[str, Any]]:
    """Whole-installation runs: new rows whose municipality does not exist (no checkpoint covers them)."""
    found: list[dict[str, Any]] = []
    with connection.cursor() as cur:
        for table, where in (
            ("levies_ledgertransaction", "r.id > %s"),
            ("levies_ledgerentry", "r.txn_id > %s"),
        ):
            cur.execute(
                f"""SELECT r.id, r.municipality_id FROM {table} r WHERE {where}
                    AND NOT EXISTS (SELECT 1 FROM core_municipality x WHERE x.id = r.municipality_id)""",  # noqa: S608
                [floor],
            )
            for row_id, ref in cur.fetchmany(max(limit - len(found), 0)):
                found.append(
                    LedgerProblem(
                        "orphan_reference", row_id, f"{table}.municipality_id → {ref} がありません"
                    ).as_dict()
                )
    return found


def _advance_balances(municipality: Municipality, mark: Watermark) -> None:
    """Upsert the closing balances (up to the new watermark) of the installments the new entries touched."""
    with connection.cursor() as cur:
        cur.execute(
            f"""INSERT INTO levies_verifiedbalance (installment_id, municipality_id, principal_levied,
                       principal_paid, principal_outstanding, through_txn_id)
                SELECT x.installment_id, i.municipality_id, COALESCE(v.principal_levied, 0) + x.levied_closed,
                       COALESCE(v.principal_paid, 0) + x.paid_closed,
                       COALESCE(v.principal_outstanding, 0) + x.total_closed, %s
                FROM {MOVES} x JOIN levies_installment i ON i.id = x.installment_id
                LEFT JOIN levies_verifiedbalance v ON v.installment_id = x.installment_id
                WHERE x.municipality_id = %s
                  AND (x.levied_closed <> 0 OR x.paid_closed <> 0 OR x.total_closed <> 0)
                ON CONFLICT (installment_id) DO UPDATE SET
                    principal_levied = excluded.principal_levied,
                    principal_paid = excluded.principal_paid,
                    principal_outstanding = excluded.principal_outstanding,
                    through_txn_id = excluded.through_txn_id""",  # noqa: S608 - constants
            [mark.txn, municipality.pk],
        )


# --- payments (receipts_payment is read by table: the ledger knows the payments that name it) -------


def payment_totals_problems(municipality_id: int | None = None, limit: int = 1000) -> list[dict[str, Any]]:
    """Every payment with a transaction: allocated + overpaid + suspended = amount = what its own
    transaction places (credits to the receivable, late charge, overpayment and suspense accounts), and
    that transaction's cash is the payment's amount and belongs to no other payment."""
    where = "AND p.municipality_id = %s" if municipality_id else ""
    params = [municipality_id] if municipality_id else []
    with connection.cursor() as cur:
        cur.execute(
            f"""SELECT p.id, p.amount, p.allocated, p.overpaid, p.suspended, COALESCE(-placed.total, 0),
                       COALESCE(placed.cash, 0), COALESCE(placed.others, 0)
                FROM receipts_payment p
                LEFT JOIN (SELECT e.txn_id,
                                  SUM(CASE WHEN e.account <> 'cash' THEN e.amount ELSE 0 END) AS total,
                                  SUM(CASE WHEN e.account = 'cash' THEN e.amount ELSE 0 END) AS cash,
                                  SUM(CASE WHEN e.payment_id <> p2.id THEN 1 ELSE 0 END) AS others
                           FROM levies_ledgerentry e JOIN receipts_payment p2 ON p2.txn_id = e.txn_id
                           GROUP BY e.txn_id) placed ON placed.txn_id = p.txn_id
                WHERE p.txn_id IS NOT NULL {where}
                  AND (p.allocated + p.overpaid + p.suspended <> p.amount
                       OR COALESCE(-placed.total, 0) <> p.amount OR COALESCE(placed.cash, 0) <> p.amount
                       OR COALESCE(placed.others, 0) <> 0)""",  # noqa: S608
            params,
        )
        rows = cur.fetchmany(limit)
    return [
        {
            "kind": "payment_split",
            "id": pk,
            "detail": f"amount {amount} allocated {a} overpaid {o} suspended {s} placed {placed} cash {cash}"
            + (f" entries of other payments {others}" if others else ""),
        }
        for pk, amount, a, o, s, placed, cash, others in rows
    ]
