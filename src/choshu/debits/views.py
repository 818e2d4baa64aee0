"""口座振替 screens: a person's mandates and the mandate entry (approval is the 決裁 queue), the debit
runs with their results, the failures to follow up, and the two notices as PDF.

Every page showing people writes the access log; the services write the change records. Everything is
looked up within the user's municipality (another municipality's number is "not found")."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from choshu.accounts.decorators import right_required, staff_user
from choshu.accounts.permissions import Right
from choshu.audit.services import audit_access
from choshu.debits.forms import EndForm, MandateForm, NoteForm
from choshu.debits.models import DebitLine, DebitRun, LineStatus, Mandate
from choshu.debits.notices import failure_notice_pdf, start_notice_pdf
from choshu.debits.services import (
    failure_follow_up,
    mandate_end,
    mandate_override_bank,
    mandate_request,
    mandate_resume,
)
from choshu.formats.debit_mandates import MandateInput
from choshu.levies.models import TaxItem
from choshu.taxpayers.selectors import taxpayer_get_for_user

PAGE_SIZE = 50


def _mid(request: HttpRequest) -> int:
    user = staff_user(request)
    assert user.municipality_id is not None  # right_required: a member of a municipality
    return user.municipality_id


def _mandate(request: HttpRequest, pk: int) -> Mandate:
    m = Mandate.objects.select_related("taxpayer").filter(pk=pk, municipality_id=_mid(request)).first()
    if m is None:
        raise Http404("指定された口座振替は見つかりません。")
    return m


@never_cache
@right_required(Right.TAXPAYER_VIEW)
def person_mandates(request: HttpRequest, pk: int) -> HttpResponse:
    """The mandates of one person (every state, newest first) and their recent debits."""
    user = staff_user(request)
    taxpayer = taxpayer_get_for_user(user=user, pk=pk)
    mandates = list(Mandate.objects.filter(taxpayer=taxpayer).select_related("request").order_by("-pk"))
    lines = list(
        DebitLine.objects.filter(taxpayer=taxpayer)
        .select_related("installment__levy")
        .order_by("-debit_date", "-pk")[:50]
    )
    audit_access(request=request, function="口座振替の照会", taxpayer_ids=[taxpayer.pk])
    return render(request, "debits/person.html", {"taxpayer": taxpayer, "mandates": mandates, "lines": lines})


def _tax_items(municipality_id: int) -> list[tuple[str, str]]:
    return list(
        TaxItem.objects.filter(municipality_id=municipality_id, is_active=True)
        .order_by("sort_order", "code")
        .values_list("code", "name")
    )


@never_cache
@right_required(Right.TAXPAYER_EDIT)
def mandate_new(request: HttpRequest, pk: int) -> HttpResponse:
    """口座振替依頼の入力 (or, with ``?replaces=<id>``, its change): saved as a 決裁 request."""
    user = staff_user(request)
    taxpayer = taxpayer_get_for_user(user=user, pk=pk, right=Right.TAXPAYER_EDIT)
    replaces = None
    replaces_id = request.GET.get("replaces") or request.POST.get("replaces")
    if replaces_id:
        if not str(replaces_id).isdigit():
            raise Http404("指定された口座振替は見つかりません。")
        replaces = _mandate(request, int(replaces_id))
        if replaces.taxpayer_id != taxpayer.pk:
            raise Http404("指定された口座振替は見つかりません。")
    items = _tax_items(taxpayer.municipality_id)
    context: dict[str, Any] = {"taxpayer": taxpayer, "replaces": replaces}
    if request.method != "POST":
        initial = {"start": timezone.localdate(), "received_on": timezone.localdate()}
        context["form"] = MandateForm(initial=initial, tax_items=items)
        audit_access(request=request, function="口座振替依頼の入力", taxpayer_ids=[taxpayer.pk])
        return render(request, "debits/mandate_form.html", context)
    form = context["form"] = MandateForm(request.POST, tax_items=items)
    if not form.is_valid():
        return render(request, "debits/mandate_form.html", context, status=400)
    c = form.cleaned_data
    data = MandateInput(
        tax_item=c["tax_item"], bank_code=c["bank_code"], branch_code=c["branch_code"] or "",
        deposit_type=c["deposit_type"] or "", account=c["account"] or "", holder_name=c["holder_name"],
        start=c["start"], end=c["end"], received_on=c["received_on"], jp_kigo=c["jp_kigo"] or "",
        jp_bango=c["jp_bango"] or "",
    )  # fmt: skip
    try:
        m = mandate_request(actor=user, taxpayer=taxpayer, data=data, reason=c["reason"], replaces=replaces)
    except ValidationError as exc:
        if hasattr(exc, "error_dict"):
            for name, errs in exc.message_dict.items():
                form.add_error(name if name in form.fields else None, errs)
        else:
            form.add_error(None, exc.messages)
        return render(request, "debits/mandate_form.html", context, status=400)
    context["created"] = m
    return render(request, "debits/mandate_form.html", context)


@never_cache
@right_required(Right.TAXPAYER_EDIT)
def mandate_end_view(request: HttpRequest, pk: int) -> HttpResponse:
    user = staff_user(request)
    m = _mandate(request, pk)
    context: dict[str, Any] = {"m": m}
    if request.method != "POST":
        context["form"] = EndForm(initial={"end": timezone.localdate()})
        audit_access(request=request, function="口座振替の終了", taxpayer_ids=[m.taxpayer_id])
        return render(request, "debits/mandate_end.html", context)
    form = context["form"] = EndForm(request.POST)
    if form.is_valid():
        try:
            mandate_end(actor=user, mandate=m, end=form.cleaned_data["end"], note=form.cleaned_data["note"])
            return redirect("debits:person", pk=m.taxpayer_id)
        except ValidationError as exc:
            form.add_error(None, exc.messages)
    return render(request, "debits/mandate_end.html", context, status=400)


@right_required(Right.TAXPAYER_EDIT)
@require_POST
def mandate_resume_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Resume a mandate a 振替不能 result suspended (POST from the person's page, with the reason)."""
    user = staff_user(request)
    m = _mandate(request, pk)
    form = NoteForm(request.POST)
    if not form.is_valid():
        return HttpResponse("再開の理由を入力してください。", status=400)
    try:
        mandate_resume(actor=user, mandate=m, note=form.cleaned_data["note"])
    except ValidationError as exc:
        return HttpResponse("; ".join(exc.messages), status=400)
    return redirect("debits:person", pk=m.taxpayer_id)


@right_required(Right.APPROVE)
@require_POST
def mandate_override(request: HttpRequest, pk: int) -> HttpResponse:
    """A chief confirms an unknown bank/branch code (POST from the person's page)."""
    user = staff_user(request)
    m = _mandate(request, pk)
    form = NoteForm(request.POST)
    if not form.is_valid():
        return HttpResponse("確認した内容を入力してください。", status=400)
    try:
        mandate_override_bank(actor=user, mandate=m, note=form.cleaned_data["note"])
    except ValidationError as exc:
        return HttpResponse("; ".join(exc.messages), status=400)
    except PermissionDenied:
        raise
    return redirect("debits:person", pk=m.taxpayer_id)


@never_cache
@right_required(Right.IMPORT_FILES)
def run_list(request: HttpRequest) -> HttpResponse:
    """Every debit run (counts and totals only: no personal data)."""
    runs = DebitRun.objects.filter(municipality_id=_mid(request)).order_by("-debit_date", "-pk")
    page = Paginator(runs, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "debits/runs.html", {"page": page})


@never_cache
@right_required(Right.IMPORT_FILES)
def run_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One run: its files and, page by page, its lines with their results."""
    run = DebitRun.objects.filter(pk=pk, municipality_id=_mid(request)).first()
    if run is None:
        raise Http404("指定された口座振替依頼は見つかりません。")
    lines = (
        DebitLine.objects.filter(file__run=run).select_related("taxpayer", "installment__levy").order_by("pk")
    )
    page = Paginator(lines, PAGE_SIZE).get_page(request.GET.get("page"))
    totals = {s: lines.filter(status=s).count() for s in LineStatus.values}
    audit_access(
        request=request,
        function="口座振替依頼の結果の照会",
        taxpayer_ids=sorted({line.taxpayer_id for line in page}),
        detail={"run": run.pk},
    )
    return render(
        request,
        "debits/run.html",
        {"run": run, "files": run.files.select_related("collecting"), "page": page, "totals": totals},
    )


@never_cache
@right_required(Right.TAXPAYER_VIEW)
def failure_list(request: HttpRequest) -> HttpResponse:
    """振替不能 lines not yet followed up (oldest debit first)."""
    lines = (
        DebitLine.objects.filter(
            municipality_id=_mid(request), status=LineStatus.FAILED, followed_up_at__isnull=True
        )
        .select_related("taxpayer", "installment__levy", "mandate")
        .order_by("debit_date", "pk")
    )
    page = Paginator(lines, PAGE_SIZE).get_page(request.GET.get("page"))
    audit_access(
        request=request, function="振替不能の一覧", taxpayer_ids=sorted({line.taxpayer_id for line in page})
    )
    return render(request, "debits/failures.html", {"page": page, "form": NoteForm()})


def _line(request: HttpRequest, pk: int) -> DebitLine:
    line = (
        DebitLine.objects.select_related("taxpayer", "installment__levy", "mandate")
        .filter(pk=pk, municipality_id=_mid(request))
        .first()
    )
    if line is None:
        raise Http404("指定された口座振替の明細は見つかりません。")
    return line


@right_required(Right.TAXPAYER_EDIT)
@require_POST
def failure_done(request: HttpRequest, pk: int) -> HttpResponse:
    user = staff_user(request)
    line = _line(request, pk)
    form = NoteForm(request.POST)
    if not form.is_valid():
        return HttpResponse("対応の内容を入力してください。", status=400)
    try:
        failure_follow_up(actor=user, line=line, note=form.cleaned_data["note"])
    except ValidationError as exc:
        return HttpResponse("; ".join(exc.messages), status=400)
    return redirect("debits:failures")


@never_cache
@right_required(Right.TAXPAYER_VIEW)
def failure_notice(request: HttpRequest, pk: int) -> HttpResponse:
    """振替不能通知 (PDF) of one failed line, with the installment's slip."""
    line = _line(request, pk)
    if line.status != LineStatus.FAILED:
        raise Http404("振替不能の明細ではありません。")
    audit_access(
        request=request, function="振替不能通知の出力", taxpayer_ids=[line.taxpayer_id], shows_address=True
    )
    pdf = failure_notice_pdf(line, on=timezone.localdate())
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="furikae-funou-{line.pk}.pdf"'
    return response


@never_cache
@right_required(Right.TAXPAYER_VIEW)
def start_notice(request: HttpRequest, pk: int) -> HttpResponse:
    """口座振替開始通知 (PDF) of an approved mandate."""
    m = _mandate(request, pk)
    if m.approved_on is None:
        raise Http404("承認されていない口座振替です。")
    audit_access(
        request=request, function="口座振替開始通知の出力", taxpayer_ids=[m.taxpayer_id], shows_address=True
    )
    pdf = start_notice_pdf(m, on=timezone.localdate())
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="furikae-kaishi-{m.pk}.pdf"'
    return response
