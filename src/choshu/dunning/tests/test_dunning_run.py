"""``choshu dunning-run`` (issue 15 §1, §2, §6): worked examples on the sample city.

The sample city (conftest): 1001 has 個人住民税 (01) 第1期 30,000 円 納期限 2024-07-01 and 第2期
29,000 円 2024-09-02, and 固定資産税・都市計画税 (04) 12,000 円 2024-04-30; 1002 has 05 10,800 円 2024-05-31;
2001 (a company) 03 70,000 円 2024-05-31. The old layout gives 指定納期限 = 納期限. 督促手数料: 100 円
from 2024-04-01 (registered in each test as a city does from its 税条例).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from choshu.audit.models import AuditKind, AuditLog
from choshu.core.models import Job
from choshu.dunning.models import (
    DunningBatch,
    DunningNotice,
    DunningNoticeInstallment,
    DunningSuppression,
    SuppressionReason,
)
from choshu.dunning.services import dunning_fee_set, suppression_add
from choshu.levies.models import Component, Installment, LedgerEntry, TxnKind
from choshu.levies.selectors import amounts_due
from choshu.receipts.models import PaymentSlip
from choshu.rules.check_digits import is_valid_slip_no
from choshu.rules.dunning import dunning_payment_deadline
from choshu.rules.late_charge import compute_late_charge
from choshu.taxpayers.models import Taxpayer

pytestmark = pytest.mark.django_db
D = date


def run(city: Any, as_of: str, *extra: str) -> dict[str, Any]:
    out = StringIO()
    call_command("dunning_run", "--as-of", as_of, "--json", "--municipality", city.code, *extra, stdout=out)
    return dict(json.loads(out.getvalue().strip().splitlines()[-1]))


def inst(notice_no: str, no: int = 1) -> Installment:
    return Installment.objects.get(levy__notice_no=notice_no, installment_no=no)


def notice_of(notice_no: str) -> DunningNotice:
    return DunningNoticeInstallment.objects.get(installment=inst(notice_no)).notice


@pytest.fixture
def city(sample_city: Any) -> Any:
    dunning_fee_set(
        actor=None, municipality=sample_city, valid_from=D(2024, 4, 1), yen=100, source="川口市税条例（例）"
    )
    return sample_city


def written() -> tuple[int, ...]:
    return (
        DunningBatch.objects.count(),
        DunningNotice.objects.count(),
        DunningNoticeInstallment.objects.count(),
        PaymentSlip.objects.count(),
        LedgerEntry.objects.filter(component=Component.DUNNING_FEE).count(),
        Job.objects.filter(kind=Job.Kind.DUNNING_RUN).count(),
    )


def test_one_notice_per_taxpayer_and_tax_item_with_the_rules_dates_fee_and_slip(city: Any) -> None:
    out = run(city, "2024-07-15")
    # 01 第1期 (07-01), 04 (04-30), 05 (05-31), 03 (05-31) are past their 指定納期限; 01 第2期 is not.
    assert (out["candidates"], out["suppressed"], out["issued"], out["installments"]) == (4, 0, 4, 4)
    assert out["fee_total"] == 400
    assert out["pay_by"] == "2024-07-25"  # 10 days have elapsed from 07-15 (法331条; a Thursday)
    assert out["pay_by"] == dunning_payment_deadline(D(2024, 7, 15)).isoformat()
    n = notice_of("100001")
    assert (n.tax_item, n.issued_on, n.pay_by, n.fee, n.principal) == (
        "01",
        D(2024, 7, 15),
        D(2024, 7, 25),
        100,
        30000,
    )
    charge = compute_late_charge(principal=30000, due_date=D(2024, 7, 1), until=D(2024, 7, 15)).late_charge
    assert n.late_charge == charge
    assert n.total == 30000 + charge + 100
    slip = n.slip
    assert slip is not None and is_valid_slip_no(slip.slip_no) and slip.slip_no.startswith("8")
    assert (slip.amount, slip.pay_by, slip.issued_on) == (n.total, D(2024, 7, 25), D(2024, 7, 15))
    assert list(slip.installments.all()) == [inst("100001")]
    assert not DunningNoticeInstallment.objects.filter(installment=inst("100001", 2)).exists()


def test_the_fee_is_a_receivable_of_its_own_on_the_ledger(city: Any) -> None:
    run(city, "2024-07-15")
    i = inst("500001")
    entries = LedgerEntry.objects.filter(txn__kind=TxnKind.DUNNING_FEE, installment=i)
    assert sorted((e.account, e.amount) for e in entries) == [("levied", -100), ("receivable", 100)]
    assert {e.txn.legal_date for e in entries} == {D(2024, 7, 15)}
    [due] = amounts_due(taxpayer_ids=[i.taxpayer_id], as_of=D(2024, 7, 15))
    assert due.dunning_fee == 100
    assert i.principal_outstanding == Installment.objects.get(pk=i.pk).principal_outstanding == 10800
    assert amounts_due(taxpayer_ids=[i.taxpayer_id], as_of=D(2024, 7, 14))[0].dunning_fee == 0


def test_all_installments_of_one_tax_item_go_on_one_notice_with_one_fee(city: Any) -> None:
    out = run(city, "2024-09-24")
    assert (out["issued"], out["installments"], out["fee_total"]) == (4, 5, 400)
    n = notice_of("100001")
    assert notice_of("100001") == DunningNoticeInstallment.objects.get(installment=inst("100001", 2)).notice
    assert n.principal == 59000 and n.fee_installment == inst("100001")  # the fee on the oldest
    assert n.slip is not None and set(n.slip.installments.all()) == {inst("100001"), inst("100001", 2)}


def test_a_second_run_the_same_day_issues_nothing(city: Any) -> None:
    first = run(city, "2024-07-15")
    before = written()
    second = run(city, "2024-07-15")
    assert first["issued"] == 4
    assert (second["candidates"], second["issued"], second["fee_total"]) == (0, 0, 0)
    assert written()[:5] == before[:5]  # only the second run's job record is new


def test_notices_after_the_20_day_period_are_issued_and_counted_as_late(city: Any) -> None:
    # 法329条: within 20 days after the 納期限. 01 第1期 (07-01): the 20th day is 07-21.
    out = run(city, "2024-07-21")
    assert out["late_issue"] == 3  # 04 (04-30), 05 and 03 (05-31) are late; 01 is not
    assert notice_of("100001").late_issue is False
    assert notice_of("400001").late_issue is True


def test_the_day_after_the_20th_day_is_late(city: Any) -> None:
    out = run(city, "2024-07-22")
    assert out["late_issue"] == 4
    assert notice_of("100001").late_issue is True


def test_a_dry_run_counts_by_tax_item_and_writes_nothing(city: Any) -> None:
    before = written()
    out = run(city, "2024-07-15", "--dry-run")
    assert out["dry_run"] is True and out["issued"] == 4 and out["batch_id"] is None
    assert out["by_tax_item"]["01"]["notices"] == 1 and out["by_tax_item"]["01"]["principal"] == 30000
    assert sum(v["fee"] for v in out["by_tax_item"].values()) == out["fee_total"] == 400
    assert written() == before


def test_suppressed_installments_are_left_out_and_counted(city: Any, make_user: Callable[..., Any]) -> None:
    clerk = make_user("clerk1", role="clerk", municipality=city)
    suppression_add(
        actor=clerk, installment=inst("500001"), reason=SuppressionReason.PAYMENT_PLAN, start=D(2024, 7, 1)
    )
    ended = suppression_add(
        actor=clerk,
        installment=inst("300001"),
        reason=SuppressionReason.DIRECT_DEBIT,
        start=D(2024, 6, 1),
        end=D(2024, 7, 14),
    )
    out = run(city, "2024-07-15")
    assert (out["candidates"], out["suppressed"], out["issued"]) == (4, 1, 3)
    assert not DunningNoticeInstallment.objects.filter(installment=inst("500001")).exists()
    assert DunningNoticeInstallment.objects.filter(installment=ended.installment).exists()  # ended 07-14


def test_a_person_under_support_measures_is_blocked_and_printed_in_the_office(city: Any) -> None:
    Taxpayer.objects.filter(taxpayer_no="1002").update(support_measure_from=D(2024, 1, 1))
    out = run(city, "2024-07-15")
    assert (out["issued"], out["blocked"]) == (4, 1)
    assert notice_of("500001").print_in_office is True
    assert notice_of("100001").print_in_office is False


def test_the_run_is_one_batch_audit_record_with_its_counts(city: Any) -> None:
    out = run(city, "2024-07-15")
    logs = AuditLog.objects.filter(kind=AuditKind.BATCH, function="督促状の一括発付")
    assert logs.count() == 1
    assert logs[0].detail["issued"] == 4 and logs[0].detail["fee_total"] == 400
    assert logs[0].job_id == out["job_id"]


def test_a_run_date_in_the_future_is_refused_and_nothing_is_written(city: Any) -> None:
    before = written()
    with pytest.raises(CommandError) as exc:
        run(city, "2999-01-04")
    assert exc.value.returncode == 2 and "未来の日付" in str(exc.value)
    assert written() == before


def test_a_malformed_date_is_refused(city: Any) -> None:
    with pytest.raises(CommandError) as exc:
        run(city, "2024-13-01")
    assert exc.value.returncode == 2 and "--as-of" in str(exc.value)


def test_no_fee_setting_for_the_date_is_refused_and_nothing_is_written(city: Any) -> None:
    before = written()
    with pytest.raises(CommandError) as exc:
        run(city, "2024-03-31")  # the setting starts 2024-04-01
    assert exc.value.returncode == 2 and "督促手数料" in str(exc.value) and "dunning-fee" in str(exc.value)
    assert written() == before


def test_a_municipality_without_any_fee_setting_is_refused(sample_city: Any) -> None:
    with pytest.raises(CommandError) as exc:
        run(sample_city, "2024-07-15")
    assert exc.value.returncode == 2 and "督促手数料" in str(exc.value)
    assert DunningNotice.objects.count() == 0


def test_an_abolished_fee_issues_notices_without_fee(city: Any) -> None:
    dunning_fee_set(actor=None, municipality=city, valid_from=D(2024, 7, 1), yen=0, source="条例改正（廃止）")
    out = run(city, "2024-07-15")
    assert (out["issued"], out["fee_total"]) == (4, 0)
    assert not LedgerEntry.objects.filter(component=Component.DUNNING_FEE).exists()
    assert notice_of("100001").fee_installment is None


def test_a_crash_mid_run_leaves_nothing_and_a_rerun_gives_one_clean_run(
    city: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import choshu.dunning.services as services

    before = written()

    def boom(**kwargs: Any) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(services, "post_many", boom)
    with pytest.raises(RuntimeError):
        run(city, "2024-07-15")
    assert written() == before
    monkeypatch.undo()
    assert run(city, "2024-07-15")["issued"] == 4
    assert written()[1:5] == (4, 4, 4, 8)


def test_a_suppression_period_must_not_end_before_it_starts(city: Any, make_user: Callable[..., Any]) -> None:
    from django.core.exceptions import ValidationError

    clerk = make_user("clerk1", role="clerk", municipality=city)
    with pytest.raises(ValidationError):
        suppression_add(
            actor=clerk,
            installment=inst("500001"),
            reason=SuppressionReason.BANKRUPTCY,
            start=D(2024, 7, 1),
            end=D(2024, 6, 30),
        )
    assert not DunningSuppression.objects.exists()


def _pay_slip(write_csv: Callable[..., Any], taxpayer_no: str, slip_no: str, amount: int, paid: str) -> None:
    """A bank payment of ``amount`` on the slip ``slip_no`` (its OCR line), through the real import."""
    from choshu.formats.payments import BANK_HEADER

    out = StringIO()
    call_command("slips", "--taxpayer", taxpayer_no, "--json", stdout=out)
    slips = json.loads(out.getvalue().strip().splitlines()[-1])["slips"]
    slip = next(s for s in slips if s["slip_no"] == slip_no)
    line = f"{slip['ocr_lower']},{amount},{paid},0001,123,{paid}"
    call_command(
        "import_payments",
        "--channel",
        "bank",
        str(write_csv(",".join(BANK_HEADER), [line])),
        stdout=StringIO(),
    )


def test_the_engine_pays_the_fee_first_as_the_rules_order_says(
    city: Any, write_csv: Callable[..., Any]
) -> None:
    # rules.allocation.DEFAULT_ORDER: 滞納処分費 → 督促手数料 → 本税 → 延滞金.
    run(city, "2024-07-15")
    n = notice_of("500001")
    assert n.slip is not None
    _pay_slip(write_csv, "1002", n.slip.slip_no, 5100, "2024-07-20")
    i = inst("500001")
    assert i.principal_outstanding == 10800 - 5000
    fee_paid = LedgerEntry.objects.filter(
        installment=i, component=Component.DUNNING_FEE, txn__kind=TxnKind.PAYMENT
    ).values_list("amount", flat=True)
    assert list(fee_paid) == [-100]
    assert amounts_due(taxpayer_ids=[i.taxpayer_id], as_of=D(2024, 7, 20))[0].dunning_fee == 0


def test_a_payment_dated_before_the_notice_does_not_pay_its_fee(
    city: Any, write_csv: Callable[..., Any]
) -> None:
    run(city, "2024-07-15")
    # paid at a bank on 07-10 (before the 督促状 was issued), on the installment's own slip
    _pay_slip(write_csv, "1002", str(inst("500001").slip_no), 5000, "2024-07-10")
    i = inst("500001")
    assert i.principal_outstanding == 10800 - 5000
    assert amounts_due(taxpayer_ids=[i.taxpayer_id], as_of=D(2024, 7, 20))[0].dunning_fee == 100


def test_the_counter_owes_the_fee_too(city: Any) -> None:
    from choshu.receipts.services import slips_owed

    run(city, "2024-07-15")
    n = notice_of("500001")
    assert n.slip is not None
    [owed] = slips_owed(city, [n.slip.slip_no], paid_on=D(2024, 7, 15))
    assert owed.principal == 10800 + 100  # 本税 and the fee
    [before] = slips_owed(city, [str(inst("500001").slip_no)], paid_on=D(2024, 7, 14))
    assert before.principal == 10800


def test_the_retention_purge_deletes_a_settled_persons_notices(
    city: Any, write_csv: Callable[..., Any]
) -> None:
    from conftest import purge_with_approval

    run(city, "2024-07-15")
    n = notice_of("500001")
    assert n.slip is not None and n.total == 10800 + 100  # a 延滞金 under 1,000 円 is not collected
    _pay_slip(write_csv, "1002", n.slip.slip_no, n.total, "2024-07-20")
    suppression_add(
        actor=_clerk(city),
        installment=inst("500001"),
        reason=SuppressionReason.RETURNED_MAIL,
        start=D(2024, 8, 1),
    )
    report = purge_with_approval(city, "2035-01-04")
    assert report["deleted"] >= 1
    assert not Taxpayer.objects.filter(taxpayer_no="1002").exists()
    assert not DunningNotice.objects.filter(pk=n.pk).exists() and not DunningSuppression.objects.exists()
    assert DunningNotice.objects.count() == 3  # the others are kept (arrears)


def _clerk(city: Any) -> Any:
    from choshu.accounts.models import User

    return User.objects.create_user(
        username="clerk-r", password="correct horse 1", role="clerk", municipality=city
    )


def test_the_ledger_verifies_after_a_run_and_a_fee_payment(city: Any, write_csv: Callable[..., Any]) -> None:
    run(city, "2024-07-15")
    n = notice_of("300001")
    assert n.slip is not None
    _pay_slip(write_csv, "2001", n.slip.slip_no, 3000, "2024-07-22")
    out = StringIO()
    call_command("verify_ledger", "--json", stdout=out)
    result = json.loads(out.getvalue().strip().splitlines()[-1])
    assert result["ok"] is True, result


def test_every_key_of_the_runs_and_suppressions_audit_records_has_a_japanese_name(
    city: Any, make_user: Callable[..., Any]
) -> None:
    from choshu.core.labels import key_label

    clerk = make_user("clerk1", role="clerk", municipality=city)
    suppression_add(
        actor=clerk, installment=inst("500001"), reason=SuppressionReason.PAYMENT_PLAN, start=D(2024, 7, 1)
    )
    run(city, "2024-07-15")
    keys = {k for d in AuditLog.objects.values_list("detail", flat=True) for k in d}
    assert sorted(k for k in keys if key_label(k) == k) == []


def _queries_of_a_run(city: Any, as_of: date) -> list[str]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from choshu.dunning.services import dunning_run

    with CaptureQueriesContext(connection) as ctx:
        dunning_run(municipality=city, as_of=as_of, today=as_of)
    return [q["sql"][:90] for q in ctx.captured_queries]


def test_the_number_of_queries_does_not_grow_with_the_notices(
    city: Any, write_csv: Callable[..., Any]
) -> None:
    from conftest import LEVIES_BOOKED_ON, LEVY_HEADER, TAXPAYER_HEADER

    from choshu.dunning.services import dunning_run
    from choshu.levies.services import levies_import
    from choshu.taxpayers.services import taxpayers_import

    dunning_run(municipality=city, as_of=D(2024, 7, 15), today=D(2024, 7, 15), dry_run=True)  # warm caches
    small = _queries_of_a_run(city, D(2024, 7, 15))  # 4 notices
    people = [
        f"{3000 + k},individual,試験 {k},シケン,1980-01-01,1,3330801,埼玉県川口市本町{k},,,,,1,"
        for k in range(40)
    ]
    levies = [
        f"01,2024,{700000 + k},{3000 + k},{n},2024-0{5 + n}-30,{1000 * (k + 1)},"
        for k in range(40)
        for n in (1, 2)
    ]
    taxpayers_import(municipality=city, path=write_csv(TAXPAYER_HEADER, people))
    levies_import(municipality=city, path=write_csv(LEVY_HEADER, levies), booking_date=LEVIES_BOOKED_ON)
    large = _queries_of_a_run(city, D(2024, 9, 30))  # 80 installments of 40 people, and 1001's 第2期
    assert DunningNotice.objects.count() == 4 + 40 + 1
    assert DunningNoticeInstallment.objects.count() == 4 + 80 + 1
    # the same statements, whatever the number of notices (the sample city's 04 has a breakdown: one read
    # of its splits that the new people's 01 levies do not need)
    small = [q for q in small if "levies_breakdownsplit" not in q]
    assert len(large) == len(small), "\n".join(large) + "\n----\n" + "\n".join(small)


def _standard_levy(write_csv: Callable[..., Any], **values: str) -> None:
    """One levy row in the standard's layout (docs/formats.md §2) through the real import."""
    from choshu.formats.levies_csv import HEADER
    from choshu.levies.tests.test_import_levies_standard import row

    path = write_csv(",".join(HEADER), [row(**values)])
    call_command("import_levies", str(path), "--booking-date", "2025-06-01", "--json", stdout=StringIO())


def test_the_run_reads_the_designated_due_date_of_the_standard_model(
    city: Any, write_csv: Callable[..., Any]
) -> None:
    # 納期限 2025-06-30, 指定納期限 2025-07-10 (標準準拠: the dunning runs from the 指定納期限, 法329条)
    _standard_levy(write_csv, notice_no="700001", due_date="2025-06-30", designated_due_date="2025-07-10")
    late = inst("700001")
    assert (late.due_date, late.designated_due_date) == (D(2025, 6, 30), D(2025, 7, 10))
    run(city, "2025-07-10")  # on the 指定納期限 itself: not yet
    assert not DunningNoticeInstallment.objects.filter(installment=late).exists()
    run(city, "2025-07-30")  # the 20th day after the 指定納期限: in time
    line = DunningNoticeInstallment.objects.get(installment=late)
    assert line.notice.late_issue is False and line.notice.pay_by == D(2025, 8, 12)
    # 07-30 + 10 = 08-09, a Saturday; 08-10 Sunday, 08-11 山の日: the next open day (法20条の5)


def test_a_suppressed_installment_is_left_off_its_items_notice_and_dunned_once_the_suppression_ends(
    city: Any, make_user: Callable[..., Any]
) -> None:
    clerk = make_user("clerk1", role="clerk", municipality=city)
    s = suppression_add(
        actor=clerk, installment=inst("100001", 2), reason=SuppressionReason.DIRECT_DEBIT, start=D(2024, 9, 1)
    )
    out = run(city, "2024-09-24")
    assert (out["suppressed"], out["issued"], out["installments"]) == (1, 4, 4)
    assert [x.installment for x in notice_of("100001").lines.all()] == [inst("100001")]
    from choshu.dunning.services import suppression_end

    suppression_end(actor=clerk, suppression=s, end=D(2024, 9, 30), note="振替不能の通知")
    later = run(city, "2024-10-01")
    assert (later["candidates"], later["issued"], later["fee_total"]) == (1, 1, 100)  # its own notice and fee
    assert DunningNoticeInstallment.objects.get(installment=inst("100001", 2)).notice != notice_of("100001")


def test_every_line_carries_the_figures_amounts_due_shows_for_its_installment(
    city: Any, write_csv: Callable[..., Any]
) -> None:
    """The run computes a slice's amounts set-wise (``amounts_due_lines``: one call of the 延滞金 rule for
    the slice); each notice line must still be what ``amounts_due`` — the figures the counter and the
    person page show — gives for its installment on the run date: with partial payments, a payment in
    full, unpaid installments on shared 納期限, and several tax items and people."""
    from choshu.levies.ledger import Leg, post
    from choshu.levies.models import Account
    from choshu.levies.services import levies_import

    header = "tax_item,levy_year,notice_no,taxpayer_no,installment_no,due_date,principal,slip_no"
    rows = [
        f"07,2023,{730000 + n},100{1 + n % 2},{1 + n % 4},2023-0{4 + n % 5}-28,{2500 + 7919 * n},"
        for n in range(24)
    ]
    levies_import(municipality=city, path=write_csv(header, rows), booking_date=D(2023, 4, 1))
    for k, i in enumerate(Installment.objects.filter(levy__tax_item="07").order_by("pk")[:8]):
        amount = [1000, 5000, i.principal_levied, 12_345][k % 4]
        post(
            municipality=city,
            kind=TxnKind.PAYMENT,
            legal_date=D(2024, 2, 1 + k),
            booking_date=D(2024, 2, 1 + k),
            legs=[
                Leg(Account.CASH, amount),
                Leg(Account.RECEIVABLE, -amount, Component.PRINCIPAL, installment=i),
            ],
        )
    out = run(city, "2024-09-24")
    lines = list(DunningNoticeInstallment.objects.select_related("notice", "installment"))
    assert out["installments"] == len(lines) >= 20
    expected = {
        a.installment_id: a
        for tp in {ln.installment.taxpayer_id for ln in lines}
        for a in amounts_due(taxpayer_ids=[tp], as_of=D(2024, 9, 24))
    }
    for ln in lines:
        a = expected[ln.installment_id]
        assert (ln.principal, ln.late_charge) == (a.principal_due, a.late_charge)
    assert any(ln.late_charge for ln in lines) and any(a.principal_payments for a in expected.values())
    assert out["late_charge_total"] == sum(ln.late_charge for ln in lines)
    assert out["principal_total"] == sum(ln.principal for ln in lines)
