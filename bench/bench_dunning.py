"""Benchmark: the dunning run and its print-vendor data on a seeded city (issue 15, "Performance").

Issue 15's targets: on the benchmark city with ≥ 1M open installments, the dunning run that issues
≥ 150,000 notices takes ≤ 3× a raw SQL ``INSERT … SELECT`` creating the same notice rows in the same
run; the print data for those notices ≤ 3× a raw ``COPY … TO`` of the same columns.

Steps, in one run on throw-away PostgreSQL databases:
1. seed a city of ``--taxpayers`` taxpayers with ``choshu seed --paid-until 2020-12-31`` (the seed's knob
   for arrears: no payment is made after that day, so every installment of the six levy years 2021–2026
   is open — about 29 open installments and 1.33 notices (one per taxpayer and tax item) per taxpayer;
   the seeded template database is kept between runs, keyed by the size), clone it, and record a
   督促手数料 with ``choshu dunning-fee``;
2. the floor (a): in one transaction, the run's own candidate selection
   (``dunning.services._select_candidates``: the same query into the same temporary table), then one
   ``INSERT … SELECT`` of the notice rows (one per taxpayer and tax item, 本税 = the outstanding
   principal, the fee) and one of their installment rows, into scratch copies of
   ``dunning_dunningnotice`` and ``dunning_dunningnoticeinstallment`` (``LIKE … INCLUDING ALL``: the
   same columns, defaults, checks and indexes — the unique installment among them; no foreign keys);
   the counts must equal the run's;
3. ``choshu dunning-run --as-of D --json`` on the same clone (wall seconds, the process's peak RSS);
4. ``choshu print-data --batch ID --out FILE --json`` (CP932), and the floor (b): a raw
   ``COPY (SELECT …) TO STDOUT`` (CSV, SJIS) of the same columns from the stored rows — the notices
   with person and slip number, and their installments with 年度, 通知書番号, 期別, 納期限, 本税 and
   延滞金 — into a file;
5. with ``--profile``: the run and the print data again, under cProfile, on a second clone, and the
   cumulative seconds of the parts (candidate query, amounts_due, grouping, slips, inserts, fee
   postings; addressees, protection, lines, codes, formatting, encoding).

The run is measured once on a fresh clone (the template is never written), so repeated runs are
comparable. Reaching the issue's scale needs ``--taxpayers 115000`` (≈ 153,000 notices, ≈ 3.4M open
installments; 35,000 give the 1M open installments but ≈ 46,000 notices).

Usage: python bench/bench_dunning.py [--taxpayers N] [--pg-url URL] [--out FILE] [--reseed] [--profile]
The databases are named after ``--pg-url``'s (default ``choshu_bench_dun``, or
``$CHOSHU_BENCH_DUN_PG_URL``): the clone (``<name>``), ``<name>_open_<N>`` (the seeded template, kept)
and ``<name>_prof`` (the profile's clone). Two runs at once must use different names.
PostgreSQL only: the floors are PostgreSQL measurements.
"""

from __future__ import annotations

import argparse
import json
import os
import pstats
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from bench_payments import CHOSHU, admin_url, checkpoint, db_name, pg_seeded_copy, sh_rss  # noqa: E402

PG_URL = os.environ.get("CHOSHU_BENCH_DUN_PG_URL", "postgres://postgres@127.0.0.1:5432/choshu_bench_dun")
AS_OF = "2026-11-26"  # the seed's date and the run's issue date (before today: a run date may not be future)
PAID_UNTIL = "2020-12-31"  # no payment after this day: the levy years 2021–2026 are all open
FEE = ("2021-04-01", "100")  # 督促手数料 recorded for the run (the demo's amount)
TARGET_RUN = 3.0  # dunning-run ÷ the INSERT … SELECT floor
TARGET_PRINT = 3.0  # print-data ÷ the raw COPY … TO
TARGET_NOTICES = 150_000
TARGET_OPEN = 1_000_000

NOTICE, LINE = "bench_dunning_notice", "bench_dunning_notice_installment"

# The parts of the run and of the print data the profile reports: label → (file suffix, function).
PROFILE_PARTS = {
    "run: returned_mail_refresh": ("dunning/returned.py", "returned_mail_refresh"),
    "run: candidate query": ("dunning/services.py", "_select_candidates"),
    "run: slices read back": ("dunning/services.py", "_slices"),
    "run: notices (amounts_due + grouping + fee)": ("dunning/services.py", "_notices"),
    "run: amounts_due_lines": ("levies/selectors.py", "amounts_due_lines"),
    "run: late_charges_as_of (the rule, whole slice)": ("rules/late_charge.py", "late_charges_as_of"),
    "run: counts": ("dunning/services.py", "_count"),
    "run: writes (all)": ("dunning/services.py", "write"),
    "run: slips (numbers + COPY)": ("dunning/slips.py", "write"),
    "run: insert_rows (COPY, all tables)": ("core/bulk.py", "insert_rows"),
    "run: fee postings (post_many)": ("levies/ledger.py", "post_many"),
    "run: commit": ("django/db/backends/base/base.py", "commit"),
    "print: notices read": ("dunning/print_data.py", "_notices"),
    "print: addressees_for": ("taxpayers/addressee_bulk.py", "addressees_for"),
    "print: protected_ids": ("taxpayers/protection.py", "protected_ids"),
    "print: batch_lines (the lines, one streamed query)": ("dunning/print_data.py", "batch_lines"),
    "print: row (all)": ("dunning/print_data.py", "_row"),
    "print: codes (notice_codes)": ("dunning/print_data.py", "notice_codes"),
    "print: wareki": ("formats/display.py", "wareki"),
    "print: csv line": ("formats/csv_safe.py", "line"),
    "print: whole export": ("dunning/print_data.py", "print_data_export"),
}


def env_for(env: dict[str, str], url: str) -> dict[str, str]:
    return {**env, "CHOSHU_DATABASE_URL": url}


def clone(template: str, url: str) -> None:
    """A fresh copy of the seeded template at ``url`` (dropped first if it exists)."""
    import psycopg

    with psycopg.connect(admin_url(url), autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {db_name(url)} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {db_name(url)} TEMPLATE {template} STRATEGY FILE_COPY")


def drop(url: str) -> None:
    import psycopg

    with psycopg.connect(admin_url(url), autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {db_name(url)} WITH (FORCE)")


def city_counts(url: str, as_of: str) -> dict[str, int]:
    """Installments, open ones (本税 outstanding) and those past their 指定納期限 on ``as_of``."""
    import psycopg

    with psycopg.connect(url) as conn:
        row = conn.execute(
            """SELECT COUNT(*), COUNT(*) FILTER (WHERE principal_outstanding > 0),
                      COUNT(*) FILTER (WHERE principal_outstanding > 0 AND designated_due_date < %s),
                      (SELECT COUNT(*) FROM taxpayers_taxpayer)
               FROM levies_installment""",
            [as_of],
        ).fetchone()
    assert row is not None
    return {"installments": row[0], "open_installments": row[1], "past_due_open": row[2], "taxpayers": row[3]}


# --- floor (a): the notice rows by INSERT … SELECT, in a child process with Django set up -----------


def floor_child(as_of_text: str) -> None:
    """Run inside ``python bench_dunning.py --floor-child D`` (``CHOSHU_DATABASE_URL`` = the clone): the
    scratch tables are made before the clock; the clock covers the candidate selection and both
    ``INSERT … SELECT``s and the commit. Prints one JSON object."""
    from datetime import date

    sys.path.insert(0, str(ROOT / "src"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "choshu.config.settings")
    import django

    django.setup()
    from django.db import connection, transaction

    from choshu.core.models import Municipality
    from choshu.dunning.services import CANDIDATES, _select_candidates
    from choshu.rules.dunning import dunning_payment_deadline

    as_of = date.fromisoformat(as_of_text)
    m = Municipality.objects.get(code="112038")
    pay_by = dunning_payment_deadline(as_of)
    with connection.cursor() as cur:
        cur.execute(f"DROP TABLE IF EXISTS {LINE}, {NOTICE}")
        cur.execute(f"CREATE TABLE {NOTICE} (LIKE dunning_dunningnotice INCLUDING ALL)")
        cur.execute(f"CREATE TABLE {LINE} (LIKE dunning_dunningnoticeinstallment INCLUDING ALL)")
        cur.execute("CHECKPOINT")
    phases: dict[str, float] = {}
    started = lap_at = time.monotonic()

    def lap(name: str) -> None:
        nonlocal lap_at
        now = time.monotonic()
        phases[name] = round(now - lap_at, 3)
        lap_at = now

    with transaction.atomic(), connection.cursor() as cur:
        _select_candidates(cur, m, as_of)
        lap("candidates")
        # One notice per taxpayer and tax item of the unsuppressed candidates; its lines joined back.
        cur.execute(
            f"""WITH c AS (SELECT c.installment_id, c.taxpayer_id, c.tax_item, c.blocked,
                                  i.principal_outstanding AS principal, i.due_date
                           FROM {CANDIDATES} c JOIN levies_installment i ON i.id = c.installment_id
                           WHERE c.suppressed = 0),
                n AS (INSERT INTO {NOTICE} (municipality_id, batch_id, taxpayer_id, tax_item, issued_on, pay_by,
                                            principal, late_charge, fee, total, fee_installment_id, slip_id,
                                            late_issue, print_in_office, status)
                      SELECT %s, 0, taxpayer_id, tax_item, %s, %s, SUM(principal), 0, %s, SUM(principal) + %s,
                             MIN(installment_id), NULL, true, MAX(blocked) = 1, 'issued'
                      FROM c GROUP BY taxpayer_id, tax_item
                      RETURNING id, taxpayer_id, tax_item)
                INSERT INTO {LINE} (notice_id, installment_id, principal, late_charge)
                SELECT n.id, c.installment_id, c.principal, 0
                FROM c JOIN n ON n.taxpayer_id = c.taxpayer_id AND n.tax_item = c.tax_item""",  # noqa: S608
            [m.pk, as_of, pay_by, int(FEE[1]), int(FEE[1])],
        )
        lines = cur.rowcount
        lap("insert_select")
        cur.execute(f"DROP TABLE {CANDIDATES}")
    lap("commit")
    seconds = time.monotonic() - started
    with connection.cursor() as cur:
        cur.execute(f"SELECT COUNT(*) FROM {NOTICE}")  # noqa: S608
        notices = int(cur.fetchone()[0])
    print(json.dumps({"seconds": seconds, "phases": phases, "notices": notices, "installments": lines}))


def floor_run(env: dict[str, str]) -> dict[str, Any]:
    run = sh_rss([sys.executable, str(Path(__file__).resolve()), "--floor-child", AS_OF], env)
    out: dict[str, Any] = json.loads(run.out.strip().splitlines()[-1])
    return out


# --- floor (b): the print data's columns by COPY … TO ----------------------------------------------

COPY_NOTICES = """COPY (
    SELECT n.id, n.batch_id, t.taxpayer_no, n.tax_item, t.postal_code, t.address, t.address_extra,
           t.name, t.mailing_postal_code, t.mailing_address, n.issued_on, n.pay_by, n.principal,
           n.late_charge, n.fee, n.total, s.slip_no
    FROM dunning_dunningnotice n
    JOIN taxpayers_taxpayer t ON t.id = n.taxpayer_id
    LEFT JOIN receipts_paymentslip s ON s.id = n.slip_id
    WHERE n.batch_id = {batch} AND n.status = 'issued' AND NOT n.print_in_office
    ORDER BY n.id) TO STDOUT WITH (FORMAT csv, HEADER true, ENCODING 'SJIS')"""
COPY_LINES = """COPY (
    SELECT l.notice_id, v.levy_year, v.notice_no, i.installment_no, i.due_date, l.principal, l.late_charge
    FROM dunning_dunningnoticeinstallment l
    JOIN dunning_dunningnotice n ON n.id = l.notice_id
    JOIN levies_installment i ON i.id = l.installment_id
    JOIN levies_levy v ON v.id = i.levy_id
    WHERE n.batch_id = {batch} AND n.status = 'issued' AND NOT n.print_in_office
    ORDER BY l.notice_id, i.due_date, l.installment_id) TO STDOUT WITH (FORMAT csv, ENCODING 'SJIS')"""


def copy_floor(url: str, batch: int, out: Path) -> tuple[float, int, list[int]]:
    """The raw ``COPY … TO`` of the print data's stored columns into ``out``: seconds, bytes, and the
    lines each COPY wrote (the notices with their header, the installments)."""
    import psycopg

    with psycopg.connect(url) as conn:
        started = time.monotonic()
        counts: list[int] = []
        with out.open("wb") as fh, conn.cursor() as cur:
            for sql in (COPY_NOTICES, COPY_LINES):
                lines = 0
                with cur.copy(sql.format(batch=int(batch))) as cp:
                    for data in cp:
                        fh.write(data)
                        lines += bytes(data).count(b"\n")
                counts.append(lines)
            fh.flush()
            os.fsync(fh.fileno())
        seconds = time.monotonic() - started
    return seconds, out.stat().st_size, counts


# --- the profile ------------------------------------------------------------------------------------


def profile_parts(path: Path, parts: dict[str, tuple[str, str]]) -> dict[str, float]:
    """Cumulative seconds of each part in a cProfile dump (the first function matching file and name)."""
    stats = pstats.Stats(str(path))
    table: dict[tuple[str, int, str], tuple[Any, ...]] = stats.stats  # type: ignore[attr-defined]
    out: dict[str, float] = {}
    for label, (suffix, name) in parts.items():
        found = [v for (f, _line, fn), v in table.items() if fn == name and f.endswith(suffix)]
        if found:
            out[label] = round(max(v[3] for v in found), 2)
    return out


def profile(env: dict[str, str], template: str, url: str, folder: Path) -> dict[str, float]:
    """The run and the print data under cProfile, on a fresh clone (cProfile slows Python-heavy parts
    more than database-bound ones: read the shares, not the seconds)."""
    prof_url = url + "_prof"
    clone(template, prof_url)
    penv = env_for(env, prof_url)
    try:
        sh_rss([CHOSHU, "dunning-fee", "--from", FEE[0], "--yen", FEE[1], "--source", "bench"], penv)
        run_prof, print_prof = folder / "run.prof", folder / "print.prof"
        run = sh_rss([sys.executable, "-m", "cProfile", "-o", str(run_prof), CHOSHU, "dunning-run",
                      "--as-of", AS_OF, "--json"], penv)  # fmt: skip
        batch = json.loads(run.out.strip().splitlines()[-1])["batch_id"]
        sh_rss([sys.executable, "-m", "cProfile", "-o", str(print_prof), CHOSHU, "print-data", "--batch",
                str(batch), "--out", str(folder / "prof.csv"), "--json"], penv)  # fmt: skip
        parts = {k: v for k, v in PROFILE_PARTS.items() if k.startswith("run:")}
        out = {"run: total (profiled)": round(run.seconds, 2), **profile_parts(run_prof, parts)}
        parts = {k: v for k, v in PROFILE_PARTS.items() if k.startswith("print:")}
        out.update(profile_parts(print_prof, parts))
        return out
    finally:
        drop(prof_url)


# --- main -----------------------------------------------------------------------------------------


def targets(r: dict[str, Any]) -> list[str]:
    checks: dict[str, dict[str, object]] = {}
    lines: list[str] = []
    scale = r["issued"] >= TARGET_NOTICES and r["city"]["open_installments"] >= TARGET_OPEN
    note = "" if scale else (
        f" (measured with {r['issued']} notices and {r['city']['open_installments']} open installments; "
        f"the issue's scale is ≥ {TARGET_NOTICES} notices and ≥ {TARGET_OPEN} open installments)"
    )  # fmt: skip
    for key, label, value, limit in (
        ("run_ratio", f"dunning run ≤ {TARGET_RUN}× the INSERT … SELECT floor", r["run_ratio"], TARGET_RUN),
        ("print_ratio", f"print data ≤ {TARGET_PRINT}× the raw COPY … TO", r["print_ratio"], TARGET_PRINT),
    ):
        met = value <= limit
        checks[key] = {"limit": limit, "value": value, "met": met, "at_scale": scale}
        lines.append(f"target: {label}: {value:.2f}× — {'met' if met else 'MISSED'}{note}")
    r["targets"] = checks
    return lines


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--floor-child":
        floor_child(sys.argv[2])
        return
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--taxpayers", type=int, default=3000, help="the seeded city's size (default %(default)s)"
    )
    parser.add_argument("--pg-url", default=PG_URL, help="the clone's URL; the others are named after it")
    parser.add_argument("--out", type=Path, help="results (default bench/out/dunning.json)")
    parser.add_argument("--reseed", action="store_true", help="seed the template database again")
    parser.add_argument("--profile", action="store_true", help="profile the run and the print data too")
    parser.add_argument("--keep", action="store_true", help="keep the clone (the template is always kept)")
    args = parser.parse_args()
    if args.taxpayers < 20:
        parser.error("--taxpayers: at least 20")
    url: str = args.pg_url
    if not url.startswith("postgres"):
        parser.error("--pg-url: a PostgreSQL URL (the floors are PostgreSQL measurements)")
    folder = Path(tempfile.mkdtemp(prefix="choshu-dunbench-"))
    env = {**os.environ, "CHOSHU_VAR_DIR": str(folder), "CHOSHU_LOG_LEVEL": "WARNING"}
    env = env_for(env, url)
    seed_args = [CHOSHU, "seed", "--taxpayers", str(args.taxpayers), "--seed", "1", "--as-of", AS_OF,
                 "--paid-until", PAID_UNTIL, "--json"]  # fmt: skip
    seed_s, _, template = pg_seeded_copy(env, seed_args, args.taxpayers, url, reseed=args.reseed)
    r: dict[str, Any] = {"database": "postgresql", "as_of": AS_OF, "seed_seconds": round(seed_s, 1)}
    try:
        r["city"] = city_counts(url, AS_OF)
        sh_rss([CHOSHU, "dunning-fee", "--from", FEE[0], "--yen", FEE[1], "--source", "bench"], env)
        startup = sh_rss([CHOSHU, "dunning-fee"], env)  # the command's start-up alone (lists the settings)
        r["cli_startup_seconds"] = round(startup.seconds, 2)

        checkpoint(url)
        floor = floor_run(env)
        r["floor_seconds"] = round(floor["seconds"], 2)
        r["floor_phases"] = floor["phases"]
        r["floor_notices"], r["floor_installments"] = floor["notices"], floor["installments"]

        checkpoint(url)
        run = sh_rss([CHOSHU, "dunning-run", "--as-of", AS_OF, "--json"], env)
        summary = json.loads(run.out.strip().splitlines()[-1])
        r["run_seconds"] = round(run.seconds, 2)
        r["run_peak_rss_mb"] = round(run.rss_mb, 1)
        for key in (
            "candidates",
            "suppressed",
            "issued",
            "installments",
            "blocked",
            "late_issue",
            "fee_total",
        ):
            r[key] = summary[key]
        # The floor writes what the run writes: the same notices and the same installments.
        assert (r["floor_notices"], r["floor_installments"]) == (r["issued"], r["installments"]), (
            f"the floor wrote {r['floor_notices']} notices / {r['floor_installments']} installments, "
            f"the run {r['issued']} / {r['installments']}"
        )
        r["run_ratio"] = round(run.seconds / floor["seconds"], 2)
        r["run_ratio_without_startup"] = round((run.seconds - startup.seconds) / floor["seconds"], 2)

        checkpoint(url)
        out = folder / "print.csv"
        printed = sh_rss([CHOSHU, "print-data", "--batch", str(summary["batch_id"]), "--out", str(out),
                          "--json"], env)  # fmt: skip
        p = json.loads(printed.out.strip().splitlines()[-1])
        r["print_seconds"] = round(printed.seconds, 2)
        r["print_peak_rss_mb"] = round(printed.rss_mb, 1)
        r["print_rows"], r["print_blocked"] = p["rows"], p["blocked"]
        r["print_bytes"] = out.stat().st_size
        assert p["rows"] + p["blocked"] == r["issued"], p
        checkpoint(url)
        copy_s, copy_bytes, (notice_lines, installment_lines) = copy_floor(
            url, summary["batch_id"], folder / "copy.csv"
        )
        r["copy_seconds"] = round(copy_s, 2)
        r["copy_bytes"] = copy_bytes
        r["copy_notices"], r["copy_installments"] = notice_lines - 1, installment_lines
        # The COPY writes the notices the file has (the header aside; no address contains a newline)
        # and the installments of those notices.
        assert r["copy_notices"] == p["rows"], (r["copy_notices"], p["rows"])
        r["print_ratio"] = round(printed.seconds / copy_s, 2)
        r["print_ratio_without_startup"] = round((printed.seconds - startup.seconds) / copy_s, 2)
        if args.profile:
            r["profile_seconds"] = profile(env, template, url, folder)
    finally:
        if not args.keep:
            drop(url)
    lines = targets(r)
    print(json.dumps(r, ensure_ascii=False))
    target: Path = args.out or ROOT / "bench" / "out" / "dunning.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(r, ensure_ascii=False, indent=2))
    shutil.rmtree(folder)
    for line in lines:
        print(line)


if __name__ == "__main__":
    main()
