"""Scenario helpers: data through the real imports and commands, sums computed outside the system."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from io import StringIO
from typing import Any

from django.core.management import call_command

from choshu.formats.payments import BANK_HEADER
from choshu.levies.models import Account, Installment, LedgerEntry
from choshu.taxpayers.models import Taxpayer

LEVY_HEADER = "tax_item,levy_year,notice_no,taxpayer_no,installment_no,due_date,principal,slip_no"


def cmd(name: str, *args: str) -> dict[str, Any]:
    out = StringIO()
    call_command(name, *args, "--json", stdout=out)
    return dict(json.loads(out.getvalue().strip().splitlines()[-1]))


def run(as_of: str, *extra: str) -> dict[str, Any]:
    return cmd("refunds_run", "--as-of", as_of, *extra)


def inst(notice_no: str, no: int = 1) -> Installment:
    return Installment.objects.get(levy__notice_no=notice_no, installment_no=no)


def pay(
    write_csv: Callable[..., Any], taxpayer_no: str, notice_no: str, amount: int, paid: str, no: int = 1
) -> None:
    """A bank payment of ``amount`` on the installment's own slip (its OCR line), through the import."""
    slips = cmd("slips", "--taxpayer", taxpayer_no)["slips"]
    slip_no = inst(notice_no, no).slip_no
    slip = next(s for s in slips if s["slip_no"] == slip_no)
    line = f"{slip['ocr_lower']},{amount},{paid},0001,123,{paid}"
    cmd("import_payments", "--channel", "bank", str(write_csv(",".join(BANK_HEADER), [line])))


def levy(write_csv: Callable[..., Any], city: Any, rows: list[str], booked: date) -> None:
    from choshu.levies.services import levies_import

    levies_import(municipality=city, path=write_csv(LEVY_HEADER, rows), booking_date=booked)


def held(taxpayer_no: str) -> int:
    """The overpayment account of the person, summed here from the entries (positive = held)."""
    tp = Taxpayer.objects.get(taxpayer_no=taxpayer_no)
    return -sum(e.amount for e in LedgerEntry.objects.filter(account=Account.OVERPAYMENT, taxpayer=tp))


def verify_ok() -> bool:
    out = StringIO()
    try:
        call_command("verify_ledger", "--json", stdout=out)
    except SystemExit:
        return False
    return bool(json.loads(out.getvalue().strip().splitlines()[-1])["ok"])


def yen_interest(base: int, rate_percent: str, days: int) -> int:
    """還付加算金 by the city pages' formula (law.md §e; https://www.city.otsu.lg.jp/soshiki/005/1206/g/04/63147.html):
    base truncated to 1,000, × rate × days ÷ 365, truncated to 100; under 1,000 none."""
    from decimal import Decimal

    b = base // 1000 * 1000
    raw = int(Decimal(b) * Decimal(rate_percent) / 100 * days / 365)
    return 0 if raw < 1000 else raw // 100 * 100
