"""The 期別マスタ (``InstallmentCalendar``): its import (``calendar.csv``, formats.md §2a) and the rows
generated from the ordinance's default schedules (``levies.tax_items.calendar_rows``).

Where a municipality's 期別マスタ has a tax item's levy year, the levy feed may use only its 期別
(``levies.services``)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from django.db import connection, transaction

from choshu.audit.models import AuditKind
from choshu.audit.services import audit_record
from choshu.core.bulk import copy_rows
from choshu.core.models import Job, Municipality
from choshu.core.services import file_already_imported, job_finish, job_start
from choshu.formats.calendar_csv import parse_calendar
from choshu.formats.csvfile import MAX_ERRORS, open_strict
from choshu.formats.errors import FileRefused, RowError
from choshu.levies.models import InstallmentCalendar, TaxItem
from choshu.levies.tax_items import calendar_rows
from choshu.taxpayers.services import ImportSummary

JOB_KIND = Job.Kind.IMPORT_CALENDAR
STAGE = "choshu_calendar_stage"
COLUMNS = (
    "line",
    "tax_item",
    "levy_year",
    "installment_no",
    "label",
    "year_month",
    "nominal_due_date",
    "ad_hoc",
)
BATCH = 5_000
VALUES = ("label", "year_month", "nominal_due_date", "ad_hoc")


def calendar_import(*, municipality: Municipality, path: str | Path, actor: Any = None) -> ImportSummary:
    """Import ``calendar.csv``: a row whose key (税目, 賦課年度, 期別) is new is created, one whose key
    exists replaces that row's label, month, 納期限 and 随時期 (``updated`` when any differs). The file is
    staged and checked set-based (a key twice in the file, a 税目 that is not an active item of the
    municipality); any bad row refuses it whole and nothing is written."""
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
            )
            _stage(source, str(path), summary)
            _check(municipality, str(path))
            _write(municipality, summary)
            summary.job_id = job.pk
            job_finish(job, status=Job.Status.SUCCEEDED, counts=summary.as_dict())
            audit_record(
                kind=AuditKind.BATCH,
                function="期別マスタ取込",
                municipality=municipality,
                user=actor,
                job=job,
                detail={"file": str(path), "sha256": source.sha256, **summary.as_dict()},
            )
            _drop()
    except FileRefused as refused:
        _drop()
        job = job_start(municipality=municipality, kind=JOB_KIND, actor=actor, file_name=str(path))
        job_finish(job, status=Job.Status.REFUSED, errors=[e.as_dict() for e in refused.errors[:200]])
        raise
    return summary


def _drop() -> None:
    with connection.cursor() as cur:
        cur.execute(f"DROP TABLE IF EXISTS {STAGE}")


def _stage(source: Any, file_name: str, summary: ImportSummary) -> None:
    _drop()
    with connection.cursor() as cur:
        cur.execute(
            f"""CREATE TEMP TABLE {STAGE} (line integer NOT NULL, tax_item varchar(2) NOT NULL,
                levy_year integer NOT NULL, installment_no integer NOT NULL, label varchar(20) NOT NULL,
                year_month varchar(7) NOT NULL, nominal_due_date date, ad_hoc boolean NOT NULL)"""
        )
    errors: list[RowError] = []
    iso = connection.vendor != "postgresql"
    with source.open() as text:
        batch: list[tuple[Any, ...]] = []
        for r in parse_calendar(text, errors, file_name):
            due: Any = r.nominal_due_date.isoformat() if iso and r.nominal_due_date else r.nominal_due_date
            batch.append(
                (r.line, r.tax_item, r.levy_year, r.installment_no, r.label, r.year_month, due, r.ad_hoc)
            )
            if len(batch) >= BATCH:
                copy_rows(STAGE, COLUMNS, batch)
                summary.rows += len(batch)
                batch = []
        copy_rows(STAGE, COLUMNS, batch)
        summary.rows += len(batch)
    if errors:
        raise FileRefused(errors, file_name)


def _check(municipality: Municipality, file_name: str) -> None:
    item = TaxItem._meta.db_table
    errors: list[RowError] = []
    with connection.cursor() as cur:
        cur.execute(
            f"""SELECT line, first FROM (
                    SELECT line, MIN(line) OVER (PARTITION BY tax_item, levy_year, installment_no) AS first
                    FROM {STAGE}) d
                WHERE line <> first ORDER BY line LIMIT {MAX_ERRORS}"""  # noqa: S608 - constants
        )
        errors += [
            RowError(line, "installment_no", f"同じ税目・賦課年度・期別が{first}行目にあります")
            for line, first in cur.fetchall()
        ]
        cur.execute(
            f"""SELECT s.line, s.tax_item FROM {STAGE} s
                WHERE NOT EXISTS (SELECT 1 FROM {item} t WHERE t.municipality_id = %s AND t.code = s.tax_item
                                  AND t.is_active)
                ORDER BY s.line LIMIT {MAX_ERRORS}""",  # noqa: S608
            [municipality.pk],
        )
        errors += [
            RowError(line, "tax_item", "税目コードが税目マスタにないか、無効です", code)
            for line, code in cur.fetchall()
        ]
    if errors:
        errors.sort(key=lambda e: e.line)
        raise FileRefused(errors, file_name)


def _write(municipality: Municipality, summary: ImportSummary) -> None:
    cal = InstallmentCalendar._meta.db_table
    key = "c.municipality_id = %s AND c.tax_item = s.tax_item AND c.levy_year = s.levy_year AND c.installment_no = s.installment_no"
    differs = " OR ".join(f"c.{v} IS DISTINCT FROM s.{v}" for v in VALUES)
    m = [municipality.pk]
    with connection.cursor() as cur:
        cur.execute(
            f"""UPDATE {cal} SET {", ".join(f"{v} = s.{v}" for v in VALUES)}
                FROM {STAGE} s WHERE {key.replace("c.", f"{cal}.")}
                  AND ({differs.replace("c.", f"{cal}.")})""",  # noqa: S608
            m,
        )
        summary.updated = cur.rowcount
        cur.execute(
            f"""INSERT INTO {cal} (municipality_id, tax_item, levy_year, installment_no, {", ".join(VALUES)})
                SELECT %s, s.tax_item, s.levy_year, s.installment_no, {", ".join(f"s.{v}" for v in VALUES)}
                FROM {STAGE} s WHERE NOT EXISTS (SELECT 1 FROM {cal} c WHERE {key})
                ORDER BY s.line""",  # noqa: S608
            m + m,
        )
        summary.created = cur.rowcount
    summary.unchanged = summary.rows - summary.created - summary.updated


@transaction.atomic
def calendar_generate(*, municipality: Municipality, levy_year: int, actor: Any = None) -> dict[str, Any]:
    """Create the 期別マスタ rows a levy year lacks, for each active tax item, from the ordinance's
    default schedule (``calendar_rows``: 納期限 moved past closed days). Rows that exist are kept as
    they are (a city's own 期別マスタ wins); an item without a default schedule (申告納付) gets none."""
    items = list(
        TaxItem.objects.filter(municipality=municipality, is_active=True).order_by("sort_order", "code")
    )
    existing = set(
        InstallmentCalendar.objects.filter(municipality=municipality, levy_year=levy_year).values_list(
            "tax_item", "installment_no"
        )
    )
    created: dict[str, int] = {}
    new: list[InstallmentCalendar] = []
    for item in items:
        for no, label, year_month, due in calendar_rows(item.code, levy_year):
            if (item.code, no) in existing:
                continue
            assert isinstance(due, date)
            new.append(
                InstallmentCalendar(
                    municipality=municipality, tax_item=item.code, levy_year=levy_year, installment_no=no,
                    label=label, year_month=year_month, nominal_due_date=due,
                )
            )  # fmt: skip
            created[item.code] = created.get(item.code, 0) + 1
    InstallmentCalendar.objects.bulk_create(new)
    result = {"levy_year": levy_year, "created": len(new), "kept": len(existing), "items": created}
    audit_record(
        kind=AuditKind.CHANGE, function="期別マスタ生成", municipality=municipality, user=actor, detail=result
    )
    return result
