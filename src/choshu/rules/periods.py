"""Period arithmetic of 民法 (applied to local tax by 地方税法20条の5第1項).

民法140条–143条: a period counted "from day X" in months or years ends on the day before the
day of the same number in the last month; when that day does not exist, on the last day of
that month (民法143条2項). law.md §a4, sources https://m-accounting-firm.com/management/kisanbi
and https://www.kannosrfp.com/hourei/doku.php?do=export_raw&id=%E6%B0%91%E6%B3%95_1_6 .
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta

ONE_DAY = timedelta(days=1)


def add_months_clamped(d: date, months: int) -> date:
    """``d`` moved by ``months`` calendar months, clamped to the last day of the target month."""
    index = d.year * 12 + (d.month - 1) + months
    year, month0 = divmod(index, 12)
    last = calendar.monthrange(year, month0 + 1)[1]
    return date(year, month0 + 1, min(d.day, last))


def period_end(first_day: date, *, months: int = 0, years: int = 0) -> date:
    """Last day of a period of ``months``/``years`` whose first counted day is ``first_day``.

    民法143条2項: the period ends on the day before the corresponding day (応当日) of the last
    month; if no corresponding day exists, on the last day of that month.
    Examples (law.md §a4): first day 6/1 → 6/30; 8/2 → 9/1; 2/3/2026 → 3/2; 2/1/2024 → 2/29;
    1/31 → end of February; 3/31 → 4/30; 2/29/2024 → 3/28.
    """
    total = months + 12 * years
    if total <= 0:
        raise ValueError("a period needs a positive length")
    index = first_day.year * 12 + (first_day.month - 1) + total
    year, month0 = divmod(index, 12)
    last = calendar.monthrange(year, month0 + 1)[1]
    if first_day.day > last:
        return date(year, month0 + 1, last)
    return date(year, month0 + 1, first_day.day) - ONE_DAY


def days_inclusive(start: date, end: date) -> int:
    """Number of days from ``start`` to ``end``, both counted (0 when ``end`` < ``start``)."""
    return max(0, (end - start).days + 1)
