"""振込結果ファイル — the result of a 総合振込 of refunds, as the office enters it from the bank's
振込不能 notice (docs/formats.md "Refund transfer result"): one row per record of the transfer file
that was sent, with its result code. Pure parser: every row checked, every problem named with line,
column and reason (``FileRefused``); the service compares the rows with what was sent.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

from choshu.formats.csvfile import iter_rows
from choshu.formats.errors import RowError

HEADER = (
    "transfer_date",
    "customer_code",
    "bank_code",
    "branch_code",
    "deposit_type",
    "account_no",
    "amount",
    "result_code",
)

RESULT_CODES: dict[str, str] = {
    "0": "振込済",
    "1": "該当口座なし",
    "2": "口座名義相違",
    "3": "口座解約済",
    "4": "取扱不能（金融機関の事由）",
    "9": "その他の振込不能",
}
PAID = "0"


@dataclass(frozen=True)
class TransferResult:
    line: int
    transfer_date: date
    customer_code: int
    bank_code: str
    branch_code: str
    deposit_type: str
    account_no: str
    amount: int
    result_code: str

    @property
    def paid(self) -> bool:
        return self.result_code == PAID


def _digits(row: dict[str, str], name: str, width: int | None, line: int, errors: list[RowError]) -> str:
    value = row[name].strip()
    if not value.isascii() or not value.isdigit() or (width is not None and len(value) != width):
        need = f"{width}桁の数字" if width is not None else "数字"
        errors.append(RowError(line, name, f"{need}で入力してください", row[name]))
    return value


def parse_results(text: str, errors: list[RowError], file_name: str = "") -> Iterator[TransferResult]:
    """The rows of a 振込結果ファイル; a bad row is added to ``errors`` (the caller refuses the file
    when it has read it all and ``errors`` is not empty)."""
    for line, row in iter_rows(text, HEADER, errors, file_name):
        before = len(errors)
        try:
            when = date.fromisoformat(row["transfer_date"].strip())
        except ValueError:
            errors.append(
                RowError(line, "transfer_date", "日付は YYYY-MM-DD で入力してください", row["transfer_date"])
            )
            when = date.min
        code = _digits(row, "customer_code", None, line, errors)
        bank = _digits(row, "bank_code", 4, line, errors)
        branch = _digits(row, "branch_code", 3, line, errors)
        deposit = _digits(row, "deposit_type", 1, line, errors)
        account = _digits(row, "account_no", 7, line, errors)
        amount = _digits(row, "amount", None, line, errors)
        result = row["result_code"].strip()
        if result not in RESULT_CODES:
            codes = "、".join(f"{k} {v}" for k, v in RESULT_CODES.items())
            errors.append(
                RowError(line, "result_code", f"結果コードは {codes} のいずれかです", row["result_code"])
            )
        if len(errors) == before:
            yield TransferResult(line, when, int(code), bank, branch, deposit, account, int(amount), result)
