"""The web load benchmark itself, run small: it must keep working (issue 13 §10).

``bench/bench_web.py`` seeds a city, signs clerks in through the password and TOTP forms and loads
``choshu serve`` and the old single-process server. Its figures are never asserted here (performance
is checked by the benchmark only); that every request was answered 200 and every figure is there is.
PostgreSQL only, like the benchmark.
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
    reason="the benchmark measures PostgreSQL (the PostgreSQL pass runs it)",
)
def test_the_web_benchmark_runs_small_with_signed_in_clerks(tmp_path: Path) -> None:
    out = tmp_path / "web.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "DJANGO_SETTINGS"))}
    env.pop("CHOSHU_DATABASE_URL")
    url = os.environ["CHOSHU_DATABASE_URL"]
    pg_url = f"{url.rsplit('/', 1)[0]}/{url.rsplit('/', 1)[1]}_webbench"
    args = ["--taxpayers", "100", "--concurrency", "2", "--duration", "3", "--warmup", "0.5"]
    subprocess.run(
        [
            sys.executable,
            "bench/bench_web.py",
            *args,
            "--workers",
            "2",
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
    assert r["city"]["taxpayers"] == 100
    assert [run["server"] for run in r["runs"]] == [
        "baseline: waitress, 1 process, 8 threads",
        "choshu serve --workers 2 --threads 1",
    ]
    for run in r["runs"]:
        assert run["all"]["requests"] > 0 and run["all"]["errors"] == 0
        assert (
            sum(run[k]["requests"] for k in ("search_kana", "search_no", "person")) == run["all"]["requests"]
        )
        assert 0 < run["all"]["p50_ms"] <= run["all"]["p95_ms"] <= run["all"]["p99_ms"]
    assert set(r["profile"]) == {"person", "search_kana", "search_no"}
    assert r["profile"]["person"]["statements_p50"] > 0
    assert set(r["targets"]) == {"p95_under_150ms", "throughput_grows_with_workers", "errors"}
