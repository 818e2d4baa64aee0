"""The payment benchmark itself, run small: it must keep working and keep checking itself.

The benchmark is how issue 5's performance target is measured (``bench/bench_payments.py``); a
broken or self-deceiving benchmark is worse than none (its baseline once updated no installment
at all). PostgreSQL only: the baselines and the floor are PostgreSQL measurements.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(
    not os.environ.get("CHOSHU_DATABASE_URL", "").startswith("postgres"),
    reason="the benchmark's baselines and floor are PostgreSQL measurements (the PostgreSQL pass runs it)",
)


def test_the_payment_benchmark_runs_small_and_every_side_pays_the_installments(tmp_path: Path) -> None:
    out = tmp_path / "payments.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "DJANGO_SETTINGS"))}
    subprocess.run(
        [
            sys.executable,
            "bench/bench_payments.py",
            "--payments",
            "400",
            "--installments",
            "2000",
            "--out",
            str(out),
        ],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=600,
        capture_output=True,
    )
    r = json.loads(out.read_text())
    assert r["installments"] >= 400 and r["import_bank_records"] + r["import_conveni_records"] == 400
    # Every record is posted (the unknown slips as suspense), the ledger balances.
    assert r["import_bank_posted"] == r["import_bank_records"] and r["ledger_ok"] is True
    # The baseline's join and the floor pay every installment whose slip exists (all but the unknown
    # slips: records 1, 101, 201 and 301 of the 400).
    assert r["baseline_installments_updated"] == r["floor_posted"] == 396
    assert r["ratio"] > 0 and r["floor_ratio"] > 0 and r["reimport_bank_seconds"] >= 0
    assert {"copy", "join", "entries", "payments", "installments"} <= set(r["floor_phases"])
