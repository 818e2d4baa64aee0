"""公金受取口座 as the office obtained them (docs/formats.md §18): one row per person, checked for shape
here (pure); the service checks the 宛名 and the account itself (bank, branch, kana)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from choshu.formats.csvfile import iter_rows
from choshu.formats.errors import RowError

HEADER = ("taxpayer_no", "bank_code", "branch_code", "deposit_type", "account_no", "holder_kana")


@dataclass(frozen=True)
class AccountRow:
    line: int
    taxpayer_no: str
    bank_code: str
    branch_code: str
    deposit_type: str
    account_no: str
    holder_kana: str


def parse_accounts(text: str, errors: list[RowError], file_name: str = "") -> Iterator[AccountRow]:
    """The rows; an empty required cell is added to ``errors`` (the caller refuses the file)."""
    for line, row in iter_rows(text, HEADER, errors, file_name):
        missing = [name for name in HEADER if not row[name].strip()]
        for name in missing:
            errors.append(RowError(line, name, "値がありません"))
        if not missing:
            yield AccountRow(line, *(row[name].strip() for name in HEADER))
