"""Bad input and faults: an import killed mid-way, and two imports of one channel at once (issue 11).

A payment file is imported in one database transaction behind an advisory lock per (municipality,
channel) (``receipts.services.payments_import``). Here, on PostgreSQL databases of the test's own:

1. an import is killed with SIGKILL while its backend is inside that transaction — the job row, the
   staged tables and the ledger transactions already written, the ledger entries being written —
   and nothing of it is kept; the same file sent again ends in exactly the state of one clean import
   of it on a clone of the same city;
2. two imports of the same bank file at once serialise: one posts every record, the other finds every
   record already imported; two different bank files at once both post in full, as if imported one
   after the other.

The city (``choshu seed``) and its files (``kill_files.py``) are made once per module; each test
imports into clones of it (``CREATE DATABASE … TEMPLATE``). Run in the PostgreSQL pass of the suite only.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pgtools import FIELD_KEY, PG_PASS_ONLY, PG_SERVER

ROOT = Path(__file__).resolve().parents[2]
FILES_SCRIPT = Path(__file__).with_name("kill_files.py")
CHOSHU = str(Path(sys.executable).parent / "choshu")
RECORDS = 18_000
CITY = "112038"


pytestmark = PG_PASS_ONLY


def _admin() -> Any:
    import psycopg

    return psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True)


def _connect(url: str, *, autocommit: bool = True) -> Any:
    import psycopg

    return psycopg.connect(url, autocommit=autocommit)


@dataclass
class City:
    """The seeded city: its template database, the files paying it and where runs keep their files."""

    name: str
    work: Path
    files: Path
    records: int
    clones: list[str]

    def clone(self, label: str) -> str:
        """A new database copied from the city (dropped with it at the end of the module)."""
        name = f"{self.name}_{label}"
        with _admin() as admin:
            admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{self.name}"')
        self.clones.append(name)
        return f"{PG_SERVER}/{name}"


def _env(work: Path, url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "DJANGO_SETTINGS", "CHOSHU_"))}
    env["CHOSHU_FIELD_KEY"] = FIELD_KEY
    env["CHOSHU_VAR_DIR"] = str(work / "var")  # the secret key file
    env["CHOSHU_DATABASE_URL"] = url
    return env


def _run(city: City, url: str, *args: str, ok: tuple[int, ...] = (0,)) -> str:
    proc = subprocess.run(
        [CHOSHU, *args], cwd=ROOT, env=_env(city.work, url), capture_output=True, text=True, timeout=300
    )
    assert proc.returncode in ok, (
        f"choshu {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr[-4000:]}"
    )
    return proc.stdout


def _start_import(city: City, url: str, path: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [CHOSHU, "import-payments", "--channel", "bank", str(path), "--json"],
        cwd=ROOT,
        env=_env(city.work, url),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _summary(proc: subprocess.Popen[str]) -> dict[str, Any]:
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, f"the import failed ({proc.returncode}):\n{err[-4000:]}"
    summary = dict(json.loads(out.strip().splitlines()[-1]))
    summary.pop("job_id")
    return summary


def _import(city: City, url: str, path: Path) -> dict[str, Any]:
    return _summary(_start_import(city, url, path))


def _verify(city: City, url: str) -> dict[str, Any]:
    return dict(json.loads(_run(city, url, "verify-ledger", "--json", ok=(0, 1)).strip().splitlines()[-1]))


@pytest.fixture(scope="module")
def city() -> Iterator[City]:
    """A city of 1,500 taxpayers whose installments are open from 2024 on, and a bank file of 18,000
    records paying them; its database is a template for each test's clones."""
    name = f"choshu_kill_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with _admin() as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    made = City(name, Path(tempfile.mkdtemp(prefix="choshu-kill-")), Path(), 0, [])
    made.files = made.work / "files"
    url = f"{PG_SERVER}/{name}"
    try:
        _run(made, url, "migrate", "--verbosity", "0")
        _run(made, url, "seed", "--taxpayers", "1500", "--seed", "3", "--as-of", "2026-11-26",
             "--paid-until", "2024-01-01")  # fmt: skip
        out = subprocess.run(
            [sys.executable, str(FILES_SCRIPT), "--out", str(made.files), "--records", str(RECORDS)],
            cwd=ROOT,
            env=_env(made.work, url),
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert out.returncode == 0, out.stderr[-4000:]
        made.records = int(out.stdout.strip().splitlines()[-1])
        assert made.records == RECORDS
        yield made
    finally:
        with _admin() as admin:
            for db in [*made.clones, name]:
                admin.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        for path in sorted(made.work.rglob("*"), reverse=True):
            path.rmdir() if path.is_dir() else path.unlink()
        made.work.rmdir()


# --- the state, in natural keys -------------------------------------------------------------------

INSTALLMENT_KEY = "l.tax_item || '/' || l.levy_year || '/' || l.notice_no || '/' || i.installment_no"


def state(url: str) -> dict[str, Any]:
    """Payments by channel and reference with their amounts, status and transaction (its entries by
    account, component, installment natural key and amount); every installment's cached amounts; the
    suspense queue; and, to catch a transaction no payment names, every payment transaction and the
    ledger's totals by account and component. No database ids: they differ between databases (a
    killed run still drew from the sequences)."""
    with _connect(url) as conn:
        entries: dict[int, list[tuple[Any, ...]]] = {}
        for txn_id, *entry in conn.execute(
            f"""SELECT e.txn_id, e.account, e.component, {INSTALLMENT_KEY}, tp.taxpayer_no, e.amount
                FROM levies_ledgerentry e JOIN levies_ledgertransaction t ON t.id = e.txn_id
                LEFT JOIN levies_installment i ON i.id = e.installment_id
                LEFT JOIN levies_levy l ON l.id = i.levy_id
                LEFT JOIN taxpayers_taxpayer tp ON tp.id = e.taxpayer_id
                WHERE t.kind = 'payment'"""
        ):
            entries.setdefault(txn_id, []).append(tuple(entry))
        txns = {
            txn_id: (kind, str(legal), str(booking), memo, sorted(entries.get(txn_id, []), key=repr))
            for txn_id, kind, legal, booking, memo in conn.execute(
                "SELECT id, kind, legal_date, booking_date, memo FROM levies_ledgertransaction"
                " WHERE kind = 'payment'"
            )
        }
        payments = sorted(
            (
                channel,
                reference,
                status,
                amount,
                allocated,
                overpaid,
                suspended,
                str(paid_on),
                str(booked_on),
                slip_no,
                confirmation_no,
                taxpayer_no,
                detail,
                txns.get(txn_id),
                reversal is not None,
            )  # fmt: skip
            for channel, reference, status, amount, allocated, overpaid, suspended, paid_on, booked_on, slip_no, confirmation_no, taxpayer_no, detail, txn_id, reversal in conn.execute(  # fmt: skip
                """SELECT p.channel, p.reference, p.status, p.amount, p.allocated, p.overpaid, p.suspended,
                          p.paid_on, p.booked_on, p.slip_no, p.confirmation_no, tp.taxpayer_no, p.detail::text,
                          p.txn_id, p.reversal_txn_id
                   FROM receipts_payment p LEFT JOIN taxpayers_taxpayer tp ON tp.id = p.taxpayer_id"""
            )
        )
        installments = conn.execute(
            f"""SELECT {INSTALLMENT_KEY}, i.principal_levied, i.principal_paid, i.principal_outstanding
                FROM levies_installment i JOIN levies_levy l ON l.id = i.levy_id ORDER BY 1"""
        ).fetchall()
        suspense = conn.execute(
            """SELECT p.channel, p.reference, s.reason, s.amount, s.status
               FROM receipts_suspenseitem s JOIN receipts_payment p ON p.id = s.payment_id ORDER BY 1, 2"""
        ).fetchall()
        totals = conn.execute(
            """SELECT t.kind, e.account, e.component, COUNT(DISTINCT t.id), COUNT(*), SUM(e.amount)
               FROM levies_ledgerentry e JOIN levies_ledgertransaction t ON t.id = e.txn_id
               GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"""
        ).fetchall()
    return {
        "payments": payments,
        "payment_transactions": sorted(txns.values(), key=repr),
        "installments": installments,
        "suspense": suspense,
        "ledger_totals": totals,
    }


def _assert_same(a: dict[str, Any], b: dict[str, Any], what: str) -> None:
    for key in a:
        if a[key] != b[key]:
            x, y = a[key], b[key]
            at = next((i for i, (u, v) in enumerate(zip(x, y, strict=False)) if u != v), min(len(x), len(y)))
            pytest.fail(
                f"{what}: {key} differ ({len(x)} vs {len(y)} rows); first at [{at}]:\n"
                f"  {x[at] if at < len(x) else '(missing)'}\n  {y[at] if at < len(y) else '(missing)'}",
                pytrace=False,
            )


def _wait_until(
    check: Any, what: str, proc: subprocess.Popen[str] | None = None, timeout: float = 120
) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        if proc is not None and proc.poll() is not None:
            pytest.fail(
                f"the importer ended ({proc.returncode}) before {what}:\n{proc.stderr.read()[-4000:]}"
            )  # type: ignore[union-attr]
        time.sleep(0.01)
    pytest.fail(f"timed out waiting until {what}")


# --- 1. killed mid-import, sent again --------------------------------------------------------------


def test_an_import_killed_mid_way_keeps_nothing_and_the_file_sent_again_gives_one_clean_import(
    city: City,
) -> None:
    a, b = city.clone("a"), city.clone("b")
    bank = city.files / "bank.csv"
    before = state(a)
    with _connect(a) as conn:
        jobs_before = conn.execute("SELECT COUNT(*), COALESCE(MAX(id), 0) FROM core_job").fetchone()
        (payments_before,) = conn.execute("SELECT COUNT(*) FROM receipts_payment").fetchone()  # the seed's

    # The importer is stopped at a known point deep inside its transaction: this session holds a SHARE
    # lock on the ledger's entries, so the importer's INSERT INTO levies_ledgerentry waits — after it
    # has taken the advisory lock, created its job row, staged and decided every record and inserted
    # the ledger transactions (all uncommitted). Without the gate the window is a few hundred ms.
    gate = _connect(a, autocommit=False)
    gate.execute("LOCK TABLE levies_ledgerentry IN SHARE MODE")
    proc = _start_import(city, a, bank)
    try:
        with _connect(a) as admin:  # (pg_locks names relations by oid: they are looked up in a's pg_class)

            def waiting() -> Any:
                return admin.execute(
                    """SELECT pid, query FROM pg_stat_activity
                       WHERE datname = %s AND pid <> %s AND wait_event_type = 'Lock'
                         AND query LIKE 'INSERT INTO levies_ledgerentry%%'""",
                    [a.rsplit("/", 1)[1], gate.info.backend_pid],
                ).fetchone()

            backend, query = _wait_until(waiting, "it writes the ledger entries", proc)
            held = admin.execute(
                """SELECT l.locktype, COALESCE(c.relname, ''), l.mode FROM pg_locks l
                   LEFT JOIN pg_class c ON c.oid = l.relation WHERE l.pid = %s AND l.granted""",
                [backend],
            ).fetchall()
            tables = {rel for kind, rel, mode in held if kind == "relation" and mode == "RowExclusiveLock"}
            # Mid-way, provably: the advisory lock of the channel is held; the job row and the ledger
            # transactions have been inserted and the engine's temporary tables are in use.
            assert any(kind == "advisory" for kind, _, _ in held), held
            assert {"core_job", "levies_ledgertransaction"} <= tables, held
            # The engine's temporary tables (choshu_pay_stage, …) were created in the transaction: their
            # pg_class rows are not visible to this session, only the locks on their oids.
            staged = sum(kind == "relation" and rel == "" for kind, rel, _ in held)
            assert staged >= 3, held

            print(f"killed in {query[:40]!r}; RowExclusiveLock on {sorted(tables)}; {staged} new relations")
            os.kill(proc.pid, signal.SIGKILL)
            proc.communicate(timeout=60)
            assert proc.returncode == -signal.SIGKILL
            gate.rollback()  # the backend's INSERT runs, then it finds its client gone and rolls back
            _wait_until(
                lambda: (
                    not admin.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", [backend]).fetchone()
                ),
                "the killed importer's backend has gone",
            )
    finally:
        gate.close()
        if proc.poll() is None:
            proc.kill()
            proc.communicate()

    # Nothing was kept: no payment, no ledger row, no installment cache changed — and no job row either:
    # ``job_start`` runs inside the import's transaction, so a killed run leaves no ``running`` job behind
    # (nothing stale that a later run could trip on; ``file_already_imported`` looks only at succeeded
    # jobs anyway). Only the sequences moved on (ids drawn are not given back).
    _assert_same(state(a), before, "after the kill")
    with _connect(a) as conn:
        assert conn.execute("SELECT COUNT(*), COALESCE(MAX(id), 0) FROM core_job").fetchone() == jobs_before
        assert conn.execute("SELECT COUNT(*) FROM receipts_payment").fetchone() == (payments_before,)

    again = _import(city, a, bank)  # the same file sent again, to completion
    clean = _import(city, b, bank)  # one clean import on a clone of the same city
    assert again == clean
    assert again["records"] == city.records and again["already_imported"] == 0
    assert again["posted"] > 0 and again["overpaid"] > 0 and again["suspense"] > 0
    assert not again["file_already_imported"]
    after_kill, after_clean = state(a), state(b)
    _assert_same(after_kill, after_clean, "the file sent again after a kill vs one clean import")
    assert len(after_kill["payments"]) == payments_before + city.records
    assert after_kill["installments"] != before["installments"]
    assert _verify(city, a)["ok"] is True


# --- 2. two imports of one channel at once ---------------------------------------------------------


def _gate_channel(url: str) -> Any:
    """A session holding the import lock of (the city, bank), so that importers started now queue
    behind it and are let go together."""
    gate = _connect(url, autocommit=False)
    (m,) = gate.execute("SELECT id FROM core_municipality WHERE code = %s", [CITY]).fetchone()
    gate.execute("SELECT pg_advisory_xact_lock(%s)", [zlib.crc32(f"payments:{m}:bank".encode())])  # as _lock
    return gate


def _both_queued(url: str, gate: Any, procs: list[subprocess.Popen[str]]) -> None:
    with _admin() as admin:

        def queued() -> bool:
            row = admin.execute(
                """SELECT COUNT(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
                   WHERE a.datname = %s AND l.locktype = 'advisory' AND NOT l.granted""",
                [url.rsplit("/", 1)[1]],
            ).fetchone()
            for proc in procs:
                if proc.poll() is not None:
                    pytest.fail(f"an importer ended ({proc.returncode}) early:\n{proc.stderr.read()[-4000:]}")  # type: ignore[union-attr]
            return bool(row[0] == len(procs))

        _wait_until(queued, "both importers wait for the channel's lock")
    gate.rollback()  # both let go at once: one takes the lock, the other waits for it


def test_two_imports_of_the_same_file_at_once_serialise(city: City) -> None:
    c = city.clone("c")
    bank = city.files / "bank.csv"
    with _connect(c) as conn:
        (payments_before,) = conn.execute("SELECT COUNT(*) FROM receipts_payment").fetchone()  # the seed's
    gate = _gate_channel(c)
    procs = [_start_import(city, c, bank), _start_import(city, c, bank)]
    try:
        _both_queued(c, gate, procs)
        first, second = sorted((_summary(p) for p in procs), key=lambda s: -s["posted"])
    finally:
        gate.close()
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.communicate()
    assert first["records"] == second["records"] == city.records
    assert first["already_imported"] == 0 and first["posted"] > 0 and first["suspense"] > 0
    # The second found every record already imported and posted nothing (both had looked for the file
    # before taking the lock, so neither was told the file was imported before).
    assert second["already_imported"] == city.records
    assert {k: v for k, v in second.items() if k not in ("records", "already_imported")} == {
        k: 0 if isinstance(v, int) and not isinstance(v, bool) else v
        for k, v in first.items()
        if k not in ("records", "already_imported")
    }
    with _connect(c) as conn:
        assert conn.execute("SELECT COUNT(*) FROM receipts_payment").fetchone() == (
            payments_before + city.records,
        )
        assert (
            conn.execute(
                "SELECT COUNT(*), COUNT(DISTINCT txn_id) FROM receipts_payment WHERE txn_id IS NOT NULL"
            ).fetchone()
            == conn.execute(
                "SELECT COUNT(*), COUNT(*) FROM levies_ledgertransaction WHERE kind = 'payment'"
            ).fetchone()
        )
    verify = _verify(city, c)
    assert verify["ok"] is True, verify


def test_two_different_files_at_once_post_both_as_one_after_the_other(city: City) -> None:
    d, e = city.clone("d"), city.clone("e")
    files = [city.files / "bank_a.csv", city.files / "bank_b.csv"]
    gate = _gate_channel(d)
    procs = [_start_import(city, d, path) for path in files]
    try:
        _both_queued(d, gate, procs)
        together = [_summary(p) for p in procs]
    finally:
        gate.close()
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.communicate()
    one_after_the_other = [_import(city, e, path) for path in files]
    assert together == one_after_the_other
    assert sum(s["records"] for s in together) == city.records
    assert all(s["already_imported"] == 0 and s["posted"] > 0 for s in together)
    _assert_same(state(d), state(e), "two files at once vs one after the other")
    assert _verify(city, d)["ok"] is True
