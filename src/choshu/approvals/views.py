"""決裁の画面: the queue of requests waiting for a second person, and the decision. The forms that
file a request are the owning app's screens (宛名訂正・個人番号: ``web/approval_requests.py``).

Who sees what: an approver (``APPROVE``) sees every request of the municipality; a member of staff
who may only request changes (``TAXPAYER_EDIT``) sees their own. Both need ``TAXPAYER_VIEW``, since a
request shows a person's name and attributes; each such view writes the access log. A My Number is
never shown: the request says only that one is registered or corrected.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from choshu.accounts.decorators import right_required, staff_user
from choshu.accounts.models import User
from choshu.accounts.permissions import Right, has_right
from choshu.approvals.forms import ApproveForm, RejectForm
from choshu.approvals.models import ApprovalStatus, ChangeRequest, RequestKind
from choshu.approvals.services import field_label_for, request_approve, request_reject, request_withdraw
from choshu.audit.services import audit_access
from choshu.core.labels import AMOUNT_KEYS, value_label
from choshu.formats.display import wareki, yen

QUEUE_FUNCTION = "決裁一覧"
DETAIL_FUNCTION = "決裁の照会"
PAGE_SIZE = 50
ALL = "all"

# ---------------------------------------------------------------------------------------------------
# Who sees which requests
# ---------------------------------------------------------------------------------------------------


def _sees_all(user: User) -> bool:
    """True for an approver (every request of the municipality), False for a requester (own only)."""
    if has_right(user, Right.APPROVE):
        return True
    if has_right(user, Right.TAXPAYER_EDIT):
        return False
    raise PermissionDenied("決裁の画面を利用する権限がありません。")


def _visible_requests(user: User) -> QuerySet[ChangeRequest]:
    """The requests the user may see, never with the encrypted My Number loaded."""
    if user.municipality is None:  # has_right already refuses such a user; keeps the types honest
        raise PermissionDenied("自治体に属さない利用者は決裁の画面を利用できません。")
    requests = (
        ChangeRequest.objects.filter(municipality=user.municipality)
        .select_related("taxpayer", "requested_by", "decided_by")
        .defer("secret", "taxpayer__my_number_enc")
    )
    if not _sees_all(user):
        requests = requests.filter(requested_by=user)
    return requests


def _request_for_user(user: User, pk: int) -> ChangeRequest:
    """One request: 404 when missing, of another municipality, or someone else's for a requester."""
    req = _visible_requests(user).filter(pk=pk).first()
    if req is None:
        raise Http404("指定された申請は見つかりません。")
    return req


# ---------------------------------------------------------------------------------------------------
# What a request changes, as shown on screen
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChangeLine:
    """One attribute of a request: its name, the value before, the value asked for, and the attribute's
    code (``field``: templates mask a protected person's address by it, ``{% shown_value %}``)."""

    label: str
    before: str
    after: str
    field: str = ""


_MY_NUMBER_KINDS = {RequestKind.MY_NUMBER_LINK, RequestKind.MY_NUMBER_UNLINK}


def _my_number_line(req: ChangeRequest) -> ChangeLine:
    registered = bool(req.before.get("my_number_registered"))
    before = "登録あり" if registered else "未登録"
    if req.kind == RequestKind.MY_NUMBER_UNLINK:
        return ChangeLine("個人番号", before, "個人番号の削除")
    what = req.payload.get("my_number")
    after = f"個人番号の{what}" if what in ("登録", "訂正") else "個人番号の登録/訂正"
    return ChangeLine("個人番号", before, after)


def change_lines(req: ChangeRequest) -> list[ChangeLine]:
    """The before → after values of a request. Anything about a My Number is reduced to what happens."""
    if req.kind in _MY_NUMBER_KINDS:
        return [_my_number_line(req)]
    label = field_label_for(req.kind)
    lines = []
    for name, value in req.payload.items():
        if "my_number" in name:
            lines.append(ChangeLine("個人番号", "", "個人番号の登録/訂正"))
            continue
        before = _shown(name, req.before.get(name, ""))
        lines.append(ChangeLine(label(name), before, _shown(name, value), name))
    return lines


def _shown(name: str, value: Any) -> str:
    """A payload value as a clerk reads it: yen with separators, dates in 和暦 (and western), codes named."""
    if value is None or value == "":
        return ""
    if name in AMOUNT_KEYS and isinstance(value, int):
        return f"{yen(value)}円"
    if isinstance(value, str):
        try:
            day = date.fromisoformat(value) if len(value) == 10 else None
        except ValueError:
            day = None
        if day is not None:
            return f"{wareki(day)}（{day:%Y/%m/%d}）"
        return value_label(value)
    return str(value)


@dataclass(frozen=True)
class RequestRow:
    request: ChangeRequest
    changes: list[ChangeLine]


# ---------------------------------------------------------------------------------------------------
# 決裁一覧・詳細
# ---------------------------------------------------------------------------------------------------


def _status_filter(request: HttpRequest) -> str:
    status = request.GET.get("status", ApprovalStatus.PENDING)
    return status if status in (*ApprovalStatus.values, ALL) else ApprovalStatus.PENDING


@never_cache
@right_required(Right.TAXPAYER_VIEW, any_of=(Right.APPROVE, Right.TAXPAYER_EDIT))
def queue(request: HttpRequest) -> HttpResponse:
    """決裁一覧: pending requests oldest first (the order they should be decided in), or by status."""
    user = staff_user(request)
    visible = _visible_requests(user)
    status = _status_filter(request)
    counts = dict(visible.order_by().values_list("status").annotate(n=Count("pk")))
    shown = visible if status == ALL else visible.filter(status=status)
    kind = request.GET.get("kind", "")
    if kind in RequestKind.values:  # e.g. 収納取消 only (linked from the payment screens)
        shown = shown.filter(kind=kind)
    else:
        kind = ""
    order = ("requested_at", "pk") if status == ApprovalStatus.PENDING else ("-requested_at", "-pk")
    page = Paginator(shown.order_by(*order), PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [RequestRow(request=req, changes=change_lines(req)) for req in page]
    taxpayer_ids = sorted({row.request.taxpayer_id for row in rows if row.request.taxpayer_id})
    if taxpayer_ids:
        audit_access(
            request=request,
            function=QUEUE_FUNCTION,
            taxpayer_ids=taxpayer_ids,
            detail={"status": status, "page": page.number, "requests": [r.request.pk for r in rows]},
            shows_address=True,
        )
    filters = [(value, label, counts.get(value, 0)) for value, label in ApprovalStatus.choices]
    context = {
        "rows": rows,
        "page": page,
        "status": status,
        "all_value": ALL,
        "showing_all": status == ALL,
        "showing_pending": status == ApprovalStatus.PENDING,
        "filters": filters,
        "total": sum(counts.values()),
        "sees_all": _sees_all(user),
        "kind": kind,
        "kind_label": RequestKind(kind).label if kind else "",
    }
    return render(request, "approvals/queue.html", context)


@never_cache
@right_required(Right.TAXPAYER_VIEW, any_of=(Right.APPROVE, Right.TAXPAYER_EDIT))
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One request with its before → after values, and the decision forms."""
    user = staff_user(request)
    req = _request_for_user(user, pk)
    if req.taxpayer_id:
        audit_access(
            request=request,
            function=DETAIL_FUNCTION,
            taxpayer_ids=[req.taxpayer_id],
            detail={"request": req.pk, "kind": req.kind},
            shows_address=True,
        )
    pending = req.status == ApprovalStatus.PENDING
    context = {
        "req": req,
        "changes": change_lines(req),
        "pending": pending,
        "withdrawn": req.status == ApprovalStatus.WITHDRAWN,
        "may_decide": pending and has_right(user, Right.APPROVE),
        "is_requester": req.requested_by_id == user.pk,
        "approve_form": ApproveForm(),
        "reject_form": RejectForm(),
    }
    return render(request, "approvals/detail.html", context)


def refusal(exc: ValidationError | PermissionDenied) -> str:
    if isinstance(exc, ValidationError):
        return " ".join(exc.messages)
    return str(exc) or "この操作は許可されていません。"


@never_cache
@require_POST
@right_required(Right.APPROVE)
def approve(request: HttpRequest, pk: int) -> HttpResponse:
    """承認: the change takes effect now. The requester can never approve their own request."""
    user = staff_user(request)
    req = _request_for_user(user, pk)
    form = ApproveForm(request.POST)
    comment = form.cleaned_data["comment"] if form.is_valid() else ""
    try:
        request_approve(actor=user, request=req, decided_on=timezone.localdate(), comment=comment)
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, refusal(exc))
        return redirect("approvals:detail", pk=req.pk)
    messages.success(
        request, f"申請 #{req.pk}（{req.get_kind_display()}）を承認しました。変更は反映済みです。"
    )
    return redirect("approvals:queue")


@never_cache
@require_POST
@right_required(Right.APPROVE)
def reject(request: HttpRequest, pk: int) -> HttpResponse:
    """否認: nothing changes; the reason is shown to the requester."""
    user = staff_user(request)
    req = _request_for_user(user, pk)
    form = RejectForm(request.POST)
    if not form.is_valid():
        messages.error(request, "否認の理由を入力してください。")
        return redirect("approvals:detail", pk=req.pk)
    try:
        request_reject(actor=user, request=req, comment=form.cleaned_data["comment"])
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, refusal(exc))
        return redirect("approvals:detail", pk=req.pk)
    messages.success(request, f"申請 #{req.pk}（{req.get_kind_display()}）を否認しました。")
    return redirect("approvals:queue")


@never_cache
@require_POST
@right_required(Right.TAXPAYER_VIEW, any_of=(Right.APPROVE, Right.TAXPAYER_EDIT))
def withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    """取下げ: only the person who asked may take a pending request back."""
    user = staff_user(request)
    req = _request_for_user(user, pk)
    try:
        request_withdraw(actor=user, request=req)
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, refusal(exc))
        return redirect("approvals:detail", pk=req.pk)
    messages.success(request, f"申請 #{req.pk}（{req.get_kind_display()}）を取り下げました。")
    return redirect("approvals:queue")
