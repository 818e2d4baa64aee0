"""What the API does with a push: the records become a CSV of the import's own layout, and the import
service of that file reads it — the same parser, checks, natural keys and meaning (docs/formats.md §1,
§2), nothing re-implemented. A refused batch changes nothing (the import's transaction)."""

from __future__ import annotations

import csv
import tempfile
from collections.abc import Iterable, Sequence
from datetime import date, time
from pathlib import Path
from typing import Any

from choshu.api.models import SystemClient
from choshu.formats.errors import FileRefused
from choshu.formats.levies_csv import HEADER as LEVY_HEADER
from choshu.formats.taxpayers_csv import HEADER as TAXPAYER_HEADER
from choshu.levies.services import levies_import
from choshu.taxpayers.services import ImportSummary, taxpayers_import

# The import files' own layouts (docs/formats.md §1, §2): one declaration, in formats.
TAXPAYER_COLUMNS = TAXPAYER_HEADER
LEVY_COLUMNS = LEVY_HEADER


class PushRefused(Exception):
    """The import refused the batch: its errors, by record index (0-based; -1 = the batch as a whole)."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__(f"{len(errors)} errors")
        self.errors = errors


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, time):
        return value.strftime("%H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _write_csv(path: Path, columns: Sequence[str], records: Iterable[dict[str, Any]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as f:
        out = csv.writer(f, lineterminator="\r\n")
        out.writerow(columns)
        for rec in records:
            out.writerow([_cell(rec.get(c)) for c in columns])


def _refused(exc: FileRefused) -> PushRefused:
    # line 1 is the header, line 2 the first record (one physical line each: no field holds a line
    # end — the parser refuses control characters, and the writer quotes, so a record is one line)
    return PushRefused(
        [
            {
                "index": e.line - 2 if e.line >= 2 else -1,
                "field": e.column or "",
                "reason": e.reason,
                "value": "" if e.column == "my_number" else str(e.value or "")[:100],
            }
            for e in exc.errors
        ]
    )


def push(client: SystemClient, kind: str, records: list[dict[str, Any]], booking_date: date) -> ImportSummary:
    """Import one batch of ``taxpayers`` or ``levies`` records for the client's municipality."""
    with tempfile.TemporaryDirectory(prefix="choshu-api-") as tmp:
        path = Path(tmp) / f"api-{client.client_id}-{kind}.csv"
        try:
            if kind == "taxpayers":
                _write_csv(path, TAXPAYER_COLUMNS, records)
                return taxpayers_import(municipality=client.municipality, path=path)
            _write_csv(path, LEVY_COLUMNS, records)
            return levies_import(municipality=client.municipality, path=path, booking_date=booking_date)
        except FileRefused as exc:
            raise _refused(exc) from exc
