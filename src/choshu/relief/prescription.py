"""時効 (issue 18 §7): each installment's extinction date from its events, and ``prescription-run``.

The law is ``rules.prescription.compute_extinguishment`` (法18条, 18条の2, 民法152条 via 18条3項, 法15条の7;
law.md §f). This module only gathers the events of many installments at once, in a fixed number of
queries per chunk:

* 督促 — the first 督促状 of the installment (``dunning.selectors.prescription_events``: its issue date, or
  the day a 公示送達 is deemed served);
* partial payments — every 領収日 on which the installment's 本税 was paid (net of reversals): a payment
  is an acknowledgement of the debt (承認, 民法152条);
* anything an app above registers with :func:`register_event_source` — the payment plans' pledges
  (納付誓約, issue 18 §5) are to come in this way: a function from installment ids to their events;
* relief (徴収猶予・換価の猶予, 執行停止, 即時消滅) once recorded (``relief.relief``).

``prescription_run`` is set-based and streams: it reads the candidates a chunk at a time (keyset on the
id), computes them in memory for that chunk only, and updates the chunk's installments with one
statement per (date, reason). Running it again changes nothing (extinguished installments are not
candidates), so it is idempotent.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q, Sum

from choshu.audit.models import AuditKind
from choshu.audit.services import audit_record
from choshu.core.models import Municipality
from choshu.dunning.selectors import prescription_events as dunning_events
from choshu.levies.ledger import PAID_KINDS
from choshu.levies.models import Account, Component, Installment, LedgerEntry, TaxItem
from choshu.relief.models import Extinguishment, PrescriptionWatch
from choshu.rules.prescription import (
    PrescriptionEvent,
    PrescriptionEventKind,
    PrescriptionResult,
    compute_extinguishment,
    warning_horizon,
)

CHUNK = 2000  # installments per round: memory follows the chunk, not the city
FUNCTION = "時効の判定（消滅した徴収権の記録）"
SHORTEST_EXTINCTION_YEARS = 3  # 執行停止3年 (法15条の7第4項): nothing ends sooner but 即時消滅

EventSource = Callable[[Sequence[int]], Mapping[int, Iterable[PrescriptionEvent]]]
EVENT_SOURCES: list[EventSource] = []


def register_event_source(source: EventSource) -> EventSource:
    """Add a source of prescription events (e.g. the payment plans' pledges as ``ACKNOWLEDGEMENT``):
    called with a chunk of installment ids, it returns their events. Registered in an app's ready()."""
    if source not in EVENT_SOURCES:
        EVENT_SOURCES.append(source)
    return source


def payment_events(installment_ids: Sequence[int]) -> dict[int, list[PrescriptionEvent]]:
    """Each 領収日 on which the installment's 本税 was paid (net of reversals on the same 法定日): one
    grouped query over the ledger's installment index."""
    found: dict[int, list[PrescriptionEvent]] = {}
    rows = (
        LedgerEntry.objects.filter(
            installment_id__in=list(installment_ids),
            account=Account.RECEIVABLE,
            component=Component.PRINCIPAL,
            txn__kind__in=PAID_KINDS,
        )
        .values_list("installment_id", "txn__legal_date")
        .annotate(total=Sum("amount"))
        .order_by()
    )
    for inst_id, on, total in rows:
        if total is not None and total < 0:  # a credit on the receivable: 本税 paid that day
            found.setdefault(inst_id, []).append(PrescriptionEvent(PrescriptionEventKind.PAYMENT, on))
    return found


def installment_events(installment_ids: Sequence[int]) -> dict[int, list[PrescriptionEvent]]:
    """Every prescription event of these installments (督促, payments, registered sources, relief)."""
    from choshu.relief.relief import relief_events  # noqa: PLC0415 - relief imports this module

    ids = list(installment_ids)
    merged: dict[int, list[PrescriptionEvent]] = defaultdict(list)
    sources: list[EventSource] = [dunning_events, payment_events, relief_events, *EVENT_SOURCES]
    for source in sources:
        for inst_id, events in source(ids).items():
            merged[inst_id].extend(events)
    return dict(merged)


def prescription_years(municipality_id: int) -> dict[str, int]:
    """消滅時効の年数 per tax item code of the municipality (``TaxItem.prescription_years``; 5 = 法18条)."""
    return dict(
        TaxItem.objects.filter(municipality_id=municipality_id).values_list("code", "prescription_years")
    )


def compute(
    statutory_due_date: date, events: Sequence[PrescriptionEvent], years: int = 5
) -> PrescriptionResult:
    return compute_extinguishment(statutory_due_date=statutory_due_date, events=events, years=years)


@dataclass(frozen=True)
class InstallmentPrescription:
    """What the person page shows for one installment: the rules' result and the stored 消滅."""

    installment_id: int
    result: PrescriptionResult
    extinguished_on: date | None
    extinguished_reason: str


def installment_prescriptions(installments: Sequence[Installment]) -> dict[int, InstallmentPrescription]:
    """The extinction date and its why for each of these installments (a fixed number of queries)."""
    if not installments:
        return {}
    events = installment_events([i.pk for i in installments])
    years = prescription_years(installments[0].municipality_id)
    out = {}
    for inst in installments:
        result = compute(inst.statutory_due_date, events.get(inst.pk, []), years.get(inst.levy.tax_item, 5))
        out[inst.pk] = InstallmentPrescription(
            inst.pk, result, inst.extinguished_on, inst.extinguished_reason
        )
    return out


@dataclass
class RunSummary:
    as_of: date
    dry_run: bool
    warn_months: int
    warn_until: date
    candidates: int = 0
    extinguished: int = 0
    amount: int = 0
    warned: int = 0
    warned_amount: int = 0
    revived: int = 0
    by_reason: dict[str, dict[str, int]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat(),
            "dry_run": self.dry_run,
            "warn_months": self.warn_months,
            "warn_until": self.warn_until.isoformat(),
            "candidates": self.candidates,
            "extinguished": self.extinguished,
            "amount": self.amount,
            "warned": self.warned,
            "warned_amount": self.warned_amount,
            "revived": self.revived,
            "by_reason": self.by_reason,
        }


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def _candidates(municipality: Municipality, horizon: date, min_years: int) -> Iterator[list[tuple[Any, ...]]]:
    """Installments with 本税 outstanding, not yet extinguished, that could end by ``horizon``: their
    法定納期限 is old enough for the shortest period, or a relief decision names them (即時消滅)."""
    from choshu.relief.relief import relief_installments  # noqa: PLC0415 - relief imports this module

    old_enough = _years_before(horizon, min(SHORTEST_EXTINCTION_YEARS, min_years))
    qs = (
        Installment.objects.filter(
            municipality=municipality, principal_outstanding__gt=0, extinguished_on__isnull=True
        )
        .filter(Q(statutory_due_date__lt=old_enough) | Q(pk__in=relief_installments(municipality)))
        .order_by("pk")
        .values_list("pk", "taxpayer_id", "statutory_due_date", "levy__tax_item", "principal_outstanding")
    )
    last = 0
    while True:
        rows = list(qs.filter(pk__gt=last)[:CHUNK])
        if not rows:
            return
        last = rows[-1][0]
        yield rows


def _recheck(
    municipality: Municipality, as_of: date, years: dict[str, int], summary: RunSummary, dry_run: bool
) -> None:
    """Installments recorded as extinguished and not yet written off are decided again: a payment
    imported later with a 領収日 before the extinction (an acknowledgement, 民法152条) renews the
    period, so the claim was never extinguished — its 消滅 is withdrawn (``revived``)."""
    from choshu.relief.models import WriteOffLine  # noqa: PLC0415 - the same app's model

    qs = (
        Installment.objects.filter(municipality=municipality, extinguished_on__isnull=False)
        .exclude(pk__in=WriteOffLine.objects.filter(active=True).values("installment_id"))
        .order_by("pk")
        .values_list("pk", "statutory_due_date", "levy__tax_item")
    )
    last = 0
    while rows := list(qs.filter(pk__gt=last)[:CHUNK]):
        last = rows[-1][0]
        events = installment_events([r[0] for r in rows])
        revived = []
        for pk, due, tax_item in rows:
            r = compute(due, events.get(pk, []), years.get(tax_item, 5))
            if r.extinguished_on is None or r.extinguished_on > as_of:
                revived.append(pk)
        summary.revived += len(revived)
        if revived and not dry_run:
            Installment.objects.filter(pk__in=revived).update(extinguished_on=None, extinguished_reason="")
            Extinguishment.objects.filter(installment_id__in=revived).delete()


def prescription_run(
    *,
    municipality: Municipality,
    as_of: date,
    today: date,
    warn_months: int = 6,
    actor: Any = None,
    dry_run: bool = False,
) -> RunSummary:
    """Record every installment whose liability is extinguished on or before ``as_of`` (法18条, 15条の7)
    and list those that will be within ``warn_months`` months. All or nothing; ``dry_run`` counts only."""
    if as_of > today:
        raise ValidationError(
            f"判定の基準日 {as_of:%Y-%m-%d} は未来の日付です。本日（{today:%Y-%m-%d}）以前の日付を指定してください"
        )
    if not 0 <= warn_months <= 60:
        raise ValidationError(f"警告の月数は 0〜60 で指定してください（{warn_months}）")
    horizon = warning_horizon(as_of, months=warn_months)
    summary = RunSummary(as_of=as_of, dry_run=dry_run, warn_months=warn_months, warn_until=horizon)
    years = prescription_years(municipality.pk)
    user = actor if getattr(actor, "is_authenticated", False) else None
    with transaction.atomic():
        Municipality.objects.select_for_update().filter(pk=municipality.pk).first()  # runs take turns
        if not dry_run:
            PrescriptionWatch.objects.filter(municipality=municipality).delete()
        for rows in _candidates(municipality, horizon, min(years.values(), default=5)):
            summary.candidates += len(rows)
            events = installment_events([r[0] for r in rows])
            ended: dict[tuple[date, str], list[int]] = defaultdict(list)
            records, watch = [], []
            for pk, taxpayer_id, due, tax_item, outstanding in rows:
                r = compute(due, events.get(pk, []), years.get(tax_item, 5))
                if r.extinguished_on is None or r.reason is None or r.extinguished_on > horizon:
                    continue
                if r.extinguished_on <= as_of:
                    summary.extinguished += 1
                    summary.amount += outstanding
                    by = summary.by_reason.setdefault(r.reason, {"count": 0, "amount": 0})
                    by["count"] += 1
                    by["amount"] += outstanding
                    ended[(r.extinguished_on, r.reason)].append(pk)
                    records.append(
                        Extinguishment(
                            municipality=municipality,
                            installment_id=pk,
                            taxpayer_id=taxpayer_id,
                            extinguished_on=r.extinguished_on,
                            reason=r.reason,
                            principal=outstanding,
                            trail=list(r.trail),
                            run_as_of=as_of,
                            created_by=user,
                        )  # fmt: skip
                    )
                else:
                    summary.warned += 1
                    summary.warned_amount += outstanding
                    watch.append(
                        PrescriptionWatch(
                            municipality=municipality,
                            installment_id=pk,
                            taxpayer_id=taxpayer_id,
                            expected_on=r.extinguished_on,
                            reason=r.reason,
                            principal=outstanding,
                            run_as_of=as_of,
                        )  # fmt: skip
                    )
            if dry_run:
                continue
            for (on, reason), ids in ended.items():
                Installment.objects.filter(pk__in=ids, extinguished_on__isnull=True).update(
                    extinguished_on=on, extinguished_reason=reason
                )
            Extinguishment.objects.bulk_create(records)
            PrescriptionWatch.objects.bulk_create(watch)
        _recheck(municipality, as_of, years, summary, dry_run)
        if not dry_run:
            audit_record(
                kind=AuditKind.BATCH,
                function=FUNCTION,
                municipality=municipality,
                user=user,
                detail=summary.as_dict(),  # counts and amounts only, as the dunning run
            )
    return summary
