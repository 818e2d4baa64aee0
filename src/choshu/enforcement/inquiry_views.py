"""財産調査の画面 (issue 19 §1, §6): the batches with their counts (照会・回答済・期限超過), building a batch
from chosen cases, one batch (its recipients' letters — PDF, or the CSV of docs/formats.md §25 for a bank
taking electronic inquiries — and its inquiries by state), and recording an answer as the person's assets.
Right ``enforcement``; a batch of another team answers 404 (``selectors.visible_batches``); every view of
people writes an access record, every change a change record (``inquiries``)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache

from choshu.accounts.decorators import right_required, staff_user
from choshu.accounts.permissions import Right
from choshu.audit.services import audit_access
from choshu.cases.access import visible_cases
from choshu.cases.models import Stage
from choshu.enforcement import selectors
from choshu.enforcement.forms import InquiryAnswerForm, InquiryBatchForm
from choshu.enforcement.inquiries import (
    batch_letter,
    inquiry_answer,
    inquiry_batch_build,
    inquiry_state,
    parse_recipient,
)
from choshu.enforcement.models import Inquiry, InquiryBatch, InquiryKind

PAGE = 50
CASE_LIMIT = 500
STATES = {"open": "照会中", "overdue": "期限超過", "answered": "回答済"}


def _messages(exc: Exception) -> list[str]:
    return exc.messages if isinstance(exc, ValidationError) else [str(exc)]


def _batch(request: HttpRequest, pk: int) -> InquiryBatch:
    b = selectors.visible_batches(staff_user(request)).filter(pk=pk).select_related("municipality").first()
    if b is None:
        raise Http404("指定された照会は見つかりません（担当班の照会ではないか、存在しません）。")
    return b


@never_cache
@right_required(Right.ENFORCEMENT)
def batch_list(request: HttpRequest) -> HttpResponse:
    """The batches (newest first) with 照会・回答済・期限超過 counts; filter by kind."""
    user = staff_user(request)
    today = timezone.localdate()
    qs = selectors.visible_batches(user)
    kind = request.GET.get("kind", "")
    if kind not in InquiryKind.values:
        kind = ""  # an unknown filter shows every batch (and is never written to the audit log)
    if kind:
        qs = qs.filter(kind=kind)
    page = Paginator(selectors.batch_counts(qs, today).order_by("-as_of", "-pk"), PAGE).get_page(
        request.GET.get("page")
    )
    audit_access(request=request, function="財産調査の照会の一覧", taxpayer_ids=[],
                 detail={"page": page.number, "kind": kind})  # fmt: skip
    return render(request, "enforcement/inquiry_batches.html",
                  {"page": page, "kinds": InquiryKind.choices, "kind": kind})  # fmt: skip


def _case_choices(user: Any, stage: str) -> tuple[list[tuple[str, str]], list[int], bool]:
    qs = visible_cases(user).filter(closed_on__isnull=True)
    if stage in Stage.values:
        qs = qs.filter(stage=stage)
    rows = list(qs.select_related("taxpayer").order_by("taxpayer__taxpayer_no", "pk")[: CASE_LIMIT + 1])
    more = len(rows) > CASE_LIMIT
    rows = rows[:CASE_LIMIT]
    choices = [
        (str(c.pk), f"{c.taxpayer.taxpayer_no} {c.taxpayer.name}（案件#{c.pk}・{c.get_stage_display()}）")
        for c in rows
    ]
    return choices, [c.taxpayer_id for c in rows], more


@never_cache
@right_required(Right.ENFORCEMENT)
def batch_new(request: HttpRequest) -> HttpResponse:
    """GET: the form (the open cases of the team, by stage). POST: the batch, then its page."""
    user = staff_user(request)
    stage = request.GET.get("stage", "") or request.POST.get("stage", "")
    if stage not in Stage.values:
        stage = ""  # an unknown stage shows every open case (and is never written to the audit log)
    choices, shown, more = _case_choices(user, stage)
    audit_access(
        request=request, function="財産調査の照会の作成", taxpayer_ids=shown, detail={"stage": stage}
    )
    context: dict[str, Any] = {"stages": Stage.choices, "stage": stage, "more": more, "limit": CASE_LIMIT}
    if request.method != "POST":
        context["form"] = InquiryBatchForm(
            case_choices=choices, initial={"as_of": timezone.localdate(), "answer_days": 30}
        )
        return render(request, "enforcement/inquiry_new.html", context)
    form = context["form"] = InquiryBatchForm(request.POST, case_choices=choices)
    if not form.is_valid():
        return render(request, "enforcement/inquiry_new.html", context, status=400)
    d = form.cleaned_data
    try:
        recipients = [parse_recipient(line.strip()) for line in d["recipients"].splitlines() if line.strip()]
        batch = inquiry_batch_build(
            actor=user, kind=d["kind"], as_of=d["as_of"], case_ids=[int(x) for x in d["cases"]],
            recipients=recipients, answer_days=d["answer_days"],
        )  # fmt: skip
    except (ValidationError, PermissionDenied) as exc:
        form.add_error(None, _messages(exc))
        return render(request, "enforcement/inquiry_new.html", context, status=400)
    return redirect("enforcement:inquiry-batch", pk=batch.pk)


@never_cache
@right_required(Right.ENFORCEMENT)
def batch_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One batch: its recipients (letters) and its inquiries, by state (照会中・期限超過・回答済)."""
    b = _batch(request, pk)
    today = timezone.localdate()
    state = request.GET.get("state", "")
    if state not in STATES:
        state = ""  # an unknown state shows every inquiry (and is never written to the audit log)
    qs = selectors.inquiries_in_state(Inquiry.objects.filter(batch=b), state, today)
    page = Paginator(
        qs.select_related("taxpayer").order_by("recipient_name", "taxpayer__taxpayer_no", "pk"), PAGE
    ).get_page(request.GET.get("page"))
    rows = [(i, inquiry_state(i, today)) for i in page.object_list]
    counts = selectors.batch_counts(InquiryBatch.objects.filter(pk=b.pk), today).get()
    audit_access(request=request, function="財産調査の照会の照会", taxpayer_ids=sorted({i.taxpayer_id for i, _ in rows}),
                 detail={"batch": b.pk, "page": page.number, "state": state})  # fmt: skip
    return render(request, "enforcement/inquiry_batch.html", {
        "b": b, "page": page, "rows": rows, "counts": counts, "states": STATES, "state": state,
        "recipients": list(enumerate(b.files)),
    })  # fmt: skip


@never_cache
@right_required(Right.ENFORCEMENT)
def batch_letter_file(request: HttpRequest, pk: int, index: int) -> HttpResponse:
    """One recipient's 照会書 (PDF) or electronic inquiry (CSV); no 支援措置 person's address."""
    b = _batch(request, pk)
    try:
        name, content_type, body = batch_letter(b, index)
    except IndexError:
        raise Http404("指定された照会先はこの照会にありません。") from None
    ids = list(
        Inquiry.objects.filter(batch=b, recipient_name=b.files[index]["recipient"])
        .order_by("taxpayer_id")
        .values_list("taxpayer_id", flat=True)
    )
    audit_access(request=request, function="財産調査の照会書の作成", taxpayer_ids=ids,
                 detail={"batch": b.pk, "recipient": b.files[index]["recipient"], "file": name},
                 shows_address=True)  # fmt: skip
    response = HttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@never_cache
@right_required(Right.ENFORCEMENT)
def answer(request: HttpRequest, pk: int) -> HttpResponse:
    """Record the answer to one inquiry and the assets it reports (the person's ``Asset`` rows)."""
    user = staff_user(request)
    inq = (
        Inquiry.objects.filter(pk=pk, batch__in=selectors.visible_batches(user))
        .select_related("batch", "taxpayer")
        .first()
    )
    if inq is None:
        raise Http404("指定された照会は見つかりません（担当班の照会ではないか、存在しません）。")
    audit_access(request=request, function="財産調査の回答の入力", taxpayer_ids=[inq.taxpayer_id],
                 detail={"inquiry": inq.pk})  # fmt: skip
    today = timezone.localdate()
    context: dict[str, Any] = {
        "i": inq,
        "state": inquiry_state(inq, today),
        "assets": list(inq.assets.order_by("pk")),
    }
    if request.method != "POST":
        context["form"] = InquiryAnswerForm(initial={"answered_on": today})
        return render(request, "enforcement/inquiry_answer.html", context)
    form = context["form"] = InquiryAnswerForm(request.POST)
    if not form.is_valid():
        return render(request, "enforcement/inquiry_answer.html", context, status=400)
    assets = form.assets()
    if form.errors:
        return render(request, "enforcement/inquiry_answer.html", context, status=400)
    try:
        found = inquiry_answer(actor=user, inquiry=inq, answered_on=form.cleaned_data["answered_on"],
                               note=form.cleaned_data["note"], assets=assets, today=today)  # fmt: skip
    except (ValidationError, PermissionDenied) as exc:
        form.add_error(None, _messages(exc))
        return render(request, "enforcement/inquiry_answer.html", context, status=400)
    inq.refresh_from_db()
    context.update(
        i=inq, state=inquiry_state(inq, today), assets=list(inq.assets.order_by("pk")),
        done=f"回答を記録しました（財産 {len(found)} 件）。", form=None,
    )  # fmt: skip
    return render(request, "enforcement/inquiry_answer.html", context)
