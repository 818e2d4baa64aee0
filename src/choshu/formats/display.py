"""How amounts and dates are written on screens and printed receipts (pure functions, no Django)."""

from __future__ import annotations

import re
from datetime import date

# 元号: the first day it applies to (改元日) and the Gregorian year of its first year (元年).
_ERAS: tuple[tuple[date, str, int, str], ...] = (
    (date(2019, 5, 1), "令和", 2019, "R"),
    (date(1989, 1, 8), "平成", 1989, "H"),
    (date(1926, 12, 25), "昭和", 1926, "S"),
    (date(1912, 7, 30), "大正", 1912, "T"),
    (date(1873, 1, 1), "明治", 1868, "M"),  # Gregorian dates start at 明治6年1月1日
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
    for start, era, first_year, _letter in _ERAS:
        if day >= start:
            year = day.year - first_year + 1
            return f"{era}{'元' if year == 1 else year}年{day.month}月{day.day}日"
    return f"{day.year}年{day.month}月{day.day}日"


def wareki_short(day: date | None) -> str:
    """The compact era date for dense tables: 2026-06-30 → 「R8.6.30」, 2019-05-01 → 「R1.5.1」
    (the first year is 1, as on forms; 1900-01-01 → 「M33.1.1」); None → 「」."""
    if day is None:
        return ""
    for start, _era, first_year, letter in _ERAS:
        if day >= start:
            return f"{letter}{day.year - first_year + 1}.{day.month}.{day.day}"
    return f"{day.year}.{day.month}.{day.day}"


_REFERENCE_CHANNELS = {
    "counter": "窓口",
    "bank": "金融機関",
    "conveni": "コンビニ",
    "eltax": "地方税共通納税",
}


def payment_reference(reference: str) -> str:
    """A payment's stored reference (its channel's natural key) as a clerk reads it: the channel code
    named, ISO dates written Y/m/d, parts separated by spaces.
    「counter:2026-12-07:3:1:1765…」 → 「窓口 2026/12/07 3 1 1765…」; an eLTAX transaction id unchanged."""
    parts = [p for p in reference.replace("|", ":").split(":") if p != ""] if reference else []
    shown = []
    for i, part in enumerate(parts):
        if i == 0 and part in _REFERENCE_CHANNELS:
            shown.append(_REFERENCE_CHANNELS[part])
        else:
            shown.append(slashed_dates(part))
    return " ".join(shown)


_ISO = re.compile(
    r"(?<!\d)(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}:\d{2}(?::\d{2})?)(?:\.\d+)?(?:[+-]\d{2}:\d{2}|Z)?)?(?!\d)"
)


def slashed_dates(text: str) -> str:
    """Every ISO date or timestamp in ``text`` written as on screens: 「2026-12-07 21:51:00」 →
    「2026/12/07 21:51:00」 (the offset dropped; stored timestamps are already local)."""
    return _ISO.sub(lambda m: f"{m[1]}/{m[2]}/{m[3]}" + (f" {m[4]}" if m[4] else ""), text)
