"""The call-centre screens (issue 20 §3, §4).

The operator (role 納税催告センター, right ``callcenter_call``): the current contract month's targets —
対象者ID, name, kana, phone, amounts; no address, no 宛名番号 — and the entry of one call's result. A
target of another month, or an id that is no target, answers 404 and is logged; every other URL is
refused by ``callcenter.middleware`` (403, logged). The chief (``callcenter_manage``): the criteria,
the exports made (the file itself is written by ``choshu callcenter-export``), the results import
(upload) and the monthly report.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from choshu.accounts.decorators import right_required, staff_user
from choshu.accounts.models import User
from choshu.accounts.permissions import Right
from choshu.audit.models import AuditKind
from choshu.audit.services import audit_access, audit_record
from choshu.callcenter.criteria import FLAGS, criteria_on, criteria_set
from choshu.callcenter.export import REASONS, parse_month
from choshu.callcenter.forms import CallForm, CriteriaForm, ImportForm
from choshu.callcenter.middleware import printable
from choshu.callcenter.models import CallCriteria, CallExport, CallImport, CallOutcome, CallResult, CallTarget
from choshu.callcenter.report import month_report
from choshu.callcenter.results import CallInput, call_record, callcenter_import
from choshu.core.models import Municipality
from choshu.formats.errors import FileRefused

PAGE_SIZE = 100
_TARGET_ID = re.compile(r"^[A-Z0-9]{1,12}$")
V = TypeVar("V", bound=Callable[..., Any])


def _municipality(user: User) -> Municipality:
    """The signed-in user's municipality (``has_right`` refuses a user without one)."""
    assert user.municipality is not None
    return user.municipality


def operator_page(view: V) -> V:
    """Marks a page the call-centre operator may open (``callcenter.middleware``)."""
    view.operator_page = True  # type: ignore[attr-defined]
    return view


def contract_month(today: date | None = None) -> str:
    """The contract month running today (the targets the operator sees)."""
    d = today or timezone.localdate()
    return f"{d.year:04d}-{d.month:02d}"


# --- the operator ---------------------------------------------------------------------------------------


@operator_page
@never_cache
@right_required(Right.CALLCENTER_CALL)
def calls(request: HttpRequest) -> HttpResponse:
    """当月の架電対象者: 50 names a page, each with its phone and amounts, and a link to record a call."""
    user = staff_user(request)
    month = contract_month()
    qs = (
        CallTarget.objects.filter(municipality=_municipality(user), month=month)
        .select_related("taxpayer")
        .order_by("taxpayer__name_kana", "pk")
    )
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = list(page.object_list)
    called = set(CallResult.objects.filter(target__in=rows).values_list("target_id", flat=True))
    audit_access(request=request, function="催告センター架電対象者一覧", taxpayer_ids=[t.taxpayer_id for t in rows],
                 detail={"month": month, "page": page.number})  # fmt: skip
    return render(
        request, "callcenter/calls.html", {"month": month, "page": page, "rows": rows, "called": called}
    )


def _target(request: HttpRequest, target_id: str) -> CallTarget:
    user = staff_user(request)
    month = contract_month()
    target = None
    if _TARGET_ID.match(target_id):  # anything else is no target (and a NUL would not reach PostgreSQL)
        target = (
            CallTarget.objects.filter(municipality=_municipality(user), target_id=target_id)
            .select_related("taxpayer", "municipality")
            .first()
        )
    if target is None or target.month != month:
        audit_record(kind=AuditKind.ACCESS, function="催告センター架電対象者の照会（拒否）",
                     municipality=_municipality(user), user=user, request=request,
                     detail={"target": printable(target_id, 20), "month": month,
                             "refused": "no_such_target" if target is None else "other_month"})  # fmt: skip
        raise Http404("この対象者は当月の架電対象ではありません")
    return target


@operator_page
@never_cache
@right_required(Right.CALLCENTER_CALL)
def call_new(request: HttpRequest, target_id: str) -> HttpResponse:
    """架電結果の入力: one call to one of the month's targets → a 架電結果 and a 経過記録."""
    user = staff_user(request)
    target = _target(request, target_id)
    form = CallForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            d = form.cleaned_data
            called = d["called_at"]
            data = CallInput(
                called_at=timezone.make_aware(called) if timezone.is_naive(called) else called,
                operator_code=user.username[:20], outcome=d["outcome"], promise_amount=d["promise_amount"],
                promise_on=d["promise_on"], notes=d["notes"],
            )  # fmt: skip
            try:
                call_record(actor=user, target=target, data=data)
            except ValidationError as exc:
                _errors_to_form(form, exc)
            else:
                return HttpResponseRedirect(reverse("callcenter:calls") + "?recorded=" + target.target_id)
    audit_access(request=request, function="催告センター架電対象者の照会", taxpayer_ids=[target.taxpayer_id],
                 detail={"target": target.target_id, "month": target.month})  # fmt: skip
    history = CallResult.objects.filter(target=target).order_by("-called_at")
    return render(request, "callcenter/call_new.html", {"target": target, "form": form, "history": history},
                  status=status)  # fmt: skip


def _errors_to_form(form: Any, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for field, errs in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errs)
    else:
        form.add_error(None, exc.messages)


# --- the chief ------------------------------------------------------------------------------------------


def _index_context(request: HttpRequest, **extra: Any) -> dict[str, Any]:
    user = staff_user(request)
    today = timezone.localdate()
    c = criteria_on(_municipality(user), today)
    return {
        "criteria": c,
        "criteria_rows": CallCriteria.objects.filter(municipality=_municipality(user))[:20],
        "exports": [
            (e, [(label, e.excluded.get(key, 0)) for key, label in REASONS.items() if e.excluded.get(key)])
            for e in CallExport.objects.filter(municipality=_municipality(user))[:24]
        ],
        "imports": CallImport.objects.filter(municipality=_municipality(user))[:24],
        "reasons": REASONS,
        "criteria_form": extra.pop("criteria_form", None)
        or CriteriaForm(
            initial={"valid_from": today, "min_amount": c.min_amount, **{k: getattr(c, k) for k in FLAGS}}
        ),
        "import_form": extra.pop("import_form", None) or ImportForm(),
        "month": contract_month(),
        **extra,
    }


@never_cache
@right_required(Right.CALLCENTER_MANAGE)
def index(request: HttpRequest) -> HttpResponse:
    """納税催告センター: the criteria in force, the exports and imports, the upload and the report."""
    return render(request, "callcenter/index.html", _index_context(request))


@require_POST
@right_required(Right.CALLCENTER_MANAGE)
def criteria_save(request: HttpRequest) -> HttpResponse:
    user = staff_user(request)
    form = CriteriaForm(request.POST)
    if form.is_valid():
        d = form.cleaned_data
        try:
            criteria_set(actor=user, municipality=_municipality(user), valid_from=d["valid_from"],
                         min_amount=d["min_amount"], note=d["note"], **{k: bool(d[k]) for k in FLAGS})  # fmt: skip
        except ValidationError as exc:
            _errors_to_form(form, exc)
        else:
            return HttpResponseRedirect(reverse("callcenter:index") + "?saved=1")
    return render(request, "callcenter/index.html", _index_context(request, criteria_form=form), status=400)


@require_POST
@right_required(Right.CALLCENTER_MANAGE)
def import_upload(request: HttpRequest) -> HttpResponse:
    """架電結果ファイルの取込 (the same service as ``choshu callcenter-import``): the result, or every
    reason the file was refused (400; nothing recorded)."""
    user = staff_user(request)
    form = ImportForm(request.POST, request.FILES)
    if not form.is_valid():
        return render(request, "callcenter/index.html", _index_context(request, import_form=form), status=400)
    upload = form.cleaned_data["file"]
    name = Path(printable(upload.name or "results.csv", 100)).name
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        with open(path, "wb") as fh:
            for chunk in upload.chunks():
                fh.write(chunk)
        try:
            summary = callcenter_import(municipality=_municipality(user), path=path, actor=user)
        except FileRefused as refused:
            return render(request, "callcenter/index.html",
                          _index_context(request, refused=refused.errors[:200], refused_count=len(refused.errors)),
                          status=400)  # fmt: skip
        except ValidationError as exc:
            form.add_error(None, exc.messages)
            return render(
                request, "callcenter/index.html", _index_context(request, import_form=form), status=400
            )
    return render(request, "callcenter/index.html", _index_context(request, imported=summary))


@never_cache
@right_required(Right.CALLCENTER_MANAGE)
def report(request: HttpRequest) -> HttpResponse:
    """月次報告 (aggregates: no person is shown)."""
    user = staff_user(request)
    raw = request.GET.get("month", "") or contract_month()
    try:
        month = parse_month(raw)[0]
    except ValidationError as exc:
        return render(request, "callcenter/report.html", {"error": exc.messages[0], "month": printable(raw, 20)},
                      status=400)  # fmt: skip
    r = month_report(_municipality(user), month)
    months = CallExport.objects.filter(municipality=_municipality(user)).values_list("month", flat=True)
    return render(request, "callcenter/report.html", {"report": r, "month": month, "months": months,
                                                      "outcomes": CallOutcome.choices})  # fmt: skip
