"""The thin CLI commands over choshu.rules: late-charge, due-date, check-number, refund-interest."""

from __future__ import annotations

import json
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError


def run_json(*args: Any) -> dict[str, Any]:
    out = StringIO()
    call_command(*args, "--json", stdout=out)
    result: dict[str, Any] = json.loads(out.getvalue().strip().splitlines()[-1])
    return result


def run_text(*args: Any) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def refused(*args: Any) -> CommandError:
    with pytest.raises(CommandError) as info:
        call_command(*args, stdout=StringIO())
    assert info.value.returncode == 2
    return info.value


def test_late_charge_reproduces_the_toyohashi_example_as_json() -> None:
    got = run_json("late_charge", "--principal", "65000", "--due", "2021-05-31", "--paid", "2022-01-31")
    assert got["late_charge"] == 3400 and got["base"] == 65000
    assert got["segments"][0] == {
        "from": "2021-06-01",
        "to": "2021-06-30",
        "days": 30,
        "rate": "2.5",
        "yen": 133,
    }
    assert [s["yen"] for s in got["segments"]] == [133, 2883, 480]
    assert [s["rate"] for s in got["segments"]] == ["2.5", "8.8", "8.7"]


def test_late_charge_prints_a_japanese_table_without_json() -> None:
    text = run_text("late_charge", "--principal", "65000", "--due", "2021-05-31", "--paid", "2022-01-31")
    assert "延滞金 3,400円" in text and "2021-06-01〜2021-06-30" in text


def test_late_charge_accepts_partial_payments() -> None:
    got = run_json(
        "late_charge",
        "--principal",
        "100000",
        "--due",
        "2024-05-31",
        "--paid",
        "2024-12-31",
        "--payment",
        "2024-09-30:60500",
    )
    assert got["segments"][-1]["from"] == "2024-10-01"
    assert got["segments"][-1]["yen"] == 39000 * 87 * 92 // (10 * 100 * 365)


@pytest.mark.parametrize(
    "args",
    [
        ("--principal", "abc", "--due", "2021-05-31", "--paid", "2022-01-31"),
        ("--principal", "65000", "--due", "2021-02-30", "--paid", "2022-01-31"),
        ("--principal", "65000", "--due", "2021-05-31", "--paid", "2021-01-31"),
        ("--principal", "65000", "--due", "2021-05-31", "--paid", "2022-01-31", "--payment", "2021-07-01"),
        ("--principal", "65000", "--due", "2026-05-31", "--paid", "2027-03-31"),  # 2027 rate unknown
    ],
)
def test_late_charge_refuses_bad_input_with_exit_code_2(args: tuple[str, ...]) -> None:
    refused("late_charge", *args)


def test_due_date_shifts_a_sunday() -> None:
    assert run_json("due_date", "2017-04-30") == {"nominal": "2017-04-30", "due_date": "2017-05-01"}
    assert run_json("due_date", "2024-10-31") == {"nominal": "2024-10-31", "due_date": "2024-10-31"}
    assert "繰下げ" in run_text("due_date", "2017-04-30")


def test_due_date_refuses_a_bad_date() -> None:
    refused("due_date", "2017/04/30")


@pytest.mark.parametrize(
    ("number", "kind", "valid"),
    [
        ("621498320257", "my_number", True),
        ("621498320258", "my_number", False),
        ("5835678256246", "corporate_number", True),
        ("112038", "municipality_code", True),
        ("112039", "municipality_code", False),
        ("6214-9832-0257", "my_number", True),
    ],
)
def test_check_number_detects_the_kind_by_length(number: str, kind: str, valid: bool) -> None:
    assert run_json("check_number", number) == {"kind": kind, "valid": valid}


@pytest.mark.parametrize("number", ["12345", "1234567", "12345678901234", "12345678901a"])
def test_check_number_refuses_other_lengths_and_non_digits(number: str) -> None:
    assert "桁" in str(refused("check_number", number)) or "数字" in str(refused("check_number", number))


def test_refund_interest_as_json() -> None:
    got = run_json(
        "refund_interest",
        "--amount",
        "500999",
        "--kind",
        "1",
        "--paid",
        "2023-05-31",
        "--event",
        "2024-05-01",
        "--decided",
        "2024-06-30",
    )
    assert got["base"] == 500000 and got["start"] == "2023-06-01"
    assert got["segments"] == [
        {"from": "2023-06-01", "to": "2024-06-30", "days": 396, "rate": "0.9", "yen": 4882}
    ]
    assert got["refund_interest"] == 4800


@pytest.mark.parametrize(
    "args",
    [
        ("--amount", "5000", "--kind", "5", "--paid", "2024-01-01", "--decided", "2024-06-01"),
        ("--amount", "5000", "--kind", "3", "--paid", "2024-01-01", "--decided", "2024-06-01"),
        (
            "--amount",
            "5000",
            "--kind",
            "2",
            "--paid",
            "2024-01-01",
            "--event",
            "2024-02-01",
            "--decided",
            "2024-06-01",
        ),
        ("--amount", "-5", "--kind", "1", "--paid", "2024-01-01", "--decided", "2024-06-01"),
        ("--amount", "5000", "--kind", "1", "--paid", "2024-07-01", "--decided", "2024-06-01"),
    ],
)
def test_refund_interest_refuses_bad_input(args: tuple[str, ...]) -> None:
    refused("refund_interest", *args)
