"""ファイル取込: upload a file to import in the background, follow its progress, read its result,
and the history of every import of the municipality (command line and browser alike)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseClientRefresh

from choshu.accounts.decorators import right_required, staff_user
from choshu.accounts.models import User
from choshu.accounts.permissions import Right
from choshu.audit.models import AuditKind
from choshu.audit.services import audit_record
from choshu.core.models import Job
from choshu.operations.import_jobs import (
    CHANNEL_OF_KIND,
    import_queue,
    import_rerun,
    job_interrupted,
    job_view,
    suspense_of_job,
)
from choshu.web.jobs_forms import ImportUploadForm, JobFilterForm

PAGE_SIZE = 50
SHOWN_ERRORS = 200
SHOWN_SUSPENSE = 200

# The result's counts, in the words of the screens (keys of the import summaries).
COUNT_LABELS = {
    "records": "レコード数",
    "rows": "行数",
    "created": "新規",
    "updated": "更新",
    "unchanged": "変更なし",
    "corrections": "更正",
    "levies_created": "調定（新規）",
    "levies_updated": "調定（更新）",
    "overpayments": "過誤納の発生",
    "posted": "計上（未消込を含む）",
    "provisional": "速報",
    "cancelled": "速報取消",
    "reversed": "収納取消",
    "overpaid": "過誤納",
    "suspense": "未消込",
}
AMOUNT_LABELS = {
    "amount_total": "収納金額（合計）",
    "amount_posted": "消込額",
    "amount_overpaid": "過誤納額",
    "amount_suspense": "未消込額",
    "amount_reversed": "取消額",
    "amount_levied": "調定額",
    "amount_corrected": "更正額",
}


def _job_for(user: User, pk: int) -> Job:
    """A job of the user's own municipality, or 404 (another city's jobs do not exist for them)."""
    job = Job.objects.select_related("started_by").filter(pk=pk, municipality=user.municipality).first()
    if job is None or not job.kind.startswith("import-"):
        raise Http404("この取込は見つかりません。")
    return job


def already_imported(job: Job) -> bool:
    counts = job.counts if isinstance(job.counts, dict) else {}
    return bool(counts.get("file_already_imported") or counts.get("already_imported") is True)


@never_cache
@right_required(Right.IMPORT_FILES)
def job_list(request: HttpRequest) -> HttpResponse:
    """取込履歴: every import of the municipality, newest first, by kind and status."""
    user = staff_user(request)
    form = JobFilterForm(request.GET or None)
    jobs = (
        Job.objects.filter(municipality=user.municipality, kind__startswith="import-")
        .select_related("started_by")
        .order_by("-started_at", "-pk")
    )
    if form.is_valid():
        if form.cleaned_data["kind"]:
            jobs = jobs.filter(kind=form.cleaned_data["kind"])
        if form.cleaned_data["status"]:
            jobs = jobs.filter(status=form.cleaned_data["status"])
    page = Paginator(jobs, PAGE_SIZE).get_page(request.GET.get("page"))
    for job in page:
        job.interrupted = job_interrupted(job)  # type: ignore[attr-defined]
    return render(request, "web/jobs/list.html", {"form": form, "page": page})


@never_cache
@right_required(Right.IMPORT_FILES)
def job_upload(request: HttpRequest) -> HttpResponse:
    """ファイル取込: the file is stored and queued; the result page follows its progress."""
    user = staff_user(request)
    form = ImportUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            job = import_queue(
                actor=user,
                kind=form.cleaned_data["kind"],
                upload=form.cleaned_data["file"],
                booking_date=form.cleaned_data["booking_date"],
                request=request,
            )
        except ValidationError as exc:
            form.add_error(None, exc.messages)
        else:
            messages.success(request, "ファイルを受け付けました。バックグラウンドで取り込みます。")
            return redirect("web:job-detail", pk=job.pk)
    status = 400 if request.method == "POST" else 200
    context = {"form": form, "max_mb": settings.CHOSHU_UPLOAD_MAX_BYTES // (1024 * 1024)}
    return render(request, "web/jobs/upload.html", context, status=status)


def _result_context(job: Job) -> dict[str, Any]:
    counts = job.counts if isinstance(job.counts, dict) else {}
    count_rows = [
        (label, counts[key]) for key, label in COUNT_LABELS.items() if isinstance(counts.get(key), int)
    ]
    amount_rows = [
        (label, counts[key]) for key, label in AMOUNT_LABELS.items() if isinstance(counts.get(key), int)
    ]
    if isinstance(counts.get("already_imported"), int) and not isinstance(
        counts.get("already_imported"), bool
    ):
        count_rows.append(("取込済み（変更なし）", counts["already_imported"]))
    errors = job.errors if isinstance(job.errors, list) else []
    suspense = list(suspense_of_job(job)[:SHOWN_SUSPENSE]) if job.kind in CHANNEL_OF_KIND else []
    return {
        "count_rows": count_rows,
        "amount_rows": amount_rows,
        "warnings": counts.get("warnings") or [],
        "errors": errors[:SHOWN_ERRORS],
        "errors_more": max(len(errors) - SHOWN_ERRORS, 0),
        "suspense": suspense,
        "already_imported": already_imported(job),
        "from_browser": isinstance(job.parameters, dict) and job.parameters.get("source") == "web",
    }


@never_cache
@right_required(Right.IMPORT_FILES)
def job_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """取込結果: progress while it runs; then counts, amounts, refused lines and 未消込 created."""
    user = staff_user(request)
    job = _job_for(user, pk)
    view = job_view(job)
    audit_record(
        kind=AuditKind.ACCESS,
        function="取込結果の照会",
        municipality=user.municipality,
        user=user,
        request=request,
        job=job,
        detail={"job": job.pk, "status": job.status},
    )
    context = {"view": view, "job": job, **_result_context(job)}
    return render(request, "web/jobs/detail.html", context)


@never_cache
@right_required(Right.IMPORT_FILES)
def job_status(request: HttpRequest, pk: int) -> HttpResponse:
    """The progress partial the result page polls (htmx); once the job ends the page reloads."""
    job = _job_for(staff_user(request), pk)
    view = job_view(job)
    if request.htmx and not view.active and request.GET.get("active") == "1":  # type: ignore[attr-defined]
        return HttpResponseClientRefresh()
    return render(request, "web/jobs/_status.html", {"view": view, "job": job})


@never_cache
@right_required(Right.IMPORT_FILES)
@require_POST
def job_rerun(request: HttpRequest, pk: int) -> HttpResponse:
    """再実行: queue the same stored file again after a worker died or the run failed."""
    user = staff_user(request)
    job = _job_for(user, pk)
    try:
        new = import_rerun(actor=user, job=job, request=request)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("web:job-detail", pk=job.pk)
    messages.success(request, f"取込 #{job.pk} と同じファイルを再実行します（取込 #{new.pk}）。")
    return redirect("web:job-detail", pk=new.pk)
