"""The 口座振替 benchmark itself, run small: it must keep working and keep checking itself.

``bench/bench_debits.py`` measures issue 17's target: the request files against a raw ``COPY … TO`` of
the same fields of the same lines (the benchmark asserts the COPY wrote as many rows as the files hold).
PostgreSQL only.
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
    reason="the benchmark's floor is a PostgreSQL measurement (the PostgreSQL pass runs it)",
)
def test_the_debit_benchmark_runs_small_and_the_floor_copies_what_the_files_hold(tmp_path: Path) -> None:
    out = tmp_path / "debits.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "DJANGO_SETTINGS"))}
    url = os.environ["CHOSHU_DATABASE_URL"]
    pg_url = f"{url.rsplit('/', 1)[0]}/{url.rsplit('/', 1)[1]}_debitbench"
    result = subprocess.run(
        [sys.executable, "bench/bench_debits.py", "--taxpayers", "60", "--pg-url", pg_url, "--out", str(out)],
        cwd=ROOT, env=env, check=True, timeout=600, capture_output=True, text=True,
    )  # fmt: skip
    r = json.loads(out.read_text())
    assert r["records"] > 0 and r["copy_rows"] == r["records"] and r["files"] == 1
    # 3 records (header, trailer, end) beyond the data, 122 bytes each with CR LF
    assert r["file_bytes"] == 122 * (r["records"] + 3)
    assert r["amount"] > 0 and r["ratio"] > 0 and r["targets"]["ratio"]["at_scale"] is False
    assert r["startup_seconds"] > 0 and r["request_net_seconds"] <= r["request_seconds"]
    assert "request files ≤ 3.0× the raw COPY … TO" in result.stdout.strip().splitlines()[-1]
