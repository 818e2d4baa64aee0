"""時効・不納欠損 screens (issue 18 §7, §8): the claims extinguishing soon (personal data: access-logged)
and the year-end write-off list per tax item and reason (totals only) with its CSV."""

from __future__ import annotations

from datetime import date

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache

from choshu.accounts.decorators import right_required, staff_user
from choshu.accounts.permissions import Right
from choshu.audit.models import AuditKind
from choshu.audit.services import audit_access, audit_record
from choshu.levies.tax_items import tax_item_name
from choshu.relief.models import PrescriptionWatch, WriteOffBatch
from choshu.relief.selectors import watch_list
from choshu.relief.write_off import year_end_csv, year_end_rows
from choshu.rules.prescription import warning_horizon

PAGE = 50


def _int_param(request: HttpRequest, name: str, default: int, low: int, high: int) -> tuple[int, str]:
    raw = request.GET.get(name, "")
    if raw == "":
        return default, ""
    try:
        value = int(raw)
    except ValueError:
        return default, f"{name} は数字で指定してください（{raw}）"
    if not low <= value <= high:
        return default, f"{name} は {low}〜{high} で指定してください（{raw}）"
    return value, ""


def _fiscal_year_now() -> int:
    today = timezone.localdate()
    return today.year if today.month >= 4 else today.year - 1


@never_cache
@right_required(Right.TAXPAYER_VIEW)
def prescription_list(request: HttpRequest) -> HttpResponse:
    """時効が近い徴収金: the latest prescription run's warnings, within ``months`` months of today."""
    user = staff_user(request)
    assert user.municipality is not None
    months, error = _int_param(request, "months", 6, 0, 60)
    until = warning_horizon(timezone.localdate(), months=months)
    qs = watch_list(user.municipality, until=until)
    page = Paginator(qs, PAGE).get_page(request.GET.get("page"))
    rows: list[PrescriptionWatch] = list(page.object_list)
    audit_access(
        request=request,
        function="時効が近い徴収金の一覧",
        taxpayer_ids=sorted({r.taxpayer_id for r in rows}),
        detail={"months": months, "page": page.number},
    )
    last = PrescriptionWatch.objects.filter(municipality=user.municipality).order_by("-run_as_of").first()
    m = user.municipality.pk
    context = {
        "page": page,
        "rows": [(r, tax_item_name(m, r.installment.levy.tax_item)) for r in rows],
        "months": months,
        "until": until,
        "error": error,
        "run_as_of": last.run_as_of if last else None,
    }
    return render(request, "relief/prescriptions.html", context, status=400 if error else 200)


@never_cache
@right_required(Right.WRITE_OFF)
def write_off_list(request: HttpRequest) -> HttpResponse:
    """不納欠損の決算一覧: booked write-offs of a fiscal year per tax item and reason, with totals."""
    user = staff_user(request)
    assert user.municipality is not None
    fiscal_year, error = _int_param(request, "year", _fiscal_year_now(), 2000, 2100)
    rows, totals = year_end_rows(user.municipality, fiscal_year)
    batches = WriteOffBatch.objects.filter(municipality=user.municipality, fiscal_year=fiscal_year).order_by(
        "-pk"
    )
    context = {
        "fiscal_year": fiscal_year,
        "rows": rows,
        "totals": totals,
        "batches": batches,
        "error": error,
        "period": (date(fiscal_year, 4, 1), date(fiscal_year + 1, 3, 31)),
    }
    return render(request, "relief/write_offs.html", context, status=400 if error else 200)


@never_cache
@right_required(Right.WRITE_OFF)
def write_off_csv(request: HttpRequest) -> HttpResponse:
    """The same list as CP932 CSV (totals only: no personal data), its export recorded."""
    user = staff_user(request)
    assert user.municipality is not None
    fiscal_year, error = _int_param(request, "year", _fiscal_year_now(), 2000, 2100)
    if error:
        return HttpResponse(error, status=400, content_type="text/plain; charset=utf-8")
    body = year_end_csv(user.municipality, fiscal_year)
    audit_record(
        kind=AuditKind.EXPORT,
        function="不納欠損の決算一覧（CSV）",
        municipality=user.municipality,
        user=user,
        request=request,
        detail={"fiscal_year": fiscal_year},
    )
    response = HttpResponse(body, content_type="text/csv; charset=cp932")
    response["Content-Disposition"] = f'attachment; filename="write-off-{fiscal_year}.csv"'
    return response
