"""The load benchmark itself, run small: it must keep working and keep checking itself.

``bench/bench_load.py`` measures issue 12's targets for the first load of a city; its floor is the
levy, installment and ledger rows written by SQL alone, and the imports must post what it posts (a
floor that wrote less would flatter the import). PostgreSQL only: the baselines and the floor are
PostgreSQL measurements.
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
    reason="the benchmark's baseline and floor are PostgreSQL measurements (the PostgreSQL pass runs it)",
)
def test_the_load_benchmark_runs_small_and_the_imports_post_what_the_floor_posts(tmp_path: Path) -> None:
    out = tmp_path / "load.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "DJANGO_SETTINGS"))}
    url = os.environ["CHOSHU_DATABASE_URL"]
    pg_url = f"{url.rsplit('/', 1)[0]}/{url.rsplit('/', 1)[1]}_loadbench"
    subprocess.run(
        [sys.executable, "bench/bench_load.py", "--taxpayers", "200", "--pg-url", pg_url, "--out", str(out)],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=600,
        capture_output=True,
        text=True,
    )
    r = json.loads(out.read_text())
    run = r["runs"][0]
    assert run["taxpayers"] == 200 and run["installments"] == 200 * 18
    floor, imported = run["floor_counts"], run["import_counts"]
    # One 調定 transaction and two entries per installment, on either side; the ledger balances.
    assert floor["transactions"] == imported["transactions"] == 3600
    assert floor["entries"] == imported["entries"] == 7200
    assert floor["principal_levied"] == imported["principal_levied"] > 0
    assert floor["ledger_total"] == imported["ledger_total"] == 0
    # 固定資産税・都市計画税 (4 of the 18) has two components: its 期別内訳 rows, their sum its principal.
    assert floor["breakdown_rows"] == imported["breakdown_rows"] == 200 * 4 * 2
    assert floor["breakdown_levied"] == imported["breakdown_levied"] > 0
    assert run["import_posts_what_the_floor_posts"] is True and run["ledger_ok"] is True
    # The import gives every installment without a 納付番号 the system's (the floor writes the file's).
    assert imported["installments_without_slip"] == 0 < floor["installments_without_slip"]
    imports = run["imports"]
    assert imports["taxpayers"]["summary"]["created"] == 200
    assert imports["levies"]["summary"]["created"] == 3600
    again = imports["taxpayers_again"]["summary"], imports["levies_again"]["summary"]
    assert [s["unchanged"] for s in again] == [200, 3600] and run["reimport_changed_nothing"] is True
    change = imports["taxpayers_change"]["summary"], imports["levies_change"]["summary"]
    assert change[0]["updated"] == 2 and change[1]["corrections"] + change[1]["updated"] == 36
    assert (
        run["taxpayers_ratio"] > 0 and run["levies_ratio_to_floor"] > 0 and run["floor_ratio_to_raw_copy"] > 0
    )
    assert {"read_stage", "check", "ledger"} <= set(imports["levies"]["phases"])
    assert set(r["targets"]) >= {"levies ≤ 1.5× floor", "re-import changes nothing"}
