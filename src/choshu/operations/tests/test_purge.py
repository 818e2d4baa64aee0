"""``choshu purge`` — retention and deletion (seed section III: 保存期間経過後の消去, arrears keep data alive)."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from datetime import date
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from conftest import LEVY_HEADER, TAXPAYER_HEADER, purge_with_approval
from django.core.management import call_command

from choshu.audit.models import AuditLog
from choshu.core.models import Municipality
from choshu.levies.ledger import Leg, post
from choshu.levies.models import Account, Component, Installment, LedgerEntry, TxnKind
from choshu.levies.services import levies_import
from choshu.taxpayers.models import Taxpayer
from choshu.taxpayers.services import taxpayers_import

# The day the levies were loaded into the system (a levy's own date plays no part in retention).
LEVIES_LOADED_ON = date(2023, 4, 3)


def pay(municipality: Any, notice: str, amount: int, on: date) -> None:
    inst = Installment.objects.get(levy__notice_no=notice)
    post(
        municipality=municipality,
        kind=TxnKind.PAYMENT,
        legal_date=on,
        booking_date=on,
        legs=[
            Leg(Account.CASH, amount, taxpayer_id=inst.taxpayer_id),
            Leg(Account.RECEIVABLE, -amount, Component.PRINCIPAL, inst),
        ],
    )


@pytest.fixture
def city(municipality: Any, write_csv: Callable) -> Any:
    people = [f"{no},individual,氏名{no},シメイ,1950-01-01,1,,,,,,,1," for no in ("1", "2", "3", "4")]
    taxpayers_import(municipality=municipality, path=write_csv(TAXPAYER_HEADER, people))
    levies_import(
        municipality=municipality,
        path=write_csv(
            LEVY_HEADER,
            [
                "05,2015,1,1,1,2015-06-01,7200,",  # settled in 2015: past 7 years → deleted
                "05,2015,2,2,1,2015-06-01,7200,",  # never paid: arrears → kept
                "05,2022,3,3,1,2022-05-31,7200,",  # settled in 2022: within retention → kept
                "05,2015,4,4,1,2015-06-01,7200,",  # paid twice: overpayment held → kept
            ],
        ),
        booking_date=LEVIES_LOADED_ON,
    )
    pay(municipality, "1", 7200, date(2015, 5, 20))
    pay(municipality, "3", 7200, date(2022, 5, 20))
    pay(municipality, "4", 7200, date(2015, 5, 20))
    inst = Installment.objects.get(levy__notice_no="4")
    post(
        municipality=municipality,
        kind=TxnKind.PAYMENT,
        legal_date=date(2015, 5, 21),
        booking_date=date(2015, 5, 21),
        legs=[
            Leg(Account.CASH, 7200, taxpayer_id=inst.taxpayer_id),
            Leg(Account.OVERPAYMENT, -7200, taxpayer_id=inst.taxpayer_id),
        ],
    )
    return municipality


def purge(*args: str, as_of: str = "2026-11-26") -> dict[str, Any]:
    """A dry run directly; a real purge as production runs it: requested by one person, approved by
    another (issue 14 §6)."""
    if "--dry-run" not in args:
        return purge_with_approval(Municipality.objects.get(), as_of, *args)
    out = StringIO()
    call_command("purge", "--as-of", as_of, "--json", *args, stdout=out)
    return json.loads(out.getvalue().strip().splitlines()[-1])


def test_a_dry_run_reports_without_deleting(city: Any) -> None:
    report = purge("--dry-run")
    assert (report["examined"], report["deleted"], report["kept"]) == (4, 1, 3)
    assert report["kept_reasons"] == {"arrears": 1, "within_retention": 1, "overpayment_held": 1}
    assert Taxpayer.objects.count() == 4
    with Path(report["report_file"]).open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert [(r["taxpayer_no"], r["action"]) for r in rows] == [("1", "would_delete")]


def test_purge_deletes_only_people_past_retention_and_spares_every_live_arrear(city: Any) -> None:
    report = purge()
    assert report["deleted"] == 1
    assert sorted(Taxpayer.objects.values_list("taxpayer_no", flat=True)) == ["2", "3", "4"]
    assert not LedgerEntry.objects.filter(taxpayer__taxpayer_no="1").exists()
    out = StringIO()
    call_command("verify_ledger", "--json", stdout=out)
    assert json.loads(out.getvalue().strip().splitlines()[-1])["ok"] is True
    assert AuditLog.objects.filter(function="保存期間経過データ消去").exists()


def test_purging_twice_deletes_nothing_more(city: Any) -> None:
    purge()
    again = purge()
    assert (again["examined"], again["deleted"]) == (3, 0)


def test_the_audit_log_keeps_its_own_retention_and_still_verifies(city: Any, settings: Any) -> None:
    from datetime import timedelta

    from django.utils import timezone

    settings.CHOSHU_AUDIT_RETENTION_YEARS = 0  # everything before the as-of date counts as old
    before = AuditLog.objects.count()
    report = purge(as_of=(timezone.localdate() + timedelta(days=2)).isoformat())
    assert report["audit_deleted"] >= before - 1
    out = StringIO()
    call_command("audit_verify", "--json", stdout=out)
    assert json.loads(out.getvalue().strip().splitlines()[-1])["ok"] is True


def _slip(taxpayer_no: str) -> dict[str, Any]:
    out = StringIO()
    call_command("slips", "--taxpayer", taxpayer_no, "--json", stdout=out)
    return json.loads(out.getvalue().strip().splitlines()[-1])["slips"][0]


def test_a_purged_person_s_payment_transactions_go_whole_and_no_one_else_s_row_changes(
    municipality: Any, write_csv: Callable
) -> None:
    """The import's fast lane books one day's receipts as one transaction with one cash entry: purging
    one payer removes only that payer's entries and shrinks the cash entry by what they paid."""
    from choshu.formats.payments import BANK_HEADER
    from choshu.levies.models import LedgerTransaction
    from choshu.receipts.models import Payment

    people = [f"{no},individual,氏名{no},シメイ,1950-01-01,1,,,,,,,1," for no in ("1", "2")]
    taxpayers_import(municipality=municipality, path=write_csv(TAXPAYER_HEADER, people))
    levies_import(
        municipality=municipality,
        path=write_csv(
            LEVY_HEADER,
            [
                "05,2015,1,1,1,2015-06-01,7200,",  # settled in 2015: past 7 years → deleted
                "05,2015,2,2,1,2015-06-01,9600,",  # paid on the same day, in part: arrears → kept
            ],
        ),
        booking_date=LEVIES_LOADED_ON,
    )
    one, two = _slip("1"), _slip("2")
    lines = [
        f"{one['ocr_lower']},7200,2015-05-20,0001,123,2015-05-20",
        f"{two['ocr_lower']},4800,2015-05-20,0001,123,2015-05-20",
    ]
    out = StringIO()
    call_command(
        "import_payments",
        "--channel",
        "bank",
        str(write_csv(",".join(BANK_HEADER), lines)),
        "--json",
        stdout=out,
    )
    gone_txn, kept_txn = Payment.objects.order_by("amount").values_list("txn_id", flat=True)[:2][::-1]
    assert gone_txn != kept_txn  # one transaction per payment: none is shared by the two people
    # Every row not of person 1 (every entry of a person's transactions names that person).
    kept_rows = sorted(
        LedgerEntry.objects.exclude(taxpayer__taxpayer_no="1").values_list("id", "txn_id", "amount")
    )

    report = purge()
    assert (report["deleted"], report["kept_reasons"]) == (1, {"arrears": 1})
    assert list(Payment.objects.values_list("amount", "txn_id")) == [(4800, kept_txn)]
    assert not LedgerTransaction.objects.filter(pk=gone_txn).exists()
    assert sorted(LedgerEntry.objects.filter(txn_id=kept_txn).values_list("account", "amount")) == [
        ("cash", 4800),
        ("receivable", -4800),
    ]
    # Every remaining row is exactly as it was posted (nothing updated, only whole transactions went).
    assert sorted(LedgerEntry.objects.values_list("id", "txn_id", "amount")) == kept_rows
    out = StringIO()
    call_command("verify_ledger", "--json", stdout=out)
    assert json.loads(out.getvalue().strip().splitlines()[-1])["ok"] is True
