"""Set-based inserts for batch paths: PostgreSQL ``COPY``, SQLite ``executemany``.

Rows carry explicit primary keys (reserved with ``reserve_ids``) so that dependent rows can be built
in memory before anything is written; ``reset_sequences`` puts PostgreSQL's sequences past them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any

from django.core.management.color import no_style
from django.db import connection, models
from django.db.models.expressions import RawSQL


def reserve_ids(model: type[models.Model]) -> int:
    """The next free primary key of ``model``'s table (call inside the batch's transaction/lock)."""
    table = model._meta.db_table
    with connection.cursor() as cur:
        cur.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}")  # noqa: S608 - table name from the model
        return int(cur.fetchone()[0]) + 1


def id_sequence(table: str) -> str:
    """PostgreSQL: the name of ``table``'s id sequence, looked up once per statement that needs it —
    ``nextval(pg_get_serial_sequence(…))`` in a statement resolves the name again for every row (seen:
    2.5 s per 500,000 ids, against 0.4 s for ``nextval('name'::regclass)``)."""
    with connection.cursor() as cur:
        cur.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
        row = cur.fetchone()
    if not row or not row[0]:
        raise LookupError(f"{table} has no id sequence")
    return str(row[0])


def reserve_id_block(model: type[models.Model], n: int) -> list[int]:
    """``n`` fresh primary keys for ``model``, safe with concurrent writers.

    PostgreSQL draws them from the table's sequence; SQLite has one writer at a time (transactions
    start IMMEDIATE), so MAX(id)+1… inside the caller's transaction is safe there.
    """
    if n <= 0:
        return []
    table = model._meta.db_table
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute("SELECT nextval(%s::regclass) FROM generate_series(1, %s)", [id_sequence(table), n])
            return [int(r[0]) for r in cur.fetchall()]
        cur.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}")  # noqa: S608
        start = int(cur.fetchone()[0]) + 1
    return list(range(start, start + n))


def add_to_columns(
    model: type[models.Model], columns: Sequence[str], deltas: Mapping[int, Sequence[int]]
) -> None:
    """``UPDATE table SET col = col + delta … WHERE id = …`` for many rows at once (cached balances)."""
    if not deltas:
        return
    table = model._meta.db_table
    sets = ", ".join(f"{c} = {c} + ?" for c in columns)
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cols = ", ".join(f"{c} bigint" for c in columns)
            cur.execute(f"CREATE TEMP TABLE IF NOT EXISTS choshu_delta (id bigint, {cols})")
            cur.execute("TRUNCATE choshu_delta")
            with cur.cursor.copy(f"COPY choshu_delta (id, {', '.join(columns)}) FROM STDIN") as copy:
                for pk, values in deltas.items():
                    copy.write_row((pk, *values))
            assignments = ", ".join(f"{c} = t.{c} + d.{c}" for c in columns)
            cur.execute(f"UPDATE {table} AS t SET {assignments} FROM choshu_delta d WHERE t.id = d.id")  # noqa: S608
            cur.execute("DROP TABLE choshu_delta")
            return
        cur.cursor.executemany(
            f"UPDATE {table} SET {sets} WHERE id = ?",  # noqa: S608
            [(*values, pk) for pk, values in deltas.items()],
        )


def id_set(ids: Iterable[int]) -> Any:
    """A value for a ``field__in`` lookup selecting these ids, for a batch's tens of thousands of ids.

    PostgreSQL: one array parameter (``IN (SELECT unnest(%s::bigint[]))``): the planner knows the
    array's length and probes the index per id; a list would be as many placeholders, each built by the
    ORM, split out of the SQL by the driver and parsed by the server (seen: ~1 s per 30,000 ids, and a
    hash join reading the whole table). Elsewhere the list itself."""
    values = list(ids)
    if connection.vendor == "postgresql":
        return RawSQL("SELECT unnest(%s::bigint[])", (values,))  # noqa: S611 - constant SQL, one parameter
    return values


def insert_rows(model: type[models.Model], columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    table = model._meta.db_table
    if connection.vendor == "postgresql":
        cols = ", ".join(columns)
        with connection.cursor() as cur:
            raw = cur.cursor  # psycopg 3 cursor under Django's wrapper
            with raw.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        return
    placeholders = ", ".join(["?"] * len(columns))
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders})"  # noqa: S608
    with connection.cursor() as cur:
        # The raw sqlite3 cursor: Django's wrapper would re-format every row's placeholders.
        cur.cursor.executemany(sql, _sqlite_rows(model, columns, rows))


def _sqlite_rows(
    model: type[models.Model], columns: Sequence[str], rows: Iterable[Sequence[Any]]
) -> list[Any]:
    """Django stores datetimes in SQLite as naive UTC text and dates as ISO text: convert those columns only."""
    fields = {f.attname: f for f in model._meta.concrete_fields}
    temporal = [
        i
        for i, c in enumerate(columns)
        if isinstance(fields[c], models.DateField)  # DateTimeField is a DateField
    ]
    if not temporal:
        return list(rows)
    out = []
    for row in rows:
        values = list(row)
        for i in temporal:
            v = values[i]
            if isinstance(v, datetime):
                values[i] = v.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ")
            elif isinstance(v, date):
                values[i] = v.isoformat()
        out.append(values)
    return out


def reset_sequences(*models_: type[models.Model]) -> None:
    if connection.vendor != "postgresql":
        return
    statements = connection.ops.sequence_reset_sql(no_style(), list(models_))
    with connection.cursor() as cur:
        for sql in statements:
            cur.execute(sql)


def analyze(*models_: type[models.Model]) -> None:
    """Refresh the planner's statistics after a bulk load (PostgreSQL; SQLite plans without them)."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cur:
        cur.execute("ANALYZE " + ", ".join(m._meta.db_table for m in models_))


class IdDrawer:
    """Fresh primary keys for one table, drawn a batch at a time inside the caller's transaction.

    PostgreSQL: ``nextval`` of the table's sequence (name resolved once), safe with concurrent writers.
    SQLite (one writer at a time): the largest id so far plus one, then counted on in memory — the rows
    are written only later, so ``MAX(id)`` would not move between batches.
    """

    def __init__(self, table: str) -> None:
        self.table = table
        self.pg = connection.vendor == "postgresql"
        self._sequence = id_sequence(table) if self.pg else ""
        self._next: int | None = None

    def draw(self, n: int) -> list[int]:
        if n <= 0:
            return []
        with connection.cursor() as cur:
            if self.pg:
                cur.execute("SELECT nextval(%s::regclass) FROM generate_series(1, %s)", [self._sequence, n])
                return [int(r[0]) for r in cur.fetchall()]
            if self._next is None:
                cur.execute(f"SELECT COALESCE(MAX(id), 0) FROM {self.table}")  # noqa: S608
                self._next = int(cur.fetchone()[0]) + 1
        start = self._next
        self._next = start + n
        return list(range(start, start + n))


def copy_rows(table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """Rows into a (temporary) table: ``COPY`` on PostgreSQL, ``executemany`` on SQLite. Values must
    already be in the database's form (dates as ``date`` on PostgreSQL, ISO text on SQLite)."""
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            with cur.cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            return
        marks = ", ".join(["?"] * len(columns))
        cur.cursor.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)  # noqa: S608


def analyze_tables(*tables: str) -> None:
    """Statistics for tables just filled (a batch's staging tables): PostgreSQL plans a join on a table
    it has never analysed as if it were small, and picks nested loops over millions of rows."""
    if connection.vendor != "postgresql" or not tables:
        return
    with connection.cursor() as cur:
        cur.execute("ANALYZE " + ", ".join(tables))


STALE_FRACTION = 0.2
"""A table whose rows changed by more than this fraction since its last ANALYZE is analysed again."""


def analyze_if_stale(*tables: str) -> None:
    """Refresh a permanent table's statistics before a batch joins against it, if they are missing or
    older than the last ``STALE_FRACTION`` of its rows (after a first load autovacuum may not have
    run yet). ANALYZE reads a fixed sample, so this costs about the same at any size."""
    if connection.vendor != "postgresql" or not tables:
        return
    with connection.cursor() as cur:
        cur.execute(
            """SELECT c.relname FROM pg_class c JOIN pg_stat_user_tables s ON s.relid = c.oid
               WHERE c.relname = ANY(%s)
                 AND (COALESCE(s.last_analyze, s.last_autoanalyze) IS NULL
                      OR s.n_mod_since_analyze > %s * GREATEST(c.reltuples, 1000))""",
            [list(tables), STALE_FRACTION],
        )
        stale = [row[0] for row in cur.fetchall()]
        if stale:
            cur.execute("ANALYZE " + ", ".join(stale))
