"""CSV written for people who open it in a spreadsheet: no cell can become a formula.

A text cell starting with ``=`` ``+`` ``-`` ``@``, a tab or a carriage return is read by Excel and
LibreOffice as a formula (OWASP "CSV Injection"); such a cell is written with a leading apostrophe,
which the spreadsheet shows as text. Numbers (``int``) are written as they are. ``csv_stream`` yields
the file line by line, so a response can stream any number of rows in bounded memory.

Shared: every CSV export meant for spreadsheets (the audit log export first) should write through here.

CP932 (Shift_JIS for Japanese Excel and print vendors) cannot hold every character a name or address may
carry. The one policy (``encode_cp932``): the usual JIS/CP932 spelling gaps (WAVE DASH 〜 and the like)
are written as CP932 spells them; any other character CP932 lacks (𠮷, 髙 in some sources …) is written
as 〓 (geta, the customary mark) — never dropped — and ``cp932_unencodable`` tells the caller which
characters were replaced so that it can report them (a file's summary counts the rows concerned).
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import date, datetime

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
UTF8_BOM = "\ufeff"  # so that Excel reads the file as UTF-8

# Characters that Excel users type and CP932 spells differently (the usual JIS/CP932 mapping gaps).
CP932_SPELLING = str.maketrans(
    {
        "\u301c": "\uff5e",  # WAVE DASH → FULLWIDTH TILDE
        "\u2016": "\u2225",  # DOUBLE VERTICAL LINE → PARALLEL TO
        "\u2212": "\uff0d",  # MINUS SIGN → FULLWIDTH HYPHEN-MINUS
        "\u2014": "\u2015",  # EM DASH → HORIZONTAL BAR
        "\u00a2": "\uffe0",
        "\u00a3": "\uffe1",
        "\u00ac": "\uffe2",
    }
)
GETA = "〓"  # the customary mark for a character the code page cannot hold
GETA_ERRORS = "choshu-geta"


def _geta(error: UnicodeError) -> tuple[str, int]:
    if not isinstance(error, UnicodeEncodeError):
        raise error
    return GETA * (error.end - error.start), error.end


codecs.register_error(GETA_ERRORS, _geta)


def encode_cp932(text: str) -> bytes:
    """``text`` in CP932: spelling gaps mapped, any other character CP932 lacks written as 〓.
    (Every character of ``CP932_SPELLING`` is one CP932 lacks, so text that encodes as it is needs no
    mapping: the common case costs one ``encode``.)"""
    try:
        return text.encode("cp932")
    except UnicodeEncodeError:
        return text.translate(CP932_SPELLING).encode("cp932", errors=GETA_ERRORS)


def cp932_unencodable(text: str) -> str:
    """The characters of ``text`` that ``encode_cp932`` writes as 〓 (in order, "" when none)."""
    try:
        text.encode("cp932")
    except UnicodeEncodeError:
        return "".join(ch for ch in text.translate(CP932_SPELLING) if not _encodes(ch))
    return ""


def _encodes(ch: str) -> bool:
    try:
        ch.encode("cp932")
    except UnicodeEncodeError:
        return False
    return True


def neutralise_cell(value: object) -> str | int:
    """The cell as written: ``None`` empty, an ``int`` as is, text starting like a formula with ``'``."""
    if type(value) is int:  # the common cells first (a print file has a hundred per row)
        return value
    if type(value) is str:
        return "'" + value if value.startswith(FORMULA_START) else value
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


def csv_line_writer() -> Callable[[Sequence[object]], str]:
    """A function making one CSV line (CRLF, every cell neutralised) of a row's cells — for a writer
    that looks at the line before it writes it (``csv_stream`` is the usual way)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")

    def line(cells: Sequence[object]) -> str:
        # an int, or text not starting like a formula, is written as it is (neutralise_cell's first two
        # cases, without a call per cell: a print file has a hundred cells per row)
        writer.writerow(
            [
                c
                if (t := type(c)) is int or (t is str and not c.startswith(FORMULA_START))  # type: ignore[attr-defined]
                else neutralise_cell(c)
                for c in cells
            ]
        )
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    return line


def csv_stream(header: Sequence[str], rows: Iterable[Sequence[object]], *, bom: bool = True) -> Iterator[str]:
    """The CSV text (CRLF line ends, every cell neutralised), one line at a time."""
    line = csv_line_writer()
    yield (UTF8_BOM if bom else "") + line(header)
    for row in rows:
        yield line(row)
