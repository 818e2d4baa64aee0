"""Benchmark: 滞納整理 (issue 18, "Performance").

Issue 18's targets, on a city of 1M taxpayers:
- ``cases-run`` ≤ 3× a raw SQL statement computing the same open set in the same run;
- an officer's work list and a case page (20 years of history) render in p95 < 300 ms at 20 concurrent users.

Steps, on throw-away PostgreSQL databases:
1. a seeded city (``choshu seed --taxpayers N --as-of 2026-11-26 --paid-until 2020-12-31``, the same
   template ``bench_debits.py`` keeps when both are given the same ``--pg-url``: every installment of
   2021–2026 open, so every person is in arrears — the heaviest open set), cloned;
2. a case setting (10,000 yen, 30 days; ``choshu cases-setting``);
3. the floor: one ``CREATE TEMP TABLE … AS SELECT`` of the open set (per person the 本税 past its
   指定納期限 and unpaid, its oldest 指定納期限, the thresholds applied), in one connection;
4. ``choshu cases-run --as-of D --json`` (wall seconds, peak RSS): the first run opens every case; then the
   same command again (nothing to open: the refresh every later day costs); the case count must equal the
   floor's rows;
5. (``--web``) the cases are spread over ``--concurrency`` case officers of one team, each signed in
   through the real forms (password, then TOTP); ``choshu serve --workers W`` is loaded by one closed
   loop per officer: 50 % the officer's work list ``/cases/``, 50 % the case page ``/cases/<pk>/`` of
   one of the officer's cases, for ``--warmup`` + ``--duration`` seconds; p50/p95/p99 per kind.

Usage: python bench/bench_cases.py [--taxpayers N] [--pg-url URL] [--web] [--workers W] [--out FILE]
PostgreSQL only. Results also in ``--out`` (JSON).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import random
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "src"))

from bench_payments import CHOSHU, checkpoint, pg_seeded_copy, sh, sh_rss  # noqa: E402
from bench_web import (  # noqa: E402
    Connection,
    percentile,
    process_group_cpu,
    run_python,
    sign_in,
    start_server,
    stop_server,
)

PG_URL = os.environ.get("CHOSHU_BENCH_CASES_PG_URL", "postgres://postgres@127.0.0.1:5432/choshu_bench_debit")
AS_OF = "2026-11-26"
PAID_UNTIL = "2020-12-31"
MIN_AMOUNT = 10_000
MIN_AGE_DAYS = 30
TARGET_RATIO = 3.0
TARGET_P95_MS = 300.0

OFFICERS = """
import json, os, secrets, django
django.setup()
from django.db import connection
from django_otp.plugins.otp_totp.models import TOTPDevice
from choshu.accounts.models import Role, User
from choshu.cases.models import Case
from choshu.core.models import Municipality
m = Municipality.objects.order_by("pk").first()
out = []
ids = []
for i in range(1, int(os.environ["BENCH_USERS"]) + 1):
    name = f"officer{i:02d}"
    user = User.objects.filter(username=name).first() or User(
        username=name, role=Role.CASE_OFFICER, display_name=f"負荷試験 徴収員{i}", team="負荷試験", municipality=m
    )
    password = secrets.token_urlsafe(12)
    user.set_password(password)
    user.save()
    TOTPDevice.objects.filter(user=user).delete()
    device = TOTPDevice.objects.create(user=user, name="TOTP", confirmed=True)
    out.append({"username": name, "password": password, "key": device.bin_key.hex()})
    ids.append(user.pk)
with connection.cursor() as cur:  # every open case to one of the officers, round robin
    cur.execute(
        "UPDATE cases_case SET team = '負荷試験', officer_id = (%s::bigint[])[1 + (id %% %s)] WHERE closed_on IS NULL",
        [ids, len(ids)],
    )
    cur.execute("ANALYZE cases_case")
cases = {}
for u, officer in zip(out, ids):
    cases[u["username"]] = list(
        Case.objects.filter(officer_id=officer, closed_on__isnull=True).order_by("?").values_list("pk", flat=True)[:200]
    )
print(json.dumps({"users": out, "cases": cases}))
"""


def floor(url: str, as_of: date) -> tuple[float, int]:
    """The open set by one raw statement (materialised, as the run materialises it)."""
    import psycopg

    with psycopg.connect(url) as conn:
        started = time.perf_counter()
        conn.execute(
            """CREATE TEMP TABLE bench_open AS
               SELECT i.taxpayer_id, SUM(i.principal_outstanding) AS amount, MIN(i.designated_due_date) AS oldest
               FROM levies_installment i
               WHERE i.principal_outstanding > 0 AND i.designated_due_date < %s
               GROUP BY i.taxpayer_id
               HAVING SUM(i.principal_outstanding) >= %s AND MIN(i.designated_due_date) <= %s""",
            [as_of, MIN_AMOUNT, as_of - timedelta(days=MIN_AGE_DAYS)],
        )
        row = conn.execute("SELECT COUNT(*) FROM bench_open").fetchone()
        seconds = time.perf_counter() - started
        conn.rollback()
    return seconds, int(row[0]) if row else 0


async def officer_loop(
    port: int, cookies: dict[str, str], cases: list[int], seed: int, measure_from: float, stop_at: float,
    samples: list[tuple[str, float, int]],
) -> None:  # fmt: skip
    rng = random.Random(seed)
    conn = Connection(port, dict(cookies))
    try:
        while time.monotonic() < stop_at:
            if rng.random() < 0.5 or not cases:
                kind, path = "work_list", "/cases/"
            else:
                kind, path = "case", f"/cases/{rng.choice(cases)}/"
            started = time.monotonic()
            try:
                status = (await conn.request("GET", path)).status
            except (OSError, EOFError, asyncio.IncompleteReadError, ValueError):
                status = 0
                await conn.close()
            if started >= measure_from and time.monotonic() <= stop_at:
                samples.append((kind, (time.monotonic() - started) * 1000, status))
    finally:
        await conn.close()


async def web_load(
    port: int,
    sessions: list[dict[str, str]],
    cases: list[list[int]],
    warmup: float,
    duration: float,
    pgid: int,
) -> dict[str, Any]:
    samples: list[tuple[str, float, int]] = []
    start = time.monotonic()
    measure_from, stop_at = start + warmup, start + warmup + duration
    cpu: list[float] = []

    async def sample_cpu() -> None:
        for at in (measure_from, stop_at):
            await asyncio.sleep(max(0.0, at - time.monotonic()))
            cpu.append(process_group_cpu(pgid))

    await asyncio.gather(
        sample_cpu(),
        *(
            officer_loop(port, s, c, i, measure_from, stop_at, samples)
            for i, (s, c) in enumerate(zip(sessions, cases, strict=True))
        ),
    )
    out: dict[str, Any] = {}
    for kind in ("work_list", "case"):
        ms = [s[1] for s in samples if s[0] == kind]
        out[kind] = {
            "requests": len(ms),
            "errors": sum(1 for s in samples if s[0] == kind and s[2] != 200),
            "p50_ms": round(percentile(ms, 0.5), 1),
            "p95_ms": round(percentile(ms, 0.95), 1),
            "p99_ms": round(percentile(ms, 0.99), 1),
        }
    if samples:
        out["server_cpu_ms_per_request"] = round((cpu[1] - cpu[0]) * 1000 / len(samples), 1)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--taxpayers", type=int, default=20_000)
    ap.add_argument("--pg-url", default=PG_URL)
    ap.add_argument("--out", default="")
    ap.add_argument("--reseed", action="store_true")
    ap.add_argument("--web", action="store_true", help="also load the work list and case pages")
    ap.add_argument("--concurrency", type=int, default=20)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--warmup", type=float, default=5.0)
    ap.add_argument("--duration", type=float, default=30.0)
    args = ap.parse_args()
    url = args.pg_url
    folder = Path(tempfile.mkdtemp(prefix="bench-cases-"))
    env = {
        **os.environ,
        "CHOSHU_VAR_DIR": str(folder),
        "CHOSHU_LOG_LEVEL": "WARNING",
        "CHOSHU_DATABASE_URL": url,
        "CHOSHU_SECRET_KEY": "bench-cases-" + base64.b32encode(os.urandom(20)).decode(),
        "DJANGO_SETTINGS_MODULE": "choshu.config.settings",
    }
    env.pop("CHOSHU_PRODUCTION", None)
    seed_args = [CHOSHU, "seed", "--taxpayers", str(args.taxpayers), "--seed", "1", "--as-of", AS_OF,
                 "--paid-until", PAID_UNTIL]  # fmt: skip
    seed_s, installments, _ = pg_seeded_copy(env, seed_args, args.taxpayers, url, reseed=args.reseed)
    as_of = date.fromisoformat(AS_OF)
    sh([CHOSHU, "cases-setting", "--from", "2000-01-01", "--amount", str(MIN_AMOUNT),
        "--age-days", str(MIN_AGE_DAYS), "--json"], env)  # fmt: skip
    checkpoint(url)
    floor_s, floor_rows = floor(url, as_of)
    checkpoint(url)
    run_cmd = [CHOSHU, "cases-run", "--as-of", AS_OF, "--json"]
    first = sh_rss(run_cmd, env)
    summary = json.loads(first.out.strip().splitlines()[-1])
    assert summary["opened"] == floor_rows, (summary["opened"], floor_rows)
    checkpoint(url)
    again = sh_rss(run_cmd, env)
    assert json.loads(again.out.strip().splitlines()[-1])["opened"] == 0
    ratio = first.seconds / floor_s if floor_s else 0.0
    result: dict[str, Any] = {
        "taxpayers": args.taxpayers, "installments": installments, "seed_seconds": round(seed_s, 1),
        "open_set": floor_rows, "floor_seconds": round(floor_s, 3),
        "cases_run_seconds": round(first.seconds, 3), "cases_run_rss_mb": round(first.rss_mb, 1),
        "cases_run_again_seconds": round(again.seconds, 3),
        "ratio": round(ratio, 2), "ratio_again": round(again.seconds / floor_s, 2) if floor_s else 0.0,
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "targets": {"cases_run": {"target": TARGET_RATIO, "met": ratio <= TARGET_RATIO,
                                  "at_scale": args.taxpayers >= 1_000_000}},
        "measured_on": date.today().isoformat(),
    }  # fmt: skip
    print(json.dumps(result, ensure_ascii=False), flush=True)
    if args.web:
        made = run_python(OFFICERS, {**env, "BENCH_USERS": str(args.concurrency)})
        users, cases = made["users"], made["cases"]
        proc, port = start_server("serve", args.workers, args.threads, env, folder, folder / "server.log")
        try:
            sessions = [asyncio.run(sign_in(port, u)) for u in users]
            web = asyncio.run(
                web_load(
                    port,
                    sessions,
                    [cases[u["username"]] for u in users],
                    args.warmup,
                    args.duration,
                    proc.pid,
                )
            )
        finally:
            stop_server(proc)
        p95 = max(web["work_list"]["p95_ms"], web["case"]["p95_ms"])
        result["web"] = {
            "workers": args.workers,
            "threads": args.threads,
            "concurrency": args.concurrency,
            **web,
        }
        result["targets"]["web_p95"] = {
            "target_ms": TARGET_P95_MS,
            "worst_p95_ms": p95,
            "met": p95 < TARGET_P95_MS,
        }
    text = json.dumps(result, ensure_ascii=False, indent=2)
    if args.out:
        Path(args.out).write_text(text)
    print(text)


if __name__ == "__main__":
    main()
