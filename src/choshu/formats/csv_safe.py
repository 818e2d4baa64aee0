"""CSV written for people who open it in a spreadsheet: no cell can become a formula.

A text cell starting with ``=`` ``+`` ``-`` ``@``, a tab or a carriage return is read by Excel and
LibreOffice as a formula (OWASP "CSV Injection"); such a cell is written with a leading apostrophe,
which the spreadsheet shows as text. Numbers (``int``) are written as they are. ``csv_stream`` yields
the file line by line, so a response can stream any number of rows in bounded memory.

Shared: every CSV export meant for spreadsheets (the audit log export first) should write through here.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
UTF8_BOM = "\ufeff"  # so that Excel reads the file as UTF-8


def neutralise_cell(value: object) -> str | int:
    """The cell as written: ``None`` empty, an ``int`` as is, text starting like a formula with ``'``."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "はい" if value else "いいえ"
    if isinstance(value, int):
        return value
    if isinstance(value, datetime | date):
        return value.isoformat()
    text = str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def csv_stream(header: Sequence[str], rows: Iterable[Sequence[object]], *, bom: bool = True) -> Iterator[str]:
    """The CSV text (CRLF line ends, every cell neutralised), one line at a time."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")

    def line(cells: Sequence[object]) -> str:
        writer.writerow([neutralise_cell(c) for c in cells])
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    yield (UTF8_BOM if bom else "") + line(header)
    for row in rows:
        yield line(row)
