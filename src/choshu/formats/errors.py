"""Errors raised by parsers: every problem names the line, the column and the reason."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class RowError:
    line: int
    column: str
    reason: str
    value: str = ""

    def as_dict(self) -> dict[str, object]:
        return asdict(self)

    def __str__(self) -> str:
        where = f"{self.line}行目" + (f" {self.column}列" if self.column else "")
        shown = f" (値: {self.value!r})" if self.value else ""
        return f"{where}: {self.reason}{shown}"


class FileRefused(Exception):
    """The whole file is refused; nothing was written. ``errors`` lists every problem found."""

    def __init__(self, errors: list[RowError], file_name: str = "") -> None:
        self.errors = errors
        self.file_name = file_name
        first = "; ".join(str(e) for e in errors[:3])
        more = f" ほか{len(errors) - 3}件" if len(errors) > 3 else ""
        super().__init__(f"{file_name}: 取込を中止しました（{len(errors)}件のエラー）: {first}{more}")
