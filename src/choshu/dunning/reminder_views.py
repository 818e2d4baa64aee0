"""催告書 screens (issue 15 §3, §8): the lists, build/edit, review with hand exclusions, issue.

Building and reviewing need ``reminder_list`` (case officers and chiefs); issuing needs
``dunning_run`` too (a chief by default). The review shows people with their amounts: every page
shown is an access record of those people (照会).
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from choshu.accounts.decorators import right_required, staff_user
from choshu.accounts.permissions import Right, has_right
from choshu.audit.services import audit_access
from choshu.dunning.models import ReminderExclusion, ReminderList, ReminderListStatus
from choshu.dunning.reminder_forms import ExclusionForm, ReminderListForm
from choshu.dunning.reminders import (
    Criteria,
    exclusion_add,
    exclusion_remove,
    list_issue,
    list_save,
    review,
    target_installments,
    target_people,
)
from choshu.levies.selectors import amounts_due
from choshu.levies.tax_items import catalog, tax_item_name
from choshu.taxpayers.models import Taxpayer

PAGE = 50


def _own_list(request: HttpRequest, pk: int) -> ReminderList:
    user = staff_user(request)
    return get_object_or_404(ReminderList, pk=pk, municipality=user.municipality)


def _tax_items(municipality_id: int) -> list[tuple[str, str]]:
    return [(code, f"{code} {info.name}") for code, info in sorted(catalog(municipality_id).items())]


@never_cache
@right_required(Right.REMINDER_LIST)
def list_index(request: HttpRequest) -> HttpResponse:
    user = staff_user(request)
    lists = ReminderList.objects.filter(municipality=user.municipality).order_by("-created_at")
    page = Paginator(lists, PAGE).get_page(request.GET.get("page"))
    return render(request, "dunning/reminders/index.html", {"page": page})


@never_cache
@right_required(Right.REMINDER_LIST)
def list_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    """Create (``pk`` None) or change a draft list's name, dates and criteria."""
    user = staff_user(request)
    assert user.municipality is not None
    rl = _own_list(request, pk) if pk is not None else None
    if rl is not None and rl.status != ReminderListStatus.DRAFT:
        return HttpResponseRedirect(reverse("dunning:reminder", args=[rl.pk]))
    choices = _tax_items(user.municipality.pk)
    if request.method != "POST":
        initial: dict[str, Any] = {"days_overdue": 30, "dunned_only": True}
        if rl is not None:
            initial = {"name": rl.name, "as_of": rl.as_of, "pay_by": rl.pay_by, **rl.criteria}
        form = ReminderListForm(initial=initial, tax_items=choices)
        return render(request, "dunning/reminders/edit.html", {"form": form, "reminder_list": rl})
    form = ReminderListForm(request.POST, tax_items=choices)
    if form.is_valid():
        try:
            saved = list_save(
                actor=user, municipality=user.municipality, name=form.cleaned_data["name"],
                criteria=form.criteria(), as_of=form.cleaned_data["as_of"], pay_by=form.cleaned_data["pay_by"],
                today=timezone.localdate(), reminder_list=rl,
            )  # fmt: skip
        except ValidationError as exc:
            form.add_error(None, exc.messages)
        else:
            return HttpResponseRedirect(reverse("dunning:reminder", args=[saved.pk]))
    return render(request, "dunning/reminders/edit.html", {"form": form, "reminder_list": rl}, status=400)


def _criteria_labels(rl: ReminderList) -> list[tuple[str, str]]:
    c = Criteria.from_json(rl.criteria)
    m = rl.municipality_id
    rows = [("税目", "、".join(tax_item_name(m, code) for code in c.tax_items) or "すべて")]
    if c.levy_year_from is not None or c.levy_year_to is not None:
        rows.append(("賦課年度", f"{c.levy_year_from or ''}〜{c.levy_year_to or ''}"))
    if c.amount_min is not None or c.amount_max is not None:
        low = f"{c.amount_min:,}円以上" if c.amount_min is not None else ""
        high = f"{c.amount_max:,}円以下" if c.amount_max is not None else ""
        rows.append(("本税の合計", " ".join(x for x in (low, high) if x)))
    rows.append(("納期限からの経過", f"{c.days_overdue}日以上"))
    rows.append(("督促", "発付済みの期別に限る" if c.dunned_only else "督促前の期別も含む"))
    if c.postal_prefix:
        rows.append(("地区（郵便番号）", f"{c.postal_prefix}…"))
    return rows


@never_cache
@right_required(Right.REMINDER_LIST)
def list_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The review: counts and 本税 by tax item, the people page by page with 延滞金 as of the list's date,
    hand exclusions; after issue, the letters."""
    rl = _own_list(request, pk)
    user = staff_user(request)
    context: dict[str, Any] = {
        "reminder_list": rl,
        "criteria": _criteria_labels(rl),
        "can_issue": has_right(user, Right.DUNNING_RUN),
        "exclusions": rl.exclusions.select_related("taxpayer", "created_by").order_by("created_at"),
    }
    if rl.status == ReminderListStatus.ISSUED:
        letters = rl.letters.select_related("taxpayer", "slip").order_by("taxpayer__taxpayer_no")
        page = Paginator(letters, PAGE).get_page(request.GET.get("page"))
        context["page"] = page
        ids = [letter.taxpayer_id for letter in page.object_list]
    else:
        summary = review(rl)
        context["summary"] = summary
        context["items"] = [
            {"name": tax_item_name(rl.municipality_id, code), **v}
            for code, v in sorted(summary.by_tax_item.items())
        ]
        people = Paginator(target_people(rl), PAGE).get_page(request.GET.get("page"))
        ids = [int(row["taxpayer_id"]) for row in people.object_list]
        page = people
        context["page"] = page
        context["rows"] = _rows(rl, ids)
    if ids:
        audit_access(
            request=request, function="催告対象リストの確認", taxpayer_ids=ids, detail={"list": rl.pk}
        )
    return render(request, "dunning/reminders/detail.html", context)


def _rows(rl: ReminderList, ids: list[int]) -> list[dict[str, Any]]:
    """The page's people with 本税, 延滞金 (as of the list's date), 督促手数料 and total."""
    if not ids:
        return []
    chosen = list(target_installments(rl).filter(taxpayer_id__in=ids).values_list("pk", flat=True))
    people = Taxpayer.objects.in_bulk(ids)
    rows: dict[int, dict[str, Any]] = {
        i: {
            "taxpayer": people[i],
            "installments": 0,
            "principal": 0,
            "late_charge": 0,
            "fee": 0,
            "unknown": False,
        }
        for i in ids
    }
    for a in amounts_due(taxpayer_ids=ids, as_of=rl.as_of, installment_ids=chosen):
        row = rows[a.taxpayer_id]
        row["installments"] += 1
        row["principal"] += a.principal_due
        row["late_charge"] += a.late_charge or 0
        row["unknown"] |= a.late_charge is None
        row["fee"] += a.dunning_fee
    for row in rows.values():
        row["total"] = row["principal"] + row["late_charge"] + row["fee"]
    return [rows[i] for i in ids]


def _back(rl: ReminderList, request: HttpRequest) -> HttpResponseRedirect:
    page = request.POST.get("page", "")
    suffix = f"?page={page}" if page.isdigit() else ""
    return HttpResponseRedirect(reverse("dunning:reminder", args=[rl.pk]) + suffix)


@right_required(Right.REMINDER_LIST)
@require_POST
def exclude(request: HttpRequest, pk: int) -> HttpResponse:
    rl = _own_list(request, pk)
    user = staff_user(request)
    form = ExclusionForm(request.POST)
    if not form.is_valid():
        return render(
            request,
            "dunning/reminders/refused.html",
            {"reminder_list": rl, "errors": form.errors},
            status=400,
        )
    taxpayer = Taxpayer.objects.filter(
        pk=form.cleaned_data["taxpayer"], municipality=user.municipality
    ).first()
    if taxpayer is None:
        raise Http404("宛名が見つかりません")
    try:
        exclusion_add(actor=user, reminder_list=rl, taxpayer=taxpayer, reason=form.cleaned_data["reason"])
    except ValidationError as exc:
        return render(
            request,
            "dunning/reminders/refused.html",
            {"reminder_list": rl, "messages_": exc.messages},
            status=400,
        )
    return _back(rl, request)


@right_required(Right.REMINDER_LIST)
@require_POST
def exclusion_delete(request: HttpRequest, pk: int, exclusion_pk: int) -> HttpResponse:
    rl = _own_list(request, pk)
    exclusion = get_object_or_404(ReminderExclusion, pk=exclusion_pk, reminder_list=rl)
    try:
        exclusion_remove(actor=staff_user(request), exclusion=exclusion)
    except ValidationError as exc:
        return render(
            request,
            "dunning/reminders/refused.html",
            {"reminder_list": rl, "messages_": exc.messages},
            status=400,
        )
    return _back(rl, request)


@right_required(Right.DUNNING_RUN, any_of=(Right.REMINDER_LIST,))
@require_POST
def issue(request: HttpRequest, pk: int) -> HttpResponse:
    rl = _own_list(request, pk)
    try:
        list_issue(actor=staff_user(request), reminder_list=rl, today=timezone.localdate())
    except ValidationError as exc:
        return render(
            request,
            "dunning/reminders/refused.html",
            {"reminder_list": rl, "messages_": exc.messages},
            status=400,
        )
    return HttpResponseRedirect(reverse("dunning:reminder", args=[rl.pk]))
