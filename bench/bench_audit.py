"""Audit-trail benchmark (issue 14 §1): writing records from several processes, the sealing lag, verifying.

Runs on a throw-away PostgreSQL database (``choshu_bench_audit``). ``P`` processes each write ``M``
records, each in its own transaction (as page views do), for two municipalities:

- ``keyed``: ``audit_record`` as the application does it now (signed row, queued, sealed after
  commit by whichever process gets the chain's try-lock; no waiting);
- ``global_lock``: the design it replaces, emulated in plain SQL (one advisory lock for all
  municipalities, read the last hash, insert) on a table of the same shape;
- ``plain_insert``: the floor, the same rows inserted with no signing, queueing or lock.

It prints records/s for each, the ratios to the floor, the sealing lag (max and p99 of sealed_at − at)
and ``audit-verify`` seconds per 100,000 records. Usage:
``python bench/bench_audit.py [--processes 4] [--records 2000] [--pg-url URL]``.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))


def _setup(url: str) -> None:
    os.environ["CHOSHU_DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "choshu.config.settings")
    import django

    django.setup()


def _worker(args: tuple[str, str, int, int, list[int]]) -> float:
    url, mode, n, index, municipalities = args
    _setup(url)
    from django.db import connection, transaction

    from choshu.audit.models import AuditKind
    from choshu.audit.services import audit_record
    from choshu.core.models import Municipality

    towns = list(Municipality.objects.filter(pk__in=municipalities))
    start = time.perf_counter()
    for i in range(n):
        town = towns[(index + i) % len(towns)]
        if mode == "keyed":
            audit_record(
                kind=AuditKind.ACCESS,
                function="宛名照会",
                municipality=town,
                subject_type="taxpayer",
                subject_ids=[i],
                detail={"bench": i},
            )
        else:
            with transaction.atomic(), connection.cursor() as cur:
                if mode == "global_lock":
                    cur.execute("SELECT pg_advisory_xact_lock(1128813395)")
                    cur.execute("SELECT h FROM bench_oldchain ORDER BY id DESC LIMIT 1")
                    cur.fetchone()
                cur.execute(
                    "INSERT INTO bench_oldchain (municipality_id, at, function, subject_ids, detail, h) "
                    "VALUES (%s, now(), %s, %s, %s, md5(random()::text))",
                    [town.pk, "宛名照会", json.dumps([i]), json.dumps({"bench": i})],
                )
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--records", type=int, default=2000, help="records per process")
    parser.add_argument("--pg-url", default="postgres://postgres@127.0.0.1:5432/choshu_bench_audit")
    args = parser.parse_args()
    from run import recreate_pg  # type: ignore[import-not-found]

    recreate_pg(args.pg_url)
    _setup(args.pg_url)
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    from choshu.audit.models import AuditLog, AuditSeal
    from choshu.audit.sealing import seal_all
    from choshu.audit.selectors import audit_chain_verify
    from choshu.core.services import municipality_create

    towns = [
        municipality_create(code="112038", name="川口市"),
        municipality_create(code="112089", name="草加市"),
    ]
    with connection.cursor() as cur:
        cur.execute(
            "CREATE TABLE bench_oldchain (id bigserial PRIMARY KEY, municipality_id bigint, at timestamptz,"
            " function text, subject_ids jsonb, detail jsonb, h text)"
        )
    connection.close()
    total = args.processes * args.records
    result: dict[str, Any] = {"processes": args.processes, "records": total, "cores": os.cpu_count()}
    ctx = mp.get_context("spawn")
    for mode in ("plain_insert", "global_lock", "keyed"):
        with connection.cursor() as cur:
            cur.execute("TRUNCATE bench_oldchain")
        connection.close()
        with ctx.Pool(args.processes) as pool:  # timed inside the workers: no process start-up
            seconds = pool.map(
                _worker,
                [(args.pg_url, mode, args.records, i, [t.pk for t in towns]) for i in range(args.processes)],
            )
        result[f"{mode}_per_s"] = round(total / max(seconds))
    floor = result["plain_insert_per_s"]
    result["keyed_vs_floor"] = round(floor / result["keyed_per_s"], 2)
    result["global_lock_vs_floor"] = round(floor / result["global_lock_per_s"], 2)
    result["pending_after_run"] = total - AuditSeal.objects.count()
    seal_all(force_checkpoint=True)
    with connection.cursor() as cur:
        cur.execute(
            "SELECT max(extract(epoch FROM s.sealed_at - l.at)),"
            " percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM s.sealed_at - l.at))"
            " FROM audit_auditseal s JOIN audit_auditlog l ON l.id = s.log_id"
        )
        worst, p99 = cur.fetchone()
    result["lag_max_s"] = round(float(worst), 3)
    result["lag_p99_s"] = round(float(p99), 3)
    start = time.perf_counter()
    report = audit_chain_verify()
    elapsed = time.perf_counter() - start
    assert report.ok, report.problems[:5]
    result["verify_s_per_100k"] = round(elapsed * 100_000 / AuditLog.objects.count(), 1)
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
