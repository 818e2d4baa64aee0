"""CSV files as the interchange formats define them (interchange.md, "Common rules").

UTF-8 (with or without BOM) or CP932, detected strictly: a file that is not valid UTF-8 is decoded as
CP932, and a file valid in neither is refused with the byte offset of the first bad byte. Never
decoded with replacement characters. One header row with exactly the expected column names in order.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import chain
from pathlib import Path
from typing import Any, TextIO

from choshu.formats.errors import FileRefused, RowError
from choshu.formats.fields import CONTROL, CONTROL_BUT_LINE_BREAKS, control_character_reason, visible_controls

MAX_ERRORS = 200
_PRIVATE_USE = re.compile("[\ue000-\uf8ff]")


@dataclass(frozen=True)
class CsvText:
    text: str
    encoding: str
    sha256: str


def decode_strict(data: bytes, file_name: str = "") -> CsvText:
    digest = hashlib.sha256(data).hexdigest()
    if data.startswith(b"\xef\xbb\xbf"):
        try:
            return CsvText(data[3:].decode("utf-8"), "utf-8-sig", digest)
        except UnicodeDecodeError as exc:
            raise _refused(
                data, exc.start + 3, "UTF-8 (BOM 付き) として不正なバイトがあります", file_name
            ) from exc
    try:
        return CsvText(data.decode("utf-8"), "utf-8", digest)
    except UnicodeDecodeError:
        pass
    return CsvText(_decode_cp932(data, file_name), "cp932", digest)


def _decode_cp932(data: bytes, file_name: str) -> str:
    """``data`` decoded as CP932 once ``_check_cp932_lines`` would have passed.

    The same checks on the whole file first, cheaply; only when one of them finds something does the
    line-by-line check run, to raise the first error in line order.
    """
    try:
        text = data.decode("cp932")
    except UnicodeDecodeError:
        text = None
    if text is None or _has_private_use(data) or _has_utf8_line(data):
        _check_cp932_lines(data, file_name)
    return data.decode("cp932") if text is None else text


_PUA_SOURCES = (0xA0, *range(0xF0, 0xFA), 0xFD, 0xFE, 0xFF)
"""The bytes CP932 decodes into the private-use area, alone (0xA0, 0xFD–0xFF) or as lead byte."""
_NOT_UTF8 = re.compile("[\udc80-\udcff]")
_NOT_UTF8_LEAD = bytes(b for b in range(256) if not 0xC2 <= b <= 0xF4)
_CHUNK = 1 << 16
_WINDOW = 1 << 12


def _has_private_use(data: bytes) -> bool:
    """Whether ``data`` (valid CP932) decodes to a private-use character: only the lines holding a byte
    that can start one are decoded again and searched (``bytes.find`` is far faster than a regex)."""
    checked: set[int] = set()
    for byte in _PUA_SOURCES:
        at = data.find(byte)
        while at >= 0:
            start, end = data.rfind(b"\n", 0, at) + 1, data.find(b"\n", at)
            end = len(data) if end < 0 else end
            if start not in checked:
                checked.add(start)
                try:
                    if _PRIVATE_USE.search(data[start:end].decode("cp932")) is not None:
                        return True
                except UnicodeDecodeError:
                    return True
            at = data.find(byte, end)
    return False


def _has_utf8_line(data: bytes) -> bool:
    """Whether a line (split at ``\n``) with a non-ASCII byte is valid UTF-8.

    Decoded with ``surrogateescape``, each byte that is not part of valid UTF-8 becomes U+DC80–U+DCFF
    (a UTF-8 sequence never spans a ``\n``), and encoding back to ASCII with ``surrogateescape`` stops
    only at a character decoded from a valid multi-byte sequence: its line is valid UTF-8 if it has
    no escaped byte. Read in chunks of whole lines to keep memory bounded; a chunk without any byte
    that can start a multi-byte sequence (0xC2–0xF4; CP932 katakana has none) is passed over.
    """
    start = 0
    while start < len(data):
        end = data.find(b"\n", start + _CHUNK)
        end = len(data) if end < 0 else end + 1
        chunk = data[start:end]
        start = end
        if not chunk.translate(None, _NOT_UTF8_LEAD):
            continue
        text = chunk.decode("utf-8", "surrogateescape")
        pos = 0
        while pos < len(text):
            try:
                text[pos : pos + _WINDOW].encode("ascii", "surrogateescape")
            except UnicodeEncodeError as exc:
                at = pos + exc.start
                line_start, pos = text.rfind("\n", 0, at) + 1, text.find("\n", at)
                pos = len(text) if pos < 0 else pos
                if _NOT_UTF8.search(text, line_start, pos) is None:
                    return True
            else:
                pos += _WINDOW
    return False


def _check_cp932_lines(data: bytes, file_name: str) -> None:
    """The file is not UTF-8: every line must be CP932, with no UTF-8 lines mixed in.

    Japanese CP932 text is almost never valid UTF-8 (its kana lead bytes 0x82/0x83 are UTF-8
    continuation bytes), so a non-ASCII line that decodes as UTF-8 marks a file pasted together from
    two sources. Bytes that CP932 maps to the private-use area (0xA0, 0xFD–0xFF, 外字 0xF040–0xF9FC)
    are refused too: they are not characters any other system can read.
    """
    offset = 0
    for line_no, raw in enumerate(data.split(b"\n"), start=1):
        start, offset = offset, offset + len(raw) + 1
        if raw.isascii():
            continue
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError:
            pass
        else:
            raise FileRefused(
                [
                    RowError(
                        line_no,
                        "",
                        "文字コードが混在しています: この行は UTF-8、ほかの行は CP932(Shift_JIS) です"
                        "（どちらかに統一して保存し直してください）",
                    )
                ],
                file_name,
            )
        try:
            text = raw.decode("cp932")
        except UnicodeDecodeError as exc:
            raise _refused(
                data,
                start + exc.start,
                "UTF-8 としても CP932(Shift_JIS) としても不正なバイトがあります",
                file_name,
            ) from exc
        pua = _PRIVATE_USE.search(text)
        if pua is not None:
            col = pua.start()
            raise FileRefused(
                [
                    RowError(
                        line_no,
                        "",
                        f"{col + 1}文字目が CP932 の外字領域または不正なバイトです（文字コードを確認し、標準の文字に置き換えてください）",
                    )
                ],
                file_name,
            )


def _refused(data: bytes, pos: int, what: str, file_name: str) -> FileRefused:
    line = data.count(b"\n", 0, pos) + 1
    return FileRefused(
        [
            RowError(
                line,
                "",
                f"文字コードを判定できません: {pos}バイト目: {what}（UTF-8 か CP932 で保存し直してください）",
            )
        ],
        file_name,
    )


def read_bytes(path: str | Path) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise FileRefused([RowError(0, "", f"ファイルを読めません: {exc.strerror}")], str(path)) from exc


_READ_CHUNK = 1 << 20


@dataclass(frozen=True)
class CsvSource:
    """A CSV file checked for its encoding, read again line by line when parsed (bounded memory).

    A UTF-8 file (the common case) is read twice from disk: once to hash it and check that it is
    valid UTF-8, once while it is parsed; its text is never held whole. A CP932 file keeps the
    checks of ``decode_strict`` (they look at the whole file) and so its decoded text (``text``).
    """

    path: Path
    encoding: str
    sha256: str
    text: str | None = None

    def open(self) -> TextIO:
        if self.text is not None:
            return io.StringIO(self.text, newline="")
        return open(self.path, encoding=self.encoding, newline="")  # noqa: SIM115 - the caller closes it


def open_strict(path: str | Path, file_name: str = "") -> CsvSource:
    """``decode_strict`` for a file on disk, without holding a UTF-8 file's text in memory."""
    path = Path(path)
    digest = hashlib.sha256()
    decoder = codecs.getincrementaldecoder("utf-8")()
    valid = True
    try:
        with open(path, "rb") as fh:
            head = fh.read(3)
            bom = head == b"\xef\xbb\xbf"
            chunk = b"" if bom else head
            digest.update(head)
            while True:
                if valid:
                    try:
                        decoder.decode(chunk)
                    except UnicodeDecodeError:
                        valid = False
                chunk = fh.read(_READ_CHUNK)
                if not chunk:
                    break
                digest.update(chunk)
            if valid:
                try:
                    decoder.decode(b"", final=True)
                except UnicodeDecodeError:
                    valid = False
    except OSError as exc:
        raise FileRefused([RowError(0, "", f"ファイルを読めません: {exc.strerror}")], str(path)) from exc
    if valid:
        return CsvSource(path, "utf-8-sig" if bom else "utf-8", digest.hexdigest())
    decoded = decode_strict(read_bytes(path), file_name or str(path))  # refuses, or CP932 text
    return CsvSource(path, decoded.encoding, decoded.sha256, decoded.text)


def _check_header(
    reader: Iterator[list[str]],
    expected_header: Sequence[str],
    file_name: str,
    older: Sequence[Sequence[str]] = (),
) -> tuple[str, ...]:
    """Read the header row from ``reader`` and return it; a missing, malformed or wrong header refuses
    the file. ``older`` are earlier layouts still accepted (the message names the current one)."""
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise FileRefused([RowError(1, "", f"CSV の形式が不正です: {exc}")], file_name) from exc
    if header is None:
        raise FileRefused([RowError(1, "", "ファイルが空です（見出し行がありません）")], file_name)
    if any(list(header) == list(layout) for layout in (expected_header, *older)):
        return tuple(header)
    also = "".join(f"（または旧形式 {','.join(layout)}）" for layout in older)
    raise FileRefused(
        [
            RowError(
                1,
                "",
                "見出し行が仕様と一致しません。期待: "
                + ",".join(expected_header)
                + also
                + " / 実際: "
                + ",".join(header),
            )
        ],
        file_name,
    )


def _width_error(line_no: int, found: int, width: int) -> RowError:
    return RowError(line_no, "", f"列の数が {found} です（{width} 列必要です）。行が途中で切れていませんか")


def iter_rows(
    text: str | TextIO,
    expected_header: Sequence[str],
    errors: list[RowError],
    file_name: str = "",
    *,
    older: Sequence[Sequence[str]] = (),
) -> Iterator[tuple[int, dict[str, str]]]:
    """Yield ``(line_no, row)`` for each data row with the right number of columns.

    A wrong header refuses the file at once; a row with the wrong number of columns is appended to
    ``errors`` (the caller refuses the file when it has read it all). Empty lines are skipped.
    Line numbers are physical line numbers (a quoted field with a newline spans lines). ``text`` is
    the file's text, or a text stream opened with ``newline=""`` (``CsvSource.open``).
    ``older`` lists earlier layouts still accepted: the header chooses, and each row holds the
    columns of the layout the file has (the caller tells them apart by the keys).
    """
    reader = _reader(text)
    header = _check_header(reader, expected_header, file_name, older)
    for line_no, fields in _data_rows(reader, header, errors):
        yield line_no, dict(zip(header, fields, strict=True))


def iter_fields(
    text: str | TextIO,
    expected_header: Sequence[str],
    errors: list[RowError],
    file_name: str = "",
    *,
    older: Sequence[Sequence[str]] = (),
) -> Iterator[tuple[int, list[str]]]:
    """``iter_rows`` yielding each row's fields as a list, in the header's order."""
    reader = _reader(text)
    header = _check_header(reader, expected_header, file_name, older)
    yield from _data_rows(reader, header, errors)


def fields_of_layout(
    text: str | TextIO, layouts: Sequence[Sequence[str]], errors: list[RowError], file_name: str = ""
) -> tuple[int, Iterator[tuple[int, list[str]]]]:
    """For a file that may come in several layouts (the current one first), chosen by its header row:
    the header is read at once (refusing the file when it is none of ``layouts``) and the index of its
    layout returned with ``iter_fields``' rows of that layout."""
    reader = _reader(text)
    header = _check_header(reader, layouts[0], file_name, layouts[1:])
    index = next(i for i, layout in enumerate(layouts) if tuple(layout) == header)
    return index, _data_rows(reader, header, errors)


def _reader(text: str | TextIO) -> Any:
    source = io.StringIO(text, newline="") if isinstance(text, str) else text
    return csv.reader(source, strict=True)


def control_errors(line_no: int, header: Sequence[str], fields: Sequence[str]) -> list[RowError]:
    """A row's fields holding a control character (NUL, ESC, or a TAB/CR/LF inside a field), each
    with its line, column and a Japanese reason. Every CSV parser's rows pass through here."""
    if CONTROL.search("".join(fields)) is None:
        return []
    found = []
    for column, value in zip(header, fields, strict=False):
        reason = control_character_reason(value)
        if reason is not None:
            found.append(RowError(line_no, column, reason, visible_controls(value[:80])))
    return found


def _data_rows(reader: Any, header: Sequence[str], errors: list[RowError]) -> Iterator[tuple[int, list[str]]]:
    width = len(header)
    while len(errors) < MAX_ERRORS:
        line_no = reader.line_num + 1
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            errors.append(RowError(line_no, "", f"CSV の形式が不正です: {exc}"))
            return
        if not fields:
            continue
        if len(fields) != width:
            errors.append(_width_error(line_no, len(fields), width))
            continue
        bad = control_errors(line_no, header, fields)
        if bad:
            errors.extend(bad)
            continue
        yield line_no, fields


_SCAN_CHUNK = 1 << 16


class RawRows:
    """``iter_rows`` taken apart, for a caller that reads plain lines itself.

    ``plain`` is a regular expression for a line the caller can read without the csv module: it must
    match (whole, line terminator excluded) only non-empty lines that the csv module would split at
    their commas alone — no quote, no line break, no field over the csv field size limit.

    ``start()`` checks the header (refusing the file exactly as ``iter_rows`` does) and returns the
    physical line number of its last line and an iterator over the physical lines after it, each as
    a tuple ``(content, *groups of plain, terminator, other)``: ``content`` is the line (without its
    terminator) when ``plain`` matches it, else ``""``; ``other`` is the line with its terminator when
    ``plain`` does not match it, else ``""``.
    Lines are found with one ``findall`` per chunk of text, split at CR LF, CR or LF as the csv
    module reads them.

    The caller numbers the lines (one each) and either reads a line itself or hands it to
    ``row(line_no, line)`` before taking the next one. ``row`` reads the row as ``iter_rows`` does (csv
    module, strict; a quoted field's continuation lines, counted in ``extra_lines``; a blank row
    skipped; a wrong column count or a CSV syntax error recorded in ``errors``) and returns what
    ``iter_rows`` would have yielded for it, or ``None``. ``iter_rows`` stops before a row once
    ``MAX_ERRORS`` errors are recorded, or after a CSV syntax error: the caller checks ``done`` before
    the first row and after each row it handed to ``row`` (the rows it reads itself record no error).
    """

    def __init__(
        self,
        text: str,
        expected_header: Sequence[str],
        errors: list[RowError],
        file_name: str = "",
        *,
        plain: str,
    ) -> None:
        self._text = text
        self._scan = re.compile(rf"(?:({plain})(\r\n|\r|\n|\Z))|([^\r\n]*(?:\r\n|\r|\n)?)")
        self._header = tuple(expected_header)
        self._errors = errors
        self._file_name = file_name
        self._stopped = False
        self._lines: Iterator[tuple[str, ...]] = iter(())
        self.extra_lines = 0

    def _scan_chunks(self) -> Iterator[list[tuple[str, ...]]]:
        text, findall = self._text, self._scan.findall
        pos, size = 0, len(text)
        while pos < size:
            # a chunk ends after a LF, or after a lone CR if no LF comes soon (a file of CR line
            # ends): never inside a line or a CR LF
            cut = pos + _SCAN_CHUNK
            end = text.find("\n", cut)
            if end < 0 or end > cut + _SCAN_CHUNK:
                cr = text.find("\r", cut, size if end < 0 else end - 1)
                if cr >= 0:
                    end = cr
            end = size if end < 0 else end + 1
            found = findall(text, pos, end)
            if not (found[-1][0] or found[-1][-1]):
                found.pop()  # the empty match at the end of the chunk
            if CONTROL_BUT_LINE_BREAKS.search(text, pos, end) is not None:
                found = [self._not_plain(line) for line in found]
            yield found
            pos = end

    @classmethod
    def _not_plain(cls, line: tuple[str, ...]) -> tuple[str, ...]:
        """A plain line holding a control character goes to ``row()``, which refuses it."""
        if not line[0] or CONTROL_BUT_LINE_BREAKS.search(line[0]) is None:
            return line
        return ("",) * (len(line) - 1) + (cls.raw(line),)

    @staticmethod
    def raw(line: tuple[str, ...]) -> str:
        """The physical line, terminator included (a plain line may be the continuation of a quoted
        field, whose value then holds the terminator)."""
        return line[0] + line[-2] if line[0] else line[-1]

    def start(self) -> tuple[int, Iterator[tuple[str, ...]]]:
        self._lines = chain.from_iterable(self._scan_chunks())  # one iterator for the caller and row()
        reader = csv.reader(map(self.raw, self._lines), strict=True)  # reads only the header's lines
        _check_header(reader, self._header, self._file_name)
        return reader.line_num, self._lines

    @property
    def done(self) -> bool:
        return self._stopped or len(self._errors) >= MAX_ERRORS

    def row(self, line_no: int, line: tuple[str, ...]) -> dict[str, str] | None:
        reader = csv.reader(chain((self.raw(line),), map(self.raw, self._lines)), strict=True)
        try:
            fields = next(reader)
        except csv.Error as exc:
            self._errors.append(RowError(line_no, "", f"CSV の形式が不正です: {exc}"))
            self._stopped = True
            return None
        finally:
            self.extra_lines = reader.line_num - 1
        if not fields:
            return None
        width = len(self._header)
        if len(fields) != width:
            self._errors.append(_width_error(line_no, len(fields), width))
            return None
        bad = control_errors(line_no, self._header, fields)
        if bad:
            self._errors.extend(bad)
            return None
        return dict(zip(self._header, fields, strict=True))
