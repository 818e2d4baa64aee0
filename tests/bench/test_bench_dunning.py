"""The dunning benchmark itself, run small: it must keep working and keep checking itself.

``bench/bench_dunning.py`` measures issue 15's targets: the dunning run against a raw SQL
``INSERT … SELECT`` of the same notice rows, and the print-vendor data against a raw ``COPY … TO`` of
the same columns. A floor that wrote fewer rows than the run would flatter it; the benchmark checks
the counts and this test checks that it does. PostgreSQL only: the floors are PostgreSQL measurements.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(
    not os.environ.get("CHOSHU_DATABASE_URL", "").startswith("postgres"),
    reason="the benchmark's floors are PostgreSQL measurements (the PostgreSQL pass runs it)",
)
def test_the_dunning_benchmark_runs_small_and_the_floor_writes_what_the_run_writes(tmp_path: Path) -> None:
    out = tmp_path / "dunning.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "DJANGO_SETTINGS"))}
    # Its own databases, named after the test database's (a benchmark elsewhere on the server keeps its own).
    url = os.environ["CHOSHU_DATABASE_URL"]
    pg_url = f"{url.rsplit('/', 1)[0]}/{url.rsplit('/', 1)[1]}_dunbench"
    result = subprocess.run(
        [
            sys.executable,
            "bench/bench_dunning.py",
            "--taxpayers",
            "60",
            "--pg-url",
            pg_url,
            "--out",
            str(out),
            "--profile",
        ],  # fmt: skip
        cwd=ROOT,
        env=env,
        check=True,
        timeout=600,
        capture_output=True,
        text=True,
    )
    r = json.loads(out.read_text())
    city = r["city"]
    # --paid-until leaves every installment of the six levy years open; the past-due ones are candidates.
    assert city["taxpayers"] == 60 and city["open_installments"] == city["installments"] > 0
    assert r["candidates"] == city["past_due_open"] > 0 and r["suppressed"] == 0
    # The floor writes the run's notices and installments (the benchmark asserts it; the test re-checks).
    assert (
        r["floor_notices"] == r["issued"] > 0
        and r["floor_installments"] == r["installments"] == r["candidates"]
    )
    # One notice per taxpayer and tax item: fewer notices than installments, at most 60 × the tax items.
    assert r["issued"] < r["installments"]
    assert r["fee_total"] == 100 * r["issued"]
    # The print data: every notice written or counted as blocked (支援措置); the COPY wrote them too.
    assert r["print_rows"] + r["print_blocked"] == r["issued"] and r["print_bytes"] > 0
    assert r["copy_notices"] == r["print_rows"]
    assert r["print_rows"] < r["issued"] or r["copy_installments"] == r["installments"]
    assert 0 < r["copy_installments"] <= r["installments"]
    assert set(r["floor_phases"]) == {"candidates", "insert_select", "commit"}
    for key in ("run_ratio", "print_ratio", "floor_seconds", "copy_seconds"):
        assert r[key] > 0, key
    prof = r["profile_seconds"]
    assert prof["run: amounts_due_lines"] > 0 and prof["print: whole export"] > 0
    assert set(r["targets"]) == {"run_ratio", "print_ratio"}
    assert r["targets"]["run_ratio"]["at_scale"] is False  # 60 taxpayers are not the city
    tail = result.stdout.strip().splitlines()[-2:]
    assert "dunning run ≤ 3.0× the INSERT … SELECT floor" in tail[0]
    assert "print data ≤ 3.0× the raw COPY … TO" in tail[1]
