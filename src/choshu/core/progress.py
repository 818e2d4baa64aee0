"""Progress of a long import: records processed of the file's total, reported at chunk boundaries.

An import calls its ``progress`` callable (``Callable[[int], None]``: records read so far) once per
chunk of records, never per record. Two receivers:

- ``JobProgress`` writes it into the ``Job`` row (``progress_done``, ``progress_total``,
  ``heartbeat_at``) for the browser's progress bar. The import runs in one transaction, whose writes
  nobody else sees until it commits, so the report goes through a connection of its own: on
  PostgreSQL a second connection in autocommit; on SQLite (one writer at a time: the import holds the
  write lock) a small file beside the database, ``VAR_DIR/jobs/<id>.progress.json``, which
  ``job_progress`` reads in its place until the job ends.
- ``TerminalBar`` draws a bar on a terminal for the command line (only when the stream is a TTY).
"""

from __future__ import annotations

import json
import os
import time
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.utils import timezone

from choshu.core.models import Job


def count_lines(path: str | Path) -> int:
    """Lines in the file (the last one need not end in a newline): the total a progress bar shows.
    Read in blocks, so memory does not grow with the file."""
    lines = 0
    last = b"\n"
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            lines += block.count(b"\n")
            last = block[-1:]
    return lines + (0 if last == b"\n" else 1)


def _progress_file(job_id: int) -> Path:
    return Path(settings.VAR_DIR) / "jobs" / f"{job_id}.progress.json"


class JobProgress:
    """Writes an import's progress into its ``Job`` row (see the module's docstring)."""

    def __init__(self, job: Job, *, total: int) -> None:
        self.job_id = job.pk
        self.total = total
        self._side: Any = None
        job.progress_done, job.progress_total = 0, total  # ``job_finish`` completes the bar from these
        Job.objects.filter(pk=job.pk).update(
            progress_done=0, progress_total=total, heartbeat_at=timezone.now()
        )

    def __call__(self, done: int) -> None:
        done = min(done, self.total) if self.total else done
        now = timezone.now()
        if not connection.in_atomic_block:
            Job.objects.filter(pk=self.job_id).update(progress_done=done, heartbeat_at=now)
        elif connection.vendor == "postgresql":
            if self._side is None:
                self._side = connections.create_connection(DEFAULT_DB_ALIAS)
            with self._side.cursor() as cur:
                cur.execute(
                    "UPDATE core_job SET progress_done = %s, heartbeat_at = %s WHERE id = %s",
                    [done, now, self.job_id],
                )
        else:
            path = _progress_file(self.job_id)
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps({"done": done, "at": now.isoformat()}))
            os.replace(tmp, path)

    def close(self) -> None:
        if self._side is not None:
            self._side.close()
            self._side = None
        _progress_file(self.job_id).unlink(missing_ok=True)


def job_progress(job: Job) -> tuple[int, int, datetime | None]:
    """(records done, total, last sign of life) of a job, wherever its import wrote them."""
    done, last = job.progress_done, job.heartbeat_at
    path = _progress_file(job.pk)
    if job.status == Job.Status.RUNNING and path.exists():
        try:
            data = json.loads(path.read_text())
            seen = datetime.fromisoformat(data["at"])
        except (OSError, ValueError, KeyError):
            pass  # being replaced right now: the row's figures will do for this look
        else:
            if last is None or seen > last:
                done, last = int(data["done"]), seen
    return done, job.progress_total, last


class TerminalBar:
    """A one-line progress bar on a terminal: ``取込中 [#####.....] 52% 26,000/50,000件``.

    Dependency-free; draws only when ``stream`` is a TTY and at most ten times a second, so a
    redirected or CI run prints nothing extra.
    """

    WIDTH = 30

    def __init__(self, stream: IO[str] | Any, *, total: int, label: str = "取込中") -> None:
        self.stream = stream
        self.total = total
        self.label = label
        isatty = getattr(stream, "isatty", None)
        self.enabled = bool(isatty and isatty())
        self._last = 0.0
        self._drawn = False

    def __call__(self, done: int) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self._last < 0.1 and done < self.total:
            return
        self._last = now
        self.stream.write("\r" + self.line(done))
        self.stream.flush()
        self._drawn = True

    def line(self, done: int) -> str:
        if self.total:
            done = min(done, self.total)
            filled = self.WIDTH * done // self.total
            pct = 100 * done // self.total
            return f"{self.label} [{'#' * filled}{'.' * (self.WIDTH - filled)}] {pct:3d}% {done:,}/{self.total:,}件"
        return f"{self.label} {done:,}件"

    def finish(self, message: str = "書き込み中…") -> None:
        """End the bar's line (the import's set-based write phase follows, without a bar)."""
        if self.enabled and self._drawn:
            self.stream.write("\r" + self.line(self.total) + f" {message}\n")
            self.stream.flush()
            self._drawn = False
