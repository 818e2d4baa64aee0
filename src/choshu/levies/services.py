"""Writes to 調定・期別: the levy feed import and corrections (更正), always through the ledger."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

from django.db import transaction

from choshu.audit.models import AuditKind
from choshu.audit.services import audit_record
from choshu.core.models import Job, Municipality
from choshu.core.services import file_already_imported, job_finish, job_start
from choshu.formats.csvfile import decode_strict, read_bytes
from choshu.formats.errors import FileRefused, RowError
from choshu.formats.levies_csv import LevyRecord, parse_levies
from choshu.levies.ledger import Leg, Posting, post_many
from choshu.levies.models import Account, Component, Installment, Levy, TxnKind
from choshu.levies.slip_numbers import assign_missing_slip_numbers
from choshu.taxpayers.services import ImportSummary, taxpayer_ids_by_no

JOB_KIND = Job.Kind.IMPORT_LEVIES
CHUNK = 2000

LevyKey = tuple[str, int, str]
InstKey = tuple[str, int, str, int]


def parse_levy_file(
    municipality: Municipality, path: str | Path
) -> tuple[str, list[LevyRecord], dict[str, int]]:
    """Read and validate the whole file, including references to taxpayers and existing levies."""
    decoded = decode_strict(read_bytes(path), str(path))
    errors: list[RowError] = []
    records = list(parse_levies(decoded.text, errors, str(path)))
    taxpayer_ids = taxpayer_ids_by_no(municipality, (r.taxpayer_no for r in records))
    for rec in records:
        if rec.taxpayer_no not in taxpayer_ids:
            errors.append(
                RowError(
                    rec.line,
                    "taxpayer_no",
                    "宛名番号が登録されていません（先に宛名を取り込んでください）",
                    rec.taxpayer_no,
                )
            )
    errors.extend(_conflicts_with_database(municipality, records, taxpayer_ids))
    if errors:
        errors.sort(key=lambda e: e.line)
        raise FileRefused(errors, str(path))
    return decoded.sha256, records, taxpayer_ids


def _conflicts_with_database(
    municipality: Municipality, records: Sequence[LevyRecord], taxpayer_ids: dict[str, int]
) -> list[RowError]:
    """A notice already booked to another taxpayer, or a slip number used by another installment."""
    errors: list[RowError] = []
    for start in range(0, len(records), CHUNK):
        chunk = records[start : start + CHUNK]
        owners = {
            (t, y, n): tp
            for t, y, n, tp in Levy.objects.filter(
                municipality=municipality, notice_no__in={r.notice_no for r in chunk}
            ).values_list("tax_item", "levy_year", "notice_no", "taxpayer_id")
        }
        for rec in chunk:
            owner = owners.get((rec.tax_item, rec.levy_year, rec.notice_no))
            if (
                owner is not None
                and rec.taxpayer_no in taxpayer_ids
                and owner != taxpayer_ids[rec.taxpayer_no]
            ):
                errors.append(
                    RowError(
                        rec.line,
                        "taxpayer_no",
                        "この通知書番号は別の宛名番号の調定として登録済みです",
                        rec.taxpayer_no,
                    )
                )
        slips = {r.slip_no: r for r in chunk if r.slip_no}
        if slips:
            for slip, t, y, n, i in Installment.objects.filter(
                municipality=municipality, slip_no__in=list(slips)
            ).values_list(
                "slip_no", "levy__tax_item", "levy__levy_year", "levy__notice_no", "installment_no"
            ):
                rec = slips[str(slip)]
                if (t, y, n, i) != rec.key:
                    errors.append(
                        RowError(rec.line, "slip_no", "この納付番号は別の期別に登録済みです", rec.slip_no)
                    )
    return errors


def levies_import(
    *, municipality: Municipality, path: str | Path, booking_date: date, actor: Any = None
) -> ImportSummary:
    """Import ``levies.csv`` (interchange.md §2). A changed principal books a correction (更正).

    Levies and corrections are booked on ``booking_date`` (調定日・更正日 and 日計日 alike): the
    file carries no date of its own, so the caller says which business day the import belongs to.
    """
    try:
        sha, records, taxpayer_ids = parse_levy_file(municipality, path)
    except FileRefused as refused:
        job = job_start(municipality=municipality, kind=JOB_KIND, actor=actor, file_name=str(path))
        job_finish(job, status=Job.Status.REFUSED, errors=[e.as_dict() for e in refused.errors[:200]])
        raise
    summary = ImportSummary(
        rows=len(records),
        extra={"levies_created": 0, "overpayments": 0, "amount_levied": 0, "amount_corrected": 0},
    )
    summary.already_imported = file_already_imported(municipality=municipality, kind=JOB_KIND, sha256=sha)
    with transaction.atomic():
        job = job_start(
            municipality=municipality, kind=JOB_KIND, actor=actor, file_name=str(path), file_sha256=sha
        )
        for start in range(0, len(records), CHUNK):
            _import_chunk(
                municipality, records[start : start + CHUNK], taxpayer_ids, job, actor, summary, booking_date
            )
        summary.job_id = job.pk
        job_finish(job, status=Job.Status.SUCCEEDED, counts=summary.as_dict())
        audit_record(
            kind=AuditKind.BATCH,
            function="調定取込",
            municipality=municipality,
            user=actor,
            job=job,
            detail={"file": str(path), "sha256": sha, **summary.as_dict()},
        )
    return summary


def _import_chunk(
    municipality: Municipality,
    chunk: Sequence[LevyRecord],
    taxpayer_ids: dict[str, int],
    job: Job,
    actor: Any,
    summary: ImportSummary,
    booking_date: date,
) -> None:
    levies = _levies_for(municipality, chunk, taxpayer_ids, job, summary)
    existing: dict[InstKey, Installment] = {}
    for inst in Installment.objects.filter(levy__in=list(levies.values())).select_related("levy"):
        existing[(inst.levy.tax_item, inst.levy.levy_year, inst.levy.notice_no, inst.installment_no)] = inst
    new: list[tuple[LevyRecord, Installment]] = []
    corrections: list[tuple[LevyRecord, Installment]] = []
    touched: list[Installment] = []
    for rec in chunk:
        found = existing.get(rec.key)
        if found is None:
            levy = levies[rec.key[:3]]
            inst = Installment(
                municipality=municipality,
                levy=levy,
                taxpayer_id=levy.taxpayer_id,
                installment_no=rec.installment_no,
                due_date=rec.due_date,
                slip_no=rec.slip_no or None,
            )
            new.append((rec, inst))
            continue
        inst = found
        changed = False
        if inst.due_date != rec.due_date:
            inst.due_date, changed = rec.due_date, True
        if rec.slip_no and inst.slip_no != rec.slip_no:
            inst.slip_no, changed = rec.slip_no, True
        if inst.principal_levied != rec.principal:
            corrections.append((rec, inst))
        elif changed:
            summary.updated += 1
        else:
            summary.unchanged += 1
        if changed:
            touched.append(inst)
    Installment.objects.bulk_create([inst for _, inst in new], batch_size=1000)
    assign_missing_slip_numbers([inst for _, inst in new])
    if touched:
        Installment.objects.bulk_update(touched, ["due_date", "slip_no"], batch_size=1000)
    postings = _levy_postings(new, booking_date) + _correction_postings(corrections, booking_date, summary)
    post_many(municipality=municipality, postings=postings, actor=actor, job=job)
    summary.created += len(new)
    summary.corrections += len(corrections)
    summary.extra["amount_levied"] += sum(rec.principal for rec, _ in new)


def _levies_for(
    municipality: Municipality,
    chunk: Sequence[LevyRecord],
    taxpayer_ids: dict[str, int],
    job: Job,
    summary: ImportSummary,
) -> dict[LevyKey, Levy]:
    keys = {r.key[:3]: taxpayer_ids[r.taxpayer_no] for r in chunk}
    found: dict[LevyKey, Levy] = {
        (lv.tax_item, lv.levy_year, lv.notice_no): lv
        for lv in Levy.objects.filter(municipality=municipality, notice_no__in={k[2] for k in keys})
    }
    missing = [
        Levy(
            municipality=municipality, taxpayer_id=tp, tax_item=k[0], levy_year=k[1], notice_no=k[2], job=job
        )
        for k, tp in keys.items()
        if k not in found
    ]
    for lv in Levy.objects.bulk_create(missing, batch_size=1000):
        found[(lv.tax_item, lv.levy_year, lv.notice_no)] = lv
    summary.extra["levies_created"] += len(missing)
    return found


def _levy_postings(new: Sequence[tuple[LevyRecord, Installment]], booking_date: date) -> list[Posting]:
    """One 調定 transaction per installment: receivable (principal) against the levied account."""
    return [
        Posting(
            kind=TxnKind.LEVY,
            legal_date=booking_date,
            booking_date=booking_date,
            legs=[
                Leg(Account.RECEIVABLE, rec.principal, Component.PRINCIPAL, inst),
                Leg(Account.LEVIED, -rec.principal, Component.PRINCIPAL, inst),
            ],
            memo="調定取込",
        )
        for rec, inst in new
        if rec.principal
    ]


def _correction_postings(
    corrections: Sequence[tuple[LevyRecord, Installment]], booking_date: date, summary: ImportSummary
) -> list[Posting]:
    """更正: book the difference; if the installment is then overpaid, the excess becomes 過誤納金."""
    postings: list[Posting] = []
    for rec, inst in corrections:
        delta = rec.principal - inst.principal_levied
        summary.extra["amount_corrected"] += delta
        postings.append(
            Posting(
                kind=TxnKind.CORRECTION,
                legal_date=booking_date,
                booking_date=booking_date,
                legs=[
                    Leg(Account.RECEIVABLE, delta, Component.PRINCIPAL, inst),
                    Leg(Account.LEVIED, -delta, Component.PRINCIPAL, inst),
                ],
                memo=f"更正 {inst.principal_levied}→{rec.principal}",
            )
        )
        excess = inst.principal_paid - rec.principal
        if excess > 0:
            summary.extra["overpayments"] += 1
            postings.append(
                Posting(
                    kind=TxnKind.OVERPAYMENT,
                    legal_date=booking_date,
                    booking_date=booking_date,
                    legs=[
                        Leg(Account.RECEIVABLE, excess, Component.PRINCIPAL, inst),
                        Leg(Account.OVERPAYMENT, -excess, Component.NONE, None, inst.taxpayer_id),
                    ],
                    memo="減額更正による過誤納",
                )
            )
    return postings
