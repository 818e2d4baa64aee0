"""Bank files for ``test_kill_and_concurrency.py``, written from a seeded city (issue 11).

Run as ``python tests/engine/kill_files.py --out DIR --records N`` with the database chosen by the
environment (``CHOSHU_DATABASE_URL``). Writes, from the city 112038's installments in id order:

* ``bank.csv`` — ``N`` 領収済通知 records. Per 100 records: one overpayment, one unknown slip
  (suspense), one wrong 確認番号 (suspense), one part payment, two paid 40 days after the 納期限 (延滞金
  may be due), one installment paid twice in the file (the second an overpayment); the rest pay
  their installment's outstanding 本税 on time (an installment already paid by the seed: 1 円, an
  overpayment);
* ``bank_a.csv`` and ``bank_b.csv`` — the same records split in two by installment (every record of
  one installment in the same file), for two different files imported at once.

Prints the number of records written.
"""

from __future__ import annotations

import argparse
import datetime
import os
import sys
from pathlib import Path

HEADER = "ocr_lower,amount,paid_on,bank_code,branch_code,booked_on"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--records", type=int, required=True)
    args = parser.parse_args()
    os.environ["DJANGO_SETTINGS_MODULE"] = "choshu.config.settings"
    import django

    django.setup()
    from choshu.core.models import Municipality
    from choshu.formats.slipcodes import slip_codes
    from choshu.levies.models import Installment
    from choshu.receipts.slips import confirmation_no
    from choshu.rules.check_digits import make_slip_no, ocr_check_digits

    m = Municipality.objects.get(code="112038")
    rows: list[tuple[int, str]] = []  # (installment index, the record)
    installments = (
        Installment.objects.filter(municipality=m)
        .exclude(slip_no=None)
        .select_related("levy")
        .order_by("id")
        .iterator(chunk_size=5000)
    )
    for i, inst in enumerate(installments):
        if len(rows) >= args.records:
            break
        kind = i % 100
        amount = max(1, inst.principal_outstanding)
        slip_no = inst.slip_no
        paid = inst.due_date
        if kind == 0:
            amount += 500
        elif kind == 1:
            slip_no = make_slip_no(f"8{i:014d}")
        elif kind == 2:
            amount = max(1, amount // 2)
        elif kind in (3, 4):
            paid += datetime.timedelta(days=40)
        amount = min(amount, 999_999)
        codes = slip_codes(slip_no=slip_no, confirmation_no=confirmation_no(m.code, slip_no), amount=amount,
                           pay_by=None, tax_item=inst.levy.tax_item, company_code=m.conveni_company_code,
                           client_code=m.conveni_client_code, agency_no=m.eltax_agency_no)  # fmt: skip
        ocr = codes.ocr_lower
        if kind == 5:  # another 確認番号: the check digits are recomputed
            body = ocr[2:29] + f"{(int(ocr[29:33]) + 1) % 10000:04d}" + ocr[33:]
            ocr = ocr_check_digits(body) + body
        day = paid.isoformat()
        rows.append((i, f"{ocr},{amount},{day},0001,{i % 900 + 100:03d},{day}"))
        if kind == 6:  # the same installment again, a week later: an overpayment
            later = (paid + datetime.timedelta(days=7)).isoformat()
            rows.append((i, f"{ocr},{amount},{later},0001,{i % 900 + 100:03d},{later}"))
    args.out.mkdir(parents=True, exist_ok=True)
    for name, part in (
        ("bank.csv", rows),
        ("bank_a.csv", [r for r in rows if r[0] % 2 == 0]),
        ("bank_b.csv", [r for r in rows if r[0] % 2 == 1]),
    ):
        text = "\r\n".join([HEADER, *(line for _, line in part)]) + "\r\n"
        (args.out / name).write_bytes(text.encode())
    sys.stdout.write(f"{len(rows)}\n")


if __name__ == "__main__":
    main()
