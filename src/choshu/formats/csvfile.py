"""CSV files as the interchange formats define them (interchange.md, "Common rules").

UTF-8 (with or without BOM) or CP932, detected strictly: a file that is not valid UTF-8 is decoded as
CP932, and a file valid in neither is refused with the byte offset of the first bad byte. Never
decoded with replacement characters. One header row with exactly the expected column names in order.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from choshu.formats.errors import FileRefused, RowError

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
    _check_cp932_lines(data, file_name)
    return CsvText(data.decode("cp932"), "cp932", digest)


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


def iter_rows(
    text: str, expected_header: Sequence[str], errors: list[RowError], file_name: str = ""
) -> Iterator[tuple[int, dict[str, str]]]:
    """Yield ``(line_no, row)`` for each data row with the right number of columns.

    A wrong header refuses the file at once; a row with the wrong number of columns is appended to
    ``errors`` (the caller refuses the file when it has read it all). Empty lines are skipped.
    Line numbers are physical line numbers (a quoted field with a newline spans lines).
    """
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise FileRefused([RowError(1, "", f"CSV の形式が不正です: {exc}")], file_name) from exc
    if header is None:
        raise FileRefused([RowError(1, "", "ファイルが空です（見出し行がありません）")], file_name)
    if list(header) != list(expected_header):
        raise FileRefused(
            [
                RowError(
                    1,
                    "",
                    "見出し行が仕様と一致しません。期待: "
                    + ",".join(expected_header)
                    + " / 実際: "
                    + ",".join(header),
                )
            ],
            file_name,
        )
    width = len(expected_header)
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
            errors.append(
                RowError(
                    line_no,
                    "",
                    f"列の数が {len(fields)} です（{width} 列必要です）。行が途中で切れていませんか",
                )
            )
            continue
        yield line_no, dict(zip(expected_header, fields, strict=True))
