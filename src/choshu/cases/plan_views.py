"""分納誓約 screens from the case file (issue 18 §5): 分納計画を作成 (installments with today's 延滞金,
equal or manual schedule, preview by HTMX, save), the plan's page (schedule with 納付済・未納, the
pledge, cancellation), the 分納誓約書 PDF and one 納付書 PDF per instalment.

The plans app owns the data and the rules (``plans.services``); these views live in ``cases`` because
the team scope does (``cases.access``): every route looks the case up first — another team's case,
or a plan of another person, is 404. Every page and PDF writes an access record (a PDF an export
record too); the services write the change records."""

from __future__ import annotations

import hashlib
from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from choshu.accounts.decorators import right_required, staff_user
from choshu.accounts.permissions import Right
from choshu.audit.models import AuditKind, AuditSubjectType
from choshu.audit.services import audit_access, audit_record
from choshu.cases import selectors
from choshu.cases.forms import PlanCancelForm, PlanForm, PledgeForm
from choshu.cases.models import Case
from choshu.cases.views import _case, _refused
from choshu.levies.tax_items import tax_item_name
from choshu.plans.documents import instalment_slip_pdf, pledge_pdf
from choshu.plans.models import PaymentPlan, PlanInstalment, PlanMethod
from choshu.plans.services import (
    PlanQuote,
    equal_schedule,
    monthly_dates,
    plan_cancel,
    plan_create,
    plan_pledge,
    plan_quote,
    schedule_errors,
    setting_on,
)
from choshu.taxpayers.protection import ProtectedPersonRefused

NEW_FUNCTION = "分納計画の作成"
PLAN_FUNCTION = "分納誓約"
PDF_FUNCTION = "分納誓約書の印刷"
SLIP_FUNCTION = "分納の納付書の印刷"


def _choices(case: Case, today: date) -> list[tuple[int, str]]:
    out = []
    for x in selectors.arrears(case, today):
        d = x.due
        late = "率未設定" if d.late_charge is None else f"{d.late_charge:,}円"
        out.append(
            (d.installment_id,
             f"{tax_item_name(case.municipality_id, d.tax_item)} {d.levy_year}年度 第{d.installment_no}期"
             f"（納期限 {d.due_date:%Y/%m/%d}）本税 {d.principal_due:,}円・延滞金 {late}・督促手数料 {d.dunning_fee:,}円")
        )  # fmt: skip
    return out


def _schedule(
    form: PlanForm, case: Case, today: date
) -> tuple[PlanQuote | None, list[tuple[date, int]], list[str]]:
    """The quote and the schedule the form describes, with what is wrong (nothing saved)."""
    d = form.cleaned_data
    try:
        if d["method"] == PlanMethod.EQUAL:
            last = monthly_dates(d["first_on"], d["count"])[-1]
            quote = plan_quote(taxpayer=case.taxpayer, installment_ids=d["installments"], last_on=last,
                               include_late_charge=d["include_late_charge"], today=today)  # fmt: skip
            schedule = equal_schedule(quote.total, d["count"], d["first_on"])
        else:
            schedule = d["schedule"]
            quote = plan_quote(taxpayer=case.taxpayer, installment_ids=d["installments"],
                               last_on=max(on for on, _ in schedule),
                               include_late_charge=d["include_late_charge"], today=today)  # fmt: skip
    except ValidationError as exc:
        return None, [], exc.messages
    return quote, schedule, schedule_errors(schedule, required=quote.total, today=today)


@never_cache
@right_required(Right.CASE_WORK)
def plan_new(request: HttpRequest, pk: int) -> HttpResponse:
    """分納計画を作成. GET: the form. POST ``action=preview``: the schedule and its checks (an HTMX
    fragment, or the page); ``action=save``: the plan is saved 作成中 and its page shown."""
    user = staff_user(request)
    case = _case(request, pk)
    today = timezone.localdate()
    audit_access(
        request=request, function=NEW_FUNCTION, taxpayer_ids=[case.taxpayer_id], detail={"case": case.pk}
    )
    choices = _choices(case, today)
    htmx = bool(request.htmx)  # type: ignore[attr-defined]
    if request.method != "POST":
        form = PlanForm(
            installments=choices, initial={"first_on": today, "installments": [c[0] for c in choices]}
        )
        return render(request, "cases/plan_new.html", {"case": case, "form": form, "today": today})
    if not case.is_open:
        return _refused(request, case, ["完結した案件では分納計画を作成できません"], NEW_FUNCTION)
    form = PlanForm(request.POST, installments=choices)
    quote: PlanQuote | None = None
    schedule: list[tuple[date, int]] = []
    errors: list[str] = []
    if form.is_valid():
        quote, schedule, errors = _schedule(form, case, today)
        if not errors and request.POST.get("action") == "save":
            d = form.cleaned_data
            try:
                plan = plan_create(actor=user, taxpayer=case.taxpayer, installment_ids=d["installments"],
                                   schedule=schedule, method=d["method"],
                                   include_late_charge=d["include_late_charge"], note=d["note"], today=today)  # fmt: skip
            except ValidationError as exc:
                errors = exc.messages
            else:
                return HttpResponseRedirect(reverse("cases:plan", args=[case.pk, plan.pk]))
    context = {"case": case, "form": form, "today": today, "quote": quote, "schedule": schedule,
               "errors": errors, "previewed": True}  # fmt: skip
    if htmx:
        return render(request, "cases/_plan_preview.html", context)
    status = 200 if form.is_valid() and not errors else 400
    return render(request, "cases/plan_new.html", context, status=status)


def _plan(case: Case, plan_pk: int) -> PaymentPlan:
    plan = (
        PaymentPlan.objects.filter(
            pk=plan_pk, municipality_id=case.municipality_id, taxpayer_id=case.taxpayer_id
        )
        .select_related("taxpayer", "municipality", "created_by")
        .first()
    )
    if plan is None:
        raise Http404("指定された分納誓約は見つかりません。")
    return plan


@never_cache
@right_required(Right.CASE_WORK)
def plan_detail(request: HttpRequest, pk: int, plan_pk: int) -> HttpResponse:
    """分納誓約: the covered installments, the schedule with each instalment's state, the history, the
    pledge (作成中), cancellation (作成中・誓約中), the PDFs."""
    case = _case(request, pk)
    plan = _plan(case, plan_pk)
    today = timezone.localdate()
    audit_access(request=request, function=PLAN_FUNCTION, taxpayer_ids=[case.taxpayer_id],
                 detail={"case": case.pk, "plan": plan.pk})  # fmt: skip
    setting = setting_on(case.municipality, today)
    covered = [
        (i, tax_item_name(case.municipality_id, i.levy.tax_item))
        for i in plan.installments.select_related("levy").order_by("due_date", "pk")
    ]
    context = {
        "case": case, "plan": plan, "covered": covered, "setting": setting, "today": today,
        "instalments": list(plan.instalments.select_related("slip").order_by("no")),
        "history": plan.status_changes.select_related("changed_by").order_by("-changed_at", "-pk"),
        "pledge_form": PledgeForm(initial={"pledged_on": today}), "cancel_form": PlanCancelForm(),
    }  # fmt: skip
    return render(request, "cases/plan_detail.html", context)


@never_cache
@right_required(Right.CASE_WORK)
@require_POST
def plan_pledge_view(request: HttpRequest, pk: int, plan_pk: int) -> HttpResponse:
    user = staff_user(request)
    case = _case(request, pk)
    plan = _plan(case, plan_pk)
    form = PledgeForm(request.POST)
    if not form.is_valid():
        return _refused(request, case, [str(e) for errs in form.errors.values() for e in errs], "分納の誓約")
    try:
        plan_pledge(
            actor=user, plan=plan, pledged_on=form.cleaned_data["pledged_on"], today=timezone.localdate()
        )
    except ValidationError as exc:
        return _refused(request, case, exc.messages, "分納の誓約")
    return HttpResponseRedirect(reverse("cases:plan", args=[case.pk, plan.pk]))


@never_cache
@right_required(Right.CASE_WORK)
@require_POST
def plan_cancel_view(request: HttpRequest, pk: int, plan_pk: int) -> HttpResponse:
    user = staff_user(request)
    case = _case(request, pk)
    plan = _plan(case, plan_pk)
    form = PlanCancelForm(request.POST)
    if not form.is_valid():
        return _refused(
            request, case, [str(e) for errs in form.errors.values() for e in errs], "分納誓約の取消"
        )
    try:
        plan_cancel(actor=user, plan=plan, reason=form.cleaned_data["reason"], today=timezone.localdate())
    except ValidationError as exc:
        return _refused(request, case, exc.messages, "分納誓約の取消")
    return HttpResponseRedirect(reverse("cases:plan", args=[case.pk, plan.pk]))


def _pdf(
    request: HttpRequest, case: Case, function: str, data: bytes, name: str, detail: dict[str, Any]
) -> HttpResponse:
    user = staff_user(request)
    detail = {**detail, "sha256": hashlib.sha256(data).hexdigest()}
    with transaction.atomic():
        audit_access(request=request, function=function, taxpayer_ids=[case.taxpayer_id], detail=detail,
                     shows_address=True)  # fmt: skip
        audit_record(kind=AuditKind.EXPORT, function=function, municipality=user.municipality, user=user,
                     request=request, subject_type=AuditSubjectType.TAXPAYER, subject_ids=[case.taxpayer_id],
                     detail=detail, shows_address=True)  # fmt: skip
    response = HttpResponse(data, content_type="application/pdf")
    response["Content-Disposition"] = content_disposition_header(False, name) or "inline"
    return response


@never_cache
@right_required(Right.CASE_WORK)
def plan_pdf(request: HttpRequest, pk: int, plan_pk: int) -> HttpResponse:
    """分納誓約書 (PDF) for the person to sign."""
    case = _case(request, pk)
    plan = _plan(case, plan_pk)
    today = timezone.localdate()
    s = setting_on(case.municipality, today)
    try:
        data = pledge_pdf(plan, on=today, grace_days=s.grace_days, misses=s.misses_to_default)
    except ProtectedPersonRefused as exc:
        audit_access(request=request, function=PDF_FUNCTION, taxpayer_ids=[case.taxpayer_id],
                     detail={"plan": plan.pk, "refused": str(exc)})  # fmt: skip
        return _refused(request, case, [str(exc)], PDF_FUNCTION)
    return _pdf(request, case, PDF_FUNCTION, data, f"plan-{plan.pk}.pdf", {"plan": plan.pk})


@never_cache
@right_required(Right.CASE_WORK)
def plan_slip_pdf(request: HttpRequest, pk: int, plan_pk: int, no: int) -> HttpResponse:
    """The 納付書 of one instalment (PDF)."""
    case = _case(request, pk)
    plan = _plan(case, plan_pk)
    instalment = (
        PlanInstalment.objects.filter(plan=plan, no=no).select_related("slip", "plan__taxpayer").first()
    )
    if instalment is None:
        raise Http404("指定された回は見つかりません。")
    if instalment.slip is None:
        return _refused(
            request, case, ["この回の納付書はまだありません（誓約を記録すると発行されます）"], SLIP_FUNCTION
        )
    instalment.plan = plan
    try:
        data = instalment_slip_pdf(instalment, on=timezone.localdate())
    except ProtectedPersonRefused as exc:
        audit_access(request=request, function=SLIP_FUNCTION, taxpayer_ids=[case.taxpayer_id],
                     detail={"plan": plan.pk, "no": no, "refused": str(exc)})  # fmt: skip
        return _refused(request, case, [str(exc)], SLIP_FUNCTION)
    except ValueError as exc:
        return _refused(request, case, [f"この回の納付書は印刷できません（{exc}）"], SLIP_FUNCTION)
    return _pdf(request, case, SLIP_FUNCTION, data, f"plan-{plan.pk}-{no}.pdf",
                {"plan": plan.pk, "no": no, "slip_no": instalment.slip.slip_no})  # fmt: skip
