"""Imports of the records about a 宛名 (issue 12 §4): 送付先・連絡先, 代理人・納税管理人, 共有者, 相続人,
特別徴収義務者 and 特別徴収対象者 — one file and one command each (docs/formats.md §7–§12).

Every import runs as ``taxpayers.services`` does: the file is read as a stream and its valid rows are
COPYed into a temporary stage table in batches; the checks that need the whole file or the database
(an unknown 宛名番号 or 指定番号, a key twice in the file, a kind of 宛名 that does not fit, one 代表者
per group) are set-based queries over it, and any problem refuses the whole file (nothing is written).
Then one plan row per record says what happens to it, and a few statements write it:

- a key without a current record: a new record (``revision`` = the key's last revision + 1);
- a key whose current record differs in a compared attribute: the current row loses ``is_current``
  and a new row (revision + 1) holds the new values — nothing is overwritten;
- ``delete_flag`` 1 on a key with a current record: the record is *ended*: the current row loses
  ``is_current`` and a closing revision (revision + 1, same values, ``is_current`` false) records who
  ended it, when, from which file and the source system's stamps. A key with no current row is ended;
  ending it again changes nothing;
- anything else is unchanged. The source stamps alone do not make a change: they are written with each
  new revision.

So the same file twice changes nothing (``already_imported`` says it was seen), and neither does
another file with the same content.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Iterator
from dataclasses import asdict, dataclass, field
from datetime import date, time
from pathlib import Path
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from choshu.audit.models import AuditKind
from choshu.audit.services import audit_record
from choshu.core.bulk import analyze_if_stale, analyze_tables, copy_rows
from choshu.core.models import Job, Municipality
from choshu.core.services import file_already_imported, job_finish, job_start
from choshu.formats import related_csv as layouts
from choshu.formats.csvfile import MAX_ERRORS, CsvSource, open_strict
from choshu.formats.errors import FileRefused, RowError
from choshu.taxpayers.models import (
    CoOwner,
    Heir,
    MailingAddress,
    RelatedRecord,
    Representative,
    SpecialCollectionEmployee,
    SpecialCollector,
    Taxpayer,
    TaxpayerKind,
)

logger = logging.getLogger(__name__)

STAGE = "choshu_rel_stage"
PLAN = "choshu_rel_plan"
TABLES = (STAGE, PLAN)
BATCH = 5000
STAMP_COLUMNS = (("delete_flag", "flag"), ("source_operator", "varchar(20)"),
                 ("source_operated_on", "date"), ("source_operated_time", "time"))  # fmt: skip
UNKNOWN_TAXPAYER = "宛名番号が登録されていません（先に宛名を取り込んでください）"


@dataclass
class RelatedImportSummary:
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    ended: int = 0
    already_imported: bool = False
    job_id: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Ref:
    """A 宛名番号 column of the file, resolved to the id of the municipality's 宛名."""

    column: str  # the stage column holding the number (also the file's column)
    target: str  # the stage / model column receiving the id


@dataclass(frozen=True)
class Check:
    """A rule over the staged rows and the database: ``sql`` selects ``(line, value)`` of bad rows,
    from ``{stage} s`` (``{tp}`` = the 宛名 table, ``{sc}`` = the 特別徴収義務者 table, ``%(m)s``)."""

    column: str
    reason: str
    sql: str


@dataclass(frozen=True)
class Spec:
    """One layout's import: what is staged, how a record is keyed and what counts as a change."""

    kind: Job.Kind
    function: str  # the audit log's and the revision reason's Japanese name
    model: type[RelatedRecord]
    parse: Callable[..., Iterator[Any]]
    stage: tuple[tuple[str, str], ...]  # (column, type) of the record as parsed, in the record's order
    refs: tuple[Ref, ...]
    file_key: tuple[str, ...]  # stage columns: a key twice in the file is refused
    key: tuple[tuple[str, str], ...]  # (model expression on c, stage expression on s) of the record key
    written: tuple[str, ...]  # model columns written from the stage columns of the same name
    compared: tuple[str, ...]  # model columns compared for a change
    key_label: str
    match_from: str = "{model} c"  # FROM clause reaching the key's model expressions
    checks: tuple[Check, ...] = ()
    representative_group: tuple[str, ...] = ()  # one 代表者 per group of these model/stage columns
    representative_label: str = ""
    uses_tax_items: bool = False
    extra_ids: tuple[tuple[str, str], ...] = ()  # (stage column, type) filled by a resolver
    resolve: tuple[tuple[str, str, str], ...] = ()  # (target, sql, column/reason when not found)


def _sql_type(kind: str, pg: bool) -> str:
    if kind == "flag":
        return "boolean" if pg else "integer"
    if kind == "time":
        return "time" if pg else "varchar(15)"
    return kind


# --- the six layouts -----------------------------------------------------------------------------

_TP = Taxpayer._meta.db_table
_SC = SpecialCollector._meta.db_table

MAILING = Spec(
    kind=Job.Kind.IMPORT_MAILING_ADDRESSES,
    function="送付先取込",
    model=MailingAddress,
    parse=layouts.parse_mailing_addresses,
    stage=(
        ("taxpayer_no", "varchar(15)"),
        ("tax_item", "varchar(2)"),
        ("vehicle_no", "varchar(20)"),
        ("name", "varchar(200)"),
        ("name_kana", "varchar(200)"),
        ("postal_code", "varchar(7)"),
        ("address", "varchar(300)"),
        ("address_extra", "varchar(300)"),
        ("kind", "varchar(2)"),
        ("set_reason", "varchar(100)"),
        ("phone", "varchar(30)"),
        ("valid_from", "date"),
        ("valid_until", "date"),
        ("memo", "varchar(200)"),
    ),  # fmt: skip
    refs=(Ref("taxpayer_no", "taxpayer_id"),),
    file_key=("taxpayer_no", "tax_item", "vehicle_no"),
    key=(("c.taxpayer_id", "s.taxpayer_id"), ("c.tax_item", "s.tax_item"), ("c.vehicle_no", "s.vehicle_no")),
    written=(
        "taxpayer_id",
        "tax_item",
        "vehicle_no",
        "name",
        "name_kana",
        "postal_code",
        "address",
        "address_extra",
        "kind",
        "set_reason",
        "phone",
        "valid_from",
        "valid_until",
        "memo",
    ),  # fmt: skip
    compared=(
        "name",
        "name_kana",
        "postal_code",
        "address",
        "address_extra",
        "kind",
        "set_reason",
        "phone",
        "valid_from",
        "valid_until",
        "memo",
    ),  # fmt: skip
    key_label="同じ宛名番号・業務詳細（科目）コード・軽自管理番号の送付先",
    uses_tax_items=True,
)

REPRESENTATIVES = Spec(
    kind=Job.Kind.IMPORT_REPRESENTATIVES,
    function="代理人・納税管理人取込",
    model=Representative,
    parse=layouts.parse_representatives,
    stage=(
        ("taxpayer_no", "varchar(15)"),
        ("agent_taxpayer_no", "varchar(15)"),
        ("tax_item", "varchar(2)"),
        ("role", "varchar(12)"),
        ("valid_from", "date"),
        ("valid_until", "date"),
        ("phone", "varchar(30)"),
        ("memo", "varchar(200)"),
    ),  # fmt: skip
    refs=(Ref("taxpayer_no", "taxpayer_id"), Ref("agent_taxpayer_no", "agent_id")),
    file_key=("taxpayer_no", "agent_taxpayer_no", "tax_item", "valid_from"),
    key=(
        ("c.taxpayer_id", "s.taxpayer_id"),
        ("c.agent_id", "s.agent_id"),
        ("c.tax_item", "s.tax_item"),
        ("c.valid_from", "s.valid_from"),
    ),  # fmt: skip
    written=("taxpayer_id", "agent_id", "tax_item", "role", "valid_from", "valid_until", "phone", "memo"),
    compared=("role", "valid_until", "phone", "memo"),
    key_label="同じ宛名番号・代理人・業務詳細（科目）コード・有効期間開始日の代理人",
    uses_tax_items=True,
)

CO_OWNERS = Spec(
    kind=Job.Kind.IMPORT_CO_OWNERS,
    function="共有者取込",
    model=CoOwner,
    parse=layouts.parse_co_owners,
    stage=(
        ("ownership_taxpayer_no", "varchar(15)"),
        ("levy_year", "integer"),
        ("asset_group_no", "varchar(20)"),
        ("member_seq", "integer"),
        ("member_taxpayer_no", "varchar(15)"),
        ("is_representative", "flag"),
        ("share_numerator", "bigint"),
        ("share_denominator", "bigint"),
    ),  # fmt: skip
    refs=(Ref("ownership_taxpayer_no", "ownership_id"), Ref("member_taxpayer_no", "member_id")),
    file_key=("ownership_taxpayer_no", "levy_year", "asset_group_no", "member_seq"),
    key=(
        ("c.ownership_id", "s.ownership_id"),
        ("c.levy_year", "s.levy_year"),
        ("c.asset_group_no", "s.asset_group_no"),
        ("c.member_seq", "s.member_seq"),
    ),  # fmt: skip
    written=(
        "ownership_id",
        "levy_year",
        "asset_group_no",
        "member_seq",
        "member_id",
        "is_representative",
        "share_numerator",
        "share_denominator",
    ),  # fmt: skip
    compared=("member_id", "is_representative", "share_numerator", "share_denominator"),
    key_label="同じ共有の宛名番号・課税年度・共有資産番号・構成員連番の共有者",
    checks=(
        Check(
            "ownership_taxpayer_no",
            "この宛名は共有（区分 co_ownership）ではありません",
            f"SELECT s.line, s.ownership_taxpayer_no FROM {{stage}} s JOIN {_TP} t ON t.id = s.ownership_id "
            f"WHERE t.kind <> '{TaxpayerKind.CO_OWNERSHIP.value}'",
        ),
        Check(
            "member_taxpayer_no",
            "共有の宛名は構成員になれません（個人・法人の宛名番号を指定してください）",
            f"SELECT s.line, s.member_taxpayer_no FROM {{stage}} s JOIN {_TP} t ON t.id = s.member_id "
            f"WHERE t.kind = '{TaxpayerKind.CO_OWNERSHIP.value}'",
        ),
    ),  # fmt: skip
    representative_group=("ownership_id", "levy_year"),
    representative_label="共有・課税年度",
)

HEIRS = Spec(
    kind=Job.Kind.IMPORT_HEIRS,
    function="相続人取込",
    model=Heir,
    parse=layouts.parse_heirs,
    stage=(
        ("deceased_taxpayer_no", "varchar(15)"),
        ("seq", "integer"),
        ("heir_taxpayer_no", "varchar(15)"),
        ("is_representative", "flag"),
        ("share_numerator", "bigint"),
        ("share_denominator", "bigint"),
        ("since", "date"),
    ),  # fmt: skip
    refs=(Ref("deceased_taxpayer_no", "deceased_id"), Ref("heir_taxpayer_no", "heir_id")),
    file_key=("deceased_taxpayer_no", "seq"),
    key=(("c.deceased_id", "s.deceased_id"), ("c.seq", "s.seq")),
    written=(
        "deceased_id",
        "seq",
        "heir_id",
        "is_representative",
        "share_numerator",
        "share_denominator",
        "since",
    ),  # fmt: skip
    compared=("heir_id", "is_representative", "share_numerator", "share_denominator", "since"),
    key_label="同じ被相続人・連番の相続人",
    checks=(
        Check(
            "deceased_taxpayer_no",
            "被相続人の宛名に死亡日が登録されていません（先に宛名の死亡日を取り込んでください）",
            f"SELECT s.line, s.deceased_taxpayer_no FROM {{stage}} s JOIN {_TP} t ON t.id = s.deceased_id "
            "WHERE t.deceased_on IS NULL",
        ),
    ),  # fmt: skip
    representative_group=("deceased_id",),
    representative_label="被相続人",
)

SPECIAL_COLLECTORS = Spec(
    kind=Job.Kind.IMPORT_SPECIAL_COLLECTORS,
    function="特別徴収義務者取込",
    model=SpecialCollector,
    parse=layouts.parse_special_collectors,
    stage=(
        ("designation_no", "varchar(20)"),
        ("taxpayer_no", "varchar(15)"),
        ("name", "varchar(200)"),
        ("due_date_special", "flag"),
        ("contact_name", "varchar(100)"),
        ("contact_phone", "varchar(30)"),
    ),  # fmt: skip
    refs=(Ref("taxpayer_no", "taxpayer_id"),),
    file_key=("designation_no",),
    key=(("c.designation_no", "s.designation_no"),),
    written=("designation_no", "taxpayer_id", "name", "due_date_special", "contact_name", "contact_phone"),
    compared=("taxpayer_id", "name", "due_date_special", "contact_name", "contact_phone"),
    key_label="同じ特別徴収義務者指定番号",
)

SPECIAL_EMPLOYEES = Spec(
    kind=Job.Kind.IMPORT_SPECIAL_EMPLOYEES,
    function="特別徴収対象者取込",
    model=SpecialCollectionEmployee,
    parse=layouts.parse_special_employees,
    stage=(
        ("designation_no", "varchar(20)"),
        ("employee_taxpayer_no", "varchar(15)"),
        ("levy_year", "integer"),
        ("annual_amount", "bigint"),
        ("start_month", "varchar(7)"),
        ("end_date", "date"),
    ),  # fmt: skip
    refs=(Ref("employee_taxpayer_no", "employee_id"),),
    extra_ids=(("collector_id", "bigint"),),
    resolve=(
        (
            "collector_id",
            f"SELECT c.id FROM {_SC} c WHERE c.municipality_id = %(m)s AND c.is_current "
            "AND c.designation_no = {stage}.designation_no",
            "designation_no|特別徴収義務者指定番号が登録されていません（先に特別徴収義務者を取り込んでください）",
        ),
    ),  # fmt: skip
    file_key=("designation_no", "employee_taxpayer_no", "levy_year"),
    # an employee's rows point at the collector's revision current when they were written: the record
    # is keyed by the 指定番号, which every revision of the collector keeps
    match_from=f"{{model}} c JOIN {_SC} cc ON cc.id = c.collector_id",
    key=(
        ("cc.designation_no", "s.designation_no"),
        ("c.employee_id", "s.employee_id"),
        ("c.levy_year", "s.levy_year"),
    ),  # fmt: skip
    written=("collector_id", "employee_id", "levy_year", "annual_amount", "start_month", "end_date"),
    compared=("annual_amount", "start_month", "end_date"),
    key_label="同じ特別徴収義務者指定番号・宛名番号・賦課年度の特別徴収対象者",
)


# --- the public entry points ---------------------------------------------------------------------


def mailing_addresses_import(
    *, municipality: Municipality, path: str | Path, tax_items: Collection[str], actor: Any = None
) -> RelatedImportSummary:
    """``mailing_addresses.csv`` (標準 036o014). ``tax_items``: the codes of the municipality's
    税目マスタ (``levies.tax_items.catalog``), which this layer cannot read itself."""
    return _import(MAILING, municipality, path, actor, tax_items)


def representatives_import(
    *, municipality: Municipality, path: str | Path, tax_items: Collection[str], actor: Any = None
) -> RelatedImportSummary:
    """``representatives.csv`` (標準 036o013); ``tax_items`` as for ``mailing_addresses_import``."""
    return _import(REPRESENTATIVES, municipality, path, actor, tax_items)


def co_owners_import(
    *, municipality: Municipality, path: str | Path, actor: Any = None
) -> RelatedImportSummary:
    """``co_owners.csv`` (標準 036o011)."""
    return _import(CO_OWNERS, municipality, path, actor, ())


def heirs_import(*, municipality: Municipality, path: str | Path, actor: Any = None) -> RelatedImportSummary:
    """``heirs.csv`` (承継納税義務者, 標準 2.13)."""
    return _import(HEIRS, municipality, path, actor, ())


def special_collectors_import(
    *, municipality: Municipality, path: str | Path, actor: Any = None
) -> RelatedImportSummary:
    """``special_collectors.csv`` (特別徴収義務者)."""
    return _import(SPECIAL_COLLECTORS, municipality, path, actor, ())


def special_employees_import(
    *, municipality: Municipality, path: str | Path, actor: Any = None
) -> RelatedImportSummary:
    """``special_employees.csv`` (特別徴収対象者)."""
    return _import(SPECIAL_EMPLOYEES, municipality, path, actor, ())


# --- one run -----------------------------------------------------------------------------------


def _import(
    spec: Spec, municipality: Municipality, path: str | Path, actor: Any, tax_items: Collection[str]
) -> RelatedImportSummary:
    summary = RelatedImportSummary()
    file_name = str(path)
    try:
        with transaction.atomic():
            source = open_strict(path, file_name)
            summary.already_imported = file_already_imported(
                municipality=municipality, kind=spec.kind, sha256=source.sha256
            )
            job = job_start(
                municipality=municipality, kind=spec.kind, actor=actor, file_name=file_name,
                file_sha256=source.sha256,
            )  # fmt: skip
            run = _Run(spec, municipality, job, actor, summary)
            run.stage(source, file_name, tax_items)
            run.check(file_name)
            run.write()
            summary.job_id = job.pk
            job_finish(job, status=Job.Status.SUCCEEDED, counts=summary.as_dict())
            audit_record(
                kind=AuditKind.BATCH,
                function=spec.function,
                municipality=municipality,
                user=actor,
                job=job,
                detail={"file": file_name, "sha256": source.sha256, **summary.as_dict()},
            )
            _drop()
    except FileRefused as refused:
        _drop()
        job = job_start(municipality=municipality, kind=spec.kind, actor=actor, file_name=file_name)
        job_finish(job, status=Job.Status.REFUSED, errors=[e.as_dict() for e in refused.errors[:200]])
        raise
    return summary


def _drop() -> None:
    with connection.cursor() as cur:
        for table in TABLES:
            cur.execute(f"DROP TABLE IF EXISTS {table}")


@dataclass
class _Run:
    spec: Spec
    municipality: Municipality
    job: Job
    actor: Any
    summary: RelatedImportSummary
    errors: list[RowError] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.pg = connection.vendor == "postgresql"
        self.p: dict[str, Any] = {"m": self.municipality.pk}
        self.table = self.spec.model._meta.db_table

    def _sql(self, text: str) -> str:
        return text.replace("{stage}", STAGE).replace("{model}", self.table)

    # -- stage ------------------------------------------------------------------------------------

    def stage(self, source: CsvSource, file_name: str, tax_items: Collection[str]) -> None:
        spec = self.spec
        _drop()
        ids = [(ref.target, "bigint") for ref in spec.refs] + list(spec.extra_ids)
        columns = [("line", "integer NOT NULL"), *spec.stage, *STAMP_COLUMNS, *ids]
        with connection.cursor() as cur:
            typed = ", ".join(f"{name} {_sql_type(kind, self.pg)}" for name, kind in columns)
            cur.execute(f"CREATE TEMP TABLE {STAGE} ({typed})")
        names = [name for name, _ in columns[: len(columns) - len(ids)]]
        options: dict[str, Any] = {"taxpayer_no_width": self.municipality.taxpayer_no_width}
        if spec.uses_tax_items:
            options["tax_items"] = frozenset(tax_items)
        with source.open() as text:
            batch: list[tuple[Any, ...]] = []
            for record in spec.parse(text, self.errors, file_name, **options):
                batch.append(self._row(record))
                if len(batch) >= BATCH:
                    copy_rows(STAGE, names, batch)
                    self.summary.rows += len(batch)
                    batch = []
            copy_rows(STAGE, names, batch)
            self.summary.rows += len(batch)
        with connection.cursor() as cur:
            cur.execute(f"CREATE INDEX {STAGE}_line ON {STAGE} (line)")
        analyze_tables(STAGE)

    def _row(self, record: Any) -> tuple[Any, ...]:
        """A parsed record as staged: its fields, then 削除フラグ and the source stamps."""
        *values, stamps = record
        row = (*values, *stamps)
        if self.pg:
            return row
        return tuple(v.isoformat() if isinstance(v, date | time) else v for v in row)

    # -- check ------------------------------------------------------------------------------------

    def check(self, file_name: str) -> None:
        with connection.cursor() as cur:
            self._duplicates(cur)
            analyze_if_stale(_TP, self.table)
            unresolved = self._resolve(cur)
            key = ", ".join(stage.removeprefix("s.") for _, stage in self.spec.key)
            cur.execute(f"CREATE INDEX {STAGE}_key ON {STAGE} ({key})")
            analyze_tables(STAGE)
            for check in self.spec.checks:
                self._collect(cur, check.column, check.reason, self._sql(check.sql))
            if not unresolved and self.spec.representative_group and not self.errors:
                self._one_representative(cur)
        if self.errors:
            self.errors.sort(key=lambda e: e.line)
            raise FileRefused(self.errors[:MAX_ERRORS], file_name)

    def _collect(self, cur: Any, column: str, reason: str, sql: str) -> int:
        cur.execute(f"{sql} ORDER BY 1 LIMIT {MAX_ERRORS}", self.p)
        found = cur.fetchall()
        self.errors.extend(RowError(line, column, reason, str(value)) for line, value in found)
        return len(found)

    def _duplicates(self, cur: Any) -> None:
        key = ", ".join(self.spec.file_key)
        cur.execute(f"SELECT EXISTS (SELECT 1 FROM {STAGE} GROUP BY {key} HAVING COUNT(*) > 1)")  # noqa: S608
        if not cur.fetchone()[0]:
            return
        first = self.spec.file_key[0]
        cur.execute(
            f"""SELECT line, first, {first} FROM (
                    SELECT line, {first}, MIN(line) OVER (PARTITION BY {key}) AS first FROM {STAGE}
                ) d WHERE line <> first ORDER BY line LIMIT {MAX_ERRORS}"""  # noqa: S608
        )
        self.errors.extend(
            RowError(line, first, f"{self.spec.key_label}が{first_line}行目にもあります", str(value))
            for line, first_line, value in cur.fetchall()
        )

    def _resolve(self, cur: Any) -> int:
        """Fill the ids of the 宛名番号 (and 指定番号) columns; record the rows naming none."""
        missing = 0
        for ref in self.spec.refs:
            cur.execute(
                f"""UPDATE {STAGE} SET {ref.target} = (SELECT t.id FROM {_TP} t
                    WHERE t.municipality_id = %(m)s AND t.taxpayer_no = {STAGE}.{ref.column})
                    WHERE {ref.column} <> ''""",  # noqa: S608
                self.p,
            )
            missing += self._collect(
                cur,
                ref.column,
                UNKNOWN_TAXPAYER,
                f"SELECT line, {ref.column} FROM {STAGE} WHERE {ref.target} IS NULL AND {ref.column} <> ''",  # noqa: S608
            )
        for target, sql, failure in self.spec.resolve:
            column, reason = failure.split("|", 1)
            cur.execute(f"UPDATE {STAGE} SET {target} = ({self._sql(sql)})", self.p)  # noqa: S608
            missing += self._collect(
                cur,
                column,
                reason,
                f"SELECT line, {column} FROM {STAGE} WHERE {target} IS NULL",  # noqa: S608
            )
        return missing

    def _match(self, current_only: bool) -> str:
        where = " AND ".join(f"{c} = {s}" for c, s in self.spec.key)
        current = " AND c.is_current" if current_only else ""
        return f"FROM {self._sql(self.spec.match_from)} WHERE c.municipality_id = %(m)s{current} AND {where}"

    def _one_representative(self, cur: Any) -> None:
        """Exactly one 代表者 per group once the file is applied: the file's rows that are not ended,
        and the current records of the same groups that the file does not replace."""
        group = self.spec.representative_group
        cols = ", ".join(group)
        on = " AND ".join(f"c.{g} = t.{g}" for g in group)
        replaced = " AND ".join(f"{c} = {s}" for c, s in self.spec.key)
        rep = "CASE WHEN r.is_representative THEN 1 ELSE 0 END"
        cur.execute(
            f"""WITH touched AS (SELECT {cols}, MIN(line) AS first FROM {STAGE} GROUP BY {cols}),
                result AS (
                    SELECT {cols}, is_representative FROM {STAGE} WHERE NOT delete_flag
                    UNION ALL
                    SELECT {", ".join(f"c.{g}" for g in group)}, c.is_representative
                    FROM {self.table} c JOIN touched t ON {on}
                    WHERE c.municipality_id = %(m)s AND c.is_current
                      AND NOT EXISTS (SELECT 1 FROM {STAGE} s WHERE {replaced})
                )
                SELECT t.first, SUM({rep}) FROM result r
                JOIN touched t ON {" AND ".join(f"r.{g} = t.{g}" for g in group)}
                GROUP BY t.first HAVING SUM({rep}) <> 1 ORDER BY t.first LIMIT {MAX_ERRORS}""",  # noqa: S608
            self.p,
        )
        label = self.spec.representative_label
        self.errors.extend(
            RowError(line, "is_representative", f"代表者は{label}ごとに1人です（取込後の代表者: {int(n)}人）")
            for line, n in cur.fetchall()
        )

    # -- write ------------------------------------------------------------------------------------

    def write(self) -> None:
        spec, model = self.spec, self.table
        changed = " OR ".join(f"s.{c} IS DISTINCT FROM c.{c}" for c in spec.compared)
        with connection.cursor() as cur:
            cur.execute(
                f"""CREATE TEMP TABLE {PLAN} AS
                    SELECT p.line, p.cur_id,
                           COALESCE(c.revision, (SELECT MAX(c.revision) {self._match(False)}), 0) AS last_rev,
                           CASE WHEN s.delete_flag THEN CASE WHEN p.cur_id IS NULL THEN 'same' ELSE 'end' END
                                WHEN p.cur_id IS NULL THEN 'create'
                                WHEN {changed} THEN 'update' ELSE 'same' END AS action
                    FROM (SELECT s.line, (SELECT MAX(c.id) {self._match(True)}) AS cur_id FROM {STAGE} s) p
                    JOIN {STAGE} s ON s.line = p.line
                    LEFT JOIN {model} c ON c.id = p.cur_id""",  # noqa: S608
                self.p,
            )
            analyze_tables(PLAN)
            cur.execute(f"SELECT action, COUNT(*) FROM {PLAN} GROUP BY action")  # noqa: S608
            counts = dict(cur.fetchall())
            self.summary.created = int(counts.get("create", 0))
            self.summary.updated = int(counts.get("update", 0))
            self.summary.ended = int(counts.get("end", 0))
            self.summary.unchanged = int(counts.get("same", 0))
            if counts.keys() <= {"same"}:
                return
            cur.execute(
                f"""UPDATE {model} SET is_current = %(false)s
                    WHERE id IN (SELECT cur_id FROM {PLAN} WHERE action IN ('update', 'end'))""",  # noqa: S608
                {"false": False},
            )
            common = ("municipality_id, revision, is_current, changed_at, changed_by_id, job_id, reason, "
                      "source_operator, source_operated_on, source_operated_time")  # fmt: skip
            columns = ", ".join(spec.written)
            stamps = "s.source_operator, s.source_operated_on, s.source_operated_time"
            params = {
                **self.p, "now": timezone.now(), "job": self.job.pk, "true": True, "false": False,
                "user": self.actor.pk if getattr(self.actor, "is_authenticated", False) else None,
                "new": f"{spec.function}（新規）", "changed": f"{spec.function}（異動）",
                "ended": f"{spec.function}（終了）",
            }  # fmt: skip
            cur.execute(
                f"""INSERT INTO {model} ({common}, {columns})
                    SELECT %(m)s, p.last_rev + 1, %(true)s, %(now)s, %(user)s, %(job)s,
                           CASE WHEN p.action = 'create' THEN %(new)s ELSE %(changed)s END, {stamps},
                           {", ".join(f"s.{c}" for c in spec.written)}
                    FROM {PLAN} p JOIN {STAGE} s ON s.line = p.line
                    WHERE p.action IN ('create', 'update') ORDER BY p.line""",  # noqa: S608
                params,
            )
            cur.execute(
                f"""INSERT INTO {model} ({common}, {columns})
                    SELECT %(m)s, p.last_rev + 1, %(false)s, %(now)s, %(user)s, %(job)s, %(ended)s, {stamps},
                           {", ".join(f"c.{c}" for c in spec.written)}
                    FROM {PLAN} p JOIN {STAGE} s ON s.line = p.line JOIN {model} c ON c.id = p.cur_id
                    WHERE p.action = 'end' ORDER BY p.line""",  # noqa: S608
                params,
            )
