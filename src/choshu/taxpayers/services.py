"""Writes to 宛名: the feed import and (later) staff edits. Every change is a new revision."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from django.db import transaction
from django.utils import timezone

from choshu.audit.models import AuditKind
from choshu.audit.services import audit_record
from choshu.core.models import Job, Municipality
from choshu.core.services import file_already_imported, job_finish, job_start
from choshu.formats.csvfile import decode_strict, read_bytes
from choshu.formats.errors import FileRefused, RowError
from choshu.formats.taxpayers_csv import TaxpayerRecord, parse_taxpayers
from choshu.taxpayers.crypto import encrypt_my_number, my_number_hash
from choshu.taxpayers.models import Taxpayer, TaxpayerRevision
from choshu.taxpayers.normalize import address_key, kana_key, name_key, phone_key

JOB_KIND = Job.Kind.IMPORT_TAXPAYERS
CHUNK = 2000

# Attributes compared and recorded in revisions (the My Number is compared by its keyed hash).
TRACKED = (
    "kind", "name", "name_kana", "birth_date", "sex", "postal_code", "address", "address_extra",
    "phone", "corporate_number", "resident", "deceased_on",
)  # fmt: skip


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


def _apply_record(tp: Taxpayer, rec: TaxpayerRecord) -> list[str]:
    """Copy a feed record onto ``tp``; return the names of the attributes that changed."""
    changed = []
    for name in TRACKED:
        new = getattr(rec, name)
        if getattr(tp, name) != new:
            setattr(tp, name, new)
            changed.append(name)
    new_hash = my_number_hash(rec.my_number) if rec.my_number else ""
    if new_hash != tp.my_number_hash:
        tp.my_number_hash = new_hash
        tp.my_number_enc = encrypt_my_number(rec.my_number) if rec.my_number else None
        changed.append("my_number")
    if changed:
        apply_search_keys(tp)
    return changed


def parse_taxpayer_file(path: str | Path) -> tuple[str, list[TaxpayerRecord]]:
    """Read and validate the whole file; raise ``FileRefused`` listing every bad row."""
    data = read_bytes(path)
    decoded = decode_strict(data, str(path))
    errors: list[RowError] = []
    records = list(parse_taxpayers(decoded.text, errors, str(path)))
    if errors:
        raise FileRefused(errors, str(path))
    return decoded.sha256, records


def taxpayers_import(*, municipality: Municipality, path: str | Path, actor: Any = None) -> ImportSummary:
    """Import ``taxpayers.csv`` (interchange.md §1). All or nothing; re-importing changes nothing."""
    try:
        sha, records = parse_taxpayer_file(path)
    except FileRefused as refused:
        _record_refusal(municipality, str(path), refused, actor)
        raise
    summary = ImportSummary(rows=len(records))
    summary.already_imported = file_already_imported(municipality=municipality, kind=JOB_KIND, sha256=sha)
    with transaction.atomic():
        job = job_start(
            municipality=municipality, kind=JOB_KIND, actor=actor, file_name=str(path), file_sha256=sha
        )
        for start in range(0, len(records), CHUNK):
            _import_chunk(municipality, records[start : start + CHUNK], job, actor, summary)
        summary.job_id = job.pk
        job_finish(job, status=Job.Status.SUCCEEDED, counts=summary.as_dict())
        audit_record(
            kind=AuditKind.BATCH,
            function="宛名取込",
            municipality=municipality,
            user=actor,
            job=job,
            detail={"file": str(path), "sha256": sha, **summary.as_dict()},
        )
    return summary


def _import_chunk(
    municipality: Municipality, chunk: Sequence[TaxpayerRecord], job: Job, actor: Any, summary: ImportSummary
) -> None:
    now = timezone.now()
    user = actor if getattr(actor, "is_authenticated", False) else None
    existing = {
        tp.taxpayer_no: tp
        for tp in Taxpayer.objects.filter(
            municipality=municipality, taxpayer_no__in=[r.taxpayer_no for r in chunk]
        )
    }
    new: list[Taxpayer] = []
    changed: list[tuple[Taxpayer, list[str]]] = []
    for rec in chunk:
        tp = existing.get(rec.taxpayer_no)
        if tp is None:
            tp = Taxpayer(municipality=municipality, taxpayer_no=rec.taxpayer_no, revision=1)
            _apply_record(tp, rec)
            apply_search_keys(tp)
            new.append(tp)
            continue
        fields = _apply_record(tp, rec)
        if fields:
            tp.revision += 1
            tp.updated_at = now
            changed.append((tp, fields))
        else:
            summary.unchanged += 1
    Taxpayer.objects.bulk_create(new, batch_size=500)
    if changed:
        Taxpayer.objects.bulk_update(
            [tp for tp, _ in changed],
            [
                *TRACKED,
                "my_number_hash",
                "my_number_enc",
                "search_kana",
                "search_name",
                "search_address",
                "search_phone",
                "revision",
                "updated_at",
            ],
            batch_size=500,
        )
    revisions = [
        TaxpayerRevision(
            municipality=municipality,
            taxpayer=tp,
            revision=1,
            data=revision_data(tp),
            changed_fields=["created"],
            changed_at=now,
            changed_by=user,
            job=job,
            reason="宛名取込(新規)",
        )
        for tp in new
    ] + [
        TaxpayerRevision(
            municipality=municipality,
            taxpayer=tp,
            revision=tp.revision,
            data=revision_data(tp),
            changed_fields=fields,
            changed_at=now,
            changed_by=user,
            job=job,
            reason="宛名取込(異動)",
        )
        for tp, fields in changed
    ]
    TaxpayerRevision.objects.bulk_create(revisions, batch_size=500)
    summary.created += len(new)
    summary.updated += len(changed)


def _record_refusal(municipality: Municipality, file_name: str, refused: FileRefused, actor: Any) -> None:
    job = job_start(municipality=municipality, kind=JOB_KIND, actor=actor, file_name=file_name)
    job_finish(job, status=Job.Status.REFUSED, errors=[e.as_dict() for e in refused.errors[:200]])


def taxpayer_ids_by_no(municipality: Municipality, numbers: Iterable[str]) -> dict[str, int]:
    numbers = list(set(numbers))
    found: dict[str, int] = {}
    for start in range(0, len(numbers), CHUNK):
        found.update(
            Taxpayer.objects.filter(
                municipality=municipality, taxpayer_no__in=numbers[start : start + CHUNK]
            ).values_list("taxpayer_no", "pk")
        )
    return found
