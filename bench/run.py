"""Benchmarks (never timed unit tests). ``make bench`` runs them and writes ``bench/out/results.json``.

- seed: seconds per 100,000 synthetic taxpayers (``choshu seed``), SQLite and PostgreSQL;
- search: taxpayer-search latency on the seeded city (median and worst of each search kind);
- rules: late-charge computations per second (``bench/bench_late_charge.py``).

Usage: ``python bench/run.py [--taxpayers N] [--only seed,search,rules] [--pg-url URL]``.
The seed benchmark writes into throw-away databases (a temp SQLite file, PostgreSQL ``choshu_bench``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHOSHU = str(Path(sys.executable).parent / "choshu")


def run_choshu(args: list[str], env: dict[str, str]) -> dict[str, object]:
    out = subprocess.run([CHOSHU, *args], env=env, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def pg_ready(url: str) -> bool:
    return subprocess.run([str(ROOT / "scripts" / "ensure-postgres")], check=False).returncode == 0


def recreate_pg(url: str) -> None:
    import psycopg

    admin = url.rsplit("/", 1)[0] + "/postgres"
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')


def bench_seed(n: int, env: dict[str, str], label: str) -> dict[str, object]:
    subprocess.run([CHOSHU, "migrate", "-v0"], env=env, check=True)
    started = time.monotonic()
    summary = run_choshu(
        ["seed", "--taxpayers", str(n), "--seed", "1", "--as-of", "2026-11-26", "--json"], env
    )
    seconds = time.monotonic() - started
    verify_started = time.monotonic()
    verify = run_choshu(["verify-ledger", "--json"], env)
    return {
        "database": label,
        "taxpayers": n,
        "installments": summary["installments"],
        "payments": summary["payments"],
        "seconds": round(seconds, 1),
        "seconds_per_100k_taxpayers": round(seconds / n * 100_000, 1),
        "verify_ledger_seconds": round(time.monotonic() - verify_started, 1),
        "ledger_ok": verify["ok"],
    }


def bench_search(env: dict[str, str], label: str) -> dict[str, object]:
    code = r"""
import json, os, statistics, time, django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "choshu.config.settings")
django.setup()
from choshu.accounts.models import User, Role
from choshu.core.models import Municipality
from choshu.taxpayers.models import Taxpayer
from choshu.taxpayers.selectors import SearchQuery, linked_taxpayer_ids, taxpayer_search
from choshu.levies.arrears import arrears_by_taxpayer
from django.utils import timezone
m = Municipality.objects.get(code="112038")
user = User(username="bench", role=Role.CLERK, municipality=m)
n = Taxpayer.objects.filter(municipality=m).count()
sample = list(Taxpayer.objects.filter(municipality=m).order_by("?")[:20].values("taxpayer_no", "name_kana", "name", "address", "phone", "birth_date", "corporate_number"))
kinds = {
    "taxpayer_no": lambda t: SearchQuery(taxpayer_no=t["taxpayer_no"]),
    "kana_prefix": lambda t: SearchQuery(kana=t["name_kana"][:3]),
    "name_prefix": lambda t: SearchQuery(name=t["name"][:2]),
    "address_prefix": lambda t: SearchQuery(address=t["address"][6:12]),
    "phone": lambda t: SearchQuery(phone=t["phone"] or "048-250-0000"),
    "taxpayer_no_without_zeros": lambda t: SearchQuery(taxpayer_no=t["taxpayer_no"].lstrip("0")),
    "birth_date": lambda t: SearchQuery(birth_date=(t["birth_date"] or "1980-04-01").__str__()),
    "corporate_number": lambda t: SearchQuery(corporate_number=t["corporate_number"] or "5835678256246"),
}
out = {"taxpayers": n}
for kind, make in kinds.items():
    times = []
    for t in sample:
        q = make(t)
        started = time.perf_counter()
        result = taxpayer_search(user=user, query=q)
        # what the results page adds: 未納額 and 名寄せ of the shown rows (issue 13 §7)
        arrears_by_taxpayer(taxpayer_ids=result.ids, as_of=timezone.localdate())
        linked_taxpayer_ids(municipality=m, taxpayer_ids=result.ids)
        times.append((time.perf_counter() - started) * 1000)
    out[kind] = {"median_ms": round(statistics.median(times), 2), "max_ms": round(max(times), 2)}
print(json.dumps(out))
"""
    result = subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True, text=True)
    return {"database": label, **json.loads(result.stdout.strip().splitlines()[-1])}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--taxpayers", type=int, default=100_000)
    parser.add_argument("--only", default="seed,search,rules")
    parser.add_argument("--pg-url", default="postgres://postgres@127.0.0.1:5432/choshu_bench")
    parser.add_argument("--keep", metavar="DIR", help="keep the SQLite database in DIR (for later runs)")
    args = parser.parse_args()
    only = set(args.only.split(","))
    results: dict[str, object] = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version()}}
    var = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="choshu-bench-"))
    sqlite_env = {**os.environ, "CHOSHU_VAR_DIR": str(var)}
    sqlite_env.pop("CHOSHU_DATABASE_URL", None)
    pg_env = {**os.environ, "CHOSHU_VAR_DIR": str(var), "CHOSHU_DATABASE_URL": args.pg_url}
    targets = [("sqlite", sqlite_env)]
    if pg_ready(args.pg_url):
        targets.append(("postgresql", pg_env))
    else:
        print("PostgreSQL not reachable: PostgreSQL figures skipped", file=sys.stderr)
    if "seed" in only:
        results["seed"] = []
        for label, env in targets:
            if label == "postgresql":
                recreate_pg(args.pg_url)
            elif (var / "choshu.sqlite3").exists():
                (var / "choshu.sqlite3").unlink()
            results["seed"].append(bench_seed(args.taxpayers, env, label))  # type: ignore[union-attr]
            print(json.dumps(results["seed"][-1], ensure_ascii=False), flush=True)  # type: ignore[index]
    if "search" in only:
        results["search"] = [bench_search(env, label) for label, env in targets]
        for row in results["search"]:  # type: ignore[attr-defined]
            print(json.dumps(row, ensure_ascii=False), flush=True)
    if "rules" in only and (ROOT / "bench" / "bench_late_charge.py").exists():
        out = subprocess.run(
            [sys.executable, str(ROOT / "bench" / "bench_late_charge.py")],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        results["rules"] = out.strip().splitlines()[-1]
        print(out.strip(), flush=True)
    target = ROOT / "bench" / "out"
    target.mkdir(parents=True, exist_ok=True)
    (target / "results.json").write_text(json.dumps(results, ensure_ascii=False, indent=2))
    print(f"results: {target / 'results.json'}")


if __name__ == "__main__":
    main()
