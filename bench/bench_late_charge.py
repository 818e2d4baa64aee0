"""Times 1,000,000 延滞金 computations and prints the figure per second.

Usage: ``python bench/bench_late_charge.py [N]`` (default N = 1,000,000). Plain script: it puts
``src/`` on the path itself, so it runs from a checkout without installing the package.
The inputs cycle through a fixed, varied set (several years, leap years, partial payments) so
the figure reflects realistic work, not a cached single case.
"""

from __future__ import annotations

import sys
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from choshu.rules.late_charge import compute_late_charge, default_late_charge_params  # noqa: E402


def _inputs() -> list[tuple[int, date, date, tuple[tuple[date, int], ...]]]:
    cases = []
    for i in range(997):
        principal = 1_500 + (i * 7_919) % 400_000
        due = date(2014, 1, 31) + timedelta(days=(i * 37) % 4_300)
        until = due + timedelta(days=1 + (i * 53) % 1_500)
        if until.year > 2026:
            until = date(2026, 12, 31)
        pays: tuple[tuple[date, int], ...] = ()
        if i % 5 == 0 and until > due + timedelta(days=2):
            pays = ((due + timedelta(days=(until - due).days // 2), principal // 3 + 1),)
        cases.append((principal, due, until, pays))
    return cases


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    params = default_late_charge_params()
    cases = _inputs()
    k = len(cases)
    total = 0
    t0 = time.perf_counter()
    for i in range(n):
        principal, due, until, pays = cases[i % k]
        total += compute_late_charge(
            principal=principal, due_date=due, until=until, payments=pays, params=params
        ).late_charge
    elapsed = time.perf_counter() - t0
    print(
        f"{n:,} late-charge computations in {elapsed:.2f} s: {n / elapsed:,.0f} per second (checksum {total})"
    )


if __name__ == "__main__":
    main()
