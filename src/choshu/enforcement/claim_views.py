"""交付要求・参加差押の画面 (issue 19 §4): the form from a case, one claim (its receipts and its 解除, each a
決裁 request). Right ``enforcement``; another team's case or claim answers 404; access and change logged."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache

from choshu.accounts.decorators import right_required, staff_user
from choshu.accounts.permissions import Right
from choshu.audit.services import audit_access
from choshu.cases.access import visible_cases
from choshu.enforcement.claims import claim_end_request, claim_receipt_request, claim_request
from choshu.enforcement.forms import ClaimForm, ClaimReceiptForm, ReleaseForm
from choshu.enforcement.models import Claim
from choshu.enforcement.views import _case, _installment_choices, _messages


def _claim(request: HttpRequest, pk: int) -> Claim:
    c = (
        Claim.objects.filter(pk=pk, case__in=visible_cases(staff_user(request)))
        .select_related("taxpayer", "case", "request", "end_request", "created_by")
        .first()
    )
    if c is None:
        raise Http404(
            "指定された交付要求・参加差押は見つかりません（担当班の案件ではないか、存在しません）。"
        )
    return c


@never_cache
@right_required(Right.ENFORCEMENT)
def claim_new(request: HttpRequest, case_pk: int) -> HttpResponse:
    user = staff_user(request)
    case = _case(request, case_pk)
    audit_access(request=request, function="交付要求・参加差押の起案", taxpayer_ids=[case.taxpayer_id],
                 detail={"case": case.pk})  # fmt: skip
    choices = _installment_choices(case)
    context: dict[str, Any] = {"case": case, "tp": case.taxpayer}
    if request.method != "POST":
        context["form"] = ClaimForm(installment_choices=choices, initial={"claimed_on": timezone.localdate()})
        return render(request, "enforcement/claim_form.html", context)
    form = context["form"] = ClaimForm(request.POST, installment_choices=choices)
    if not form.is_valid():
        return render(request, "enforcement/claim_form.html", context, status=400)
    d = form.cleaned_data
    try:
        claim = claim_request(
            actor=user, case=case, kind=d["kind"], proceeding=d["proceeding"], authority=d["authority"],
            case_no=d["case_no"], property_description=d["property_description"],
            installment_ids=[int(x) for x in d["installments"]], claimed_on=d["claimed_on"], amount=d["amount"],
            note=d["note"],
        )  # fmt: skip
    except (ValidationError, PermissionDenied) as exc:
        form.add_error(None, _messages(exc))
        return render(request, "enforcement/claim_form.html", context, status=400)
    context["claim"] = claim
    context["form"] = ClaimForm(installment_choices=choices, initial={"claimed_on": timezone.localdate()})
    return render(request, "enforcement/claim_form.html", context)


@never_cache
@right_required(Right.ENFORCEMENT)
def claim_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One claim; POST ``action`` = receipt (配当金の受領) | end (解除・終了), each a 決裁 request."""
    user = staff_user(request)
    c = _claim(request, pk)
    audit_access(request=request, function="交付要求・参加差押の照会", taxpayer_ids=[c.taxpayer_id],
                 detail={"claim": c.pk})  # fmt: skip
    context: dict[str, Any] = {"c": c, "receipt_form": ClaimReceiptForm(), "end_form": ReleaseForm()}
    status = 200
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "receipt":
                form: Any = ClaimReceiptForm(request.POST)
                context["receipt_form"] = form
                if form.is_valid():
                    col = claim_receipt_request(actor=user, claim=c, **form.cleaned_data)
                    context["done"] = f"配当金の収納を決裁に申請しました（申請番号 {col.request_id}）。"
            elif action == "end":
                form = context["end_form"] = ReleaseForm(request.POST)
                if form.is_valid():
                    r = claim_end_request(actor=user, claim=c, on=form.cleaned_data["released_on"],
                                          reason=form.cleaned_data["reason"])  # fmt: skip
                    context["done"] = f"解除・終了を決裁に申請しました（申請番号 {r.end_request_id}）。"
            else:
                context["error"] = "操作を選んでください（配当金の受領・解除）。"
        except (ValidationError, PermissionDenied) as exc:
            context["error"] = " ".join(_messages(exc))
        if "done" not in context:
            status = 400
        context["c"] = c = _claim(request, pk)
    context["installments"] = list(c.installments.select_related("levy").order_by("due_date", "pk"))
    context["collections"] = list(c.collections.order_by("received_on", "pk"))
    return render(request, "enforcement/claim_detail.html", context, status=status)
