"""One run of the payment engine on generated files, for ``test_sqlite_postgres_agree.py``.

Run as ``python tests/engine/agree_script.py --seed N --files DIR`` with the database chosen by the
environment (``CHOSHU_DATABASE_URL``, or the SQLite file under ``CHOSHU_VAR_DIR``). It migrates the
(empty) database, creates 川口市 with the sample city of ``conftest.py`` and more (20 installments),
issues a combined slip, writes the same payment files from ``random.Random(seed)`` into ``DIR``,
imports them in order with ``import_payments`` and prints, as its last line, one JSON document of the
resulting state in natural keys only (no database ids: they may differ between databases).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import random
import sys
from datetime import date
from io import StringIO
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]

# The sample city of conftest.py (``sample_city``), then five more people: 20 installments in all.
TAXPAYERS = [
    "1001,individual,川口 太郎,カワグチ タロウ,1970-04-01,1,3330801,埼玉県川口市東川口1-2-3,,048-111-2222,"
    "621498320257,,1,",
    "1002,individual,鳩ヶ谷 花子,ハトガヤ ハナコ,1985-12-24,2,3340002,埼玉県川口市鳩ヶ谷本町2-1-1,101号,,,,0,",
    "2001,corporation,株式会社キューポラ,キューポラ,1999-01-04,,3320012,埼玉県川口市本町4-1-1,,048-222-3333,"
    ",5835678256246,0,",
    "1003,individual,青木 一郎,アオキ イチロウ,1960-01-15,1,3330811,埼玉県川口市戸塚1-1-1,,,,,1,",
    "1004,individual,芝 二郎,シバ ジロウ,1975-03-03,1,3330866,埼玉県川口市芝2-2-2,,,,,1,",
    "1005,individual,安行 三枝,アンギョウ ミエ,1990-08-08,2,3340057,埼玉県川口市安行3-3-3,,,,,1,",
    "1006,individual,神根 四郎,カミネ シロウ,1955-11-30,1,3330823,埼玉県川口市石神4-4-4,,,,,1,",
    "1007,individual,新郷 五月,シンゴウ サツキ,1980-05-05,2,3330841,埼玉県川口市東本郷5-5-5,,,,,1,",
]
LEVIES = [
    "01,2024,100001,1001,1,2024-07-01,30000,",
    "01,2024,100001,1001,2,2024-09-02,29000,",
    "04,2024,400001,1001,1,2024-04-30,12000,",
    "05,2024,500001,1002,1,2024-05-31,10800,",
    "03,2024,300001,2001,1,2024-05-31,70000,",
    "01,2024,100003,1003,1,2024-07-01,15000,",
    "01,2024,100003,1003,2,2024-09-02,15000,",
    "01,2024,100003,1003,3,2024-10-31,15000,",
    "01,2024,100003,1003,4,2025-01-31,15000,",
    "04,2024,400004,1004,1,2024-04-30,22000,",
    "04,2024,400004,1004,2,2024-07-31,21000,",
    "04,2024,400004,1004,3,2024-12-25,21000,",
    "04,2024,400004,1004,4,2025-02-28,21000,",
    "05,2024,500005,1005,1,2024-05-31,10800,",
    "01,2024,100006,1006,1,2024-07-01,48000,",
    "01,2024,100006,1006,2,2024-09-02,47000,",
    "05,2024,500006,1006,1,2024-05-31,10800,",
    "04,2024,400007,1007,1,2024-04-30,90000,",
    "04,2024,400007,1007,2,2024-07-31,90000,",
    "04,2024,400007,1007,3,2024-12-25,90000,",
]
PAID = ("2024-04-20", "2024-06-28", "2024-08-15", "2025-03-10")  # before and after the due dates


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--files", type=Path, required=True, help="where the generated files are written")
    args = parser.parse_args()
    os.environ["DJANGO_SETTINGS_MODULE"] = "choshu.config.settings"
    sys.path.insert(0, str(ROOT))  # conftest.py (the CSV headers)
    import django

    django.setup()
    state = run(args.seed, args.files)
    sys.stdout.write(json.dumps(state, ensure_ascii=False, sort_keys=True, default=str) + "\n")


def run(seed: int, out: Path) -> dict[str, Any]:
    from conftest import LEVIES_BOOKED_ON, LEVY_HEADER, TAXPAYER_HEADER
    from django.core.management import call_command
    from django.core.management.base import CommandError

    from choshu.core.services import municipality_create
    from choshu.formats.payments import BANK_HEADER, CONVENI_HEADER, ELTAX_HEADER
    from choshu.formats.slipcodes import slip_codes
    from choshu.levies.models import Installment
    from choshu.levies.services import levies_import
    from choshu.receipts.slips import combined_slip_issue, taxpayer_slips
    from choshu.receipts.tests.test_engine import _bank_line
    from choshu.receipts.tests.test_import_payments import conveni_row, eltax_row
    from choshu.rules.check_digits import make_slip_no
    from choshu.taxpayers.models import Taxpayer
    from choshu.taxpayers.services import taxpayers_import

    call_command("migrate", verbosity=0, interactive=False)
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []

    def write(name: str, header: str, rows: list[str], encoding: str = "utf-8") -> Path:
        path = out / name
        path.write_bytes(("\r\n".join([header, *rows]) + "\r\n").encode(encoding))
        written.append(path)
        return path

    city = municipality_create(
        code="112038",
        name="川口市",
        conveni_company_code="912345",
        conveni_client_code="11203",
        eltax_agency_no="11203",
    )
    taxpayers_import(municipality=city, path=write("taxpayers.csv", TAXPAYER_HEADER, TAXPAYERS))
    levies_import(
        municipality=city, path=write("levies.csv", LEVY_HEADER, LEVIES), booking_date=LEVIES_BOOKED_ON
    )

    def inst(notice: str, no: int = 1) -> Installment:
        return Installment.objects.get(levy__notice_no=notice, installment_no=no)

    combined = combined_slip_issue(
        municipality=city,
        installments=[inst("100001", 2), inst("400001")],
        amount=41000,
        pay_by=date(2026, 12, 31),
        issued_on=date(2026, 11, 30),
    )
    slips: dict[str, dict[str, Any]] = {}  # by slip number; the combined one under "combined"
    for person in Taxpayer.objects.order_by("taxpayer_no"):
        for view in taxpayer_slips(city, person.pk):
            slips[view.slip_no] = view.as_dict()
    by_inst = {
        f"{i.levy.notice_no}-{i.installment_no}": slips[i.slip_no]
        for i in Installment.objects.select_related("levy")
        if i.slip_no
    }
    combined_slip = slips[combined.slip_no]
    unknown_no = make_slip_no("123456789012345")  # well-formed, never issued
    codes = slip_codes(slip_no=unknown_no, confirmation_no="0000", amount=5000, pay_by=None, tax_item="01",
                       company_code="912345", client_code="11203", agency_no="11203")  # fmt: skip
    unknown = {"slip_no": unknown_no, "ocr_lower": codes.ocr_lower, "amount": 5000}
    # Random records pay any installment but the two paid late in bank2.csv (their 延滞金 stays due).
    plain = [by_inst[k] for k in sorted(by_inst) if k not in ("300001-1", "100001-1")]
    rng = random.Random(seed)

    def bank(slip: dict[str, Any], amount: int, paid: str, wrong_conf: bool = False) -> str:
        return _bank_line(slip, max(1, amount), paid, wrong_conf)

    def bank_random(n: int) -> list[str]:
        rows = []
        for _ in range(n):
            slip = rng.choice(plain)
            size = rng.choice(["exact", "part", "over", "tiny"])
            amount = {"exact": slip["amount"], "part": slip["amount"] // 3, "over": slip["amount"] + 500,
                      "tiny": 7}[size]  # fmt: skip
            rows.append(bank(slip, amount, rng.choice(PAID), rng.random() < 0.15))
        return rows

    same_row = bank(by_inst["400004-2"], 21000, "2024-07-20")
    bank1 = [
        bank(by_inst["500001-1"], 10800, "2024-05-20"),  # exact
        bank(by_inst["100003-1"], 6000, "2024-06-28"),  # partial
        bank(by_inst["400004-1"], 22500, "2024-04-25"),  # over: 500 overpaid
        bank(by_inst["100006-1"], 7, "2024-06-28"),  # tiny
        bank(unknown, 5000, "2024-06-28"),  # an unknown slip: suspense
        bank(by_inst["100003-2"], 15000, "2024-08-15", wrong_conf=True),  # a wrong 確認番号: suspense
        bank(combined_slip, 41000, "2024-06-28"),  # the combined slip (400001 paid late)
        bank(by_inst["400007-1"], 90000, "2024-04-25"),  # the same slip twice in one file:
        bank(by_inst["400007-1"], 3000, "2024-04-26"),  # the second is an overpayment
        same_row,  # the same row twice: two payments
        same_row,
        *bank_random(6),
    ]
    bank2 = [
        bank(by_inst["300001-1"], 75000, "2025-03-10"),  # late: 本税 and 延滞金, the rest overpaid
        bank(by_inst["100001-1"], 31700, "2025-03-31"),  # late: 延滞金 1,700
        *bank_random(5),
    ]
    conveni = ",".join(CONVENI_HEADER)
    s1, s2, s3, s4 = (f"{rng.randrange(10**7):07d}" for _ in range(4))  # the stores
    conveni1 = [
        conveni_row("01", by_inst["500005-1"], "2024-05-30", store=s1),  # 速報 (確報 next file)
        conveni_row("01", by_inst["500006-1"], "2024-05-29", store=s2),  # 速報 and 確報 in one file
        conveni_row("02", by_inst["500006-1"], "2024-05-29", remit="2024-06-06", store=s2),
        conveni_row("01", by_inst["400004-3"], "2024-05-30", store=s3),  # 速報, cancelled next file
    ]
    conveni2 = [
        conveni_row("02", by_inst["500005-1"], "2024-05-30", remit="2024-06-07", store=s1),
        conveni_row("02", by_inst["100003-3"], "2024-05-30", remit="2024-06-07", store=s4),  # 確報 only
    ]
    conveni3 = [
        conveni_row("03", by_inst["500005-1"], "2024-05-30", store=s1),  # a late 速報取消: a warning
        conveni_row("03", by_inst["400004-3"], "2024-05-30", store=s3),  # 速報取消 in time: cancelled
    ]
    refused = [conveni_row("03", by_inst["100003-4"], "2024-05-30")]  # 取消 of no 速報: refused
    eltax = ",".join(ELTAX_HEADER)
    eltax1 = [
        eltax_row("T-0001", by_inst["100006-2"], 47000, "2024-08-30", "2024-09-02"),
        eltax_row("T-0002", by_inst["400007-2"], 90000, "2024-07-30", "2024-08-01"),
        eltax_row("T-0003", by_inst["400004-4"], 21000, "2024-07-30", "2024-08-01", conf="0000"),
        eltax_row("T-0002", by_inst["400007-2"], 90000, "2024-07-30", "2024-08-02", cancelled="1"),
    ]
    eltax2 = [eltax_row("T-0001", by_inst["100006-2"], 47000, "2024-08-30", "2024-09-10", cancelled="1")]

    imports = [
        ("bank", write("bank1.csv", ",".join(BANK_HEADER), bank1)),
        ("conveni", write("conveni1.csv", conveni, conveni1, "cp932")),
        ("bank", write("bank2.csv", ",".join(BANK_HEADER), bank2)),
        ("bank", out / "bank2.csv"),  # the same file sent again
        ("conveni", write("conveni2.csv", conveni, conveni2, "cp932")),
        ("eltax", write("eltax1.csv", eltax, eltax1)),
        ("conveni", write("conveni3.csv", conveni, conveni3, "cp932")),
        ("conveni", write("conveni_refused.csv", conveni, refused, "cp932")),
        ("eltax", write("eltax2.csv", eltax, eltax2)),
    ]
    summaries = []
    for channel, path in imports:
        stdout = StringIO()
        try:
            call_command("import_payments", "--channel", channel, str(path), "--json", stdout=stdout)
        except CommandError as exc:
            lines = stdout.getvalue().strip().splitlines()
            detail = json.loads(lines[-1]) if lines else None
            if detail:
                detail["file"] = Path(detail["file"]).name  # (the directory differs between runs)
            summaries.append({"file": path.name, "refused": True, "exit": exc.returncode, "message": str(exc),
                              "detail": detail})  # fmt: skip
            continue
        summary = json.loads(stdout.getvalue().strip().splitlines()[-1])
        summary.pop("job_id", None)
        summaries.append({"file": path.name, **summary})

    stdout = StringIO()
    with contextlib.suppress(SystemExit):  # exit 1 when the ledger is off: the JSON says so too
        call_command("verify_ledger", "--json", stdout=stdout)
    verify = json.loads(stdout.getvalue().strip().splitlines()[-1])
    return {
        "files": {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in written},
        "imports": summaries,
        "verify": {"ok": verify["ok"], "problems": sorted(p["kind"] for p in verify["problems"])},
        **state(),
    }


def state() -> dict[str, Any]:
    """Every payment with its transactions and entries, every transaction, the installments' caches and
    the suspense queue, in natural keys."""
    from choshu.levies.models import Installment, LedgerEntry, LedgerTransaction
    from choshu.receipts.models import Payment, SuspenseItem
    from choshu.taxpayers.models import Taxpayer

    payments = {p.pk: (p.channel, p.reference) for p in Payment.objects.all()}
    insts = {
        i.pk: (i.levy.tax_item, i.levy.levy_year, i.levy.notice_no, i.installment_no)
        for i in Installment.objects.select_related("levy")
    }
    people = dict(Taxpayer.objects.values_list("id", "taxpayer_no"))
    entries: dict[int, list[list[Any]]] = {}
    for e in LedgerEntry.objects.order_by("pk"):
        entries.setdefault(e.txn_id, []).append(
            [
                e.account,
                e.component,
                insts.get(e.installment_id),
                people.get(e.taxpayer_id),
                payments.get(e.payment_id),
                e.amount,
            ]  # fmt: skip
        )
    txns = {}
    for t in LedgerTransaction.objects.order_by("pk"):
        txns[t.pk] = {
            "kind": t.kind,
            "legal_date": t.legal_date,
            "booking_date": t.booking_date,
            "memo": t.memo,
            "entries": sorted(entries.get(t.pk, []), key=repr),
        }
    for t in LedgerTransaction.objects.exclude(reverses=None):
        txns[t.pk]["reverses"] = {k: v for k, v in txns[t.reverses_id].items() if k != "reverses"}
    return {
        "payments": sorted(
            (
                {
                    "channel": p.channel,
                    "reference": p.reference,
                    "status": p.status,
                    "amount": p.amount,
                    "allocated": p.allocated,
                    "overpaid": p.overpaid,
                    "suspended": p.suspended,
                    "taxpayer_no": p.taxpayer.taxpayer_no if p.taxpayer else None,
                    "paid_on": p.paid_on,
                    "booked_on": p.booked_on,
                    "slip_no": p.slip_no,
                    "confirmation_no": p.confirmation_no,
                    "detail": p.detail,
                    "txn": txns[p.txn_id] if p.txn_id else None,
                    "reversal_txn": txns[p.reversal_txn_id] if p.reversal_txn_id else None,
                }
                for p in Payment.objects.select_related("taxpayer")
            ),
            key=lambda d: (d["channel"], d["reference"]),
        ),
        "transactions": sorted(txns.values(), key=lambda t: json.dumps(t, sort_keys=True, default=str)),
        "installments": sorted(
            [
                *insts[i.pk],
                i.taxpayer.taxpayer_no,
                i.due_date,
                i.slip_no,
                i.principal_levied,
                i.principal_paid,
                i.principal_outstanding,
            ]  # fmt: skip
            for i in Installment.objects.select_related("levy", "taxpayer")
        ),
        "suspense": sorted(
            [[s.payment.channel, s.payment.reference], s.reason, s.amount, s.status]
            for s in SuspenseItem.objects.select_related("payment")
        ),
    }


if __name__ == "__main__":
    main()
