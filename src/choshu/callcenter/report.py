"""月次報告 (issue 20 §4): per month the targets, the people called, reached (someone answered:
promised, refused, call back or paid already), promised, and paid within 30 days of a call — any
payment posted in the ledger (``levies.LedgerEntry`` of a 収納 or 未消込充当 transaction not reversed)
to that person's installments with a 法定日 from the call's day to 30 days after — in total and by
operator code. Read in slices of 1,000 results with one ledger query per slice (bounded memory)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from typing import Any

from django.db.models import Exists, OuterRef
from django.utils import timezone

from choshu.callcenter.models import REACHED, CallOutcome, CallResult, CallTarget
from choshu.core.models import Municipality
from choshu.levies.models import LedgerEntry, LedgerTransaction, TxnKind

PAID_WITHIN_DAYS = 30
SLICE = 1000
FUNCTION = "催告センター月次報告"


@dataclass
class Line:
    operator: str
    calls: int = 0
    called: int = 0
    reached: int = 0
    promised: int = 0
    promised_amount: int = 0
    paid_within_30_days: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class MonthReport:
    month: str
    targets: int = 0
    total: Line = field(default_factory=lambda: Line("合計"))
    by_operator: list[Line] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"month": self.month, "targets": self.targets, **{k: v for k, v in self.total.as_dict().items() if k != "operator"},
                "by_operator": [x.as_dict() for x in self.by_operator]}  # fmt: skip


def _paid_days(taxpayer_ids: set[int], first: date, last: date) -> dict[int, set[date]]:
    reversed_ = LedgerTransaction.objects.filter(reverses_id=OuterRef("txn_id"))
    out: dict[int, set[date]] = defaultdict(set)
    for tp, on in (
        LedgerEntry.objects.filter(
            installment__taxpayer_id__in=list(taxpayer_ids),
            txn__kind__in=[TxnKind.PAYMENT, TxnKind.SUSPENSE_ASSIGN],
            txn__legal_date__gte=first,
            txn__legal_date__lte=last,
        )
        .exclude(Exists(reversed_))
        .values_list("installment__taxpayer_id", "txn__legal_date")
        .distinct()
    ):
        out[tp].add(on)
    return out


def month_report(municipality: Municipality, month: str) -> MonthReport:
    r = MonthReport(
        month=month, targets=CallTarget.objects.filter(municipality=municipality, month=month).count()
    )
    # per (operator or None for the total): target ids with each fact
    sets: dict[str | None, dict[str, set[int]]] = defaultdict(lambda: defaultdict(set))
    calls: dict[str | None, int] = defaultdict(int)
    promised_amount: dict[str | None, int] = defaultdict(int)
    qs = (
        CallResult.objects.filter(municipality=municipality, target__month=month)
        .order_by("pk")
        .values_list(
            "pk",
            "target_id",
            "target__taxpayer_id",
            "operator_code",
            "outcome",
            "called_at",
            "promise_amount",
        )
    )
    last = 0
    while True:
        rows = list(qs.filter(pk__gt=last)[:SLICE])
        if not rows:
            break
        last = rows[-1][0]
        days = [timezone.localtime(x[5]).date() for x in rows]
        paid = _paid_days({x[2] for x in rows}, min(days), max(days) + timedelta(days=PAID_WITHIN_DAYS))
        for (_, target, tp, op, outcome, _, amount), day in zip(rows, days, strict=True):
            end = day + timedelta(days=PAID_WITHIN_DAYS)
            was_paid = any(day <= on <= end for on in paid.get(tp, ()))
            for key in (None, op):
                calls[key] += 1
                sets[key]["called"].add(target)
                if outcome in REACHED:
                    sets[key]["reached"].add(target)
                if outcome == CallOutcome.PROMISED:
                    sets[key]["promised"].add(target)
                    promised_amount[key] += int(amount or 0)
                if was_paid:
                    sets[key]["paid"].add(target)

    def line(key: str | None) -> Line:
        s = sets[key]
        return Line(operator=key or "合計", calls=calls[key], called=len(s["called"]), reached=len(s["reached"]),
                    promised=len(s["promised"]), promised_amount=promised_amount[key],
                    paid_within_30_days=len(s["paid"]))  # fmt: skip

    r.total = line(None)
    r.by_operator = [line(op) for op in sorted(k for k in calls if k is not None)]
    return r
