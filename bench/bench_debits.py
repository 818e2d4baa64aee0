"""Benchmark: 口座振替依頼データ (issue 17, "Performance").

Issue 17's target: request files for 500,000 debits take ≤ 3× a raw ``COPY … TO`` of the same fields
in the same run.

Steps, on throw-away PostgreSQL databases:
1. seed a city of ``--taxpayers`` taxpayers (``choshu seed --paid-until 2020-12-31``: every installment
   of the levy years 2021–2026 open; the seeded template is kept between runs, keyed by the size) and
   clone it;
2. (not timed) one collecting account and an approved mandate for every taxpayer (every tax item),
   inserted by SQL; the debit date is the bank business day with the most open installments;
3. ``choshu debit-request --debit-date D --out DIR --json`` (wall seconds, peak RSS): the lines chosen
   and inserted, their 督促停止, the files written;
4. the floor: ``COPY (SELECT …) TO STDOUT`` of the same fields of the same lines (顧客番号, bank,
   branch, 預金種目, account, name, amount, 新規コード) into a file; its row count must equal the
   request's records.

Usage: python bench/bench_debits.py [--taxpayers N] [--pg-url URL] [--out FILE] [--reseed]
Databases are named after ``--pg-url`` (default ``choshu_bench_debit`` or ``$CHOSHU_BENCH_DEBIT_PG_URL``):
the clone (``<name>``) and the seeded template (``<name>_open_<N>``, kept). PostgreSQL only.
Reaching the issue's scale (500,000 debits on one date) needs a city of about that many taxpayers with an
installment due on one date; ``at_scale`` in the output says whether the run reached it.
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
sys.path.insert(0, str(ROOT / "src"))

from bench_payments import CHOSHU, checkpoint, pg_seeded_copy, sh_rss  # noqa: E402

PG_URL = os.environ.get("CHOSHU_BENCH_DEBIT_PG_URL", "postgres://postgres@127.0.0.1:5432/choshu_bench_debit")
AS_OF = "2026-11-26"
PAID_UNTIL = "2020-12-31"
TARGET_RATIO = 3.0
TARGET_RECORDS = 500_000

FIELDS = "l.id, l.bank_code, l.branch_code, l.deposit_type, l.account, l.holder_kana, l.amount, l.new_code"


def prepare(url: str) -> str:
    """The collecting account, one approved mandate per taxpayer, and the debit date (ISO)."""
    import psycopg

    from choshu.formats.zengin import is_bank_business_day

    with psycopg.connect(url) as conn:
        rows = conn.execute(
            """SELECT due_date, COUNT(*) FROM levies_installment WHERE principal_outstanding > 0
               GROUP BY due_date ORDER BY COUNT(*) DESC, due_date"""
        ).fetchall()
        debit = next(d for d, _ in rows if is_bank_business_day(d))
        (m,) = conn.execute("SELECT id FROM core_municipality ORDER BY id LIMIT 1").fetchone() or (None,)
        conn.execute(
            """INSERT INTO debits_collectingaccount (municipality_id, bank_code, branch_code, deposit_type, account,
                   originator_code, originator_name, is_default, is_active, updated_at)
               VALUES (%s, '0001', '001', '1', '7654321', '1234567890', 'ﾍﾞﾝﾁ', true, true, now())""",
            [m],
        )
        conn.execute(
            """INSERT INTO debits_mandate (municipality_id, taxpayer_id, tax_item, kind, status, bank_code,
                   branch_code, deposit_type, account, jp_kigo, jp_bango, holder_name, holder_kana, start, "end",
                   received_on, bank_warnings, has_bank_warnings, bank_override_note, source, status_note,
                   created_at, approved_on)
               SELECT municipality_id, id, '', 'new', 'active', '0001', '001', '1', LPAD((id %% 10000000)::text, 7, '0'),
                      '', '', 'ﾍﾞﾝﾁ ﾀﾛｳ', 'ﾍﾞﾝﾁ ﾀﾛｳ', %s::date - 30, NULL, %s::date - 40, '[]'::jsonb, false, '',
                      'bench', '', now(), %s::date - 35
               FROM taxpayers_taxpayer""",
            [debit, debit, debit],
        )
        conn.execute("ANALYZE debits_mandate")
    return debit.isoformat()


def floor(url: str, run_id: int, out: Path) -> tuple[float, int]:
    import psycopg

    with psycopg.connect(url) as conn, conn.cursor() as cur, open(out, "wb") as f:
        start = time.perf_counter()
        rows = 0
        sql = f"""COPY (SELECT {FIELDS} FROM debits_debitline l JOIN debits_debitfile x ON x.id = l.file_id
                        WHERE x.run_id = {int(run_id)} ORDER BY l.id) TO STDOUT"""  # noqa: S608
        with cur.copy(sql) as copy:
            for block in copy:
                f.write(block)
                rows += bytes(block).count(b"\n")
        return time.perf_counter() - start, rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--taxpayers", type=int, default=20_000)
    ap.add_argument("--pg-url", default=PG_URL)
    ap.add_argument("--out", default="")
    ap.add_argument("--reseed", action="store_true")
    args = ap.parse_args()
    url = args.pg_url
    folder = Path(tempfile.mkdtemp(prefix="bench-debits-"))
    env = {
        **os.environ,
        "CHOSHU_VAR_DIR": str(folder),
        "CHOSHU_LOG_LEVEL": "WARNING",
        "CHOSHU_DATABASE_URL": url,
    }
    seed_args = [CHOSHU, "seed", "--taxpayers", str(args.taxpayers), "--seed", "1", "--as-of", AS_OF,
                 "--paid-until", PAID_UNTIL]  # fmt: skip
    seed_s, installments, _ = pg_seeded_copy(env, seed_args, args.taxpayers, url, reseed=args.reseed)
    debit_date = prepare(url)
    out_dir = folder / "out"
    out_dir.mkdir()
    checkpoint(url)
    run = sh_rss([CHOSHU, "debit-request", "--debit-date", debit_date, "--out", str(out_dir), "--json"], env)
    summary = json.loads(run.out.strip().splitlines()[-1])
    # The same command again finds the run written (``already``): its start-up and one look-up, which
    # a small city's ratio is mostly made of.
    startup = sh_rss(
        [CHOSHU, "debit-request", "--debit-date", debit_date, "--out", str(out_dir), "--json"], env
    )
    assert json.loads(startup.out.strip().splitlines()[-1])["already"]
    checkpoint(url)
    copy_s, copy_rows = floor(url, summary["run_id"], folder / "floor.tsv")
    assert copy_rows == summary["records"], (copy_rows, summary["records"])
    ratio = run.seconds / copy_s if copy_s else 0.0
    net = max(run.seconds - startup.seconds, 0.0)
    result: dict[str, Any] = {
        "taxpayers": args.taxpayers, "installments": installments, "seed_seconds": round(seed_s, 1),
        "debit_date": debit_date, "records": summary["records"], "amount": summary["amount"],
        "files": len(summary["files"]), "file_bytes": sum(os.path.getsize(f["path"]) for f in summary["files"]),
        "request_seconds": round(run.seconds, 3), "request_rss_mb": round(run.rss_mb, 1),
        "startup_seconds": round(startup.seconds, 3), "request_net_seconds": round(net, 3),
        "copy_seconds": round(copy_s, 4), "copy_rows": copy_rows, "ratio": round(ratio, 2),
        "net_ratio": round(net / copy_s, 2) if copy_s else 0.0,
        "targets": {"ratio": {"target": TARGET_RATIO, "met": ratio <= TARGET_RATIO,
                              "at_scale": summary["records"] >= TARGET_RECORDS}},
        "measured_on": date.today().isoformat(),
    }  # fmt: skip
    text = json.dumps(result, ensure_ascii=False, indent=2)
    if args.out:
        Path(args.out).write_text(text)
    print(text)
    print(
        f"request files ≤ {TARGET_RATIO}× the raw COPY … TO: {ratio:.2f}× "
        f"({summary['records']:,} records{'' if result['targets']['ratio']['at_scale'] else ', below the issue scale'})"
    )


if __name__ == "__main__":
    main()
