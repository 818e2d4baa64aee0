"""納付書の発行・再発行 (issue 13 §4): the form, the issue record and its PDF.

Every page writes the access log; the PDF handed out writes an EXPORT record with its SHA-256. A
person of another municipality is "not found" (404).
"""

from __future__ import annotations

import hashlib
from datetime import date

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.views.decorators.cache import never_cache

from choshu.accounts.decorators import right_required, staff_user
from choshu.accounts.permissions import Right
from choshu.audit.models import AuditKind, AuditSubjectType
from choshu.audit.services import audit_access, audit_record
from choshu.core.forms import date_in_range
from choshu.formats.display import wareki
from choshu.levies.tax_items import tax_item_name
from choshu.receipts.models import SlipIssue
from choshu.receipts.slip_forms import SlipIssueForm
from choshu.receipts.slip_issue import QuotedLine, slip_data, slip_issue, slip_quote
from choshu.receipts.slip_pdf import render_slip
from choshu.taxpayers.protection import ProtectedPersonRefused
from choshu.taxpayers.selectors import taxpayer_get_for_user

FORM_FUNCTION = "納付書発行（期別の選択）"
DETAIL_FUNCTION = "納付書発行履歴の照会"
PDF_FUNCTION = "納付書出力"


def _label(line: QuotedLine) -> str:
    inst = line.installment
    name = tax_item_name(inst.municipality_id, inst.levy.tax_item)
    return f"{name} {inst.levy.levy_year}年度 {inst.levy.notice_no} 第{inst.installment_no}期（納期限 {wareki(inst.due_date)}）"


@never_cache
@right_required(Right.SLIP_ISSUE)
def slip_issue_form(request: HttpRequest, taxpayer_pk: int) -> HttpResponse:
    """期別を選んで納付書を発行する. GET ``as_of`` recomputes the 延滞金 for another day."""
    user = staff_user(request)
    taxpayer = taxpayer_get_for_user(user=user, pk=taxpayer_pk, right=Right.SLIP_ISSUE)
    today = timezone.localdate()
    as_of = today
    if request.method == "POST":
        as_of = _day(request.POST.get("late_charge_as_of"), today)
    elif request.GET.get("as_of"):
        as_of = _day(request.GET.get("as_of"), today)
    owed = slip_quote(taxpayer, None, as_of)
    choices = [(line.installment.pk, _label(line)) for line in owed]
    initial = {"late_charge_as_of": as_of, "pay_by": as_of, "installments": [c[0] for c in choices]}
    form = SlipIssueForm(request.POST or None, choices=choices, initial=initial)
    status = 200
    refused = ""
    if request.method == "POST" and form.is_valid():
        try:
            issue, _pdf = slip_issue(
                actor=user,
                taxpayer=taxpayer,
                installment_ids=form.cleaned_data["installments"],
                late_charge_as_of=form.cleaned_data["late_charge_as_of"],
                pay_by=form.cleaned_data["pay_by"],
                reason=form.cleaned_data["reason"],
                today=today,
            )
        except ProtectedPersonRefused as exc:
            refused = " ".join(exc.messages)
            status = 409
        except ValidationError as exc:
            for message in exc.messages:
                form.add_error(None, message)
            status = 400
        else:
            return redirect("receipts:slip-issue-detail", pk=issue.pk)
    elif request.method == "POST":
        status = 400
    audit_access(
        request=request,
        function=FORM_FUNCTION,
        taxpayer_ids=[taxpayer.pk],
        detail={"taxpayer_no": taxpayer.taxpayer_no, "as_of": as_of.isoformat()},
    )
    issued = set(SlipIssue.objects.filter(taxpayer=taxpayer).values_list("installments", flat=True))
    context = {
        "taxpayer": taxpayer,
        "form": form,
        "owed": owed,
        "issued": issued,
        "selected": _selected(form),
        "as_of": as_of,
        "refused": refused,
        "total": sum(line.total for line in owed),
    }
    return render(request, "receipts/slip_issue.html", context, status=status)


def _selected(form: SlipIssueForm) -> set[int]:
    """The 期別 ticked: what was posted, else every 期別 with something owed."""
    if form.is_bound:
        data = form.data
        values = data.getlist("installments") if isinstance(data, QueryDict) else data.get("installments", [])
        return {int(v) for v in values if str(v).isdigit()}
    return set(form.initial.get("installments", []))


def _day(value: str | None, default: date) -> date:
    """The ISO date typed, or ``default`` when it is not one or lies outside the dates a screen takes
    (9999-12-31 is an ISO date, but a 延滞金 cannot be computed to it)."""
    try:
        day = date.fromisoformat(value or "")
    except ValueError:
        return default
    return day if date_in_range(day) else default


def _issue_for(request: HttpRequest, pk: int, right: str) -> SlipIssue:
    user = staff_user(request)
    issue = (
        SlipIssue.objects.filter(pk=pk, municipality_id=user.municipality_id or 0)
        .select_related("taxpayer", "issued_by")
        .first()
    )
    if issue is None:
        raise Http404("指定された納付書の発行記録は見つかりません。")
    taxpayer_get_for_user(user=user, pk=issue.taxpayer_id, right=right)
    return issue


@never_cache
@right_required(Right.TAXPAYER_VIEW)
def slip_issue_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """一件の発行記録: 期別, 金額, 計算基準日, 使用期限, 納付番号, 再発行の理由, and the PDF link."""
    issue = _issue_for(request, pk, Right.TAXPAYER_VIEW)
    audit_access(
        request=request, function=DETAIL_FUNCTION, taxpayer_ids=[issue.taxpayer_id], detail={"slip_issue": pk}
    )
    context = {"issue": issue, "taxpayer": issue.taxpayer, "data": slip_data(issue)}
    return render(request, "receipts/slip_issue_detail.html", context)


@never_cache
@right_required(Right.SLIP_ISSUE)
def slip_issue_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    """The 納付書 PDF of an issue (printed again from its record). Logged as access and export."""
    issue = _issue_for(request, pk, Right.SLIP_ISSUE)
    data = render_slip(slip_data(issue))
    detail = {"slip_issue": issue.pk, "slip_no": issue.slip_no, "sha256": hashlib.sha256(data).hexdigest()}
    user = staff_user(request)
    with transaction.atomic():
        audit_access(
            request=request, function=PDF_FUNCTION, taxpayer_ids=[issue.taxpayer_id], detail=detail,
            shows_address=True,
        )  # fmt: skip
        audit_record(
            kind=AuditKind.EXPORT,
            function=PDF_FUNCTION,
            municipality=user.municipality,
            user=user,
            request=request,
            subject_type=AuditSubjectType.TAXPAYER,
            subject_ids=[issue.taxpayer_id],
            detail=detail,
            shows_address=True,
        )
    response = HttpResponse(data, content_type="application/pdf")
    response["Content-Disposition"] = content_disposition_header(False, f"slip-{issue.pk}.pdf") or "inline"
    return response
