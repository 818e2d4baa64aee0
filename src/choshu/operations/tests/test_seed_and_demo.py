"""``choshu seed`` (a deterministic synthetic city) and ``choshu demo --no-serve``."""

from __future__ import annotations

import base64
import json
from collections import Counter
from datetime import date
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from choshu.accounts.models import User
from choshu.core.models import Job, Municipality
from choshu.core.services import municipality_create
from choshu.levies.models import Installment, Levy
from choshu.operations import synthetic
from choshu.operations.synthetic import seed_notice_no, seed_slip_no
from choshu.receipts.models import Payment
from choshu.rules.check_digits import is_valid_corporate_number, is_valid_my_number, is_valid_slip_no
from choshu.rules.due_dates import is_closed_day
from choshu.taxpayers.crypto import decrypt_my_number
from choshu.taxpayers.models import (
    CoOwner,
    Heir,
    MailingAddress,
    Representative,
    SpecialCollectionEmployee,
    SpecialCollector,
    Taxpayer,
)


def seed(n: int = 300, s: int = 7) -> dict[str, Any]:
    out = StringIO()
    call_command(
        "seed", "--taxpayers", str(n), "--seed", str(s), "--as-of", "2026-11-26", "--json", stdout=out
    )
    return json.loads(out.getvalue().strip().splitlines()[-1])


def snapshot() -> list[Any]:
    return [
        list(
            Taxpayer.objects.order_by("pk").values_list(
                "taxpayer_no",
                "kind",
                "name",
                "name_kana",
                "address",
                "my_number_hash",
                "resident",
                "deceased_on",
                "support_measure_from",
                "support_measure_until",
            )
        ),  # fmt: skip
        list(
            Levy.objects.order_by("pk").values_list(
                "taxpayer__taxpayer_no",
                "tax_item",
                "notice_no",
                "special_collector_no",
                "filing_type",
                "business_year_start",
                "business_year_end",
            )
        ),  # fmt: skip
        list(
            Installment.objects.order_by("pk").values_list(
                "due_date",
                "statutory_due_date",
                "late_charge_base_date",
                "slip_no",
                "principal_levied",
                "principal_paid",
            )
        ),  # fmt: skip
        *related_snapshot(),
    ]


def related_snapshot() -> list[list[Any]]:
    """The seed's related records (issue 12), by 宛名番号 (ids differ between runs)."""
    return [
        list(SpecialCollector.objects.order_by("pk").values_list("taxpayer__taxpayer_no", "designation_no")),
        list(
            SpecialCollectionEmployee.objects.order_by("pk").values_list(
                "collector__designation_no", "employee__taxpayer_no", "levy_year", "annual_amount"
            )
        ),
        list(
            MailingAddress.objects.order_by("pk").values_list("taxpayer__taxpayer_no", "tax_item", "address")
        ),
        list(
            Representative.objects.order_by("pk").values_list("taxpayer__taxpayer_no", "agent__taxpayer_no")
        ),
        list(
            CoOwner.objects.order_by("pk").values_list(
                "ownership__taxpayer_no", "member__taxpayer_no", "levy_year", "share_numerator"
            )
        ),
        list(Heir.objects.order_by("pk").values_list("deceased__taxpayer_no", "heir__taxpayer_no", "since")),
    ]


def delete_seeded_city() -> None:
    """Everything the seed wrote, in an order the protecting foreign keys allow."""
    from django.db import connection

    from choshu.levies.models import BreakdownSplit, InstallmentBreakdown, LedgerEntry, LedgerTransaction
    from choshu.taxpayers.models import TaxpayerRevision

    Payment.objects.all().delete()
    with connection.cursor() as cur:  # the ledger's own permit (PostgreSQL refuses deletions without it)
        if connection.vendor == "postgresql":
            cur.execute("SET LOCAL choshu.ledger_permit = 'purge'")
    LedgerEntry.objects.all().delete()
    LedgerTransaction.objects.all().delete()
    BreakdownSplit.objects.all().delete()  # the seed writes the breakdown of 03/04/07 too (issue 12 §2)
    InstallmentBreakdown.objects.all().delete()
    Installment.objects.all().delete()
    Levy.objects.all().delete()
    for model in (SpecialCollectionEmployee, SpecialCollector, MailingAddress, Representative, CoOwner, Heir):
        model.objects.all().delete()  # the related records of issue 12
    TaxpayerRevision.objects.all().delete()
    Taxpayer.objects.all().delete()


@pytest.mark.django_db
def test_the_seed_creates_kawaguchi_and_a_consistent_ledger() -> None:
    summary = seed()
    assert summary["municipality"] == "112038" and summary["taxpayers"] == 300
    out = StringIO()
    call_command("verify_ledger", "--json", stdout=out)
    assert json.loads(out.getvalue().strip().splitlines()[-1])["ok"] is True
    assert {"01", "02", "03", "04", "05", "07"} <= {lv.tax_item for lv in Levy.objects.all()}
    assert sorted({lv.levy_year for lv in Levy.objects.all()}) == [2021, 2022, 2023, 2024, 2025, 2026]


@pytest.mark.django_db
def test_about_five_to_eight_percent_of_due_installments_are_delinquent() -> None:
    summary = seed(1500)
    assert summary["due_installments"] > 20000
    assert 0.05 <= summary["delinquent_share"] <= 0.08
    outstanding = Installment.objects.filter(
        due_date__lt=date(2026, 11, 26), principal_outstanding__gt=0
    ).count()
    assert outstanding == summary["delinquent_installments"]


@pytest.mark.django_db
def test_the_seed_is_deterministic_for_the_same_seed() -> None:
    seed(120, 3)
    first = snapshot()
    assert all(first[3:]), "every kind of related record is part of the comparison"
    delete_seeded_city()
    seed(120, 3)
    assert snapshot() == first


@pytest.mark.django_db
def test_seeded_people_are_realistic_and_valid() -> None:
    seed(400)
    people = list(Taxpayer.objects.all())
    corporations = [p for p in people if p.kind == "corporation"]
    assert 0.02 <= len(corporations) / len(people) <= 0.09
    for p in people:
        assert p.name and p.name_kana and p.address.startswith("埼玉県川口市")
        if p.kind == "individual":
            assert is_valid_my_number(decrypt_my_number(p.my_number_enc))
        elif p.kind == "corporation":
            assert is_valid_corporate_number(p.corporate_number) and not p.my_number_hash
        else:  # 共有 (issue 12): no My Number, corporate number, birth date or sex of its own
            assert p.kind == "co_ownership" and not (p.my_number_hash or p.corporate_number or p.birth_date)
    hashes = [p.my_number_hash for p in people if p.my_number_hash]
    assert len(hashes) == len(set(hashes))
    for inst in Installment.objects.all()[:2000]:
        assert not is_closed_day(inst.due_date), inst.due_date
        assert inst.slip_no and is_valid_slip_no(inst.slip_no)


@pytest.mark.django_db
def test_the_seed_refuses_a_municipality_that_already_has_taxpayers() -> None:
    seed(10)
    with pytest.raises(CommandError) as exc:
        seed(10)
    assert exc.value.returncode == 2


@pytest.mark.django_db
def test_payments_are_never_later_than_the_seed_date() -> None:
    seed(200)
    assert not Payment.objects.filter(paid_on__gt=date(2026, 11, 26)).exists()


@pytest.mark.django_db
def test_paid_until_leaves_later_installments_open_with_the_same_levies() -> None:
    out = StringIO()
    call_command(
        "seed", "--taxpayers", "200", "--seed", "7", "--as-of", "2026-11-26", "--paid-until", "2023-12-31",
        "--json", stdout=out,
    )  # fmt: skip
    assert not Payment.objects.filter(paid_on__gt=date(2023, 12, 31)).exists()
    assert Payment.objects.exists()  # the earlier years were paid as usual
    open_2024 = Installment.objects.filter(due_date__gt=date(2024, 2, 1), principal_paid=0).count()
    assert open_2024 == Installment.objects.filter(due_date__gt=date(2024, 2, 1)).count() > 0
    with pytest.raises(CommandError) as exc:
        call_command("seed", "--taxpayers", "1", "--as-of", "2026-11-26", "--paid-until", "2026-12-01")
    assert exc.value.returncode == 2


@pytest.mark.django_db
@pytest.mark.usefixtures("production_password_hashers")
def test_demo_without_serving_sets_up_the_city_and_prints_credentials_once() -> None:
    out = StringIO()
    call_command("demo", "--no-serve", "--taxpayers", "50", stdout=out)
    text = out.getvalue()
    assert "この一度だけ表示します" in text
    assert Taxpayer.objects.filter(municipality__code="112038").count() == 50
    assert set(User.objects.values_list("role", flat=True)) >= {"chief", "clerk", "auditor"}
    chief = User.objects.get(username="chief")
    fields = next(line.split() for line in text.splitlines() if line.strip().startswith("chief"))
    password, secret = fields[1], fields[2]
    assert chief.check_password(password) and chief.password.startswith("argon2")
    from django_otp.plugins.otp_totp.models import TOTPDevice

    assert base64.b32decode(secret) == TOTPDevice.objects.get(user=chief).bin_key
    again = StringIO()
    call_command("demo", "--no-serve", stdout=again)
    assert "この一度だけ表示します" not in again.getvalue()
    assert Taxpayer.objects.count() == 50


@pytest.mark.django_db(transaction=True)
def test_the_pipelined_seed_writes_exactly_what_the_sequential_seed_writes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(synthetic, "CHUNK", 40)  # several chunks, so the child process is used
    results = []
    for code, name, parallel in (("112038", "川口市", True), ("112089", "草加市", False)):
        m = municipality_create(code=code, name=name)
        job = Job.objects.create(municipality=m, kind="seed")
        summary = synthetic.seed_city(
            municipality=m, taxpayers=130, seed=9, as_of=date(2026, 11, 26), job=job, parallel=parallel
        )
        rows = list(
            Installment.objects.filter(municipality=m)
            .order_by("pk")
            .values_list("installment_no", "due_date", "principal_levied", "principal_paid")
        )
        results.append((summary.as_dict(), rows))
    assert results[0] == results[1]
    assert Municipality.objects.count() == 2
    out = StringIO()
    call_command("verify_ledger", "--json", stdout=out)
    assert json.loads(out.getvalue().strip().splitlines()[-1])["ok"] is True


def test_synthetic_notice_and_slip_numbers_stay_valid_past_a_million_levies() -> None:
    for counter in (1, 999_999, 1_000_000, 12_345_678, 99_999_999):
        notice = seed_notice_no(2026, "04", counter)
        assert len(notice) == 12 and notice.isdigit()
        slips = {seed_slip_no(1, counter, no) for no in range(1, 13)}
        assert len(slips) == 12 and all(is_valid_slip_no(s) for s in slips)
    assert seed_slip_no(1, 1_000_001, 1) != seed_slip_no(1, 1, 1)  # no wrap-around
    with pytest.raises(ValueError):
        seed_notice_no(2026, "04", 10**8)


@pytest.mark.django_db
def test_the_seed_gives_03_04_and_07_their_breakdown_and_its_payments_their_splits() -> None:
    from django.db.models import Count, Sum

    from choshu.levies.models import BreakdownSplit, InstallmentBreakdown

    seed()
    with_breakdown = dict(
        InstallmentBreakdown.objects.values("installment__levy__tax_item")
        .annotate(n=Count("installment_id", distinct=True))
        .values_list("installment__levy__tax_item", "n")
    )
    assert set(with_breakdown) == {"03", "04", "07"}
    for item in ("03", "04", "07"):
        assert with_breakdown[item] == Installment.objects.filter(levy__tax_item=item).count()
    codes = set(InstallmentBreakdown.objects.values_list("code", flat=True))
    assert codes == {
        "per_capita",
        "corporate_tax",
        "fixed_asset",
        "city_planning",
        "medical",
        "support",
        "care",
    }
    # 介護分 only for the insured of 40–64: some 国保 installments have two components, some three.
    per_nhi = Counter(
        InstallmentBreakdown.objects.filter(installment__levy__tax_item="07").values_list(
            "installment_id", flat=True
        )
    )
    assert set(per_nhi.values()) == {2, 3}
    paid = BreakdownSplit.objects.aggregate(total=Sum("amount"))["total"]
    assert (
        paid
        and paid
        == Installment.objects.filter(levy__tax_item__in=["03", "04", "07"]).aggregate(
            total=Sum("principal_paid")
        )["total"]
    )
    out = StringIO()
    call_command("verify_ledger", "--json", stdout=out)
    assert json.loads(out.getvalue().strip().splitlines()[-1])["ok"] is True
