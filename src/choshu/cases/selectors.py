"""Reads of the case screens (issue 18 §2, §4): the case file, the officer's work list, the chief's
workload per officer, the case list. Each reads within ``access.visible_cases``."""

from __future__ import annotations

import calendar
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from django.db.models import Count, Min, OuterRef, Q, QuerySet, Subquery, Sum
from django.utils import timezone

from choshu.cases.access import visible_cases
from choshu.cases.models import Case, CaseFlag, ContactLog, Stage
from choshu.core.timeline import TimelineEvent, providers
from choshu.dunning.models import DunningNoticeInstallment, ReturnedMail
from choshu.levies.models import Installment, TaxItem
from choshu.levies.selectors import AmountDue, amounts_due
from choshu.levies.tax_items import tax_item_name
from choshu.plans.models import InstalmentStatus, PaymentPlan, PlanInstalment, PlanStatus
from choshu.plans.services import pledge_events
from choshu.receipts.models import Payment, PaymentStatus
from choshu.relief.models import PrescriptionWatch
from choshu.rules.prescription import PrescriptionEvent, PrescriptionEventKind, compute_extinguishment

NEW_DAYS = 14  # a case opened this many days ago or less, without a contact yet, is "new"
PROMISE_WINDOW = 90  # broken promises are looked for this many days back
PRESCRIPTION_MONTHS = 6  # the work list warns this many months before the estimated 時効
SECTION_LIMIT = 200  # a work list section shows at most this many cases (the total is counted)
PLAN_DEFAULT_DAYS = 30  # a plan 不履行 stays on the work list this many days


# --- the case file ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ArrearsLine:
    due: AmountDue
    prescription_on: date | None
    prescription_trail: tuple[str, ...]


def arrears(case: Case, today: date) -> list[ArrearsLine]:
    """Every installment of the person with something owed today: 本税, the live 延滞金
    (``levies.selectors.amounts_due``, the counter's and the dunning run's source) and the 時効 date
    as far as it can be computed from what is recorded (法定納期限, the first 督促, partial payments:
    ``rules.prescription``; and the payment plans' pledges; relief and seizures are not read — an estimate)."""
    return arrears_of([case.taxpayer_id], case.municipality_id, today)


def arrears_of(taxpayer_ids: list[int], municipality_id: int, today: date) -> list[ArrearsLine]:
    """``arrears`` for several people at once (a fixed number of queries)."""
    dues = [
        d for d in amounts_due(taxpayer_ids=taxpayer_ids, as_of=today, with_components=False) if d.total > 0
    ]
    ids = [d.installment_id for d in dues]
    dunned = dict(
        DunningNoticeInstallment.objects.filter(installment_id__in=ids)
        .exclude(notice__status="cancelled")
        .values_list("installment_id", "notice__issued_on")
    )
    statutory = dict(Installment.objects.filter(pk__in=ids).values_list("pk", "statutory_due_date"))
    pledged = pledge_events(ids)  # 分納の誓約: an acknowledgement of the debt (民法152条)
    years = dict(
        TaxItem.objects.filter(municipality_id=municipality_id).values_list("code", "prescription_years")
    )
    out = []
    for d in dues:
        events = [
            PrescriptionEvent(PrescriptionEventKind.PAYMENT, on) for on, y in d.principal_payments if y > 0
        ]
        if d.installment_id in dunned:
            events.append(PrescriptionEvent(PrescriptionEventKind.DUNNING, dunned[d.installment_id]))
        events.extend(pledged.get(d.installment_id, []))
        result = compute_extinguishment(
            statutory_due_date=statutory[d.installment_id], events=events, years=years.get(d.tax_item) or 5
        )
        out.append(ArrearsLine(d, result.extinguished_on, result.trail))
    return out


def active_flags(case: Case, today: date) -> QuerySet[CaseFlag]:
    return (
        case.flags.filter(removed_at__isnull=True)
        .filter(Q(expires_on__isnull=True) | Q(expires_on__gte=today))
        .select_related("created_by")
        .order_by("-created_at")
    )


def timeline(case: Case, kinds: list[str] | None = None, since: date | None = None) -> list[TimelineEvent]:
    """Every provider's events about the person (of ``kinds`` only when given), newest first."""
    events: list[TimelineEvent] = []
    for _kind, _label, fn in providers(kinds):
        events.extend(fn(case.municipality_id, case.taxpayer_id, since))
    events.sort(key=lambda e: e.sort_key, reverse=True)
    return events


# --- the officer's work list -----------------------------------------------------------------------------


@dataclass
class WorkItem:
    case: Case
    reason: str
    on: date | None = None
    amount: int | None = None


@dataclass
class WorkList:
    follow_ups: list[WorkItem] = field(default_factory=list)
    broken_promises: list[WorkItem] = field(default_factory=list)
    new_cases: list[WorkItem] = field(default_factory=list)
    returned_mail: list[WorkItem] = field(default_factory=list)
    prescriptions: list[WorkItem] = field(default_factory=list)
    # per section (the attribute name), how many cases it has when more than ``SECTION_LIMIT`` are shown
    totals: dict[str, int] = field(default_factory=dict)

    def total(self, name: str) -> int:
        return self.totals.get(name, len(getattr(self, name)))

    missed_plans: list[WorkItem] = field(default_factory=list)

    @property
    def taxpayer_ids(self) -> list[int]:
        return sorted(
            {w.case.taxpayer_id for part in (self.follow_ups, self.broken_promises, self.new_cases,
                                             self.returned_mail, self.prescriptions, self.missed_plans)
             for w in part}
        )  # fmt: skip


def _mine(user: Any) -> QuerySet[Case]:
    return visible_cases(user).filter(officer=user, closed_on__isnull=True).select_related("taxpayer")


def _capped(wl: WorkList, name: str, qs: QuerySet[Case]) -> list[Case]:
    """The first ``SECTION_LIMIT`` cases of ``qs``; the total is counted only when there are more."""
    rows = list(qs[: SECTION_LIMIT + 1])
    if len(rows) > SECTION_LIMIT:
        wl.totals[name] = qs.count()
        rows = rows[:SECTION_LIMIT]
    return rows


def work_list(user: Any, today: date) -> WorkList:
    """What ``user`` has to do today on the cases assigned to them: follow-ups due (the follow-up date
    reached), promises broken (the latest promise's date passed and less paid since the contact than
    promised), new cases (opened in the last 14 days, no contact yet), returned mail not yet cleared,
    and the 時効 expected within 6 months (the soonest installment per case) as the latest
    ``prescription-run`` listed it (``relief.PrescriptionWatch``: its derivation reads every event —
    dunning, payments, pledges, relief — which a page cannot recompute for thousands of cases).

    Each section holds at most ``SECTION_LIMIT`` cases (the most urgent first; ``totals`` has the
    count of a longer one): a fixed number of queries, whatever the number of the officer's cases."""
    wl = WorkList()
    mine = _mine(user)
    for c in _capped(wl, "follow_ups", mine.filter(follow_up_on__lte=today).order_by("follow_up_on", "pk")):
        wl.follow_ups.append(WorkItem(c, "次回対応日", c.follow_up_on, c.amount))
    # the latest promise of each of my cases, if its date has passed (within the window)
    latest: dict[int, ContactLog] = {}
    for log in (
        ContactLog.objects.filter(case__in=mine, promise_on__isnull=False)
        .filter(promise_on__lt=today, promise_on__gte=today - timedelta(days=PROMISE_WINDOW))
        .select_related("case__taxpayer")
        .order_by("case_id", "-contacted_at")
    ):
        latest.setdefault(log.case_id, log)
    if latest:
        paid: dict[int, list[tuple[date, int]]] = defaultdict(list)
        for tp, on, amount in (
            Payment.objects.filter(
                taxpayer_id__in=[log.taxpayer_id for log in latest.values()],
                paid_on__gte=today - timedelta(days=PROMISE_WINDOW + 365),
            )
            .exclude(status__in=[PaymentStatus.CANCELLED, PaymentStatus.REVERSED])
            .values_list("taxpayer_id", "paid_on", "amount")
        ):
            paid[tp].append((on, amount))
        for log in sorted(latest.values(), key=lambda x: (x.promise_on, x.pk)):
            since, due = timezone.localtime(log.contacted_at).date(), log.promise_on
            assert due is not None  # the query chose promises
            got = sum(a for on, a in paid[log.taxpayer_id] if since <= on <= due)
            if got < (log.promise_amount or 0):
                wl.broken_promises.append(
                    WorkItem(log.case, f"約束 {log.promise_amount:,}円 のうち納付 {got:,}円", log.promise_on,
                             log.case.amount)
                )  # fmt: skip
    new = mine.filter(opened_on__gte=today - timedelta(days=NEW_DAYS)).filter(contacts__isnull=True)
    for c in _capped(wl, "new_cases", new.order_by("-opened_on", "pk")):
        wl.new_cases.append(WorkItem(c, "新規案件", c.opened_on, c.amount))
    returned_to = ReturnedMail.objects.filter(taxpayer_id=OuterRef("taxpayer_id"), cleared_on__isnull=True)
    with_returned = mine.annotate(
        returned_on=Subquery(returned_to.order_by("-returned_on").values("returned_on")[:1])
    ).filter(returned_on__isnull=False)
    for c in _capped(wl, "returned_mail", with_returned.order_by("-returned_on", "pk")):
        wl.returned_mail.append(WorkItem(c, "返戻（宛先未確認）", c.returned_on, c.amount))  # type: ignore[attr-defined]
    _missed_plans(wl, mine, today)
    _prescriptions(wl, mine, user.municipality_id, today)
    return wl


def _prescriptions(wl: WorkList, mine: QuerySet[Case], municipality_id: int, today: date) -> None:
    """The soonest 時効 per case within ``PRESCRIPTION_MONTHS`` (``work_list``), soonest first."""
    soonest = PrescriptionWatch.objects.filter(
        taxpayer_id=OuterRef("taxpayer_id"), expected_on__lte=add_months(today, PRESCRIPTION_MONTHS)
    ).order_by("expected_on", "installment_id")
    watched = (
        mine.annotate(
            expected_on=Subquery(soonest.values("expected_on")[:1]),
            watched_installment=Subquery(soonest.values("installment_id")[:1]),
        )
        .filter(expected_on__isnull=False)
        .order_by("expected_on", "pk")
    )
    cases = _capped(wl, "prescriptions", watched)
    named = {
        pk: (item, year, no)
        for pk, item, year, no in Installment.objects.filter(
            pk__in=[c.watched_installment for c in cases]  # type: ignore[attr-defined]
        ).values_list("pk", "levy__tax_item", "levy__levy_year", "installment_no")
    }
    for c in cases:
        item, year, no = named[c.watched_installment]  # type: ignore[attr-defined]
        wl.prescriptions.append(
            WorkItem(c, f"時効見込み（{tax_item_name(municipality_id, item)} {year}年度 第{no}期）",
                     c.expected_on, c.amount)  # type: ignore[attr-defined]
        )  # fmt: skip


def _missed_plans(wl: WorkList, mine: QuerySet[Case], today: date) -> None:
    """Missed plan instalments (issue 18 §5): a plan 誓約中 with an instalment 未納 by the last
    ``plans-check``, or a plan 不履行 in the last ``PLAN_DEFAULT_DAYS`` days; one entry per case (the
    earliest miss), with the unpaid amount of the missed instalments."""
    missed: dict[int, tuple[date | None, int, int]] = {}
    for tp, plan_id, on, amount in (
        PlanInstalment.objects.filter(
            plan__taxpayer_id__in=mine.values("taxpayer_id"), plan__status=PlanStatus.PLEDGED,
            status=InstalmentStatus.MISSED,
        )
        .order_by("missed_on", "pk")
        .values_list("plan__taxpayer_id", "plan_id", "missed_on", "amount")
    ):  # fmt: skip
        first = missed.get(tp)
        missed[tp] = (first[0], first[1], first[2] + amount) if first else (on, plan_id, amount)
    defaulted = dict(
        PaymentPlan.objects.filter(
            taxpayer_id__in=mine.values("taxpayer_id"), status=PlanStatus.DEFAULTED,
            defaulted_on__gte=today - timedelta(days=PLAN_DEFAULT_DAYS),
        ).values_list("taxpayer_id", "defaulted_on")
    )  # fmt: skip
    if not missed and not defaulted:
        return
    for c in mine.filter(taxpayer_id__in=set(missed) | set(defaulted)).order_by("pk"):
        if c.taxpayer_id in missed:
            on, plan_id, amount = missed[c.taxpayer_id]
            wl.missed_plans.append(
                WorkItem(c, f"分納の未納（分納誓約#{plan_id}・未納 {amount:,}円）", on, c.amount)
            )
        else:
            wl.missed_plans.append(
                WorkItem(c, "分納の不履行（交渉の再開）", defaulted[c.taxpayer_id], c.amount)
            )
    wl.missed_plans.sort(key=lambda w: (w.on or today, w.case.pk))


def add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


# --- the chief's workload view ---------------------------------------------------------------------------


@dataclass
class Workload:
    officer_id: int | None
    officer: str
    team: str
    cases: int
    amount: int
    oldest_opened: date | None
    oldest_due: date | None
    overdue_follow_ups: int


def workload(user: Any, today: date) -> list[Workload]:
    """Per officer (and the unassigned ones per team): open cases, amount, the oldest case and the
    oldest 指定納期限, follow-ups overdue (the follow-up date before today)."""
    rows = (
        visible_cases(user)
        .filter(closed_on__isnull=True)
        .values("officer_id", "officer__display_name", "officer__username", "team")
        .annotate(
            n=Count("pk"), amount=Sum("amount"), oldest_opened=Min("opened_on"), oldest_due=Min("oldest_due"),
            overdue=Count("pk", filter=Q(follow_up_on__lt=today)),
        )
        .order_by("team", "officer__username")
    )  # fmt: skip
    return [
        Workload(
            r["officer_id"],
            r["officer__display_name"] or r["officer__username"] or "（未割当）",
            r["team"] or "（未割当）",
            r["n"],
            int(r["amount"] or 0),
            r["oldest_opened"],
            r["oldest_due"],
            r["overdue"],
        )  # fmt: skip
        for r in rows
    ]


# --- the case list ----------------------------------------------------------------------------------------

SORTS = {
    "amount": "amount",
    "opened": "opened_on",
    "oldest": "oldest_due",
    "follow_up": "follow_up_on",
    "taxpayer": "taxpayer__taxpayer_no",
    "officer": "officer__username",
}


def case_list(
    user: Any,
    *,
    state: str = "open",
    stage: str = "",
    officer_id: int | None = None,
    team: str = "",
    sort: str = "amount",
) -> QuerySet[Case]:
    """The cases ``user`` may see, filtered, sorted on the server (``SORTS``; ``-key`` descending; ties by
    id; an unknown key sorts by amount, largest first)."""
    qs = visible_cases(user).select_related("taxpayer", "officer")
    if state == "open":
        qs = qs.filter(closed_on__isnull=True)
    elif state == "closed":
        qs = qs.filter(closed_on__isnull=False)
    if stage in Stage.values:
        qs = qs.filter(stage=stage)
    if officer_id is not None:  # 0: the unassigned ones
        qs = qs.filter(officer_id=officer_id) if officer_id else qs.filter(officer__isnull=True)
    if team:
        qs = qs.filter(team=team)
    key = sort.lstrip("-")
    if key not in SORTS:
        return qs.order_by("-amount", "pk")
    field = SORTS[key]
    return qs.order_by(("-" + field) if sort.startswith("-") else field, "pk")
