"""Reads of 督促: a person's 督促状 and 督促停止 (the person page), and the 督促 dates that renew
prescription (``rules.prescription``: only the first 督促 of an installment counts)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from choshu.dunning.models import (
    DunningNotice,
    DunningNoticeInstallment,
    DunningSuppression,
    NoticeStatus,
    PublicNotice,
    ReturnedMail,
    SuppressionReason,
    suppressed_on,
)
from choshu.dunning.returned import ServiceDates, service_dates
from choshu.levies.models import Installment
from choshu.levies.tax_items import tax_item_name
from choshu.rules.prescription import (
    PrescriptionEvent,
    PrescriptionEventKind,
    PrescriptionResult,
    compute_extinguishment,
)
from choshu.taxpayers.models import Taxpayer


@dataclass(frozen=True)
class NoticeLine:
    installment: Installment
    principal: int
    late_charge: int
    prescription: PrescriptionResult  # with the 督促 (法18条の2: a new period after the 指定期限)


@dataclass(frozen=True)
class NoticeRow:
    notice: DunningNotice
    tax_item_name: str
    lines: list[NoticeLine]
    returned: ReturnedMail | None = None  # 返戻
    public_notice: PublicNotice | None = None  # 公示送達
    dates: ServiceDates | None = None  # 督促の効力, 指定期限 and 差押可能日 (from a 公示送達 if any)


@dataclass(frozen=True)
class SuppressionRow:
    suppression: DunningSuppression
    tax_item_name: str
    in_force: bool


@dataclass(frozen=True)
class DunningHistory:
    notices: list[NoticeRow]
    suppressions: list[SuppressionRow]


@dataclass(frozen=True)
class InstallmentMark:
    """What the person page shows beside an installment: its 督促 date and a 督促停止 in force."""

    dunned_on: date | None = None
    suppression: str = ""  # the reason's label, when a 督促停止 is in force on the day


def installment_marks(installment_ids: Sequence[int], *, on: date) -> dict[int, InstallmentMark]:
    """The 督促 and 督促停止 of these installments as of ``on`` (two queries)."""
    ids = list(installment_ids)
    dunned = dict(
        DunningNoticeInstallment.objects.filter(
            installment_id__in=ids, notice__status=NoticeStatus.ISSUED, notice__issued_on__lte=on
        ).values_list("installment_id", "notice__issued_on")
    )
    stopped: dict[int, str] = {}
    for inst_id, reason in (
        DunningSuppression.objects.filter(installment_id__in=ids)
        .filter(suppressed_on(on))
        .order_by("start", "pk")
    ).values_list("installment_id", "reason"):
        stopped[inst_id] = SuppressionReason(reason).label
    return {i: InstallmentMark(dunned.get(i), stopped.get(i, "")) for i in ids if i in dunned or i in stopped}


def prescription_events(installment_ids: Sequence[int]) -> dict[int, list[PrescriptionEvent]]:
    """The 督促 of each installment as a prescription event, one query: on = the issue date, or the
    day a 公示送達 is deemed served (法20条の2第2項) — the 督促 takes effect then, and
    ``rules.prescription`` starts the new period after its 指定期限."""
    found: dict[int, list[PrescriptionEvent]] = {}
    rows = DunningNoticeInstallment.objects.filter(
        installment_id__in=list(installment_ids), notice__status=NoticeStatus.ISSUED
    ).values_list("installment_id", "notice__issued_on", "notice__public_notice__deemed_served_on")
    for inst_id, issued_on, served_on in rows:
        on = served_on or issued_on
        found.setdefault(inst_id, []).append(PrescriptionEvent(PrescriptionEventKind.DUNNING, on))
    return found


def installment_prescription(
    installment: Installment, events: Sequence[PrescriptionEvent]
) -> PrescriptionResult:
    """When the installment's liability is extinguished given these events (法18条, 18条の2)."""
    return compute_extinguishment(statutory_due_date=installment.statutory_due_date, events=events)


def dunning_history(taxpayer: Taxpayer, *, on: date) -> DunningHistory:
    """A person's 督促状 (newest first, with their installments) and 督促停止 (in force on ``on`` or not):
    a fixed number of queries."""
    notices = list(
        DunningNotice.objects.filter(taxpayer=taxpayer)
        .select_related("slip", "returned_mail", "public_notice")
        .order_by("-issued_on", "-pk")
    )
    lines = list(
        DunningNoticeInstallment.objects.filter(notice__in=notices)
        .select_related("installment__levy")
        .order_by("installment__due_date", "installment_id")
    )
    events = prescription_events([x.installment_id for x in lines])
    by_notice: dict[int, list[NoticeLine]] = {}
    for x in lines:
        result = installment_prescription(x.installment, events.get(x.installment_id, []))
        by_notice.setdefault(x.notice_id, []).append(
            NoticeLine(x.installment, x.principal, x.late_charge, result)
        )
    m = taxpayer.municipality_id
    rows = []
    for n in notices:
        returned = getattr(n, "returned_mail", None)
        posted = getattr(n, "public_notice", None)
        rows.append(
            NoticeRow(
                n,
                tax_item_name(m, n.tax_item),
                by_notice.get(n.pk, []),
                returned,
                posted,
                service_dates(n, posted),
            )  # fmt: skip
        )
    in_force = set(
        DunningSuppression.objects.filter(taxpayer=taxpayer)
        .filter(suppressed_on(on))
        .values_list("pk", flat=True)
    )
    suppressions = [
        SuppressionRow(s, tax_item_name(m, s.installment.levy.tax_item), s.pk in in_force)
        for s in DunningSuppression.objects.filter(taxpayer=taxpayer)
        .select_related("installment__levy", "created_by", "ended_by")
        .order_by("-start", "-pk")
    ]
    return DunningHistory(rows, suppressions)
