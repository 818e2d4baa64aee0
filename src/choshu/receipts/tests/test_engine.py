"""The payment engine decides every record once, in file order, with state carried from record to record.

Every generated file is imported whole, and — from the same starting state — one record per file
(each import then reads the state back from the database): the resulting payments, their ledger
entries, installment caches and suspense items must be the same (ids aside). A wrong carry of state
inside a file (an installment reached twice, a reference repeated) makes them differ.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
from collections.abc import Callable
from datetime import date
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from choshu.formats.payments import BANK_HEADER, CONVENI_HEADER, ELTAX_HEADER
from choshu.levies.models import Installment, LedgerEntry
from choshu.receipts import services
from choshu.receipts.models import Payment, SuspenseItem
from choshu.receipts.slips import combined_slip_issue, taxpayer_slips
from choshu.taxpayers.models import Taxpayer

PAID = ("2024-04-20", "2024-06-28", "2024-08-15", "2025-03-10")  # before and after the due dates


class Rollback(Exception):
    pass


def _cmd(*args: str) -> dict[str, Any]:
    out = StringIO()
    call_command(*args, "--json", stdout=out)
    return json.loads(out.getvalue().strip().splitlines()[-1])


def _state() -> dict[str, Any]:
    """The outcome in the terms both ways of importing must agree on: every payment with its own
    transaction (kind, dates) and entries, the installments' caches, the suspense queue."""
    payments = {p.pk: p for p in Payment.objects.select_related("txn")}
    own: dict[int, list[tuple[Any, ...]]] = {}
    txn_ids = {p.txn_id for p in payments.values() if p.txn_id}
    for e in LedgerEntry.objects.filter(txn_id__in=txn_ids):
        assert e.payment_id in payments, f"entry {e.pk} ({e.account}) names no payment"
        own.setdefault(e.txn_id, []).append(
            (e.account, e.component, e.installment_id, e.taxpayer_id, e.amount)
        )
    return {
        "payments": sorted(
            (
                p.reference,
                p.status,
                p.amount,
                p.allocated,
                p.overpaid,
                p.suspended,
                p.taxpayer_id,
                p.paid_on,
                p.booked_on,
                p.slip_no,
                p.confirmation_no,
                # (the record's line differs between a whole file and a file of one record)
                json.dumps(
                    {k: v for k, v in p.detail.items() if k != "line"}, sort_keys=True, ensure_ascii=False
                ),
                (p.txn.kind, p.txn.legal_date, p.txn.booking_date) if p.txn else None,
                sorted(own.get(p.txn_id, [])) if p.txn_id else None,
            )
            for p in payments.values()
        ),
        "installments": sorted(
            Installment.objects.values_list(
                "id", "principal_levied", "principal_paid", "principal_outstanding"
            )
        ),
        "suspense": sorted(
            SuspenseItem.objects.values_list("payment__reference", "reason", "amount", "status")
        ),
    }


COUNTS = ("posted", "provisional", "cancelled", "overpaid", "suspense", "already_imported", "amount_total",
          "amount_posted", "amount_overpaid", "amount_suspense")  # fmt: skip


def _import_both(
    channel: str, header: str, lines: list[str], write_csv: Callable, encoding: str = "utf-8",
    before: Callable[[], Any] | None = None,
) -> tuple[Any, Any]:  # fmt: skip
    """((counts, state) of the file imported whole, (counts, state) of its records imported one file
    each), from the same starting state (``before`` runs first, inside the same rolled-back transaction).
    A refused whole file gives ``None`` (its records one by one are then not compared)."""
    results: list[Any] = []
    for whole in (True, False):
        try:
            with transaction.atomic():
                if before is not None:
                    before()
                files = [lines] if whole else [[line] for line in lines]
                counts = dict.fromkeys(COUNTS, 0)
                for part in files:
                    try:
                        summary = _cmd("import_payments", "--channel", channel,
                                       str(write_csv(header, part, encoding=encoding)))  # fmt: skip
                    except CommandError:
                        if whole:
                            results.append(None)
                            raise Rollback from None
                        continue
                    for key in COUNTS:
                        counts[key] += summary[key]
                results.append((counts, _state()))
                raise Rollback
        except Rollback:
            pass
        if results[0] is None:
            return None, None
    return results[0], results[1]


@pytest.fixture
def city_slips(sample_city: Any) -> dict[str, Any]:
    taro = Taxpayer.objects.get(taxpayer_no="1001")
    inst = Installment.objects.get(levy__notice_no="100001", installment_no=2)
    other = Installment.objects.get(levy__notice_no="400001")
    combined = combined_slip_issue(
        municipality=sample_city,
        installments=[inst, other],
        amount=41000,
        pay_by=date(2026, 12, 31),
        issued_on=date(2026, 11, 30),
    )
    found = [s.as_dict() for s in taxpayer_slips(sample_city, taro.pk)]
    for no in ("1002", "2001"):
        found += _cmd("slips", "--taxpayer", no)["slips"]
    # A slip number the city never issued (a valid check digit, no installment), with the codes a bank
    # or store would read from it: suspense. (Before, only slip_no was replaced and the OCR line still
    # paid found[0].)
    from choshu.formats.slipcodes import slip_codes
    from choshu.rules.check_digits import make_slip_no

    unknown_no = make_slip_no("999999999999999")
    codes = slip_codes(
        slip_no=unknown_no,
        confirmation_no="0000",
        amount=30000,
        pay_by=None,
        tax_item="01",
        company_code="912345",
        client_code="11203",
        agency_no="11203",
    )
    unknown = {"slip_no": unknown_no, "amount": 30000, "ocr_lower": codes.ocr_lower, "barcode": codes.barcode}
    return {"slips": found, "combined": combined.slip_no, "unknown": unknown}


def _bank_line(slip: dict[str, Any], amount: int, paid: str, wrong_conf: bool) -> str:
    ocr = slip["ocr_lower"]
    if wrong_conf:  # same OCR layout, another 確認番号: the check digits are recomputed
        from choshu.rules.check_digits import ocr_check_digits

        body = ocr[2:29] + f"{(int(ocr[29:33]) + 1) % 10000:04d}" + ocr[33:]
        ocr = ocr_check_digits(body) + body
    return f"{ocr},{amount},{paid},0001,123,{paid}"


bank_record = st.tuples(
    st.integers(0, 7),  # which slip (index into the city's slips; 7 = unknown)
    st.sampled_from(["exact", "part", "over", "tiny"]),
    st.sampled_from(PAID),
    st.booleans(),  # a wrong 確認番号 (on every third slip)
)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(records=st.lists(bank_record, min_size=1, max_size=9), sent_before=st.integers(0, 4))
def test_bank_files_give_the_same_state_whole_and_one_record_at_a_time(
    city_slips: dict[str, Any], write_csv: Callable, records: list[Any], sent_before: int
) -> None:
    slips = [s for s in city_slips["slips"] if s.get("ocr_lower")]
    lines = []
    for which, size, paid, wrong in records:
        slip = slips[which % len(slips)] if which < 7 else city_slips["unknown"]
        amount = {
            "exact": slip["amount"],
            "part": slip["amount"] // 3,
            "over": slip["amount"] + 500,
            "tiny": 7,
        }[size]
        lines.append(_bank_line(slip, max(1, amount), paid, wrong and which % 3 == 0))
    # The same row twice is a second payment only within one file (its reference counts the
    # occurrences): one record per file would make it a file sent again, so rows are unique here.
    lines = list(dict.fromkeys(lines))
    # The bank sent the first ``sent_before`` rows earlier (a file sent again, or overlapping files).
    earlier = write_csv(",".join(BANK_HEADER), lines[:sent_before])
    whole, each = _import_both(
        "bank",
        ",".join(BANK_HEADER),
        lines,
        write_csv,
        before=lambda: sent_before and _cmd("import_payments", "--channel", "bank", str(earlier)),
    )
    assert whole == each


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    records=st.lists(
        st.tuples(st.integers(0, 6), st.sampled_from(["01", "02", "02", "02", "03"]), st.integers(0, 3)),
        min_size=1,
        max_size=8,
    ),
    previously=st.booleans(),
    sent_before=st.integers(0, 4),
)
def test_conveni_files_give_the_same_state_whole_and_one_record_at_a_time(
    city_slips: dict[str, Any], write_csv: Callable, records: list[Any], previously: bool, sent_before: int
) -> None:
    slips = [s for s in city_slips["slips"] if s.get("barcode")]
    header = ",".join(CONVENI_HEADER)

    def row(kind: str, slip: dict[str, Any], store: int) -> str:
        bc = slip["barcode"]
        remit = "20240607" if kind == "02" else "0"
        return f"{kind},20240530,1015,EAN{bc},,,0,{int(bc[37:43])},010,セブンイレブン,{store:07d},{remit},20240530"

    lines = [row(kind, slips[which % len(slips)], store) for which, kind, store in records]
    unique = list(dict.fromkeys(lines))  # the parser refuses a record repeated within one file
    which, _, store = records[0]
    earlier = write_csv(header, [row("01", slips[which % len(slips)], store)], encoding="cp932")

    resent = write_csv(header, unique[:sent_before], encoding="cp932")

    def before() -> None:  # an earlier file with the first record's 速報
        if previously:
            _cmd("import_payments", "--channel", "conveni", str(earlier))
        if sent_before:  # and the first rows of this file, sent before (if that file is accepted)
            with contextlib.suppress(CommandError):
                _cmd("import_payments", "--channel", "conveni", str(resent))

    whole, each = _import_both("conveni", header, unique, write_csv, "cp932", before)
    assert whole == each


def test_a_slip_paid_twice_in_one_file_is_paid_once_and_overpaid_once(
    city_slips: dict[str, Any], write_csv: Callable
) -> None:
    slips = [s for s in city_slips["slips"] if s.get("ocr_lower") and s["slip_no"] != city_slips["combined"]]
    plain = [_bank_line(s, s["amount"], "2024-06-28", False) for s in slips]
    again = _bank_line(slips[0], 500, "2024-06-29", False)  # the same slip paid twice: an overpayment
    path = write_csv(",".join(BANK_HEADER), [*plain, again])
    summary = _cmd("import_payments", "--channel", "bank", str(path))
    assert (summary["posted"], summary["overpaid"], summary["amount_overpaid"]) == (len(plain) + 1, 1, 500)
    assert summary["amount_posted"] == sum(s["amount"] for s in slips)
    assert all(
        i.principal_outstanding == 0
        for i in Installment.objects.filter(slip_no__in=[s["slip_no"] for s in slips])
    )


def test_every_payment_is_a_transaction_of_its_own_and_one_is_reversed_alone(
    city_slips: dict[str, Any], write_csv: Callable, make_user: Callable, sample_city: Any
) -> None:
    from choshu.accounts.models import Role
    from choshu.levies.models import LedgerTransaction
    from choshu.receipts.selectors import daily_totals
    from choshu.receipts.services import payment_reverse, payment_totals_problems

    slips = [s for s in city_slips["slips"] if s.get("ocr_lower") and s["slip_no"] != city_slips["combined"]]
    lines = [_bank_line(s, s["amount"], "2024-06-28", False) for s in slips]
    path = write_csv(",".join(BANK_HEADER), lines)
    summary = _cmd("import_payments", "--channel", "bank", str(path))
    assert summary["posted"] == len(slips) >= 3
    payments = list(Payment.objects.order_by("pk"))
    # One transaction per payment (one business event): its cash entry and its receivable entry.
    assert len({p.txn_id for p in payments}) == len(payments) and None not in {p.txn_id for p in payments}
    for p in payments:
        assert p.txn_id is not None
        entries = sorted(
            (e.account, e.amount, e.payment_id) for e in LedgerEntry.objects.filter(txn_id=p.txn_id)
        )
        assert entries == [("cash", p.amount, p.pk), ("receivable", -p.amount, p.pk)]
        assert LedgerTransaction.objects.get(id=p.txn_id).memo == f"bank {p.slip_no}"
    # The payment page lists only the payment's own lines, not its neighbours' in the transaction.
    from choshu.receipts.views import allocation_lines

    lines_of_first = allocation_lines(payments[0])
    assert [(line.principal, line.installment and line.installment.slip_no) for line in lines_of_first] == [
        (payments[0].amount, payments[0].slip_no)
    ]
    before = daily_totals(municipality=sample_city, booked_on=date(2024, 6, 28))
    assert (before.count, before.amount_posted) == (len(slips), sum(p.amount for p in payments))

    gone, *kept = payments
    clerk = make_user("clerk", role=Role.CLERK, municipality=sample_city)
    payment_reverse(actor=clerk, payment=gone, reason="二重計上", on=date(2024, 7, 1))
    reversal = list(LedgerEntry.objects.filter(txn_id=Payment.objects.get(pk=gone.pk).reversal_txn_id))
    assert sorted((e.account, e.amount, e.payment_id) for e in reversal) == sorted(
        [("cash", -gone.amount, gone.pk), ("receivable", gone.amount, gone.pk)]
    )
    assert Installment.objects.get(slip_no=gone.slip_no).principal_outstanding == gone.amount
    assert all(Installment.objects.get(slip_no=p.slip_no).principal_outstanding == 0 for p in kept)
    after = daily_totals(municipality=sample_city, booked_on=date(2024, 7, 1))
    assert (after.count, after.amount_posted) == (-1, -gone.amount)
    assert payment_totals_problems() == []
    verify = _cmd("verify_ledger")
    assert verify["ok"] is True, verify


def test_an_installment_paid_on_its_own_slip_and_then_on_a_combined_slip_is_not_paid_twice(
    city_slips: dict[str, Any], write_csv: Callable
) -> None:
    """Regression: both slips resolved in one file gave the installment two in-memory states, and the
    combined payment placed principal that the first payment had already settled."""
    inst = Installment.objects.get(levy__notice_no="100001", installment_no=2)
    other = Installment.objects.get(levy__notice_no="400001")
    own = next(s for s in city_slips["slips"] if s["slip_no"] == inst.slip_no and s.get("ocr_lower"))
    combined = next(s for s in city_slips["slips"] if s["slip_no"] == city_slips["combined"])
    lines = [
        _bank_line(own, inst.principal_outstanding, "2024-06-28", False),
        _bank_line(combined, combined["amount"], "2024-06-28", False),
    ]
    summary = _cmd("import_payments", "--channel", "bank", str(write_csv(",".join(BANK_HEADER), lines)))
    inst.refresh_from_db()
    other_before = other.principal_outstanding
    other.refresh_from_db()
    assert inst.principal_outstanding == 0
    assert other.principal_outstanding == max(0, other_before - combined["amount"])
    assert summary["amount_overpaid"] == max(0, combined["amount"] - other_before)
    assert _cmd("verify_ledger")["ok"] is True


def test_verify_names_a_payment_whose_entries_or_cash_do_not_match(
    city_slips: dict[str, Any], write_csv: Callable
) -> None:
    from choshu.receipts.services import payment_totals_problems

    slips = [s for s in city_slips["slips"] if s.get("ocr_lower") and s["slip_no"] != city_slips["combined"]]
    lines = [_bank_line(s, s["amount"], "2024-06-28", False) for s in slips]
    _cmd("import_payments", "--channel", "bank", str(write_csv(",".join(BANK_HEADER), lines)))
    assert payment_totals_problems() == []
    first, second = list(Payment.objects.order_by("pk"))[:2]
    # A payment that claims more than its own entries place.
    Payment.objects.filter(pk=first.pk).update(amount=first.amount + 1, allocated=first.allocated + 1)
    # A cash entry out by one yen from its payment. On PostgreSQL the ledger's trigger refuses the
    # change: only someone who can switch the table's triggers off (the owner) tampers like this.
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute("ALTER TABLE levies_ledgerentry DISABLE TRIGGER USER")
        cur.execute("UPDATE levies_ledgerentry SET amount = amount - 1 WHERE txn_id = %s AND account = 'cash'",
                    [second.txn_id])  # fmt: skip
    found = {(p["kind"], p["id"]) for p in payment_totals_problems()}
    assert found == {("payment_split", first.pk), ("payment_split", second.pk)}


def _plain_bank_file(city_slips: dict[str, Any], write_csv: Callable) -> tuple[list[dict[str, Any]], Path]:
    slips = [s for s in city_slips["slips"] if s.get("ocr_lower") and s["slip_no"] != city_slips["combined"]]
    path = write_csv(",".join(BANK_HEADER), [_bank_line(s, s["amount"], "2024-06-28", False) for s in slips])
    return slips, path


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite has one writer: nothing can overtake")
@pytest.mark.django_db(transaction=True)
def test_an_import_overtaken_by_a_counter_receipt_runs_again_and_finds_the_slip_paid(
    city_slips: dict[str, Any],
    write_csv: Callable,
    sample_city: Any,
    make_user: Callable,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A clerk takes cash for a slip while the bank file paying it is being imported: the import
    decided the slip was still owed, then finds it paid when it updates the installment. The attempt
    is rolled back and run again, and the bank's record becomes an overpayment."""
    from choshu.accounts.models import Role
    from choshu.receipts.services import counter_receipt_take

    slips, path = _plain_bank_file(city_slips, write_csv)
    target = slips[0]
    window = make_user("window", role=Role.WINDOW_CONTRACTOR, municipality=sample_city)
    taken = threading.Event()
    failures: list[BaseException] = []

    def counter() -> None:
        try:
            with transaction.atomic():
                counter_receipt_take(
                    actor=window,
                    municipality=sample_city,
                    slip_no=target["slip_no"],
                    amount=target["amount"],
                    paid_on=date(2024, 6, 27),
                )
                taken.set()
                # Commit only once the import waits for this transaction's row of the installment.
                with connection.cursor() as cur:
                    for _ in range(600):
                        cur.execute("SELECT COUNT(*) FROM pg_locks WHERE NOT granted")
                        if cur.fetchone()[0]:
                            break
                        time.sleep(0.05)
                    else:
                        raise AssertionError("the import never waited for the counter receipt")
        except BaseException as exc:  # reported by the main thread
            failures.append(exc)
            taken.set()
        finally:
            connection.close()

    thread = threading.Thread(target=counter)
    thread.start()
    assert taken.wait(30)
    with caplog.at_level(logging.WARNING, logger="choshu.receipts.services"):
        summary = _cmd("import_payments", "--channel", "bank", str(path))
    thread.join(30)
    assert failures == []
    assert "attempt 1 of 3" in caplog.text
    assert (summary["posted"], summary["overpaid"], summary["amount_overpaid"]) == (
        len(slips),
        1,
        target["amount"],
    )
    paid = Installment.objects.get(slip_no=target["slip_no"])
    assert (paid.principal_outstanding, paid.principal_paid) == (0, target["amount"])
    assert Payment.objects.filter(channel="counter").count() == 1
    assert services.payment_totals_problems() == []


def test_an_import_overtaken_every_time_writes_nothing_and_says_run_it_again(
    city_slips: dict[str, Any], write_csv: Callable, monkeypatch: pytest.MonkeyPatch
) -> None:
    from choshu.core.models import Job
    from choshu.levies.ledger import StaleBalance
    from choshu.receipts import engine

    _, path = _plain_bank_file(city_slips, write_csv)
    attempts: list[int] = []
    original = engine.PaymentEngine._write

    def overtaken(self: Any) -> Any:
        original(self)  # the rows are written, then the attempt is rolled back
        attempts.append(1)
        raise StaleBalance("取込中に期別の収納状況が変わりました（テスト）")

    monkeypatch.setattr(engine.PaymentEngine, "_write", overtaken)
    before = (
        Payment.objects.count(),
        LedgerEntry.objects.count(),
        sorted(Installment.objects.values_list("id", "principal_outstanding")),
    )
    with pytest.raises(CommandError) as refused:
        _cmd("import_payments", "--channel", "bank", str(path))
    assert refused.value.returncode == 1
    assert "取込中に期別の収納状況が変わりました" in str(refused.value) and "3回試行" in str(refused.value)
    assert len(attempts) == services.IMPORT_ATTEMPTS == 3
    after = (
        Payment.objects.count(),
        LedgerEntry.objects.count(),
        sorted(Installment.objects.values_list("id", "principal_outstanding")),
    )
    assert after == before
    job = Job.objects.filter(kind="import-payments-bank").get()
    assert job.status == Job.Status.FAILED and "取込中" in job.errors[0]["reason"]


def test_an_eltax_payment_and_its_cancellation_in_one_file_leave_it_reversed(
    city_slips: dict[str, Any], write_csv: Callable
) -> None:
    """Cancellations are decided after every other record of the file: the payment of the same file
    is posted, then reversed; the other payment stays."""
    from choshu.receipts.tests.test_import_payments import eltax_row

    one, two = [s for s in city_slips["slips"] if s["slip_no"] != city_slips["combined"]][:2]
    lines = [
        eltax_row("T-0001", one, one["amount"], "2024-06-28", "2024-07-01"),
        eltax_row("T-0002", two, two["amount"], "2024-06-28", "2024-07-01"),
        eltax_row("T-0001", one, one["amount"], "2024-06-28", "2024-07-02", cancelled="1"),
    ]
    summary = _cmd("import_payments", "--channel", "eltax", str(write_csv(",".join(ELTAX_HEADER), lines)))
    assert (summary["records"], summary["posted"], summary["reversed"]) == (3, 2, 1)
    gone, kept = Payment.objects.get(reference="T-0001"), Payment.objects.get(reference="T-0002")
    assert (gone.status, kept.status) == ("reversed", "posted")
    reversal = gone.reversal_txn
    assert reversal is not None and reversal.reverses_id == gone.txn_id
    assert (reversal.legal_date, reversal.booking_date) == (date(2024, 6, 28), date(2024, 7, 2))
    assert Installment.objects.get(slip_no=one["slip_no"]).principal_paid == 0
    assert Installment.objects.get(slip_no=two["slip_no"]).principal_outstanding == 0
    assert services.payment_totals_problems() == []
