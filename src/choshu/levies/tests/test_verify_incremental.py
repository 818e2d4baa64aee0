"""``choshu verify-ledger`` checkpoints and ``--incremental``: only what was posted since is read."""

from __future__ import annotations

import json
from collections.abc import Callable
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection

from choshu.formats.payments import BANK_HEADER
from choshu.levies.ledger import purge_transactions
from choshu.levies.models import (
    Account,
    Installment,
    LedgerCheckpoint,
    LedgerEntry,
    LedgerTransaction,
    VerifiedBalance,
)
from choshu.levies.verify import forget_installments
from choshu.receipts.models import Payment


def verify(*args: str) -> tuple[int, dict[str, Any]]:
    out = StringIO()
    code = 0
    try:
        call_command("verify_ledger", "--json", *args, stdout=out)
    except SystemExit as exc:
        code = int(exc.code or 0)
    return code, json.loads(out.getvalue().strip().splitlines()[-1])


def pay(write_csv: Callable, rows: list[tuple[str, int, str]]) -> None:
    """A bank file paying (notice no, amount, date) per row, through the real import."""
    lines = []
    for notice, amount, paid in rows:
        out = StringIO()
        call_command("slips", "--taxpayer", _taxpayer_of(notice), "--json", stdout=out)
        slips = json.loads(out.getvalue().strip().splitlines()[-1])["slips"]
        slip = next(s for s in slips if s["slip_no"] == _inst(notice).slip_no)
        lines.append(f"{slip['ocr_lower']},{amount},{paid},0001,123,{paid}")
    call_command(
        "import_payments",
        "--channel",
        "bank",
        str(write_csv(",".join(BANK_HEADER), lines)),
        stdout=StringIO(),
    )


def _inst(notice: str) -> Installment:
    return Installment.objects.get(levy__notice_no=notice, installment_no=1)


def _taxpayer_of(notice: str) -> str:
    return str(_inst(notice).taxpayer.taxpayer_no)


def caches() -> dict[int, tuple[int, int, int]]:
    return {
        i.pk: (i.principal_levied, i.principal_paid, i.principal_outstanding)
        for i in Installment.objects.all()
    }


def stored() -> dict[int, tuple[int, int, int]]:
    return {
        v.installment_id: (v.principal_levied, v.principal_paid, v.principal_outstanding)
        for v in VerifiedBalance.objects.all()
    }


def test_the_full_check_records_a_checkpoint_and_every_closing_balance(sample_city: Any) -> None:
    code, report = verify()
    assert code == 0 and report["ok"] is True and report["mode"] == "full"
    cp = LedgerCheckpoint.objects.get()
    assert (cp.kind, cp.municipality_id, cp.job is not None) == ("full", sample_city.pk, True)
    assert cp.through_txn_id == max(LedgerTransaction.objects.values_list("id", flat=True))
    assert (
        report["checkpoint"]["advanced"] is True
        and report["checkpoint"]["through_txn_id"] == cp.through_txn_id
    )
    assert stored() == caches() and len(stored()) == 5


def test_incremental_without_a_checkpoint_runs_the_full_check(sample_city: Any) -> None:
    code, report = verify("--incremental")
    assert code == 0 and report["mode"] == "full" and "検証点がない" in report["note"]
    assert LedgerCheckpoint.objects.get().kind == "full"


def test_incremental_after_imports_reads_only_what_is_new(sample_city: Any, write_csv: Callable) -> None:
    verify()
    before = LedgerCheckpoint.objects.get().through_txn_id
    pay(write_csv, [("100001", 30000, "2024-06-28"), ("500001", 5000, "2024-05-20")])
    new_txns = LedgerTransaction.objects.filter(id__gt=before)
    assert 0 < new_txns.count() < LedgerTransaction.objects.count()
    code, report = verify("--incremental")
    assert code == 0 and report["ok"] is True and report["mode"] == "incremental"
    # What it examined is what was posted since the checkpoint, not the ledger.
    assert report["transactions"] == new_txns.count()
    assert report["entries"] == LedgerEntry.objects.filter(txn_id__gt=before).count()
    assert (report["installments"], report["payments"]) == (2, 2)
    cp = LedgerCheckpoint.objects.order_by("-id").first()
    assert cp is not None and cp.kind == "incremental" and cp.through_txn_id > before
    assert report["checkpoint"] == {
        "advanced": True,
        "through_txn_id": cp.through_txn_id,
        "previous_through_txn_id": before,
        "id": cp.pk,
    }
    assert stored() == caches()
    # Nothing new: nothing read, the checkpoint stays.
    code, report = verify("--incremental")
    assert code == 0 and (
        report["transactions"],
        report["entries"],
        report["installments"],
        report["payments"],
    ) == (
        0,
        0,
        0,
        0,
    )
    assert report["checkpoint"]["advanced"] is False and LedgerCheckpoint.objects.count() == 2
    # A second payment on an installment already stored: stored + new = cache.
    pay(write_csv, [("500001", 5800, "2024-05-25")])
    code, report = verify("--incremental")
    assert code == 0 and (report["installments"], report["payments"]) == (1, 1)
    assert stored() == caches()
    assert verify()[0] == 0


def _tamperer(cur: Any) -> None:
    """On PostgreSQL the ledger's triggers refuse any change: a tamperer must switch them off first
    (only the tables' owner can), as these tests do to prove the check still finds the change."""
    if connection.vendor == "postgresql":
        cur.execute("ALTER TABLE levies_ledgerentry DISABLE TRIGGER USER")


def test_incremental_reports_a_tampered_cache_and_an_unbalanced_transaction_posted_since(
    sample_city: Any, write_csv: Callable
) -> None:
    verify()
    count = LedgerCheckpoint.objects.count()
    pay(write_csv, [("100001", 30000, "2024-06-28")])
    inst = _inst("100001")
    payment = Payment.objects.get()
    receivable = LedgerEntry.objects.get(payment=payment, account=Account.RECEIVABLE)
    with connection.cursor() as cur:
        _tamperer(cur)
        cur.execute("UPDATE levies_installment SET principal_paid = 1 WHERE id = %s", [inst.pk])
        cur.execute("UPDATE levies_ledgerentry SET amount = amount + 1 WHERE id = %s", [receivable.pk])
        cur.execute("UPDATE receipts_payment SET allocated = allocated - 1 WHERE id = %s", [payment.pk])
    code, report = verify("--incremental")
    assert code == 1 and report["ok"] is False
    kinds = {(p["kind"], p["id"]) for p in report["problems"]}
    assert ("cache_mismatch", inst.pk) in kinds
    assert ("unbalanced_transaction", receivable.txn_id) in kinds
    assert ("payment_split", payment.pk) in kinds
    # A run with problems records nothing: the next run checks the same rows again.
    assert LedgerCheckpoint.objects.count() == count and verify("--incremental")[0] == 1


def test_incremental_reports_new_orphans_and_entries_added_to_verified_transactions(
    sample_city: Any, write_csv: Callable
) -> None:
    verify()
    old = LedgerEntry.objects.filter(account=Account.LEVIED).order_by("id").first()
    assert old is not None
    pay(write_csv, [("100001", 30000, "2024-06-28")])
    new = LedgerEntry.objects.get(payment__isnull=False, account=Account.RECEIVABLE)
    with connection.cursor() as cur:
        _tamperer(cur)
        cur.execute("UPDATE levies_ledgerentry SET taxpayer_id = 999999 WHERE id = %s", [new.pk])
    # An entry appended to a transaction the checkpoint proved (append-only broken), balanced in itself.
    LedgerEntry.objects.bulk_create(
        [
            LedgerEntry(municipality=sample_city, txn_id=old.txn_id, account=Account.CASH, amount=5),
            LedgerEntry(municipality=sample_city, txn_id=old.txn_id, account=Account.LEVIED, amount=-5),
        ]
    )
    code, report = verify("--incremental")
    assert code == 1
    kinds = [(p["kind"], p["id"]) for p in report["problems"]]
    assert ("orphan_reference", new.pk) in kinds
    assert [k for k, _ in kinds].count("entry_after_checkpoint") == 2


def test_old_rows_are_the_full_checks_to_prove(sample_city: Any, write_csv: Callable) -> None:
    """The incremental check does not re-read what a checkpoint proved: tampering there is found by the
    full check (run it before an audit)."""
    verify()
    old = LedgerEntry.objects.filter(account=Account.LEVIED).order_by("id").first()
    assert old is not None
    with connection.cursor() as cur:
        _tamperer(cur)
        cur.execute("UPDATE levies_ledgerentry SET amount = amount + 1 WHERE id = %s", [old.pk])
    pay(write_csv, [("500001", 10800, "2024-05-20")])
    assert verify("--incremental")[0] == 0
    code, report = verify()
    assert code == 1 and ("unbalanced_transaction", old.txn_id) in {
        (p["kind"], p["id"]) for p in report["problems"]
    }


def test_forgotten_installments_are_not_reported(sample_city: Any, write_csv: Callable) -> None:
    """The retention purge deletes a person's transactions and installments and calls
    ``forget_installments``: their stored balances go, and the incremental check reports nothing."""
    verify()
    gone = _inst("500001")
    txns = list(LedgerEntry.objects.filter(installment=gone).values_list("txn_id", flat=True))
    assert forget_installments([gone.pk]) == 1
    purge_transactions(txn_ids=set(txns), taxpayer_ids={gone.taxpayer_id})
    gone.delete()
    assert gone.pk not in stored()
    pay(write_csv, [("100001", 30000, "2024-06-28")])
    code, report = verify("--incremental")
    assert code == 0 and report["ok"] is True
    assert stored() == caches()


def test_a_municipality_checkpoint_is_its_own(sample_city: Any, other_municipality: Any) -> None:
    code, report = verify("--municipality", "112038")
    assert code == 0 and LedgerCheckpoint.objects.get().municipality_id == sample_city.pk
    # The other municipality has none yet: a whole-installation incremental run starts with a full one.
    code, report = verify("--incremental")
    assert code == 0 and report["mode"] == "full"
    assert set(LedgerCheckpoint.objects.values_list("municipality_id", flat=True)) == {
        sample_city.pk,
        other_municipality.pk,
    }
    code, report = verify("--incremental")
    assert code == 0 and report["mode"] == "incremental" and report["transactions"] == 0


@pytest.mark.parametrize("args", [(), ("--incremental",)])
def test_verification_keeps_the_json_shape(sample_city: Any, args: tuple[str, ...]) -> None:
    verify()
    code, report = verify(*args)
    assert code == 0
    assert {"ok", "mode", "transactions", "installments", "checkpoint", "problems"} <= set(report)
