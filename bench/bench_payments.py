"""Benchmark: importing 1,000,000 payment records against a seeded city (issues: receipts, 11).

Steps (all in one run, on the same machine and database):
1. seed a city with about ``--installments`` installments (≈17.5 per taxpayer; the count is reported);
2. write ``--payments`` bank (領収済通知) and conveni (確報) records paying those installments;
3. time ``choshu import-payments`` for each file (peak RSS of the importer reported, and the phases it
   logs: one ``import phases {…}`` line per import), then the bank file again (a file sent twice:
   nothing changes; ``reimport_ratio`` = that second import ÷ the first);
4. time the raw baseline: ``COPY`` of the same records into a bare table plus one
   ``UPDATE … FROM`` join onto a bare installments table (PostgreSQL only), and the same with a unique
   natural-key index (the keyed baseline);
5. time the floors, one per candidate ledger shape, each on a fresh clone of the seeded city: the rows
   that shape requires per record, written in SQL alone from the same COPY, with no parsing or checks —
   what no importer keeping these rows can go below (``floor_shared``: today's shape, one transaction
   per 領収日 × 日計日; ``floor_signed``: one transaction and two signed entries per payment;
   ``floor_posting``: one transaction and one posting per payment);
6. report the ratios and the targets (issue 11): import ≤ 3.0× the raw baseline, importer peak
   RSS ≤ 300 MB (for 1M records), the bank file sent again ≤ 0.5× its first import.

Usage: python bench/bench_payments.py [--db postgresql|sqlite] [--payments N] [--installments N]
       [--pg-url URL] [--out FILE] [--reseed]
The PostgreSQL databases are named after ``--pg-url``'s (default ``choshu_bench_pay``, or
``$CHOSHU_BENCH_PG_URL``): the clone imported into, ``<name>_open_<taxpayers>`` (the seeded template,
kept between runs) and ``<name>_floor`` (each floor's clone, dropped after use). Two runs at once
must use different names: each drops the other's databases.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CHOSHU = str(Path(sys.executable).parent / "choshu")
PG_URL = os.environ.get("CHOSHU_BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432/choshu_bench_pay")

# Issue 11's targets.
TARGET_RATIO = 3.0  # import ÷ raw baseline
TARGET_RSS_MB = 300.0  # importer peak RSS, for 1M records
TARGET_REIMPORT = 0.5  # the bank file sent again ÷ its first import
PHASES_MARK = "import phases"


def admin_url(url: str) -> str:
    return url.rsplit("/", 1)[0] + "/postgres"


def db_name(url: str) -> str:
    return url.rsplit("/", 1)[1]


def sh(args: list[str], env: dict[str, str]) -> tuple[float, str]:
    run = sh_rss(args, env)
    return run.seconds, run.out


@dataclass
class Run:
    """One command run: wall seconds, stdout (the importer's phase log lines from stderr appended as
    ``# …`` lines before it), its own peak RSS in MB (os.wait4), and the phases it logged as
    ``import phases {json}`` (one object per line, in order)."""

    seconds: float
    out: str
    rss_mb: float
    phases: list[dict[str, object]] = field(default_factory=list)


def phase_lines(stderr: str) -> tuple[list[str], list[dict[str, object]]]:
    """The importer's phase log: every ``… import phases {"read_stage": 5.1, …}`` line parsed (phase
    name → seconds), and the older ``fast lane: …`` / ``… read and staged …`` lines kept as text."""
    lines: list[str] = []
    parsed: list[dict[str, object]] = []
    for line in stderr.splitlines():
        if PHASES_MARK in line:
            lines.append("# " + line)
            text = line.split(PHASES_MARK, 1)[1]
            try:
                obj, _ = json.JSONDecoder().raw_decode(text[text.index("{") :])
            except ValueError:
                obj = None
            parsed.append(obj if isinstance(obj, dict) else {"unparsed": text.strip()})
        elif "fast lane:" in line or "read and staged" in line:
            lines.append("# " + line.split(" ", 1)[-1])
    return lines, parsed


def merged_phases(parsed: list[dict[str, object]]) -> dict[str, object] | None:
    """One import's phases: its one ``import phases`` object (None if it logged none); should it log
    several, their seconds are added phase by phase (a phase that is not a number is kept last seen)."""
    if not parsed:
        return None
    total: dict[str, object] = {}
    for obj in parsed:
        for key, value in obj.items():
            before = total.get(key)
            if isinstance(value, int | float) and isinstance(before, int | float):
                total[key] = round(before + value, 3)
            else:
                total[key] = value
    return total


def sh_rss(args: list[str], env: dict[str, str]) -> Run:
    """Run a command (see ``Run``); a failure raises with the end of its stderr."""
    started = time.monotonic()
    with tempfile.TemporaryFile() as out_fh, tempfile.TemporaryFile() as err_fh:
        proc = subprocess.Popen(args, env=env, stdout=out_fh, stderr=err_fh)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.monotonic() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out_fh.seek(0)
        err_fh.seek(0)
        stderr = err_fh.read().decode(errors="replace")
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(args)} failed ({proc.returncode}): {stderr[-2000:]}")
        lines, parsed = phase_lines(stderr)
        return Run(seconds, "\n".join([*lines, out_fh.read().decode()]), usage.ru_maxrss / 1024, parsed)


def write_files(env: dict[str, str], folder: Path, n: int) -> tuple[Path, Path]:
    """Bank and conveni files paying ``n`` installments in total (half each), written by a child Django."""
    code = f"""
import datetime, os, random, django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "choshu.config.settings")
django.setup()
from choshu.core.models import Municipality
from choshu.levies.models import Installment
from choshu.formats.slipcodes import slip_codes
from choshu.receipts.slips import confirmation_no
m = Municipality.objects.get(code="112038")
rng = random.Random(7)
n = {n}
bank = open({str(folder / "bank.csv")!r}, "w", encoding="utf-8", newline="")
conv = open({str(folder / "conveni.csv")!r}, "w", encoding="cp932", newline="")
bank.write("ocr_lower,amount,paid_on,bank_code,branch_code,booked_on\\r\\n")
conv.write("種別,収納日,収納時刻,バーコード情報,ユーザー使用欄1,ユーザー使用欄2,印紙フラグ,金額,コンビニ本部コード,コンビニ名,コンビニ店舗コード,振込日,データ作成日\\r\\n")
qs = Installment.objects.filter(municipality=m).select_related("levy").order_by("id").iterator(chunk_size=20000)
written = 0
from choshu.rules.check_digits import make_slip_no
for i, inst in enumerate(qs):
    if written >= n:
        break
    # Per 100 records: 1 overpayment, 1 unknown slip (suspense), 1 part payment, 2 paid 40 days late;
    # the rest pay their slip's amount on time.
    kind = i % 100
    amount = max(1, inst.principal_outstanding)
    slip_no = inst.slip_no
    due = inst.due_date
    if kind == 0:
        amount += 500
    elif kind == 1:
        slip_no = make_slip_no(f"8{{i:014d}}")
    elif kind == 2:
        amount = max(1, amount // 2)
    elif kind in (3, 4):
        due = due + datetime.timedelta(days=40)
    amount = min(amount, 999999)
    conf = confirmation_no(m.code, slip_no)
    codes = slip_codes(slip_no=slip_no, confirmation_no=conf, amount=amount, pay_by=None,
                       tax_item=inst.levy.tax_item, company_code=m.conveni_company_code,
                       client_code=m.conveni_client_code, agency_no=m.eltax_agency_no)
    paid = due.isoformat()
    if written % 2 == 0:
        bank.write(f"{{codes.ocr_lower}},{{amount}},{{paid}},0001,{{i % 900 + 100:03d}},{{paid}}\\r\\n")
    else:
        d = due.strftime("%Y%m%d")
        bc = codes.barcode
        conv.write(f"02,{{d}},{{i % 24:02d}}{{i % 60:02d}},EAN{{bc}},,,0,{{amount}},010,セブンイレブン,{{i:07d}},{{d}},{{d}}\\r\\n")
    written += 1
bank.close(); conv.close()
print(written)
"""
    subprocess.run([sys.executable, "-c", code], env=env, check=True)
    return folder / "bank.csv", folder / "conveni.csv"


def baseline_pg(bank: Path, conveni: Path, url: str, *, keyed: bool = False) -> tuple[float, int]:
    """Raw COPY of the same records into bare tables + one UPDATE … FROM join (the floor to beat).

    ``keyed``: the same with one unique index on each file's natural key — the least any importer
    that recognises a file imported twice must maintain (reported as ``keyed_baseline_seconds``).
    Returns the seconds and the number of installments the join updated (every record whose slip
    exists: a join that matched nothing would make the baseline too cheap).
    """
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS bare_bank, bare_conveni, bare_installments")
        conn.execute(
            "CREATE TABLE bare_installments AS SELECT id, slip_no, principal_paid FROM levies_installment"
        )
        conn.execute("CREATE UNIQUE INDEX ON bare_installments (slip_no)")
        conn.execute("ANALYZE bare_installments")
        started = time.monotonic()
        with conn.transaction():
            conn.execute(
                "CREATE TABLE bare_bank (ocr_lower text, amount bigint, paid_on date, bank_code text, "
                "branch_code text, booked_on date)"
            )
            conn.execute(
                "CREATE TABLE bare_conveni (kind text, paid text, tm text, barcode text, u1 text, u2 text, "
                "stamp text, amount bigint, chain text, chain_name text, store text, remit text, made text)"
            )
            if keyed:
                conn.execute(
                    "CREATE UNIQUE INDEX ON bare_bank (ocr_lower, amount, paid_on, bank_code, branch_code, booked_on)"
                )
                conn.execute("CREATE UNIQUE INDEX ON bare_conveni (barcode, paid, tm, chain, store, kind)")
            with conn.cursor() as cur:
                with (
                    bank.open("rb") as fh,
                    cur.copy("COPY bare_bank FROM STDIN WITH (FORMAT csv, HEADER true)") as cp,
                ):
                    while data := fh.read(1 << 20):
                        cp.write(data)
                with (
                    conveni.open("rb") as fh,
                    cur.copy(
                        "COPY bare_conveni FROM STDIN WITH (FORMAT csv, HEADER true, ENCODING 'SJIS')"
                    ) as cp,
                ):
                    while data := fh.read(1 << 20):
                        cp.write(data)
                # The slip number's place: OCR lower line digits 14–29 (2 check digits, 予算区分,
                # 科目ID, 収納区分, "00"); barcode digits 14–29 after the "EAN" prefix (AI 91,
                # company code, client code). formats/slipcodes.py.
                cur.execute(
                    "UPDATE bare_installments i SET principal_paid = i.principal_paid + b.amount "
                    "FROM bare_bank b WHERE i.slip_no = substring(b.ocr_lower from 14 for 16)"
                )
                updated = cur.rowcount
                cur.execute(
                    "UPDATE bare_installments i SET principal_paid = i.principal_paid + c.amount "
                    "FROM bare_conveni c WHERE i.slip_no = substring(c.barcode from 17 for 16)"
                )
                updated += cur.rowcount
        seconds = time.monotonic() - started
        conn.execute("DROP TABLE IF EXISTS bare_bank, bare_conveni, bare_installments")
    return seconds, updated


FLOOR_SHAPES = ("shared", "signed", "posting")
# The shape whose floor is reported as ``floor_seconds`` (issue 11: one business event, one transaction).
CHOSEN_FLOOR = "signed"

# The posting model's table, as that shape would need it (created on the floor's clone before the clock
# starts): one row moves ``amount`` (> 0) from ``credit_account`` to ``debit_account``; accounts and
# components are typed codes. Indexes analogous to levies_ledgerentry's: the primary key, the
# installment's receivable (partial: postings naming no installment are never looked up by it), the
# transaction, the taxpayer.
POSTING_DDL = (
    """CREATE TABLE bench_posting (
           id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
           municipality_id integer NOT NULL,
           txn_id bigint NOT NULL,
           debit_account smallint NOT NULL,
           credit_account smallint NOT NULL,
           component smallint NOT NULL,
           installment_id bigint NULL,
           taxpayer_id bigint NULL,
           payment_id bigint NULL,
           amount bigint NOT NULL)""",
    """CREATE INDEX bench_posting_installment_idx
           ON bench_posting (installment_id, credit_account, debit_account, component)
           WHERE installment_id IS NOT NULL""",
    "CREATE INDEX bench_posting_txn_idx ON bench_posting (txn_id)",
    "CREATE INDEX bench_posting_taxpayer_idx ON bench_posting (taxpayer_id)",
)
# Typed account and component codes (levies.models.Account and Component).
ACCOUNT_CODES = {
    "cash": 1,
    "receivable": 2,
    "levied": 3,
    "overpayment": 4,
    "suspense": 5,
    "write_off": 6,
    "late_charge_income": 7,
}
COMPONENT_CODES = {"": 0, "principal": 1, "late_charge": 2, "dunning_fee": 3, "enforcement_cost": 4}
POSTING_CASH, POSTING_RECEIVABLE, POSTING_PRINCIPAL = ACCOUNT_CODES["cash"], ACCOUNT_CODES["receivable"], 1


def _case(column: str, codes: dict[str, int]) -> str:
    return f"CASE {column} " + " ".join(f"WHEN '{k}' THEN {v}" for k, v in codes.items()) + " END"


# The city's history in the posting shape, so that its table and indexes start as large as the real
# entries' do (the seeded levies): one posting per entry naming an installment, its counter account the
# levy's (``levied``) for a debit and cash for a credit. Written before the clock starts.
POSTING_HISTORY = f"""
    INSERT INTO bench_posting (municipality_id, txn_id, debit_account, credit_account, component,
                               installment_id, taxpayer_id, payment_id, amount)
    SELECT municipality_id, txn_id,
           CASE WHEN amount > 0 THEN a ELSE {ACCOUNT_CODES["cash"]} END,
           CASE WHEN amount > 0 THEN {ACCOUNT_CODES["levied"]} ELSE a END,
           c, installment_id, taxpayer_id, payment_id, abs(amount)
    FROM (SELECT e.*, {_case("e.account", ACCOUNT_CODES)} AS a, {_case("e.component", COMPONENT_CODES)} AS c
          FROM levies_ledgerentry e WHERE e.installment_id IS NOT NULL ORDER BY e.id) h"""


@dataclass
class Floor:
    """One floor: its seconds and phases, the payments it wrote (``posted``), the installments its cache
    update paid, its transactions and ledger rows (entries or postings), and — checked on the clone
    after the clock stops — its transactions that do not sum to zero and those shared by two payments."""

    shape: str
    seconds: float
    posted: int
    installments: int
    transactions: int
    ledger_rows: int
    unbalanced: int
    shared_txns: int
    phases: dict[str, float]
    history_rows: int = 0  # posting: the city's history copied into bench_posting before the clock


def floor_pg(
    bank: Path, conveni: Path, template: str, url: str, shape: str, drop: tuple[str, ...] = ()
) -> Floor:
    """The writes one ledger shape requires, alone: the same records posted in SQL only.

    On a fresh copy of the seeded city: ``COPY`` of both files into temporary tables (as the baseline),
    then, set-based, what that shape writes for a record that pays its slip, every index of the tables
    maintained, and the installments' cached amounts (``UPDATE … FROM``):

    - ``shared`` (today's fast lane): one ledger transaction per 領収日 × 日計日 with ONE cash entry for
      the group's total, one receivable entry and one payment row per record;
    - ``signed``: per record one transaction, two entries (cash +A; receivable principal −A naming the
      installment, taxpayer and payment) and one payment row;
    - ``posting``: per record one transaction, one posting (cash ← receivable principal, naming the
      installment, taxpayer and payment) in ``bench_posting`` (``POSTING_DDL``) and one payment row;
      before the clock starts, the city's history is copied into it (``POSTING_HISTORY``), so that it
      starts as large as the real entries table.

    No parsing, no validation, no check digit, no 確認番号, no duplicate or already-imported check, no
    Python lane: a floor under any importer that keeps these rows, not a design.
    ``drop``: indexes to drop first, to measure what maintaining them costs (not used by ``main``).
    """
    import psycopg

    assert shape in FLOOR_SHAPES, shape
    history_rows = 0
    admin = admin_url(url)
    name = f"{db_name(url)}_floor"
    floor_db = url.rsplit("/", 1)[0] + "/" + name
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name} TEMPLATE {template} STRATEGY FILE_COPY")
    try:
        with psycopg.connect(floor_db, autocommit=True) as conn:
            for index in drop:
                conn.execute(f"DROP INDEX {index}")
            if shape == "posting":
                for ddl in POSTING_DDL:
                    conn.execute(ddl)
                history_rows = conn.execute(POSTING_HISTORY).rowcount
                conn.execute("VACUUM ANALYZE bench_posting")
            conn.execute("CHECKPOINT")
            (m,) = conn.execute("SELECT id FROM core_municipality WHERE code = '112038'").fetchone() or (0,)
            (first_txn,) = conn.execute(
                "SELECT COALESCE(MAX(id), 0) FROM levies_ledgertransaction"
            ).fetchone() or (0,)
            # Sequence names resolved once, as the fast lane does (per row it costs ~5 s per 1M ids).
            seq = {
                table: conn.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table]).fetchone()[0]  # type: ignore[index]
                for table in ("receipts_payment", "levies_ledgertransaction")
            }
            # One transaction per payment: its id drawn with the payment's, in the same order.
            txn_id = (
                ""
                if shape == "shared"
                else f", nextval('{seq['levies_ledgertransaction']}'::regclass) AS txn_id"
            )
            started = time.monotonic()
            phases: dict[str, float] = {}
            with conn.transaction(), conn.cursor() as cur:
                mark = time.monotonic()

                def lap(label: str) -> None:
                    nonlocal mark
                    phases[label] = round(time.monotonic() - mark, 2)
                    mark = time.monotonic()

                cur.execute(
                    "CREATE TEMP TABLE bare_bank (ocr_lower text, amount bigint, paid_on date, bank_code text, "
                    "branch_code text, booked_on date)"
                )
                cur.execute(
                    "CREATE TEMP TABLE bare_conveni (kind text, paid text, tm text, barcode text, u1 text, "
                    "u2 text, stamp text, amount bigint, chain text, chain_name text, store text, remit text, "
                    "made text)"
                )
                for table, path, options in (
                    ("bare_bank", bank, "FORMAT csv, HEADER true"),
                    ("bare_conveni", conveni, "FORMAT csv, HEADER true, ENCODING 'SJIS'"),
                ):
                    with path.open("rb") as fh, cur.copy(f"COPY {table} FROM STDIN WITH ({options})") as cp:
                        while data := fh.read(1 << 20):
                            cp.write(data)
                lap("copy")
                cur.execute(
                    f"""CREATE TEMP TABLE fl AS
                        SELECT nextval('{seq["receipts_payment"]}'::regclass) AS payment_id{txn_id}, q.*
                        FROM (SELECT r.*, i.id AS installment_id, i.taxpayer_id FROM (
                                SELECT 'bank' AS channel, 'bank:' || ocr_lower || ':' || paid_on || ':' || branch_code
                                       AS reference, substring(ocr_lower from 14 for 16) AS slip_no,
                                       substring(ocr_lower from 30 for 4) AS conf, amount, paid_on,
                                       booked_on AS booking,
                                       jsonb_build_object('bank_code', bank_code, 'branch_code', branch_code)
                                       AS detail
                                FROM bare_bank
                                UNION ALL
                                SELECT 'conveni', paid || '|' || barcode || '|' || tm || '|' || chain || '|' || store,
                                       substring(barcode from 17 for 16), '', amount, to_date(paid, 'YYYYMMDD'),
                                       to_date(remit, 'YYYYMMDD'),
                                       jsonb_build_object('chain', chain, 'store', store, 'time', tm)
                                FROM bare_conveni) r
                              JOIN levies_installment i ON i.municipality_id = {m} AND i.slip_no = r.slip_no
                              ORDER BY i.taxpayer_id, i.id) q"""
                )
                lap("join")
                if shape == "shared":
                    transactions, ledger_rows, posted = _write_shared(cur, m, seq, lap)
                else:
                    transactions, ledger_rows, posted = _write_per_payment(cur, m, shape, lap)
                cur.execute(
                    """UPDATE levies_installment SET principal_paid = principal_paid + f.amount,
                              principal_outstanding = principal_outstanding - f.amount
                       FROM fl f WHERE levies_installment.id = f.installment_id"""
                )
                installments = cur.rowcount
                lap("installments")
            seconds = time.monotonic() - started
            unbalanced, shared_txns = _check_floor(conn, shape, first_txn)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    phases["commit"] = round(seconds - sum(phases.values()), 2)
    return Floor(
        shape,
        seconds,
        posted,
        installments,
        transactions,
        ledger_rows,
        unbalanced,
        shared_txns,
        phases,
        history_rows,
    )


def _write_shared(cur: Any, m: int, seq: dict[str, str], lap: Callable[[str], None]) -> tuple[int, int, int]:
    """Today's shape: a transaction and a cash entry per 領収日 × 日計日, a receivable entry and a payment
    per record. Returns the transactions, entries and payments written."""
    cur.execute(
        f"""CREATE TEMP TABLE fg AS
           SELECT nextval('{seq["levies_ledgertransaction"]}'::regclass) AS txn_id, g.*
           FROM (SELECT channel, paid_on, booking, COUNT(*) AS n, SUM(amount) AS amount FROM fl
                 GROUP BY channel, paid_on, booking ORDER BY channel, paid_on, booking) g"""
    )
    lap("groups")
    cur.execute(
        f"""INSERT INTO levies_ledgertransaction (id, municipality_id, kind, legal_date, booking_date,
                recorded_at, actor_id, job_id, reverses_id, memo)
            SELECT txn_id, {m}, 'payment', paid_on, booking, now(), NULL, NULL, NULL,
                   channel || ' ' || n || '件'
            FROM fg ORDER BY txn_id"""
    )
    transactions = cur.rowcount
    lap("transactions")
    cur.execute(
        f"""INSERT INTO levies_ledgerentry (municipality_id, txn_id, account, component, installment_id,
                taxpayer_id, amount, payment_id)
            SELECT {m}, txn_id, 'cash', '', NULL, NULL, amount, NULL FROM fg
            UNION ALL
            SELECT * FROM (SELECT {m}, g.txn_id, 'receivable', 'principal', f.installment_id,
                                  f.taxpayer_id, -f.amount, f.payment_id
                           FROM fl f JOIN fg g USING (channel, paid_on, booking)
                           ORDER BY f.payment_id) r"""
    )
    entries = cur.rowcount
    lap("entries")
    cur.execute(
        f"""INSERT INTO receipts_payment (id, municipality_id, channel, reference, status, taxpayer_id,
                amount, paid_on, booked_on, slip_no, confirmation_no, allocated, overpaid,
                suspended, detail, txn_id, reversal_txn_id, job_id, created_at)
            SELECT f.payment_id, {m}, f.channel, f.reference, 'posted', f.taxpayer_id, f.amount,
                   f.paid_on, f.booking, f.slip_no, f.conf, f.amount, 0, 0, f.detail, g.txn_id,
                   NULL, NULL, now()
            FROM fl f JOIN fg g USING (channel, paid_on, booking) ORDER BY f.payment_id"""
    )
    posted = cur.rowcount
    lap("payments")
    return transactions, entries, posted


def _write_per_payment(cur: Any, m: int, shape: str, lap: Callable[[str], None]) -> tuple[int, int, int]:
    """One transaction per payment, with two signed entries (``signed``) or one posting (``posting``).

    ``fl`` is written in the order its ids were drawn and a fresh temporary table is read back in that
    order (no synchronised scan on local buffers), so the rows go in by ascending id with no sort.
    Returns the transactions, ledger rows and payments written."""
    cur.execute(
        f"""INSERT INTO levies_ledgertransaction (id, municipality_id, kind, legal_date, booking_date,
                recorded_at, actor_id, job_id, reverses_id, memo)
            SELECT txn_id, {m}, 'payment', paid_on, booking, now(), NULL, NULL, NULL, '' FROM fl"""
    )
    transactions = cur.rowcount
    lap("transactions")
    if shape == "signed":
        cur.execute(
            f"""INSERT INTO levies_ledgerentry (municipality_id, txn_id, account, component, installment_id,
                    taxpayer_id, amount, payment_id)
                SELECT {m}, f.txn_id, e.account, e.component, e.installment_id, e.taxpayer_id, e.amount,
                       e.payment_id
                FROM fl f CROSS JOIN LATERAL (VALUES
                    ('cash', '', NULL::bigint, NULL::bigint, f.amount, NULL::bigint),
                    ('receivable', 'principal', f.installment_id, f.taxpayer_id, -f.amount, f.payment_id))
                    AS e(account, component, installment_id, taxpayer_id, amount, payment_id)"""
        )
        lap("entries")
    else:
        cur.execute(
            f"""INSERT INTO bench_posting (municipality_id, txn_id, debit_account, credit_account, component,
                    installment_id, taxpayer_id, payment_id, amount)
                SELECT {m}, txn_id, {POSTING_CASH}, {POSTING_RECEIVABLE}, {POSTING_PRINCIPAL},
                       installment_id, taxpayer_id, payment_id, amount
                FROM fl"""
        )
        lap("postings")
    ledger_rows = cur.rowcount
    cur.execute(
        f"""INSERT INTO receipts_payment (id, municipality_id, channel, reference, status, taxpayer_id,
                amount, paid_on, booked_on, slip_no, confirmation_no, allocated, overpaid,
                suspended, detail, txn_id, reversal_txn_id, job_id, created_at)
            SELECT payment_id, {m}, channel, reference, 'posted', taxpayer_id, amount, paid_on, booking,
                   slip_no, conf, amount, 0, 0, detail, txn_id, NULL, NULL, now()
            FROM fl"""
    )
    posted = cur.rowcount
    lap("payments")
    return transactions, ledger_rows, posted


def _check_floor(conn: Any, shape: str, first_txn: int) -> tuple[int, int]:
    """After the clock: the floor's transactions whose entries do not sum to zero (a posting balances
    by construction) and those that carry more than one payment (today's shape does by design)."""
    if shape == "posting":
        unbalanced = 0
    else:
        row = conn.execute(
            """SELECT COUNT(*) FROM (SELECT txn_id FROM levies_ledgerentry WHERE txn_id > %s
                                     GROUP BY txn_id HAVING SUM(amount) <> 0) u""",
            [first_txn],
        ).fetchone()
        unbalanced = int(row[0])
    row = conn.execute(
        """SELECT COUNT(*) FROM (SELECT txn_id FROM receipts_payment WHERE txn_id > %s
                                 GROUP BY txn_id HAVING COUNT(*) > 1) s""",
        [first_txn],
    ).fetchone()
    return unbalanced, int(row[0])


def pg_seeded_copy(
    env: dict[str, str], seed_args: list[str], taxpayers: int, url: str, *, reseed: bool
) -> tuple[float, int, str]:
    """A fresh copy of a seeded city: seeded once into a template database (kept between runs, keyed by
    the number of taxpayers), migrated to the current schema, then cloned with CREATE DATABASE … TEMPLATE."""
    import psycopg

    admin = admin_url(url)
    name = db_name(url)
    template = f"{name}_open_{taxpayers}"
    seed_s = 0.0
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [template]).fetchone()
        if reseed and exists:
            conn.execute(f"DROP DATABASE {template} WITH (FORCE)")
            exists = None
        if not exists:
            conn.execute(f"CREATE DATABASE {template}")
    template_env = {**env, "CHOSHU_DATABASE_URL": url.rsplit("/", 1)[0] + "/" + template}
    sh([CHOSHU, "migrate", "-v0"], template_env)
    if not exists:
        seed_s, _ = sh(seed_args, template_env)
    with psycopg.connect(template_env["CHOSHU_DATABASE_URL"], autocommit=True) as conn:
        # An existing city upgraded to the installments' fillfactor needs its table rewritten once.
        conn.execute("VACUUM FULL ANALYZE levies_installment")
        conn.execute("VACUUM ANALYZE")
        conn.execute("CHECKPOINT")
        row = conn.execute("SELECT COUNT(*) FROM levies_installment").fetchone()
        installments = int(row[0]) if row else 0
    with psycopg.connect(admin, autocommit=True) as conn:
        # FILE_COPY: the default strategy (WAL_LOG) writes the whole copy to the WAL, whose checkpoints
        # would then run during the first timed import.
        conn.execute(f"CREATE DATABASE {name} TEMPLATE {template} STRATEGY FILE_COPY")
    return seed_s, installments, template


def checkpoint(url: str) -> None:
    """Every timed phase on PostgreSQL starts after a checkpoint, so that none pays for the WAL of the
    phase before it (the imports, the baselines and the floors alike)."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CHECKPOINT")


def targets(results: dict[str, object]) -> list[str]:
    """Issue 11's targets, met or not, as printed at the end (and kept in ``results["targets"]``)."""
    checks: dict[str, dict[str, object]] = {}
    lines: list[str] = []

    def check(key: str, label: str, value: float | None, limit: float, unit: str, note: str = "") -> None:
        met = None if value is None else value <= limit
        checks[key] = {"limit": limit, "value": value, "met": met}
        shown = "n/a" if value is None else f"{value:.1f}{unit}" if unit == " MB" else f"{value:.2f}{unit}"
        verdict = {None: "not measured", True: "met", False: "MISSED"}[met]
        lines.append(f"target: {label}: {shown} — {verdict}{note}")

    floors = ", ".join(
        f"floor_{shape} {results[f'floor_{shape}_ratio']}×"
        for shape in FLOOR_SHAPES
        if f"floor_{shape}_ratio" in results
    )
    ratio = results.get("ratio")
    check(
        "import_ratio",
        f"import ≤ {TARGET_RATIO}× the raw baseline",
        float(ratio) if isinstance(ratio, int | float) else None,
        TARGET_RATIO,
        "×",
        f" ({floors})" if floors else " (the baselines are PostgreSQL only)",
    )
    payments = results["payments"]
    rss = results.get("importer_peak_rss_mb")
    check(
        "peak_rss",
        f"importer peak RSS ≤ {TARGET_RSS_MB:.0f} MB (for 1M records)",
        float(rss) if isinstance(rss, int | float) else None,
        TARGET_RSS_MB,
        " MB",
        "" if payments == 1_000_000 or rss is None else f" (measured with {payments} records)",
    )
    reimport = results.get("reimport_ratio")
    check(
        "reimport_ratio",
        f"the bank file sent again ≤ {TARGET_REIMPORT}× its first import",
        float(reimport) if isinstance(reimport, int | float) else None,
        TARGET_REIMPORT,
        "×",
    )
    results["targets"] = checks
    return lines


def run_imports(
    env: dict[str, str], bank: Path, conveni: Path, results: dict[str, object], *, pg: bool, url: str
) -> float:
    """Both files imported, then the bank file again; results recorded. Returns the import seconds."""
    import_s = 0.0
    first_bank_s = 0.0
    peak = 0.0
    for channel, path in (("bank", bank), ("conveni", conveni)):
        if pg:
            checkpoint(url)
        run = sh_rss([CHOSHU, "import-payments", "--channel", channel, str(path), "--json"], env)
        summary = json.loads(run.out.strip().splitlines()[-1])
        results[f"import_{channel}_phases"] = [
            line[2:] for line in run.out.splitlines() if line.startswith("# ")
        ]
        results[f"phases_{channel}"] = merged_phases(run.phases)
        results[f"import_{channel}_seconds"] = round(run.seconds, 1)
        results[f"import_{channel}_records"] = summary["records"]
        results[f"import_{channel}_posted"] = summary["posted"]
        import_s += run.seconds
        peak = max(peak, run.rss_mb)
        if channel == "bank":
            first_bank_s = run.seconds
    results["import_seconds"] = round(import_s, 1)
    results["importer_peak_rss_mb"] = round(peak, 1)
    # The bank sends the same file again: nothing may change, and it should take at most half the
    # first import (every record is recognised by its reference).
    if pg:
        checkpoint(url)
    run = sh_rss([CHOSHU, "import-payments", "--channel", "bank", str(bank), "--json"], env)
    again = json.loads(run.out.strip().splitlines()[-1])
    assert again["posted"] == 0 and again["already_imported"] == again["records"], again
    results["reimport_bank_seconds"] = round(run.seconds, 1)
    results["reimport_ratio"] = round(run.seconds / first_bank_s, 2)
    results["phases_reimport_bank"] = merged_phases(run.phases)
    results["reimport_peak_rss_mb"] = round(run.rss_mb, 1)
    _, out = sh([CHOSHU, "verify-ledger", "--json"], env)
    results["ledger_ok"] = json.loads(out.strip().splitlines()[-1])["ok"]
    return import_s


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", choices=["postgresql", "sqlite"], default="postgresql")
    parser.add_argument("--payments", type=int, default=1_000_000)
    parser.add_argument("--installments", type=int, default=1_000_000)
    parser.add_argument(
        "--out", type=Path, help="where to write the results (default: bench/out/payments-<db>.json)"
    )
    parser.add_argument(
        "--reseed", action="store_true", help="PostgreSQL: seed the template database again even if it exists"
    )
    parser.add_argument(
        "--pg-url",
        default=PG_URL,
        help="PostgreSQL: the database imported into; the template and the floors' clones are named after "
        "it (default: $CHOSHU_BENCH_PG_URL or %(default)s)",
    )
    parser.add_argument(
        "--floor-rounds",
        type=int,
        default=1,
        help="PostgreSQL: time the floors this many rounds (the shapes' order rotated each round); each "
        "shape reports its fastest round (default: %(default)s)",
    )
    parser.add_argument(
        "--floors-only",
        action="store_true",
        help="PostgreSQL: no import, only the baselines and the floors (to compare the ledger shapes)",
    )
    args = parser.parse_args()
    if args.db != "postgresql" and args.floors_only:
        parser.error("--floors-only: the baselines and the floors are PostgreSQL measurements")
    if args.floor_rounds < 1:
        parser.error("--floor-rounds: at least 1")
    url: str = args.pg_url
    folder = Path(tempfile.mkdtemp(prefix="choshu-paybench-"))
    env = {**os.environ, "CHOSHU_VAR_DIR": str(folder), "CHOSHU_LOG_LEVEL": "INFO"}
    taxpayers = max(100, int(args.installments / 17.5) + 1)
    # Six levy years (2021–2026) with no payment recorded yet: every installment is open, as for a
    # city whose receipts start with this file (a city seeded with its history would have ~12 % open).
    seed_args = [CHOSHU, "seed", "--taxpayers", str(taxpayers), "--seed", "1", "--as-of", "2026-11-26",
                 "--paid-until", "2020-12-31", "--json"]  # fmt: skip
    pg = args.db == "postgresql"
    if pg:
        env["CHOSHU_DATABASE_URL"] = url
        seed_s, installments, template = pg_seeded_copy(env, seed_args, taxpayers, url, reseed=args.reseed)
    else:
        env.pop("CHOSHU_DATABASE_URL", None)
        sh([CHOSHU, "migrate", "-v0"], env)
        seed_s, out = sh(seed_args, env)
        installments = json.loads(out.strip().splitlines()[-1])["installments"]
    bank, conveni = write_files(env, folder, args.payments)
    results: dict[str, object] = {
        "database": args.db,
        "installments": installments,
        "payments": args.payments,
        "seed_seconds": round(seed_s, 1),
    }
    import_s = run_imports(env, bank, conveni, results, pg=pg, url=url) if not args.floors_only else 0.0
    if pg:
        checkpoint(url)
        base, updated = baseline_pg(bank, conveni, url)
        # Every record whose slip exists (all but the unknown slips, 1 in 100 of the conveni file).
        assert updated >= args.payments * 0.99 - 1, f"the baseline's join updated only {updated} installments"
        results["baseline_seconds"] = round(base, 1)
        results["baseline_installments_updated"] = updated
        if import_s:
            results["ratio"] = round(import_s / base, 2)
        checkpoint(url)
        keyed, _ = baseline_pg(bank, conveni, url, keyed=True)
        results["keyed_baseline_seconds"] = round(keyed, 1)
        results["keyed_baseline_ratio"] = round(keyed / base, 2)
        floors: dict[str, Floor] = {}
        rounds: dict[str, list[float]] = {shape: [] for shape in FLOOR_SHAPES}
        for r in range(args.floor_rounds):
            for shape in FLOOR_SHAPES[r % len(FLOOR_SHAPES) :] + FLOOR_SHAPES[: r % len(FLOOR_SHAPES)]:
                floor = floor_pg(bank, conveni, template, url, shape)
                rounds[shape].append(round(floor.seconds, 2))
                if shape not in floors or floor.seconds < floors[shape].seconds:
                    floors[shape] = floor
        for shape in FLOOR_SHAPES:
            floor = floors[shape]
            # Every shape pays every installment whose slip exists, as the baseline's join does, and its
            # transactions balance; only today's shape shares a transaction between payments.
            assert floor.installments == updated, (
                f"floor_{shape} paid {floor.installments} installments, not {updated}"
            )
            assert floor.unbalanced == 0, f"floor_{shape}: {floor.unbalanced} transactions do not sum to zero"
            assert (floor.shared_txns == 0) == (shape != "shared"), (
                f"floor_{shape}: {floor.shared_txns} shared"
            )
            results[f"floor_{shape}_seconds"] = round(floor.seconds, 1)
            results[f"floor_{shape}_ratio"] = round(floor.seconds / base, 2)
            results[f"floor_{shape}_phases"] = floor.phases
            results[f"floor_{shape}_posted"] = floor.posted
            results[f"floor_{shape}_installments_updated"] = floor.installments
            results[f"floor_{shape}_transactions"] = floor.transactions
            results[f"floor_{shape}_ledger_rows"] = floor.ledger_rows
            results[f"floor_{shape}_shared_transactions"] = floor.shared_txns
            if shape == "posting":
                results["floor_posting_history_rows"] = floor.history_rows
            if args.floor_rounds > 1:
                results[f"floor_{shape}_rounds"] = rounds[shape]
            if import_s:
                results[f"import_over_floor_{shape}"] = round(import_s / floor.seconds, 2)
        chosen = floors[CHOSEN_FLOOR]
        results["floor_shape"] = CHOSEN_FLOOR
        results["floor_seconds"] = round(chosen.seconds, 1)
        results["floor_posted"] = chosen.posted
        results["floor_phases"] = chosen.phases
        results["floor_ratio"] = round(chosen.seconds / base, 2)
        if import_s:
            results["import_over_floor"] = round(import_s / chosen.seconds, 2)
    lines = targets(results)
    print(json.dumps(results, ensure_ascii=False))
    target: Path = args.out or ROOT / "bench" / "out" / f"payments-{args.db}.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(results, ensure_ascii=False, indent=2))
    shutil.rmtree(folder)  # the generated files and the run's keys
    for line in lines:
        print(line)


if __name__ == "__main__":
    main()
