"""The synthetic city shows issue 12's standard data: 支援措置, 送付先, 納税管理人, 共有, 相続人, 特別徴収義務者
and a 法人住民税 filed late — written by the seed's bulk path, deterministic, and on the person page."""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import date
from fractions import Fraction
from io import StringIO
from typing import Any

import pytest
from conftest import login_verified
from django.core.management import call_command
from django.db.models import Sum
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from choshu.accounts.models import User
from choshu.core.models import Job
from choshu.core.services import municipality_create
from choshu.levies.models import Installment, InstallmentBreakdown, Levy
from choshu.operations import synthetic
from choshu.operations.synthetic import BLOCK, SHOWCASE, SHOWCASE_LABELS, showcase_role
from choshu.taxpayers import protection
from choshu.taxpayers.models import (
    CoOwner,
    Heir,
    MailingAddress,
    Representative,
    SpecialCollectionEmployee,
    SpecialCollector,
    Taxpayer,
)

AS_OF = date(2026, 11, 26)


def seed(n: int, s: int = 7) -> dict[str, Any]:
    out = StringIO()
    call_command(
        "seed", "--taxpayers", str(n), "--seed", str(s), "--as-of", AS_OF.isoformat(), "--json", stdout=out
    )
    return json.loads(out.getvalue().strip().splitlines()[-1])  # type: ignore[no-any-return]


def verify_ledger_ok() -> bool:
    out = StringIO()
    call_command("verify_ledger", "--json", stdout=out)
    return json.loads(out.getvalue().strip().splitlines()[-1])["ok"] is True  # type: ignore[no-any-return]


def test_a_few_of_each_kind_per_ten_thousand_and_all_of_them_in_the_first_block() -> None:
    roles = Counter(showcase_role(i) for i in range(10_000))
    del roles[""]
    assert set(roles) == set(SHOWCASE.values())
    assert all(2 <= n <= 12 for n in roles.values()), roles
    assert max(SHOWCASE) < 20 < BLOCK  # a city of 20 taxpayers already has every kind


@pytest.mark.django_db
def test_a_seeded_city_has_each_kind_of_related_record() -> None:
    summary = seed(60)
    assert verify_ledger_ok()
    job = Job.objects.get(kind=Job.Kind.SEED)
    m = job.municipality

    # 支援措置: some active on the seed date, one ended
    people = Taxpayer.objects.filter(municipality=m)
    active = people.filter(protection.active_on(AS_OF))
    ended = people.filter(support_measure_until__lt=AS_OF)
    assert active.count() == 2 and ended.count() == 1
    assert all(p.kind == "individual" and p.address for p in [*active, *ended])
    assert summary["related"]["support_measures"] == 3

    # 送付先: one for 軽自動車税 only (a person with 05 levies), one for every item
    mailing = {a.tax_item: a for a in MailingAddress.objects.all()}
    assert set(mailing) == {"05", "00"}
    assert Levy.objects.filter(taxpayer=mailing["05"].taxpayer, tax_item="05").exists()
    assert all(a.address and a.postal_code and a.address != a.taxpayer.address for a in mailing.values())

    # 納税管理人 of a person living abroad, who owns property here
    (manager,) = Representative.objects.all()
    assert manager.role == "tax_manager" and manager.tax_item == "00" and manager.valid_from
    assert manager.taxpayer.resident is False and manager.agent.resident is True
    assert Levy.objects.filter(taxpayer=manager.taxpayer, tax_item="04").exists()

    # 共有: a 宛名 of kind co_ownership holding 04 levies with their breakdown, 3 members per year
    (ownership,) = people.filter(kind="co_ownership")
    levies = Levy.objects.filter(taxpayer=ownership)
    assert set(levies.values_list("tax_item", flat=True)) == {"04"}
    installments = Installment.objects.filter(levy__in=levies)
    assert installments.count() == 4 * levies.count()
    assert set(
        InstallmentBreakdown.objects.filter(installment__in=installments).values_list("code", flat=True)
    ) == {"fixed_asset", "city_planning"}
    levied = InstallmentBreakdown.objects.filter(installment__in=installments).aggregate(s=Sum("levied"))["s"]
    assert levied == installments.aggregate(s=Sum("principal_levied"))["s"]
    for year in levies.values_list("levy_year", flat=True):
        members = list(CoOwner.objects.filter(ownership=ownership, levy_year=year).order_by("member_seq"))
        assert len(members) == 3
        assert [c.is_representative for c in members] == [True, False, False]
        shares = [Fraction(c.share_numerator or 0, c.share_denominator or 1) for c in members]
        assert sum(shares) == 1
        assert all(c.member.kind == "individual" and c.member.deceased_on is None for c in members)
    representative = CoOwner.objects.filter(ownership=ownership, is_representative=True).first()
    assert representative and ownership.name.startswith(representative.member.name)

    # 死亡: a deceased person with two heirs, the first the 相続人代表者
    heirs = list(Heir.objects.order_by("seq"))
    assert len(heirs) == 2 and heirs[0].deceased_id == heirs[1].deceased_id
    assert [h.is_representative for h in heirs] == [True, False]
    assert heirs[0].deceased.deceased_on and heirs[0].since == heirs[0].deceased.deceased_on
    assert all(h.heir.deceased_on is None for h in heirs)

    # 特別徴収義務者: corporations whose 02 levies (12 monthly installments) are theirs, with employees
    collectors = list(SpecialCollector.objects.all())
    assert len(collectors) == 2
    for c in collectors:
        assert c.taxpayer.kind == "corporation" and c.name == c.taxpayer.name
        own = Levy.objects.filter(tax_item="02", special_collector=c)
        assert own.exists()
        assert set(own.values_list("taxpayer_id", flat=True)) == {c.taxpayer_id}
        assert set(own.values_list("special_collector_no", flat=True)) == {c.designation_no}
        for levy in own:
            assert levy.installments.count() == 12
            employees = SpecialCollectionEmployee.objects.filter(collector=c, levy_year=levy.levy_year)
            total = levy.installments.aggregate(s=Sum("principal_levied"))["s"]
            assert employees.count() >= 2 and sum(e.annual_amount for e in employees) == total
            assert all(e.employee.kind == "individual" for e in employees)

    # 法人住民税: 事業年度 and 申告区分 on every 03 levy; one filed late has its 法定納期限 before its 納期限
    corporate = Levy.objects.filter(tax_item="03")
    assert corporate.exists() and not corporate.filter(business_year_start__isnull=True).exists()
    for levy in corporate:
        assert levy.business_year_start == date(levy.levy_year - 1, 4, 1)
        assert levy.business_year_end == date(levy.levy_year, 3, 31)
        assert levy.filing_type in ("1", "2")
    (late,) = Installment.objects.filter(levy__tax_item="03", levy__filing_type="2")
    assert late.statutory_due_date < late.due_date == late.designated_due_date
    assert late.late_charge_base_date == late.statutory_due_date  # 申告納付: 延滞金 from the 法定納期限
    assert late.statutory_due_date.month in (5, 6) and late.levy.levy_year == AS_OF.year - 1
    on_time = Installment.objects.filter(levy__tax_item="03", levy__filing_type="1")
    assert all(i.statutory_due_date == i.due_date == i.late_charge_base_date for i in on_time)

    # every related record: revision 1, current, written by the seed job, with its time
    for model in (SpecialCollector, SpecialCollectionEmployee, MailingAddress, Representative, CoOwner, Heir):
        rows = model.objects.all()  # type: ignore[attr-defined]
        assert rows.exists(), model
        for row in rows:
            assert (row.revision, row.is_current, row.job_id, row.municipality_id) == (1, True, job.pk, m.pk)
            assert row.changed_at and row.changed_by_id is None

    # the seed's output names one 宛名 of each kind
    assert set(summary["showcase"]) == set(SHOWCASE_LABELS)
    assert summary["showcase"]["protected"] in {p.taxpayer_no for p in active}
    assert summary["showcase"]["co_ownership"] == ownership.taxpayer_no
    assert summary["showcase"]["late_filing"] == late.taxpayer.taxpayer_no


@pytest.mark.django_db
def test_a_second_block_has_its_own_set_and_its_records_may_name_people_of_an_earlier_chunk(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(synthetic, "BLOCK", 30)  # the second block from index 30 …
    monkeypatch.setattr(
        synthetic, "CHUNK", 35
    )  # … its helpers (30–32) in the first chunk, the rest in the second
    m = municipality_create(code="112038", name="川口市")
    job = Job.objects.create(municipality=m, kind=Job.Kind.SEED)
    synthetic.seed_city(municipality=m, taxpayers=60, seed=2, as_of=AS_OF, job=job, parallel=False)
    assert verify_ledger_ok()
    assert Taxpayer.objects.filter(kind="co_ownership").count() == 2
    members = CoOwner.objects.filter(levy_year=AS_OF.year).values_list("ownership_id", flat=True).order_by()
    assert sorted(Counter(members).values()) == [2, 3]  # 3 members in even blocks, 2 in odd ones
    assert SpecialCollector.objects.count() == 4 and Heir.objects.count() == 4
    second = Taxpayer.objects.get(taxpayer_no=f"{30 + 7 + 1:010d}")  # the person abroad of the second block
    (rep,) = Representative.objects.filter(taxpayer=second)
    assert rep.agent.taxpayer_no == f"{30 + 2 + 1:010d}"  # written in the first chunk


@pytest.mark.django_db
def test_seed_prints_the_showcase_numbers() -> None:
    out = StringIO()
    call_command("seed", "--taxpayers", "30", "--seed", "4", "--as-of", AS_OF.isoformat(), stdout=out)
    text = out.getvalue()
    assert "標準データの例" in text
    for label in SHOWCASE_LABELS.values():
        assert label in text, label
    protected = Taxpayer.objects.filter(protection.active_on(timezone.localdate())).order_by("pk").first()
    assert protected and f"{protected.taxpayer_no}  {SHOWCASE_LABELS['protected']}" in text


@pytest.mark.django_db
def test_the_demo_clerk_sees_the_warning_and_no_address_on_a_protected_demo_persons_page() -> None:
    out = StringIO()
    call_command("demo", "--no-serve", "--taxpayers", "30", stdout=out)
    text = out.getvalue()
    numbers = synthetic.showcase(Job.objects.get(kind=Job.Kind.SEED).municipality, timezone.localdate())
    assert f"{numbers['protected']}  {SHOWCASE_LABELS['protected']}" in text  # the demo names them
    clerk = User.objects.get(username="clerk")
    client = login_verified(Client(), clerk)

    def page(taxpayer_no: str) -> tuple[Taxpayer, str]:
        person = Taxpayer.objects.get(taxpayer_no=taxpayer_no)
        response = client.get(reverse("web:taxpayer-overview", args=[person.pk]))
        assert response.status_code == 200
        return person, response.content.decode()

    person, html = page(numbers["protected"])
    assert person.is_protected(timezone.localdate()) and person.address
    assert protection.WARNING in html
    visible = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))
    street = person.address.removeprefix("埼玉県川口市")
    for bit in (street, person.postal_code, person.address_extra):
        assert not bit or bit not in html, bit
    assert protection.MASK in visible
    # the same clerk sees an unprotected person's address (the check above can fail)
    ended, html = page(numbers["protected_ended"])
    assert protection.WARNING not in html and ended.address.removeprefix("埼玉県川口市") in html
