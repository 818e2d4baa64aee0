"""Auditor screens (監査担当): search the access and operation log, and check the hash chain.

Auditors only read. Both screens are scoped to the auditor's municipality: records of other
municipalities are never listed. Failed logins with a user name that exists nowhere carry no
municipality and are therefore not listed here (a failed login of a known user of this municipality
is); the system administrator reads those with ``choshu audit_verify`` / the database. Using these
screens is itself logged (「アクセスログ照会」 with the search conditions).

The search is kept here, next to its two callers (the screen and its CSV export).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.core.paginator import Paginator
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from choshu.accounts.decorators import right_required, staff_user
from choshu.accounts.permissions import Right
from choshu.audit.models import AuditKind, AuditLog, AuditSubject, AuditSubjectType, chain_of
from choshu.audit.selectors import ChainProblem, audit_chain_verify
from choshu.audit.services import audit_record
from choshu.core.labels import AMOUNT_KEYS, key_label, value_label
from choshu.core.models import Municipality
from choshu.formats.csv_safe import csv_stream
from choshu.formats.display import slashed_dates, yen
from choshu.taxpayers.models import Taxpayer
from choshu.web.audit_forms import AUDIT_FUNCTIONS, EXPORT_FUNCTION, AuditSearchForm

LOG_VIEW_FUNCTION = "アクセスログ照会"
CHAIN_VERIFY_FUNCTION = "アクセスログ改ざん検証"
PAGE_SIZE = 50
SUBJECTS_SHOWN = 10
DETAIL_LENGTH = 200

# The keys services write into ``AuditLog.detail`` are named by ``core.labels`` (one place for all screens).
_DETAIL_HIDDEN = {"purpose"}  # the code of the purpose; its label is shown


# ---------------------------------------------------------------------------------------------------
# Search
# ---------------------------------------------------------------------------------------------------


def _person_ids(municipality: Municipality, taxpayer_no: str) -> list[int]:
    """The id of the person with this 宛名番号 in the auditor's municipality (empty when none)."""
    return list(
        Taxpayer.objects.filter(municipality=municipality, taxpayer_no=taxpayer_no).values_list(
            "pk", flat=True
        )
    )


def _day_start(day: date) -> datetime:
    """Midnight in Japan at the start of ``day`` (the period is entered in local dates)."""
    return timezone.make_aware(datetime.combine(day, time.min))


def audit_log_search(
    *, municipality: Municipality, conditions: Mapping[str, Any], person_ids: list[int]
) -> QuerySet[AuditLog]:
    """The municipality's audit records matching every filled condition, newest first."""
    logs = AuditLog.objects.filter(municipality=municipality)
    if conditions.get("taxpayer_no"):
        logs = logs.filter(
            pk__in=AuditSubject.objects.filter(municipality=municipality, taxpayer_id__in=person_ids).values(
                "log_id"
            )
        )
    if username := conditions.get("username"):
        # a failed login has no user; the name typed is in the detail
        logs = logs.filter(Q(username=username) | Q(user__isnull=True, detail__username=username))
    if function := conditions.get("function"):
        logs = logs.filter(AUDIT_FUNCTIONS[function][1])
    if kind := conditions.get("kind"):
        logs = logs.filter(kind=kind)
    if start := conditions.get("date_from"):
        logs = logs.filter(at__gte=_day_start(start))
    if end := conditions.get("date_to"):
        logs = logs.filter(at__lt=_day_start(end + timedelta(days=1)))
    return logs.select_related("user").order_by("-at", "-id")


@dataclass(frozen=True)
class LogRow:
    """One line of the list: the record, the 宛名番号 of its subjects and a readable detail."""

    log: AuditLog
    user_label: str
    subjects: list[str]
    more_subjects: int
    detail: str


def _format_value(value: Any, key: str = "") -> str:
    """A detail value as a clerk reads it: keys named, yen with separators, dates Y/m/d, codes named."""
    if isinstance(value, Mapping):
        return " ".join(f"{key_label(str(k))}={_format_value(v, str(k))}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return ",".join(_format_value(v, key) for v in value)
    if isinstance(value, bool):
        return "はい" if value else "いいえ"
    if isinstance(value, int) and key in AMOUNT_KEYS:
        return f"{yen(value)}円"
    if isinstance(value, str):
        return value_label(slashed_dates(value))
    return str(value)


def detail_summary(detail: Mapping[str, Any], limit: int | None = DETAIL_LENGTH) -> str:
    """The detail of a record in one line, e.g. 「検索条件=カナ氏名… 件数=3」, cut at ``limit`` characters."""
    parts = []
    for key, value in detail.items():
        if key in _DETAIL_HIDDEN:
            continue
        shown = ",".join(map(str, value)) if key == "files" and isinstance(value, Mapping) else value
        parts.append(f"{key_label(key)}：{_format_value(shown, key)}")
    text = "　".join(parts)
    return text if limit is None or len(text) <= limit else text[: limit - 1] + "…"


def _user_label(log: AuditLog) -> str:
    if log.user is not None:
        return f"{log.user}（{log.username}）" if str(log.user) != log.username else log.username
    return str(log.detail.get("username", "")) if isinstance(log.detail, dict) else ""


def _rows(municipality: Municipality, logs: Iterable[AuditLog]) -> list[LogRow]:
    logs = list(logs)
    ids = {int(i) for log in logs for i in log.subject_ids}
    numbers = dict(
        Taxpayer.objects.filter(municipality=municipality, pk__in=ids).values_list("pk", "taxpayer_no")
    )
    rows = []
    for log in logs:
        subjects = [numbers.get(int(i), f"（削除済み #{i}）") for i in log.subject_ids]
        user_label = _user_label(log)
        rows.append(
            LogRow(
                log=log,
                user_label=user_label,
                subjects=subjects[:SUBJECTS_SHOWN],
                more_subjects=max(0, len(subjects) - SUBJECTS_SHOWN),
                detail=detail_summary(log.detail if isinstance(log.detail, dict) else {}),
            )
        )
    return rows


@never_cache
@right_required(Right.AUDIT_VIEW)
def audit_log(request: HttpRequest) -> HttpResponse:
    """アクセスログ照会: newest first, 50 per page; the viewing itself is logged with its conditions."""
    user = staff_user(request)
    municipality = user.municipality
    assert municipality is not None  # has_right requires one
    form = AuditSearchForm(request.GET or None)
    context: dict[str, Any] = {"form": form, "page": None, "rows": []}
    if not form.is_bound or form.is_valid():
        conditions = form.cleaned_data if form.is_bound else {}
        logged = form.conditions() if form.is_bound else {}
        person_ids = (
            _person_ids(municipality, conditions["taxpayer_no"]) if conditions.get("taxpayer_no") else []
        )
        logs = audit_log_search(municipality=municipality, conditions=conditions, person_ids=person_ids)
        paginator = Paginator(logs, PAGE_SIZE)
        page = paginator.get_page(request.GET.get("page"))
        rows = _rows(municipality, page.object_list)  # read before this viewing is itself logged
        audit_record(
            kind=AuditKind.ACCESS,
            function=LOG_VIEW_FUNCTION,
            municipality=municipality,
            user=user,
            request=request,
            subject_type=AuditSubjectType.TAXPAYER if person_ids else "",
            subject_ids=person_ids,
            detail={"conditions": logged, "page": page.number, "count": paginator.count},
        )
        query = request.GET.copy()
        query.pop("page", None)
        context.update(page=page, rows=rows, export_query=query.urlencode())
    status = 400 if form.is_bound and not form.is_valid() else 200
    return render(request, "audit/log.html", context, status=status)


# ---------------------------------------------------------------------------------------------------
# CSV export of a search
# ---------------------------------------------------------------------------------------------------

EXPORT_HEADER = ["記録番号", "日時", "利用者", "端末アドレス", "機能", "種別", "対象（宛名番号）", "内容"]
EXPORT_CHUNK = 1000
_KIND_LABELS = dict(AuditKind.choices)


def _export_lines(municipality: Municipality, logs: QuerySet[AuditLog]) -> Iterable[list[object]]:
    """The rows of the export, read ``EXPORT_CHUNK`` records at a time (bounded memory)."""
    batch: list[AuditLog] = []

    def flush() -> Iterable[list[object]]:
        ids = {int(i) for log in batch for i in log.subject_ids}
        numbers = dict(
            Taxpayer.objects.filter(municipality=municipality, pk__in=ids).values_list("pk", "taxpayer_no")
        )
        for log in batch:
            yield [
                log.pk,
                timezone.localtime(log.at).strftime("%Y-%m-%d %H:%M:%S"),
                _user_label(log),
                log.client_addr,
                log.function,
                _KIND_LABELS.get(log.kind, log.kind),
                " ".join(numbers.get(int(i), f"（削除済み #{i}）") for i in log.subject_ids),
                detail_summary(log.detail if isinstance(log.detail, dict) else {}, limit=None),
            ]
        batch.clear()

    for log in logs.iterator(chunk_size=EXPORT_CHUNK):
        batch.append(log)
        if len(batch) >= EXPORT_CHUNK:
            yield from flush()
    yield from flush()


@never_cache
@right_required(Right.AUDIT_VIEW)
@require_GET
def audit_log_export(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    """アクセスログ出力: every record of the search as CSV (UTF-8 with BOM, formula cells neutralised),
    streamed; the export itself is logged first (kind 出力, with the conditions and the row count), and
    holds only the records that existed when it was asked for."""
    user = staff_user(request)
    municipality = user.municipality
    assert municipality is not None  # has_right requires one
    form = AuditSearchForm(request.GET)
    if not form.is_valid():
        return render(request, "audit/log.html", {"form": form, "page": None, "rows": []}, status=400)
    conditions = form.cleaned_data
    person_ids = _person_ids(municipality, conditions["taxpayer_no"]) if conditions.get("taxpayer_no") else []
    logs = audit_log_search(municipality=municipality, conditions=conditions, person_ids=person_ids)
    last_id = AuditLog.objects.order_by("-id").values_list("id", flat=True).first() or 0
    logs = logs.filter(pk__lte=last_id)
    audit_record(
        kind=AuditKind.EXPORT,
        function=EXPORT_FUNCTION,
        municipality=municipality,
        user=user,
        request=request,
        subject_type=AuditSubjectType.TAXPAYER if person_ids else "",
        subject_ids=person_ids,
        detail={"conditions": form.conditions(), "count": logs.count(), "up_to": last_id},
    )
    name = f"audit-log-{municipality.code}-{timezone.localtime():%Y%m%d-%H%M%S}.csv"
    response = StreamingHttpResponse(
        (line.encode("utf-8") for line in csv_stream(EXPORT_HEADER, _export_lines(municipality, logs))),
        content_type="text/csv; charset=utf-8",
    )
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


# ---------------------------------------------------------------------------------------------------
# Hash-chain check
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProblemRow:
    """A broken link or edited record; time and function are shown only for this municipality's rows."""

    problem: ChainProblem
    log: AuditLog | None


@never_cache
@right_required(Right.AUDIT_VIEW)
@require_POST
def chain_verify(request: HttpRequest) -> HttpResponse:
    """改ざん検証: verify this municipality's chain now (signatures, seals, the per-person index,
    the signed checkpoints) and show OK or every problem found, with the sealing lag.

    Each municipality's records form their own chain, so only the auditor's own is checked; a
    problem in the checkpoint file itself (not about one record) is shown by description only.
    """
    user = staff_user(request)
    report = audit_chain_verify(chains=[chain_of(user.municipality_id)])
    audit_record(
        kind=AuditKind.ACCESS,
        function=CHAIN_VERIFY_FUNCTION,
        municipality=user.municipality,
        user=user,
        request=request,
        detail={"ok": report.ok, "records": report.records, "problems": len(report.problems)},
    )
    own = AuditLog.objects.filter(
        municipality=user.municipality, pk__in=[p.id for p in report.problems]
    ).in_bulk()
    problems = [ProblemRow(problem=p, log=own.get(p.id)) for p in report.problems]
    state = report.chains[0] if report.chains else None
    context = {
        "report": report,
        "problems": problems,
        "checked_at": report.checked_at,
        "chain": state,
        "lag_seconds": report.lag_seconds,
    }
    template = "audit/_chain_panel.html" if request.htmx else "audit/chain.html"  # type: ignore[attr-defined]
    return render(request, template, context)
