"""緩和制度 screens (issue 18 §6): the list, a new relief by the installments' 納付番号, and one relief
with its extension and cancellation. Every change is a 決裁 request; every view of a person is logged."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache

from choshu.accounts.decorators import right_required, staff_user
from choshu.accounts.permissions import Right
from choshu.audit.services import audit_access
from choshu.dunning.returned import slip_digits
from choshu.levies.models import Installment
from choshu.relief.forms import CancelForm, ExtendForm, ReliefForm
from choshu.relief.models import Relief
from choshu.relief.relief import relief_cancel_request, relief_extend_request, relief_request

PAGE = 50


@never_cache
@right_required(Right.RELIEF)
def relief_list(request: HttpRequest) -> HttpResponse:
    user = staff_user(request)
    qs = (
        Relief.objects.filter(municipality=user.municipality)
        .select_related("taxpayer")
        .order_by("-start", "-pk")
    )
    page = Paginator(qs, PAGE).get_page(request.GET.get("page"))
    rows = list(page.object_list)
    audit_access(
        request=request, function="緩和制度の一覧", taxpayer_ids=sorted({r.taxpayer_id for r in rows}),
        detail={"page": page.number},
    )  # fmt: skip
    return render(request, "relief/reliefs.html", {"page": page, "rows": rows})


@never_cache
@right_required(Right.RELIEF)
def relief_new(request: HttpRequest) -> HttpResponse:
    """GET: the form. POST: the relief as a 決裁 request (nothing takes effect before approval)."""
    user = staff_user(request)
    context: dict[str, Any] = {}
    if request.method != "POST":
        context["form"] = ReliefForm(initial={"start": timezone.localdate()})
        return render(request, "relief/relief_form.html", context)
    form = context["form"] = ReliefForm(request.POST)
    if not form.is_valid():
        return render(request, "relief/relief_form.html", context, status=400)
    data = form.cleaned_data
    slips = [slip_digits(line) or line.strip() for line in data["slip_nos"].splitlines() if line.strip()]
    found = {
        i.slip_no: i
        for i in Installment.objects.filter(municipality=user.municipality, slip_no__in=slips).select_related(
            "taxpayer", "levy"
        )
    }
    missing = [s for s in slips if s not in found]
    if missing:
        form.add_error(
            "slip_nos", f"納付番号 {'、'.join(missing)} の期別が見つかりません。番号を確かめてください。"
        )
        return render(request, "relief/relief_form.html", context, status=400)
    people = {i.taxpayer_id for i in found.values()}
    if len(people) != 1:
        form.add_error("slip_nos", "ひとつの緩和制度には同じ納税者の期別だけを入力してください。")
        return render(request, "relief/relief_form.html", context, status=400)
    installments = list(found.values())
    try:
        relief = relief_request(
            actor=user, taxpayer=installments[0].taxpayer, kind=data["kind"], ground=data["ground"],
            installments=installments, start=data["start"], end=data["end"], note=data["note"],
            immediate_on=data["immediate_on"],
        )  # fmt: skip
    except ValidationError as exc:
        form.add_error(None, exc.messages)
        return render(request, "relief/relief_form.html", context, status=400)
    audit_access(
        request=request, function="緩和制度の起案", taxpayer_ids=sorted(people), detail={"relief": relief.pk}
    )
    context["relief"] = relief
    return render(request, "relief/relief_form.html", context)


@never_cache
@right_required(Right.RELIEF)
def relief_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One relief; POST ``action`` = extend | cancel makes the 決裁 request."""
    user = staff_user(request)
    relief = (
        Relief.objects.filter(pk=pk, municipality=user.municipality)
        .select_related("taxpayer", "request")
        .first()
    )
    if relief is None:
        raise Http404("指定された緩和制度は見つかりません。")
    audit_access(
        request=request, function="緩和制度の照会", taxpayer_ids=[relief.taxpayer_id], detail={"relief": pk}
    )
    context: dict[str, Any] = {"relief": relief, "extend_form": ExtendForm(), "cancel_form": CancelForm()}
    status = 200
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "extend":
                form = context["extend_form"] = ExtendForm(request.POST)
                if form.is_valid():
                    context["request_made"] = relief_extend_request(
                        actor=user,
                        relief=relief,
                        new_end=form.cleaned_data["new_end"],
                        reason=form.cleaned_data["reason"],
                    )
            elif action == "cancel":
                cancel = context["cancel_form"] = CancelForm(request.POST)
                if cancel.is_valid():
                    context["request_made"] = relief_cancel_request(
                        actor=user,
                        relief=relief,
                        on=cancel.cleaned_data["cancel_on"],
                        reason=cancel.cleaned_data["reason"],
                    )
            else:
                context["error"] = "操作を選んでください（延長または取消）。"
        except (ValidationError, PermissionDenied) as exc:
            context["error"] = " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
        if "request_made" not in context:
            status = 400
    context["installments"] = list(relief.installments.select_related("levy").order_by("due_date", "pk"))
    return render(request, "relief/relief_detail.html", context, status=status)
