"""Writes to 調定・期別: the levy feed import and corrections (更正), always through the ledger."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from choshu.audit.models import AuditKind
from choshu.audit.services import audit_record
from choshu.core.bulk import analyze_if_stale, analyze_tables, copy_rows, id_sequence
from choshu.core.models import Job, Municipality
from choshu.core.services import file_already_imported, job_finish, job_start
from choshu.formats.csvfile import MAX_ERRORS, CsvSource, open_strict
from choshu.formats.errors import FileRefused, RowError
from choshu.formats.levies_csv import BREAKDOWN_COLUMNS, parse_levies
from choshu.levies.ledger import post_selected
from choshu.levies.models import (
    Account,
    Assessment,
    Component,
    Installment,
    InstallmentBreakdown,
    InstallmentCalendar,
    LedgerTransaction,
    Levy,
    TaxItem,
    TaxItemBreakdown,
    TxnKind,
)
from choshu.levies.slip_numbers import system_slip_no
from choshu.taxpayers.models import SpecialCollector, Taxpayer
from choshu.taxpayers.services import ImportSummary

logger = logging.getLogger(__name__)

JOB_KIND = Job.Kind.IMPORT_LEVIES
BATCH = 10_000  # records parsed and COPYed per batch; system slip numbers computed per batch

STAGE = "choshu_levy_stage"  # the file's valid records
BAD = "choshu_levy_bad"  # lines refused by a check over the whole file (duplicates)
ITEMS = "choshu_levy_items"  # the municipality's active tax items: assessment, number of components
PARTS = "choshu_levy_parts"  # their breakdown components (seq, code)
LEVIES = "choshu_levy_keys"  # one row per levy of the file: its taxpayer, its levy (found or new)
ROWS = "choshu_levy_rows"  # one row per record: its installment (found or new), what it changes
SLIPS = "choshu_levy_slips"  # system slip numbers of the new installments without one
TABLES = (STAGE, BAD, ITEMS, PARTS, LEVIES, ROWS, SLIPS)
STAGE_COLUMNS = ("line", "tax_item", "levy_year", "relevant_year", "notice_no", "taxpayer_no",
                 "special_collector_no", "filing_type", "filing_history_no", "business_year_no",
                 "business_year_start", "business_year_end", "installment_no", "statutory_due_date", "due_date",
                 "designated_due_date", "due_date_special", "principal", "b1", "b2", "b3", "slip_no",
                 "operator", "operated_on", "operated_time", "detailed")  # fmt: skip
LEVY_KEY = ("tax_item", "levy_year", "relevant_year", "notice_no", "special_collector_no", "filing_history_no",
            "business_year_no")  # fmt: skip
"""The standard's levy key (036o005), as ``Levy``'s unique constraint; + installment_no = an installment."""
NOTICE = ("tax_item", "levy_year", "notice_no")
"""A 通知書番号 of an item and year belongs to one taxpayer (whatever the rest of the levy key)."""


def _on(left: str, right: str, columns: tuple[str, ...] = LEVY_KEY) -> str:
    return " AND ".join(f"{left}.{c} = {right}.{c}" for c in columns)


def levies_import(
    *,
    municipality: Municipality,
    path: str | Path,
    booking_date: date,
    actor: Any = None,
    job: Job | None = None,
    progress: Callable[[int], None] | None = None,
) -> ImportSummary:
    """Import ``levies.csv`` (formats.md §2; the standard's layout or the old one, by the header).
    A changed principal books a correction (更正).

    Levies and corrections are booked on ``booking_date`` (調定日・更正日 and 日計日 alike): the
    file carries no date of its own, so the caller says which business day the import belongs to.

    The file is read as a stream and COPYed into a staging table in batches; the checks that need the
    whole file or the database (an installment key twice, a 通知書番号 with two 宛名番号, a 納付番号
    twice or held by another installment, an unknown 税目 or 宛名番号, a notice booked to someone else,
    a 特別徴収義務者, the 期別マスタ, the breakdown) are set-based queries over it, and a refused file
    rolls everything back. Then the levies, the installments, their breakdown and the ledger (``levies.ledger.post_selected``: one 調定 transaction per new
    installment, a 更正 per changed principal, a 過誤納 when a reduction goes below what was paid)
    are written from it in a few statements. Memory does not grow with the file.

    ``job``: the record made when the file was queued (browser uploads), else a new one is made.
    ``progress`` is told the rows read so far once per batch (``core.progress``).
    """
    queued = job
    summary = ImportSummary(
        extra={
            "levies_created": 0,
            "levies_updated": 0,
            "overpayments": 0,
            "amount_levied": 0,
            "amount_corrected": 0,
        }
    )
    try:
        with transaction.atomic():
            source = open_strict(path, str(path))
            summary.already_imported = file_already_imported(
                municipality=municipality, kind=JOB_KIND, sha256=source.sha256
            )
            job = job_start(
                municipality=municipality,
                kind=JOB_KIND,
                actor=actor,
                file_name=str(path),
                file_sha256=source.sha256,
                job=queued,
            )
            run = _LevyImport(municipality, job, actor, booking_date, summary)
            run.stage(source, str(path), progress)
            run.check(str(path))
            run.write()
            summary.job_id = job.pk
            job_finish(job, status=Job.Status.SUCCEEDED, counts=summary.as_dict())
            audit_record(
                kind=AuditKind.BATCH,
                function="調定取込",
                municipality=municipality,
                user=actor,
                job=job,
                detail={"file": str(path), "sha256": source.sha256, **summary.as_dict()},
            )
            _drop()
            logger.info("import phases %s", json.dumps(run.phases))
    except FileRefused as refused:
        _drop()
        job = job_start(
            municipality=municipality, kind=JOB_KIND, actor=actor, file_name=str(path), job=queued
        )
        job_finish(job, status=Job.Status.REFUSED, errors=[e.as_dict() for e in refused.errors[:200]])
        raise
    return summary


def _drop() -> None:
    with connection.cursor() as cur:
        for table in TABLES:
            cur.execute(f"DROP TABLE IF EXISTS {table}")


class _LevyImport:
    """One run of the levy import inside the caller's transaction (stage → check → write)."""

    def __init__(
        self, municipality: Municipality, job: Job, actor: Any, booking_date: date, summary: ImportSummary
    ) -> None:
        self.m = municipality.pk
        self.width = municipality.taxpayer_no_width
        self.job = job
        self.actor_id = actor.pk if getattr(actor, "is_authenticated", False) else None
        self.booking_date = booking_date
        self.summary = summary
        self.pg = connection.vendor == "postgresql"
        self.errors: list[RowError] = []
        self.phases: dict[str, float] = {}
        self._mark = time.monotonic()
        self.p = {"m": self.m}

    def _phase(self, name: str) -> None:
        now = time.monotonic()
        self.phases[name] = round(now - self._mark, 2)
        self._mark = now

    # -- stage -------------------------------------------------------------------------------------

    def stage(self, source: CsvSource, file_name: str, progress: Callable[[int], None] | None = None) -> None:
        _drop()
        with connection.cursor() as cur:
            cur.execute(
                f"""CREATE TEMP TABLE {STAGE} (line integer NOT NULL, tax_item varchar(2) NOT NULL,
                    levy_year integer NOT NULL, relevant_year integer NOT NULL, notice_no varchar(12) NOT NULL,
                    taxpayer_no varchar(15) NOT NULL, special_collector_no varchar(20) NOT NULL,
                    filing_type varchar(2) NOT NULL, filing_history_no integer NOT NULL,
                    business_year_no integer NOT NULL, business_year_start date, business_year_end date,
                    installment_no integer NOT NULL, statutory_due_date date NOT NULL, due_date date NOT NULL,
                    designated_due_date date NOT NULL, due_date_special varchar(1) NOT NULL,
                    principal bigint NOT NULL, b1 bigint, b2 bigint, b3 bigint, slip_no varchar(16),
                    operator varchar(20) NOT NULL, operated_on date, operated_time time,
                    detailed integer NOT NULL)"""
            )
        iso = not self.pg

        def d(value: Any) -> Any:
            return value.isoformat() if iso and value is not None else value

        with source.open() as text:
            batch: list[tuple[Any, ...]] = []
            for r in parse_levies(text, self.errors, file_name, taxpayer_no_width=self.width):
                b1, b2, b3 = r.breakdown
                batch.append((r.line, r.tax_item, r.levy_year, r.relevant_year, r.notice_no, r.taxpayer_no,
                              r.special_collector_no, r.filing_type, r.filing_history_no, r.business_year_no,
                              d(r.business_year_start), d(r.business_year_end), r.installment_no,
                              d(r.statutory_due_date), d(r.due_date), d(r.designated_due_date), r.due_date_special,
                              r.principal, b1, b2, b3, r.slip_no or None, r.operator_id, d(r.operated_on),
                              d(r.operated_time), int(r.detailed)))  # fmt: skip
                if len(batch) >= BATCH:
                    copy_rows(STAGE, STAGE_COLUMNS, batch)
                    self.summary.rows += len(batch)
                    batch = []
                    if progress is not None:
                        progress(self.summary.rows)
            copy_rows(STAGE, STAGE_COLUMNS, batch)
            self.summary.rows += len(batch)
            if progress is not None:
                progress(self.summary.rows)
        analyze_tables(STAGE)
        self._phase("read_stage")

    # -- check -------------------------------------------------------------------------------------

    def check(self, file_name: str) -> None:
        """Every check that needs the whole file or the database, in the parser's order per row."""
        with connection.cursor() as cur:
            self._in_file(cur)
            analyze_if_stale(Taxpayer._meta.db_table, Levy._meta.db_table, Installment._meta.db_table)
            self._items(cur)
            self._levies(cur)
            self._against_database(cur)
            self._against_tables(cur)
        self._phase("check")
        if self.errors:
            self.errors.sort(key=lambda e: e.line)
            raise FileRefused(self.errors, file_name)

    def _in_file(self, cur: Any) -> None:
        """An installment key twice; a 通知書番号 with another 宛名番号 than its first row; a 納付番号
        twice. Each check sees only the rows the previous ones passed (as a reader top to bottom)."""
        key, notice = ", ".join(LEVY_KEY), ", ".join(NOTICE)
        cur.execute(
            f"CREATE TEMP TABLE {BAD} (line integer NOT NULL, col varchar(20), first integer, value text)"
        )
        # First whether anything is wrong at all (hash aggregates); the rows, in file order, only then.
        cur.execute(
            f"""SELECT EXISTS (SELECT 1 FROM {STAGE} GROUP BY {key}, installment_no HAVING COUNT(*) > 1),
                       EXISTS (SELECT 1 FROM {STAGE} GROUP BY {notice} HAVING MIN(taxpayer_no) <> MAX(taxpayer_no)),
                       EXISTS (SELECT 1 FROM {STAGE} WHERE slip_no IS NOT NULL GROUP BY slip_no
                               HAVING COUNT(*) > 1)"""  # noqa: S608 - constants
        )
        if not any(cur.fetchone()):
            return
        cur.execute(
            f"""INSERT INTO {BAD} SELECT line, 'installment_no', first, '' FROM (
                    SELECT line, MIN(line) OVER (PARTITION BY {key}, installment_no) AS first FROM {STAGE}
                ) d WHERE line <> first"""  # noqa: S608 - constants
        )
        cur.execute(
            f"""INSERT INTO {BAD} SELECT line, 'taxpayer_no', first, taxpayer_no FROM (
                    SELECT line, taxpayer_no, FIRST_VALUE(line) OVER w AS first,
                           FIRST_VALUE(taxpayer_no) OVER w AS owner
                    FROM {STAGE} s WHERE NOT EXISTS (SELECT 1 FROM {BAD} b WHERE b.line = s.line)
                    WINDOW w AS (PARTITION BY {notice} ORDER BY line)
                ) d WHERE taxpayer_no <> owner"""  # noqa: S608
        )
        cur.execute(
            f"""INSERT INTO {BAD} SELECT line, 'slip_no', first, slip_no FROM (
                    SELECT line, slip_no, MIN(line) OVER (PARTITION BY slip_no) AS first
                    FROM {STAGE} s
                    WHERE slip_no IS NOT NULL AND NOT EXISTS (SELECT 1 FROM {BAD} b WHERE b.line = s.line)
                ) d WHERE line <> first"""  # noqa: S608
        )
        reasons = {
            "installment_no": "同じ調定（税目・賦課年度・相当年度・通知書番号・特別徴収義務者指定番号・申告履歴番号・"
            "事業年度番号）の同じ期別が{}行目にあります",
            "taxpayer_no": "同じ通知書番号の{}行目と宛名番号が異なります",
            "slip_no": "納付番号が{}行目と重複しています",
        }
        cur.execute(f"SELECT line, col, first, value FROM {BAD} ORDER BY line LIMIT {MAX_ERRORS}")  # noqa: S608
        found = cur.fetchall()
        self.errors.extend(
            RowError(line, col, reasons[col].format(first), value) for line, col, first, value in found
        )
        if found:
            cur.execute(f"DELETE FROM {STAGE} WHERE line IN (SELECT line FROM {BAD})")  # noqa: S608

    def _items(self, cur: Any) -> None:
        """The municipality's active tax items (税目マスタ) and their breakdowns, as two small tables."""
        item, part = TaxItem._meta.db_table, TaxItemBreakdown._meta.db_table
        cur.execute(
            f"""CREATE TEMP TABLE {ITEMS} AS
                SELECT t.code, t.assessment, (SELECT COUNT(*) FROM {part} b WHERE b.tax_item_id = t.id) AS parts
                FROM {item} t WHERE t.municipality_id = %(m)s AND t.is_active""",  # noqa: S608
            self.p,
        )
        cur.execute(
            f"""CREATE TEMP TABLE {PARTS} AS SELECT t.code AS tax_item, b.seq, b.code
                FROM {item} t JOIN {part} b ON b.tax_item_id = t.id
                WHERE t.municipality_id = %(m)s AND t.is_active""",  # noqa: S608
            self.p,
        )
        analyze_tables(ITEMS, PARTS)

    def _levies(self, cur: Any) -> None:
        """The file's levies: each with its taxpayer, its tax item, its 特別徴収義務者 and the levy already
        booked under its key, or a new id (drawn only for a levy of a known taxpayer that is not booked
        yet). A levy's own columns (申告区分, 事業年度, the source stamps) are its first row's."""
        tp, levy, sc = Taxpayer._meta.db_table, Levy._meta.db_table, SpecialCollector._meta.db_table
        new_id = self._new_id(cur, levy, "k.first_line")
        key = ", ".join(LEVY_KEY)
        keys = ", ".join(f"k.{c}" for c in LEVY_KEY)
        if not self.pg:  # SQLite joins by index
            cur.execute(f"CREATE INDEX {STAGE}_line ON {STAGE} (line)")
        cur.execute(
            f"""CREATE TEMP TABLE {LEVIES} AS
                SELECT {keys}, k.taxpayer_no, k.first_line, t.id AS taxpayer_id,
                       i.code IS NOT NULL AS item_ok, COALESCE(i.assessment, '') AS assessment,
                       COALESCE(i.parts, 0) AS parts, c.id AS collector_id, c.taxpayer_id AS collector_taxpayer_id,
                       f.filing_type, f.business_year_start, f.business_year_end, f.operator, f.operated_on,
                       f.operated_time, f.detailed, l.id AS found_id,
                       l.id IS NULL AND t.id IS NOT NULL AS is_new,
                       CASE WHEN l.id IS NOT NULL THEN l.id WHEN t.id IS NOT NULL THEN {new_id} END AS levy_id
                FROM (SELECT {key}, taxpayer_no, MIN(line) AS first_line
                      FROM {STAGE} GROUP BY {key}, taxpayer_no) k
                JOIN {STAGE} f ON f.line = k.first_line
                LEFT JOIN {ITEMS} i ON i.code = k.tax_item
                LEFT JOIN {tp} t ON t.municipality_id = %(m)s AND t.taxpayer_no = k.taxpayer_no
                LEFT JOIN {sc} c ON c.municipality_id = %(m)s AND c.designation_no = k.special_collector_no
                     AND c.is_current AND k.special_collector_no <> ''
                LEFT JOIN {levy} l ON l.municipality_id = %(m)s AND {_on("l", "k")}""",  # noqa: S608
            self.p,
        )
        cur.execute(f"CREATE INDEX {LEVIES}_key ON {LEVIES} (notice_no, tax_item, levy_year)")
        analyze_tables(LEVIES)

    def _against_database(self, cur: Any) -> None:
        """An unknown 税目 or 宛名番号; a notice booked to another taxpayer; a 特別徴収義務者 unknown, or
        not the levy's taxpayer; a 納付番号 of another installment."""
        join = f"JOIN {LEVIES} k ON {_on('k', 's')}"
        levy = Levy._meta.db_table
        other_owner = (
            f"EXISTS (SELECT 1 FROM {levy} o WHERE o.municipality_id = %(m)s AND {_on('o', 'k', NOTICE)}"
            " AND o.taxpayer_id <> k.taxpayer_id)"
        )
        checks = (
            ("tax_item", "税目コードが税目マスタにないか、無効です", "s.tax_item", "NOT k.item_ok"),
            ("taxpayer_no", "宛名番号が登録されていません（先に宛名を取り込んでください）", "s.taxpayer_no",
             "k.taxpayer_id IS NULL"),
            ("taxpayer_no", "この通知書番号は別の宛名番号の調定として登録済みです", "s.taxpayer_no",
             f"k.taxpayer_id IS NOT NULL AND {other_owner}"),
            ("special_collector_no", "特別徴収義務者指定番号が登録されていません（特別徴収義務者を先に取り込んでください）",
             "s.special_collector_no", "k.special_collector_no <> '' AND k.collector_id IS NULL"),
            ("taxpayer_no", "特別徴収の調定は特別徴収義務者のものです: 宛名番号が義務者の宛名番号と異なります",
             "s.taxpayer_no", "k.collector_id IS NOT NULL AND k.taxpayer_id IS NOT NULL"
             " AND k.collector_taxpayer_id <> k.taxpayer_id"),
            ("special_collector_no", "特別徴収の税目には特別徴収義務者指定番号が必要です", "s.special_collector_no",
             f"k.detailed = 1 AND k.assessment = '{Assessment.SPECIAL.value}' AND k.special_collector_no = ''"),
        )  # fmt: skip
        for column, reason, value, where in checks:
            cur.execute(f"SELECT 1 FROM {LEVIES} k WHERE {where} LIMIT 1", self.p)  # noqa: S608
            if cur.fetchone() is None:
                continue
            cur.execute(
                f"SELECT s.line, {value} FROM {STAGE} s {join} WHERE {where} ORDER BY s.line LIMIT {MAX_ERRORS}",  # noqa: S608
                self.p,
            )
            self.errors.extend(RowError(line, column, reason, v) for line, v in cur.fetchall())
        inst = Installment._meta.db_table
        cur.execute(
            f"""SELECT s.line, s.slip_no FROM {STAGE} s
                JOIN {inst} i ON i.municipality_id = %(m)s AND i.slip_no = s.slip_no
                JOIN {levy} l ON l.id = i.levy_id
                WHERE s.slip_no IS NOT NULL
                  AND NOT ({_on("l", "s")} AND i.installment_no = s.installment_no)
                ORDER BY s.line LIMIT {MAX_ERRORS}""",  # noqa: S608
            self.p,
        )
        self.errors.extend(
            RowError(line, "slip_no", "この納付番号は別の期別に登録済みです", v) for line, v in cur.fetchall()
        )

    def _against_tables(self, cur: Any) -> None:
        """The 期別マスタ (where it has the item's year, the 期別 must be one of it) and the breakdown
        (the standard's layout: one amount per component of the item, summing to the 本税)."""
        cal = InstallmentCalendar._meta.db_table
        cur.execute(f"SELECT 1 FROM {cal} WHERE municipality_id = %(m)s LIMIT 1", self.p)  # noqa: S608
        if cur.fetchone() is not None:
            cur.execute(
                f"""SELECT s.line, s.installment_no FROM {STAGE} s
                    JOIN (SELECT DISTINCT tax_item, levy_year FROM {cal} WHERE municipality_id = %(m)s) y
                      ON y.tax_item = s.tax_item AND y.levy_year = s.levy_year
                    LEFT JOIN {cal} c ON c.municipality_id = %(m)s AND c.tax_item = s.tax_item
                         AND c.levy_year = s.levy_year AND c.installment_no = s.installment_no
                    WHERE c.id IS NULL ORDER BY s.line LIMIT {MAX_ERRORS}""",  # noqa: S608
                self.p,
            )
            self.errors.extend(
                RowError(line, "installment_no", "期別マスタ（税目・賦課年度）にない期別です", str(no))
                for line, no in cur.fetchall()
            )
        given = [f"CASE WHEN s.b{k} IS NULL THEN 0 ELSE 1 END" for k in (1, 2, 3)]
        amounts = " + ".join(f"COALESCE(s.b{k}, 0)" for k in (1, 2, 3))
        cur.execute(
            f"""SELECT s.line, i.parts, {", ".join(given)}, {amounts}, s.principal FROM {STAGE} s
                JOIN {ITEMS} i ON i.code = s.tax_item
                WHERE s.detailed = 1 AND ({
                " OR ".join(
                    f"({g}) <> CASE WHEN i.parts >= {k} THEN 1 ELSE 0 END" for k, g in enumerate(given, 1)
                )
            } OR (i.parts > 0 AND {amounts} <> s.principal) OR i.parts > 3)
                ORDER BY s.line LIMIT {MAX_ERRORS}"""  # noqa: S608
        )
        for line, parts, g1, g2, g3, total, principal in cur.fetchall():
            if parts > len(BREAKDOWN_COLUMNS):
                self.errors.append(
                    RowError(
                        line,
                        "tax_item",
                        f"内訳が{parts}項目の税目はこの様式（内訳3項目まで）で取り込めません",
                    )
                )
                continue
            wrong = False
            for k, present in enumerate((g1, g2, g3), start=1):
                if present and k > parts:
                    wrong = True
                    what = "この税目に内訳はありません" if parts == 0 else f"この税目の内訳は{parts}項目です"
                    self.errors.append(RowError(line, f"breakdown_{k}", f"{what}（空にしてください）"))
                elif not present and k <= parts:
                    wrong = True
                    self.errors.append(
                        RowError(line, f"breakdown_{k}", f"この税目は内訳{parts}項目の金額がすべて必要です")
                    )
            if not wrong and parts > 0 and total != principal:
                self.errors.append(
                    RowError(
                        line, "principal", f"内訳の合計（{total:,}円）が本税（{principal:,}円）と一致しません"
                    )
                )

    def _new_id(self, cur: Any, table: str, line: str, step: int = 1, offset: int = 0) -> str:
        """SQL drawing a fresh id of ``table``: its sequence on PostgreSQL (evaluated only for the rows
        that need one); on SQLite (one writer) the largest id plus the record's line (ids need not be
        dense), ``step`` ids per line."""
        if self.pg:
            return f"nextval('{id_sequence(table)}'::regclass)"
        cur.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}")  # noqa: S608
        return f"({int(cur.fetchone()[0])} + {step} * {line} + {offset})"

    # -- write -------------------------------------------------------------------------------------

    def write(self) -> None:
        levy, inst = Levy._meta.db_table, Installment._meta.db_table
        with connection.cursor() as cur:
            cur.execute(
                f"""INSERT INTO {levy} (id, municipality_id, taxpayer_id, tax_item, levy_year, relevant_year,
                        notice_no, special_collector_no, special_collector_id, filing_type, filing_history_no,
                        business_year_no, business_year_start, business_year_end, source_operator,
                        source_operated_on, source_operated_time, created_at, job_id)
                    SELECT levy_id, %(m)s, taxpayer_id, tax_item, levy_year, relevant_year, notice_no,
                           special_collector_no, collector_id, filing_type, filing_history_no, business_year_no,
                           business_year_start, business_year_end, operator, operated_on, operated_time,
                           %(now)s, %(job)s
                    FROM {LEVIES} WHERE is_new""",  # noqa: S608
                {**self.p, "now": timezone.now(), "job": self.job.pk},
            )
            self.summary.extra["levies_created"] = cur.rowcount
            # A booked levy of the standard's layout takes the file's 申告区分, 事業年度, 義務者 and stamps
            # (the old layout carries none of them and leaves them as they are).
            columns = (("filing_type", "filing_type"), ("business_year_start", "business_year_start"),
                       ("business_year_end", "business_year_end"), ("special_collector_id", "collector_id"),
                       ("source_operator", "operator"), ("source_operated_on", "operated_on"),
                       ("source_operated_time", "operated_time"))  # fmt: skip
            cur.execute(
                f"""UPDATE {levy} SET {", ".join(f"{c} = k.{v}" for c, v in columns)}
                    FROM {LEVIES} k WHERE {levy}.id = k.found_id AND k.detailed = 1
                      AND ({" OR ".join(f"{levy}.{c} IS DISTINCT FROM k.{v}" for c, v in columns)})"""  # noqa: S608
            )
            self.summary.extra["levies_updated"] = cur.rowcount
            self._rows(cur)
            self._phase("match")
            self._system_slips(cur)
            self._phase("slips")
            cur.execute(
                f"""INSERT INTO {inst} (id, municipality_id, levy_id, taxpayer_id, installment_no, due_date,
                        statutory_due_date, designated_due_date, late_charge_base_date, due_date_special,
                        source_operator, source_operated_on, source_operated_time, slip_no, principal_levied,
                        principal_paid, principal_outstanding)
                    SELECT r.inst_id, %(m)s, r.levy_id, r.taxpayer_id, r.installment_no, r.due_date,
                           r.statutory_due_date, r.designated_due_date, r.late_charge_base_date,
                           r.due_date_special, r.operator, r.operated_on, r.operated_time,
                           COALESCE(r.slip_no, x.slip_no), 0, 0, 0
                    FROM {ROWS} r LEFT JOIN {SLIPS} x ON x.inst_id = r.inst_id
                    WHERE r.is_new""",  # noqa: S608
                self.p,
            )
            cur.execute(
                f"""UPDATE {inst} SET due_date = r.due_date, statutory_due_date = r.statutory_due_date,
                        designated_due_date = r.designated_due_date, late_charge_base_date = r.late_charge_base_date,
                        due_date_special = r.due_date_special, source_operator = r.operator,
                        source_operated_on = r.operated_on, source_operated_time = r.operated_time,
                        slip_no = COALESCE(r.slip_no, {inst}.slip_no)
                    FROM {ROWS} r WHERE {inst}.id = r.inst_id AND r.touched"""  # noqa: S608
            )
            self._phase("installments")
            self._breakdown(cur)
            self._phase("breakdown")
            self._post(cur)
            self._phase("ledger")
            self._count(cur)

    def _rows(self, cur: Any) -> None:
        """Each record with its installment: found by (levy, 期別), or new with a fresh id; its dates (the
        延滞金 runs from the 法定納期限 for a 申告納付 item, else from the 納期限); what it changes; and
        the ids of the ledger transactions it books. The old layout keeps an installment's 納期特例 and
        stamps as they are (it has no columns for them)."""
        inst = Installment._meta.db_table
        # New installments are numbered densely in file order on both databases (their id is in the
        # system's 納付番号, which must not depend on the database or on a join's order).
        if self.pg:
            new_inst = f"nextval('{id_sequence(inst)}'::regclass)"
        else:
            cur.execute(f"SELECT COALESCE(MAX(id), 0) FROM {inst}")  # noqa: S608
            new_inst = f"({int(cur.fetchone()[0])} + ROW_NUMBER() OVER (PARTITION BY q.found_id IS NULL ORDER BY q.line))"
        txn = self._new_id(cur, LedgerTransaction._meta.db_table, "s.line", 2)
        over = self._new_id(cur, LedgerTransaction._meta.db_table, "s.line", 2, 1)
        kept = {  # the old layout's value of a column it does not have: the installment's own
            "due_date_special": "COALESCE(i.due_date_special, '')",
            "operator": "COALESCE(i.source_operator, '')",
            "operated_on": "i.source_operated_on",
            "operated_time": "i.source_operated_time",
        }
        own = ", ".join(f"CASE WHEN s.detailed = 1 THEN s.{c} ELSE {v} END AS {c}" for c, v in kept.items())
        base = f"CASE WHEN k.assessment = '{Assessment.SELF.value}' THEN s.statutory_due_date ELSE s.due_date END"
        differs = f"""i.due_date <> s.due_date OR i.statutory_due_date <> s.statutory_due_date
                      OR i.designated_due_date <> s.designated_due_date OR i.late_charge_base_date <> {base}
                      OR (s.slip_no IS NOT NULL AND s.slip_no IS DISTINCT FROM i.slip_no)
                      OR (s.detailed = 1 AND (i.due_date_special <> s.due_date_special
                          OR i.source_operator <> s.operator
                          OR i.source_operated_on IS DISTINCT FROM s.operated_on
                          OR i.source_operated_time IS DISTINCT FROM s.operated_time))"""
        cur.execute(
            f"""CREATE TEMP TABLE {ROWS} AS
                SELECT q.line, q.tax_item, q.levy_id, q.taxpayer_id, q.installment_no, q.due_date,
                       q.statutory_due_date, q.designated_due_date, q.late_charge_base_date, q.due_date_special,
                       q.operator, q.operated_on, q.operated_time, q.principal, q.b1, q.b2, q.b3, q.detailed,
                       q.parts, q.slip_no, q.is_new, COALESCE(q.found_id, {new_inst}) AS inst_id, q.old_levied,
                       q.old_paid, q.old_outstanding, q.changed, q.touched, q.txn_id, q.over_txn_id
                FROM (
                SELECT s.line, s.tax_item, k.levy_id, k.taxpayer_id, s.installment_no, s.due_date,
                       s.statutory_due_date, s.designated_due_date, {base} AS late_charge_base_date, {own},
                       s.principal, s.b1, s.b2, s.b3, s.detailed, k.parts, s.slip_no,
                       i.id IS NULL AS is_new, i.id AS found_id,
                       i.principal_levied AS old_levied, i.principal_paid AS old_paid,
                       i.principal_outstanding AS old_outstanding,
                       i.id IS NOT NULL AND i.principal_levied = s.principal AND ({differs}) AS changed,
                       i.id IS NOT NULL AND ({differs}) AS touched,
                       CASE WHEN i.id IS NULL AND s.principal <> 0 THEN {txn}
                            WHEN i.id IS NOT NULL AND i.principal_levied <> s.principal THEN {txn} END AS txn_id,
                       CASE WHEN i.id IS NOT NULL AND i.principal_levied <> s.principal
                                 AND i.principal_paid > s.principal THEN {over} END AS over_txn_id
                FROM {STAGE} s
                JOIN {LEVIES} k ON {_on("k", "s")}
                LEFT JOIN {inst} i ON i.levy_id = k.levy_id AND i.installment_no = s.installment_no
                ORDER BY s.line) q""",  # noqa: S608 - PostgreSQL draws the new ids in this order
        )
        if not self.pg:  # SQLite joins by index; PostgreSQL hashes (given the statistics)
            cur.execute(f"CREATE INDEX {ROWS}_inst ON {ROWS} (inst_id)")
        analyze_tables(ROWS)

    def _breakdown(self, cur: Any) -> None:
        """期別内訳: each installment of an item with a breakdown has one row per component, its
        ``levied`` the file's amount (the standard's layout) or, in the old layout, the whole 本税 on
        the main component (seq 1). New installments get their rows (paid 0); a booked one's ``levied``
        follows the file — before the ledger posts a correction or an overpayment, whose split over
        the components reads it. A booked installment whose breakdown changed alone is ``updated``."""
        table = InstallmentBreakdown._meta.db_table
        levied = """CASE WHEN r.detailed = 1 THEN CASE p.seq WHEN 1 THEN r.b1 WHEN 2 THEN r.b2 WHEN 3 THEN r.b3 END
                         WHEN p.seq = 1 THEN r.principal ELSE 0 END"""
        cur.execute(f"SELECT 1 FROM {ROWS} WHERE parts > 0 LIMIT 1")  # noqa: S608
        if cur.fetchone() is None:
            return
        cur.execute(
            f"""UPDATE {ROWS} SET touched = TRUE, changed = (principal = old_levied)
                WHERE inst_id IN (
                    SELECT r.inst_id FROM {ROWS} r JOIN {PARTS} p ON p.tax_item = r.tax_item
                    LEFT JOIN {table} ib ON ib.installment_id = r.inst_id AND ib.seq = p.seq
                    WHERE NOT r.is_new AND r.parts > 0 AND NOT r.touched
                      AND (ib.levied IS NULL OR ib.levied <> {levied}))"""  # noqa: S608
        )
        cur.execute(
            f"""UPDATE {table} SET levied = x.levied
                FROM (SELECT r.inst_id, p.seq, {levied} AS levied FROM {ROWS} r
                      JOIN {PARTS} p ON p.tax_item = r.tax_item WHERE NOT r.is_new AND r.parts > 0) x
                WHERE {table}.installment_id = x.inst_id AND {table}.seq = x.seq AND {table}.levied <> x.levied"""  # noqa: S608
        )
        cur.execute(
            f"""INSERT INTO {table} (installment_id, municipality_id, seq, code, levied, paid)
                SELECT r.inst_id, %(m)s, p.seq, p.code, {levied}, 0
                FROM {ROWS} r JOIN {PARTS} p ON p.tax_item = r.tax_item
                WHERE r.parts > 0 AND (r.is_new OR NOT EXISTS (
                    SELECT 1 FROM {table} ib WHERE ib.installment_id = r.inst_id AND ib.seq = p.seq))""",  # noqa: S608
            self.p,
        )

    def _system_slips(self, cur: Any) -> None:
        """The system's 納付番号 for each new installment without one (computed in Python, from its id:
        ``slip_numbers.system_slip_no``), read back and COPYed a batch at a time."""
        cur.execute(f"CREATE TEMP TABLE {SLIPS} (inst_id bigint NOT NULL, slip_no varchar(16) NOT NULL)")
        ids = _read_ids(f"SELECT inst_id FROM {ROWS} WHERE is_new AND slip_no IS NULL")  # noqa: S608
        for batch in ids:
            copy_rows(SLIPS, ("inst_id", "slip_no"), [(i, system_slip_no(i)) for i in batch])
        cur.execute(f"CREATE INDEX {SLIPS}_inst ON {SLIPS} (inst_id)")
        analyze_tables(SLIPS)

    def _post(self, cur: Any) -> None:
        """調定 (new installments), 更正 (changed principals) and 過誤納 (a reduction below what was
        paid): one ledger transaction each, of the installment's taxpayer, through the ledger."""
        levy, corr, over = TxnKind.LEVY.value, TxnKind.CORRECTION.value, TxnKind.OVERPAYMENT.value
        recv, levied, op = Account.RECEIVABLE.value, Account.LEVIED.value, Account.OVERPAYMENT.value
        principal, none = Component.PRINCIPAL.value, Component.NONE.value
        memo = "'更正 ' || CAST(old_levied AS text) || '→' || CAST(principal AS text)"
        txns = f"""
            SELECT txn_id AS id, '{levy}' AS kind, %(d)s AS legal_date, %(d)s AS booking_date,
                   '調定取込' AS memo, CAST(NULL AS bigint) AS reverses_id
            FROM {ROWS} WHERE is_new AND txn_id IS NOT NULL
            UNION ALL
            SELECT txn_id, '{corr}', %(d)s, %(d)s, {memo}, NULL FROM {ROWS} WHERE NOT is_new AND txn_id IS NOT NULL
            UNION ALL
            SELECT over_txn_id, '{over}', %(d)s, %(d)s, '減額更正による過誤納', NULL
            FROM {ROWS} WHERE over_txn_id IS NOT NULL"""
        change = """CASE WHEN is_new THEN principal ELSE principal - old_levied END"""
        kind = f"CASE WHEN is_new THEN '{levy}' ELSE '{corr}' END"
        entries = f"""
            SELECT {kind} AS kind, txn_id, '{recv}' AS account, '{principal}' AS component,
                   inst_id AS installment_id, taxpayer_id, CAST(NULL AS bigint) AS payment_id, {change} AS amount
            FROM {ROWS} WHERE txn_id IS NOT NULL
            UNION ALL
            SELECT {kind}, txn_id, '{levied}', '{principal}', inst_id, taxpayer_id, NULL, -({change})
            FROM {ROWS} WHERE txn_id IS NOT NULL
            UNION ALL
            SELECT '{over}', over_txn_id, '{recv}', '{principal}', inst_id, taxpayer_id, NULL, old_paid - principal
            FROM {ROWS} WHERE over_txn_id IS NOT NULL
            UNION ALL
            SELECT '{over}', over_txn_id, '{op}', '{none}', NULL, taxpayer_id, NULL, principal - old_paid
            FROM {ROWS} WHERE over_txn_id IS NOT NULL"""
        expected = f"""SELECT inst_id AS installment_id, old_outstanding AS principal_outstanding
                       FROM {ROWS} WHERE NOT is_new AND txn_id IS NOT NULL"""
        post_selected(
            municipality_id=self.m,
            txns=txns,
            entries=entries,
            params={"d": self.booking_date if self.pg else self.booking_date.isoformat()},
            recorded_at=timezone.now(),
            actor_id=self.actor_id,
            job_id=self.job.pk,
            expected=expected,
        )

    def _count(self, cur: Any) -> None:
        cur.execute(
            f"""SELECT COALESCE(SUM(CASE WHEN is_new THEN 1 ELSE 0 END), 0),
                       COALESCE(SUM(CASE WHEN NOT is_new AND txn_id IS NOT NULL THEN 1 ELSE 0 END), 0),
                       COALESCE(SUM(CASE WHEN changed THEN 1 ELSE 0 END), 0),
                       COALESCE(SUM(CASE WHEN over_txn_id IS NOT NULL THEN 1 ELSE 0 END), 0),
                       COALESCE(SUM(CASE WHEN is_new THEN principal ELSE 0 END), 0),
                       COALESCE(SUM(CASE WHEN NOT is_new AND txn_id IS NOT NULL THEN principal - old_levied
                                    ELSE 0 END), 0)
                FROM {ROWS}"""  # noqa: S608
        )
        created, corrections, updated, overpayments, levied, corrected = (int(v) for v in cur.fetchone())
        s = self.summary
        s.created, s.corrections, s.updated = created, corrections, updated
        s.unchanged = s.rows - created - corrections - updated
        s.extra["overpayments"], s.extra["amount_levied"], s.extra["amount_corrected"] = (
            overpayments,
            levied,
            corrected,
        )


def _read_ids(sql: str) -> Iterator[list[int]]:
    """One column of ids read back a batch at a time (a server-side cursor on PostgreSQL)."""
    with connection.chunked_cursor() as cur:
        cur.execute(sql)
        while rows := cur.fetchmany(BATCH):
            yield [int(r[0]) for r in rows]
