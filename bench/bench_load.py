"""Benchmark: the first load of a whole city — ``import-taxpayers`` and ``import-levies`` (issue 12).

Steps, in one run on fresh PostgreSQL databases, for each ``--taxpayers`` size:
1. write ``taxpayers.csv`` (N taxpayers, 1 in 20 a corporation, individuals with a My Number) and
   ``levies.csv`` in the standard's layout (18 installments per taxpayer over twenty years: 3 years of
   個人住民税 in 4 installments with the old system's 納付番号, 1 year of 固定資産税・都市計画税 in 4 with
   its two components and 2 years of 軽自動車税 in 1, these without one: the import gives them the
   system's; every row with the source system's stamps), and the daily change files (1 % of the rows:
   taxpayers moved; installments with a reduced principal (更正) or a new due date);
2. the raw baseline: ``COPY`` of each file into a plain table with its key (宛名番号; 税目・賦課年度・
   相当年度・通知書番号・期別 — the standard key's other parts are empty in this city);
3. the taxpayer floor on a clone (the taxpayer and revision rows by SQL alone from the same ``COPY``,
   every index of the real tables, raw values in place of the encrypted My Number, its keyed hash and
   the search keys), then ``choshu import-taxpayers`` (wall seconds, peak RSS of the process via
   os.wait4, its phases);
4. the levy floor, on a clone of the database as the levy import finds it: the levy, installment
   (caches set, the three dates and the 延滞金's base date), breakdown (期別内訳) and ledger rows (one
   調定 transaction and two entries per installment) this schema requires, written by SQL alone from the same ``COPY`` of levies.csv, with every index of the real
   tables — what no levy import keeping these rows can go below;
5. ``choshu import-levies``; then both files again (re-import: must change nothing), then the two
   change files;
6. the ratios (taxpayers ÷ raw COPY and ÷ their floor, levies ÷ floor, floor ÷ raw COPY, re-import ÷ first), seconds per
   row, the change files' seconds, and the targets met or missed. With several sizes, the growth of
   the seconds per row from the smallest to the largest.

Usage: python bench/bench_load.py [--taxpayers N[,N…]] [--pg-url URL] [--out FILE]
The databases are named after ``--pg-url``'s (default ``choshu_bench_load``): the database imported
into and ``<name>_floor`` (the floor's clone). Two runs at once must use different names.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

from bench_payments import CHOSHU, admin_url, checkpoint, db_name, merged_phases, sh_rss  # noqa: E402
from stdnum.jp import cn as corporate_number  # noqa: E402
from stdnum.jp import in_ as my_number  # noqa: E402

from choshu.rules.check_digits import make_slip_no  # noqa: E402

PG_URL = os.environ.get("CHOSHU_BENCH_LOAD_PG_URL", "postgres://postgres@127.0.0.1:5432/choshu_bench_load")
BOOKING_DATE = "2026-04-01"
MUNICIPALITY = ("112038", "川口市")

# Issue 12's targets.
TARGET_TAXPAYERS = 5.0  # import-taxpayers ÷ raw COPY of taxpayers.csv
TARGET_LEVIES = 1.5  # import-levies ÷ the levy floor
TARGET_GROWTH = 1.25  # seconds per row at the largest size ÷ at the smallest
TARGET_RSS_MB = 500.0
TARGET_REIMPORT = 1.0  # the same file again ÷ its first import

TAXPAYER_HEADER = ("taxpayer_no,kind,name,name_kana,birth_date,sex,postal_code,address,address_extra,phone,"
                   "my_number,corporate_number,resident,deceased_on")  # fmt: skip
LEVY_HEADER = (
    "tax_item,levy_year,relevant_year,notice_no,taxpayer_no,special_collector_no,filing_type,filing_history_no,"
    "business_year_no,business_year_start,business_year_end,installment_no,statutory_due_date,due_date,"
    "designated_due_date,due_date_special,principal,breakdown_1,breakdown_2,breakdown_3,slip_no,operator_id,"
    "operated_on,operated_time"
)
PRINCIPAL, DUE, BREAKDOWN_1 = 16, 13, 17  # columns of LEVY_HEADER
LAST = (("佐藤", "サトウ"), ("鈴木", "スズキ"), ("高橋", "タカハシ"), ("田中", "タナカ"), ("渡辺", "ワタナベ"),
        ("伊藤", "イトウ"), ("山本", "ヤマモト"), ("中村", "ナカムラ"), ("小林", "コバヤシ"), ("髙橋", "タカハシ"))  # fmt: skip
FIRST = (("太郎", "タロウ"), ("花子", "ハナコ"), ("一郎", "イチロウ"), ("美咲", "ミサキ"), ("翔", "ショウ"),
         ("陽菜", "ヒナ"), ("健太", "ケンタ"), ("﨑子", "サキコ"))  # fmt: skip
TOWNS = ("本町", "栄町", "東川口", "西川口", "芝", "安行", "鳩ヶ谷本町", "戸塚")


def taxpayer_no(i: int) -> str:
    return str(1_000_000 + i)


def taxpayer_row(i: int, moved: bool = False) -> str:
    town = TOWNS[i % len(TOWNS)]
    address = f"埼玉県川口市{town}{i % 9 + 1}-{i % 30 + 1}-{i % 17 + 1}" + ("-2" if moved else "")
    postal = f"{332 + i % 3}{i % 10000:04d}"
    if i % 20 == 0:
        base = f"{(i * 7727 + 100000000000) % 10**12:012d}"
        corp = corporate_number.calc_check_digit(base) + base
        return (f"{taxpayer_no(i)},corporation,株式会社{LAST[i % 10][0]}{town}工業,{LAST[i % 10][1]}コウギョウ,"
                f"1990-04-01,,{postal},{address},,048-{i % 1000:03d}-{i % 10000:04d},,{corp},0,")  # fmt: skip
    last, first = LAST[i % 10], FIRST[(i // 10) % len(FIRST)]
    body = f"{(i * 104729 + 12345678901) % 10**11:011d}"
    number = body + my_number.calc_check_digit(body)
    birth = date(1940, 1, 1) + timedelta(days=i * 37 % 25000)
    return (f"{taxpayer_no(i)},individual,{last[0]} {first[0]},{last[1]} {first[1]},{birth.isoformat()},"
            f"{1 + i % 2},{postal},{address},,090-{i % 10000:04d}-{i % 9999:04d},{number},,1,")  # fmt: skip


def levy_row(item: str, year: int, notice: str, no: str, n: int, due: date, principal: int, slip: str = "",
             parts: tuple[int, int] | None = None) -> str:  # fmt: skip
    """One row of the standard's layout: 相当年度 = 賦課年度, no other key, 法定納期限 = 指定納期限 =
    納期限 (empty), the breakdown of an item that has one, the source system's stamps."""
    b1, b2 = parts if parts is not None else ("", "")
    return (f"{item},{year},{year},{notice},{no},,,,,,,{n},,{due.isoformat()},,,{principal},{b1},{b2},,{slip},"
            f"TAX{year % 100:02d},{year}-04-01,09:00:00")  # fmt: skip


def levy_rows(i: int) -> list[str]:
    """18 installments of taxpayer ``i`` over the years 2006–2025."""
    rows = []
    no, notice = taxpayer_no(i), f"{i:010d}"
    for k in range(3):  # 個人住民税(普通徴収): 4 installments, with the old system's 納付番号
        year = 2006 + (i + 7 * k) % 20
        for n, due in enumerate(
            (date(year, 6, 30), date(year, 8, 31), date(year, 10, 31), date(year + 1, 1, 31)), 1
        ):
            slip = make_slip_no(f"1{year % 100:02d}{i:010d}{n:02d}")
            rows.append(levy_row("01", year, notice, no, n, due, 5000 + (i * 31 + n) % 20000, slip))
    year = 2006 + (i + 3) % 20  # 固定資産税・都市計画税: 4 installments, the system's 納付番号
    for n, due in enumerate(
        (date(year, 4, 30), date(year, 7, 31), date(year, 12, 25), date(year + 1, 2, 28)), 1
    ):
        principal = 3000 + (i * 17 + n) % 50000
        rows.append(
            levy_row(
                "04", year, notice, no, n, due, principal, parts=(principal - principal // 7, principal // 7)
            )
        )
    for k in range(2):  # 軽自動車税: 1 installment
        year = 2006 + (i + 5 + 9 * k) % 20
        rows.append(levy_row("05", year, notice, no, 1, date(year, 5, 31), 3600 + 3200 * (i % 2)))
    return rows


def changed_levy_row(row: str, j: int) -> str:
    """A reduced principal (更正; on the main component of a breakdown) or a new due date, alternately."""
    f = row.split(",")
    if j % 2 == 0:
        f[PRINCIPAL] = str(int(f[PRINCIPAL]) - 100)
        if f[BREAKDOWN_1]:
            f[BREAKDOWN_1] = str(int(f[BREAKDOWN_1]) - 100)
    else:
        f[DUE] = (date.fromisoformat(f[DUE]) + timedelta(days=1)).isoformat()
    return ",".join(f)


def write_city(folder: Path, n: int) -> dict[str, Any]:
    files = {
        name: folder / f"{name}.csv" for name in ("taxpayers", "levies", "taxpayers_change", "levies_change")
    }
    installments = 0
    with (
        files["taxpayers"].open("w", encoding="utf-8", newline="") as tp,
        files["levies"].open("w", encoding="utf-8", newline="") as lv,
        files["taxpayers_change"].open("w", encoding="utf-8", newline="") as tpc,
        files["levies_change"].open("w", encoding="utf-8", newline="") as lvc,
    ):
        tp.write(TAXPAYER_HEADER + "\r\n")
        tpc.write(TAXPAYER_HEADER + "\r\n")
        lv.write(LEVY_HEADER + "\r\n")
        lvc.write(LEVY_HEADER + "\r\n")
        for i in range(n):
            tp.write(taxpayer_row(i) + "\r\n")
            if i % 100 == 50:
                tpc.write(taxpayer_row(i, moved=True) + "\r\n")
            for row in levy_rows(i):
                lv.write(row + "\r\n")
                if installments % 100 == 50:
                    lvc.write(changed_levy_row(row, installments // 100) + "\r\n")
                installments += 1
    return {"files": files, "installments": installments}


# --- PostgreSQL ---------------------------------------------------------------------------------


def fresh_database(url: str, env: dict[str, str]) -> None:
    import psycopg

    with psycopg.connect(admin_url(url), autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {db_name(url)}_floor WITH (FORCE)")
        conn.execute(f"DROP DATABASE IF EXISTS {db_name(url)} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {db_name(url)}")
    sh_rss([CHOSHU, "migrate", "-v0"], env)
    sh_rss([CHOSHU, "init-municipality", "--code", MUNICIPALITY[0], "--name", MUNICIPALITY[1]], env)


RAW = {
    "taxpayers": (
        """CREATE TABLE bare_taxpayers (taxpayer_no text PRIMARY KEY, kind text, name text, name_kana text,
               birth_date date, sex text, postal_code text, address text, address_extra text, phone text,
               my_number text, corporate_number text, resident text, deceased_on date)""",
        "COPY bare_taxpayers FROM STDIN WITH (FORMAT csv, HEADER true)",
    ),
    "levies": (
        """CREATE TABLE bare_levies (tax_item text, levy_year integer, relevant_year integer, notice_no text,
               taxpayer_no text, special_collector_no text, filing_type text, filing_history_no integer,
               business_year_no integer, business_year_start date, business_year_end date, installment_no integer,
               statutory_due_date date, due_date date, designated_due_date date, due_date_special text,
               principal bigint, breakdown_1 bigint, breakdown_2 bigint, breakdown_3 bigint, slip_no text,
               operator_id text, operated_on date, operated_time time,
               PRIMARY KEY (tax_item, levy_year, relevant_year, notice_no, installment_no))""",
        "COPY bare_levies FROM STDIN WITH (FORMAT csv, HEADER true)",
    ),
}


def copy_file(conn: Any, sql: str, path: Path) -> None:
    with conn.cursor() as cur, path.open("rb") as fh, cur.copy(sql) as cp:
        while data := fh.read(1 << 20):
            cp.write(data)


def raw_copy(url: str, name: str, path: Path) -> float:
    """The raw baseline: one file COPYed into a plain table with its key, in one transaction."""
    import psycopg

    ddl, copy_sql = RAW[name]
    checkpoint(url)
    with psycopg.connect(url) as conn:
        started = time.monotonic()
        conn.execute(ddl)
        copy_file(conn, copy_sql, path)
        conn.commit()
        seconds = time.monotonic() - started
        conn.execute(f"DROP TABLE bare_{name}")
        conn.commit()
    return seconds


FLOOR_SQL = (
    ("stage", """CREATE TEMP TABLE f AS
        SELECT b.*, t.id AS taxpayer_id,
               nextval(pg_get_serial_sequence('levies_installment', 'id')::regclass) AS inst_id,
               nextval(pg_get_serial_sequence('levies_ledgertransaction', 'id')::regclass) AS txn_id
        FROM bare_levies b JOIN taxpayers_taxpayer t ON t.municipality_id = %(m)s AND t.taxpayer_no = b.taxpayer_no"""),
    ("levies", """INSERT INTO levies_levy (municipality_id, taxpayer_id, tax_item, levy_year, relevant_year, notice_no,
            source_operator, source_operated_on, source_operated_time, created_at)
        SELECT DISTINCT ON (tax_item, levy_year, relevant_year, notice_no) %(m)s, taxpayer_id, tax_item, levy_year,
               relevant_year, notice_no, operator_id, operated_on, operated_time, now() FROM f"""),
    ("installments", """INSERT INTO levies_installment (id, municipality_id, levy_id, taxpayer_id, installment_no,
            due_date, statutory_due_date, designated_due_date, late_charge_base_date, source_operator,
            source_operated_on, source_operated_time, slip_no, principal_levied, principal_paid, principal_outstanding)
        SELECT f.inst_id, %(m)s, l.id, f.taxpayer_id, f.installment_no, f.due_date,
               COALESCE(f.statutory_due_date, f.due_date), COALESCE(f.designated_due_date, f.due_date),
               CASE WHEN t.assessment = 'self' THEN COALESCE(f.statutory_due_date, f.due_date) ELSE f.due_date END,
               f.operator_id, f.operated_on, f.operated_time, NULLIF(f.slip_no, ''), f.principal, 0, f.principal
        FROM f JOIN levies_levy l ON l.municipality_id = %(m)s AND l.tax_item = f.tax_item
             AND l.levy_year = f.levy_year AND l.relevant_year = f.relevant_year AND l.notice_no = f.notice_no
        JOIN levies_taxitem t ON t.municipality_id = %(m)s AND t.code = f.tax_item"""),
    ("breakdown", """INSERT INTO levies_installmentbreakdown (installment_id, municipality_id, seq, code, levied, paid)
        SELECT f.inst_id, %(m)s, b.seq, b.code,
               CASE b.seq WHEN 1 THEN f.breakdown_1 WHEN 2 THEN f.breakdown_2 ELSE f.breakdown_3 END, 0
        FROM f JOIN levies_taxitem t ON t.municipality_id = %(m)s AND t.code = f.tax_item
        JOIN levies_taxitembreakdown b ON b.tax_item_id = t.id"""),
    ("transactions", """INSERT INTO levies_ledgertransaction (id, municipality_id, kind, legal_date, booking_date,
            recorded_at, memo)
        SELECT txn_id, %(m)s, 'levy', %(d)s, %(d)s, now(), '調定取込' FROM f WHERE principal <> 0"""),
    ("entries", """INSERT INTO levies_ledgerentry (municipality_id, txn_id, account, component, installment_id,
            taxpayer_id, amount)
        SELECT %(m)s, txn_id, a.account, 'principal', inst_id, taxpayer_id, a.sign * principal
        FROM f CROSS JOIN (VALUES ('receivable', 1), ('levied', -1)) a(account, sign) WHERE principal <> 0"""),
)  # fmt: skip


TAXPAYER_FLOOR_SQL = (
    ("taxpayers", """INSERT INTO taxpayers_taxpayer (municipality_id, taxpayer_no, kind, name, name_kana, birth_date,
            sex, postal_code, address, address_extra, mailing_postal_code, mailing_address, phone, my_number_enc,
            my_number_hash, corporate_number, resident, deceased_on, search_kana, search_name, search_address,
            search_phone, revision, is_active, created_at, updated_at)
        SELECT %(m)s, taxpayer_no, kind, name, COALESCE(name_kana, ''), birth_date, COALESCE(sex, ''),
               COALESCE(postal_code, ''), COALESCE(address, ''), COALESCE(address_extra, ''), '', '',
               COALESCE(phone, ''), CASE WHEN my_number IS NOT NULL THEN convert_to(my_number, 'UTF8') END,
               COALESCE(my_number, ''), COALESCE(corporate_number, ''), resident = '1', deceased_on,
               COALESCE(name_kana, ''), name, COALESCE(address, '') || COALESCE(address_extra, ''),
               COALESCE(phone, ''), 1, true, now(), now()
        FROM bare_taxpayers"""),
    ("revisions", """INSERT INTO taxpayers_taxpayerrevision (municipality_id, taxpayer_id, revision, data,
            changed_fields, changed_at, job_id, reason)
        SELECT %(m)s, id, 1, jsonb_build_object('kind', kind, 'name', name, 'name_kana', name_kana,
                   'birth_date', birth_date, 'sex', sex, 'postal_code', postal_code, 'address', address,
                   'address_extra', address_extra, 'phone', phone, 'corporate_number', corporate_number,
                   'resident', resident, 'deceased_on', deceased_on, 'my_number_registered', my_number_hash <> '',
                   'mailing_postal_code', '', 'mailing_address', ''),
               '["created"]'::jsonb, now(), NULL, '宛名取込(新規)'
        FROM taxpayers_taxpayer"""),
)  # fmt: skip
"""The taxpayer floor: the taxpayer and revision rows by SQL alone from the same COPY, with every index of
the real tables — without the My Number's encryption and keyed hash and the search keys' normalisation
(Python's; the floor stores the raw values in their place)."""


def taxpayer_floor(url: str, taxpayers: Path) -> dict[str, Any]:
    return sql_floor(url, "taxpayers", taxpayers, TAXPAYER_FLOOR_SQL)


def levy_floor(url: str, levies: Path) -> dict[str, Any]:
    """The levy floor on a clone of ``url``: COPY, then the rows by SQL alone (see the module's doc)."""
    return sql_floor(url, "levies", levies, FLOOR_SQL)


def sql_floor(url: str, name: str, path: Path, statements: tuple[tuple[str, str], ...]) -> dict[str, Any]:
    """A floor on a clone of ``url``: ``path`` COPYed into its plain table, then ``statements``."""
    import psycopg

    floor_url = f"{url}_floor"
    with psycopg.connect(admin_url(url), autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {db_name(floor_url)} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {db_name(floor_url)} TEMPLATE {db_name(url)} STRATEGY FILE_COPY")
    checkpoint(floor_url)
    phases: dict[str, float] = {}
    with psycopg.connect(floor_url) as conn:
        m = conn.execute("SELECT id FROM core_municipality").fetchone()[0]  # type: ignore[index]
        started = mark = time.monotonic()
        conn.execute(RAW[name][0])
        copy_file(conn, RAW[name][1], path)
        phases["copy"] = round(time.monotonic() - mark, 2)
        for step, sql in statements:
            mark = time.monotonic()
            conn.execute(sql, {"m": m, "d": BOOKING_DATE})
            if step == "stage":
                conn.execute("ANALYZE f")
            elif step == "levies":  # as the import does (core.bulk.analyze_if_stale): the join below needs it
                conn.execute("ANALYZE levies_levy")
            phases[step] = round(time.monotonic() - mark, 2)
        mark = time.monotonic()
        conn.commit()
        phases["commit"] = round(time.monotonic() - mark, 2)
        seconds = time.monotonic() - started
        counts = ledger_counts(conn)
    with psycopg.connect(admin_url(url), autocommit=True) as conn:
        conn.execute(f"DROP DATABASE {db_name(floor_url)} WITH (FORCE)")
    return {"seconds": seconds, "phases": phases, "counts": counts}


def ledger_counts(conn: Any) -> dict[str, int]:
    """What a levy load leaves: rows per table, the amounts levied, the ledger's balance."""
    q = {
        "levies": "SELECT COUNT(*) FROM levies_levy",
        "installments": "SELECT COUNT(*) FROM levies_installment",
        "installments_without_slip": "SELECT COUNT(*) FROM levies_installment WHERE slip_no IS NULL",
        "breakdown_rows": "SELECT COUNT(*) FROM levies_installmentbreakdown",
        "breakdown_levied": "SELECT COALESCE(SUM(levied), 0) FROM levies_installmentbreakdown",
        "principal_levied": "SELECT COALESCE(SUM(principal_levied), 0) FROM levies_installment",
        "principal_outstanding": "SELECT COALESCE(SUM(principal_outstanding), 0) FROM levies_installment",
        "transactions": "SELECT COUNT(*) FROM levies_ledgertransaction",
        "entries": "SELECT COUNT(*) FROM levies_ledgerentry",
        "receivable": "SELECT COALESCE(SUM(amount), 0) FROM levies_ledgerentry WHERE account = 'receivable'",
        "ledger_total": "SELECT COALESCE(SUM(amount), 0) FROM levies_ledgerentry",
    }
    return {k: int(conn.execute(sql).fetchone()[0]) for k, sql in q.items()}


def table_state(url: str) -> dict[str, int]:
    """Row counts and a checksum of the rows an import writes (a re-import must leave them equal)."""
    import psycopg

    with psycopg.connect(url) as conn:
        state = ledger_counts(conn)
        for table in ("taxpayers_taxpayer", "taxpayers_taxpayerrevision"):
            state[table] = int(conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])  # type: ignore[index]
        row = conn.execute(
            "SELECT COALESCE(SUM(revision), 0), COALESCE(MAX(updated_at)::text, '') FROM taxpayers_taxpayer"
        ).fetchone()
        state["taxpayer_revisions_sum"] = int(row[0])  # type: ignore[index]
        state["taxpayer_updated_at_max"] = hash(row[1]) % 10**9  # type: ignore[index]
    return state


def run_import(env: dict[str, str], url: str, args: list[str]) -> dict[str, Any]:
    checkpoint(url)
    run = sh_rss([CHOSHU, *args, "--json"], env)
    return {
        "seconds": run.seconds,
        "rss_mb": round(run.rss_mb, 1),
        "summary": json.loads(run.out.strip().splitlines()[-1]),
        "phases": merged_phases(run.phases),
    }


def one_size(n: int, url: str, folder: Path) -> dict[str, Any]:
    env = {
        **os.environ,
        "CHOSHU_VAR_DIR": str(folder),
        "CHOSHU_LOG_LEVEL": "INFO",
        "CHOSHU_DATABASE_URL": url,
    }
    started = time.monotonic()
    city = write_city(folder, n)
    files: dict[str, Path] = city["files"]
    r: dict[str, Any] = {"taxpayers": n, "installments": city["installments"],
                         "write_files_seconds": round(time.monotonic() - started, 1),
                         "file_mb": {k: round(p.stat().st_size / 2**20, 1) for k, p in files.items()}}  # fmt: skip
    fresh_database(url, env)
    raw_tp = raw_copy(url, "taxpayers", files["taxpayers"])
    raw_lv = raw_copy(url, "levies", files["levies"])
    tp_floor = taxpayer_floor(url, files["taxpayers"])
    imports: dict[str, dict[str, Any]] = {}
    imports["taxpayers"] = run_import(env, url, ["import-taxpayers", str(files["taxpayers"])])
    floor = levy_floor(url, files["levies"])
    lv_args = ["import-levies", "--booking-date", BOOKING_DATE]
    imports["levies"] = run_import(env, url, [*lv_args, str(files["levies"])])
    import psycopg

    with psycopg.connect(url) as conn:
        imported = ledger_counts(conn)
    before = table_state(url)
    imports["taxpayers_again"] = run_import(env, url, ["import-taxpayers", str(files["taxpayers"])])
    imports["levies_again"] = run_import(env, url, [*lv_args, str(files["levies"])])
    unchanged = table_state(url) == before
    imports["taxpayers_change"] = run_import(env, url, ["import-taxpayers", str(files["taxpayers_change"])])
    imports["levies_change"] = run_import(env, url, [*lv_args, str(files["levies_change"])])
    verify = sh_rss([CHOSHU, "verify-ledger", "--json"], env)
    tp_s, lv_s = imports["taxpayers"]["seconds"], imports["levies"]["seconds"]
    installments = city["installments"]
    r.update(
        {
            "raw_copy_taxpayers_seconds": round(raw_tp, 2),
            "raw_copy_levies_seconds": round(raw_lv, 2),
            "floor_taxpayers_seconds": round(tp_floor["seconds"], 2),
            "floor_taxpayers_phases": tp_floor["phases"],
            "taxpayers_ratio_to_floor": round(tp_s / tp_floor["seconds"], 2),
            "floor_taxpayers_ratio_to_raw_copy": round(tp_floor["seconds"] / raw_tp, 2),
            "floor_levies_seconds": round(floor["seconds"], 2),
            "floor_phases": floor["phases"],
            "floor_counts": floor["counts"],
            "import_counts": imported,
            "import_posts_what_the_floor_posts": all(
                imported[k] == floor["counts"][k]
                for k in (
                    "levies",
                    "installments",
                    "transactions",
                    "entries",
                    "principal_levied",
                    "principal_outstanding",
                    "receivable",
                    "ledger_total",
                    "breakdown_rows",
                    "breakdown_levied",
                )
            ),  # fmt: skip
            "imports": {k: {**v, "seconds": round(v["seconds"], 2)} for k, v in imports.items()},
            "taxpayers_ratio": round(tp_s / raw_tp, 2),
            "levies_ratio_to_floor": round(lv_s / floor["seconds"], 2),
            "floor_ratio_to_raw_copy": round(floor["seconds"] / raw_lv, 2),
            "levies_ratio_to_raw_copy": round(lv_s / raw_lv, 2),
            "taxpayers_reimport_ratio": round(imports["taxpayers_again"]["seconds"] / tp_s, 2),
            "levies_reimport_ratio": round(imports["levies_again"]["seconds"] / lv_s, 2),
            "reimport_changed_nothing": unchanged,
            "taxpayers_us_per_row": round(tp_s / n * 1e6, 1),
            "levies_us_per_row": round(lv_s / installments * 1e6, 1),
            "change_taxpayers_seconds": round(imports["taxpayers_change"]["seconds"], 2),
            "change_levies_seconds": round(imports["levies_change"]["seconds"], 2),
            "peak_rss_mb": max(v["rss_mb"] for v in imports.values()),
            "ledger_ok": json.loads(verify.out.strip().splitlines()[-1])["ok"],
        }
    )
    return r


def targets(runs: list[dict[str, Any]]) -> dict[str, Any]:
    big = runs[-1]
    t: dict[str, Any] = {
        f"taxpayers ≤ {TARGET_TAXPAYERS}× raw COPY": big["taxpayers_ratio"] <= TARGET_TAXPAYERS,
        f"levies ≤ {TARGET_LEVIES}× floor": big["levies_ratio_to_floor"] <= TARGET_LEVIES,
        f"peak RSS ≤ {TARGET_RSS_MB:.0f} MB": all(r["peak_rss_mb"] <= TARGET_RSS_MB for r in runs),
        f"re-import ≤ {TARGET_REIMPORT}× first": all(
            r["taxpayers_reimport_ratio"] <= TARGET_REIMPORT and r["levies_reimport_ratio"] <= TARGET_REIMPORT
            for r in runs
        ),
        "re-import changes nothing": all(r["reimport_changed_nothing"] for r in runs),
        "imports post what the floor posts": all(r["import_posts_what_the_floor_posts"] for r in runs),
    }
    if len(runs) > 1:
        small = runs[0]
        growth = {
            "taxpayers": round(big["taxpayers_us_per_row"] / small["taxpayers_us_per_row"], 2),
            "levies": round(big["levies_us_per_row"] / small["levies_us_per_row"], 2),
            "from_taxpayers": small["taxpayers"],
            "to_taxpayers": big["taxpayers"],
        }
        t["per_row_growth"] = growth
        t[f"per-row growth ≤ {TARGET_GROWTH}×"] = max(growth["taxpayers"], growth["levies"]) <= TARGET_GROWTH
        change_per_row = [r["change_levies_seconds"] / r["installments"] for r in runs]
        t["change_file_levies_seconds_per_city_row"] = [round(x * 1e6, 2) for x in change_per_row]
    return t


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--taxpayers", default="100000", help="taxpayers of the city; several: 10000,100000")
    parser.add_argument("--pg-url", default=PG_URL, help="the database imported into (default: %(default)s)")
    parser.add_argument("--out", type=Path, help="the results as JSON (default: bench/out/load.json)")
    args = parser.parse_args()
    sizes = sorted(int(x) for x in args.taxpayers.split(","))
    runs = []
    for n in sizes:
        folder = Path(tempfile.mkdtemp(prefix="choshu-loadbench-"))
        try:
            runs.append(one_size(n, args.pg_url, folder))
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        print(json.dumps(runs[-1], ensure_ascii=False), flush=True)
    result = {"runs": runs, "targets": targets(runs)}
    out = args.out or ROOT / "bench" / "out" / "load.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n")
    print(json.dumps(result["targets"], ensure_ascii=False))


if __name__ == "__main__":
    main()
