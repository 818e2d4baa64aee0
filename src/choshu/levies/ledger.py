"""The double-entry ledger: the only code that writes ``LedgerTransaction``, ``LedgerEntry`` and
``BreakdownSplit``.

Every posting sums to zero (checked here, before anything is written) and updates the installment's
cached amounts in the same database transaction. A principal movement of a paid kind (``PAID_KINDS``)
on an installment with a breakdown (``InstallmentBreakdown``) is split over its components by the rule
of ``rules.breakdown`` in the same transaction: the splits are stored (``BreakdownSplit``, with the
entry's payment) and the components' ``paid`` updated — never recomputed later.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from choshu.core.bulk import add_to_columns, copy_rows, insert_rows, reserve_id_block
from choshu.core.models import Job, Municipality
from choshu.levies.models import (
    Account,
    BreakdownSplit,
    Component,
    Installment,
    InstallmentBreakdown,
    LedgerEntry,
    LedgerTransaction,
    TxnKind,
)
from choshu.rules.breakdown import SPLIT_BASE

# Which transaction kinds count as "levied" and which as "paid" for an installment's principal.
LEVIED_KINDS = (TxnKind.LEVY, TxnKind.CORRECTION)
PAID_KINDS = (
    TxnKind.PAYMENT,
    TxnKind.PAYMENT_REVERSAL,
    TxnKind.SUSPENSE_ASSIGN,
    TxnKind.APPROPRIATION,
    TxnKind.OVERPAYMENT,
)


class UnbalancedTransaction(ValueError):
    pass


class StaleBalance(RuntimeError):
    """An installment's cached amounts changed between the caller's read and the posting (a counter
    receipt committed at the same moment): nothing is kept; running the batch again is safe."""


@dataclass(frozen=True)
class Leg:
    """One entry to post: account, signed yen, and the installment / taxpayer it belongs to.

    Batch paths pass ``installment_id`` (and ``taxpayer_id``) instead of model instances.
    """

    account: Account
    amount: int
    component: Component = Component.NONE
    installment: Installment | None = None
    taxpayer_id: int | None = None
    installment_id: int | None = None

    @property
    def inst_id(self) -> int | None:
        return self.installment.pk if self.installment is not None else self.installment_id

    @property
    def owner_id(self) -> int | None:
        if self.taxpayer_id is not None:
            return self.taxpayer_id
        return self.installment.taxpayer_id if self.installment is not None else None


@dataclass(frozen=True)
class Posting:
    kind: TxnKind
    legal_date: date
    booking_date: date
    legs: Sequence[Leg]
    memo: str = ""
    payment_id: int | None = None  # the payment every entry belongs to (LedgerEntry.payment)


def _check_balanced(legs: Sequence[Leg]) -> None:
    if not legs:
        raise UnbalancedTransaction("空の取引は記帳できません")
    if any(not isinstance(leg.account, Account) or not isinstance(leg.component, Component) for leg in legs):
        raise TypeError("勘定科目は Account / Component で指定してください")
    if any(not isinstance(leg.amount, int) or isinstance(leg.amount, bool) for leg in legs):
        raise TypeError("金額は整数(円)でなければなりません")
    total = sum(leg.amount for leg in legs)
    if total != 0:
        raise UnbalancedTransaction(f"貸借が一致しません（差額 {total} 円）")


MEMO_MAX = 200  # LedgerTransaction.memo; a staff reason can be longer (it is kept whole in the audit log)
TXN_COLUMNS = ("id", "municipality_id", "kind", "legal_date", "booking_date", "recorded_at", "actor_id", "job_id",
               "reverses_id", "memo")  # fmt: skip
ENTRY_COLUMNS = (
    "id",
    "municipality_id",
    "txn_id",
    "account",
    "component",
    "installment_id",
    "taxpayer_id",
    "amount",
    "payment_id",
)
CACHE_COLUMNS = ("principal_levied", "principal_paid", "principal_outstanding")


def post_many(
    *, municipality: Municipality, postings: Sequence[Posting], actor: Any = None, job: Job | None = None
) -> list[int]:
    """Post many balanced transactions at once (batch imports) with set-based inserts.

    Ids come from the sequences (``reserve_id_block``), rows go in with COPY on PostgreSQL, and the
    installments' cached amounts are incremented in one statement. Returns the transaction ids.
    """
    for p in postings:
        _check_balanced(p.legs)
    if not postings:
        return []
    now = timezone.now()
    user_id = actor.pk if getattr(actor, "is_authenticated", False) else None
    job_id = job.pk if job is not None else None
    with transaction.atomic():
        txn_ids = reserve_id_block(LedgerTransaction, len(postings))
        entry_ids = iter(reserve_id_block(LedgerEntry, sum(len(p.legs) for p in postings)))
        insert_rows(
            LedgerTransaction,
            TXN_COLUMNS,
            [
                (
                    tid,
                    municipality.pk,
                    p.kind,
                    p.legal_date,
                    p.booking_date,
                    now,
                    user_id,
                    job_id,
                    None,
                    p.memo[:MEMO_MAX],
                )
                for tid, p in zip(txn_ids, postings, strict=True)
            ],
        )
        insert_rows(
            LedgerEntry,
            ENTRY_COLUMNS,
            [
                (
                    next(entry_ids),
                    municipality.pk,
                    tid,
                    leg.account,
                    leg.component,
                    leg.inst_id,
                    leg.owner_id,
                    leg.amount,
                    p.payment_id,
                )
                for tid, p in zip(txn_ids, postings, strict=True)
                for leg in p.legs
            ],
        )
        _update_cache([(p.kind, leg) for p in postings for leg in p.legs])
        _split_postings(municipality.pk, txn_ids, postings)
    return txn_ids


def post(
    *,
    municipality: Municipality,
    kind: TxnKind,
    legal_date: date,
    booking_date: date,
    legs: Sequence[Leg],
    actor: Any = None,
    job: Job | None = None,
    memo: str = "",
) -> LedgerTransaction:
    """Post one balanced transaction (``post_many`` with one posting) and return it."""
    [txn_id] = post_many(
        municipality=municipality,
        postings=[Posting(kind=kind, legal_date=legal_date, booking_date=booking_date, legs=legs, memo=memo)],
        actor=actor,
        job=job,
    )
    return LedgerTransaction.objects.get(pk=txn_id)


def cache_deltas(legs: Sequence[tuple[str, Leg]]) -> dict[int, list[int]]:
    """(levied, paid, outstanding) changes per installment implied by principal movements."""
    deltas: dict[int, list[int]] = {}
    for kind, leg in legs:
        inst_id = leg.inst_id
        if inst_id is None or leg.account != Account.RECEIVABLE or leg.component != Component.PRINCIPAL:
            continue
        d = deltas.setdefault(inst_id, [0, 0, 0])
        d[2] += leg.amount
        if kind in LEVIED_KINDS:
            d[0] += leg.amount
        elif kind in PAID_KINDS:
            d[1] -= leg.amount
    return deltas


def _update_cache(legs: Sequence[tuple[str, Leg]]) -> None:
    """Increment the installments' cached amounts in the database (and in any instances passed in)."""
    deltas = cache_deltas(legs)
    add_to_columns(Installment, CACHE_COLUMNS, deltas)
    seen: set[int] = set()
    for _, leg in legs:
        inst = leg.installment
        if inst is not None and inst.pk in deltas and id(inst) not in seen:
            seen.add(id(inst))
            dl, dp, do = deltas[inst.pk]
            inst.principal_levied += dl
            inst.principal_paid += dp
            inst.principal_outstanding += do


# --- set-based posting from the caller's temporary tables ---------------------------------------------

BATCH_ENTRIES = "choshu_ledger_batch"
BATCH_DELTA = f"{BATCH_ENTRIES}_delta"  # the batch's changes per installment (one row each)
ENTRY_SELECT_COLUMNS = ("kind", "txn_id", "account", "component", "installment_id", "taxpayer_id", "payment_id",
                        "amount")  # fmt: skip
"""What the ``entries`` SELECT of :func:`post_selected` yields, in this order (``kind`` is the
transaction's kind: it says whether a principal movement is levied or paid)."""


def post_selected(
    *,
    municipality_id: int,
    txns: str,
    entries: str,
    params: Any = None,
    recorded_at: Any,
    actor_id: int | None,
    job_id: int | None,
    expected: str | None = None,
) -> int:
    """Post many transactions described by SELECTs over the caller's (temporary) tables.

    ``txns`` yields ``(id, kind, legal_date, booking_date, memo, reverses_id)`` — ids drawn by the
    caller from the table's sequence (``core.bulk.IdDrawer``); ``entries`` yields
    ``ENTRY_SELECT_COLUMNS``. Every transaction is checked before its entries are written: it sums to
    zero, has two entries or more, and only known accounts and components (a failure rolls back the
    caller's transaction, so nothing of the batch is kept). ``expected`` yields
    ``(installment_id, principal_outstanding)`` as the caller read them: an installment whose cache
    has changed since raises :class:`StaleBalance`. Returns the number of transactions posted.
    """
    p = params if params is not None else {}
    with connection.cursor() as raw:
        cur = _Timed(raw, LAST_TIMINGS)
        LAST_TIMINGS.clear()
        cur.execute(f"DROP TABLE IF EXISTS {BATCH_ENTRIES}")
        cur.execute(f"CREATE TEMP TABLE {BATCH_ENTRIES} AS {entries}", p)  # noqa: S608 - caller's SQL
        # The transactions are inserted first and counted by the insert itself; the check below runs
        # before anything else is written, in the same database transaction (a failure rolls all back).
        cur.execute(
            f"""INSERT INTO levies_ledgertransaction (id, municipality_id, kind, legal_date, booking_date,
                    recorded_at, actor_id, job_id, reverses_id, memo)
                SELECT t.id, %(m)s, t.kind, t.legal_date, t.booking_date, %(now)s, %(actor)s, %(job)s,
                       t.reverses_id, SUBSTR(t.memo, 1, {MEMO_MAX})
                FROM ({txns}) t""",  # noqa: S608
            {
                **(p if isinstance(p, dict) else {}),
                "m": municipality_id,
                "now": recorded_at,
                "actor": actor_id,
                "job": job_id,
            },  # fmt: skip
        )
        n_txns = cur.rowcount
        _check_batch(cur, n_txns)
        cur.execute(
            f"""INSERT INTO levies_ledgerentry (municipality_id, txn_id, account, component, installment_id,
                    taxpayer_id, payment_id, amount)
                SELECT %s, txn_id, account, component, installment_id, taxpayer_id, payment_id, amount
                FROM {BATCH_ENTRIES}""",  # noqa: S608
            [municipality_id],
        )
        _update_caches_from_batch(cur, expected, p)
        _split_batch(cur, municipality_id)
        cur.execute(f"DROP TABLE {BATCH_DELTA}")
        cur.execute(f"DROP TABLE {BATCH_ENTRIES}")
    return n_txns


LAST_TIMINGS: dict[str, float] = {}
"""Seconds per statement of the last ``post_selected`` (by its first words), for the import's phase log."""


class _Timed:
    """A cursor that adds each statement's seconds to ``timings`` (keyed by its first words)."""

    def __init__(self, cur: Any, timings: dict[str, float]) -> None:
        self.cur = cur
        self.timings = timings

    def execute(self, sql: str, params: Any = None) -> None:
        started = time.monotonic()
        self.cur.execute(sql, params)
        words = sql.split()
        label = " ".join(words[: 4 if words[0] in ("CREATE", "DROP") else 3])
        self.timings[label] = round(self.timings.get(label, 0.0) + time.monotonic() - started, 2)

    def fetchone(self) -> Any:
        return self.cur.fetchone()

    @property
    def rowcount(self) -> int:
        return int(self.cur.rowcount)


def _check_batch(cur: Any, n_txns: int) -> None:
    accounts = ", ".join(f"'{a.value}'" for a in Account)
    components = ", ".join(f"'{c.value}'" for c in Component)
    cur.execute(
        f"""SELECT COUNT(*), COALESCE(SUM(CASE WHEN total <> 0 OR n < 2 OR bad > 0 THEN 1 ELSE 0 END), 0),
                   MIN(CASE WHEN total <> 0 OR n < 2 OR bad > 0 THEN txn_id END)
            FROM (SELECT txn_id, SUM(amount) AS total, COUNT(*) AS n,
                         SUM(CASE WHEN account IN ({accounts}) AND component IN ({components}) THEN 0 ELSE 1 END)
                         AS bad
                  FROM {BATCH_ENTRIES} GROUP BY txn_id) g"""  # noqa: S608 - constants only
    )
    groups, bad, first = cur.fetchone()
    if bad:
        raise UnbalancedTransaction(
            f"貸借が一致しない、明細が2行未満、または不明な勘定の取引が {bad} 件あります（例: 取引 {first}）"
        )
    if groups != n_txns:
        raise UnbalancedTransaction(
            f"明細のない取引があります（取引 {n_txns} 件、明細のある取引 {groups} 件）"
        )


def _update_caches_from_batch(cur: Any, expected: str | None, params: Any) -> None:
    """The installments' cached amounts, from the batch's principal movements, in one statement (the
    delta table ``BATCH_DELTA`` stays for the breakdown's probe; ``post_selected`` drops it)."""
    levied = ", ".join(f"'{k.value}'" for k in LEVIED_KINDS)
    paid = ", ".join(f"'{k.value}'" for k in PAID_KINDS)
    delta = BATCH_DELTA
    cur.execute(f"DROP TABLE IF EXISTS {delta}")
    # The expected amounts (as the caller read them) joined in the same statement.
    known = f"LEFT JOIN ({expected}) x ON x.installment_id = g.installment_id" if expected is not None else ""
    cur.execute(
        f"""CREATE TEMP TABLE {delta} AS
            SELECT g.installment_id, g.levied, g.paid, g.outstanding,
                   {"x.principal_outstanding" if expected is not None else "CAST(NULL AS bigint)"} AS expected
            FROM (SELECT installment_id,
                         SUM(CASE WHEN kind IN ({levied}) THEN amount ELSE 0 END) AS levied,
                         SUM(CASE WHEN kind IN ({paid}) THEN -amount ELSE 0 END) AS paid,
                         SUM(amount) AS outstanding
                  FROM {BATCH_ENTRIES}
                  WHERE account = '{Account.RECEIVABLE.value}' AND component = '{Component.PRINCIPAL.value}'
                    AND installment_id IS NOT NULL
                  GROUP BY installment_id) g
            {known}""",  # noqa: S608 - constants and the caller's SQL
        params,
    )
    wanted = cur.rowcount
    if wanted < 0:  # SQLite does not count the rows of CREATE TABLE … AS
        cur.execute(f"SELECT COUNT(*) FROM {delta}")  # noqa: S608
        wanted = int(cur.fetchone()[0])
    check = ""
    if expected is not None:
        check = "AND (d.expected IS NULL OR levies_installment.principal_outstanding = d.expected)"
    cur.execute(
        f"""UPDATE levies_installment
            SET principal_levied = principal_levied + d.levied, principal_paid = principal_paid + d.paid,
                principal_outstanding = principal_outstanding + d.outstanding
            FROM {delta} d WHERE levies_installment.id = d.installment_id {check}"""  # noqa: S608
    )
    updated = cur.rowcount
    if updated != wanted:
        raise StaleBalance(
            "記帳中に期別の収納状況が変わりました（窓口収納などと同時）。何も記録していません。もう一度実行してください"
        )


# --- the breakdown of principal movements (内訳按分, docs/rules.md "Breakdown") ---------------------------

SPLIT_MOVES = "choshu_ledger_split_moves"
SPLIT_INSTALLMENTS = "choshu_ledger_split_installments"
SPLITS = "choshu_ledger_splits"
MOVE_COLUMNS = ("txn_id", "installment_id", "payment_id", "delta")


def floor_share_sql(c: str, share: str, total: str, vendor: str | None = None) -> str:
    """SQL for ``floor(c × share / total)`` (``0 ≤ share ≤ total``, ``total > 0``), exact on both databases.

    PostgreSQL computes in ``numeric`` (exact for any bigint). SQLite has 64-bit integers only (an
    overflowing product becomes a float): it uses the decomposition of
    ``rules.breakdown.floor_mul_div_split``, exact while ``total`` ≤ ``SQLITE_EXACT_LIMIT`` (3 兆円).
    The arguments are SQL expressions (column names); they are repeated in the result.
    """
    if (vendor or connection.vendor) == "postgresql":
        product = f"(CAST({c} AS numeric) * {share})"
        return f"CAST(div({product}, {total}) - CASE WHEN mod({product}, {total}) < 0 THEN 1 ELSE 0 END AS bigint)"
    base = SPLIT_BASE
    a = f"ABS({c})"
    r = f"({a} % {total})"
    hi, lo = f"({share} / {base})", f"({share} % {base})"
    tail = f"((({r} * {hi}) % {total}) * {base} + {r} * {lo})"
    whole = f"(({a} / {total}) * {share} + (({r} * {hi}) / {total}) * {base} + {tail} / {total})"
    return f"(CASE WHEN {c} >= 0 THEN {whole} ELSE -{whole} - CASE WHEN {tail} % {total} <> 0 THEN 1 ELSE 0 END END)"


def _component_paid_sql(c: str) -> str:
    """``f_i(c)`` before the main component's remainder: 0 for the main one (and when nothing is levied)."""
    return (
        f"CASE WHEN y.is_main = 1 OR y.total <= 0 THEN 0 ELSE {floor_share_sql(c, 'y.levied', 'y.total')} END"
    )


def _create_moves(cur: Any) -> None:
    cur.execute(f"DROP TABLE IF EXISTS {SPLIT_MOVES}")
    cur.execute(
        f"""CREATE TEMP TABLE {SPLIT_MOVES} (txn_id bigint NOT NULL, installment_id bigint NOT NULL,
            payment_id bigint, delta bigint NOT NULL)"""
    )


def _split_postings(municipality_id: int, txn_ids: Sequence[int], postings: Sequence[Posting]) -> None:
    """``post_many``: the principal movements of its paid postings, split where the installment has a
    breakdown (one indexed look-up decides that; nothing more is done for installments without one)."""
    moves: dict[tuple[int, int, int | None], int] = {}
    for tid, p in zip(txn_ids, postings, strict=True):
        if p.kind not in PAID_KINDS:
            continue
        for leg in p.legs:
            inst_id = leg.inst_id
            if inst_id is None or leg.account != Account.RECEIVABLE or leg.component != Component.PRINCIPAL:
                continue
            key = (tid, inst_id, p.payment_id)
            moves[key] = moves.get(key, 0) - leg.amount
    if not moves:
        return
    with_breakdown = set(
        InstallmentBreakdown.objects.filter(installment_id__in={k[1] for k in moves})
        .values_list("installment_id", flat=True)
        .distinct()
    )
    rows = [(*key, delta) for key, delta in moves.items() if key[1] in with_breakdown]
    if not rows:
        return
    with connection.cursor() as cur:
        _create_moves(cur)
        copy_rows(SPLIT_MOVES, MOVE_COLUMNS, rows)
        _write_splits(cur, municipality_id)
        cur.execute(f"DROP TABLE {SPLIT_MOVES}")


def _split_batch(cur: Any, municipality_id: int) -> None:
    """``post_selected``: the batch's principal movements on installments with a breakdown.

    First the batch's installments (the cache update's delta table, one row each) are probed one by one
    on the breakdown's index (a correlated aggregate: the planner cannot turn it into a join that reads
    the whole breakdown table, whose size is the city's). When none has a breakdown, that one statement,
    in proportion to the batch, is all; otherwise the movements of those installments are split."""
    paid = ", ".join(f"'{k.value}'" for k in PAID_KINDS)
    cur.execute(f"DROP TABLE IF EXISTS {SPLIT_INSTALLMENTS}")
    cur.execute(f"CREATE TEMP TABLE {SPLIT_INSTALLMENTS} (installment_id bigint PRIMARY KEY)")
    cur.execute(
        f"""INSERT INTO {SPLIT_INSTALLMENTS} (installment_id)
            SELECT d.installment_id FROM {BATCH_DELTA} d
            WHERE (SELECT MIN(ib.seq) FROM levies_installmentbreakdown ib
                   WHERE ib.installment_id = d.installment_id) IS NOT NULL"""  # noqa: S608 - constants
    )
    if cur.rowcount:
        _create_moves(cur)
        cur.execute(
            f"""INSERT INTO {SPLIT_MOVES} (txn_id, installment_id, payment_id, delta)
                SELECT b.txn_id, b.installment_id, b.payment_id, -SUM(b.amount)
                FROM {BATCH_ENTRIES} b JOIN {SPLIT_INSTALLMENTS} s ON s.installment_id = b.installment_id
                WHERE b.account = '{Account.RECEIVABLE.value}' AND b.component = '{Component.PRINCIPAL.value}'
                  AND b.kind IN ({paid})
                GROUP BY b.txn_id, b.installment_id, b.payment_id"""  # noqa: S608 - constants
        )
        if cur.rowcount:
            _write_splits(cur, municipality_id)
        cur.execute(f"DROP TABLE {SPLIT_MOVES}")
    cur.execute(f"DROP TABLE {SPLIT_INSTALLMENTS}")


def _write_splits(cur: Any, municipality_id: int) -> None:
    """Split every movement of ``SPLIT_MOVES`` (after the installments' caches were updated, so that
    ``principal_paid`` is the total after the batch and the installment rows are locked): per
    installment in transaction-id order, the paid total after each movement is ``C_k``; its split is
    ``f(C_k) − f(C_{k−1})``, the first one's ``f(C_1) − paid`` (the components' stored amounts).
    Then the splits are stored and the components' ``paid`` moved by them (= ``f`` of the final total)."""
    order = "ORDER BY m.txn_id, COALESCE(m.payment_id, 0)"
    move = "PARTITION BY y.txn_id, y.installment_id, y.payment_id"
    cur.execute(f"DROP TABLE IF EXISTS {SPLITS}")
    cur.execute(
        f"""CREATE TEMP TABLE {SPLITS} AS
            SELECT z.txn_id, z.installment_id, z.payment_id, z.seq, z.code,
                   CASE WHEN z.is_main = 1 THEN z.c1 - z.others1 ELSE z.g1 END
                   - CASE WHEN z.rn = 1 THEN z.paid WHEN z.is_main = 1 THEN z.c0 - z.others0 ELSE z.g0 END
                   AS amount
            FROM (
                SELECT y.txn_id, y.installment_id, y.payment_id, y.seq, y.code, y.paid, y.is_main, y.rn,
                       y.c1, y.c0, y.g1, y.g0, SUM(y.g1) OVER ({move}) AS others1, SUM(y.g0) OVER ({move}) AS others0
                FROM (
                    SELECT y.*, {_component_paid_sql("y.c1")} AS g1, {_component_paid_sql("y.c0")} AS g0
                    FROM (
                        SELECT x.txn_id, x.installment_id, x.payment_id, x.rn, x.c1, x.c1 - x.delta AS c0,
                               ib.seq, ib.code, ib.levied, ib.paid,
                               SUM(ib.levied) OVER (PARTITION BY x.txn_id, x.installment_id, x.payment_id) AS total,
                               CASE WHEN ib.seq = MIN(ib.seq) OVER (PARTITION BY x.txn_id, x.installment_id,
                                                                    x.payment_id) THEN 1 ELSE 0 END AS is_main
                        FROM (
                            SELECT m.txn_id, m.installment_id, m.payment_id, m.delta,
                                   i.principal_paid - SUM(m.delta) OVER (PARTITION BY m.installment_id)
                                   + SUM(m.delta) OVER (PARTITION BY m.installment_id {order}
                                                        ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS c1,
                                   ROW_NUMBER() OVER (PARTITION BY m.installment_id {order}) AS rn
                            FROM {SPLIT_MOVES} m JOIN levies_installment i ON i.id = m.installment_id
                        ) x
                        JOIN levies_installmentbreakdown ib ON ib.installment_id = x.installment_id
                    ) y
                ) y
            ) z"""  # noqa: S608 - constants
    )
    cur.execute(
        f"""INSERT INTO levies_breakdownsplit (municipality_id, txn_id, installment_id, payment_id, seq, code, amount)
            SELECT %s, txn_id, installment_id, payment_id, seq, code, amount FROM {SPLITS}
            WHERE amount <> 0 ORDER BY txn_id, installment_id, seq""",  # noqa: S608
        [municipality_id],
    )
    cur.execute(
        f"""UPDATE levies_installmentbreakdown SET paid = paid + s.amount
            FROM (SELECT installment_id, seq, SUM(amount) AS amount FROM {SPLITS}
                  GROUP BY installment_id, seq) s
            WHERE levies_installmentbreakdown.installment_id = s.installment_id
              AND levies_installmentbreakdown.seq = s.seq AND s.amount <> 0"""  # noqa: S608
    )
    cur.execute(f"DROP TABLE {SPLITS}")


# --- the retention purge: the only deletion, of whole transactions ------------------------------------

PERMIT_SETTING = "choshu.ledger_permit"
"""PostgreSQL: the ledger tables' triggers refuse every UPDATE, and every DELETE unless this setting
is ``purge`` in the deleting transaction (``SET LOCAL``: no other session sees it)."""


class SharedTransaction(RuntimeError):
    """A transaction to purge holds an entry of someone who is not being purged: nothing is deleted."""


def purge_transactions(*, txn_ids: set[int], taxpayer_ids: set[int]) -> int:
    """Delete whole transactions of purged people (保存期間経過後の消去) with their entries.

    One business event is one transaction of one person, so nothing of anyone else is touched; a
    transaction that names another taxpayer refuses the whole purge (:class:`SharedTransaction`).
    Returns the number of transactions deleted.
    """
    if not txn_ids:
        return 0
    ids = sorted(txn_ids)
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute(f"SET LOCAL {PERMIT_SETTING} = 'purge'")
        for start in range(0, len(ids), 5000):
            part = ids[start : start + 5000]
            others = (
                LedgerEntry.objects.filter(txn_id__in=part, taxpayer_id__isnull=False)
                .exclude(taxpayer_id__in=taxpayer_ids)
                .values_list("txn_id", flat=True)[:1]
            )
            if list(others):
                raise SharedTransaction(f"取引 {others[0]} は消去対象外の納税者の明細を含みます")
        for start in range(0, len(ids), 5000):
            part = ids[start : start + 5000]
            LedgerEntry.objects.filter(txn_id__in=part).delete()
            LedgerTransaction.objects.filter(id__in=part).delete()
        if connection.vendor == "postgresql":
            cur.execute(f"SET LOCAL {PERMIT_SETTING} = ''")
    return len(ids)


def forget_breakdowns(installment_ids: Sequence[int]) -> int:
    """The retention purge: the breakdown rows and stored splits of these installments (their
    transactions are purged with them, in the same database transaction). Returns the rows deleted."""
    ids = list(installment_ids)
    deleted = 0
    for start in range(0, len(ids), 5000):
        part = ids[start : start + 5000]
        deleted += BreakdownSplit.objects.filter(installment_id__in=part).delete()[0]
        deleted += InstallmentBreakdown.objects.filter(installment_id__in=part).delete()[0]
    return deleted


def insert_generated(txn_rows: Sequence[Sequence[Any]], entry_rows: Sequence[Sequence[Any]]) -> None:
    """Rows built with reserved ids by a bulk generator (the synthetic city): checked to balance per
    transaction, then written with COPY. ``TXN_COLUMNS`` and ``ENTRY_COLUMNS`` order; the generator
    sets the installments' cached amounts itself (they are proven by ``verify-ledger``)."""
    txn_at = ENTRY_COLUMNS.index("txn_id")
    amount_at = ENTRY_COLUMNS.index("amount")
    totals: dict[int, list[int]] = {int(row[0]): [0, 0] for row in txn_rows}
    for row in entry_rows:
        total = totals.get(int(row[txn_at]))
        if total is None:
            raise UnbalancedTransaction(f"明細 {row[0]} の取引 {row[txn_at]} がありません")
        total[0] += int(row[amount_at])
        total[1] += 1
    bad = [txn for txn, (total, n) in totals.items() if total != 0 or n < 2]
    if bad:
        raise UnbalancedTransaction(f"貸借が一致しない取引があります（{len(bad)} 件、例: {bad[0]}）")
    insert_rows(LedgerTransaction, TXN_COLUMNS, txn_rows)
    insert_rows(LedgerEntry, ENTRY_COLUMNS, entry_rows)
