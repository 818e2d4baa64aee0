"""``choshu import-levies`` (interchange.md §2), corrections (更正), balances and ``verify-ledger``."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from conftest import LEVY_HEADER
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.utils import timezone

from choshu.levies.ledger import Leg, post
from choshu.levies.models import (
    Account,
    Component,
    Installment,
    LedgerEntry,
    LedgerTransaction,
    Levy,
    TxnKind,
)


def cmd(name: str, *args: str) -> dict[str, Any]:
    out = StringIO()
    call_command(name, *args, stdout=out)
    return json.loads(out.getvalue().strip().splitlines()[-1])


def balances(taxpayer: str, as_of: str = "2026-11-26") -> dict[str, Any]:
    return cmd("balances", "--taxpayer", taxpayer, "--as-of", as_of, "--json")


def state() -> list[Any]:
    return [
        list(Levy.objects.order_by("pk").values()),
        list(Installment.objects.order_by("pk").values()),
        list(LedgerEntry.objects.order_by("pk").values()),
    ]


def test_levies_are_booked_as_balanced_ledger_transactions(sample_city: Any) -> None:
    assert LedgerTransaction.objects.filter(kind=TxnKind.LEVY).count() == 5
    for txn in LedgerTransaction.objects.all():
        assert sum(e.amount for e in txn.entries.all()) == 0
    report = cmd("verify_ledger", "--json")
    assert report["ok"] is True and report["installments"] == 5


def test_balances_list_every_installment_with_principal_paid_and_outstanding(sample_city: Any) -> None:
    b = balances("1001")
    assert [(i["tax_item"], i["installment_no"], i["principal"]) for i in b["installments"]] == [
        ("01", 1, 30000),
        ("01", 2, 29000),
        ("04", 1, 12000),
    ]
    first = b["installments"][0]
    assert first == {
        "tax_item": "01",
        "levy_year": 2024,
        "notice_no": "100001",
        "installment_no": 1,
        "due_date": "2024-07-01",
        "principal": 30000,
        "principal_paid": 0,
        "principal_outstanding": 30000,
        # 2024-07-02..08-01 31 d × 2.4 % = 61; ..12-31 152 d × 8.7 % = 1,086; 2025 365 d × 8.7 % = 2,610;
        # 2026-01-01..11-26 330 d × 9.1 % = 2,468 → 6,225 → 6,200 (地方税法326条, 附則3条の2)
        "late_charge_accrued": 6200,
    }
    # 29,000 due 2024-09-02: 57 + 622 + 2,523 + 2,385 = 5,587 → 5,500;
    # 12,000 due 2024-04-30: 24 + 612 + 1,044 + 987 = 2,667 → 2,600.
    assert [i["late_charge_accrued"] for i in b["installments"]] == [6200, 5500, 2600]
    assert b["totals"] == {
        "principal": 71000,
        "principal_paid": 0,
        "principal_outstanding": 71000,
        "late_charge_accrued": 14300,
    }


def test_balances_include_the_late_charge_accrued_as_of_the_date(sample_city: Any) -> None:
    # 30,000 yen due 2024-07-01, unpaid on 2025-03-31 (地方税法326条, 附則3条の2; rates 2.4 % / 8.7 %):
    # 2024-07-02..08-01 31 days at 2.4 % = 61; 08-02..12-31 152 days at 8.7 % = 1,086;
    # 2025-01-01..03-31 90 days at 8.7 % = 643; 1,790 truncated to 100 yen = 1,700.
    row = balances("1001", "2025-03-31")["installments"][0]
    assert row["late_charge_accrued"] == 1700
    # Nothing accrues up to the due date itself.
    assert balances("1001", "2024-07-01")["installments"][0]["late_charge_accrued"] == 0


def test_a_payment_stops_the_late_charge_on_the_part_paid(sample_city: Any) -> None:
    from datetime import date

    inst = Installment.objects.get(levy__notice_no="100001", installment_no=1)
    post(
        municipality=sample_city,
        kind=TxnKind.PAYMENT,
        legal_date=date(2024, 12, 31),
        booking_date=date(2025, 1, 6),
        legs=[
            Leg(Account.CASH, 30000, taxpayer_id=inst.taxpayer_id),
            Leg(Account.RECEIVABLE, -30000, Component.PRINCIPAL, inst),
        ],
    )
    # Paid in full on 2024-12-31: 61 + 1,086 = 1,147 → 1,100, and it no longer grows.
    assert balances("1001", "2025-03-31")["installments"][0]["late_charge_accrued"] == 1100
    assert balances("1001", "2026-11-26")["installments"][0]["late_charge_accrued"] == 1100


def test_reimporting_the_same_file_changes_nothing(sample_city: Any, write_csv: Callable) -> None:
    rows = ["01,2024,100001,1001,1,2024-07-01,30000,", "05,2024,500001,1002,1,2024-05-31,10800,"]
    before = state()
    summary = cmd("import_levies", str(write_csv(LEVY_HEADER, rows)), "--json")
    assert (summary["created"], summary["corrections"], summary["unchanged"]) == (0, 0, 2)
    assert state() == before


def test_a_changed_principal_books_a_correction_never_an_edit(sample_city: Any, write_csv: Callable) -> None:
    entries_before = list(LedgerEntry.objects.order_by("pk").values())
    summary = cmd(
        "import_levies", str(write_csv(LEVY_HEADER, ["01,2024,100001,1001,1,2024-07-01,26500,"])), "--json"
    )
    assert summary["corrections"] == 1
    assert list(LedgerEntry.objects.order_by("pk").values())[: len(entries_before)] == entries_before
    correction = LedgerTransaction.objects.get(kind=TxnKind.CORRECTION)
    # Without --booking-date the command books on today in the city's time zone.
    assert correction.legal_date == correction.booking_date == timezone.localdate()
    receivable = correction.entries.get(account=Account.RECEIVABLE)
    assert receivable.amount == -3500 and receivable.component == Component.PRINCIPAL
    assert balances("1001")["installments"][0]["principal"] == 26500
    assert cmd("verify_ledger", "--json")["ok"] is True


def test_levies_and_corrections_are_booked_on_the_booking_date_given(
    sample_city: Any, write_csv: Callable
) -> None:
    rows = ["01,2024,100001,1001,1,2024-07-01,26500,", "01,2025,100002,1001,1,2025-07-01,1000,"]
    summary = cmd(
        "import_levies", str(write_csv(LEVY_HEADER, rows)), "--booking-date", "2025-04-01", "--json"
    )
    dates = set(
        LedgerTransaction.objects.filter(job_id=summary["job_id"]).values_list(
            "kind", "legal_date", "booking_date"
        )
    )
    assert dates == {
        (TxnKind.LEVY, date(2025, 4, 1), date(2025, 4, 1)),
        (TxnKind.CORRECTION, date(2025, 4, 1), date(2025, 4, 1)),
    }


def test_a_malformed_booking_date_is_refused_before_anything_is_read(
    sample_city: Any, write_csv: Callable
) -> None:
    path = write_csv(LEVY_HEADER, ["01,2025,100002,1001,1,2025-07-01,1000,"])
    with pytest.raises(CommandError, match="--booking-date"):
        call_command("import_levies", str(path), "--booking-date", "2025-02-30")
    assert not Levy.objects.filter(notice_no="100002").exists()


def test_a_correction_below_the_amount_paid_creates_an_overpayment(
    sample_city: Any, write_csv: Callable
) -> None:
    inst = Installment.objects.get(levy__notice_no="100001", installment_no=1)
    post(
        municipality=sample_city,
        kind=TxnKind.PAYMENT,
        legal_date=inst.due_date,
        booking_date=inst.due_date,
        legs=[
            Leg(Account.CASH, 30000, taxpayer_id=inst.taxpayer_id),
            Leg(Account.RECEIVABLE, -30000, Component.PRINCIPAL, inst),
        ],
    )
    path = write_csv(LEVY_HEADER, ["01,2024,100001,1001,1,2024-07-01,20000,"])
    cmd("import_levies", str(path), "--booking-date", "2024-10-01", "--json")
    # The correction and its 過誤納 are booked on the import's booking date.
    row = balances("1001", "2024-10-01")["installments"][0]
    assert (row["principal"], row["principal_paid"], row["principal_outstanding"]) == (20000, 20000, 0)
    overpaid = LedgerEntry.objects.filter(account=Account.OVERPAYMENT, taxpayer_id=inst.taxpayer_id)
    assert sum(e.amount for e in overpaid) == -10000
    assert cmd("verify_ledger", "--json")["ok"] is True


def test_balances_as_of_a_date_count_only_payments_received_by_then(sample_city: Any) -> None:
    inst = Installment.objects.get(levy__notice_no="100001", installment_no=1)
    from datetime import date

    post(
        municipality=sample_city,
        kind=TxnKind.PAYMENT,
        legal_date=date(2024, 8, 15),
        booking_date=date(2024, 8, 16),
        legs=[
            Leg(Account.CASH, 10000, taxpayer_id=inst.taxpayer_id),
            Leg(Account.RECEIVABLE, -10000, Component.PRINCIPAL, inst),
        ],
    )
    assert balances("1001", "2024-08-14")["installments"][0]["principal_paid"] == 0
    assert balances("1001", "2024-08-15")["installments"][0]["principal_paid"] == 10000
    assert balances("1001", "2024-08-15")["totals"]["principal_outstanding"] == 61000


BAD = [
    # 07 was refused here before issue 12; it is now 国民健康保険税, a tax item of every municipality.
    ("99,2024,1,1001,1,2024-07-01,100,", "tax_item"),  # not in the municipality's 税目マスタ
    ("1,2024,1,1001,1,2024-07-01,100,", "tax_item"),  # not 2 characters
    ("01,24,1,1001,1,2024-07-01,100,", "levy_year"),
    ("01,2024,1,1001,1,2024-13-01,100,", "due_date"),
    ("01,2024,1,1001,1,2024-07-01,1.000,", "principal"),
    ("01,2024,1,1001,1,2024-07-01,１００,", "principal"),
    ("01,2024,1,1001,1,2024-07-01,-5,", "principal"),
    ("01,2024,1,9999,1,2024-07-01,100,", "taxpayer_no"),
    ("01,2024,1,1001,1,2024-07-01,100,1234567890123456", "slip_no"),
    ("01,2024,100001,1002,3,2024-07-01,100,", "taxpayer_no"),  # notice already booked to 1001
    ("01,2024,1,1001,1,2024-07-01", ""),
]


@pytest.mark.parametrize(("row", "column"), BAD)
def test_a_malformed_row_refuses_the_whole_file_and_writes_nothing(
    sample_city: Any, write_csv: Callable, row: str, column: str
) -> None:
    before = state()
    path = write_csv(LEVY_HEADER, ["06,2024,600001,2001,1,2024-05-31,500000,", row])
    out = StringIO()
    with pytest.raises(CommandError) as exc:
        call_command("import_levies", str(path), "--json", stdout=out)
    assert exc.value.returncode == 2
    payload = json.loads(out.getvalue().strip().splitlines()[-1])
    assert payload["errors"][0]["line"] == 3 and payload["errors"][0]["column"] == column
    assert state() == before


def test_a_duplicated_installment_key_in_one_file_is_refused(sample_city: Any, write_csv: Callable) -> None:
    before = state()
    path = write_csv(LEVY_HEADER, ["06,2024,600001,2001,1,2024-05-31,500000,"] * 2)
    with pytest.raises(CommandError):
        cmd("import_levies", str(path), "--json")
    assert state() == before


def _tamperer(cur: Any) -> None:
    """On PostgreSQL the ledger's triggers refuse any change: a tamperer must switch them off first
    (only the tables' owner can), as these tests do to prove verify-ledger still finds the change."""
    if connection.vendor == "postgresql":
        cur.execute("ALTER TABLE levies_ledgerentry DISABLE TRIGGER USER")


def test_verify_ledger_reports_a_tampered_cache_and_an_unbalanced_transaction(sample_city: Any) -> None:
    inst = Installment.objects.get(levy__notice_no="100001", installment_no=1)
    Installment.objects.filter(pk=inst.pk).update(principal_outstanding=1)
    entry = LedgerEntry.objects.filter(account=Account.LEVIED).first()
    assert entry is not None
    with connection.cursor() as cur:
        _tamperer(cur)
        cur.execute("UPDATE levies_ledgerentry SET amount = amount + 1 WHERE id = %s", [entry.pk])
    out = StringIO()
    with pytest.raises(SystemExit) as exc:
        call_command("verify_ledger", "--json", stdout=out)
    assert exc.value.code == 1
    report = json.loads(out.getvalue().strip().splitlines()[-1])
    kinds = {(p["kind"], p["id"]) for p in report["problems"]}
    assert ("cache_mismatch", inst.pk) in kinds and ("unbalanced_transaction", entry.txn_id) in kinds


def test_verify_ledger_reports_references_the_database_does_not_enforce(sample_city: Any) -> None:
    """The bulk tables have no FK constraints (db_constraint=False): verify-ledger finds orphans."""
    entry = LedgerEntry.objects.filter(account=Account.RECEIVABLE).first()
    assert entry is not None
    missing = Installment.objects.order_by("-id").values_list("id", flat=True)[0] + 1000
    with connection.cursor() as cur:
        _tamperer(cur)
        cur.execute("UPDATE levies_ledgerentry SET installment_id = %s WHERE id = %s", [missing, entry.pk])
    out = StringIO()
    with pytest.raises(SystemExit) as exc:
        call_command("verify_ledger", "--json", stdout=out)
    assert exc.value.code == 1
    report = json.loads(out.getvalue().strip().splitlines()[-1])
    orphans = [p for p in report["problems"] if p["kind"] == "orphan_reference"]
    assert [(p["id"], "levies_ledgerentry.installment_id" in p["detail"]) for p in orphans] == [
        (entry.pk, True)
    ]


def test_an_unbalanced_posting_is_refused_before_anything_is_written(sample_city: Any) -> None:
    from datetime import date

    from choshu.levies.ledger import UnbalancedTransaction

    inst = Installment.objects.first()
    before = state()
    with pytest.raises(UnbalancedTransaction):
        post(
            municipality=sample_city,
            kind=TxnKind.PAYMENT,
            legal_date=date(2024, 1, 1),
            booking_date=date(2024, 1, 1),
            legs=[Leg(Account.CASH, 100), Leg(Account.RECEIVABLE, -99, Component.PRINCIPAL, inst)],
        )
    assert state() == before


def test_balances_for_an_unknown_taxpayer_exit_2(sample_city: Any) -> None:
    with pytest.raises(CommandError) as exc:
        balances("424242")
    assert exc.value.returncode == 2


def test_levy_files_written_in_cp932_are_accepted(sample_city: Any, write_csv: Callable) -> None:
    path: Path = write_csv(LEVY_HEADER, ["06,2024,600001,2001,1,2024-05-31,500000,"], encoding="cp932")
    assert cmd("import_levies", str(path), "--json")["created"] == 1


def _refusal(path: Path) -> dict[str, Any]:
    out = StringIO()
    with pytest.raises(CommandError) as exc:
        call_command("import_levies", str(path), "--json", stdout=out)
    assert exc.value.returncode == 2
    return json.loads(out.getvalue().strip().splitlines()[-1])


def test_a_notice_with_two_taxpayer_numbers_in_one_file_is_refused_at_the_later_row(
    sample_city: Any, write_csv: Callable
) -> None:
    before = state()
    rows = ["06,2024,600001,2001,1,2024-05-31,500000,", "06,2024,600001,1001,2,2024-08-31,500000,"]
    error = _refusal(write_csv(LEVY_HEADER, rows))["errors"][0]
    assert (error["line"], error["column"]) == (3, "taxpayer_no") and "2行目" in error["reason"]
    assert state() == before


def test_a_slip_number_twice_in_one_file_is_refused_at_the_later_row(
    sample_city: Any, write_csv: Callable
) -> None:
    from choshu.rules.check_digits import make_slip_no

    slip = make_slip_no("123456789012345")
    before = state()
    rows = [
        f"06,2024,600001,2001,1,2024-05-31,500000,{slip}",
        f"06,2024,600001,2001,2,2024-08-31,500000,{slip}",
    ]
    errors = _refusal(write_csv(LEVY_HEADER, rows))["errors"]
    assert [(e["line"], e["column"]) for e in errors] == [(3, "slip_no")] and "2行目" in errors[0]["reason"]
    assert state() == before


def test_each_in_file_check_sees_only_the_rows_the_previous_ones_passed(
    sample_city: Any, write_csv: Callable
) -> None:
    """Line 3 repeats line 2's key (refused for that alone); line 4 then is the notice's second row and
    its 宛名番号 differs from line 2's; line 5 repeats line 2's slip number."""
    from choshu.rules.check_digits import make_slip_no

    slip = make_slip_no("123456789012345")
    rows = [
        f"06,2024,600001,2001,1,2024-05-31,500000,{slip}",
        f"06,2024,600001,1001,1,2024-05-31,500000,{slip}",
        "06,2024,600001,1001,2,2024-08-31,500000,",
        f"06,2024,600002,2001,1,2024-05-31,500000,{slip}",
    ]
    errors = _refusal(write_csv(LEVY_HEADER, rows))["errors"]
    assert [(e["line"], e["column"]) for e in errors] == [
        (3, "installment_no"),
        (4, "taxpayer_no"),
        (5, "slip_no"),
    ]


def test_a_change_file_books_corrections_and_updates_due_dates_in_one_import(
    sample_city: Any, write_csv: Callable
) -> None:
    rows = [
        "01,2024,100001,1001,1,2024-07-01,26500,",  # 更正
        "05,2024,500001,1002,1,2024-06-28,10800,",  # new due date only
        "05,2025,500002,1002,1,2025-06-02,10800,",  # a new levy
    ]
    summary = cmd(
        "import_levies", str(write_csv(LEVY_HEADER, rows)), "--booking-date", "2025-04-01", "--json"
    )
    assert (summary["created"], summary["corrections"], summary["updated"], summary["unchanged"]) == (
        1,
        1,
        1,
        0,
    )
    assert summary["levies_created"] == 1 and summary["amount_corrected"] == -3500
    assert summary["amount_levied"] == 10800
    moved = Installment.objects.get(levy__notice_no="500001", installment_no=1)
    assert moved.due_date == date(2024, 6, 28) and moved.principal_levied == 10800
    new = Installment.objects.get(levy__notice_no="500002")
    assert new.slip_no and new.slip_no.startswith("9")  # the system's 納付番号
    assert cmd("verify_ledger", "--json")["ok"] is True
