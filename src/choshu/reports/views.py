"""決算 and 納税証明書 screens (issue 21). The settlement shows totals only (no person): its exports
are recorded as exports; every certificate screen of a person is access-logged, every issue
change-logged (``certificates.issue_certificate``)."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache

from choshu.accounts.decorators import right_required, staff_user
from choshu.accounts.permissions import Right
from choshu.audit.models import AuditKind
from choshu.audit.services import audit_access, audit_record
from choshu.levies.models import TaxItem
from choshu.reports.certificates import MAX_YEARS, fee_on, render_pdf, status_lines, verify
from choshu.reports.certificates import issue_certificate as issue
from choshu.reports.charts import age_svg, channel_svg, collection_rate_svg, data_url
from choshu.reports.exports import (
    monthly_statement_csv,
    monthly_statement_xlsx,
    settlement_csv,
    settlement_xlsx,
)
from choshu.reports.fiscal import fiscal_year_of
from choshu.reports.forms import CertificateForm, VerifyForm
from choshu.reports.settlement import MAX_YEAR, MIN_YEAR, settlement
from choshu.reports.statistics import SUPPRESSED, monthly_statement, parse_month, statistics
from choshu.taxpayers.protection import banner
from choshu.taxpayers.selectors import taxpayer_get_for_user

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _year(request: HttpRequest) -> tuple[int, str]:
    default = fiscal_year_of(timezone.localdate())
    raw = request.GET.get("year", "")
    if raw == "":
        return default, ""
    if not raw.isascii() or not raw.isdigit() or not MIN_YEAR <= int(raw) <= MAX_YEAR:
        return default, f"会計年度は西暦の4桁（{MIN_YEAR}〜{MAX_YEAR}）で指定してください（{raw[:20]}）"
    return int(raw), ""


@never_cache
@right_required(Right.REPORTS_VIEW)
def settlement_page(request: HttpRequest) -> HttpResponse:
    """決算: the year's figures per tax item, 現年/滞納繰越, with the identity check shown."""
    user = staff_user(request)
    assert user.municipality is not None
    year, error = _year(request)
    s = settlement(user.municipality, year)
    context = {"s": s, "error": error, "fiscal_year": year}
    return render(request, "reports/settlement.html", context, status=400 if error else 200)


def _export(request: HttpRequest, fmt: str) -> HttpResponse:
    user = staff_user(request)
    assert user.municipality is not None
    year, error = _year(request)
    if error:
        return HttpResponse(error, status=400, content_type="text/plain; charset=utf-8")
    s = settlement(user.municipality, year)
    body = settlement_csv(s) if fmt == "csv" else settlement_xlsx(s)
    return _download(request, body, fmt, "決算の出力", {"fiscal_year": year}, f"settlement-{year}")


def _download(
    request: HttpRequest, body: bytes, fmt: str, function: str, detail: dict[str, Any], stem: str
) -> HttpResponse:
    """An export of the reports (CSV in CP932 or XLSX) as a download, its export audited."""
    user = staff_user(request)
    audit_record(
        kind=AuditKind.EXPORT, function=function, municipality=user.municipality, user=user, request=request,
        detail={**detail, "format": fmt},
    )  # fmt: skip
    response = HttpResponse(body, content_type="text/csv; charset=cp932" if fmt == "csv" else XLSX)
    response["Content-Disposition"] = f'attachment; filename="{stem}.{fmt}"'
    return response


@never_cache
@right_required(Right.REPORTS_VIEW)
def settlement_csv_view(request: HttpRequest) -> HttpResponse:
    return _export(request, "csv")


@never_cache
@right_required(Right.REPORTS_VIEW)
def settlement_xlsx_view(request: HttpRequest) -> HttpResponse:
    return _export(request, "xlsx")


def _month(request: HttpRequest) -> tuple[date, str]:
    today = timezone.localdate()
    raw = request.GET.get("month", "")
    if raw == "":
        return today.replace(day=1), ""
    try:
        return parse_month(raw, today), ""
    except ValidationError as exc:
        return today.replace(day=1), exc.messages[0]


@never_cache
@right_required(Right.REPORTS_VIEW)
def statistics_page(request: HttpRequest) -> HttpResponse:
    """月次統計: aggregates only (cells under the minimum number of persons 秘匿), with SVG charts."""
    user = staff_user(request)
    assert user.municipality is not None
    month, error = _month(request)
    s = statistics(user.municipality, month)
    audit_record(
        kind=AuditKind.ACCESS, function="月次統計の表示", municipality=user.municipality, user=user, request=request,
        detail={"month": f"{month:%Y-%m}"},
    )  # fmt: skip
    charts = [
        ("収納率（累計）の推移（前年度同月との比較）", data_url(collection_rate_svg(s))),
        ("収納経路別の収入額", data_url(channel_svg(s))),
        ("経過年数別の滞納額", data_url(age_svg(s))),
    ]
    context = {"s": s, "error": error, "month": f"{month:%Y-%m}", "charts": charts, "mark": SUPPRESSED}
    return render(request, "reports/statistics.html", context, status=400 if error else 200)


@never_cache
@right_required(Right.REPORTS_VIEW)
def monthly_statement_page(request: HttpRequest) -> HttpResponse:
    """月計表: the month's movements and the cumulative figures per tax item, the identity shown."""
    user = staff_user(request)
    assert user.municipality is not None
    month, error = _month(request)
    st = monthly_statement(user.municipality, month)
    audit_record(
        kind=AuditKind.ACCESS, function="月計表の表示", municipality=user.municipality, user=user, request=request,
        detail={"month": f"{month:%Y-%m}"},
    )  # fmt: skip
    context = {"st": st, "error": error, "month": f"{month:%Y-%m}"}
    return render(request, "reports/monthly_statement.html", context, status=400 if error else 200)


def _statement_export(request: HttpRequest, fmt: str) -> HttpResponse:
    user = staff_user(request)
    assert user.municipality is not None
    month, error = _month(request)
    if error:
        return HttpResponse(error, status=400, content_type="text/plain; charset=utf-8")
    st = monthly_statement(user.municipality, month)
    body = monthly_statement_csv(st) if fmt == "csv" else monthly_statement_xlsx(st)
    return _download(
        request, body, fmt, "月計表の出力", {"month": f"{month:%Y-%m}"}, f"monthly-statement-{month:%Y-%m}"
    )


@never_cache
@right_required(Right.REPORTS_VIEW)
def monthly_statement_csv_view(request: HttpRequest) -> HttpResponse:
    return _statement_export(request, "csv")


@never_cache
@right_required(Right.REPORTS_VIEW)
def monthly_statement_xlsx_view(request: HttpRequest) -> HttpResponse:
    return _statement_export(request, "xlsx")


@never_cache
@right_required(Right.CERTIFICATE_ISSUE)
def certificate_issue(request: HttpRequest, pk: int) -> HttpResponse:
    """納税証明書の発行: GET the form with the person's status; POST issues and returns the PDF."""
    user = staff_user(request)
    assert user.municipality is not None
    taxpayer = taxpayer_get_for_user(user=user, pk=pk, right=Right.CERTIFICATE_ISSUE)
    today = timezone.localdate()
    items = [(t.code, t.name) for t in TaxItem.objects.filter(municipality=user.municipality, is_active=True)]
    this_year = fiscal_year_of(today)
    form = CertificateForm(
        request.POST or None, items=items, initial={"first_year": this_year, "kind": "payment"}
    )
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            d = form.cleaned_data
            last = d["last_year"] or d["first_year"]
            try:
                cert = issue(
                    actor=user, taxpayer=taxpayer, kind=d["kind"], years=list(range(d["first_year"], last + 1)),
                    on=today, purpose=d["purpose"], tax_items=d["tax_items"] or None, vehicle_no=d["vehicle_no"],
                )  # fmt: skip
            except ValidationError as exc:
                for message in exc.messages:
                    form.add_error(None, message)
            else:
                response = HttpResponse(render_pdf(cert), content_type="application/pdf")
                response["Content-Disposition"] = f'attachment; filename="certificate-{cert.number}.pdf"'
                return response
    audit_access(
        request=request, function="納税証明書の発行画面", taxpayer_ids=[taxpayer.pk],
        detail={"taxpayer_no": taxpayer.taxpayer_no},
    )  # fmt: skip
    fee, fee_source = fee_on(user.municipality, today)
    context = {
        "taxpayer": taxpayer,
        "form": form,
        "banner": banner(taxpayer, today, user),
        "lines": status_lines(taxpayer, list(range(this_year - MAX_YEARS + 1, this_year + 1)), None, today),
        "fee": fee,
        "fee_source": fee_source,
        "max_years": MAX_YEARS,
    }
    return render(request, "reports/certificate.html", context, status=status)


@never_cache
@right_required(Right.CERTIFICATE_ISSUE)
def certificate_verify(request: HttpRequest) -> HttpResponse:
    """証明書の照合: number + code → what was certified, or 「一致しません」."""
    user = staff_user(request)
    assert user.municipality is not None
    form = VerifyForm(request.POST or None)
    result, status, checked = None, 200, False
    if request.method == "POST":
        if form.is_valid():
            checked = True
            result = verify(user.municipality, form.cleaned_data["number"], form.cleaned_data["code"])
            audit_record(
                kind=AuditKind.ACCESS, function="納税証明書の照合", municipality=user.municipality, user=user,
                request=request, subject_ids=[result.taxpayer_id] if result else [],
                subject_type="taxpayer" if result else "",
                detail={"certificate_no": form.cleaned_data["number"], "verified": result is not None},
            )  # fmt: skip
        else:
            status = 400
    return render(
        request, "reports/verify.html", {"form": form, "result": result, "checked": checked}, status=status
    )
