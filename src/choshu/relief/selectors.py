"""Reads of 時効 for the screens: a person's installments with their extinction date and its why, and
the list of claims the latest prescription run found extinguishing soon."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from django.db.models import Q, QuerySet

from choshu.core.models import Municipality
from choshu.formats.display import wareki_short
from choshu.levies.models import Installment
from choshu.levies.tax_items import tax_item_name
from choshu.relief.models import PrescriptionWatch, Relief
from choshu.relief.prescription import installment_prescriptions
from choshu.rules.prescription import REASON_LABELS, PrescriptionResult


@dataclass(frozen=True)
class PrescriptionRow:
    installment: Installment
    tax_item_name: str
    result: PrescriptionResult  # as computed now from the events
    extinguished_on: date | None  # as recorded by prescription-run
    reason_label: str
    why: list[str]  # the rules' derivation in Japanese, dates in 和暦

    @property
    def expected_on(self) -> date | None:
        return self.extinguished_on or self.result.extinguished_on


def why_lines(result: PrescriptionResult) -> list[str]:
    """``rules.prescription``'s Japanese steps with their dates in 和暦 (「R6.7.21」)."""
    return [text.format(*(wareki_short(d) if d else "－" for d in dates)) for text, dates in result.why]


def person_prescriptions(taxpayer_ids: Sequence[int]) -> list[PrescriptionRow]:
    """The installments of these people with 本税 outstanding or extinguished, oldest 法定納期限 first,
    each with its extinction date and the rules' derivation (a fixed number of queries)."""
    installments = list(
        Installment.objects.filter(taxpayer_id__in=list(taxpayer_ids))
        .filter(Q(principal_outstanding__gt=0) | Q(extinguished_on__isnull=False))
        .select_related("levy")
        .order_by("statutory_due_date", "pk")
    )
    computed = installment_prescriptions(installments)
    rows = []
    for inst in installments:
        c = computed[inst.pk]
        reason = inst.extinguished_reason or (c.result.reason or "")
        rows.append(
            PrescriptionRow(
                installment=inst,
                tax_item_name=tax_item_name(inst.municipality_id, inst.levy.tax_item),
                result=c.result,
                extinguished_on=inst.extinguished_on,
                reason_label=REASON_LABELS.get(reason, ""),
                why=why_lines(c.result),
            )
        )
    return rows


def watch_list(municipality: Municipality, *, until: date | None = None) -> QuerySet[PrescriptionWatch]:
    """Claims the latest prescription run found extinguishing within its window (soonest first)."""
    qs = PrescriptionWatch.objects.filter(municipality=municipality)
    if until is not None:
        qs = qs.filter(expected_on__lte=until)
    return qs.select_related("taxpayer", "installment__levy").order_by("expected_on", "pk")


def person_reliefs(taxpayer_ids: Sequence[int]) -> list[Relief]:
    """The 緩和制度 of these people, newest first (one query)."""
    return list(Relief.objects.filter(taxpayer_id__in=list(taxpayer_ids)).order_by("-start", "-pk"))
