"""申請の画面: a correction of 宛名 or a My Number link, filed for a second person to approve (決裁).

Reached under ``approvals:`` (``web/approvals_urls.py`` adds them to the approvals' own URLs). Nothing
changes until the request is approved on the approvals screens.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache

from choshu.accounts.decorators import right_required, staff_user
from choshu.accounts.permissions import Right
from choshu.approvals.models import ApprovalStatus, ChangeRequest
from choshu.approvals.views import refusal
from choshu.audit.services import audit_access
from choshu.taxpayers.changes import EDITABLE, my_number_link_request, taxpayer_edit_request
from choshu.taxpayers.models import Taxpayer, TaxpayerKind
from choshu.taxpayers.protection import ADDRESS_FIELDS, may_see_address
from choshu.taxpayers.selectors import taxpayer_get_for_user
from choshu.web.forms import MyNumberLinkForm, TaxpayerEditForm

EDIT_FUNCTION = "宛名訂正の申請"
MY_NUMBER_FUNCTION = "個人番号登録の申請"


def _pending_for(taxpayer: Taxpayer) -> QuerySet[ChangeRequest]:
    return (
        ChangeRequest.objects.filter(
            municipality_id=taxpayer.municipality_id, taxpayer=taxpayer, status=ApprovalStatus.PENDING
        )
        .select_related("requested_by")
        .only("pk", "kind", "requested_at", "requested_by__display_name", "requested_by__username")
        .order_by("requested_at")
    )


def _request_page(
    request: HttpRequest, taxpayer: Taxpayer, function: str, template: str, form: forms.Form
) -> HttpResponse:
    """Render a request form about ``taxpayer``, logging that the person's data was shown."""
    audit_access(
        request=request,
        function=function,
        taxpayer_ids=[taxpayer.pk],
        detail={"taxpayer_no": taxpayer.taxpayer_no},
        shows_address=isinstance(form, TaxpayerEditForm) and "address" in form.fields,
    )
    context = {
        "taxpayer": taxpayer,
        "form": form,
        "pending": _pending_for(taxpayer),
        "is_corporation": taxpayer.kind == TaxpayerKind.CORPORATION,
    }
    status = 400 if form.is_bound and form.errors else 200
    return render(request, template, context, status=status)


@never_cache
@right_required(Right.TAXPAYER_EDIT)
def taxpayer_edit(request: HttpRequest, taxpayer_pk: int) -> HttpResponse:
    """宛名情報の訂正の申請: nothing changes until a second person approves."""
    user = staff_user(request)
    taxpayer = taxpayer_get_for_user(user=user, pk=taxpayer_pk)
    # 支援措置: who may not see the address may not see it here either, nor change it
    hidden = () if may_see_address(user, taxpayer, timezone.localdate()) else ADDRESS_FIELDS
    current = {name: getattr(taxpayer, name) or "" for name in EDITABLE if name not in hidden}
    form = TaxpayerEditForm(request.POST or None, initial=current, without=hidden)
    if request.method == "POST" and form.is_valid():
        try:
            req = taxpayer_edit_request(
                actor=user, taxpayer=taxpayer, changes=form.changes(), reason=form.cleaned_data["reason"]
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        except PermissionDenied as exc:
            form.add_error(None, refusal(exc))
        else:
            messages.success(
                request, f"申請 #{req.pk} を登録しました。決裁（承認）されると宛名に反映されます。"
            )
            return redirect("approvals:detail", pk=req.pk)
    return _request_page(request, taxpayer, EDIT_FUNCTION, "approvals/taxpayer_edit.html", form)


@never_cache
@right_required(Right.TAXPAYER_EDIT)
def my_number_link(request: HttpRequest, taxpayer_pk: int) -> HttpResponse:
    """個人番号の登録・訂正の申請. The number is kept only encrypted and never shown again."""
    user = staff_user(request)
    taxpayer = taxpayer_get_for_user(user=user, pk=taxpayer_pk)
    form = MyNumberLinkForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            req = my_number_link_request(
                actor=user,
                taxpayer=taxpayer,
                number=form.cleaned_data["number"],
                reason=form.cleaned_data["reason"],
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        except PermissionDenied as exc:
            form.add_error(None, refusal(exc))
        else:
            messages.success(
                request, f"申請 #{req.pk} を登録しました。決裁（承認）されると個人番号が登録されます。"
            )
            return redirect("approvals:detail", pk=req.pk)
    return _request_page(request, taxpayer, MY_NUMBER_FUNCTION, "approvals/my_number_link.html", form)
