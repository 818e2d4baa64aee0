"""催告書 (issue 15 §3): lists built by criteria, reviewed, hand exclusions, issued as a batch.

The sample city (see test_dunning_run): 1001 owes 01 第1期 30,000 円 (納期限 2024-07-01), 01 第2期 29,000 円
(2024-09-02) and 04 12,000 円 (2024-04-30); 1002 owes 05 10,800 円 (2024-05-31); 2001 owes 03 70,000 円
(2024-05-31). A dunning run on 2024-07-15 dunned all but 01 第2期 (100 円 fee per notice).
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from django.core.exceptions import ValidationError

from choshu.audit.models import AuditKind, AuditLog
from choshu.dunning.models import (
    ReminderLetter,
    ReminderLetterInstallment,
    ReminderList,
    ReminderListStatus,
    SuppressionReason,
)
from choshu.dunning.reminders import Criteria, exclusion_add, list_issue, list_save, review
from choshu.dunning.services import dunning_fee_set, dunning_run, suppression_add
from choshu.levies.models import Installment
from choshu.receipts.models import PaymentSlip
from choshu.rules.check_digits import is_valid_slip_no
from choshu.taxpayers.models import Taxpayer

pytestmark = pytest.mark.django_db
D = date
TODAY = D(2025, 1, 20)


@pytest.fixture
def city(sample_city: Any) -> Any:
    dunning_fee_set(
        actor=None, municipality=sample_city, valid_from=D(2024, 4, 1), yen=100, source="条例（例）"
    )
    dunning_run(municipality=sample_city, as_of=D(2024, 7, 15), today=D(2024, 7, 15))
    return sample_city


@pytest.fixture
def chief(city: Any, make_user: Any) -> Any:
    from choshu.accounts.models import Role

    return make_user("kacho", role=Role.CHIEF, municipality=city)


def save(city: Any, chief: Any, **criteria: Any) -> Any:
    return list_save(
        actor=chief, municipality=city, name="1月の催告", criteria=Criteria(**criteria), as_of=D(2025, 1, 31),
        pay_by=D(2025, 2, 14), today=TODAY,
    )  # fmt: skip


def people(rl: Any) -> set[str]:
    from choshu.dunning.reminders import target_people

    ids = [r["taxpayer_id"] for r in target_people(rl)]
    return set(Taxpayer.objects.filter(pk__in=ids).values_list("taxpayer_no", flat=True))


def test_the_review_counts_the_dunned_arrears_by_tax_item(city: Any, chief: Any) -> None:
    rl = save(city, chief)
    r = review(rl)
    # dunned only (the default): 01 第1期, 04, 05, 03 — not 01 第2期 (never dunned)
    assert (r.people, r.installments, r.principal) == (3, 4, 30000 + 12000 + 10800 + 70000)
    assert r.by_tax_item["01"] == {"installments": 1, "principal": 30000}
    everyone = review(save(city, chief, dunned_only=False))
    assert (everyone.installments, everyone.principal) == (5, r.principal + 29000)


def test_criteria_narrow_the_list(city: Any, chief: Any) -> None:
    assert len(people(save(city, chief, tax_items=("03",)))) == 1
    high = people(save(city, chief, amount_min=40000))  # 1001: 42,000 (dunned), 2001: 70,000
    assert len(high) == 2
    low = people(save(city, chief, amount_max=20000))  # 1002: 10,800
    assert len(low) == 1 and not (low & high)
    # days overdue on 2025-01-31: 01 第1期 (07-01) is 214 days past due; 04 (04-30), 05 and 03 (05-31) more
    assert review(save(city, chief, days_overdue=214)).installments == 4
    assert review(save(city, chief, days_overdue=215)).installments == 3
    assert review(save(city, chief, levy_year_from=2099)).people == 0


def test_a_suppressed_installment_and_an_excluded_person_are_left_out(city: Any, chief: Any) -> None:
    rl = save(city, chief)
    inst = Installment.objects.get(levy__tax_item="03")
    suppression_add(actor=chief, installment=inst, reason=SuppressionReason.BANKRUPTCY, start=D(2025, 1, 1))
    assert review(rl).people == 2
    victim = next(iter(people(rl)))
    exclusion_add(
        actor=chief, reminder_list=rl, taxpayer=Taxpayer.objects.get(taxpayer_no=victim), reason="納付相談中"
    )
    r = review(rl)
    assert (r.people, r.excluded) == (1, 1) and victim not in people(rl)
    with pytest.raises(ValidationError, match="すでに除外"):
        exclusion_add(
            actor=chief, reminder_list=rl, taxpayer=Taxpayer.objects.get(taxpayer_no=victim), reason="再"
        )
    with pytest.raises(ValidationError, match="理由"):
        exclusion_add(
            actor=chief, reminder_list=rl, taxpayer=Taxpayer.objects.get(taxpayer_no=victim), reason=" "
        )


def test_issue_writes_one_letter_per_person_with_one_combined_slip_once(city: Any, chief: Any) -> None:
    rl = save(city, chief)
    slips_before = PaymentSlip.objects.count()
    summary = list_issue(actor=chief, reminder_list=rl, today=TODAY)
    assert (summary.letters, summary.installments) == (3, 4)
    assert summary.fee == 400  # the four notices' unpaid 督促手数料
    assert summary.late_charge > 0  # half a year past due: 延滞金 as of 2025-01-31
    assert PaymentSlip.objects.count() == slips_before + 3
    for letter in ReminderLetter.objects.all():
        lines = list(ReminderLetterInstallment.objects.filter(letter=letter))
        assert letter.total == letter.principal + letter.late_charge + letter.fee
        assert letter.principal == sum(x.principal for x in lines)
        assert letter.late_charge == sum(x.late_charge for x in lines)
        assert letter.slip is not None and letter.slip.amount == letter.total
        assert letter.slip.pay_by == D(2025, 2, 14) and is_valid_slip_no(letter.slip.slip_no)
        assert set(letter.slip.installments.values_list("pk", flat=True)) == {x.installment_id for x in lines}
        assert (letter.as_of, letter.issued_on) == (D(2025, 1, 31), TODAY)
    rl.refresh_from_db()
    assert rl.status == ReminderListStatus.ISSUED and rl.counts["letters"] == 3
    audit = AuditLog.objects.get(function="催告書の一括発付")
    assert audit.kind == AuditKind.BATCH and audit.detail["letters"] == 3 and audit.subject_ids == []
    with pytest.raises(ValidationError, match="発付済み"):
        list_issue(actor=chief, reminder_list=rl, today=TODAY)
    with pytest.raises(ValidationError, match="発付済み"):
        exclusion_add(actor=chief, reminder_list=rl, taxpayer=Taxpayer.objects.all()[0], reason="後から")
    assert ReminderLetter.objects.count() == 3


def test_a_protected_person_s_letter_is_printed_in_the_office(city: Any, chief: Any) -> None:
    protected = Taxpayer.objects.get(pk=Installment.objects.get(levy__tax_item="05").taxpayer_id)
    Taxpayer.objects.filter(pk=protected.pk).update(support_measure_from=D(2024, 1, 1))
    list_issue(actor=chief, reminder_list=save(city, chief), today=TODAY)
    assert ReminderLetter.objects.get(taxpayer=protected).print_in_office
    assert ReminderLetter.objects.filter(print_in_office=False).count() == 2


def test_bad_dates_are_refused_with_nothing_written(city: Any, chief: Any) -> None:
    with pytest.raises(ValidationError, match="納付期限"):
        list_save(actor=chief, municipality=city, name="x", criteria=Criteria(), as_of=TODAY, pay_by=D(2025, 1, 1),
                  today=TODAY)  # fmt: skip
    assert not ReminderLetter.objects.exists()


def test_a_reminder_slip_pays_the_arrears_and_the_purge_then_removes_the_letter(
    city: Any, chief: Any, write_csv: Any
) -> None:
    from conftest import purge_with_approval

    from choshu.dunning.tests.test_dunning_run import _pay_slip

    rl = list_save(actor=chief, municipality=city, name="8月", criteria=Criteria(tax_items=("05",)),
                   as_of=D(2024, 8, 1), pay_by=D(2024, 8, 15), today=D(2024, 8, 1))  # fmt: skip
    list_issue(actor=chief, reminder_list=rl, today=D(2024, 8, 1))
    letter = ReminderLetter.objects.get()
    assert letter.slip is not None and letter.total == 10800 + 100  # 延滞金 under 1,000 円 is not collected
    _pay_slip(write_csv, "1002", letter.slip.slip_no, letter.total, "2024-08-10")
    assert Installment.objects.get(levy__tax_item="05").principal_outstanding == 0
    purge_with_approval(city, "2035-01-04")
    assert not Taxpayer.objects.filter(taxpayer_no="1002").exists()
    assert not ReminderLetter.objects.exists() and not ReminderLetterInstallment.objects.exists()
    assert ReminderList.objects.filter(pk=rl.pk).exists()  # criteria and counts stay
