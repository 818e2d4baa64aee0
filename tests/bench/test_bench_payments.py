"""The payment benchmark itself, run small: it must keep working and keep checking itself.

The benchmark is how issue 5's and issue 11's performance targets are measured
(``bench/bench_payments.py``); a broken or self-deceiving benchmark is worse than none (its baseline
once updated no installment at all). PostgreSQL only: the baselines and the floors are PostgreSQL
measurements.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))

from bench_payments import merged_phases, phase_lines  # noqa: E402

SHAPES = ("shared", "signed", "posting")


@pytest.mark.skipif(
    not os.environ.get("CHOSHU_DATABASE_URL", "").startswith("postgres"),
    reason="the benchmark's baselines and floors are PostgreSQL measurements (the PostgreSQL pass runs it)",
)
def test_the_payment_benchmark_runs_small_and_every_side_pays_the_installments(tmp_path: Path) -> None:
    out = tmp_path / "payments.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "DJANGO_SETTINGS"))}
    # Its own databases, named after the test database's: a benchmark run elsewhere on the same
    # server (choshu_bench_pay…) is neither dropped by this one nor drops it.
    url = os.environ["CHOSHU_DATABASE_URL"]
    pg_url = f"{url.rsplit('/', 1)[0]}/{url.rsplit('/', 1)[1]}_paybench"
    result = subprocess.run(
        [
            sys.executable,
            "bench/bench_payments.py",
            "--payments",
            "400",
            "--installments",
            "2000",
            "--pg-url",
            pg_url,
            "--out",
            str(out),
        ],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=600,
        capture_output=True,
        text=True,
    )
    r = json.loads(out.read_text())
    assert r["installments"] >= 400 and r["import_bank_records"] + r["import_conveni_records"] == 400
    # Every record is posted (the unknown slips as suspense), the ledger balances.
    assert r["import_bank_posted"] == r["import_bank_records"] and r["ledger_ok"] is True
    # The baseline's join and every floor pay every installment whose slip exists (all but the unknown
    # slips: records 1, 101, 201 and 301 of the 400).
    assert r["baseline_installments_updated"] == r["floor_posted"] == 396
    for shape in SHAPES:
        assert r[f"floor_{shape}_posted"] == r[f"floor_{shape}_installments_updated"] == 396, shape
        assert r[f"floor_{shape}_ratio"] > 0, shape
        assert {"copy", "join", "transactions", "payments", "installments", "commit"} <= set(
            r[f"floor_{shape}_phases"]
        ), shape
    # One transaction per payment, except in today's shape (one per 領収日 × 日計日, with one cash entry).
    assert r["floor_signed_transactions"] == 396 and r["floor_signed_ledger_rows"] == 2 * 396
    assert r["floor_posting_transactions"] == 396 and r["floor_posting_ledger_rows"] == 396
    # The posting table starts with the city's history (one posting per seeded installment's levy).
    assert r["floor_posting_history_rows"] == r["installments"]
    assert r["floor_signed_shared_transactions"] == r["floor_posting_shared_transactions"] == 0
    n = r["floor_shared_transactions"]
    assert 0 < n < 396 and r["floor_shared_ledger_rows"] == 396 + n
    assert r["floor_shared_shared_transactions"] > 0
    assert {"entries"} <= set(r["floor_signed_phases"]) and {"postings"} <= set(r["floor_posting_phases"])
    # floor_seconds is the chosen shape's.
    assert r["floor_shape"] == "signed" and r["floor_seconds"] == r["floor_signed_seconds"]
    assert r["ratio"] > 0 and r["floor_ratio"] > 0 and r["reimport_bank_seconds"] >= 0
    assert r["reimport_ratio"] >= 0
    # The targets of issue 11, printed at the end.
    tail = result.stdout.strip().splitlines()[-3:]
    assert "import ≤ 3.0× the raw baseline" in tail[0]
    assert "peak RSS ≤ 300 MB" in tail[1]
    assert "sent again ≤ 0.5×" in tail[2]
    assert set(r["targets"]) == {"import_ratio", "peak_rss", "reimport_ratio"}


@pytest.mark.skipif(
    not os.environ.get("CHOSHU_DATABASE_URL", "").startswith("postgres"),
    reason="the benchmark's baselines and floors are PostgreSQL measurements (the PostgreSQL pass runs it)",
)
def test_the_floors_alone_in_rounds(tmp_path: Path) -> None:
    out = tmp_path / "floors.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "DJANGO_SETTINGS"))}
    url = os.environ["CHOSHU_DATABASE_URL"]
    pg_url = f"{url.rsplit('/', 1)[0]}/{url.rsplit('/', 1)[1]}_paybench"
    args = ["--payments", "400", "--installments", "2000", "--pg-url", pg_url, "--out", str(out)]
    subprocess.run(
        [sys.executable, "bench/bench_payments.py", "--floors-only", "--floor-rounds", "2", *args],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=600,
        capture_output=True,
    )
    r = json.loads(out.read_text())
    assert "import_seconds" not in r and "ratio" not in r
    for shape in SHAPES:
        assert len(r[f"floor_{shape}_rounds"]) == 2 and r[f"floor_{shape}_posted"] == 396, shape
    assert r["targets"]["import_ratio"]["met"] is None


def test_the_importer_phase_log_is_read_old_and_new() -> None:
    stderr = "\n".join(
        [
            "some warning",
            'import bank.csv: import phases {"read_stage": 5.1, "facts": 2.0, "decide": 1.5, "write": 6.0, '
            '"caches": 1.8} (1000000 records)',
            "fast lane: 990 records, {'insert': 0.5}",
            "import bank.csv: read and staged 1000 records in 0.1 s, fast lane 990 in 0.2 s, the rest in 0.0 s",
            "import phases not json",
        ]
    )
    lines, parsed = phase_lines(stderr)
    assert len(lines) == 4
    assert parsed[0] == {"read_stage": 5.1, "facts": 2.0, "decide": 1.5, "write": 6.0, "caches": 1.8}
    assert parsed[1] == {"unparsed": "not json"}
    assert merged_phases([]) is None
    assert merged_phases(parsed[:1]) == parsed[0]
    assert merged_phases([{"write": 1.0}, {"write": 2.5, "caches": 1}]) == {"write": 3.5, "caches": 1}
