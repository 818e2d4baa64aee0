"""不納欠損 (issue 18 §8; law.md §f): propose, approve (決裁), book, and the year-end list.

``write_off_run`` proposes every extinguished installment (``Installment.extinguished_on`` on or before
the end of the fiscal year, 3月31日) not yet in a pending or booked write-off, split into 本税 /
延滞金 / 督促手数料 and by reason (時効 法18条1項, 執行停止3年 法15条の7第4項, 即時消滅 同第5項). Nothing is
booked until a second person with the approval right approves the request (``approvals``); the
approval posts one ``write_off`` ledger transaction per installment: the receivable (本税 and
督促手数料) is credited and the ``write_off`` account debited, so the installment's 未納額 becomes 0
while its 調定額 and 収納額 stay as they were (``levies.ledger.cache_deltas``; ``verify-ledger`` proves
the cache against the entries). The 延滞金 is 調定即収納 in this ledger (never a receivable): its
written-off figure (accrued up to the day before the extinction, less what was paid) is kept on the
line for the accounts and is not posted.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, Sum

from choshu.accounts.models import User
from choshu.accounts.permissions import Right, has_right
from choshu.approvals.models import ApprovalStatus, ChangeRequest, RequestKind
from choshu.approvals.services import request_create
from choshu.audit.models import AuditKind
from choshu.audit.services import audit_record
from choshu.core.models import Municipality
from choshu.formats.csv_safe import csv_stream
from choshu.levies.exemptions import late_charge_exemptions
from choshu.levies.ledger import Leg, Posting, post_many
from choshu.levies.models import Account, Component, Installment, LedgerEntry, TxnKind
from choshu.levies.selectors import late_charge_result
from choshu.levies.tax_items import tax_item_name
from choshu.receipts.engine import installment_history
from choshu.relief.models import ExtinctionReason, WriteOffBatch, WriteOffLine, WriteOffStatus

CHUNK = 1000
FUNCTION = "不納欠損の起案"
REQUEST_LABELS = {
    "batch": "不納欠損の起案番号",
    "fiscal_year": "会計年度",
    "count": "件数",
    "principal": "本税",
    "late_charge": "延滞金",
    "dunning_fee": "督促手数料",
}


def fiscal_year_end(fiscal_year: int) -> date:
    """会計年度 (地方自治法208条: 4月1日〜翌年3月31日) — its last day."""
    return date(fiscal_year + 1, 3, 31)


@dataclass
class Split:
    count: int = 0
    principal: int = 0
    late_charge: int = 0
    dunning_fee: int = 0

    @property
    def total(self) -> int:
        return self.principal + self.late_charge + self.dunning_fee

    def add(self, principal: int, late_charge: int, dunning_fee: int) -> None:
        self.count += 1
        self.principal += principal
        self.late_charge += late_charge
        self.dunning_fee += dunning_fee

    def as_dict(self) -> dict[str, int]:
        return {
            "count": self.count,
            "principal": self.principal,
            "late_charge": self.late_charge,
            "dunning_fee": self.dunning_fee,
            "total": self.total,
        }


@dataclass
class WriteOffSummary:
    fiscal_year: int
    dry_run: bool
    totals: Split = field(default_factory=Split)
    by_reason: dict[str, Split] = field(default_factory=dict)
    batch_id: int | None = None
    request_id: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "fiscal_year": self.fiscal_year,
            "dry_run": self.dry_run,
            **self.totals.as_dict(),
            "by_reason": {k: v.as_dict() for k, v in sorted(self.by_reason.items())},
            "batch_id": self.batch_id,
            "request_id": self.request_id,
        }


def fees_receivable(installment_ids: Sequence[int]) -> dict[int, int]:
    """督促手数料 still receivable per installment (every entry on it: booked, paid, written off)."""
    rows = (
        LedgerEntry.objects.filter(
            installment_id__in=list(installment_ids),
            account=Account.RECEIVABLE,
            component=Component.DUNNING_FEE,
        )
        .values_list("installment_id")
        .annotate(total=Sum("amount"))
        .order_by()
    )
    return {int(i): max(0, int(t)) for i, t in rows if t}


def late_charges_at_extinction(rows: Sequence[tuple[int, int, date, date]]) -> dict[int, int]:
    """延滞金 accrued up to the day before each extinction (the last day it could be collected), less
    what was paid — ``rules.late_charge`` on the installment's payments. ``rows``: (id, 調定額本税,
    延滞金起算基準日, 消滅日). An unknown year's rate counts as 0 (shown as such on the line)."""
    history = installment_history([r[0] for r in rows])
    exempted = late_charge_exemptions(r[0] for r in rows)  # 法15条の9: an 執行停止 ending in extinction
    out = {}
    for pk, levied, base, ended in rows:
        payments, paid = history.get(pk, ([], 0))
        result = late_charge_result(levied, base, ended - timedelta(days=1), payments, exempted.get(pk, ()))
        out[pk] = 0 if result is None else max(0, result.late_charge - paid)
    return out


def _release_declined(municipality: Municipality) -> None:
    """A write-off whose request was rejected or withdrawn frees its installments for a new proposal."""
    declined = WriteOffBatch.objects.filter(
        municipality=municipality,
        status=WriteOffStatus.PENDING,
        request__status__in=[ApprovalStatus.REJECTED, ApprovalStatus.WITHDRAWN],
    )
    for batch in declined.select_for_update():
        WriteOffLine.objects.filter(batch=batch).update(active=False)
        batch.status = WriteOffStatus.REJECTED
        batch.save(update_fields=["status"])


def _candidates(municipality: Municipality, fiscal_year: int) -> Iterator[list[tuple[Any, ...]]]:
    qs = (
        Installment.objects.filter(
            municipality=municipality,
            extinguished_on__isnull=False,
            extinguished_on__lte=fiscal_year_end(fiscal_year),
        )
        .exclude(pk__in=WriteOffLine.objects.filter(active=True).values("installment_id"))
        .order_by("pk")
        .values_list(
            "pk",
            "taxpayer_id",
            "levy__tax_item",
            "levy__levy_year",
            "extinguished_reason",
            "extinguished_on",
            "principal_outstanding",
            "principal_levied",
            "late_charge_base_date",
        )  # fmt: skip
    )
    last = 0
    while True:
        rows = list(qs.filter(pk__gt=last)[:CHUNK])
        if not rows:
            return
        last = rows[-1][0]
        yield rows


def write_off_run(
    *,
    municipality: Municipality,
    fiscal_year: int,
    actor: Any = None,
    dry_run: bool = False,
    reason: str = "",
) -> WriteOffSummary:
    """Propose the fiscal year's 不納欠損 (``dry_run``: count only). A proposal needs a staff member with
    the write-off right (``actor``) and creates the request a second person approves."""
    if not 2000 <= fiscal_year <= 2100:
        raise ValidationError(f"会計年度が不正です: {fiscal_year}（西暦の4桁で指定してください）")
    summary = WriteOffSummary(fiscal_year=fiscal_year, dry_run=dry_run)
    if not dry_run:
        if actor is None or not has_right(actor, Right.WRITE_OFF):
            raise PermissionDenied(
                "不納欠損を起案する権限がありません（--operator に権限のある職員を指定してください）"
            )
        if actor.municipality_id != municipality.pk:
            raise PermissionDenied("他の自治体の不納欠損は起案できません")
    with transaction.atomic():
        Municipality.objects.select_for_update().filter(pk=municipality.pk).first()  # runs take turns
        _release_declined(municipality)
        batch = None
        for rows in _candidates(municipality, fiscal_year):
            ids = [r[0] for r in rows]
            fees = fees_receivable(ids)
            charges = late_charges_at_extinction([(r[0], r[7], r[8], r[5]) for r in rows])
            lines = []
            for pk, taxpayer_id, tax_item, levy_year, why, ended, outstanding, _, _ in rows:
                principal, fee, charge = max(0, outstanding), fees.get(pk, 0), charges.get(pk, 0)
                if principal == 0 and fee == 0 and charge == 0:
                    continue  # nothing left to write off (paid before it ended)
                summary.totals.add(principal, charge, fee)
                summary.by_reason.setdefault(why, Split()).add(principal, charge, fee)
                if dry_run:
                    continue
                if batch is None:
                    batch = WriteOffBatch.objects.create(
                        municipality=municipality, fiscal_year=fiscal_year, created_by=actor
                    )
                lines.append(
                    WriteOffLine(
                        batch=batch,
                        installment_id=pk,
                        taxpayer_id=taxpayer_id,
                        tax_item=tax_item,
                        levy_year=levy_year,
                        reason=why,
                        extinguished_on=ended,
                        principal=principal,
                        late_charge=charge,
                        dunning_fee=fee,
                    )  # fmt: skip
                )
            WriteOffLine.objects.bulk_create(lines)
        if batch is not None:
            counts = summary.as_dict()
            req = request_create(
                actor=actor,
                kind=RequestKind.WRITE_OFF,
                reason=reason.strip() or f"{fiscal_year}年度 不納欠損（消滅した徴収金）",
                payload={
                    "batch": batch.pk,
                    "fiscal_year": fiscal_year,
                    "count": counts["count"],
                    "principal": counts["principal"],
                    "late_charge": counts["late_charge"],
                    "dunning_fee": counts["dunning_fee"],
                },
                required_right=Right.WRITE_OFF,
            )
            batch.request, batch.counts = req, counts
            batch.save(update_fields=["request", "counts"])
            summary.batch_id, summary.request_id = batch.pk, req.pk
            audit_record(
                kind=AuditKind.BATCH,
                function=FUNCTION,
                municipality=municipality,
                user=actor,
                detail={**counts, "batch_id": batch.pk, "request_id": req.pk},
            )
    return summary


def apply_write_off(req: ChangeRequest, approver: User, decided_on: date) -> None:
    """The approved write-off is booked: one ledger transaction per installment on ``decided_on``
    (法定日 = its 消滅日). An amount paid meanwhile (a 領収日 before the extinction, imported late) is
    not written off: the line is brought down to what is still receivable."""
    batch = WriteOffBatch.objects.select_for_update().get(
        pk=req.payload["batch"], municipality=req.municipality
    )
    if batch.status != WriteOffStatus.PENDING:
        raise ValidationError(f"この不納欠損は既に「{batch.get_status_display()}」です")
    municipality = batch.municipality
    lines = WriteOffLine.objects.filter(batch=batch, active=True).order_by("pk")
    last = 0
    booked = Split()
    while True:
        chunk = list(lines.filter(pk__gt=last)[:CHUNK])
        if not chunk:
            break
        last = chunk[-1].pk
        ids = [x.installment_id for x in chunk]
        outstanding = dict(
            Installment.objects.select_for_update()
            .filter(pk__in=ids)
            .values_list("pk", "principal_outstanding")
        )
        fees = fees_receivable(ids)
        postings, posted = [], []
        for x in chunk:
            principal = max(0, min(x.principal, outstanding.get(x.installment_id, 0)))
            fee = max(0, min(x.dunning_fee, fees.get(x.installment_id, 0)))
            if (principal, fee) != (x.principal, x.dunning_fee):
                x.principal, x.dunning_fee = principal, fee
                x.save(update_fields=["principal", "dunning_fee"])
            booked.add(principal, x.late_charge, fee)
            legs = []
            for component, amount in ((Component.PRINCIPAL, principal), (Component.DUNNING_FEE, fee)):
                if amount:
                    legs += [
                        Leg(Account.RECEIVABLE, -amount, component, installment_id=x.installment_id,
                            taxpayer_id=x.taxpayer_id),
                        Leg(Account.WRITE_OFF, amount, component, installment_id=x.installment_id,
                            taxpayer_id=x.taxpayer_id),
                    ]  # fmt: skip
            if legs:
                postings.append(
                    Posting(
                        kind=TxnKind.WRITE_OFF,
                        legal_date=x.extinguished_on,
                        booking_date=decided_on,
                        legs=legs,
                        memo=f"不納欠損 {ExtinctionReason(x.reason).label} 決裁#{req.pk}",
                    )
                )
                posted.append(x)
        txn_ids = post_many(municipality=municipality, postings=postings, actor=approver)
        for x, txn_id in zip(posted, txn_ids, strict=True):
            x.txn_id = txn_id
        WriteOffLine.objects.bulk_update(posted, ["txn"])
    batch.status, batch.booked_on = WriteOffStatus.BOOKED, decided_on
    batch.counts = {**batch.counts, "booked": booked.as_dict()}
    batch.save(update_fields=["status", "booked_on", "counts"])
    audit_record(
        kind=AuditKind.CHANGE,
        function="不納欠損の計上（決裁）",
        municipality=municipality,
        user=approver,
        detail={"batch": batch.pk, "request": req.pk, **booked.as_dict()},
    )


# --- the year-end list (決算: 不納欠損額の内訳) ----------------------------------------------------------


@dataclass(frozen=True)
class YearEndRow:
    tax_item: str
    tax_item_name: str
    reason: str
    reason_label: str
    count: int
    principal: int
    late_charge: int
    dunning_fee: int

    @property
    def total(self) -> int:
        return self.principal + self.late_charge + self.dunning_fee


def year_end_rows(municipality: Municipality, fiscal_year: int) -> tuple[list[YearEndRow], Split]:
    """Booked write-offs of a fiscal year per tax item and reason, with the totals (one grouped query)."""
    rows = (
        WriteOffLine.objects.filter(
            batch__municipality=municipality,
            batch__fiscal_year=fiscal_year,
            batch__status=WriteOffStatus.BOOKED,
        )
        .values("tax_item", "reason")
        .annotate(n=Count("pk"), p=Sum("principal"), c=Sum("late_charge"), f=Sum("dunning_fee"))
        .order_by("tax_item", "reason")
    )
    out, totals = [], Split()
    for r in rows:
        row = YearEndRow(
            r["tax_item"], tax_item_name(municipality.pk, r["tax_item"]), r["reason"],
            ExtinctionReason(r["reason"]).label, int(r["n"]), int(r["p"]), int(r["c"]), int(r["f"]),
        )  # fmt: skip
        out.append(row)
        totals.count += row.count
        totals.principal += row.principal
        totals.late_charge += row.late_charge
        totals.dunning_fee += row.dunning_fee
    return out, totals


CSV_HEADER = ["会計年度", "税目コード", "税目", "消滅事由", "件数", "本税", "延滞金", "督促手数料", "合計"]


def year_end_csv(municipality: Municipality, fiscal_year: int) -> bytes:
    """The year-end list as CP932 CSV (CRLF; every cell through ``formats.csv_safe``)."""
    rows, totals = year_end_rows(municipality, fiscal_year)
    lines: list[list[Any]] = [
        [fiscal_year, r.tax_item, r.tax_item_name, r.reason_label, r.count, r.principal, r.late_charge,
         r.dunning_fee, r.total]
        for r in rows
    ]  # fmt: skip
    lines.append([fiscal_year, "", "合計", "", totals.count, totals.principal, totals.late_charge,
                  totals.dunning_fee, totals.total])  # fmt: skip
    return "".join(csv_stream(CSV_HEADER, lines, bom=False)).encode("cp932", errors="replace")
