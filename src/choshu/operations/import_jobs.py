"""Imports uploaded from the browser, run in the background (architecture.md, "Task queue").

A section chief uploads a taxpayer, levy or payment file (``import_queue``): the file is stored under
``VAR_DIR/uploads`` (outside the web root), a ``Job`` is recorded ``queued`` and a task is put on the
Django tasks queue (``django_tasks`` database backend: the queue is a table of the same database) in
one transaction. ``choshu worker`` runs the task (``import_job_run``): the very import services of
the command line, given the queued job and a progress receiver, so the result is the same as
``choshu import-…`` (the same file twice changes nothing; a refused file changes nothing).

A worker that dies mid-import leaves nothing half-written (the import is one transaction) but its
job ``running``: ``job_interrupted`` tells such a job, and ``import_rerun`` queues the same file again.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import socket
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone
from django_tasks import task

from choshu.accounts.permissions import Right, has_right
from choshu.audit.models import AuditKind
from choshu.audit.services import audit_record
from choshu.core.models import Job, Municipality
from choshu.core.progress import JobProgress, count_lines, job_progress
from choshu.core.services import job_finish
from choshu.formats.errors import FileRefused
from choshu.levies.services import levies_import
from choshu.receipts.models import IMPORT_JOB_KIND, SuspenseItem
from choshu.receipts.services import payments_import
from choshu.taxpayers.services import taxpayers_import

logger = logging.getLogger(__name__)

# What a chief may upload: the file kinds of `choshu import-taxpayers`, `import-levies` and
# `import-payments --channel …`.
UPLOAD_KINDS: dict[str, Job.Kind] = {
    Job.Kind.IMPORT_TAXPAYERS.value: Job.Kind.IMPORT_TAXPAYERS,
    Job.Kind.IMPORT_LEVIES.value: Job.Kind.IMPORT_LEVIES,
    **{kind.value: kind for kind in IMPORT_JOB_KIND.values()},
}
CHANNEL_OF_KIND = {kind: channel for channel, kind in IMPORT_JOB_KIND.items()}
IMPORT_KINDS = frozenset(UPLOAD_KINDS.values())
UPLOAD_SUFFIXES = (".csv", ".txt", ".dat", ".tsv")
_BINARY_MAGIC = (b"PK\x03\x04", b"%PDF", b"\xd0\xcf\x11\xe0", b"\x1f\x8b", b"\x89PNG")


def upload_dir() -> Path:
    return Path(settings.CHOSHU_UPLOAD_DIR)


def _safe_name(name: str) -> str:
    stem = re.sub(r"[^\w.\-]", "_", Path(name).name)[-100:]
    return stem or "upload"


def upload_check(upload: UploadedFile) -> None:
    """Refuse, in Japanese, a file that is empty, too large, or not a text file."""
    limit = settings.CHOSHU_UPLOAD_MAX_BYTES
    name = upload.name or ""
    if not upload.size:
        raise ValidationError("ファイルが空です。取り込むファイルを選び直してください。")
    if upload.size > limit:
        raise ValidationError(
            f"ファイルが大きすぎます（{upload.size:,}バイト）。上限は{limit // (1024 * 1024):,}MBです。"
            "大きなファイルはコマンド（choshu import-…）で取り込んでください。"
        )
    if not name.lower().endswith(UPLOAD_SUFFIXES):
        raise ValidationError(
            "取り込めるのはテキスト形式のファイル（.csv、.txt、.dat、.tsv）です。"
            f"「{name}」は取込ファイルではありません。"
        )
    upload.seek(0)
    head = upload.read(4096)
    upload.seek(0)
    if head.startswith(_BINARY_MAGIC) or b"\x00" in head:
        raise ValidationError(
            f"「{name}」はテキスト形式（CSV・固定長）のファイルではありません"
            "（Excel・ZIP・PDF などは取り込めません）。"
        )


def _store(upload: UploadedFile, municipality: Municipality) -> Path:
    folder = upload_dir() / municipality.code
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = folder / f"{timezone.now():%Y%m%d%H%M%S}-{secrets.token_hex(6)}-{_safe_name(upload.name or '')}"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        for chunk in upload.chunks():
            fh.write(chunk)
    return path


def import_queue(
    *,
    actor: Any,
    kind: str,
    upload: UploadedFile,
    booking_date: date | None = None,
    request: Any = None,
) -> Job:
    """Store an uploaded file and queue its import; the job is ``queued`` until a worker takes it."""
    if not has_right(actor, Right.IMPORT_FILES):
        raise PermissionDenied("ファイルを取り込む権限がありません")
    if kind not in UPLOAD_KINDS:
        raise ValidationError("取込の種類を選んでください")
    job_kind = UPLOAD_KINDS[kind]
    upload_check(upload)
    municipality = actor.municipality
    path = _store(upload, municipality)
    parameters: dict[str, Any] = {
        "source": "web",
        "upload": str(path.relative_to(upload_dir())),
        "size": upload.size,
    }
    if job_kind in CHANNEL_OF_KIND:
        parameters["channel"] = CHANNEL_OF_KIND[job_kind].value
    if job_kind == Job.Kind.IMPORT_LEVIES:
        parameters["booking_date"] = (booking_date or timezone.localdate()).isoformat()
    try:
        with transaction.atomic():
            job = _enqueue(municipality, job_kind, actor, upload.name or path.name, parameters)
            audit_record(
                kind=AuditKind.CHANGE,
                function="ファイル取込の受付",
                municipality=municipality,
                user=actor,
                request=request,
                job=job,
                detail={"file": job.file_name, "kind": job_kind.value, "size": upload.size},
            )
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return job


def _enqueue(
    municipality: Municipality, kind: Job.Kind, actor: Any, file_name: str, parameters: dict[str, Any]
) -> Job:
    job = Job.objects.create(
        municipality=municipality,
        kind=kind,
        status=Job.Status.QUEUED,
        started_by=actor,
        file_name=file_name,
        parameters=parameters,
    )
    result = import_job_run.enqueue(job.pk)
    job.parameters = {**parameters, "task_id": str(result.id)}
    job.save(update_fields=["parameters"])
    return job


def upload_path(job: Job) -> Path | None:
    rel = job.parameters.get("upload") if isinstance(job.parameters, dict) else None
    if not rel:
        return None
    path = (upload_dir() / rel).resolve()
    return path if path.is_relative_to(upload_dir().resolve()) else None


@task()
def import_job_run(job_id: int) -> dict[str, Any]:
    """The background task: run one queued import (``choshu worker`` calls it)."""
    claimed = Job.objects.filter(pk=job_id, status=Job.Status.QUEUED).update(
        status=Job.Status.RUNNING, heartbeat_at=timezone.now()
    )
    if not claimed:  # taken by another run, or no longer queued: nothing to do
        return {"job": job_id, "skipped": True}
    job = Job.objects.select_related("municipality", "started_by").get(pk=job_id)
    job.parameters = {**job.parameters, "worker_host": socket.gethostname(), "worker_pid": os.getpid()}
    job.save(update_fields=["parameters"])
    path = upload_path(job)
    if path is None or not path.is_file():
        _fail(job, "取込ファイルが見つかりません（削除されたか、別のサーバーに保存されています）")
        return {"job": job_id, "status": job.status}
    progress = JobProgress(job, total=max(count_lines(path) - 1, 0))  # every format has a header line
    try:
        _run(job, path, progress)
    except FileRefused:
        pass  # the import recorded the job as refused, with every reason
    except Exception as exc:  # recorded on the job; the worker goes on with the next task
        logger.exception("import job %s failed", job_id)
        job.refresh_from_db()
        if job.status == Job.Status.RUNNING:
            reason = "; ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
            _fail(job, f"取込中にエラーが発生しました（何も登録していません）: {reason}")
    finally:
        progress.close()
    job.refresh_from_db()
    if job.status in (Job.Status.SUCCEEDED, Job.Status.REFUSED):
        path.unlink(missing_ok=True)  # personal data: kept only while a re-run may need it
    return {"job": job_id, "status": job.status}


def _run(job: Job, path: Path, progress: JobProgress) -> None:
    common: dict[str, Any] = {
        "municipality": job.municipality,
        "path": path,
        "actor": job.started_by,
        "job": job,
    }
    if job.kind == Job.Kind.IMPORT_TAXPAYERS:
        taxpayers_import(**common, progress=progress)
    elif job.kind == Job.Kind.IMPORT_LEVIES:
        booked = date.fromisoformat(job.parameters.get("booking_date") or timezone.localdate().isoformat())
        levies_import(**common, booking_date=booked, progress=progress)
    elif job.kind in CHANNEL_OF_KIND:
        payments_import(**common, channel=CHANNEL_OF_KIND[Job.Kind(job.kind)].value, progress=progress)
    else:
        raise ValidationError(f"この処理はブラウザから実行できません: {job.get_kind_display()}")


def _fail(job: Job, reason: str) -> None:
    job_finish(
        job, status=Job.Status.FAILED, errors=[{"line": 0, "column": "", "reason": reason, "value": ""}]
    )


# --- state for the screens ------------------------------------------------------------------------------


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def job_interrupted(job: Job, *, now: Any = None) -> bool:
    """A ``running`` browser import whose worker is gone: its process has ended (same server) or it has
    given no sign of life for ``CHOSHU_JOB_STALE_MINUTES``. Nothing of it was kept (one transaction)."""
    if job.status != Job.Status.RUNNING or not isinstance(job.parameters, dict):
        return False
    if "upload" not in job.parameters:
        return False
    pid, host = job.parameters.get("worker_pid"), job.parameters.get("worker_host")
    if pid and host == socket.gethostname():
        return not _pid_alive(int(pid))  # on this server the process itself tells (a long write is no crash)
    _, _, last = job_progress(job)
    last = last or job.started_at
    limit = timedelta(minutes=settings.CHOSHU_JOB_STALE_MINUTES)
    return (now or timezone.now()) - last > limit


def job_rerunnable(job: Job) -> bool:
    if job.kind not in IMPORT_KINDS or upload_path(job) is None:
        return False
    if job.status == Job.Status.FAILED or job_interrupted(job):
        path = upload_path(job)
        return path is not None and path.is_file()
    return False


def import_rerun(*, actor: Any, job: Job, request: Any = None) -> Job:
    """Queue the same stored file again after a crashed or failed run (the crashed run kept nothing)."""
    if not has_right(actor, Right.IMPORT_FILES) or actor.municipality_id != job.municipality_id:
        raise PermissionDenied("ファイルを取り込む権限がありません")
    with transaction.atomic():
        job = Job.objects.select_for_update().get(pk=job.pk)
        if not job_rerunnable(job):
            raise ValidationError(
                "この取込は再実行できません（実行中、完了済み、またはファイルがありません）"
            )
        if job.status == Job.Status.RUNNING:
            _fail(job, "取込を実行していたワーカーが停止したため中断しました（何も登録していません）")
        params = {
            k: v for k, v in job.parameters.items() if k not in ("task_id", "worker_pid", "worker_host")
        }
        params["rerun_of"] = job.pk
        new = _enqueue(job.municipality, Job.Kind(job.kind), actor, job.file_name, params)
        audit_record(
            kind=AuditKind.CHANGE,
            function="ファイル取込の再実行",
            municipality=job.municipality,
            user=actor,
            request=request,
            job=new,
            detail={"file": job.file_name, "kind": job.kind, "rerun_of": job.pk},
        )
    return new


@dataclass
class JobView:
    """What the progress bar and the result page show of one job."""

    job: Job
    done: int
    total: int
    percent: int
    interrupted: bool
    rerunnable: bool

    @property
    def active(self) -> bool:
        return self.job.status in (Job.Status.QUEUED, Job.Status.RUNNING) and not self.interrupted

    @property
    def writing(self) -> bool:
        """Every record read: the import is writing (its set-based phase has no finer progress)."""
        return self.job.status == Job.Status.RUNNING and self.total > 0 and self.done >= self.total


def job_view(job: Job) -> JobView:
    done, total, _ = job_progress(job)
    percent = 100 if job.status == Job.Status.SUCCEEDED else (100 * min(done, total) // total if total else 0)
    return JobView(
        job=job,
        done=done,
        total=total,
        percent=percent,
        interrupted=job_interrupted(job),
        rerunnable=job_rerunnable(job),
    )


def suspense_of_job(job: Job) -> Any:
    """The 未消込 a payment import created (for the result page's links)."""
    return (
        SuspenseItem.objects.filter(municipality_id=job.municipality_id, payment__job_id=job.pk)
        .select_related("payment")
        .order_by("pk")
    )
