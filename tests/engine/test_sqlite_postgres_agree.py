"""SQLite and PostgreSQL give the same state from the same generated files (issue 11).

The payment engine runs set-based SQL of its own on both databases (temporary tables, ``COPY`` and a
server-side cursor on PostgreSQL, ``executemany`` on SQLite): ``agree_script.py`` builds a city, writes
deterministic bank, conveni and eLTAX files and imports them in order, once on a fresh SQLite file and
once on a fresh PostgreSQL database of its own (not the suite's test database), and prints the resulting
payments, transactions, entries, installment caches, suspense items, import summaries and verify-ledger
result in natural keys. The two must be equal. Run in the PostgreSQL pass of the suite only.
"""

from __future__ import annotations

import difflib
import json
import os
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from before import projection
from pgtools import FIELD_KEY, PG_PASS_ONLY, PG_SERVER

SCRIPT = Path(__file__).with_name("agree_script.py")
GOLDEN = Path(__file__).with_name("golden") / f"before_issue11_seed{11}.json"
ROOT = Path(__file__).resolve().parents[2]
SEED = 11


pytestmark = PG_PASS_ONLY


@pytest.fixture
def pg_database() -> Iterator[str]:
    """A PostgreSQL database of this test's own (not the suite's test database), dropped at the end."""
    import psycopg

    name = f"choshu_agree_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{PG_SERVER}/{name}"
    finally:
        with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _start(work: Path, database_url: str | None) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "DJANGO_SETTINGS", "CHOSHU_"))}
    env["CHOSHU_FIELD_KEY"] = FIELD_KEY
    env["CHOSHU_VAR_DIR"] = str(work / "var")  # the secret key file and, for SQLite, the database
    if database_url:
        env["CHOSHU_DATABASE_URL"] = database_url
    return subprocess.Popen(
        [sys.executable, str(SCRIPT), "--seed", str(SEED), "--files", str(work / "files")],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _result(name: str, proc: subprocess.Popen[str]) -> dict[str, Any]:
    # A guard against a hung run, not a speed limit: the two runs go side by side, and `make test`
    # runs the SQLite and PostgreSQL passes (2 workers each) at once on the 2-core CI machine.
    out, err = proc.communicate(timeout=900)
    assert proc.returncode == 0, f"the {name} run failed ({proc.returncode}):\n{err[-4000:]}"
    return dict(json.loads(out.strip().splitlines()[-1]))


def _diff(a: dict[str, Any], b: dict[str, Any], limit: int = 60) -> str:
    """Where the two states first differ (per part of the state), then a unified diff of the start."""

    def compact(value: Any) -> str:
        return json.dumps(value, sort_keys=True, ensure_ascii=False)

    first = []
    for key in sorted(set(a) | set(b)):
        x, y = a.get(key), b.get(key)
        if x == y:
            continue
        if isinstance(x, list) and isinstance(y, list):
            at = next((i for i, (u, v) in enumerate(zip(x, y, strict=False)) if u != v), min(len(x), len(y)))
            n = sum(u != v for u, v in zip(x, y, strict=False)) + abs(len(x) - len(y))
            first.append(f"{key}: {n} of {max(len(x), len(y))} differ; first [{at}]:")
            first.append(f"  sqlite     {compact(x[at]) if at < len(x) else '(missing)'}")
            first.append(f"  postgresql {compact(y[at]) if at < len(y) else '(missing)'}")
        else:
            first += [f"{key}:", f"  sqlite     {compact(x)}", f"  postgresql {compact(y)}"]
    shown = list(
        difflib.unified_diff(
            json.dumps(a, indent=1, sort_keys=True, ensure_ascii=False).splitlines(),
            json.dumps(b, indent=1, sort_keys=True, ensure_ascii=False).splitlines(),
            "sqlite",
            "postgresql",
            n=3,
            lineterm="",
        )
    )
    more = [f"… {len(shown) - limit} more lines of diff"] if len(shown) > limit else []
    return "\n".join([*first, "", *shown[:limit], *more])


def test_sqlite_and_postgresql_agree_on_the_same_generated_files(pg_database: str) -> None:
    with tempfile.TemporaryDirectory(prefix="choshu-agree-") as tmp:
        work = Path(tmp)
        # Both at once: each is a process of its own, on a database of its own.
        procs = {
            "sqlite": _start(work / "sqlite", None),
            "postgresql": _start(work / "postgresql", pg_database),
        }
        try:
            lite, pg = (_result(name, proc) for name, proc in procs.items())
        finally:
            for proc in procs.values():
                if proc.poll() is None:
                    proc.kill()
                    proc.communicate()
    if lite != pg:
        pytest.fail("SQLite and PostgreSQL disagree:\n" + _diff(lite, pg), pytrace=False)
    assert lite["verify"] == {"ok": True, "problems": []} and pg["verify"]["ok"] is True

    # And the same as the code before the payment engine of issue 11 (commit a28dbaa, its fast lane and
    # Python lane) gave for the same files: payments, their own entries, caches, suspense items, import
    # summaries and refusals (tests/engine/golden/, made by running this script on that commit).
    before = json.loads(GOLDEN.read_text(encoding="utf-8"))
    now = json.loads(json.dumps(projection(lite), ensure_ascii=False, sort_keys=True, default=str))
    if now != before:
        pytest.fail("the engine differs from the code before issue 11:\n" + _diff(before, now), pytrace=False)

    # The state is not trivial: every case the files were written for happened.
    payments = lite["payments"]
    entries = [e for t in lite["transactions"] for e in t["entries"]]
    assert len(lite["installments"]) == 20 and len(payments) >= 25
    assert {"bank", "conveni", "eltax"} <= {p["channel"] for p in payments}
    assert any(p["overpaid"] > 0 and p["allocated"] > 0 for p in payments)
    assert {s[1] for s in lite["suspense"]} >= {"unknown_slip", "confirmation_mismatch"}
    assert sum(p["reversal_txn"] is not None for p in payments) == 2  # eLTAX: in the same file and later
    assert any(e[0] == "late_charge_income" for e in entries)
    assert any(p["status"] == "cancelled" for p in payments)  # a 速報 cancelled in time
    imports = {i["file"]: i for i in lite["imports"] if not i.get("refused")}
    assert [i["file"] for i in lite["imports"] if i.get("refused")] == ["conveni_refused.csv"]
    assert [i["file_already_imported"] for i in lite["imports"] if i["file"] == "bank2.csv"] == [False, True]
    assert imports["conveni3.csv"]["warnings"]  # the late 速報取消
