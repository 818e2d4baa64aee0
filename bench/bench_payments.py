"""Benchmark: importing 1,000,000 payment records against a seeded city (issue: receipts).

Steps (all in one run, on the same machine and database):
1. seed a city with about ``--installments`` installments (≈17.5 per taxpayer; the count is reported);
2. write ``--payments`` bank (領収済通知) and conveni (確報) records paying those installments;
3. time ``choshu import-payments`` for each file (peak RSS of the importer reported), then the bank
   file again (a file sent twice: nothing changes);
4. time the raw baseline: ``COPY`` of the same records into a bare table plus one
   ``UPDATE … FROM`` join onto a bare installments table (PostgreSQL only);
5. report both times and the ratio (target ≤ 2.0× the raw baseline);
6. time the floor (``floor_pg``): the rows this schema requires per record, written in SQL alone from
   the same COPY, with no parsing or checks — what no importer keeping these rows can go below.

Usage: python bench/bench_payments.py [--db postgresql|sqlite] [--payments N] [--installments N]
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
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHOSHU = str(Path(sys.executable).parent / "choshu")
PG_URL = "postgres://postgres@127.0.0.1:5432/choshu_bench_pay"


def sh(args: list[str], env: dict[str, str]) -> tuple[float, str]:
    seconds, out, _ = sh_rss(args, env)
    return seconds, out


def sh_rss(args: list[str], env: dict[str, str]) -> tuple[float, str, float]:
    """Run a command; wall seconds, stdout (and the importer's phase log lines from stderr, appended
    as ``# …`` lines), and that process's own peak RSS in MB (os.wait4)."""
    started = time.monotonic()
    with tempfile.TemporaryFile() as out_fh, tempfile.TemporaryFile() as err_fh:
        proc = subprocess.Popen(args, env=env, stdout=out_fh, stderr=err_fh)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.monotonic() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out_fh.seek(0)
        err_fh.seek(0)
        if proc.returncode != 0:
            raise RuntimeError(
                f"{' '.join(args)} failed ({proc.returncode}): {err_fh.read().decode()[-2000:]}"
            )
        phases = [
            "# " + line.split(" ", 1)[-1]
            for line in err_fh.read().decode().splitlines()
            if "fast lane:" in line or "read and staged" in line
        ]
        return seconds, "\n".join([*phases, out_fh.read().decode()]), usage.ru_maxrss / 1024


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


def baseline_pg(bank: Path, conveni: Path, *, keyed: bool = False) -> tuple[float, int]:
    """Raw COPY of the same records into bare tables + one UPDATE … FROM join (the floor to beat).

    ``keyed``: the same with one unique index on each file's natural key — the least any importer
    that recognises a file imported twice must maintain (reported as ``keyed_baseline_seconds``).
    Returns the seconds and the number of installments the join updated (every record whose slip
    exists: a join that matched nothing would make the baseline too cheap).
    """
    import psycopg

    with psycopg.connect(PG_URL, autocommit=True) as conn:
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


def floor_pg(
    bank: Path, conveni: Path, template: str, drop: tuple[str, ...] = ()
) -> tuple[float, int, dict[str, float]]:
    """The writes this system's schema requires, alone: the same records posted in SQL only.

    On a fresh copy of the seeded city: ``COPY`` of both files into temporary tables (as the baseline),
    then, set-based, what the fast lane writes for a record that pays its slip — one ledger transaction
    per 領収日 × 日計日 with its cash entry, one receivable entry and one payment row per record (every
    index of the real tables maintained), and the installments' cached amounts. No parsing, no
    validation, no check digit, no 確認番号, no duplicate or already-imported check, no Python lane:
    a floor under any importer that keeps these rows, not a design. Reported as ``floor_seconds``.
    ``drop``: indexes to drop first, to measure what maintaining them costs (not used by ``main``).
    """
    import psycopg

    admin = PG_URL.rsplit("/", 1)[0] + "/postgres"
    floor_db = PG_URL.rsplit("/", 1)[0] + "/choshu_bench_floor"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS choshu_bench_floor WITH (FORCE)")
        conn.execute(f"CREATE DATABASE choshu_bench_floor TEMPLATE {template} STRATEGY FILE_COPY")
    try:
        with psycopg.connect(floor_db, autocommit=True) as conn:
            for index in drop:
                conn.execute(f"DROP INDEX {index}")
            conn.execute("CHECKPOINT")
            (m,) = conn.execute("SELECT id FROM core_municipality WHERE code = '112038'").fetchone() or (0,)
            # Sequence names resolved once, as the fast lane does (per row it costs ~5 s per 1M ids).
            seq = {
                table: conn.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table]).fetchone()[0]  # type: ignore[index]
                for table in ("receipts_payment", "levies_ledgertransaction")
            }
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
                        SELECT nextval('{seq["receipts_payment"]}'::regclass) AS payment_id, q.*
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
                cur.execute(
                    """UPDATE levies_installment SET principal_paid = principal_paid + f.amount,
                              principal_outstanding = principal_outstanding - f.amount
                       FROM fl f WHERE levies_installment.id = f.installment_id"""
                )
                lap("installments")
            seconds = time.monotonic() - started
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute("DROP DATABASE IF EXISTS choshu_bench_floor WITH (FORCE)")
    phases["commit"] = round(seconds - sum(phases.values()), 2)
    return seconds, posted, phases


def pg_seeded_copy(
    env: dict[str, str], seed_args: list[str], taxpayers: int, *, reseed: bool
) -> tuple[float, int, str]:
    """A fresh copy of a seeded city: seeded once into a template database (kept between runs, keyed by
    the number of taxpayers), migrated to the current schema, then cloned with CREATE DATABASE … TEMPLATE."""
    import psycopg

    admin = PG_URL.rsplit("/", 1)[0] + "/postgres"
    template = f"choshu_bench_pay_open_{taxpayers}"
    seed_s = 0.0
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS choshu_bench_pay WITH (FORCE)")
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [template]).fetchone()
        if reseed and exists:
            conn.execute(f"DROP DATABASE {template} WITH (FORCE)")
            exists = None
        if not exists:
            conn.execute(f"CREATE DATABASE {template}")
    template_env = {**env, "CHOSHU_DATABASE_URL": PG_URL.rsplit("/", 1)[0] + "/" + template}
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
        conn.execute(f"CREATE DATABASE choshu_bench_pay TEMPLATE {template} STRATEGY FILE_COPY")
    return seed_s, installments, template


def checkpoint() -> None:
    """Every timed phase on PostgreSQL starts after a checkpoint, so that none pays for the WAL of the
    phase before it (the imports, the baseline and the floor alike)."""
    import psycopg

    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute("CHECKPOINT")


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
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="choshu-paybench-"))
    env = {**os.environ, "CHOSHU_VAR_DIR": str(folder), "CHOSHU_LOG_LEVEL": "INFO"}
    taxpayers = max(100, int(args.installments / 17.5) + 1)
    # Six levy years (2021–2026) with no payment recorded yet: every installment is open, as for a
    # city whose receipts start with this file (a city seeded with its history would have ~12 % open).
    seed_args = [CHOSHU, "seed", "--taxpayers", str(taxpayers), "--seed", "1", "--as-of", "2026-11-26",
                 "--paid-until", "2020-12-31", "--json"]  # fmt: skip
    if args.db == "postgresql":
        env["CHOSHU_DATABASE_URL"] = PG_URL
        seed_s, installments, template = pg_seeded_copy(env, seed_args, taxpayers, reseed=args.reseed)
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
    import_s = 0.0
    peak = 0.0
    for channel, path in (("bank", bank), ("conveni", conveni)):
        if args.db == "postgresql":
            checkpoint()
        seconds, out, rss = sh_rss(
            [CHOSHU, "import-payments", "--channel", channel, str(path), "--json"], env
        )
        summary = json.loads(out.strip().splitlines()[-1])
        results[f"import_{channel}_phases"] = [line[2:] for line in out.splitlines() if line.startswith("# ")]
        results[f"import_{channel}_seconds"] = round(seconds, 1)
        results[f"import_{channel}_records"] = summary["records"]
        results[f"import_{channel}_posted"] = summary["posted"]
        import_s += seconds
        peak = max(peak, rss)
    results["import_seconds"] = round(import_s, 1)
    results["importer_peak_rss_mb"] = round(peak, 1)
    # The bank sends the same file again: nothing may change, and it should not take longer than the
    # first import (every record is recognised by its reference).
    if args.db == "postgresql":
        checkpoint()
    seconds, out, _ = sh_rss([CHOSHU, "import-payments", "--channel", "bank", str(bank), "--json"], env)
    again = json.loads(out.strip().splitlines()[-1])
    assert again["posted"] == 0 and again["already_imported"] == again["records"], again
    results["reimport_bank_seconds"] = round(seconds, 1)
    _, out = sh([CHOSHU, "verify-ledger", "--json"], env)
    results["ledger_ok"] = json.loads(out.strip().splitlines()[-1])["ok"]
    if args.db == "postgresql":
        checkpoint()
        base, updated = baseline_pg(bank, conveni)
        # Every record whose slip exists (all but the unknown slips, 1 in 100 of the conveni file).
        assert updated >= args.payments * 0.99 - 1, f"the baseline's join updated only {updated} installments"
        results["baseline_seconds"] = round(base, 1)
        results["baseline_installments_updated"] = updated
        results["ratio"] = round(import_s / base, 2)
        checkpoint()
        keyed, _ = baseline_pg(bank, conveni, keyed=True)
        results["keyed_baseline_seconds"] = round(keyed, 1)
        results["keyed_baseline_ratio"] = round(keyed / base, 2)
        floor, floor_posted, floor_phases = floor_pg(bank, conveni, template)
        results["floor_seconds"] = round(floor, 1)
        results["floor_posted"] = floor_posted
        results["floor_phases"] = floor_phases
        results["floor_ratio"] = round(floor / base, 2)
        results["import_over_floor"] = round(import_s / floor, 2)
    print(json.dumps(results, ensure_ascii=False))
    target: Path = args.out or ROOT / "bench" / "out" / f"payments-{args.db}.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(results, ensure_ascii=False, indent=2))
    shutil.rmtree(folder)  # the generated files and the run's keys


if __name__ == "__main__":
    main()
