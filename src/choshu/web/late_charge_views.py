"""延滞金 on the person page: the 計算基準日 (as-of date) field and the derivation of one installment's
延滞金 (延滞金計算明細), opened from its amount on 個人別収納状況照会.

The derivation is the same ``levies.selectors.amounts_due`` row the page shows, with the segments
``rules.late_charge.late_charge_as_of`` (the payment engine's rule too) returned for it: periods,
days, rate per period, base per period, each line truncated to the yen, the 100-yen and 1,000-yen
steps, and the articles.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from django import forms
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.views.decorators.cache import never_cache

from choshu.accounts.decorators import right_required, staff_user
from choshu.accounts.permissions import Right
from choshu.audit.services import audit_access
from choshu.core.forms import Form
from choshu.levies.exemptions import OPEN_END, late_charge_exemptions
from choshu.levies.selectors import AmountDue, amounts_due, late_charge_result
from choshu.rules.late_charge import (
    Exemption,
    ExemptionMode,
    LateChargeResult,
    first_month_end,
    late_charge_articles,
)
from choshu.taxpayers.selectors import taxpayer_get_for_user

DERIVATION_FUNCTION = "延滞金計算明細"
EARLIEST = date(1990, 1, 1)
LATEST = date(2100, 12, 31)


class AsOfForm(Form):
    """計算基準日: the date the amounts are computed as of (GET ``as_of``, YYYY-MM-DD)."""

    as_of = forms.DateField(
        label="計算基準日",
        required=False,
        input_formats=["%Y-%m-%d", "%Y/%m/%d"],
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"invalid": "計算基準日は 2026-06-30 のように年-月-日で入力してください。"},
    )

    def clean_as_of(self) -> date | None:
        value: date | None = self.cleaned_data.get("as_of")
        if value is not None and not (EARLIEST <= value <= LATEST):
            raise forms.ValidationError(
                f"計算基準日は {EARLIEST:%Y-%m-%d} から {LATEST:%Y-%m-%d} までの日付で入力してください。"
            )
        return value


def as_of_from_request(request: HttpRequest) -> tuple[date, AsOfForm, bool]:
    """(計算基準日, its form, whether the request's date was refused). Empty → today in Japan; a bad
    value is refused with a Japanese message and today is used."""
    today = timezone.localdate()
    raw = request.GET.get("as_of", "")
    form = AsOfForm({"as_of": raw})
    if not form.is_valid():
        return today, form, True
    chosen = form.cleaned_data["as_of"]
    if chosen is None:
        form = AsOfForm(initial={"as_of": today})
        return today, form, False
    return chosen, form, False


EXEMPTION_LABELS = {
    ExemptionMode.EXCLUDED: "全額免除（この期間は計算しない）",
    ExemptionMode.DEFERRAL_RATE: "猶予特例基準割合で計算（超える部分を免除）",
    ExemptionMode.HALF: "割合の2分の1で計算",
    ExemptionMode.FIXED_RATE: "指定の割合で計算",
    ExemptionMode.EXTENSION_RATE: "延長期間の割合で計算",
}


@dataclass(frozen=True)
class Derivation:
    """What the 延滞金計算明細 shows about one installment as of a date."""

    due: AmountDue
    result: LateChargeResult | None
    first_month_end: date
    articles: tuple[str, ...]
    exemptions: tuple[Exemption, ...] = ()

    @property
    def exemption_rows(self) -> list[tuple[date, date | None, str, str]]:
        """The 法15条の9 periods as the page lists them: (from, to or None while open, how, why)."""
        return [
            (e.start, None if e.end >= OPEN_END else e.end, EXEMPTION_LABELS[e.mode], e.reason)
            for e in self.exemptions
        ]

    @property
    def first_day(self) -> date:
        """起算日: the first day counted, the day after the base date (納期限, or 法定納期限)."""
        return self.due.late_charge_base_date + timedelta(days=1)

    @property
    def from_statutory_due_date(self) -> bool:
        return self.due.late_charge_base_date != self.due.due_date

    @property
    def below_minimum(self) -> bool:
        return self.result is not None and self.result.subtotal > 0 and self.result.late_charge == 0


@never_cache
@right_required(Right.TAXPAYER_VIEW)
def late_charge_derivation(request: HttpRequest, pk: int, installment_pk: int) -> HttpResponse:
    """延滞金計算明細 of installment ``installment_pk`` of 宛名 ``pk`` as of the GET 計算基準日.

    Logged as a view of the person. An HTMX request gets the fragment shown under the table; a normal
    request a small page. A bad date: 400 with the Japanese message (200 to HTMX, which does not swap
    error responses)."""
    user = staff_user(request)
    taxpayer = taxpayer_get_for_user(user=user, pk=pk)
    as_of, form, refused = as_of_from_request(request)
    htmx = bool(request.htmx)  # type: ignore[attr-defined]
    rows = amounts_due(taxpayer_ids=[taxpayer.pk], as_of=as_of, installment_ids=[installment_pk])
    if not rows:
        raise Http404("指定された期別は見つかりません。")
    due = rows[0]
    audit_access(
        request=request,
        function=DERIVATION_FUNCTION,
        taxpayer_ids=[taxpayer.pk],
        detail={
            "taxpayer_no": taxpayer.taxpayer_no,
            "installment_id": due.installment_id,
            "as_of": as_of.isoformat(),
        },
    )
    exemptions = late_charge_exemptions([due.installment_id]).get(due.installment_id, ())
    derivation = Derivation(
        due=due,
        result=late_charge_result(
            due.principal, due.late_charge_base_date, as_of, due.principal_payments, exemptions
        ),
        exemptions=tuple(e for e in exemptions if e.start <= as_of),
        first_month_end=first_month_end(due.late_charge_base_date),
        articles=late_charge_articles(due.tax_item),
    )
    context = {"taxpayer": taxpayer, "d": derivation, "as_of": as_of, "as_of_form": form, "refused": refused}
    template = "web/_late_charge_derivation.html" if htmx else "web/late_charge_derivation.html"
    status = 400 if refused and not htmx else 200
    response = render(request, template, context, status=status)
    patch_vary_headers(response, ["HX-Request"])
    return response
