from __future__ import annotations

import ast
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from choshu.rules import check_digits as cd
from choshu.rules.allocation import (
    DEFAULT_ORDER,
    AllocationOrder,
    Component,
    OwedItem,
    allocate,
)

D = date


def _items() -> list[OwedItem]:
    return [
        OwedItem("2024-2", D(2024, 8, 31), principal=10_000, late_charge=1_000, dunning_fee=100),
        OwedItem(
            "2024-1",
            D(2024, 6, 30),
            principal=10_000,
            late_charge=2_000,
            dunning_fee=100,
            enforcement_cost=500,
        ),
    ]


def test_default_order_is_costs_fees_principal_oldest_first_then_late_charge() -> None:
    a = allocate(15_700, _items())
    assert [(line.key, line.component, line.amount) for line in a.lines] == [
        ("2024-1", Component.ENFORCEMENT_COST, 500),
        ("2024-1", Component.DUNNING_FEE, 100),
        ("2024-2", Component.DUNNING_FEE, 100),
        ("2024-1", Component.PRINCIPAL, 10_000),
        ("2024-2", Component.PRINCIPAL, 5_000),
    ]
    assert a.overpayment == 0


def test_installment_by_installment_order_is_configurable() -> None:
    order = AllocationOrder(components=(Component.PRINCIPAL, Component.LATE_CHARGE), by_component=False)
    a = allocate(12_500, _items(), order)
    assert [(line.key, line.component, line.amount) for line in a.lines] == [
        ("2024-1", Component.PRINCIPAL, 10_000),
        ("2024-1", Component.LATE_CHARGE, 2_000),
        ("2024-2", Component.PRINCIPAL, 500),
    ]


def test_the_rest_is_an_overpayment() -> None:
    a = allocate(30_000, _items())
    assert a.overpayment == 30_000 - (10_000 + 1_000 + 100 + 10_000 + 2_000 + 100 + 500)


owed = st.builds(
    OwedItem,
    key=st.uuids().map(str),
    due_date=st.dates(min_value=D(2000, 1, 1), max_value=D(2030, 1, 1)),
    principal=st.integers(0, 10**7),
    late_charge=st.integers(0, 10**6),
    dunning_fee=st.integers(0, 1000),
    enforcement_cost=st.integers(0, 10**5),
)
orders = st.builds(
    AllocationOrder,
    components=st.permutations(list(Component)).map(tuple),
    by_component=st.booleans(),
    oldest_first=st.booleans(),
)


@given(
    amount=st.integers(0, 5 * 10**7),
    items=st.lists(owed, max_size=6),
    order=st.one_of(st.just(DEFAULT_ORDER), orders),
)
def test_allocation_never_creates_or_loses_a_yen(
    amount: int, items: list[OwedItem], order: AllocationOrder
) -> None:
    a = allocate(amount, items, order)
    assert a.allocated + a.overpayment == amount
    assert a.overpayment >= 0 and all(line.amount > 0 for line in a.lines)
    by_key = {i.key: i for i in items}
    for line in a.lines:
        assert line.amount <= by_key[line.key].owed(line.component)
    total_owed = sum(i.owed(c) for i in items for c in Component)
    assert a.allocated == min(amount, total_owed)


def test_negative_amounts_are_refused() -> None:
    with pytest.raises(ValueError):
        allocate(-1, [])
    with pytest.raises(ValueError):
        OwedItem("x", D(2024, 1, 1), principal=-5)


def test_slip_numbers_round_trip() -> None:
    s = cd.make_slip_no("000000000012345")
    assert len(s) == 16 and cd.is_valid_slip_no(s)


@given(st.text(alphabet="0123456789", min_size=15, max_size=15), st.integers(0, 15), st.integers(1, 9))
def test_a_single_wrong_digit_in_a_slip_number_is_detected(body: str, pos: int, delta: int) -> None:
    s = cd.make_slip_no(body)
    wrong = s[:pos] + str((int(s[pos]) + delta) % 10) + s[pos + 1 :]
    assert not cd.is_valid_slip_no(wrong)


@given(st.text(alphabet="0123456789", min_size=42, max_size=42))
def test_ocr_lines_built_with_their_check_digits_validate(body: str) -> None:
    assert cd.is_valid_ocr_lower(cd.ocr_check_digits(body) + body)


@pytest.mark.parametrize(
    "bad", ["", "12345678901", "1234567890123", "12345678901a", "１２３４５６７８９０１２"]
)
def test_malformed_my_numbers_are_invalid(bad: str) -> None:
    assert not cd.is_valid_my_number(bad)


@given(st.text(alphabet="0123456789", min_size=11, max_size=11), st.integers(0, 9))
def test_the_my_number_check_digit_is_the_one_stdnum_computes(body: str, last: int) -> None:
    from stdnum.jp import in_ as my_number

    assert cd.my_number_check_digit(body) == int(my_number.calc_check_digit(body))
    assert cd.is_valid_my_number(body + str(last)) == my_number.is_valid(body + str(last))


def test_municipality_check_digit() -> None:
    assert cd.municipality_code_check_digit("11203") == 8
    with pytest.raises(ValueError):
        cd.municipality_code_check_digit("1120")


def test_the_rules_package_imports_no_django() -> None:
    root = Path(__file__).resolve().parents[1]
    for path in root.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            assert not any(n == "django" or n.startswith("django.") for n in names), path
