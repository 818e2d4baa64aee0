"""分納誓約 screens (issue 18 §5) from the case file: rights (case_work; another team's case 404; the
chief sees all), access logging, build → preview (HTMX) → save → pledge → PDFs → cancel, bad input
refused with Japanese messages and nothing saved, the work list's missed plan instalments, the
timeline's 分納 events."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from choshu.audit.models import AuditKind, AuditLog
from choshu.cases.models import AssignmentRule, Case, Stage
from choshu.cases.selectors import work_list
from choshu.cases.services import cases_run
from choshu.cases.tests.conftest import AS_OF
from choshu.levies.models import Installment
from choshu.plans.models import PaymentPlan, PlanStatus
from choshu.plans.services import plans_check

pytestmark = pytest.mark.django_db


@pytest.fixture
def cases(city: Any, staff: dict[str, Any], rules: list[AssignmentRule]) -> dict[str, Case]:
    cases_run(municipality=city, as_of=AS_OF, today=AS_OF)
    return {c.taxpayer.taxpayer_no: c for c in Case.objects.select_related("taxpayer")}


def _client(user: Any) -> Client:
    from conftest import login_verified

    return login_verified(Client(), user)


def _ids(case: Case) -> list[int]:
    return list(
        Installment.objects.filter(taxpayer=case.taxpayer, principal_outstanding__gt=0)
        .order_by("due_date")
        .values_list("pk", flat=True)
    )


def _post(case: Case, action: str = "save", **over: Any) -> dict[str, Any]:
    today = timezone.localdate()
    data = {"installments": _ids(case), "method": "equal", "count": "3", "first_on": (today + timedelta(days=10)).isoformat(),
            "manual": "", "note": "本人来庁、月々の分納を申出", "action": action}  # fmt: skip
    data.update(over)
    return data


def _make_plan(cases: dict[str, Case], staff: dict[str, Any]) -> PaymentPlan:
    case = cases["1001"]
    r = _client(staff["a"]).post(reverse("cases:plan-new", args=[case.pk]), _post(case))
    assert r.status_code == 302, r.content.decode()[:2000]
    return PaymentPlan.objects.get()


def test_routes_refuse_a_clerk_the_anonymous_and_another_team(
    cases: dict[str, Case], staff: dict[str, Any]
) -> None:
    plan = _make_plan(cases, staff)
    case = cases["1001"]
    urls = [
        ("get", reverse("cases:plan-new", args=[case.pk])),
        ("post", reverse("cases:plan-new", args=[case.pk])),
        ("get", reverse("cases:plan", args=[case.pk, plan.pk])),
        ("post", reverse("cases:plan-pledge", args=[case.pk, plan.pk])),
        ("post", reverse("cases:plan-cancel", args=[case.pk, plan.pk])),
        ("get", reverse("cases:plan-pdf", args=[case.pk, plan.pk])),
        ("get", reverse("cases:plan-slip", args=[case.pk, plan.pk, 1])),
    ]
    clerk, anonymous, b = _client(staff["clerk"]), Client(), _client(staff["b"])
    for method, url in urls:
        assert getattr(clerk, method)(url).status_code == 403, url
        r = getattr(anonymous, method)(url)
        assert r.status_code == 302 and "/login/" in r["Location"], url
        assert getattr(b, method)(url).status_code == 404, url  # team 2's officer, team 1's case
    # a plan reached through another person's case is not found either
    other = cases["1002"] if "1002" in cases else cases["2001"]
    chief = _client(staff["chief"])
    assert chief.get(reverse("cases:plan", args=[other.pk, plan.pk])).status_code == 404
    assert chief.get(reverse("cases:plan", args=[case.pk, plan.pk])).status_code == 200  # the chief sees all
    assert PaymentPlan.objects.get().status == PlanStatus.DRAFT  # nothing changed by the refused posts


def test_build_preview_save_pledge_print_and_cancel(cases: dict[str, Case], staff: dict[str, Any]) -> None:
    case = cases["1001"]
    a = _client(staff["a"])
    page = a.get(reverse("cases:case", args=[case.pk]))
    assert "分納計画を作成" in page.content.decode()
    form = a.get(reverse("cases:plan-new", args=[case.pk]))
    assert form.status_code == 200 and "延滞金" in form.content.decode()
    preview = a.post(
        reverse("cases:plan-new", args=[case.pk]), _post(case, "preview"), HTTP_HX_REQUEST="true"
    )
    body = preview.content.decode()
    assert preview.status_code == 200 and "第3回" in body and "分納の対象額" in body
    assert PaymentPlan.objects.count() == 0  # a preview saves nothing
    plan = _make_plan(cases, staff)
    assert (
        plan.instalments.count() == 3 and sum(plan.instalments.values_list("amount", flat=True)) == plan.total
    )
    detail = a.get(reverse("cases:plan", args=[case.pk, plan.pk]))
    assert detail.status_code == 200 and "誓約を記録する" in detail.content.decode()
    assert AuditLog.objects.filter(function="分納誓約", kind=AuditKind.ACCESS).exists()
    today = timezone.localdate()
    r = a.post(reverse("cases:plan-pledge", args=[case.pk, plan.pk]), {"pledged_on": today.isoformat()})
    assert r.status_code == 302
    plan.refresh_from_db()
    assert plan.status == PlanStatus.PLEDGED
    case.refresh_from_db()
    assert case.stage == Stage.PLAN
    pdf = a.get(reverse("cases:plan-pdf", args=[case.pk, plan.pk]))
    assert (
        pdf.status_code == 200
        and pdf["Content-Type"] == "application/pdf"
        and pdf.content.startswith(b"%PDF")
    )
    slip = a.get(reverse("cases:plan-slip", args=[case.pk, plan.pk, 2]))
    assert slip.status_code == 200 and slip.content.startswith(b"%PDF")
    assert a.get(reverse("cases:plan-slip", args=[case.pk, plan.pk, 9])).status_code == 404
    assert AuditLog.objects.filter(function="分納誓約書の印刷", kind=AuditKind.EXPORT).exists()
    timeline = a.get(reverse("cases:timeline", args=[case.pk]), {"kind": "plan"}).content.decode()
    assert "分納を誓約" in timeline and "分納計画を作成" in timeline
    assert a.post(reverse("cases:plan-cancel", args=[case.pk, plan.pk]), {"reason": ""}).status_code == 400
    r = a.post(reverse("cases:plan-cancel", args=[case.pk, plan.pk]), {"reason": "本人の申出で撤回"})
    assert r.status_code == 302
    plan.refresh_from_db()
    case.refresh_from_db()
    assert plan.status == PlanStatus.CANCELLED and case.stage == Stage.NEGOTIATING


def test_bad_input_is_refused_in_japanese_and_saves_nothing(
    cases: dict[str, Case], staff: dict[str, Any]
) -> None:
    case = cases["1001"]
    a = _client(staff["a"])
    url = reverse("cases:plan-new", args=[case.pk])
    today = timezone.localdate()
    bad = [
        (_post(case, installments=[]), "分納の対象にする期別を1件以上選んでください"),
        (_post(case, count="0"), "回数は1回以上にしてください"),
        (_post(case, first_on="2024-02-30"), "日付を YYYY-MM-DD で入力してください"),
        (_post(case, first_on=(today - timedelta(days=1)).isoformat()), "過去の日付です"),
        (_post(case, method="manual", manual="2030-01-01;100"), "の形ではありません"),
        (_post(case, method="manual", manual=f"{today + timedelta(days=5)},100"), "と一致しません"),
        (_post(case, note=""), "分納にする理由"),
        (_post(case, installments=[999999]), "期別を一覧から選んでください"),
    ]
    for data, message in bad:
        r = a.post(url, data)
        assert r.status_code == 400, message
        assert message in r.content.decode(), message
    assert PaymentPlan.objects.count() == 0
    plan = _make_plan(cases, staff)
    pledge = reverse("cases:plan-pledge", args=[case.pk, plan.pk])
    assert a.post(pledge, {"pledged_on": "x"}).status_code == 400
    r = a.post(pledge, {"pledged_on": (today + timedelta(days=3)).isoformat()})
    assert r.status_code == 400 and "未来の日付" in r.content.decode()
    plan.refresh_from_db()
    assert plan.status == PlanStatus.DRAFT


def test_the_work_list_shows_missed_plan_instalments(
    cases: dict[str, Case], staff: dict[str, Any], city: Any
) -> None:
    plan = _make_plan(cases, staff)
    a = _client(staff["a"])
    today = timezone.localdate()
    a.post(reverse("cases:plan-pledge", args=[cases["1001"].pk, plan.pk]), {"pledged_on": today.isoformat()})
    first = plan.instalments.get(no=1)
    check_on = first.due_on + timedelta(days=11)  # 10 grace days (the default) passed
    assert plans_check(municipality=city, as_of=check_on).missed == 1
    wl = work_list(staff["a"], check_on)
    assert [w.case.pk for w in wl.missed_plans] == [cases["1001"].pk]
    assert f"分納誓約#{plan.pk}" in wl.missed_plans[0].reason
    page = a.get(reverse("cases:work-list")).content.decode()
    assert "分納の未納・不履行" in page
