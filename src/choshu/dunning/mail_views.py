"""Screens of 返戻・公示送達 and 督促停止 (issue 15 §5, §8).

Views parse the request, call one service and render. Every page that shows people (the registered
returned mails, a 公示送達's person, the suppression list) writes the access log first; the services
write the change records. Everything is looked up within the user's municipality, so a number of
another municipality is "not found".
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache

from choshu.accounts.decorators import right_required, staff_user
from choshu.accounts.permissions import Right
from choshu.audit.services import audit_access
from choshu.dunning.mail_forms import (
    PublicNoticeForm,
    ReturnedMailForm,
    SuppressionEndForm,
    SuppressionFilterForm,
    SuppressionForm,
)
from choshu.dunning.models import DunningSuppression, ReturnReason, SuppressionReason, suppressed_on
from choshu.dunning.returned import (
    parse_lines,
    public_notice_record,
    returned_mail_register,
    service_dates,
    slip_digits,
)
from choshu.dunning.services import suppression_add, suppression_end, suppression_request
from choshu.levies.models import Installment
from choshu.levies.tax_items import tax_item_name
from choshu.taxpayers.addressee import Via

PAGE_SIZE = 50


def _municipality(request: HttpRequest) -> Any:
    user = staff_user(request)
    assert user.municipality is not None  # right_required: a member of a municipality
    return user.municipality


@never_cache
@right_required(Right.DUNNING_SUPPRESS)
def returned_mail_view(request: HttpRequest) -> HttpResponse:
    """返戻の登録: GET the scan form; POST registers every line or, if any line is bad, none (400 with
    the list of bad lines)."""
    user = staff_user(request)
    municipality = _municipality(request)
    today = timezone.localdate()
    context: dict[str, Any] = {"today": today}
    if request.method != "POST":
        context["form"] = ReturnedMailForm(
            initial={"returned_on": today, "reason": ReturnReason.ADDRESS_UNKNOWN}
        )
        return render(request, "dunning/returned_mail.html", context)
    form = context["form"] = ReturnedMailForm(request.POST)
    if not form.is_valid():
        return render(request, "dunning/returned_mail.html", context, status=400)
    lines, errors = parse_lines(
        form.cleaned_data["lines"],
        returned_on=form.cleaned_data["returned_on"],
        reason=ReturnReason(form.cleaned_data["reason"]),
    )
    if not errors:
        try:
            done = returned_mail_register(actor=user, municipality=municipality, lines=lines, today=today)
        except ValidationError as exc:
            errors = exc.messages
    if errors:
        context["line_errors"] = errors
        return render(request, "dunning/returned_mail.html", context, status=400)
    m = municipality.pk
    context["done"] = done
    context["rows"] = [
        {
            "mail": rm,
            "tax_item_name": tax_item_name(m, rm.tax_item),
            "via": Via(rm.sent_via).label,
            "added": len(done.added[rm.pk]),
        }
        for rm in done.returned
    ]
    audit_access(
        request=request,
        function="返戻の登録（結果）",
        taxpayer_ids=sorted({rm.taxpayer_id for rm in done.returned}),
        detail={"registered": len(done.returned)},
    )
    context["form"] = ReturnedMailForm(initial={"returned_on": form.cleaned_data["returned_on"],
                                                "reason": form.cleaned_data["reason"]})  # fmt: skip
    return render(request, "dunning/returned_mail.html", context)


@never_cache
@right_required(Right.DUNNING_RUN)
def public_notice_view(request: HttpRequest) -> HttpResponse:
    """公示送達の登録: the returned 督促状's slip number and the first day of posting; shows the deemed
    service date and the dates that follow from it."""
    user = staff_user(request)
    municipality = _municipality(request)
    today = timezone.localdate()
    context: dict[str, Any] = {"today": today}
    if request.method != "POST":
        context["form"] = PublicNoticeForm(initial={"posted_on": today})
        return render(request, "dunning/public_notice.html", context)
    form = context["form"] = PublicNoticeForm(request.POST)
    if not form.is_valid():
        return render(request, "dunning/public_notice.html", context, status=400)
    try:
        posted = public_notice_record(
            actor=user,
            municipality=municipality,
            slip_no=form.cleaned_data["slip_no"],
            posted_on=form.cleaned_data["posted_on"],
            today=today,
            note=form.cleaned_data["note"],
        )
    except ValidationError as exc:
        form.add_error("slip_no", exc.messages)
        return render(request, "dunning/public_notice.html", context, status=400)
    audit_access(
        request=request, function="公示送達の登録（結果）", taxpayer_ids=[posted.taxpayer_id],
        detail={"notice": posted.notice_id},
    )  # fmt: skip
    context["posted"] = posted
    context["dates"] = service_dates(posted.notice, posted)
    context["tax_item_name"] = tax_item_name(municipality.pk, posted.notice.tax_item)
    context["form"] = PublicNoticeForm(initial={"posted_on": today})
    return render(request, "dunning/public_notice.html", context)


@never_cache
@right_required(Right.DUNNING_SUPPRESS)
def suppression_new(request: HttpRequest) -> HttpResponse:
    """督促停止の登録: one installment by its 納付番号. A reason the office records as a fact is
    registered at once; 「その他（職員の判断）」 becomes a 決裁 request."""
    user = staff_user(request)
    municipality = _municipality(request)
    today = timezone.localdate()
    context: dict[str, Any] = {}
    if request.method != "POST":
        context["form"] = SuppressionForm(initial={"start": today, "slip_no": request.GET.get("slip_no", "")})
        return render(request, "dunning/suppression_form.html", context)
    form = context["form"] = SuppressionForm(request.POST)
    if not form.is_valid():
        return render(request, "dunning/suppression_form.html", context, status=400)
    data = form.cleaned_data
    slip = slip_digits(data["slip_no"])
    installment = (
        Installment.objects.filter(municipality=municipality, slip_no=slip)
        .select_related("levy", "taxpayer")
        .first()
    )
    if installment is None:
        form.add_error(
            "slip_no", f"納付番号 {slip or data['slip_no']} の期別が見つかりません。番号を確かめてください。"
        )
        return render(request, "dunning/suppression_form.html", context, status=400)
    try:
        if data["reason"] == SuppressionReason.MANUAL:
            req = suppression_request(
                actor=user, installment=installment, start=data["start"], end=data["end"], reason=data["note"]
            )
            context["request_id"] = req.pk
        else:
            context["suppression"] = suppression_add(
                actor=user,
                installment=installment,
                reason=SuppressionReason(data["reason"]),
                start=data["start"],
                end=data["end"],
                note=data["note"],
            )
    except ValidationError as exc:
        form.add_error(None, exc.messages)
        return render(request, "dunning/suppression_form.html", context, status=400)
    except PermissionDenied as exc:
        form.add_error(None, str(exc))
        return render(request, "dunning/suppression_form.html", context, status=403)
    audit_access(request=request, function="督促停止の登録（結果）", taxpayer_ids=[installment.taxpayer_id])
    context["installment"] = installment
    context["tax_item_name"] = tax_item_name(municipality.pk, installment.levy.tax_item)
    context["form"] = SuppressionForm(initial={"start": today})
    return render(request, "dunning/suppression_form.html", context)


def _filtered(municipality: Any, form: SuppressionFilterForm, today: date) -> tuple[Any, date]:
    rows = DunningSuppression.objects.filter(municipality=municipality)
    data = form.cleaned_data if form.is_valid() else {}
    on = data.get("on") or today
    if data.get("reason"):
        rows = rows.filter(reason=data["reason"])
    state = data.get("state") or "active"
    if state == "active":
        rows = rows.filter(suppressed_on(on))
    elif state == "ended":
        rows = rows.filter(Q(end__lt=on))
    return rows, on


@never_cache
@right_required(Right.DUNNING_SUPPRESS)
def suppression_list(request: HttpRequest) -> HttpResponse:
    """督促停止の一覧: filtered by reason and state (停止中 on the day by default), newest first."""
    municipality = _municipality(request)
    today = timezone.localdate()
    form = SuppressionFilterForm(request.GET or None)
    rows, on = _filtered(municipality, form, today)
    ordered = rows.select_related("installment__levy", "taxpayer", "created_by").order_by("-start", "-pk")
    page = Paginator(ordered, PAGE_SIZE).get_page(request.GET.get("page"))
    items = [
        {
            "s": s,
            "tax_item_name": tax_item_name(municipality.pk, s.installment.levy.tax_item),
            "in_force": s.start <= on and (s.end is None or s.end >= on),
        }
        for s in page.object_list
    ]
    if items:
        audit_access(
            request=request,
            function="督促停止の一覧",
            taxpayer_ids=sorted({x["s"].taxpayer_id for x in items}),
            detail={"page": page.number, "count": page.paginator.count},
        )
    query = request.GET.copy()
    query.pop("page", None)
    context = {"form": form, "page": page, "items": items, "on": on, "query": query.urlencode()}
    return render(request, "dunning/suppression_list.html", context)


@never_cache
@right_required(Right.DUNNING_SUPPRESS)
def suppression_end_view(request: HttpRequest, pk: int) -> HttpResponse:
    """督促停止の終了: GET shows the suppression and the form; POST ends it (``suppression_end``: the
    row stays as history). Another municipality's suppression is not found."""
    user = staff_user(request)
    municipality = _municipality(request)
    s = (
        DunningSuppression.objects.filter(municipality=municipality, pk=pk)
        .select_related("installment__levy", "taxpayer", "created_by", "ended_by")
        .first()
    )
    if s is None:
        raise Http404("指定された督促停止は見つかりません。")
    today = timezone.localdate()
    form = (
        SuppressionEndForm(request.POST)
        if request.method == "POST"
        else SuppressionEndForm(initial={"end": today})
    )
    status = 200
    ended = False
    if request.method == "POST":
        if form.is_valid():
            try:
                s = suppression_end(
                    actor=user, suppression=s, end=form.cleaned_data["end"], note=form.cleaned_data["note"]
                )
                ended = True
            except ValidationError as exc:
                form.add_error(None, exc.messages)
                status = 400
        else:
            status = 400
    audit_access(
        request=request, function="督促停止の終了", taxpayer_ids=[s.taxpayer_id], detail={"suppression": s.pk}
    )
    context = {
        "s": s,
        "form": form,
        "ended": ended,
        "tax_item_name": tax_item_name(municipality.pk, s.installment.levy.tax_item),
        "in_force": s.start <= today and (s.end is None or s.end >= today),
    }
    return render(request, "dunning/suppression_end.html", context, status=status)
