"""滞納処分 screens (issue 19 §5): the open seizures with their next step, recording a seizure from a
case, one seizure (送達日, 取立, 解除 — each disposition a 決裁 request), its 差押調書 / 差押通知書, and the
case file's 滞納処分 section. Right ``enforcement``; the team scope of ``cases.access`` (another team's
case or seizure answers 404); every view of a person writes an access record."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils import timezone
from django.views.decorators.cache import never_cache

from choshu.accounts.decorators import right_required, staff_user
from choshu.accounts.permissions import Right, has_right
from choshu.audit.services import audit_access
from choshu.cases.access import sees_all_teams, visible_cases
from choshu.cases.models import Case
from choshu.enforcement import selectors
from choshu.enforcement.costs import cost_record
from choshu.enforcement.distribution import distribution_pdf, parse_creditors, sale_request
from choshu.enforcement.forms import CollectionForm, CostForm, ReleaseForm, SaleForm, SeizureForm, ServedForm
from choshu.enforcement.inquiries import inquiry_state
from choshu.enforcement.models import Asset, AssetKind, Claim, Inquiry, Sale, Seizure
from choshu.enforcement.pdf import NOTICE, RECORD, TITLES, seizure_document
from choshu.enforcement.services import (
    collection_request,
    seizure_release_request,
    seizure_request,
    seizure_served,
)
from choshu.formats.display import wareki, yen
from choshu.levies.models import Installment
from choshu.levies.tax_items import tax_item_name
from choshu.taxpayers.protection import ProtectedPersonRefused

PAGE = 50


def _case(request: HttpRequest, pk: int) -> Case:
    case = visible_cases(staff_user(request)).filter(pk=pk).select_related("taxpayer", "municipality").first()
    if case is None:
        raise Http404("指定された滞納案件は見つかりません（担当班の案件ではないか、存在しません）。")
    return case


def _seizure(request: HttpRequest, pk: int) -> Seizure:
    s = (
        selectors.visible_seizures(staff_user(request))
        .filter(pk=pk)
        .select_related("taxpayer", "case__municipality", "request", "release_request", "created_by")
        .first()
    )
    if s is None:
        raise Http404("指定された差押は見つかりません（担当班の案件ではないか、存在しません）。")
    return s


def _messages(exc: Exception) -> list[str]:
    return exc.messages if isinstance(exc, ValidationError) else [str(exc)]


@never_cache
@right_required(Right.ENFORCEMENT)
def seizure_list(request: HttpRequest) -> HttpResponse:
    """差押中・決裁待ちの差押 and the next step of each (oldest first)."""
    user = staff_user(request)
    qs = selectors.open_seizures(user)
    step, kind, team = request.GET.get("step", ""), request.GET.get("kind", ""), request.GET.get("team", "")
    # unknown filters show everything and are never written to the audit log (a NUL would not be stored)
    step = step if step in selectors.STEPS else ""
    kind = kind if kind in AssetKind.values else ""
    qs = selectors.filter_step(qs, step)
    if kind:
        qs = qs.filter(kind=kind)
    teams: list[str] = []
    if sees_all_teams(user):
        teams = sorted(set(visible_cases(user).exclude(team="").values_list("team", flat=True).distinct()))
        if team:  # a team with no case lists nothing
            qs = qs.filter(case__team=team) if team in teams else qs.none()
    else:
        team = ""
    team = team.replace("\x00", "")
    page = Paginator(qs, PAGE).get_page(request.GET.get("page"))
    rows = selectors.seizure_rows(list(page.object_list))
    filters = {"step": step, "kind": kind, "team": team}
    audit_access(request=request, function="差押の一覧", taxpayer_ids=sorted({r.seizure.taxpayer_id for r in rows}),
                 detail={"page": page.number, **filters})  # fmt: skip
    query = urlencode({k: v for k, v in filters.items() if v})
    return render(request, "enforcement/seizures.html", {
        "page": page, "rows": rows, "steps": selectors.STEPS, "kinds": AssetKind.choices, "teams": teams,
        "query": query, **filters,
    })  # fmt: skip


def _installment_choices(case: Case) -> list[tuple[str, str]]:
    rows = (
        Installment.objects.filter(taxpayer_id=case.taxpayer_id, principal_outstanding__gt=0)
        .select_related("levy")
        .order_by("due_date", "pk")
    )
    return [
        (
            str(i.pk),
            f"{i.levy.levy_year}年度 {tax_item_name(case.municipality_id, i.levy.tax_item)} 第{i.installment_no}期"
            f"（納期限 {wareki(i.due_date)}・本税 {yen(i.principal_outstanding)}円）",
        )
        for i in rows
    ]


@never_cache
@right_required(Right.ENFORCEMENT)
def seizure_new(request: HttpRequest, case_pk: int) -> HttpResponse:
    """GET: the form. POST: the seizure as a 決裁 request (nothing takes effect before approval)."""
    user = staff_user(request)
    case = _case(request, case_pk)
    audit_access(
        request=request, function="差押の起案", taxpayer_ids=[case.taxpayer_id], detail={"case": case.pk}
    )
    choices = _installment_choices(case)
    context: dict[str, Any] = {"case": case, "tp": case.taxpayer}
    if request.method != "POST":
        context["form"] = SeizureForm(
            installment_choices=choices, initial={"executed_on": timezone.localdate()}
        )
        return render(request, "enforcement/seizure_form.html", context)
    form = context["form"] = SeizureForm(request.POST, installment_choices=choices)
    if not form.is_valid():
        return render(request, "enforcement/seizure_form.html", context, status=400)
    salary = form.salary()
    if form.errors:
        return render(request, "enforcement/seizure_form.html", context, status=400)
    d = form.cleaned_data
    try:
        seizure = seizure_request(
            actor=user, case=case, kind=d["kind"], description=d["description"],
            installment_ids=[int(x) for x in d["installments"]], executed_on=d["executed_on"], amount=d["amount"],
            note=d["note"], third_party_name=d["third_party_name"], third_party_address=d["third_party_address"],
            salary=salary,
        )  # fmt: skip
    except (ValidationError, PermissionDenied) as exc:
        form.add_error(None, _messages(exc))
        return render(request, "enforcement/seizure_form.html", context, status=400)
    context["seizure"] = seizure
    context["form"] = SeizureForm(installment_choices=choices, initial={"executed_on": timezone.localdate()})
    return render(request, "enforcement/seizure_form.html", context)


@never_cache
@right_required(Right.ENFORCEMENT)
def seizure_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One seizure; POST ``action`` = served | collect | release."""
    user = staff_user(request)
    s = _seizure(request, pk)
    audit_access(
        request=request, function="差押の照会", taxpayer_ids=[s.taxpayer_id], detail={"seizure": s.pk}
    )
    context: dict[str, Any] = {
        "s": s, "served_form": ServedForm(), "collection_form": CollectionForm(), "release_form": ReleaseForm(),
        "cost_form": CostForm(), "sale_form": SaleForm(),
    }  # fmt: skip
    status = 200
    if request.method == "POST":
        action = request.POST.get("action")
        today = timezone.localdate()
        try:
            if action == "served":
                form: Any = ServedForm(request.POST)
                context["served_form"] = form
                if form.is_valid():
                    seizure_served(
                        actor=user, seizure=s, served_on=form.cleaned_data["served_on"], today=today
                    )
                    context["done"] = "送達日を記録しました。"
            elif action == "collect":
                form = context["collection_form"] = CollectionForm(request.POST)
                if form.is_valid():
                    c = collection_request(actor=user, seizure=s, **form.cleaned_data)
                    context["done"] = f"取立の収納を決裁に申請しました（申請番号 {c.request_id}）。"
            elif action == "release":
                form = context["release_form"] = ReleaseForm(request.POST)
                if form.is_valid():
                    r = seizure_release_request(
                        actor=user,
                        seizure=s,
                        on=form.cleaned_data["released_on"],
                        reason=form.cleaned_data["reason"],
                    )
                    context["done"] = f"差押の解除を決裁に申請しました（申請番号 {r.release_request_id}）。"
            elif action == "cost":
                form = context["cost_form"] = CostForm(request.POST)
                if form.is_valid():
                    cost = cost_record(actor=user, seizure=s, today=today, **form.cleaned_data)
                    context["done"] = f"滞納処分費 {cost.amount:,}円 を記録しました。"
            elif action == "sale":
                form = context["sale_form"] = SaleForm(request.POST)
                if form.is_valid():
                    d = dict(form.cleaned_data)
                    others = parse_creditors(d.pop("others"))
                    sale = sale_request(actor=user, seizure=s, others=others, **d)
                    context["done"] = (
                        f"換価・配当を決裁に申請しました（申請番号 {sale.request_id}、当方への配当 {sale.ours:,}円）。"
                    )
            else:
                context["error"] = "操作を選んでください（送達日・取立・解除・滞納処分費・換価）。"
        except (ValidationError, PermissionDenied) as exc:
            context["error"] = " ".join(_messages(exc))
        if "done" not in context:
            status = 400
        s = _seizure(request, pk)
        context["s"] = s
    context["row"] = selectors.seizure_rows([s])[0]
    context["installments"] = list(s.installments.select_related("levy").order_by("due_date", "pk"))
    context["collections"] = list(s.collections.order_by("received_on", "pk"))
    context["costs"] = list(s.costs.order_by("incurred_on", "pk"))
    context["sales"] = list(s.sales.order_by("pk"))
    return render(request, "enforcement/seizure_detail.html", context, status=status)


def _seizure_pdf(request: HttpRequest, pk: int, document: str) -> HttpResponse:
    """差押調書 (``record``) or 差押通知書・差押書 (``notice``) of an approved seizure."""
    s = _seizure(request, pk)
    if s.status == "pending":
        return render(request, "enforcement/refused.html",
                      {"s": s, "message": "決裁で承認される前の差押の書類は作成できません。"}, status=409)  # fmt: skip
    today = timezone.localdate()
    try:
        body = seizure_document(s, document, on=today)
    except ProtectedPersonRefused as exc:
        audit_access(request=request, function=f"{TITLES[document]}の作成（支援措置のため拒否）",
                     taxpayer_ids=[s.taxpayer_id], detail={"seizure": s.pk})  # fmt: skip
        return render(
            request, "enforcement/refused.html", {"s": s, "message": " ".join(exc.messages)}, status=409
        )
    audit_access(request=request, function=f"{TITLES[document]}の作成", taxpayer_ids=[s.taxpayer_id],
                 detail={"seizure": s.pk, "document": document}, shows_address=True)  # fmt: skip
    response = HttpResponse(body, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="seizure-{s.pk}-{document}.pdf"'
    return response


@never_cache
@right_required(Right.ENFORCEMENT)
def seizure_record_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    return _seizure_pdf(request, pk, RECORD)


@never_cache
@right_required(Right.ENFORCEMENT)
def seizure_notice_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    return _seizure_pdf(request, pk, NOTICE)


def case_section(request: HttpRequest, case: Case) -> str:
    """The case file's 滞納処分 section (registered with ``core.casefile``)."""
    user = staff_user(request)
    if not has_right(user, Right.ENFORCEMENT):
        return ""
    seizures = list(
        Seizure.objects.filter(case__taxpayer_id=case.taxpayer_id, municipality_id=case.municipality_id)
        .select_related("request", "release_request")
        .order_by("-executed_on", "-pk")[:50]
    )
    today = timezone.localdate()
    assets = list(
        Asset.objects.filter(municipality_id=case.municipality_id, taxpayer_id=case.taxpayer_id).order_by(
            "-as_of", "-pk"
        )[:50]
    )
    inquiries = [
        (i, inquiry_state(i, today))
        for i in Inquiry.objects.filter(municipality_id=case.municipality_id, taxpayer_id=case.taxpayer_id)
        .select_related("batch")
        .order_by("-sent_on", "-pk")[:50]
    ]
    claims = list(
        Claim.objects.filter(municipality_id=case.municipality_id, taxpayer_id=case.taxpayer_id).order_by(
            "-claimed_on", "-pk"
        )[:50]
    )
    return render_to_string(
        "enforcement/_case_section.html",
        {
            "case": case,
            "rows": selectors.seizure_rows(seizures),
            "assets": assets,
            "inquiries": inquiries,
            "claims": claims,
        },
        request=request,
    )


@never_cache
@right_required(Right.ENFORCEMENT)
def sale_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    """配当計算書 (国税徴収法131条) of a sale; no address of anyone is printed."""
    sale = (
        Sale.objects.filter(pk=pk, seizure__in=selectors.visible_seizures(staff_user(request)))
        .select_related("seizure__taxpayer", "seizure__case__municipality")
        .first()
    )
    if sale is None:
        raise Http404("指定された換価は見つかりません（担当班の案件ではないか、存在しません）。")
    body = distribution_pdf(sale, on=timezone.localdate())
    audit_access(request=request, function="配当計算書の作成", taxpayer_ids=[sale.seizure.taxpayer_id],
                 detail={"sale": sale.pk})  # fmt: skip
    response = HttpResponse(body, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="distribution-{sale.pk}.pdf"'
    return response
