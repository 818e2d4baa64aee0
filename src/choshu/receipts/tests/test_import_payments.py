"""``choshu import-payments``: every channel reconciled, with sums checked outside the system."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from choshu.formats.payments import BANK_HEADER, CONVENI_HEADER, ELTAX_HEADER
from choshu.formats.slipcodes import slip_codes
from choshu.levies.models import Installment, LedgerEntry
from choshu.receipts.models import Payment, PaymentStatus, SuspenseItem, SuspenseReason
from choshu.receipts.slips import combined_slip_issue, confirmation_no, taxpayer_slips
from choshu.taxpayers.models import Taxpayer


def cmd(name: str, *args: str) -> dict[str, Any]:
    out = StringIO()
    call_command(name, *args, "--json", stdout=out)
    return json.loads(out.getvalue().strip().splitlines()[-1])


def slips(no: str) -> list[dict[str, Any]]:
    return cmd("slips", "--taxpayer", no)["slips"]


def inst(notice: str, no: int = 1) -> Installment:
    return Installment.objects.get(levy__notice_no=notice, installment_no=no)


def bank_row(
    slip: dict[str, Any], amount: int, paid: str, booked: str | None = None, ocr: str | None = None
) -> str:
    return f"{ocr or slip['ocr_lower']},{amount},{paid},0001,123,{booked or paid}"


def conveni_row(
    kind: str,
    slip: dict[str, Any],
    paid: str,
    time: str = "1015",
    remit: str = "0",
    store: str = "0012345",
    barcode: str | None = None,
) -> str:
    bc = barcode or slip["barcode"]
    return (
        f"{kind},{paid.replace('-', '')},{time},EAN{bc},,,0,{int(bc[37:43])},010,セブンイレブン,{store},"
        f"{remit.replace('-', '')},{paid.replace('-', '')}"
    )


def eltax_row(
    tid: str,
    slip: dict[str, Any],
    amount: int,
    paid: str,
    remitted: str,
    cancelled: str = "0",
    conf: str | None = None,
) -> str:
    tax_item = slip["tax_item"]
    return f"{tid},11203,{slip['slip_no']},{conf or slip['confirmation_no']},0{tax_item},{amount},{paid},{remitted},{cancelled}"


def balances(no: str, as_of: str = "2026-11-26") -> dict[str, Any]:
    return cmd("balances", "--taxpayer", no, "--as-of", as_of)


def verify_ok() -> bool:
    out = StringIO()
    try:
        call_command("verify_ledger", "--json", stdout=out)
    except SystemExit:
        return False
    return bool(json.loads(out.getvalue().strip().splitlines()[-1])["ok"])


def test_every_installment_has_a_slip_with_codes(sample_city: Any) -> None:
    [first, second, fixed] = slips("1001")
    assert first["slip_no"] == inst("100001").slip_no and len(first["slip_no"]) == 16
    assert first["amount"] == 30000 and first["pay_by"] == "2024-07-01"
    assert first["confirmation_no"] == confirmation_no("112038", first["slip_no"])
    assert len(first["barcode"]) == 44 and first["barcode"].startswith(
        "91912345" + "11203" + first["slip_no"]
    )
    assert first["el_number"] == f"11203{first['slip_no']}{first['confirmation_no']}001"
    assert len(first["ocr_lower"]) == 44
    assert first["barcode"][37:43] == "030000"


def test_a_bank_payment_settles_its_installment(sample_city: Any, write_csv: Callable) -> None:
    slip = slips("1001")[0]
    summary = cmd(
        "import_payments",
        "--channel",
        "bank",
        str(write_csv(",".join(BANK_HEADER), [bank_row(slip, 30000, "2024-06-28", "2024-07-01")])),
    )
    assert summary | {"job_id": 0} == summary | {
        "records": 1,
        "posted": 1,
        "suspense": 0,
        "overpaid": 0,
        "amount_total": 30000,
        "amount_posted": 30000,
        "job_id": 0,
    }
    row = balances("1001")["installments"][0]
    assert (row["principal_paid"], row["principal_outstanding"], row["late_charge_accrued"]) == (30000, 0, 0)
    payment = Payment.objects.get()
    assert (payment.paid_on, payment.booked_on, payment.status) == (
        date(2024, 6, 28),
        date(2024, 7, 1),
        "posted",
    )
    assert verify_ok()


def test_the_same_file_twice_changes_nothing(sample_city: Any, write_csv: Callable) -> None:
    slip = slips("1001")[0]
    path = write_csv(
        ",".join(BANK_HEADER), [bank_row(slip, 30000, "2024-06-28"), bank_row(slip, 30000, "2024-06-28")]
    )
    first = cmd("import_payments", "--channel", "bank", str(path))
    assert first["posted"] == 2 and first["overpaid"] == 1  # two identical rows are two payments
    entries = LedgerEntry.objects.count()
    second = cmd("import_payments", "--channel", "bank", str(path))
    assert (second["posted"], second["already_imported"], second["file_already_imported"]) == (0, 2, True)
    assert LedgerEntry.objects.count() == entries and Payment.objects.count() == 2


def test_a_second_payment_of_a_paid_slip_is_an_overpayment(sample_city: Any, write_csv: Callable) -> None:
    slip = slips("1002")[0]  # 軽自動車税 10,800
    rows = [bank_row(slip, 10800, "2024-05-20"), bank_row(slip, 10800, "2024-05-21")]
    summary = cmd("import_payments", "--channel", "bank", str(write_csv(",".join(BANK_HEADER), rows)))
    assert (summary["amount_posted"], summary["amount_overpaid"]) == (10800, 10800)
    hanako = Taxpayer.objects.get(taxpayer_no="1002")
    held = sum(e.amount for e in LedgerEntry.objects.filter(account="overpayment", taxpayer=hanako))
    assert held == -10800
    assert verify_ok()


def test_conveni_provisional_then_final_posts_once(sample_city: Any, write_csv: Callable) -> None:
    slip = slips("1002")[0]
    header = ",".join(CONVENI_HEADER)
    prelim = cmd(
        "import_payments",
        "--channel",
        "conveni",
        str(write_csv(header, [conveni_row("01", slip, "2024-05-30")], encoding="cp932")),
    )
    assert (prelim["provisional"], prelim["posted"]) == (1, 0)
    assert balances("1002")["installments"][0]["principal_paid"] == 0  # no money yet
    final = cmd(
        "import_payments",
        "--channel",
        "conveni",
        str(write_csv(header, [conveni_row("02", slip, "2024-05-30", remit="2024-06-07")], encoding="cp932")),
    )
    assert (final["posted"], final["provisional"]) == (1, 0)
    payment = Payment.objects.get()
    assert (payment.status, payment.paid_on, payment.booked_on) == (
        "posted",
        date(2024, 5, 30),
        date(2024, 6, 7),
    )
    again = cmd(
        "import_payments",
        "--channel",
        "conveni",
        str(write_csv(header, [conveni_row("02", slip, "2024-05-30", remit="2024-06-07")], encoding="cp932")),
    )
    assert again["already_imported"] == 1
    assert balances("1002")["installments"][0]["principal_paid"] == 10800


def test_a_cancelled_provisional_record_is_never_posted(sample_city: Any, write_csv: Callable) -> None:
    slip = slips("1002")[0]
    header = ",".join(CONVENI_HEADER)
    cmd(
        "import_payments",
        "--channel",
        "conveni",
        str(write_csv(header, [conveni_row("01", slip, "2024-05-30")], encoding="cp932")),
    )
    summary = cmd(
        "import_payments",
        "--channel",
        "conveni",
        str(write_csv(header, [conveni_row("03", slip, "2024-05-30")], encoding="cp932")),
    )
    assert summary["cancelled"] == 1
    assert Payment.objects.get().status == PaymentStatus.CANCELLED
    assert LedgerEntry.objects.filter(account="cash").count() == 0


def test_a_cancellation_without_its_provisional_record_refuses_the_file(
    sample_city: Any, write_csv: Callable
) -> None:
    slip = slips("1002")[0]
    with pytest.raises(CommandError) as exc:
        cmd(
            "import_payments",
            "--channel",
            "conveni",
            str(
                write_csv(",".join(CONVENI_HEADER), [conveni_row("03", slip, "2024-05-30")], encoding="cp932")
            ),
        )
    assert exc.value.returncode == 2
    assert not Payment.objects.exists()


def test_unknown_slips_and_wrong_confirmation_numbers_wait_in_suspense(
    sample_city: Any, write_csv: Callable
) -> None:
    slip = slips("1001")[0]
    from choshu.rules.check_digits import make_slip_no

    unknown_no = make_slip_no("123456789012345")
    unknown = slip_codes(
        slip_no=unknown_no,
        confirmation_no="0000",
        amount=5000,
        pay_by=None,
        tax_item="01",
        company_code="912345",
        client_code="11203",
        agency_no="11203",
    )
    wrong_conf = "9999" if slip["confirmation_no"] != "9999" else "0000"
    rows = [
        f"tx-1,11203,{unknown_no},0000,001,5000,2024-07-01,2024-07-03,0",
        eltax_row("tx-2", slip, 30000, "2024-07-01", "2024-07-03", conf=wrong_conf),
    ]
    summary = cmd("import_payments", "--channel", "eltax", str(write_csv(",".join(ELTAX_HEADER), rows)))
    assert (summary["suspense"], summary["amount_suspense"], summary["amount_posted"]) == (2, 35000, 0)
    reasons = sorted(SuspenseItem.objects.values_list("reason", flat=True))
    assert reasons == sorted([SuspenseReason.UNKNOWN_SLIP, SuspenseReason.CONFIRMATION_MISMATCH])
    assert balances("1001")["installments"][0]["principal_paid"] == 0
    assert unknown.el_number  # the unknown slip is well-formed: only its number is unknown
    assert verify_ok()


def test_an_eltax_cancellation_reverses_the_payment(sample_city: Any, write_csv: Callable) -> None:
    slip = slips("1001")[0]
    header = ",".join(ELTAX_HEADER)
    cmd(
        "import_payments",
        "--channel",
        "eltax",
        str(write_csv(header, [eltax_row("tx-9", slip, 30000, "2024-06-30", "2024-07-02")])),
    )
    assert balances("1001")["installments"][0]["principal_outstanding"] == 0
    summary = cmd(
        "import_payments",
        "--channel",
        "eltax",
        str(write_csv(header, [eltax_row("tx-9", slip, 30000, "2024-06-30", "2024-07-05", cancelled="1")])),
    )
    assert (summary["reversed"], summary["amount_reversed"]) == (1, 30000)
    assert balances("1001")["installments"][0]["principal_outstanding"] == 30000
    assert Payment.objects.get().status == PaymentStatus.REVERSED
    daily = cmd("daily_total", "--date", "2024-07-05")
    assert (daily["count"], daily["amount_posted"]) == (-1, -30000)
    assert verify_ok()


def test_a_late_payment_with_its_late_charge_pays_both(sample_city: Any, write_csv: Callable) -> None:
    # 30,000 due 2024-07-01 paid 2025-03-31: 延滞金 1,700 (see levies tests for the segments).
    slip = slips("1001")[0]
    cmd(
        "import_payments",
        "--channel",
        "bank",
        str(write_csv(",".join(BANK_HEADER), [bank_row(slip, 31700, "2025-03-31", "2025-04-01")])),
    )
    payment = Payment.objects.get()
    assert (payment.allocated, payment.overpaid) == (31700, 0)
    lc = LedgerEntry.objects.get(account="late_charge_income")
    assert (lc.amount, lc.installment_id) == (-1700, inst("100001").pk)
    assert verify_ok()


def test_a_partial_payment_leaves_the_rest_outstanding(sample_city: Any, write_csv: Callable) -> None:
    slip = slips("1001")[0]
    cmd(
        "import_payments",
        "--channel",
        "bank",
        str(write_csv(",".join(BANK_HEADER), [bank_row(slip, 12000, "2024-06-20")])),
    )
    row = balances("1001")["installments"][0]
    assert (row["principal_paid"], row["principal_outstanding"]) == (12000, 18000)


def test_a_combined_slip_pays_the_oldest_installment_first(sample_city: Any, write_csv: Callable) -> None:
    taro = Taxpayer.objects.get(taxpayer_no="1001")
    combined = combined_slip_issue(
        municipality=sample_city,
        installments=[inst("100001", 2), inst("400001")],
        amount=41000,
        pay_by=date(2026, 12, 31),
        issued_on=date(2026, 11, 30),
    )
    assert combined.issued_on == date(2026, 11, 30)
    slip = next(s for s in taxpayer_slips(sample_city, taro.pk) if s.slip_no == combined.slip_no).as_dict()
    cmd(
        "import_payments",
        "--channel",
        "bank",
        str(write_csv(",".join(BANK_HEADER), [bank_row(slip, 20000, "2024-05-15")])),
    )
    # 固定資産税 due 2024-04-30 is older than 住民税 第2期 due 2024-09-02: it is paid first.
    assert inst("400001").principal_outstanding == 0
    assert inst("100001", 2).principal_paid == 8000


def test_daily_totals_split_channels_tax_items_and_suspense(sample_city: Any, write_csv: Callable) -> None:
    s1, s2, s3 = slips("1001")
    hanako = slips("1002")[0]
    from choshu.rules.check_digits import make_slip_no

    cmd(
        "import_payments",
        "--channel",
        "bank",
        str(
            write_csv(
                ",".join(BANK_HEADER),
                [
                    bank_row(s1, 30000, "2025-04-10", "2025-04-11"),
                    bank_row(s3, 12000, "2025-04-10", "2025-04-11"),
                    bank_row(hanako, 10800, "2025-04-10", "2025-04-11"),
                    bank_row(s2, 1, "2025-04-10", "2025-04-12"),
                ],
            )
        ),
    )
    cmd(
        "import_payments",
        "--channel",
        "eltax",
        str(
            write_csv(
                ",".join(ELTAX_HEADER),
                [
                    f"e1,11203,{make_slip_no('555555555555555')},1234,001,777,2025-04-10,2025-04-11,0",
                ],
            )
        ),
    )
    daily = cmd("daily_total", "--date", "2025-04-11")
    by_key = {(r["channel"], r["tax_item"], r["year_class"]): r for r in daily["rows"]}
    # Booked in fiscal year 2025: the 2024 levies are 滞納繰越分. 30,000 covers the principal only.
    assert by_key[("bank", "01", "carried_over")]["amount_posted"] == 30000
    assert by_key[("bank", "04", "carried_over")]["amount_posted"] == 12000
    assert by_key[("bank", "05", "carried_over")]["amount_posted"] == 10800
    assert by_key[("eltax", "", "unknown")]["amount_suspense"] == 777
    assert (daily["count"], daily["amount_posted"], daily["amount_suspense"]) == (4, 52800, 777)
    assert cmd("daily_total", "--date", "2025-04-12")["amount_posted"] == 1


def test_a_malformed_conveni_file_is_refused_whole(sample_city: Any, write_csv: Callable) -> None:
    slip = slips("1001")[0]
    good = conveni_row("02", slip, "2024-06-28", remit="2024-07-05")
    bad = conveni_row("02", slips("1002")[0], "2024-05-28", remit="2024-06-05").replace(",10800,", ",10900,")
    with pytest.raises(CommandError) as exc:
        cmd(
            "import_payments",
            "--channel",
            "conveni",
            str(write_csv(",".join(CONVENI_HEADER), [good, bad], encoding="cp932")),
        )
    assert exc.value.returncode == 2
    assert not Payment.objects.exists() and not LedgerEntry.objects.filter(account="cash").exists()


def test_a_bank_file_with_a_bad_ocr_check_digit_is_refused(sample_city: Any, write_csv: Callable) -> None:
    slip = slips("1001")[0]
    ocr = slip["ocr_lower"]
    swapped = ocr[1] + ocr[0] + ocr[2:] if ocr[0] != ocr[1] else f"{(int(ocr[0]) + 1) % 10}{ocr[1:]}"
    out = StringIO()
    with pytest.raises(CommandError):
        call_command(
            "import_payments",
            "--channel",
            "bank",
            "--json",
            str(write_csv(",".join(BANK_HEADER), [bank_row(slip, 30000, "2024-06-28", ocr=swapped)])),
            stdout=out,
        )
    error = json.loads(out.getvalue().strip().splitlines()[-1])["errors"][0]
    assert (error["line"], error["column"]) == (2, "ocr_lower")
    assert not Payment.objects.exists()


@pytest.mark.parametrize(
    "where",
    [
        ("engine", "PaymentEngine", "add", 2),  # while the file is being staged
        ("engine", "PaymentEngine", "_flush", 1),  # while the decisions are being staged
        ("engine", "PaymentEngine", "_write", 1),  # after every payment and ledger row was written
    ],
)
def test_an_import_killed_half_way_leaves_nothing_and_a_rerun_gives_the_same_state(
    sample_city: Any, write_csv: Callable, monkeypatch: pytest.MonkeyPatch, where: tuple[str, str, str, int]
) -> None:
    import importlib

    from choshu.receipts import services

    module_name, class_name, method, nth = where
    # Two payments on each slip of 1001 and 1002: the second of each is an overpayment.
    paid = slips("1001") + slips("1002")
    rows = [bank_row(s, s["amount"], "2024-06-20") for s in paid]
    rows += [bank_row(s, 7 + i, "2024-06-21") for i, s in enumerate(slips("1001"))]
    path = write_csv(",".join(BANK_HEADER), rows)
    monkeypatch.setattr(services, "CHUNK", 2)
    klass = getattr(importlib.import_module(f"choshu.receipts.{module_name}"), class_name)
    original = getattr(klass, method)
    calls = {"n": 0}

    def dying(self: Any, *args: Any, **kwargs: Any) -> Any:
        result = original(self, *args, **kwargs)
        calls["n"] += 1
        if calls["n"] == nth:
            raise KeyboardInterrupt("killed")
        return result

    monkeypatch.setattr(klass, method, dying)
    with pytest.raises(KeyboardInterrupt):
        cmd("import_payments", "--channel", "bank", str(path))
    assert calls["n"] == nth
    assert not Payment.objects.exists() and not LedgerEntry.objects.filter(account="cash").exists()
    assert sum(i.principal_paid for i in Installment.objects.all()) == 0
    monkeypatch.setattr(klass, method, original)
    summary = cmd("import_payments", "--channel", "bank", str(path))
    assert summary["posted"] == len(rows)
    assert summary["overpaid"] == len(slips("1001"))
    assert sum(i.principal_paid for i in Installment.objects.all()) == sum(s["amount"] for s in paid)
    assert verify_ok()


def test_a_cancellation_after_the_final_record_changes_nothing_but_is_reported(
    sample_city: Any, write_csv: Callable
) -> None:
    slip = slips("1002")[0]
    header = ",".join(CONVENI_HEADER)
    rows = [conveni_row("01", slip, "2024-05-30"), conveni_row("02", slip, "2024-05-30", remit="2024-06-07")]
    first = cmd("import_payments", "--channel", "conveni", str(write_csv(header, rows, encoding="cp932")))
    assert (first["provisional"], first["posted"]) == (1, 1)  # 速報 and 確報 in one file: posted once
    late = cmd(
        "import_payments",
        "--channel",
        "conveni",
        str(write_csv(header, [conveni_row("03", slip, "2024-05-30")], encoding="cp932")),
    )
    assert late["cancelled"] == 0 and late["warnings"][0]["line"] == 2
    assert Payment.objects.get().status == PaymentStatus.POSTED
    assert balances("1002")["installments"][0]["principal_paid"] == 10800


def test_a_payment_spread_over_two_tax_items_counts_once_in_the_daily_total(
    sample_city: Any, write_csv: Callable
) -> None:
    taro = Taxpayer.objects.get(taxpayer_no="1001")
    combined = combined_slip_issue(
        municipality=sample_city,
        installments=[inst("100001", 2), inst("400001")],
        amount=41000,
        pay_by=date(2026, 12, 31),
        issued_on=date(2026, 11, 30),
    )
    assert combined.issued_on == date(2026, 11, 30)
    slip = next(s for s in taxpayer_slips(sample_city, taro.pk) if s.slip_no == combined.slip_no).as_dict()
    cmd(
        "import_payments",
        "--channel",
        "bank",
        str(write_csv(",".join(BANK_HEADER), [bank_row(slip, 20000, "2024-04-20", "2024-04-22")])),
    )
    daily = cmd("daily_total", "--date", "2024-04-22")
    assert sorted((r["tax_item"], r["count"], r["amount_posted"]) for r in daily["rows"]) == [
        ("01", 1, 8000),
        ("04", 1, 12000),
    ]
    assert (daily["count"], daily["amount_posted"]) == (1, 20000)
