"""The refund files' parsers (docs/formats.md §16, §18): every bad row named with line and column."""

from __future__ import annotations

from datetime import date

import pytest

from choshu.formats.errors import FileRefused, RowError
from choshu.formats.refund_accounts_csv import HEADER as ACCOUNT_HEADER
from choshu.formats.refund_accounts_csv import parse_accounts
from choshu.formats.refund_results import HEADER, TransferResult, parse_results

HEAD = ",".join(HEADER)


def results(*rows: str) -> tuple[list[TransferResult], list[RowError]]:
    errors: list[RowError] = []
    return list(parse_results("\r\n".join([HEAD, *rows]) + "\r\n", errors, "r.csv")), errors


def test_a_good_result_row_is_read() -> None:
    [row], errors = results("2024-11-05,0000000012,0001,001,1,1234567,3011600,1")
    assert errors == []
    assert (row.transfer_date, row.customer_code, row.amount, row.paid) == (
        date(2024, 11, 5),
        12,
        3011600,
        False,
    )


@pytest.mark.parametrize(
    ("row", "column"),
    [
        ("2024-02-30,12,0001,001,1,1234567,100,0", "transfer_date"),
        ("2024-11-05,x12,0001,001,1,1234567,100,0", "customer_code"),
        ("2024-11-05,12,001,001,1,1234567,100,0", "bank_code"),
        ("2024-11-05,12,0001,01,1,1234567,100,0", "branch_code"),
        ("2024-11-05,12,0001,001,12,1234567,100,0", "deposit_type"),
        ("2024-11-05,12,0001,001,1,123456,100,0", "account_no"),
        ("2024-11-05,12,0001,001,1,1234567,-100,0", "amount"),
        ("2024-11-05,12,0001,001,1,1234567,100,5", "result_code"),
        ("2024-11-05,12,0001,001,1,1234567,１００,0", "amount"),
    ],
)
def test_a_bad_result_row_is_named(row: str, column: str) -> None:
    rows, errors = results(row)
    assert rows == [] and [(e.line, e.column) for e in errors] == [(2, column)]


def test_a_wrong_header_or_width_is_refused() -> None:
    with pytest.raises(FileRefused, match="見出し行"):
        list(parse_results("a,b\r\n1,2\r\n", [], "r.csv"))
    rows, errors = results("2024-11-05,12,0001")
    assert rows == [] and errors[0].line == 2 and "列の数" in errors[0].reason


def test_an_account_row_without_a_value_is_named() -> None:
    errors: list[RowError] = []
    text = ",".join(ACCOUNT_HEADER) + "\r\n1001,0001,,1,1234567,ｶﾜｸﾞﾁ\r\n"
    assert list(parse_accounts(text, errors, "a.csv")) == []
    assert [(e.line, e.column) for e in errors] == [(2, "branch_code")]
