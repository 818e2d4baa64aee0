"""収納の画面: 日計表, 未消込の処理, 窓口収納と領収証書, 収納の照会と取消.

Views only parse the request, fetch within the user's municipality, call one service and render.
Every page that shows a person's data writes the access log first; every file handed out (日計表 CSV,
領収証書 PDF) writes an EXPORT record with its SHA-256. A payment or suspense item of another
municipality is "not found" (404), never "forbidden".
"""

from __future__ import annotations

import hashlib
import secrets
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Count, Q, QuerySet, Sum
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from choshu.accounts.decorators import right_required, staff_user
from choshu.accounts.models import User
from choshu.accounts.permissions import Right, has_right
from choshu.approvals.models import ApprovalStatus, ChangeRequest, RequestKind
from choshu.audit.models import AuditKind, AuditSubjectType
from choshu.audit.services import audit_access, audit_record
from choshu.core.forms import date_in_range
from choshu.core.models import Municipality
from choshu.formats.display import wareki, yen
from choshu.levies.models import (
    Account,
    Component,
    Installment,
    LedgerEntry,
    TxnKind,
)
from choshu.levies.tax_items import tax_item_name
from choshu.receipts.forms import (
    MAX_SLIPS,
    CandidateSearchForm,
    CashierCloseForm,
    CounterReceiptForm,
    DailyDateForm,
    ReversalForm,
    SlipLookupForm,
    SuspenseAssignForm,
    SuspenseFilterForm,
    SuspenseRefundForm,
    split_slip_nos,
)
from choshu.receipts.models import (
    CashierDay,
    Channel,
    CounterReceipt,
    Payment,
    PaymentSlip,
    PaymentStatus,
    SuspenseItem,
    SuspenseStatus,
)
from choshu.receipts.receipt_pdf import ReceiptData, ReceiptLine, render_receipt
from choshu.receipts.selectors import YEAR_CLASS, DailyRow, daily_totals, daily_totals_csv
from choshu.receipts.services import (
    cashier_day_close,
    cashier_day_totals,
    cashier_open_day,
    counter_backdated_request,
    counter_receipt_record,
    owed_amounts,
    payment_reverse_request,
    pending_reversal,
    suspense_assign_request,
    suspense_mark_refund,
)
from choshu.receipts.slips import SlipView, slip_targets, taxpayer_slips
from choshu.taxpayers.models import Taxpayer
from choshu.taxpayers.selectors import SearchQuery, taxpayer_get_for_user, taxpayer_search

DAILY_EXPORT_FUNCTION = "日計表出力"
CANDIDATES_FUNCTION = "未消込の充当先候補照会"
COUNTER_LOOKUP_FUNCTION = "窓口収納（納付書照会）"
COUNTER_RESULT_FUNCTION = "窓口収納（結果照会）"
PAYMENT_FUNCTION = "収納の照会"
RECEIPT_FUNCTION = "領収証書出力"
PAGE_SIZE = 50
CANDIDATE_LIMIT = 20
COUNTER_TOKENS = "choshu_counter_tokens"  # session: form token → payment id (a double submit is one receipt)
CSV_ENCODINGS = {
    "cp932": ("cp932", "text/csv; charset=Shift_JIS"),
    "utf-8": ("utf-8", "text/csv; charset=utf-8"),
}


def _municipality(user: User) -> Municipality:
    """The user's municipality (``right_required`` already refused a user without one)."""
    if user.municipality is None:
        raise PermissionDenied("自治体に属さない利用者はこの画面を利用できません。")
    return user.municipality


def _refusal(exc: ValidationError | PermissionDenied) -> str:
    if isinstance(exc, ValidationError):
        return " ".join(exc.messages)
    return str(exc) or "この操作は許可されていません。"


# ---------------------------------------------------------------------------------------------------
# 日計表
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChannelGroup:
    """The rows of one 収納経路 (each with its 現年・滞繰 label) and their subtotal."""

    channel_name: str
    rows: list[tuple[DailyRow, str]]
    count: int
    amount: int
    amount_posted: int
    amount_suspense: int


def _by_channel(rows: list[DailyRow]) -> list[ChannelGroup]:
    groups: dict[str, list[DailyRow]] = defaultdict(list)
    for row in rows:
        groups[row.channel_name].append(row)
    return [
        ChannelGroup(
            channel_name=name,
            rows=[(r, YEAR_CLASS[r.year_class]) for r in lines],
            count=sum(r.count for r in lines),
            amount=sum(r.amount for r in lines),
            amount_posted=sum(r.amount_posted for r in lines),
            amount_suspense=sum(r.amount_suspense for r in lines),
        )
        for name, lines in groups.items()
    ]


@never_cache
@right_required(Right.DAILY_TOTAL)
def daily(request: HttpRequest) -> HttpResponse:
    """日計表: per channel × tax item × 現年/滞繰, what was booked on the day (no personal data)."""
    form = DailyDateForm(request.GET or None)
    day = form.day()
    municipality = _municipality(staff_user(request))
    totals = daily_totals(municipality=municipality, booked_on=day)
    groups = _by_channel(totals.rows)
    closes = list(
        CashierDay.objects.filter(municipality=municipality, day=day).select_related("cashier").order_by("pk")
    )
    counter_amount = sum(g.amount for g in groups if g.channel_name == Channel.COUNTER.label)
    closes_amount = sum(c.amount for c in closes)
    context = {
        "closes": closes,
        "closes_receipts": sum(c.receipts for c in closes),
        "closes_amount": closes_amount,
        "counter_amount": counter_amount,
        "counter_agrees": counter_amount == closes_amount,
        "form": form,
        "day": day,
        "previous": day - timedelta(days=1),
        "next": day + timedelta(days=1),
        "is_today": day >= timezone.localdate(),
        "totals": totals,
        "groups": groups,
    }
    return render(request, "receipts/daily.html", context)


@never_cache
@right_required(Right.DAILY_TOTAL)
def daily_csv(request: HttpRequest) -> HttpResponse:
    """日計表 CSV (CP932 for Excel by default; ``?encoding=utf-8`` gives UTF-8 with BOM), logged."""
    user = staff_user(request)
    day = DailyDateForm(request.GET or None).day()
    encoding, content_type = CSV_ENCODINGS.get(
        request.GET.get("encoding", "cp932").lower(), CSV_ENCODINGS["cp932"]
    )
    totals = daily_totals(municipality=_municipality(user), booked_on=day)
    data = daily_totals_csv(totals, encoding=encoding)
    name = f"nikkei-{day.isoformat()}.csv"
    audit_record(
        kind=AuditKind.EXPORT,
        function=DAILY_EXPORT_FUNCTION,
        municipality=user.municipality,
        user=user,
        request=request,
        detail={
            "date": day.isoformat(),
            "rows": len(totals.rows),
            "encoding": encoding,
            "file": name,
            "sha256": hashlib.sha256(data).hexdigest(),
        },
    )
    response = HttpResponse(data, content_type=content_type)
    response["Content-Disposition"] = content_disposition_header(True, name) or "attachment"
    return response


# ---------------------------------------------------------------------------------------------------
# 未消込
# ---------------------------------------------------------------------------------------------------


def _suspense_items(user: User) -> QuerySet[SuspenseItem]:
    return SuspenseItem.objects.filter(municipality=_municipality(user)).select_related("payment")


def _suspense_for_user(user: User, pk: int) -> SuspenseItem:
    item = _suspense_items(user).select_related("resolved_by").filter(pk=pk).first()
    if item is None:
        raise Http404("指定された未消込は見つかりません。")
    return item


@never_cache
@right_required(Right.SUSPENSE_WORK)
def suspense_list(request: HttpRequest) -> HttpResponse:
    """未消込一覧: oldest first for 未処理 (the order to work them), newest first otherwise."""
    user = staff_user(request)
    form = SuspenseFilterForm(request.GET or None)
    status = form.status_value()
    items = _suspense_items(user)
    counts = dict(items.order_by().values_list("status").annotate(n=Count("pk")))
    shown = items if status == SuspenseFilterForm.ALL else items.filter(status=status)
    order = ("created_at", "pk") if status == SuspenseStatus.OPEN else ("-created_at", "-pk")
    page = Paginator(shown.order_by(*order), PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "status": status,
        "all_value": SuspenseFilterForm.ALL,
        "showing_all": status == SuspenseFilterForm.ALL,
        "showing_open": status == SuspenseStatus.OPEN,
        "filters": [(value, label, counts.get(value, 0)) for value, label in SuspenseStatus.choices],
        "total": sum(counts.values()),
        "amount_open": items.filter(status=SuspenseStatus.OPEN).aggregate(total=Sum("amount"))["total"] or 0,
    }
    return render(request, "receipts/suspense_list.html", context)


@dataclass
class Candidate:
    """A person who may have meant to pay this: their slips that match the search."""

    taxpayer: Taxpayer
    slips: list[tuple[SlipView, str]] = field(default_factory=list)  # with the tax item's name


def _slip_matches(slip: SlipView, prefix: str, amount: int | None) -> bool:
    if prefix and not slip.slip_no.startswith(prefix):
        return False
    return amount is None or amount in (slip.amount, slip.outstanding)


def _candidate_ids(user: User, municipality: Municipality, cleaned: dict[str, Any]) -> list[int]:
    """Taxpayers to look at: by kana through the 宛名検索, else by slip number prefix or amount.

    (A read like this belongs in ``receipts/selectors.py``; it lives here until that module grows one.)
    """
    probe = CANDIDATE_LIMIT + 1  # one more than shown tells "there are more"
    if cleaned["kana"]:
        return taxpayer_search(user=user, query=SearchQuery(kana=cleaned["kana"]), limit=CANDIDATE_LIMIT).ids
    if not has_right(user, Right.TAXPAYER_SEARCH):
        raise PermissionDenied("宛名検索の権限がありません。")
    installments = Installment.objects.filter(municipality=municipality).exclude(slip_no=None)
    combined = PaymentSlip.objects.filter(municipality=municipality, cancelled_on=None)
    if cleaned["slip_prefix"]:
        installments = installments.filter(slip_no__startswith=cleaned["slip_prefix"])
        combined = combined.filter(slip_no__startswith=cleaned["slip_prefix"])
    if cleaned["amount"]:
        amount = cleaned["amount"]
        installments = installments.filter(Q(principal_levied=amount) | Q(principal_outstanding=amount))
        combined = combined.filter(amount=amount)
    ids = list(installments.order_by("taxpayer_id").values_list("taxpayer_id", flat=True).distinct()[:probe])
    ids += list(combined.order_by("taxpayer_id").values_list("taxpayer_id", flat=True).distinct()[:probe])
    return list(dict.fromkeys(ids))


def _candidates(user: User, cleaned: dict[str, Any]) -> tuple[list[Candidate], bool]:
    """Candidates (at most ``CANDIDATE_LIMIT``) with their matching slips; True when there were more."""
    municipality = _municipality(user)
    ids = _candidate_ids(user, municipality, cleaned)
    people = Taxpayer.objects.filter(municipality=municipality, pk__in=ids).defer("my_number_enc")
    found = []
    for person in people.order_by("search_kana", "taxpayer_no"):
        slips = [
            (s, tax_item_name(municipality.pk, s.tax_item))
            for s in taxpayer_slips(municipality, person.pk)
            if _slip_matches(s, cleaned["slip_prefix"], cleaned["amount"])
        ]
        if slips:
            found.append(Candidate(taxpayer=person, slips=slips))
    return found[:CANDIDATE_LIMIT], len(found) > CANDIDATE_LIMIT or len(ids) > CANDIDATE_LIMIT


def _pending_assignments(item: SuspenseItem) -> list[ChangeRequest]:
    return list(
        ChangeRequest.objects.filter(
            municipality_id=item.municipality_id,
            kind=RequestKind.SUSPENSE_ASSIGN,
            payload__suspense_item=item.pk,
        )
        .select_related("requested_by")
        .defer("secret")
        .order_by("-requested_at")
    )


def _suspense_page(
    request: HttpRequest,
    item: SuspenseItem,
    *,
    assign_form: SuspenseAssignForm | None = None,
    refund_form: SuspenseRefundForm | None = None,
    status: int = 200,
) -> HttpResponse:
    """The item, the candidate search (logged when people are shown) and the two forms."""
    user = staff_user(request)
    search = CandidateSearchForm(request.GET if "search" in request.GET else None)
    candidates: list[Candidate] = []
    more = False
    if search.is_bound and search.is_valid():
        try:
            candidates, more = _candidates(user, search.cleaned_data)
        except PermissionDenied as exc:
            search.add_error(None, _refusal(exc))
    owner = None
    if item.payment.taxpayer_id:  # the slip was found but could not be used (確認番号・税目の不一致など)
        owner = taxpayer_get_for_user(user=user, pk=item.payment.taxpayer_id, right=Right.SUSPENSE_WORK)
    shown = [c.taxpayer.pk for c in candidates] + ([owner.pk] if owner else [])
    if shown:
        audit_access(
            request=request,
            function=CANDIDATES_FUNCTION,
            taxpayer_ids=shown,
            detail={
                "suspense_item": item.pk,
                "query": {k: v for k, v in search.cleaned_data.items() if v} if candidates else {},
            },
        )
    context = {
        "item": item,
        "payment": item.payment,
        "owner": owner,
        "search": search,
        "searched": search.is_bound,
        "candidates": candidates,
        "more": more,
        "requests": _pending_assignments(item),
        "is_open": item.status == SuspenseStatus.OPEN,
        "assign_form": assign_form or SuspenseAssignForm(initial={"slip_no": request.GET.get("slip", "")}),
        "refund_form": refund_form or SuspenseRefundForm(),
        "record": sorted((str(k), str(v)) for k, v in (item.payment.detail or {}).items()),
    }
    return render(request, "receipts/suspense_detail.html", context, status=status)


@never_cache
@right_required(Right.SUSPENSE_WORK)
def suspense_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """未消込の詳細: what arrived, who may have meant to pay it, and what to do with it."""
    return _suspense_page(request, _suspense_for_user(staff_user(request), pk))


@never_cache
@require_POST
@right_required(Right.SUSPENSE_WORK)
def suspense_assign(request: HttpRequest, pk: int) -> HttpResponse:
    """充当先の指定を申請: nothing moves until a second person approves it in 決裁."""
    user = staff_user(request)
    item = _suspense_for_user(user, pk)
    form = SuspenseAssignForm(request.POST)
    if form.is_valid():
        try:
            with (
                transaction.atomic()
            ):  # the service locks too; the lock here keeps the view's reads consistent
                locked = SuspenseItem.objects.select_for_update().select_related("payment").get(pk=item.pk)
                req = suspense_assign_request(
                    actor=user,
                    item=locked,
                    slip_no=form.cleaned_data["slip_no"],
                    reason=form.cleaned_data["reason"],
                )
        except (ValidationError, PermissionDenied) as exc:
            form.add_error(None, _refusal(exc))
        else:
            messages.success(
                request, f"充当先の指定を申請しました（申請 #{req.pk}）。決裁（承認）されると充当されます。"
            )
            return redirect("receipts:suspense-detail", pk=item.pk)
    return _suspense_page(request, item, assign_form=form, status=400)


@never_cache
@require_POST
@right_required(Right.SUSPENSE_WORK)
def suspense_refund(request: HttpRequest, pk: int) -> HttpResponse:
    """還付へ: placing the amount is given up; the refunds work pays it back."""
    user = staff_user(request)
    item = _suspense_for_user(user, pk)
    form = SuspenseRefundForm(request.POST)
    if form.is_valid():
        try:
            suspense_mark_refund(actor=user, item=item, note=form.cleaned_data["note"])
        except (ValidationError, PermissionDenied) as exc:
            form.add_error(None, _refusal(exc))
        else:
            messages.success(request, f"未消込 #{item.pk}（{item.amount:,}円）を還付へ回しました。")
            return redirect("receipts:suspense-list")
    return _suspense_page(request, item, refund_form=form, status=400)


# ---------------------------------------------------------------------------------------------------
# 窓口収納
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class InstallmentOwed:
    """One 期別 of a slip with what it owes as of the 領収日: 本税 · 延滞金 · 合計."""

    installment: Installment
    principal: int
    late_charge: int

    @property
    def total(self) -> int:
        return self.principal + self.late_charge


@dataclass(frozen=True)
class SlipInfo:
    """A slip the clerk is about to take cash for: its person, 期別 and what it owes on the 領収日."""

    slip_no: str
    taxpayer: Taxpayer
    installments: list[InstallmentOwed]
    combined: bool

    @property
    def principal(self) -> int:
        return sum(i.principal for i in self.installments)

    @property
    def late_charge(self) -> int:
        return sum(i.late_charge for i in self.installments)

    @property
    def total(self) -> int:
        return self.principal + self.late_charge

    @property
    def outstanding(self) -> int:
        return self.principal


def _slip_info(user: User, slip_no: str, paid_on: date) -> SlipInfo | None:
    target = slip_targets(_municipality(user), [slip_no]).get(slip_no)
    if target is None or target.cancelled or target.taxpayer_id is None:
        return None
    taxpayer = taxpayer_get_for_user(user=user, pk=target.taxpayer_id, right=Right.COUNTER_RECEIPT)
    owed = {o.installment_id: o for o in owed_amounts(target, paid_on=paid_on)}
    installments = (  # ``slip_targets`` gives light rows; the page shows 税目・年度・通知書番号 too
        Installment.objects.filter(municipality=taxpayer.municipality_id, pk__in=list(owed))
        .select_related("levy")
        .order_by("due_date", "pk")
    )
    return SlipInfo(
        slip_no=slip_no,
        taxpayer=taxpayer,
        installments=[
            InstallmentOwed(
                installment=i,
                principal=owed[i.pk].principal,
                late_charge=owed[i.pk].late_charge,
            )
            for i in installments
        ],
        combined=target.combined is not None,
    )


@dataclass(frozen=True)
class SlipRow:
    """A row of the 「宛名番号から選ぶ」 list: the slip and what it owes on the 領収日."""

    slip: SlipView
    principal: int
    late_charge: int

    @property
    def total(self) -> int:
        return self.principal + self.late_charge


def _lookup_slips(
    request: HttpRequest, user: User, paid_on: date
) -> tuple[SlipLookupForm, Taxpayer | None, list[SlipRow]]:
    """「宛名番号から選ぶ」: the person's slips with something outstanding, with 本税・延滞金・合計."""
    lookup = SlipLookupForm(request.GET if "taxpayer_no" in request.GET else None)
    if not (lookup.is_bound and lookup.is_valid()):
        return lookup, None, []
    if not has_right(user, Right.TAXPAYER_SEARCH):
        lookup.add_error(None, "宛名番号から探すには宛名検索の権限が必要です。納付番号を入力してください。")
        return lookup, None, []
    found = taxpayer_search(
        user=user, query=SearchQuery(taxpayer_no=lookup.cleaned_data["taxpayer_no"]), limit=1
    )
    if not found.taxpayers:
        lookup.add_error("taxpayer_no", "この宛名番号の宛名は見つかりません。")
        return lookup, None, []
    person = found.taxpayers[0]
    slips = [s for s in taxpayer_slips(_municipality(user), person.pk) if s.outstanding > 0]
    targets = slip_targets(_municipality(user), [s.slip_no for s in slips])
    rows = []
    for s in slips:
        owed = owed_amounts(targets[s.slip_no], paid_on=paid_on)
        rows.append(
            SlipRow(
                slip=s,
                principal=sum(o.principal for o in owed),
                late_charge=sum(o.late_charge for o in owed),
            )
        )
    return lookup, person, rows


def _counter_page(
    request: HttpRequest,
    user: User,
    form: CounterReceiptForm,
    slips: list[SlipInfo],
    *,
    paid_on: date,
    slip_errors: list[str] | None = None,
    ask_overpayment: bool = False,
    status: int = 200,
) -> HttpResponse:
    lookup, person, rows = _lookup_slips(request, user, paid_on)
    shown = sorted({p.pk for p in (person, *(s.taxpayer for s in slips)) if p is not None})
    if shown:
        audit_access(
            request=request,
            function=COUNTER_LOOKUP_FUNCTION,
            taxpayer_ids=shown,
            detail={
                "slip_no": slips[0].slip_no if slips else "",
                "slip_nos": [s.slip_no for s in slips],
                "taxpayer_no": person.taxpayer_no if person else "",
            },
        )
    today = timezone.localdate()
    context = {
        "form": form,
        "slips": slips,
        "slip_errors": slip_errors or [],
        "slip_total": sum(s.total for s in slips),
        "slip_principal": sum(s.principal for s in slips),
        "slip_late_charge": sum(s.late_charge for s in slips),
        "paid_on": paid_on,
        "today": today,
        "closed_today": cashier_open_day(municipality=_municipality(user), cashier=user, on=today) != today,
        "lookup": lookup,
        "person": person,
        "rows": rows,
        "ask_overpayment": ask_overpayment or bool(form.data.get("accept_overpayment")),
        "can_lookup": has_right(user, Right.TAXPAYER_SEARCH),
    }
    return render(request, "receipts/counter.html", context, status=status)


def _query_paid_on(request: HttpRequest) -> date:
    """The 領収日 the slips are shown for (``?paid_on=``; today when missing, invalid, in the future or
    before the dates a screen takes)."""
    today = timezone.localdate()
    try:
        day = date.fromisoformat(request.GET.get("paid_on", ""))
    except ValueError:
        return today
    return day if date_in_range(day) and day <= today else today


def _slips_shown(user: User, slip_nos: list[str], paid_on: date) -> tuple[list[SlipInfo], list[str]]:
    slips, errors = [], []
    for slip_no in slip_nos:
        info = _slip_info(user, slip_no, paid_on) if len(slip_no) == 16 else None
        if info is None:
            errors.append(
                f"この納付番号の納付書はありません（または無効です）: {slip_no}。番号を確認してください。"
            )
        else:
            slips.append(info)
    return slips, errors


@never_cache
@right_required(Right.COUNTER_RECEIPT)
def counter(request: HttpRequest) -> HttpResponse:
    """窓口収納: pick the slips, check the person and amount, take the cash → result and 領収証書."""
    user = staff_user(request)
    if request.method == "POST":
        return _counter_take(request, user)
    slip_nos = list(
        dict.fromkeys(
            "".join(ch for ch in no if ch.isdigit())[:16]
            for value in request.GET.getlist("slip_no")
            for no in split_slip_nos(value)
        )
    )[:MAX_SLIPS]
    slip_nos = [no for no in slip_nos if no]
    paid_on = _query_paid_on(request)
    slips, errors = _slips_shown(user, slip_nos, paid_on)
    initial: dict[str, Any] = {
        "slip_no": "\n".join(s.slip_no for s in slips),
        "paid_on": paid_on,
        "token": secrets.token_urlsafe(16),
    }
    total = sum(s.total for s in slips)
    if total > 0:
        initial["amount"] = total
    return _counter_page(
        request, user, CounterReceiptForm(initial=initial), slips, paid_on=paid_on, slip_errors=errors
    )


def _counter_take(request: HttpRequest, user: User) -> HttpResponse:
    form = CounterReceiptForm(request.POST)
    today = timezone.localdate()
    if not form.is_valid():
        return _counter_page(request, user, form, [], paid_on=today, status=400)
    data = form.cleaned_data
    paid_on = data["paid_on"]
    token = data["token"]
    used: dict[str, int] = dict(request.session.get(COUNTER_TOKENS, {}))
    if token and token in used:  # the same form sent twice (double click, reload): one payment only
        messages.info(request, "この収納は登録済みです（二重登録はしていません）。")
        if used[token] < 0:  # a request for 決裁, not a payment
            return redirect("receipts:counter")
        return redirect("receipts:counter-result", pk=used[token])
    common = {
        "actor": user,
        "municipality": _municipality(user),
        "slip_nos": form.slip_nos(),
        "amount": data["amount"],
        "paid_on": paid_on,
        "entered_on": today,
        "note": data["note"],
        "tendered": data["tendered"],
        "overpayment_accepted": data["accept_overpayment"],
    }
    try:
        if paid_on == today:
            receipt = counter_receipt_record(**common)
        else:
            req = counter_backdated_request(**common, reason=data["backdate_reason"])
    except (ValidationError, PermissionDenied) as exc:
        form.add_error(None, _refusal(exc))
        ask = isinstance(exc, ValidationError) and any(e.code == "overpayment" for e in exc.error_list)
        slips, errors = _slips_shown(user, form.slip_nos(), paid_on)
        return _counter_page(
            request, user, form, slips, paid_on=paid_on, slip_errors=errors, ask_overpayment=ask, status=400
        )
    if paid_on != today:
        if token:
            used[token] = -req.pk
            request.session[COUNTER_TOKENS] = dict(list(used.items())[-20:])
        messages.success(
            request,
            f"領収日 {wareki(paid_on)} の収納（{yen(data['amount'])}円）の決裁を申請しました（申請 #{req.pk}）。"
            "所属長が承認すると収納され、承認日以降の締めていない日の日計に計上されます。",
        )
        return redirect("receipts:counter")
    if token:
        used[token] = receipt.payments[0]
        request.session[COUNTER_TOKENS] = dict(list(used.items())[-20:])
    change = f"、お釣り {yen(receipt.change)}円" if receipt.change else ""
    booked = (
        f"（本日は日計締め済みのため {wareki(receipt.booked_on)} の日計に計上）"
        if receipt.booked_on != receipt.paid_on
        else ""
    )
    messages.success(
        request, f"{yen(receipt.amount)}円を収納しました（領収番号 {receipt.pk}{change}）{booked}。"
    )
    return redirect("receipts:counter-result", pk=receipt.payments[0])


def _counter_payment(user: User, pk: int) -> Payment:
    """A counter payment of the user's municipality, or 404."""
    payment = (
        Payment.objects.filter(municipality=_municipality(user), channel=Channel.COUNTER, pk=pk)
        .select_related("taxpayer", "txn__actor")
        .defer("taxpayer__my_number_enc")
        .first()
    )
    if payment is None:
        raise Http404("指定された窓口収納は見つかりません。")
    return payment


@never_cache
@right_required(Right.COUNTER_RECEIPT)
def counter_result(request: HttpRequest, pk: int) -> HttpResponse:
    """窓口収納の結果: how the amount was placed, with the link to the 領収証書."""
    user = staff_user(request)
    payment = _counter_payment(user, pk)
    if payment.taxpayer_id:
        audit_access(
            request=request,
            function=COUNTER_RESULT_FUNCTION,
            taxpayer_ids=[payment.taxpayer_id],
            detail={"payment": payment.pk},
        )
    receipt = (
        CounterReceipt.objects.filter(municipality=payment.municipality_id, pk=payment.detail.get("receipt"))
        .select_related("cashier")
        .first()
    )
    others = []
    if receipt is not None and len(receipt.payments) > 1:
        for other in Payment.objects.filter(
            municipality=payment.municipality_id, pk__in=receipt.payments
        ).exclude(pk=payment.pk):
            others.append(other)
        if others:
            audit_access(
                request=request,
                function=COUNTER_RESULT_FUNCTION,
                taxpayer_ids=sorted({o.taxpayer_id for o in others if o.taxpayer_id}),
                detail={"receipt": receipt.pk, "payments": [o.pk for o in others]},
            )
    context = {
        "payment": payment,
        "receipt": receipt,
        "others": sorted(others, key=lambda o: receipt.payments.index(o.pk) if receipt else 0),
        "lines": allocation_lines(payment),
        "can_view": has_right(user, Right.TAXPAYER_VIEW),
        "receipt_ok": payment.status == PaymentStatus.POSTED,
    }
    return render(request, "receipts/counter_result.html", context)


@never_cache
@right_required(Right.COUNTER_RECEIPT)
def counter_close(request: HttpRequest) -> HttpResponse:
    """日計締め（レジ締め）: the cashier's receipts of the day, お預かり・お釣り, and the cash counted
    against them (現金照合); once closed, the cashier's receipts are booked on the next open day."""
    user = staff_user(request)
    municipality = _municipality(user)
    today = timezone.localdate()
    day = DailyDateForm(request.GET or None).day()
    day = min(day, today)
    form = CashierCloseForm(request.POST if request.method == "POST" else None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                cashier_day_close(
                    actor=user,
                    municipality=municipality,
                    day=day,
                    counted=form.cleaned_data["counted"],
                    reason=form.cleaned_data["reason"],
                    today=today,
                )
            except (ValidationError, PermissionDenied) as exc:
                form.add_error(None, _refusal(exc))
            else:
                messages.success(
                    request, f"{wareki(day)}の日計を締めました。以後の収納は翌営業日の日計に計上されます。"
                )
                return redirect(f"{reverse('receipts:counter-close')}?date={day.isoformat()}")
        status = 400
    closed = CashierDay.objects.filter(municipality=municipality, cashier=user, day=day).first()
    receipts = list(
        CounterReceipt.objects.filter(municipality=municipality, cashier=user, booked_on=day).order_by("pk")
    )
    context = {
        "day": day,
        "today": today,
        "previous": day - timedelta(days=1),
        "next": day + timedelta(days=1) if day < today else None,
        "closed": closed,
        "totals": cashier_day_totals(municipality=municipality, cashier=user, day=day),
        "receipts": receipts,
        "form": form,
        "may_view_daily": has_right(user, Right.DAILY_TOTAL),
    }
    return render(request, "receipts/counter_close.html", context, status=status)


@never_cache
@right_required(Right.COUNTER_RECEIPT)
def receipt_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    """領収証書 (PDF, IPAex Gothic embedded). Logged as an access and as an export with its hash."""
    user = staff_user(request)
    payment = _counter_payment(user, pk)
    if payment.status != PaymentStatus.POSTED or payment.taxpayer is None:
        raise Http404("取り消された収納の領収証書は発行できません。")
    taxpayer_id = payment.taxpayer.pk
    data = render_receipt(_receipt_data(payment, _municipality(user)))
    detail = {"payment": payment.pk, "sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
    with transaction.atomic():
        audit_access(request=request, function=RECEIPT_FUNCTION, taxpayer_ids=[taxpayer_id], detail=detail)
        audit_record(
            kind=AuditKind.EXPORT,
            function=RECEIPT_FUNCTION,
            municipality=user.municipality,
            user=user,
            request=request,
            subject_type=AuditSubjectType.TAXPAYER,
            subject_ids=[taxpayer_id],
            detail=detail,
        )
    response = HttpResponse(data, content_type="application/pdf")
    response["Content-Disposition"] = (
        content_disposition_header(False, f"receipt-{payment.pk}.pdf") or "inline"
    )
    return response


def _receipt_data(payment: Payment, municipality: Municipality) -> ReceiptData:
    assert payment.taxpayer is not None
    actor = payment.txn.actor if payment.txn else None
    clerk = (actor.display_name or actor.username) if actor else str(payment.detail.get("clerk", ""))
    lines = [line for line in allocation_lines(payment) if line.kind == TxnKind.PAYMENT and line.installment]
    return ReceiptData(
        # The counter's receipt number (one for every slip paid with the same cash); the payment id for
        # a payment taken before receipts had their own number.
        receipt_no=int(payment.detail.get("receipt") or payment.pk),
        municipality_name=municipality.name,
        taxpayer_no=payment.taxpayer.taxpayer_no,
        taxpayer_name=payment.taxpayer.name,
        slip_no=payment.slip_no,
        paid_on=payment.paid_on,
        total=payment.amount,
        clerk_name=clerk,
        issued_on=timezone.localdate(),
        lines=[
            ReceiptLine(
                tax_item_name=line.tax_item_name,
                levy_year=line.levy_year,
                notice_no=line.notice_no,
                installment_no=line.installment_no,
                principal=line.principal,
                late_charge=line.late_charge,
            )
            for line in lines
        ],
        overpaid=payment.overpaid,
        suspended=payment.suspended,
    )


# ---------------------------------------------------------------------------------------------------
# 収納の照会・取消
# ---------------------------------------------------------------------------------------------------


@dataclass
class AllocationLine:
    """What one ledger transaction of a payment did to one 期別 (or to 過誤納金 / 未消込), in yen.

    Amounts are as received: positive for a payment, negative on its reversal.
    """

    kind: str
    kind_name: str
    booking_date: date
    installment: Installment | None
    principal: int = 0
    late_charge: int = 0
    overpayment: int = 0
    suspense: int = 0

    @property
    def total(self) -> int:
        return self.principal + self.late_charge + self.overpayment + self.suspense

    @property
    def tax_item_name(self) -> str:
        return (
            tax_item_name(self.installment.municipality_id, self.installment.levy.tax_item)
            if self.installment
            else ""
        )

    @property
    def levy_year(self) -> int:
        return self.installment.levy.levy_year if self.installment else 0

    @property
    def notice_no(self) -> str:
        return self.installment.levy.notice_no if self.installment else ""

    @property
    def installment_no(self) -> int:
        return self.installment.installment_no if self.installment else 0


def _payment_txn_ids(payment: Payment) -> list[int]:
    """The payment's transaction, its reversal, and the 未消込充当 booked when the 決裁 its suspense item
    names (``SuspenseItem.approval``) was approved.

    The assignment's entries name the payment and the installments of the approval's person, so it is
    found through that person's installments (indexed), not through the transaction's memo.
    """
    ids = [t for t in (payment.txn_id, payment.reversal_txn_id) if t]
    person = (
        SuspenseItem.objects.filter(
            municipality_id=payment.municipality_id,
            payment=payment,
            approval__kind=RequestKind.SUSPENSE_ASSIGN,
            approval__status=ApprovalStatus.APPROVED,
        )
        .values_list("approval__taxpayer_id", flat=True)
        .first()
    )
    if person is not None:
        ids += (
            LedgerEntry.objects.filter(
                installment__taxpayer_id=person,
                payment_id=payment.pk,
                txn__municipality_id=payment.municipality_id,
                txn__kind=TxnKind.SUSPENSE_ASSIGN,
            )
            .values_list("txn_id", flat=True)
            .distinct()
        )
    return ids


def allocation_lines(payment: Payment) -> list[AllocationLine]:
    """The payment's ledger lines per transaction and 期別: 本税, 延滞金, 過誤納金 and 未消込."""
    entries = (
        LedgerEntry.objects.filter(txn_id__in=_payment_txn_ids(payment))
        # Every entry of a payment's transactions names it (LedgerEntry.payment).
        .filter(Q(payment_id=payment.pk) | Q(payment_id__isnull=True))
        .exclude(account=Account.CASH)
        .select_related("txn", "installment__levy")
        .order_by("txn__booking_date", "txn_id", "installment__due_date", "installment_id", "pk")
    )
    lines: dict[tuple[int, int | None], AllocationLine] = {}
    for e in entries:
        line = lines.setdefault(
            (e.txn_id, e.installment_id if e.account != Account.OVERPAYMENT else None),
            AllocationLine(
                kind=e.txn.kind,
                kind_name=e.txn.get_kind_display(),
                booking_date=e.txn.booking_date,
                installment=e.installment if e.account != Account.OVERPAYMENT else None,
            ),
        )
        amount = -e.amount  # credits to these accounts are money received
        if e.account == Account.RECEIVABLE and e.component == Component.PRINCIPAL:
            line.principal += amount
        elif e.account == Account.LATE_CHARGE_INCOME:
            line.late_charge += amount
        elif e.account == Account.OVERPAYMENT:
            line.overpayment += amount
        elif e.account == Account.SUSPENSE:
            line.suspense += amount
    return list(lines.values())


def _payment_for_user(user: User, pk: int) -> Payment:
    payment = (
        Payment.objects.filter(municipality=_municipality(user), pk=pk)
        .select_related("taxpayer", "txn__actor", "reversal_txn")
        .defer("taxpayer__my_number_enc")
        .first()
    )
    if payment is None:
        raise Http404("指定された収納は見つかりません。")
    return payment


def _payment_page(
    request: HttpRequest, payment: Payment, form: ReversalForm | None = None, status: int = 200
) -> HttpResponse:
    user = staff_user(request)
    audit_access(
        request=request,
        function=PAYMENT_FUNCTION,
        taxpayer_ids=[payment.taxpayer_id] if payment.taxpayer_id else [],
        detail={"payment": payment.pk},
    )
    reversible = payment.status in (PaymentStatus.POSTED, PaymentStatus.SUSPENSE)
    suspense = SuspenseItem.objects.filter(payment=payment).first()
    pending = pending_reversal(payment)
    context = {
        "payment": payment,
        "lines": allocation_lines(payment),
        "suspense": suspense,
        "pending_reversal": pending,
        "reversal_requests": ChangeRequest.objects.filter(
            municipality_id=payment.municipality_id,
            kind=RequestKind.PAYMENT_REVERSAL,
            payload__payment=payment.pk,
        )
        .select_related("requested_by", "decided_by")
        .defer("secret")
        .order_by("-requested_at"),
        "may_reverse": reversible and pending is None and has_right(user, Right.PAYMENT_REVERSE),
        "reversal_form": form or ReversalForm(),
        "receipt_ok": payment.channel == Channel.COUNTER
        and payment.status == PaymentStatus.POSTED
        and has_right(user, Right.COUNTER_RECEIPT),
        "may_work_suspense": suspense is not None and has_right(user, Right.SUSPENSE_WORK),
    }
    return render(request, "receipts/payment_detail.html", context, status=status)


@never_cache
@right_required(Right.TAXPAYER_VIEW)
def payment_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """収納の照会: the payment, where every yen went (per 期別 and component), its status."""
    return _payment_page(request, _payment_for_user(staff_user(request), pk))


@never_cache
@require_POST
@right_required(Right.PAYMENT_REVERSE)
def payment_reverse_view(request: HttpRequest, pk: int) -> HttpResponse:
    """収納取消の申請: nothing changes until a second person approves it in 決裁; then the exact negation
    is booked on the approval day and the installments (and late charges) re-open."""
    user = staff_user(request)
    payment = _payment_for_user(user, pk)
    form = ReversalForm(request.POST)
    if form.is_valid():
        try:
            req = payment_reverse_request(actor=user, payment=payment, reason=form.cleaned_data["reason"])
        except (ValidationError, PermissionDenied) as exc:
            form.add_error(None, _refusal(exc))
        else:
            messages.success(
                request,
                f"収納 #{payment.pk}（{yen(payment.amount)}円）の取消を申請しました（申請 #{req.pk}）。"
                "決裁（承認）されると取り消されます。",
            )
            return redirect("receipts:payment-detail", pk=payment.pk)
    if not has_right(user, Right.TAXPAYER_VIEW):  # the form is on the 収納の照会 page, which needs this right
        raise PermissionDenied("取消理由を入力してください。")
    return _payment_page(request, _payment_for_user(user, pk), form, status=400)
