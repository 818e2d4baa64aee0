"""The demo (``choshu demo --no-serve``) runs cases-run, so that the demo officers have a work list."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from choshu.accounts.models import User
from choshu.cases.models import Case, CaseSetting
from choshu.cases.selectors import work_list

pytestmark = pytest.mark.django_db


def test_the_demo_opens_cases_and_gives_them_to_the_demo_officers() -> None:
    out = StringIO()
    call_command("demo", "--no-serve", "--taxpayers", "200", stdout=out)
    assert "滞納案件の一括処理（cases-run）" in out.getvalue()
    assert CaseSetting.objects.count() == 1
    open_cases = Case.objects.filter(closed_on__isnull=True)
    assert open_cases.exists()
    officer, officer2 = User.objects.get(username="officer"), User.objects.get(username="officer2")
    assert set(open_cases.values_list("officer_id", flat=True)) <= {officer.pk, officer2.pk}
    assert not open_cases.filter(amount__lt=10000).exists()
    assert not open_cases.filter(officer=officer, amount__gte=100000).exists()
    today = timezone.localdate()
    assert work_list(officer, today).new_cases  # every case opened today is new
    again = StringIO()
    call_command("demo", "--no-serve", stdout=again)  # idempotent
    assert "開始 0 件" in again.getvalue()


def test_the_demo_has_one_pledged_plan() -> None:
    from choshu.plans.models import PaymentPlan, PlanStatus

    out = StringIO()
    call_command("demo", "--no-serve", "--taxpayers", "200", stdout=out)
    assert "分納誓約の例" in out.getvalue()
    plan = PaymentPlan.objects.get()
    assert plan.status == PlanStatus.PLEDGED and plan.instalments.count() == 3
    assert Case.objects.get(taxpayer=plan.taxpayer, closed_on__isnull=True).stage == "plan"
    call_command("demo", "--no-serve", stdout=StringIO())  # idempotent
    assert PaymentPlan.objects.count() == 1
