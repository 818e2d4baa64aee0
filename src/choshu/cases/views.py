"""Screens of 滞納整理 (issue 18 §2–§4): the work list, the case list, the chief's workload view and
bulk reassignment, the case file with its timeline, the contact log's quick entry (HTMX), flags and
sticky notes, stage changes, opening a case by hand.

Every case is looked up through ``access.visible_cases`` (the user's municipality and team; the chief
every team): another team's case is "not found" (404). Every page that shows people writes the access
log first; the services write the change records."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from choshu.accounts.decorators import right_required, staff_user
from choshu.accounts.models import User
from choshu.accounts.permissions import Right, has_right
from choshu.audit.services import audit_access
from choshu.cases import selectors
from choshu.cases.access import sees_all_teams, visible_cases
from choshu.cases.forms import CaseFilterForm, CaseOpenForm, ContactForm, FlagForm, ReassignForm, StageForm
from choshu.cases.models import Case, CaseFlag, ContactTemplate
from choshu.cases.services import (
    ContactInput,
    case_open,
    case_stage_set,
    cases_reassign,
    contact_add,
    flag_add,
    flag_remove,
)
from choshu.core.casefile import sections as casefile_sections
from choshu.core.timeline import provider_labels
from choshu.levies.tax_items import tax_item_name
from choshu.plans.models import PaymentPlan
from choshu.taxpayers.models import MailingAddress, Taxpayer
from choshu.taxpayers.protection import banner, shown_address, shown_mailing_address

PAGE_SIZE = 50
CASE_FUNCTION = "滞納案件（ケースファイル）"


def _case(request: HttpRequest, pk: int) -> Case:
    case = (
        visible_cases(staff_user(request))
        .filter(pk=pk)
        .select_related("taxpayer", "officer", "municipality")
        .first()
    )
    if case is None:
        raise Http404("指定された滞納案件は見つかりません（担当班の案件ではないか、存在しません）。")
    return case


def _templates(user: User) -> list[ContactTemplate]:
    return list(
        ContactTemplate.objects.filter(Q(municipality__isnull=True) | Q(municipality_id=user.municipality_id))
    )


def _contact_form(user: User, data: Any = None, template: ContactTemplate | None = None) -> ContactForm:
    choices = [(t.pk, t.name) for t in _templates(user)]
    if data is not None:
        return ContactForm(data, templates=choices)
    now = timezone.localtime().replace(second=0, microsecond=0)
    initial: dict[str, Any] = {"contacted_at": now}
    if template is not None:
        initial.update(template=template.pk, channel=template.channel, counterpart=template.counterpart,
                       summary=template.summary, next_action=template.next_action)  # fmt: skip
        if template.follow_up_days is not None:
            initial["follow_up_on"] = now.date() + timedelta(days=template.follow_up_days)
    return ContactForm(initial=initial, templates=choices)


# --- the work list --------------------------------------------------------------------------------------


@never_cache
@right_required(Right.CASE_WORK)
def work_list_view(request: HttpRequest) -> HttpResponse:
    """今日の仕事: the signed-in officer's follow-ups due, broken promises, new cases, returned mail."""
    user = staff_user(request)
    today = timezone.localdate()
    wl = selectors.work_list(user, today)
    if wl.taxpayer_ids:
        audit_access(request=request, function="滞納整理 作業一覧", taxpayer_ids=wl.taxpayer_ids)
    sections = [
        (anchor, title, getattr(wl, name), wl.total(name))
        for anchor, title, name in (
            ("follow-ups", "次回対応日が来た案件", "follow_ups"),
            ("broken-promises", "納付約束が守られていない案件", "broken_promises"),
            ("new-cases", "新規案件（経過記録なし）", "new_cases"),
            ("returned-mail", "返戻（宛先未確認）", "returned_mail"),
            ("prescriptions", "時効が6か月以内の見込みの案件（時効の判定の結果）", "prescriptions"),
            ("missed-plans", "分納の未納・不履行", "missed_plans"),
        )
    ]
    context = {"sections": sections, "today": today, "can_manage": has_right(user, Right.CASE_MANAGE)}
    return render(request, "cases/work_list.html", context)


# --- the case list and bulk reassignment -----------------------------------------------------------------


def _officers(user: User) -> list[User]:
    users = User.objects.filter(municipality=user.municipality, is_active=True).exclude(team="")
    return [u for u in users.order_by("team", "username") if has_right(u, Right.CASE_WORK)]


@never_cache
@right_required(Right.CASE_WORK)
def case_list_view(request: HttpRequest) -> HttpResponse:
    """滞納案件一覧: the cases of the user's team (every team for the chief), filtered, sorted and paged on
    the server; the chief ticks cases and reassigns them."""
    user = staff_user(request)
    form = CaseFilterForm(request.GET or None)
    data = form.cleaned_data if form.is_valid() else {}
    officer_id = data.get("officer")  # 0: the unassigned cases
    sort = data.get("sort") or "-amount"
    rows = selectors.case_list(
        user, state=data.get("state") or "open", stage=data.get("stage") or "", officer_id=officer_id,
        team=data.get("team") or "", sort=sort,
    )  # fmt: skip
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    if page.object_list:
        audit_access(
            request=request, function="滞納案件一覧", taxpayer_ids=sorted({c.taxpayer_id for c in page.object_list}),
            detail={"page": page.number, "count": page.paginator.count},
        )  # fmt: skip
    can_manage = has_right(user, Right.CASE_MANAGE)
    officers = _officers(user) if can_manage else []
    context = {
        "form": form, "page": page, "sort": sort, "can_manage": can_manage,
        "reassign_form": ReassignForm(officers=[(u.pk, f"{u.team} {u}") for u in officers]),
        "sorts": [("amount", "滞納額"), ("opened", "開始日"), ("oldest", "最古の納期限"), ("follow_up", "次回対応日"),
                  ("taxpayer", "宛名番号"), ("officer", "担当者")],
        "all_teams": sees_all_teams(user),
    }  # fmt: skip
    return render(request, "cases/case_list.html", context)


@never_cache
@right_required(Right.CASE_MANAGE)
def workload_view(request: HttpRequest) -> HttpResponse:
    """担当者別の状況 (the chief): per officer the open cases, amount, oldest, overdue follow-ups."""
    rows = selectors.workload(staff_user(request), timezone.localdate())
    return render(request, "cases/workload.html", {"rows": rows, "today": timezone.localdate()})


@never_cache
@right_required(Right.CASE_MANAGE)
@require_POST
def reassign_view(request: HttpRequest) -> HttpResponse:
    """一括担当替え: the ticked cases (``case``) to the chosen officer, with a reason."""
    user = staff_user(request)
    officers = _officers(user)
    form = ReassignForm(request.POST, officers=[(u.pk, f"{u.team} {u}") for u in officers])
    ids = [int(x) for x in request.POST.getlist("case") if x.isdigit()]
    errors: list[str] = []
    if not form.is_valid():
        errors = [str(e) for errs in form.errors.values() for e in errs]
    elif not ids:
        errors = ["担当替えする案件を選んでください"]
    else:
        officer = next(u for u in officers if u.pk == form.cleaned_data["officer"])
        try:
            n = cases_reassign(actor=user, case_ids=ids, officer=officer, reason=form.cleaned_data["reason"])
        except ValidationError as exc:
            errors = exc.messages
        else:
            messages.success(request, f"{n}件の案件を {officer.team} {officer} に担当替えしました。")
            back = request.POST.get("next", "")
            return HttpResponseRedirect(back if back.startswith("/cases/") else reverse("cases:list"))
    return render(request, "cases/reassign_refused.html", {"errors": errors}, status=400)


@never_cache
@right_required(Right.CASE_WORK)
@require_POST
def case_open_view(request: HttpRequest) -> HttpResponse:
    """滞納案件の手動開始: by 宛名番号, with a reason; the case goes to the user and the user's team."""
    user = staff_user(request)
    form = CaseOpenForm(request.POST)
    if not form.is_valid():  # control characters, lengths: refused before any query
        refused = [str(m) for messages in form.errors.values() for m in messages]
        return render(
            request, "cases/reassign_refused.html", {"errors": refused, "title": "滞納案件の開始"}, status=400
        )
    number, reason = form.cleaned_data["taxpayer_no"].strip(), form.cleaned_data["reason"]
    taxpayer = Taxpayer.objects.filter(municipality=user.municipality, taxpayer_no=number).first()
    errors: list[str] = []
    if not number:
        errors.append("宛名番号を入力してください")
    elif taxpayer is None:
        errors.append(f"宛名番号 {number} の宛名が見つかりません。番号を確かめてください")
    else:
        try:
            case = case_open(actor=user, taxpayer=taxpayer, today=timezone.localdate(), reason=reason)
        except ValidationError as exc:
            errors = [str(m) for m in exc.messages]
        else:
            return HttpResponseRedirect(reverse("cases:case", args=[case.pk]))
    return render(
        request, "cases/reassign_refused.html", {"errors": errors, "title": "滞納案件の開始"}, status=400
    )


# --- the case file --------------------------------------------------------------------------------------


def _timeline_context(request: HttpRequest, case: Case) -> dict[str, Any]:
    labels = provider_labels()
    known = {k for k, _ in labels}
    chosen = [k for k in request.GET.getlist("kind") if k in known]
    names = dict(labels)
    events = [(e, names.get(e.kind, e.kind), _when(e.at)) for e in selectors.timeline(case, chosen or None)]
    return {"case": case, "events": events, "kind_choices": labels, "chosen": chosen}


def _when(at: datetime | date) -> str:
    if isinstance(at, datetime):
        return f"{timezone.localtime(at):%Y/%m/%d %H:%M}" if timezone.is_aware(at) else f"{at:%Y/%m/%d %H:%M}"
    return f"{at:%Y/%m/%d}"


@never_cache
@right_required(Right.CASE_WORK)
def case_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """ケースファイル: identity, addresses and phones, employer and related people, the installments in
    arrears with today's 延滞金 and the estimated 時効 date, flags and sticky notes, the stage and its
    history, the contact log's quick entry and the one timeline (newest first; filter by kind)."""
    user = staff_user(request)
    case = _case(request, pk)
    today = timezone.localdate()
    tp = case.taxpayer
    audit_access(request=request, function=CASE_FUNCTION, taxpayer_ids=[tp.pk], shows_address=True,
                 detail={"case": case.pk})  # fmt: skip
    lines = selectors.arrears(case, today)
    mailing = [
        (
            shown_mailing_address(r, user=user, on=today, taxpayer=tp),
            tax_item_name(case.municipality_id, r.tax_item),
        )
        for r in MailingAddress.objects.filter(taxpayer=tp, is_current=True).order_by("tax_item", "pk")
    ]
    employers = list(
        tp.special_collection_links.filter(is_current=True)
        .select_related("collector")
        .order_by("-levy_year")[:3]
    )
    context = {
        "case": case, "tp": tp, "today": today,
        "banner": banner(tp, today, user), "address": shown_address(tp, user=user, on=today),
        "mailing": mailing, "employers": employers,
        "lines": [(x, tax_item_name(case.municipality_id, x.due.tax_item)) for x in lines],
        "totals": {
            "principal": sum(x.due.principal_due for x in lines),
            "late_charge": sum(x.due.late_charge or 0 for x in lines),
            "fee": sum(x.due.dunning_fee for x in lines),
            "total": sum(x.due.total for x in lines),
        },
        "flags": selectors.active_flags(case, today),
        "stage_changes": case.stage_changes.select_related("changed_by").order_by("-changed_at", "-pk")[:20],
        "contact_form": _contact_form(user), "flag_form": FlagForm(),
        "stage_form": StageForm(initial={"stage": case.stage}),
        "can_manage": has_right(user, Right.CASE_MANAGE),
        "plans": PaymentPlan.objects.filter(taxpayer=tp, municipality_id=case.municipality_id)
        .annotate(n_instalments=Count("instalments")).order_by("-pk")[:20],
        **_timeline_context(request, case),
        # sections registered by the apps above (滞納処分 …; core.casefile)
        "extra_sections": [mark_safe(fn(request, case)) for fn in casefile_sections()],  # noqa: S308
    }  # fmt: skip
    return render(request, "cases/case_detail.html", context)


def _known_kinds(request: HttpRequest) -> list[str]:
    """The filter's kinds the request names that are registered (the audit record keeps no arbitrary
    text: a NUL, say, which PostgreSQL's jsonb cannot store)."""
    known = {kind for kind, _ in provider_labels()}
    return [kind for kind in request.GET.getlist("kind") if kind in known]


@never_cache
@right_required(Right.CASE_WORK)
def timeline_view(request: HttpRequest, pk: int) -> HttpResponse:
    """The timeline alone (the filter's HTMX target; a full page without HTMX)."""
    case = _case(request, pk)
    audit_access(request=request, function="滞納案件の経過（タイムライン）", taxpayer_ids=[case.taxpayer_id],
                 detail={"case": case.pk, "kinds": _known_kinds(request)})  # fmt: skip
    template = "cases/_timeline.html" if request.htmx else "cases/timeline.html"  # type: ignore[attr-defined]
    return render(request, template, _timeline_context(request, case))


def _local(dt: datetime) -> datetime:
    return timezone.make_aware(dt) if timezone.is_naive(dt) else dt


@never_cache
@right_required(Right.CASE_WORK)
def contact_new(request: HttpRequest, pk: int) -> HttpResponse:
    """経過記録のクイック入力. GET: the empty form (``?template=`` fills it from a template). POST:
    records the entry; with HTMX the form comes back empty and the timeline is refreshed in place
    (out of band), without HTMX the case page is shown again. Bad input: the form with its messages
    (400 without HTMX), nothing recorded."""
    user = staff_user(request)
    case = _case(request, pk)
    htmx = bool(request.htmx)  # type: ignore[attr-defined]
    if request.method != "POST":
        raw = request.GET.get("template", "")
        template = next((t for t in _templates(user) if str(t.pk) == raw), None)
        page = "cases/_contact_form.html" if htmx else "cases/contact_refused.html"  # the form alone / a page
        return render(request, page, {"case": case, "contact_form": _contact_form(user, template=template)})
    form = _contact_form(user, request.POST)
    recorded = None
    if form.is_valid():
        d = form.cleaned_data
        data = ContactInput(
            contacted_at=_local(d["contacted_at"]), channel=d["channel"], summary=d["summary"],
            counterpart=d["counterpart"], promise_amount=d["promise_amount"], promise_on=d["promise_on"],
            next_action=d["next_action"], follow_up_on=d["follow_up_on"], template_id=d["template"],
        )  # fmt: skip
        try:
            recorded = contact_add(actor=user, case=case, data=data)
        except ValidationError as exc:
            if hasattr(exc, "error_dict"):
                for field, errs in exc.message_dict.items():
                    form.add_error(field if field in form.fields else None, errs)
            else:
                form.add_error(None, exc.messages)
    if recorded is None:
        context = {"case": case, "contact_form": form}
        return render(request, "cases/_contact_form.html" if htmx else "cases/contact_refused.html", context,
                      status=200 if htmx else 400)  # fmt: skip
    if not htmx:
        return HttpResponseRedirect(reverse("cases:case", args=[case.pk]) + "#timeline")
    case.refresh_from_db()
    audit_access(request=request, function="滞納案件の経過（タイムライン）", taxpayer_ids=[case.taxpayer_id],
                 detail={"case": case.pk, "contact": recorded.pk})  # fmt: skip
    context = {"case": case, "contact_form": _contact_form(user), "recorded": recorded, "oob": True,
               **_timeline_context(request, case)}  # fmt: skip
    return render(request, "cases/_contact_recorded.html", context)


def _back(case: Case, anchor: str = "") -> HttpResponseRedirect:
    return HttpResponseRedirect(reverse("cases:case", args=[case.pk]) + anchor)


def _refused(request: HttpRequest, case: Case, errors: list[str], title: str) -> HttpResponse:
    return render(
        request, "cases/reassign_refused.html", {"errors": errors, "title": title, "case": case}, status=400
    )


@never_cache
@right_required(Right.CASE_WORK)
@require_POST
def flag_new(request: HttpRequest, pk: int) -> HttpResponse:
    user = staff_user(request)
    case = _case(request, pk)
    form = FlagForm(request.POST)
    if not form.is_valid():
        return _refused(
            request, case, [str(e) for errs in form.errors.values() for e in errs], "フラグ・付箋の登録"
        )
    d = form.cleaned_data
    try:
        flag_add(actor=user, case=case, kind=d["kind"], text=d["text"], expires_on=d["expires_on"],
                 today=timezone.localdate())  # fmt: skip
    except ValidationError as exc:
        return _refused(request, case, exc.messages, "フラグ・付箋の登録")
    return _back(case, "#flags")


@never_cache
@right_required(Right.CASE_WORK)
@require_POST
def flag_remove_view(request: HttpRequest, pk: int, flag_pk: int) -> HttpResponse:
    user = staff_user(request)
    case = _case(request, pk)
    flag = CaseFlag.objects.filter(case=case, pk=flag_pk).first()
    if flag is None:
        raise Http404("指定されたフラグ・付箋は見つかりません。")
    try:
        flag_remove(actor=user, flag=flag)
    except ValidationError as exc:
        return _refused(request, case, exc.messages, "フラグ・付箋の削除")
    return _back(case, "#flags")


@never_cache
@right_required(Right.CASE_WORK)
@require_POST
def stage_view(request: HttpRequest, pk: int) -> HttpResponse:
    user = staff_user(request)
    case = _case(request, pk)
    form = StageForm(request.POST)
    if not form.is_valid():
        return _refused(
            request, case, [str(e) for errs in form.errors.values() for e in errs], "進行状況の変更"
        )
    try:
        case_stage_set(actor=user, case=case, stage=form.cleaned_data["stage"], note=form.cleaned_data["note"],
                       today=timezone.localdate())  # fmt: skip
    except ValidationError as exc:
        return _refused(request, case, exc.messages, "進行状況の変更")
    return _back(case, "#stage")
