"""Benchmark: 決算 for one fiscal year against a raw SQL ``GROUP BY`` giving the same figures (issue 21,
"Performance": ≤ 1.5× the raw query on a ledger of ≥ 20M rows — run here at a modest size only).

1. a seeded city (``choshu seed --taxpayers N``, template database kept between runs, as the other
   benches) on PostgreSQL;
2. ``raw``: one statement over the whole ledger, the fiscal-year attribution (出納整理期間) written in SQL,
   giving every figure per tax item × 現年/滞納繰越;
3. ``open``: ``reports.settlement.settlement`` with no year closed (it sums the ledger up to the year);
4. ``closed``: after ``year_end`` of the year before, the same call (the last close + the year's rows).
The figures of 3 and 4 are compared with 2 to the yen (the bench fails if they differ), and the ratios
printed. Usage: ``python bench/bench_settlement.py [--taxpayers N] [--year YYYY] [--pg-url URL]``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from bench_payments import CHOSHU, pg_seeded_copy  # noqa: E402

AS_OF = "2026-11-26"
PG_URL = os.environ.get(
    "CHOSHU_BENCH_SETTLE_PG_URL", "postgres://postgres@127.0.0.1:5432/choshu_bench_settle"
)

RAW = """
WITH e AS (
  SELECT COALESCE(l.tax_item, '') AS tax_item, l.levy_year AS ly, t.kind, t.booking_date AS d, e.account,
         e.amount,
         CASE WHEN EXTRACT(MONTH FROM t.booking_date) >= 4 THEN EXTRACT(YEAR FROM t.booking_date)::int
              ELSE EXTRACT(YEAR FROM t.booking_date)::int - 1 END AS fy
  FROM levies_ledgerentry e
  JOIN levies_ledgertransaction t ON t.id = e.txn_id
  LEFT JOIN levies_installment i ON i.id = e.installment_id
  LEFT JOIN levies_levy l ON l.id = i.levy_id
  WHERE e.municipality_id = %(m)s
    AND ((e.account = 'receivable' AND e.component = 'principal') OR e.account = 'overpayment')
), a AS (
  SELECT *, CASE WHEN ly IS NULL THEN fy
                 WHEN kind IN ('payment', 'payment_reversal', 'suspense_assign', 'appropriation', 'overpayment',
                               'refund') AND fy = ly + 1 AND d <= make_date(ly + 1, 5, 31) THEN ly
                 ELSE GREATEST(fy, ly) END AS ay
  FROM e
)
SELECT tax_item, CASE WHEN ay = %(y)s AND ly = %(y)s THEN 'current' ELSE 'arrears' END AS cat,
  SUM(CASE WHEN account = 'receivable' AND ay < %(y)s THEN amount ELSE 0 END) AS opening,
  SUM(CASE WHEN account = 'receivable' AND ay = %(y)s AND kind IN ('levy', 'correction') THEN amount ELSE 0 END),
  SUM(CASE WHEN account = 'receivable' AND ay = %(y)s AND kind IN ('payment', 'payment_reversal',
      'suspense_assign', 'appropriation', 'overpayment') THEN -amount ELSE 0 END),
  SUM(CASE WHEN account = 'receivable' AND ay = %(y)s AND kind = 'write_off' THEN -amount ELSE 0 END),
  SUM(CASE WHEN account = 'receivable' THEN amount ELSE 0 END),
  SUM(CASE WHEN account = 'overpayment' THEN -amount ELSE 0 END)
FROM a WHERE ay <= %(y)s
GROUP BY 1, 2
"""


def raw_figures(m: int, year: int) -> dict[tuple[str, str], tuple[int, ...]]:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(RAW, {"m": m, "y": year})
        out = {}
        for item, cat, opening, levied, paid, wo, outstanding, refund in cur.fetchall():
            opening, levied = int(opening), int(levied)
            if cat == "arrears":
                levied += opening
            f = (opening, levied, int(paid), int(wo), int(outstanding), int(refund))
            if any(f):
                out[(item, cat)] = f
        return out


def ours(municipality: Any, year: int) -> dict[tuple[str, str], tuple[int, ...]]:
    from choshu.reports.settlement import settlement

    s = settlement(municipality, year)
    return {
        (r.tax_item, r.category): (
            r.figures.opening,
            r.figures.levied,
            r.figures.paid,
            r.figures.written_off,
            r.figures.outstanding,
            r.figures.refund_pending,
        )  # fmt: skip
        for r in s.rows
        if r.category != "total"
    }


def timed(fn: Any, *args: Any) -> tuple[float, Any]:
    best, result = float("inf"), None
    for _ in range(3):
        start = time.perf_counter()
        result = fn(*args)
        best = min(best, time.perf_counter() - start)
    return best, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--taxpayers", type=int, default=2000)
    parser.add_argument(
        "--year", type=int, default=2025, help="the fiscal year reported (the year before is closed)"
    )
    parser.add_argument("--pg-url", default=PG_URL)
    parser.add_argument("--reseed", action="store_true")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="choshu-settlebench-"))
    env = {
        **os.environ,
        "CHOSHU_VAR_DIR": str(folder),
        "CHOSHU_LOG_LEVEL": "WARNING",
        "CHOSHU_DATABASE_URL": args.pg_url,
    }
    seed_args = [
        CHOSHU,
        "seed",
        "--taxpayers",
        str(args.taxpayers),
        "--seed",
        "1",
        "--as-of",
        AS_OF,
        "--json",
    ]
    seed_s, _, _template = pg_seeded_copy(env, seed_args, args.taxpayers, args.pg_url, reseed=args.reseed)
    os.environ.update({k: env[k] for k in ("CHOSHU_VAR_DIR", "CHOSHU_DATABASE_URL")})
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "choshu.config.settings")
    import django

    django.setup()
    from choshu.core.models import Municipality
    from choshu.levies.models import LedgerEntry
    from choshu.reports.year_end import year_end

    city = Municipality.objects.get()
    r: dict[str, Any] = {"taxpayers": args.taxpayers, "year": args.year, "seed_seconds": round(seed_s, 1)}
    r["ledger_entries"] = LedgerEntry.objects.count()
    raw_s, raw = timed(raw_figures, city.pk, args.year)
    open_s, open_figures = timed(ours, city, args.year)
    year_end(municipality=city, fiscal_year=args.year - 1, as_of=date(args.year, 6, 1))
    closed_s, closed_figures = timed(ours, city, args.year)
    r.update(raw_seconds=round(raw_s, 3), open_seconds=round(open_s, 3), closed_seconds=round(closed_s, 3),
             open_ratio=round(open_s / raw_s, 2), closed_ratio=round(closed_s / raw_s, 2),
             same_figures_open=open_figures == raw, same_figures_closed=closed_figures == raw, rows=len(raw))  # fmt: skip
    print(json.dumps(r, ensure_ascii=False))
    if open_figures != raw or closed_figures != raw:
        diff = {str(k): (raw.get(k), open_figures.get(k), closed_figures.get(k))
                for k in set(raw) | set(open_figures) if raw.get(k) != open_figures.get(k) or raw.get(k) != closed_figures.get(k)}  # fmt: skip
        print(json.dumps({"differences": diff}, ensure_ascii=False))
        sys.exit(1)


if __name__ == "__main__":
    main()
