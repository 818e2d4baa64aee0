"""分納誓約 (issue 18 §5): schedules, validation, the pledge (slips, 督促停止, prescription, case stage),
plans-check (paid through the real payment import, missed after the grace days, defaulted, completed;
idempotent), cancellation, the pledge form and slip PDFs, the timeline."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from io import StringIO
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError

from choshu.accounts.models import Role
from choshu.audit.models import AuditLog
from choshu.cases.models import Case, Stage
from choshu.cases.services import case_setting_set, cases_run
from choshu.dunning.models import DunningSuppression, SuppressionReason
from choshu.dunning.reminder_models import ReminderList
from choshu.dunning.reminders import Criteria, target_installments
from choshu.formats.payments import BANK_HEADER
from choshu.levies.models import Installment
from choshu.plans.documents import instalment_slip_pdf, pledge_pdf
from choshu.plans.models import InstalmentStatus, PaymentPlan, PlanMethod, PlanStatus
from choshu.plans.services import (
    equal_schedule,
    plan_cancel,
    plan_create,
    plan_pledge,
    plan_quote,
    plan_setting_set,
    schedule_errors,
)
from choshu.plans.timeline import plan_events
from choshu.receipts.slips import taxpayer_slips
from choshu.relief.prescription import installment_prescriptions
from choshu.taxpayers.models import Taxpayer

pytestmark = pytest.mark.django_db
TODAY = date(2024, 8, 15)


def cmd(name: str, *args: str) -> dict[str, Any]:
    out = StringIO()
    call_command(name, *args, "--json", stdout=out)
    return json.loads(out.getvalue().strip().splitlines()[-1])


def inst(notice: str, no: int = 1) -> Installment:
    return Installment.objects.select_related("levy").get(levy__notice_no=notice, installment_no=no)


@pytest.fixture
def officer(sample_city: Any, make_user: Callable[..., Any]) -> Any:
    return make_user("officer_a", role=Role.CASE_OFFICER, municipality=sample_city, team="整理1班")


@pytest.fixture
def taro(sample_city: Any) -> Taxpayer:
    return Taxpayer.objects.get(taxpayer_no="1001")


def _plan(officer: Any, taro: Taxpayer, **kw: Any) -> PaymentPlan:
    """固定資産税 (12,000, due 2024-04-30) + 住民税 第1期 (30,000, due 2024-07-01) = 42,000 over 3."""
    ids = [inst("400001").pk, inst("100001").pk]
    schedule = kw.pop("schedule", equal_schedule(42000, 3, date(2024, 9, 1)))
    return plan_create(actor=officer, taxpayer=taro, installment_ids=ids, schedule=schedule,
                       method=kw.pop("method", PlanMethod.EQUAL), include_late_charge=kw.pop("late", False),
                       note="生活費の事情により分納の申出", today=TODAY)  # fmt: skip


def test_equal_schedule_worked_example() -> None:
    # 100,000 yen over 3: 33,333.3… → 33,000 each (whole thousands), the remainder 1,000 on the first.
    assert equal_schedule(100000, 3, date(2025, 1, 31)) == [
        (date(2025, 1, 31), 34000),
        (date(2025, 2, 28), 33000),  # no 31 February: the month's last day
        (date(2025, 3, 31), 33000),  # counted from the first date, not drifting to the 28th
    ]
    assert equal_schedule(42000, 3, date(2024, 9, 1)) == [
        (date(2024, 9, 1), 14000), (date(2024, 10, 1), 14000), (date(2024, 11, 1), 14000)
    ]  # fmt: skip
    assert [a for _, a in equal_schedule(2500, 3, date(2025, 1, 1))] == [834, 833, 833]  # under 1,000: yen
    for total, count in ((0, 3), (100, 0), (100, 61), (2, 3)):
        with pytest.raises(ValidationError):
            equal_schedule(total, count, date(2025, 1, 1))


def test_schedule_errors_say_what_and_where() -> None:
    today = date(2025, 1, 1)
    assert (
        schedule_errors([(date(2025, 2, 1), 500), (date(2025, 3, 1), 500)], required=1000, today=today) == []
    )
    errors = schedule_errors([(date(2025, 2, 1), 500), (date(2025, 3, 1), 400)], required=1000, today=today)
    assert errors == [
        "予定の合計 900円 が分納の対象額 1,000円 と一致しません（不足 100円）。金額を直してください"
    ]
    errors = schedule_errors([(date(2024, 12, 1), 500), (date(2024, 11, 1), 0)], required=500, today=today)
    assert "第1回の納付予定日（2024-12-01）が過去の日付です。本日以降にしてください" in errors
    assert "第2回の金額は1円以上の整数で入力してください" in errors
    assert any("第2回の納付予定日（2024-11-01）が前の回" in e for e in errors)
    assert schedule_errors([], required=1, today=today)


def test_a_plan_covers_exactly_the_principal_or_with_the_late_charge(officer: Any, taro: Taxpayer) -> None:
    q = plan_quote(taxpayer=taro, installment_ids=[inst("400001").pk, inst("100001").pk],
                   last_on=date(2025, 8, 1), include_late_charge=True, today=TODAY)  # fmt: skip
    assert q.principal == 42000 and q.fee == 0
    assert q.late_charge > 0 and q.total == 42000 + q.late_charge  # 延滞金 to the last instalment's date
    with pytest.raises(ValidationError) as e:
        _plan(
            officer, taro, schedule=[(date(2024, 9, 1), 20000), (date(2024, 10, 1), 20000)], method="manual"
        )
    assert "分納の対象額 42,000円 と一致しません（不足 2,000円）" in " ".join(e.value.messages)
    plan = _plan(officer, taro, late=True, method=PlanMethod.MANUAL,
                 schedule=[(date(2024, 9, 1), 20000), (date(2025, 8, 1), 22000 + q.late_charge)])  # fmt: skip
    assert plan.status == PlanStatus.DRAFT and plan.total == q.total and plan.late_charge == q.late_charge
    assert any(taro.pk in a.subject_ids for a in AuditLog.objects.filter(function="分納誓約の作成"))


def test_bad_choices_are_refused_and_change_nothing(
    officer: Any, taro: Taxpayer, make_user: Callable[..., Any], sample_city: Any
) -> None:
    hanako = Taxpayer.objects.get(taxpayer_no="1002")
    cases = [
        ([], "1件以上"),
        ([inst("500001").pk], "この宛名の期別ではありません"),  # 花子's
    ]
    for ids, message in cases:
        with pytest.raises(ValidationError) as e:
            plan_create(actor=officer, taxpayer=taro, installment_ids=ids, schedule=[(date(2024, 9, 1), 1)],
                        method="equal", include_late_charge=False, note="x", today=TODAY)  # fmt: skip
        assert message in " ".join(e.value.messages)
    _plan(officer, taro)
    with pytest.raises(ValidationError) as e:
        _plan(officer, taro)  # the same installments in an open plan
    assert "の対象です。その分納誓約を取り消してから" in " ".join(e.value.messages)
    clerk = make_user("clerk", role=Role.CLERK, municipality=sample_city)
    with pytest.raises(PermissionDenied):
        plan_create(actor=clerk, taxpayer=hanako, installment_ids=[inst("500001").pk],
                    schedule=[(date(2024, 9, 1), 10800)], method="equal", include_late_charge=False, note="x",
                    today=TODAY)  # fmt: skip
    assert PaymentPlan.objects.count() == 1


def _pledged(officer: Any, taro: Taxpayer) -> PaymentPlan:
    return plan_pledge(actor=officer, plan=_plan(officer, taro), pledged_on=TODAY, today=TODAY)


def test_the_pledge_issues_slips_suppresses_reminders_and_moves_the_case(
    officer: Any, taro: Taxpayer, sample_city: Any
) -> None:
    case_setting_set(actor=None, municipality=sample_city, valid_from=date(2024, 1, 1), min_amount=20000,
                     min_age_days=30, note="試験")  # fmt: skip
    cases_run(municipality=sample_city, as_of=TODAY, today=TODAY)
    case = Case.objects.get(taxpayer=taro)
    assert case.stage == Stage.DUNNING
    plan = _pledged(officer, taro)
    assert plan.status == PlanStatus.PLEDGED and plan.pledged_on == TODAY
    slips = [i.slip for i in plan.instalments.order_by("no")]
    assert [(s.amount, s.pay_by) for s in slips if s] == [
        (14000, date(2024, 9, 1)), (14000, date(2024, 10, 1)), (14000, date(2024, 11, 1))
    ]  # fmt: skip
    assert all(set(s.installments.values_list("pk", flat=True)) == {inst("400001").pk, inst("100001").pk}
               for s in slips if s)  # fmt: skip
    sup = DunningSuppression.objects.filter(reason=SuppressionReason.PAYMENT_PLAN)
    assert sorted(sup.values_list("installment_id", flat=True)) == sorted(
        [inst("400001").pk, inst("100001").pk]
    )
    case.refresh_from_db()
    assert case.stage == Stage.PLAN
    assert case.stage_changes.filter(to_stage=Stage.PLAN, note=f"分納誓約#{plan.pk}の誓約").exists()
    # a reminder list leaves the covered installments out while the plan runs; the others stay in
    rl = ReminderList.objects.create(
        municipality=sample_city, name="試験", criteria=Criteria(dunned_only=False).as_json(),
        as_of=date(2024, 9, 20), pay_by=date(2024, 9, 30), created_by=officer,
    )  # fmt: skip
    chosen = set(target_installments(rl).filter(taxpayer=taro).values_list("pk", flat=True))
    assert inst("400001").pk not in chosen and inst("100001").pk not in chosen
    # cancelled: reminders resume from the cancellation, the case goes back to 交渉中
    plan_cancel(actor=officer, plan=plan, reason="本人から撤回の申出", today=date(2024, 9, 10))
    assert not DunningSuppression.objects.filter(
        reason=SuppressionReason.PAYMENT_PLAN, end__isnull=True
    ).exists()
    chosen = set(target_installments(rl).filter(taxpayer=taro).values_list("pk", flat=True))
    assert inst("400001").pk in chosen
    case.refresh_from_db()
    assert case.stage == Stage.NEGOTIATING
    with pytest.raises(ValidationError):
        plan_cancel(actor=officer, plan=plan, reason="二度目", today=date(2024, 9, 10))


def test_the_pledge_renews_the_prescription(officer: Any, taro: Taxpayer) -> None:
    fixed = inst("400001")
    before = installment_prescriptions([fixed])[fixed.pk].result.extinguished_on
    _pledged(officer, taro)
    after = installment_prescriptions([fixed])[fixed.pk].result.extinguished_on
    # 法定納期限 2024-04-30: 5 years from the next day; the pledge of 2024-08-15 starts it again (民法152条)
    assert before == date(2029, 5, 1)
    assert after == date(2029, 8, 16)


def test_a_missed_instalment_after_the_grace_days_then_default(
    officer: Any, taro: Taxpayer, sample_city: Any
) -> None:
    case_setting_set(actor=None, municipality=sample_city, valid_from=date(2024, 1, 1), min_amount=20000,
                     min_age_days=30, note="試験")  # fmt: skip
    cases_run(municipality=sample_city, as_of=TODAY, today=TODAY)
    plan = _pledged(officer, taro)
    # first instalment due 2024-09-01; 10 grace days (the default) → due until 09-11, missed from 09-12
    assert cmd("plans_check", "--as-of", "2024-09-11") == {
        "as_of": "2024-09-11", "grace_days": 10, "misses_to_default": 2, "source": cmd("plans_setting", "--list")["today"]["source"],
        "plans": 1, "paid": 0, "missed": 0, "defaulted": 0, "completed": 0,
    }  # fmt: skip
    d = cmd("plans_check", "--as-of", "2024-09-12")
    assert (d["missed"], d["defaulted"]) == (1, 0)
    first = plan.instalments.get(no=1)
    assert first.status == InstalmentStatus.MISSED and first.missed_on == date(2024, 9, 12)
    assert cmd("plans_check", "--as-of", "2024-09-12")["missed"] == 0  # idempotent
    # (the work list's entry for it is tested with the screens: cases/tests/test_plan_views.py)
    d = cmd("plans_check", "--as-of", "2024-10-12")
    assert (d["missed"], d["defaulted"]) == (1, 1)
    plan.refresh_from_db()
    assert plan.status == PlanStatus.DEFAULTED and plan.defaulted_on == date(2024, 10, 12)
    assert Case.objects.get(taxpayer=taro).stage == Stage.NEGOTIATING
    assert not DunningSuppression.objects.filter(
        reason=SuppressionReason.PAYMENT_PLAN, end__isnull=True
    ).exists()
    assert cmd("plans_check", "--as-of", "2024-10-12")["plans"] == 0  # a defaulted plan is no longer checked
    titles = [e.title for e in plan_events(sample_city.pk, taro.pk, None)]
    assert any(t.startswith("分納 第1回 未納") for t in titles) and any(
        t.startswith("分納が不履行") for t in titles
    )


def test_the_grace_days_are_a_dated_setting(officer: Any, taro: Taxpayer, sample_city: Any) -> None:
    plan_setting_set(actor=None, municipality=sample_city, valid_from=date(2024, 1, 1), grace_days=3,
                     misses_to_default=1, note="要綱第5条（試験）")  # fmt: skip
    _pledged(officer, taro)
    d = cmd("plans_check", "--as-of", "2024-09-05")
    assert (d["grace_days"], d["missed"], d["defaulted"]) == (3, 1, 1)
    with pytest.raises(CommandError):
        cmd(
            "plans_setting", "--valid-from", "2024-01-01", "--grace-days", "5", "--misses", "2", "--note", "x"
        )
    with pytest.raises(CommandError):
        cmd(
            "plans_setting",
            "--valid-from",
            "2025-01-01",
            "--grace-days",
            "500",
            "--misses",
            "2",
            "--note",
            "x",
        )
    with pytest.raises(CommandError):
        cmd("plans_check", "--as-of", "2024-13-01")


def _bank(
    sample_city: Any, taro: Taxpayer, write_csv: Callable[..., Any], slip_no: str, amount: int, on: str
) -> None:
    slip = next(s for s in taxpayer_slips(sample_city, taro.pk) if s.slip_no == slip_no).as_dict()
    row = f"{slip['ocr_lower']},{amount},{on},0001,123,{on}"
    cmd("import_payments", "--channel", "bank", str(write_csv(",".join(BANK_HEADER), [row])))


def test_a_plan_completed_by_payments_through_the_receipts_import(
    officer: Any, taro: Taxpayer, sample_city: Any, write_csv: Callable[..., Any]
) -> None:
    plan = _pledged(officer, taro)
    slips = [i.slip.slip_no for i in plan.instalments.order_by("no") if i.slip]
    _bank(sample_city, taro, write_csv, slips[0], 14000, "2024-08-30")
    d = cmd("plans_check", "--as-of", "2024-09-30")
    assert (d["paid"], d["missed"], d["completed"]) == (1, 0, 0)
    assert plan.instalments.get(no=1).paid_on == date(2024, 8, 30)
    # the second is paid late (after 10-11) but before the check; then the third on time
    _bank(sample_city, taro, write_csv, slips[1], 14000, "2024-10-15")
    d = cmd("plans_check", "--as-of", "2024-10-20")
    second = plan.instalments.get(no=2)
    assert second.status == InstalmentStatus.PAID and second.missed_on == date(2024, 10, 12)
    assert (d["paid"], d["missed"], d["defaulted"]) == (1, 0, 0)  # one miss only: not 不履行
    _bank(sample_city, taro, write_csv, slips[2], 14000, "2024-11-01")
    d = cmd("plans_check", "--as-of", "2024-11-02")
    assert (d["paid"], d["completed"]) == (1, 1)
    plan.refresh_from_db()
    assert plan.status == PlanStatus.COMPLETED and plan.completed_on == date(2024, 11, 1)
    assert inst("400001").principal_outstanding == 0 and inst("100001").principal_outstanding == 0
    assert cmd("plans_check", "--as-of", "2024-11-02") | {"source": ""} == {
        "as_of": "2024-11-02", "grace_days": 10, "misses_to_default": 2, "source": "", "plans": 0, "paid": 0,
        "missed": 0, "defaulted": 0, "completed": 0,
    }  # fmt: skip
    titles = [e.title for e in plan_events(sample_city.pk, taro.pk, None)]
    assert sum(t.startswith("分納 第") and "納付済" in t for t in titles) == 3
    assert any(t.startswith("分納を履行完了") for t in titles)


def test_the_pledge_form_and_the_slips_print(officer: Any, taro: Taxpayer) -> None:
    plan = _pledged(officer, taro)
    pdf = pledge_pdf(plan, on=TODAY, grace_days=10, misses=2)
    assert pdf.startswith(b"%PDF") and b"IPAexGothic" in pdf and b"Helvetica" not in pdf
    slip = instalment_slip_pdf(plan.instalments.get(no=2), on=TODAY)
    assert slip.startswith(b"%PDF") and b"Helvetica" not in slip
