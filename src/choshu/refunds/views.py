"""Screens of 過誤納・充当・還付 (issue 16 §6): the overpayment list with filters, one overpayment with
its appropriations, refund decisions and notices (and the 還付決議 form), the refund account entry and
the notice PDF. The approval of a decision or an account is on the 決裁 screens (kind 還付).

Views parse, fetch within the user's municipality (another municipality's number is "not found"),
call one service and render; every page showing people writes the access log.
"""

from __future__ import annotations

import hashlib
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.views.decorators.cache import never_cache

from choshu.accounts.decorators import right_required, staff_user
from choshu.accounts.permissions import Right
from choshu.audit.models import AuditKind, AuditSubjectType
from choshu.audit.services import audit_access, audit_record
from choshu.refunds.forms import CauseForm, OverpaymentFilterForm, RefundAccountForm, RefundDecisionForm
from choshu.refunds.models import AccountSource, Overpayment, RefundNotice
from choshu.refunds.notices import TITLE, notice_content, render_notice
from choshu.refunds.services import (
    AccountInput,
    interest_unpaid,
    overpayment_set_cause,
    refund_account_request,
    refund_decide,
    sync_decisions,
)
from choshu.taxpayers.models import Taxpayer

PAGE_SIZE = 50


def _municipality(request: HttpRequest) -> Any:
    user = staff_user(request)
    assert user.municipality is not None  # right_required: a member of a municipality
    return user.municipality


@never_cache
@right_required(Right.REFUND_WORK)
def overpayment_list(request: HttpRequest) -> HttpResponse:
    """過誤納金の一覧: filtered by status, origin, 宛名番号 and the date it arose; newest first."""
    municipality = _municipality(request)
    sync_decisions(municipality=municipality)
    form = OverpaymentFilterForm(request.GET or None)
    rows = Overpayment.objects.filter(municipality=municipality)
    status = 200
    if form.is_bound and not form.is_valid():
        status = 400
    data = form.cleaned_data if form.is_bound and form.is_valid() else {}
    if data.get("status"):
        rows = rows.filter(status=data["status"])
    if data.get("origin"):
        rows = rows.filter(origin=data["origin"])
    if data.get("taxpayer_no"):
        rows = rows.filter(taxpayer__taxpayer_no=data["taxpayer_no"].strip())
    if data.get("arose_from"):
        rows = rows.filter(arose_on__gte=data["arose_from"])
    if data.get("arose_to"):
        rows = rows.filter(arose_on__lte=data["arose_to"])
    page = Paginator(rows.select_related("taxpayer").order_by("-arose_on", "-pk"), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    audit_access(
        request=request, function="過誤納金の一覧", taxpayer_ids=sorted({o.taxpayer_id for o in page.object_list}),
        detail={"filters": {k: str(v) for k, v in data.items() if v}},
    )  # fmt: skip
    return render(request, "refunds/list.html", {"form": form, "page": page}, status=status)


def _overpayment(request: HttpRequest, pk: int) -> Overpayment:
    op = (
        Overpayment.objects.filter(pk=pk, municipality=_municipality(request))
        .select_related("taxpayer", "installment__levy", "payment")
        .first()
    )
    if op is None:
        raise Http404("指定された過誤納金は見つかりません。")
    return op


@never_cache
@right_required(Right.REFUND_WORK)
def overpayment_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One overpayment: what became of it, and the 還付決議 form (POST: a decision for 決裁)."""
    user = staff_user(request)
    sync_decisions(municipality=_municipality(request))
    op = _overpayment(request, pk)
    context: dict[str, Any] = {"op": op}
    status = 200
    cause_form = CauseForm(initial={"cause": op.cause, "event_on": op.event_on, "claimed_on": op.claimed_on})
    form = RefundDecisionForm(initial={"decided_on": timezone.localdate()})
    if request.method == "POST" and "cause" in request.POST:
        cause_form = CauseForm(request.POST)
        status = 400
        if cause_form.is_valid():
            d = cause_form.cleaned_data
            try:
                overpayment_set_cause(
                    actor=user, overpayment=op, cause=d["cause"], event_on=d["event_on"], claimed_on=d["claimed_on"],
                    reason=d["reason"],
                )  # fmt: skip
                op = _overpayment(request, pk)
                context["cause_saved"] = True
                status = 200
            except ValidationError as exc:
                cause_form.add_error(None, exc.messages)
            except PermissionDenied as exc:
                cause_form.add_error(None, str(exc))
                status = 403
    elif request.method == "POST":
        form = RefundDecisionForm(request.POST)
        if form.is_valid():
            try:
                context["decided"] = refund_decide(
                    actor=user, overpayment=op, decided_on=form.cleaned_data["decided_on"],
                    reason=form.cleaned_data["reason"], today=timezone.localdate(),
                )  # fmt: skip
                op = _overpayment(request, pk)
                form = RefundDecisionForm(initial={"decided_on": timezone.localdate()})
            except ValidationError as exc:
                form.add_error(None, exc.messages)
                status = 400
            except PermissionDenied as exc:
                form.add_error(None, str(exc))
                status = 403
        else:
            status = 400
    context.update(
        op=op,
        form=form,
        cause_form=cause_form,
        appropriations=op.appropriations.select_related("installment__levy").order_by("pk"),
        refunds=op.refunds.select_related("account", "request", "transfer").order_by("pk"),
        notices=op.notices.order_by("pk"),
        interest_unpaid=interest_unpaid(op),
    )
    audit_access(
        request=request,
        function="過誤納金の照会",
        taxpayer_ids=[op.taxpayer_id],
        detail={"overpayment": op.pk},
    )
    return render(request, "refunds/detail.html", context, status=status)


@never_cache
@right_required(Right.REFUND_WORK)
def account_new(request: HttpRequest) -> HttpResponse:
    """還付口座の入力: checked at once (bank and branch, length, kana); in force after 決裁."""
    user = staff_user(request)
    municipality = _municipality(request)
    context: dict[str, Any] = {}
    if request.method != "POST":
        context["form"] = RefundAccountForm(
            initial={"taxpayer_no": request.GET.get("taxpayer_no", ""), "source": AccountSource.REGISTERED}
        )
        return render(request, "refunds/account_form.html", context)
    form = context["form"] = RefundAccountForm(request.POST)
    if not form.is_valid():
        return render(request, "refunds/account_form.html", context, status=400)
    d = form.cleaned_data
    taxpayer = Taxpayer.objects.filter(
        municipality=municipality, taxpayer_no=d["taxpayer_no"].strip()
    ).first()
    if taxpayer is None:
        form.add_error(
            "taxpayer_no", f"宛名番号 {d['taxpayer_no']} は見つかりません。番号を確かめてください。"
        )
        return render(request, "refunds/account_form.html", context, status=400)
    data = AccountInput(
        d["bank_code"], d["branch_code"], d["deposit_type"], d["account_no"], d["holder_kana"]
    )
    try:
        context["account"] = refund_account_request(
            actor=user, taxpayer=taxpayer, data=data, source=AccountSource(d["source"]), reason=d["reason"],
            received_on=d.get("received_on"), today=timezone.localdate(),
        )  # fmt: skip
    except ValidationError as exc:
        if hasattr(exc, "error_dict"):
            for name, errors in exc.message_dict.items():
                form.add_error(name if name in form.fields else None, errors)
        else:
            form.add_error(None, exc.messages)
        return render(request, "refunds/account_form.html", context, status=400)
    except PermissionDenied as exc:
        form.add_error(None, str(exc))
        return render(request, "refunds/account_form.html", context, status=403)
    audit_access(request=request, function="還付口座の入力（結果）", taxpayer_ids=[taxpayer.pk])
    context["taxpayer"] = taxpayer
    context["form"] = RefundAccountForm(initial={"source": AccountSource.REGISTERED})
    return render(request, "refunds/account_form.html", context)


@never_cache
@right_required(Right.REFUND_WORK)
def notice_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    """One 充当通知書 / 還付通知書 / 過誤納還付通知書 as a PDF (inline)."""
    user = staff_user(request)
    notice = (
        RefundNotice.objects.filter(pk=pk, municipality=_municipality(request))
        .select_related("municipality", "taxpayer", "overpayment", "refund__account")
        .first()
    )
    if notice is None:
        raise Http404("指定された通知は見つかりません。")
    data = notice_content(notice, user=user, on=timezone.localdate())
    pdf = render_notice(data)
    detail = {"notice": notice.pk, "kind": notice.kind, "sha256": hashlib.sha256(pdf).hexdigest()}
    function = f"{TITLE[data.kind]}出力"
    with transaction.atomic():
        audit_access(
            request=request, function=function, taxpayer_ids=[notice.taxpayer_id], detail=detail,
            shows_address=not data.address_withheld,
        )  # fmt: skip
        audit_record(
            kind=AuditKind.EXPORT, function=function, municipality=user.municipality, user=user, request=request,
            subject_type=AuditSubjectType.TAXPAYER, subject_ids=[notice.taxpayer_id], detail=detail,
            shows_address=not data.address_withheld,
        )  # fmt: skip
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = (
        content_disposition_header(False, f"refund-notice-{notice.pk}.pdf") or "inline"
    )
    return response
