"""Field validators shared by the CSV parsers. Each returns the typed value or records a ``RowError``."""

from __future__ import annotations

import re
from datetime import date, time

from choshu.formats.errors import RowError

_DIGITS = re.compile(r"[0-9]+")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_INT = re.compile(r"-?[0-9]+")
_TIME = re.compile(r"[0-9]{2}:[0-9]{2}:[0-9]{2}")

CONTROL = re.compile("[\x00-\x1f\x7f]")
"""C0 control characters and DEL: never part of a text field (a TAB, CR or LF only as a delimiter)."""
CONTROL_BUT_LINE_BREAKS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
"""The same without TAB, CR and LF: for multi-line text typed in a text area."""
_CONTROL_NAMES = {0x00: "NUL", 0x09: "タブ", 0x0A: "改行(LF)", 0x0D: "改行(CR)", 0x1B: "ESC", 0x7F: "DEL"}


def visible_controls(text: str) -> str:
    """``text`` with each control character shown as its Unicode control picture (NUL → ␀, DEL → ␡):
    an error may quote the value without carrying a NUL into a log or a database (PostgreSQL refuses it)."""
    return CONTROL.sub(lambda m: chr(0x2421 if m.group() == "\x7f" else 0x2400 + ord(m.group())), text)


def control_character_reason(text: str, *, multiline: bool = False) -> str | None:
    """The Japanese reason a text holding a control character is refused, or ``None`` when clean.

    ``multiline``: TAB, CR and LF are allowed (a text area); otherwise every C0 control character
    and DEL is refused. NUL is never stored: PostgreSQL cannot hold it in text, other systems cut at it.
    """
    found = (CONTROL_BUT_LINE_BREAKS if multiline else CONTROL).search(text)
    if found is None:
        return None
    code = ord(found.group())
    name = _CONTROL_NAMES.get(code, f"U+{code:04X}")
    return (
        f"{found.start() + 1}文字目に制御文字（{name}, U+{code:04X}）が含まれています"
        "（制御文字は使えません。元のデータを確認してください）"
    )


class RowChecker:
    """Collects the errors of one row; ``ok`` tells whether the row was clean."""

    def __init__(self, line: int, errors: list[RowError]) -> None:
        self.line = line
        self.errors = errors
        self.ok = True

    def fail(self, column: str, reason: str, value: str = "") -> None:
        self.ok = False
        self.errors.append(RowError(self.line, column, reason, value))

    def required(self, row: dict[str, str], column: str) -> str:
        value = row[column]
        if value == "":
            self.fail(column, "必須項目が空です")
        return value

    def digits(
        self, row: dict[str, str], column: str, *, min_len: int, max_len: int, required: bool = True
    ) -> str:
        value = row[column]
        if value == "":
            if required:
                self.fail(column, "必須項目が空です")
            return ""
        if not _DIGITS.fullmatch(value) or not (min_len <= len(value) <= max_len):
            size = f"{min_len}桁" if min_len == max_len else f"{min_len}〜{max_len}桁"
            self.fail(column, f"半角数字{size}で指定してください", value)
            return ""
        return value

    def date(self, row: dict[str, str], column: str, *, required: bool = True) -> date | None:
        value = row[column]
        if value == "":
            if required:
                self.fail(column, "必須項目が空です")
            return None
        if not _DATE.fullmatch(value):
            self.fail(column, "日付は YYYY-MM-DD 形式で指定してください", value)
            return None
        try:
            return date.fromisoformat(value)
        except ValueError:
            self.fail(column, "存在しない日付です", value)
            return None

    def time(self, row: dict[str, str], column: str, *, required: bool = True) -> time | None:
        """A time of day as ``HH:MM:SS`` (the standard's 操作時刻)."""
        value = row[column]
        if value == "":
            if required:
                self.fail(column, "必須項目が空です")
            return None
        if not _TIME.fullmatch(value):
            self.fail(column, "時刻は HH:MM:SS 形式で指定してください", value)
            return None
        try:
            return time.fromisoformat(value)
        except ValueError:
            self.fail(column, "存在しない時刻です", value)
            return None

    def yen(self, row: dict[str, str], column: str, *, allow_negative: bool = False) -> int | None:
        value = row[column]
        if value == "":
            self.fail(column, "必須項目が空です")
            return None
        if not _INT.fullmatch(value):
            self.fail(column, "金額は区切りのない半角の整数（円）で指定してください", value)
            return None
        amount = int(value)
        if amount < 0 and not allow_negative:
            self.fail(column, "金額が負です", value)
            return None
        return amount

    def choice(
        self, row: dict[str, str], column: str, allowed: dict[str, str], *, required: bool = True
    ) -> str:
        value = row[column]
        if value == "" and not required:
            return ""
        if value not in allowed:
            shown = ", ".join(f"{k or '空'}={v}" for k, v in allowed.items())
            self.fail(column, f"値が不正です（{shown}）", value)
            return ""
        return value


def canonical_taxpayer_no(text: str, width: int | None) -> str | None:
    """A 宛名番号 as the municipality keeps it (issue 12 §6): where its numbers have a fixed ``width``,
    ``123`` and ``000000000000123`` are the same number and are stored zero-filled to the width; with
    no fixed width the digits are kept as received. ``None`` when the digits do not fit the width
    (a number longer than the width is not one of the municipality's, whatever its leading zeros)."""
    if width is None or len(text) == width:
        return text
    if len(text) < width:
        return text.zfill(width)
    stripped = text.lstrip("0")
    return stripped.zfill(width) if len(stripped) <= width else None
