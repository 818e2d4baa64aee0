"""How amounts and dates are written on screens and printed receipts (pure functions, no Django)."""

from __future__ import annotations

from datetime import date

# 元号: the first day it applies to (改元日) and the Gregorian year of its first year (元年).
_ERAS: tuple[tuple[date, str, int], ...] = (
    (date(2019, 5, 1), "令和", 2019),
    (date(1989, 1, 8), "平成", 1989),
    (date(1926, 12, 25), "昭和", 1926),
    (date(1912, 7, 30), "大正", 1912),
    (date(1873, 1, 1), "明治", 1868),  # Gregorian dates start at 明治6年1月1日
)


def yen(amount: int | None) -> str:
    """Integer yen with thousands separators: 1234567 → 「1,234,567」; None → 「」."""
    if amount is None:
        return ""
    return f"{int(amount):,}"


def wareki(day: date | None) -> str:
    """The date in the Japanese era calendar: 1970-04-01 → 「昭和45年4月1日」 (first year is 「元年」)."""
    if day is None:
        return ""
    for start, era, first_year in _ERAS:
        if day >= start:
            year = day.year - first_year + 1
            return f"{era}{'元' if year == 1 else year}年{day.month}月{day.day}日"
    return f"{day.year}年{day.month}月{day.day}日"
