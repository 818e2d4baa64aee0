"""``choshu import-inbox DIR``: the file drop of the integration (issue 22 §4; docs/api.md「ファイル連携」).

A sender writes ``NAME`` and then an empty ``NAME.done`` (the marker says the file is complete: a file
without its marker is never read, whatever its size or age). Each marked file is claimed by an atomic
rename into ``DIR/.work/``, imported by the import service its name names, with the same rules as the
command of that file, and moved to ``DIR/processed/`` or ``DIR/rejected/`` beside a
``NAME.report.json``. A file whose SHA-256 an earlier import of its kind already succeeded with is not
imported again (moved to processed/ with ``already_imported``). A run killed between the import's
commit and the move leaves the file in ``.work/``: the next run takes it first, and its hash tells it
was imported.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone

from choshu.core.models import Job, Municipality
from choshu.core.services import file_already_imported
from choshu.formats.errors import FileRefused
from choshu.levies.services import levies_import
from choshu.receipts.services import import_job_kind, payments_import
from choshu.stdlink.imports import stdlink_import
from choshu.stdlink.models import StdFile
from choshu.taxpayers.services import taxpayers_import

MARKER = ".done"
WORK, PROCESSED, REJECTED = ".work", "processed", "rejected"


@dataclass(frozen=True)
class Feed:
    """A kind of file and the name pattern that says so (lower-case name, ``.csv``)."""

    kind: str
    pattern: re.Pattern[str]
    order: int


def _std(file_id: str, order: int) -> Feed:
    """A standard 036 file (docs/formats.md §34): its file ID anywhere in the name (``036o005_20240601_1.csv``)."""
    return Feed(f"std-{file_id}", re.compile(rf"^[\w.-]*{file_id}[\w.-]*\.csv$"), order)


FEEDS = (
    Feed("taxpayers", re.compile(r"^taxpayers[\w.-]*\.csv$"), 0),
    _std("036o013", 1),  # 代理人, 送付先, 共有: about the 宛名
    _std("036o014", 1),
    _std("036o011", 1),
    _std("036o015", 2),  # 期別マスタ before the levies that use it
    Feed("levies", re.compile(r"^levies[\w.-]*\.csv$"), 3),
    _std("036o005", 3),
    Feed("payments-conveni", re.compile(r"^payments-conveni[\w.-]*\.csv$"), 4),
    Feed("payments-bank", re.compile(r"^payments-bank[\w.-]*\.csv$"), 4),
    Feed("payments-eltax", re.compile(r"^payments-eltax[\w.-]*\.csv$"), 4),
    _std("036o006", 4),
    _std("036o007", 5),  # 督促 after the levies and payments
    _std("036o009", 6),  # 督促停止 (期別) before the stop orders that lift them
    _std("036o008", 7),
    _std("036o012", 8),  # 返戻 after the 督促 it returns
    _std("036o010", 8),
)
FULL = re.compile(r"(?:^|[_.-])full(?:[_.-]|$)")
"""A standard file whose name has ``full`` as a word (``036o005_full_20240601.csv``) is a full load."""


def feed_of(name: str) -> Feed | None:
    lower = name.lower()
    return next((f for f in FEEDS if f.pattern.match(lower)), None)


def _job_kind(feed: Feed) -> Job.Kind:
    if feed.kind == "taxpayers":
        return Job.Kind.IMPORT_TAXPAYERS
    if feed.kind == "levies":
        return Job.Kind.IMPORT_LEVIES
    return import_job_kind(feed.kind.removeprefix("payments-"))


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _ready(inbox: Path) -> Iterator[Path]:
    """Files of the inbox with their marker (never a dot file, a marker or a directory)."""
    for entry in os.scandir(inbox):
        name = entry.name
        if name.startswith(".") or name.endswith(MARKER) or not entry.is_file(follow_symlinks=False):
            continue
        if (inbox / (name + MARKER)).is_file():
            yield inbox / name


def _claim(inbox: Path, path: Path) -> Path | None:
    work = inbox / WORK
    work.mkdir(exist_ok=True)
    target = work / path.name
    if target.exists():
        return None  # a file of that name is still being worked on: left for the next run
    try:
        os.rename(path, target)  # atomic on one file system; a second runner finds nothing
    except FileNotFoundError:
        return None
    (inbox / (path.name + MARKER)).unlink(missing_ok=True)
    return target


def _free_name(folder: Path, name: str) -> Path:
    target = folder / name
    if not target.exists() and not (folder / f"{name}.report.json").exists():
        return target
    stamp = datetime.now().strftime("%Y%m%dT%H%M%S%f")
    return folder / f"{name}.{stamp}"


def _file(inbox: Path, path: Path, folder: str, report: dict[str, Any]) -> dict[str, Any]:
    dest_dir = inbox / folder
    dest_dir.mkdir(exist_ok=True)
    target = _free_name(dest_dir, path.name)
    report_path = target.with_name(target.name + ".report.json")
    report_path.write_text(
        json.dumps(report, ensure_ascii=False, indent=2, default=str) + "\n", encoding="utf-8"
    )
    os.replace(path, target)
    return {**report, "moved_to": str(target), "report": str(report_path)}


def import_inbox(
    *, municipality: Municipality, inbox: Path, booking_date: date, actor: Any = None
) -> list[dict[str, Any]]:
    """Import every complete file of ``inbox`` (see the module's docstring); one result per file."""
    if not inbox.is_dir():
        raise ValidationError(f"取込フォルダ {inbox} がありません。")
    leftover = sorted((inbox / WORK).iterdir()) if (inbox / WORK).is_dir() else []
    claimed = [p for p in (_claim(inbox, p) for p in sorted(_ready(inbox))) if p is not None]
    files = leftover + claimed

    def order(p: Path) -> tuple[int, str]:
        feed = feed_of(p.name)
        return (feed.order if feed else 99, p.name)

    results = []
    for path in sorted(files, key=order):
        results.append(_one(municipality, inbox, path, booking_date, actor))
    return results


def _one(
    municipality: Municipality, inbox: Path, path: Path, booking_date: date, actor: Any
) -> dict[str, Any]:
    base: dict[str, Any] = {"file": path.name, "at": timezone.now().isoformat()}
    feed = feed_of(path.name)
    if feed is None:
        names = "、".join(f.pattern.pattern for f in FEEDS)
        return _file(
            inbox,
            path,
            REJECTED,
            {
                **base,
                "status": "rejected",
                "errors": [
                    {
                        "line": 0,
                        "column": "",
                        "reason": f"ファイル名から種類が分かりません（{names} のいずれかにしてください）",
                        "value": "",
                    }
                ],
            },
        )
    base["kind"] = feed.kind
    sha256 = _sha256(path)
    base["sha256"] = sha256
    std = feed.kind.removeprefix("std-") if feed.kind.startswith("std-") else ""
    if std:
        seen = StdFile.objects.filter(
            municipality=municipality, kind=std, sha256=sha256, status=StdFile.Status.IMPORTED
        ).exists()
    else:
        seen = file_already_imported(municipality=municipality, kind=_job_kind(feed), sha256=sha256)
    if seen:
        return _file(inbox, path, PROCESSED, {**base, "status": "already_imported"})
    run: Callable[[], Any]
    if std:
        mode = "full" if FULL.search(path.name.lower()) else "delta"
        base["mode"] = mode
        run = lambda: stdlink_import(  # noqa: E731
            municipality=municipality, path=path, kind=std, mode=mode, actor=actor, booking_date=booking_date
        )
    elif feed.kind == "taxpayers":
        run = lambda: taxpayers_import(municipality=municipality, path=path, actor=actor)  # noqa: E731
    elif feed.kind == "levies":
        run = lambda: levies_import(  # noqa: E731
            municipality=municipality, path=path, booking_date=booking_date, actor=actor
        )
    else:
        channel = feed.kind.removeprefix("payments-")
        run = lambda: payments_import(municipality=municipality, channel=channel, path=path, actor=actor)  # noqa: E731
    try:
        summary = run()
    except FileRefused as refused:
        return _file(
            inbox,
            path,
            REJECTED,
            {**base, "status": "rejected", "errors": [e.as_dict() for e in refused.errors[:200]]},
        )
    except ValidationError as exc:
        return _file(
            inbox, path, REJECTED,
            {**base, "status": "rejected", "errors": [{"line": 0, "column": "", "reason": m, "value": ""} for m in exc.messages]},
        )  # fmt: skip
    return _file(inbox, path, PROCESSED, {**base, "status": "imported", "summary": summary.as_dict()})
