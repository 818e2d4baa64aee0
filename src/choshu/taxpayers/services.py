"""Writes to 宛名: the feed import and (later) staff edits. Every change is a new revision."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from datetime import time as time_of_day
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
from choshu.formats.taxpayers_csv import TaxpayerRecord, parse_taxpayers
from choshu.taxpayers.crypto import encrypt_my_number, my_number_hash
from choshu.taxpayers.models import Taxpayer, TaxpayerRevision
from choshu.taxpayers.normalize import address_key, kana_key, name_key, phone_key

logger = logging.getLogger(__name__)

JOB_KIND = Job.Kind.IMPORT_TAXPAYERS

# Attributes compared and recorded in revisions (the My Number is compared by its keyed hash).
TRACKED = (
    "kind", "name", "name_kana", "birth_date", "sex", "postal_code", "address", "address_extra",
    "phone", "corporate_number", "resident", "deceased_on", "support_measure_from", "support_measure_until",
)  # fmt: skip
# The source system's stamps (標準の操作者ID・操作年月日・操作時刻): written with each change, not compared.
STAMPS = ("source_operator", "source_operated_on", "source_operated_time")
# Only the standard layout carries these: a file of the old layout leaves them as they are.
STANDARD_ONLY = ("support_measure_from", "support_measure_until", *STAMPS)


@dataclass
class ImportSummary:
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    corrections: int = 0
    already_imported: bool = False
    job_id: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "corrections": self.corrections,
            "already_imported": self.already_imported,
            "job_id": self.job_id,
            **self.extra,
        }


def revision_data(tp: Taxpayer) -> dict[str, Any]:
    """The attributes of one revision as JSON (dates ISO; My Number only as 'present or not')."""
    data: dict[str, Any] = {}
    for name in TRACKED:
        value = getattr(tp, name)
        data[name] = value.isoformat() if isinstance(value, date) else value
    data["my_number_registered"] = bool(tp.my_number_hash)
    data["mailing_postal_code"] = tp.mailing_postal_code
    data["mailing_address"] = tp.mailing_address
    return data


def apply_search_keys(tp: Taxpayer) -> None:
    tp.search_kana = kana_key(tp.name_kana)
    tp.search_name = name_key(tp.name)
    tp.search_address = address_key(tp.address + tp.address_extra)
    tp.search_phone = phone_key(tp.phone)


STAGE = "choshu_tp_stage"
NEW = "choshu_tp_new"
CHANGED = "choshu_tp_changed"
TABLES = (STAGE, NEW, CHANGED)
BATCH = 5000  # records parsed, encrypted and COPYed per batch
STAGE_COLUMNS = (
    "line", "taxpayer_no", *TRACKED[:11], "my_number_hash", "my_number_enc", *TRACKED[11:],
    "search_kana", "search_name", "search_address", "search_phone", *STAMPS,
)  # fmt: skip
STAGED_ATTRS = (
    *TRACKED, "my_number_hash", "search_kana", "search_name", "search_address", "search_phone", *STAMPS,
)  # fmt: skip
"""What an import writes onto a taxpayer (besides ``my_number_enc``, written only when the number changed)."""


def _duplicate_error(line: int, first: int, taxpayer_no: str) -> RowError:
    return RowError(line, "taxpayer_no", f"宛名番号が{first}行目と重複しています", taxpayer_no)


def taxpayers_import(
    *,
    municipality: Municipality,
    path: str | Path,
    actor: Any = None,
    job: Job | None = None,
    progress: Callable[[int], None] | None = None,
) -> ImportSummary:
    """Import ``taxpayers.csv`` (docs/formats.md §1). All or nothing; re-importing changes nothing.

    ``job``: the record made when the file was queued (browser uploads), else a new one is made.
    ``progress`` is told the rows read so far once per batch (``core.progress``).

    Either layout: a file of the old one (no 支援措置 period, no source stamps) leaves an existing
    person's period and stamps as they are. With ``Municipality.taxpayer_no_width`` set, every
    宛名番号 is matched and stored zero-filled to that width.

    The file is read as a stream: each batch of records is validated, its My Numbers encrypted and
    hashed, its search keys computed, and COPYed into a staging table; the whole file is validated
    before anything is decided (a bad row refuses the file: the transaction is rolled back). Then
    set-based SQL finds the new and the changed taxpayers by their 宛名番号 and writes them with their
    revisions. Memory does not grow with the file.
    """
    queued = job
    started = time.monotonic()
    summary = ImportSummary()
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
            phases = {"read_stage": 0.0}
            standard = _stage(source, str(path), summary, municipality.taxpayer_no_width, progress)
            phases["read_stage"] = round(time.monotonic() - started, 2)
            _write(municipality, job, actor, summary, standard=standard)
            phases["write"] = round(time.monotonic() - started - phases["read_stage"], 2)
            summary.job_id = job.pk
            job_finish(job, status=Job.Status.SUCCEEDED, counts=summary.as_dict())
            audit_record(
                kind=AuditKind.BATCH,
                function="宛名取込",
                municipality=municipality,
                user=actor,
                job=job,
                detail={"file": str(path), "sha256": source.sha256, **summary.as_dict()},
            )
            _drop(TABLES)
            logger.info("import phases %s", json.dumps(phases))
    except FileRefused as refused:
        _drop(TABLES)
        _record_refusal(municipality, str(path), refused, actor, queued)
        raise
    return summary


def _stage(
    source: CsvSource,
    file_name: str,
    summary: ImportSummary,
    width: int | None,
    progress: Callable[[int], None] | None = None,
) -> bool:
    """Parse the file into the staging table; refuse it (``FileRefused``) if any row is bad.
    True when the file has the standard layout (every row does: the header decides)."""
    pg = connection.vendor == "postgresql"
    _create_stage(pg)
    errors: list[RowError] = []
    standard = False
    with source.open() as text:
        batch: list[tuple[Any, ...]] = []
        for rec in parse_taxpayers(text, errors, file_name, taxpayer_no_width=width):
            standard = rec.standard
            batch.append(_stage_row(rec, pg))
            if len(batch) >= BATCH:
                copy_rows(STAGE, STAGE_COLUMNS, batch)
                summary.rows += len(batch)
                batch = []
                if progress is not None:
                    progress(summary.rows)
        copy_rows(STAGE, STAGE_COLUMNS, batch)
        summary.rows += len(batch)
        if progress is not None:
            progress(summary.rows)
    analyze_tables(STAGE)
    with connection.cursor() as cur:
        # whether a number repeats at all (a hash aggregate); the rows, in file order, only then
        cur.execute(
            f"SELECT EXISTS (SELECT 1 FROM {STAGE} GROUP BY taxpayer_no HAVING COUNT(*) > 1)"  # noqa: S608
        )
        repeated = bool(cur.fetchone()[0])
    if repeated:
        _find_duplicates(errors)
    if errors:
        errors.sort(key=lambda e: e.line)  # stable: a row's own errors before its duplicate number
        raise FileRefused(errors, file_name)
    return standard


def _find_duplicates(errors: list[RowError]) -> None:
    with connection.cursor() as cur:
        cur.execute(
            f"""SELECT line, first, taxpayer_no FROM (
                    SELECT line, taxpayer_no, MIN(line) OVER (PARTITION BY taxpayer_no) AS first FROM {STAGE}
                ) d WHERE line <> first ORDER BY line LIMIT {MAX_ERRORS}"""  # noqa: S608 - constants
        )
        errors.extend(_duplicate_error(line, first, no) for line, first, no in cur.fetchall())


def _create_stage(pg: bool) -> None:
    blob, flag = ("bytea", "boolean") if pg else ("blob", "integer")
    _drop(TABLES)
    with connection.cursor() as cur:
        cur.execute(
            f"""CREATE TEMP TABLE {STAGE} (line integer NOT NULL, taxpayer_no varchar(15) NOT NULL,
                kind varchar(12) NOT NULL, name varchar(200) NOT NULL, name_kana varchar(200) NOT NULL,
                birth_date date, sex varchar(1) NOT NULL, postal_code varchar(8) NOT NULL,
                address varchar(300) NOT NULL, address_extra varchar(300) NOT NULL, phone varchar(30) NOT NULL,
                corporate_number varchar(13) NOT NULL, resident {flag} NOT NULL,
                my_number_hash varchar(64) NOT NULL, my_number_enc {blob}, deceased_on date,
                support_measure_from date, support_measure_until date,
                search_kana varchar(200) NOT NULL, search_name varchar(200) NOT NULL,
                search_address varchar(400) NOT NULL, search_phone varchar(30) NOT NULL,
                source_operator varchar(20) NOT NULL, source_operated_on date, source_operated_time time)"""
        )


def _stage_row(rec: TaxpayerRecord, pg: bool) -> tuple[Any, ...]:
    """A record as staged: its My Number encrypted and hashed (per value, in Python: the irreducible
    cost) and its search keys."""
    number = rec.my_number
    dates: list[date | time_of_day | str | None] = [
        rec.birth_date, rec.deceased_on, rec.support_measure_from, rec.support_measure_until,
        rec.source_operated_on, rec.source_operated_time,
    ]  # fmt: skip
    if not pg:
        dates = [d.isoformat() if isinstance(d, date | time_of_day) else d for d in dates]
    birth, deceased, sm_from, sm_until, operated_on, operated_time = dates
    return (
        rec.line, rec.taxpayer_no, rec.kind, rec.name, rec.name_kana, birth, rec.sex, rec.postal_code,
        rec.address, rec.address_extra, rec.phone, rec.corporate_number, rec.resident,
        my_number_hash(number) if number else "", encrypt_my_number(number) if number else None, deceased,
        sm_from, sm_until,
        kana_key(rec.name_kana), name_key(rec.name), address_key(rec.address + rec.address_extra),
        phone_key(rec.phone), rec.source_operator, operated_on, operated_time,
    )  # fmt: skip


def _revision_json(
    pg: bool, mailing_postal_code: str, mailing_address: str, kept: tuple[str, ...] = ()
) -> str:
    """SQL building a revision's ``data`` from a staged row ``s`` as ``revision_data`` does from a
    taxpayer (dates ISO, the My Number only as registered or not); ``kept`` are read from the
    taxpayer ``t`` instead (what an old-layout file leaves as it is)."""
    src = {name: f"t.{name}" if name in kept else f"s.{name}" for name in TRACKED}
    if pg:
        pairs = [f"'{name}', {src[name]}" for name in TRACKED]
        pairs.append("'my_number_registered', s.my_number_hash <> ''")
        build = "jsonb_build_object"
    else:
        pairs = [f"'{name}', {src[name]}" for name in TRACKED if name != "resident"]
        pairs.insert(
            TRACKED.index("resident"), "'resident', json(CASE WHEN s.resident THEN 'true' ELSE 'false' END)"
        )
        pairs.append(
            "'my_number_registered', json(CASE WHEN s.my_number_hash <> '' THEN 'true' ELSE 'false' END)"
        )
        build = "json_object"
    pairs += [f"'mailing_postal_code', {mailing_postal_code}", f"'mailing_address', {mailing_address}"]
    return f"{build}({', '.join(pairs)})"


def _write(
    municipality: Municipality, job: Job, actor: Any, summary: ImportSummary, *, standard: bool
) -> None:
    """New taxpayers and changed ones, with their revisions, in a few statements."""
    pg = connection.vendor == "postgresql"
    m = municipality.pk
    now = timezone.now()
    params = {"m": m, "now": now, "user": actor.pk if getattr(actor, "is_authenticated", False) else None,
              "job": job.pk}  # fmt: skip
    analyze_if_stale(Taxpayer._meta.db_table)
    tp, rev = Taxpayer._meta.db_table, TaxpayerRevision._meta.db_table
    staged = ", ".join(f"s.{c}" for c in STAGE_COLUMNS[1:])
    data = _revision_json(pg, "''", "''")
    with connection.cursor() as cur:
        if pg:
            new_id = f"nextval('{id_sequence(tp)}'::regclass)"
        else:
            cur.execute(f"SELECT COALESCE(MAX(id), 0) FROM {tp}")  # noqa: S608
            new_id = f"{int(cur.fetchone()[0])} + s.line"  # one writer; ids need not be dense
        cur.execute(
            f"""CREATE TEMP TABLE {NEW} AS SELECT {new_id} AS id, {staged}, {data} AS data FROM {STAGE} s
                WHERE NOT EXISTS (SELECT 1 FROM {tp} t
                                  WHERE t.municipality_id = %(m)s AND t.taxpayer_no = s.taxpayer_no)""",  # noqa: S608
            params,
        )
        columns = ", ".join(STAGE_COLUMNS[1:])
        cur.execute(
            f"""INSERT INTO {tp} (id, municipality_id, {columns}, mailing_postal_code, mailing_address,
                    revision, is_active, created_at, updated_at)
                SELECT id, %(m)s, {columns}, '', '', 1, %(true)s, %(now)s, %(now)s FROM {NEW}""",  # noqa: S608
            {**params, "true": True},
        )
        jsonb = "::jsonb" if pg else ""
        cur.execute(
            f"""INSERT INTO {rev} (municipality_id, taxpayer_id, revision, data, changed_fields, changed_at,
                    changed_by_id, job_id, reason)
                SELECT %(m)s, id, 1, data, '["created"]'{jsonb}, %(now)s, %(user)s, %(job)s, '宛名取込(新規)'
                FROM {NEW}""",  # noqa: S608
            params,
        )
        summary.created = _count(cur, NEW)
        _write_changes(cur, pg, params, kept=() if standard else STANDARD_ONLY)
        summary.updated = _count(cur, CHANGED)
    summary.unchanged = summary.rows - summary.created - summary.updated


def _write_changes(cur: Any, pg: bool, params: dict[str, Any], *, kept: tuple[str, ...]) -> None:
    """Changed taxpayers: a new revision each. ``kept`` attributes are the taxpayer's own (not
    compared, not overwritten): an old-layout file has no 支援措置 period or stamps."""
    tp, rev = Taxpayer._meta.db_table, TaxpayerRevision._meta.db_table
    # changed_fields as TRACKED orders them, then "my_number" (compared by its keyed hash)
    names = [*TRACKED, "my_number"]
    compared = [*TRACKED, "my_number_hash"]
    flags = " || ".join(
        f"CASE WHEN s.{c} IS DISTINCT FROM t.{c} THEN '\"{n}\",' ELSE '' END"
        for c, n in zip(compared, names, strict=True)
        if c not in kept
    )
    data = _revision_json(pg, "t.mailing_postal_code", "t.mailing_address", kept)
    staged = ", ".join(f"t.{c} AS {c}" if c in kept else f"s.{c}" for c in STAGE_COLUMNS[1:])
    cur.execute(
        f"""CREATE TEMP TABLE {CHANGED} AS
            SELECT * FROM (
                SELECT t.id, t.revision + 1 AS revision, {staged},
                       s.my_number_hash <> t.my_number_hash AS number_changed,
                       '[' || RTRIM({flags}, ',') || ']' AS changed_fields, {data} AS data
                FROM {STAGE} s JOIN {tp} t ON t.municipality_id = %(m)s AND t.taxpayer_no = s.taxpayer_no
            ) c WHERE changed_fields <> '[]'""",  # noqa: S608
        params,
    )
    sets = ", ".join(f"{c} = c.{c}" for c in STAGED_ATTRS)
    cur.execute(
        f"""UPDATE {tp} SET {sets}, revision = c.revision, updated_at = %(now)s,
                my_number_enc = CASE WHEN c.number_changed THEN c.my_number_enc ELSE {tp}.my_number_enc END
            FROM {CHANGED} c WHERE {tp}.id = c.id""",  # noqa: S608
        params,
    )
    jsonb = "::jsonb" if pg else ""
    cur.execute(
        f"""INSERT INTO {rev} (municipality_id, taxpayer_id, revision, data, changed_fields, changed_at,
                changed_by_id, job_id, reason)
            SELECT %(m)s, id, revision, data, changed_fields{jsonb}, %(now)s, %(user)s, %(job)s, '宛名取込(異動)'
            FROM {CHANGED}""",  # noqa: S608
        params,
    )


def _count(cur: Any, table: str) -> int:
    cur.execute(f"SELECT COUNT(*) FROM {table}")  # noqa: S608 - constant table names
    return int(cur.fetchone()[0])


def _drop(tables: Iterable[str]) -> None:
    with connection.cursor() as cur:
        for table in tables:
            cur.execute(f"DROP TABLE IF EXISTS {table}")


def _record_refusal(
    municipality: Municipality, file_name: str, refused: FileRefused, actor: Any, job: Job | None = None
) -> None:
    job = job_start(municipality=municipality, kind=JOB_KIND, actor=actor, file_name=file_name, job=job)
    job_finish(job, status=Job.Status.REFUSED, errors=[e.as_dict() for e in refused.errors[:200]])
