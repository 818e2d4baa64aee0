"""Allocation (充当順序) of a payment or an appropriated overpayment over what a person owes.

* Proceeds of 滞納処分 / 交付要求: 滞納処分費 first (法14条の3), then 地方税 (本税) before 延滞金 (法14条の5).
* Appropriation of 過誤納金 (法17条の2第3項): the 本税 before the 延滞金 computed on it.
  https://www.zeiken.co.jp/hourei/HHCHI000000/17-2.html
* Voluntary partial payment: no local-tax article found (law.md §d, UNCONFIRMED); 国税通則法62条2項
  analogue → 本税 first. 督促手数料 vs 本税: UNCONFIRMED (富田林市 税外収入督促条例3条 collects fees first).
  Default order: 滞納処分費 → 督促手数料 → 本税 (oldest 期別 first) → 延滞金 (oldest first),
  https://www.genmai-note.com/entry/20111110/1320879934 ; configurable.

What is not allocated is returned as ``overpayment`` — the allocation never creates or loses a yen.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

__all__ = [
    "APPROPRIATION_ORDER",
    "DEFAULT_ORDER",
    "Allocation",
    "AllocationLine",
    "AllocationOrder",
    "Component",
    "OwedItem",
    "allocate",
]


class Component(StrEnum):
    ENFORCEMENT_COST = "enforcement_cost"  # 滞納処分費
    DUNNING_FEE = "dunning_fee"  # 督促手数料
    PRINCIPAL = "principal"  # 本税
    LATE_CHARGE = "late_charge"  # 延滞金


_AMOUNT_FIELDS = tuple(c.value for c in Component)


@dataclass(frozen=True, slots=True)
class OwedItem:
    """What is still owed on one installment (期別); ``key`` identifies it to the caller."""

    key: str
    due_date: date
    principal: int = 0
    late_charge: int = 0
    dunning_fee: int = 0
    enforcement_cost: int = 0

    def __post_init__(self) -> None:
        for name in _AMOUNT_FIELDS:
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or v < 0:
                raise ValueError(f"{self.key}: {name} must be a non-negative int (yen), got {v!r}")

    def owed(self, component: Component) -> int:
        value: int = getattr(self, component)  # a StrEnum member is its field's name
        return value


@dataclass(frozen=True, slots=True)
class AllocationOrder:
    """``components`` in priority order; ``by_component`` True = every installment's first component
    (oldest first) before any installment's second component; False = installment by installment."""

    components: tuple[Component, ...]
    by_component: bool = True
    oldest_first: bool = True

    def __post_init__(self) -> None:
        if len(set(self.components)) != len(self.components) or not self.components:
            raise ValueError("components must be a non-empty sequence without repeats")


DEFAULT_ORDER = AllocationOrder(
    components=(Component.ENFORCEMENT_COST, Component.DUNNING_FEE, Component.PRINCIPAL, Component.LATE_CHARGE)
)
"""滞納処分費 → 督促手数料 → 本税 → 延滞金, oldest installment first within each component (law.md §d)."""

APPROPRIATION_ORDER = AllocationOrder(
    components=(Component.ENFORCEMENT_COST, Component.DUNNING_FEE, Component.PRINCIPAL, Component.LATE_CHARGE)
)
"""充当 of 過誤納金 (法17条の2第3項): 本税 before 延滞金; fees placed as in DEFAULT_ORDER."""


@dataclass(frozen=True, slots=True)
class AllocationLine:
    key: str
    component: Component
    amount: int


@dataclass(frozen=True, slots=True)
class Allocation:
    lines: tuple[AllocationLine, ...]
    overpayment: int

    @property
    def allocated(self) -> int:
        return sum(line.amount for line in self.lines)


def allocate(
    amount: int, owed_items: Sequence[OwedItem], order: AllocationOrder = DEFAULT_ORDER
) -> Allocation:
    """Split ``amount`` yen over ``owed_items`` in ``order``; the rest is the overpayment (過誤納金)."""
    if not isinstance(amount, int) or isinstance(amount, bool) or amount < 0:
        raise ValueError(f"amount must be a non-negative int (yen), got {amount!r}")
    keys = [i.key for i in owed_items]
    if len(set(keys)) != len(keys):
        raise ValueError("owed item keys must be unique")
    items = sorted(owed_items, key=lambda i: (i.due_date, i.key), reverse=not order.oldest_first)
    if order.by_component:
        pairs = [(item, c) for c in order.components for item in items]
    else:
        pairs = [(item, c) for item in items for c in order.components]
    remaining = amount
    lines: list[AllocationLine] = []
    for item, comp in pairs:
        if remaining == 0:
            break
        take = min(remaining, item.owed(comp))
        if take:
            lines.append(AllocationLine(key=item.key, component=comp, amount=take))
            remaining -= take
    return Allocation(lines=tuple(lines), overpayment=remaining)
