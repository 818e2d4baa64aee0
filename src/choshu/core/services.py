"""Tenants and job records."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from choshu.core.models import Job, Municipality
from choshu.rules.check_digits import is_valid_municipality_code


class MunicipalityNotFound(Exception):
    pass


@transaction.atomic
def municipality_create(
    *,
    code: str,
    name: str,
    conveni_company_code: str = "",
    conveni_client_code: str = "",
    eltax_agency_no: str = "",
    office_name: str = "",
    office_phone: str = "",
) -> Municipality:
    """Create a tenant. The 6-digit code's check digit (全国地方公共団体コード) must be valid."""
    if len(code) != 6 or not code.isascii() or not code.isdigit() or not is_valid_municipality_code(code):
        raise ValidationError(f"地方公共団体コード {code!r} が不正です（6桁、末尾はチェックデジット）")
    if not name.strip():
        raise ValidationError("団体名を指定してください")
    for label, value, size in (
        ("コンビニ収納 企業コード", conveni_company_code, 6),
        ("コンビニ収納 委託者コード", conveni_client_code, 5),
        ("収納機関番号", eltax_agency_no, 5),
    ):
        if value and (len(value) != size or not value.isdigit()):
            raise ValidationError(f"{label}は半角数字{size}桁で指定してください: {value!r}")
    if Municipality.objects.filter(code=code).exists():
        raise ValidationError(f"地方公共団体コード {code} は登録済みです")
    return Municipality.objects.create(
        code=code,
        name=name.strip(),
        conveni_company_code=conveni_company_code,
        conveni_client_code=conveni_client_code,
        eltax_agency_no=eltax_agency_no,
        office_name=office_name.strip(),
        office_phone=office_phone.strip(),
    )


def municipality_resolve(code: str | None) -> Municipality:
    """The municipality named by ``--municipality``, or the only one when there is exactly one."""
    if code:
        found = Municipality.objects.filter(code=code).first()
        if found is None:
            raise MunicipalityNotFound(
                f"地方公共団体コード {code} は登録されていません（choshu init-municipality で作成）"
            )
        return found
    all_ = list(Municipality.objects.all()[:2])
    if not all_:
        raise MunicipalityNotFound(
            "自治体が登録されていません。先に choshu init-municipality を実行してください"
        )
    if len(all_) > 1:
        raise MunicipalityNotFound("自治体が複数あります。--municipality CODE で指定してください")
    return all_[0]


def job_start(
    *,
    municipality: Municipality,
    kind: Job.Kind,
    actor: Any = None,
    file_name: str = "",
    file_sha256: str = "",
    parameters: dict[str, Any] | None = None,
    job: Job | None = None,
) -> Job:
    """A new job record, or ``job`` itself when the caller recorded it beforehand (an import uploaded
    from the browser is recorded when it is queued). That row is not written here: a progress
    report from another connection must never wait for the import's open transaction; ``job_finish``
    writes the file's hash with the outcome."""
    if job is not None:
        if file_sha256:
            job.file_sha256 = file_sha256
        return job
    return Job.objects.create(
        municipality=municipality,
        kind=kind,
        started_by=actor if getattr(actor, "is_authenticated", False) else None,
        file_name=file_name,
        file_sha256=file_sha256,
        parameters=parameters or {},
    )


def job_finish(
    job: Job,
    *,
    status: Job.Status,
    counts: dict[str, Any] | None = None,
    errors: list[dict[str, Any]] | None = None,
) -> Job:
    job.status = status
    job.finished_at = timezone.now()
    job.counts = counts or {}
    job.errors = errors or []
    fields = ["status", "finished_at", "counts", "errors", "file_sha256"]
    if status == Job.Status.SUCCEEDED and job.progress_total:
        job.progress_done = job.progress_total
        fields.append("progress_done")
    job.save(update_fields=fields)
    return job


def file_already_imported(*, municipality: Municipality, kind: Job.Kind, sha256: str) -> bool:
    return Job.objects.filter(
        municipality=municipality, kind=kind, file_sha256=sha256, status=Job.Status.SUCCEEDED
    ).exists()
