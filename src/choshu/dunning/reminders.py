"""催告書 (issue 15 §3): build a target list by criteria, review it, exclude by hand, issue it as a batch.

The selection is one query over the installments (``target_installments``): every installment of the
municipality with 本税 outstanding, its 納期限 at least ``days_overdue`` days before the list's date,
of the chosen tax items and levy years, (by default) already dunned — a 催告 follows the 督促 — not
under a 督促停止 on the list's date, and of a person not excluded by hand; people are then kept when
their 本税 total lies in the amount range. Counts and totals are aggregates of that query; the
review pages the people (50 at a time) with their 延滞金 as of the list's date. Issuing writes, per
slice of 1,000 people, one letter each with one combined slip for all the person's chosen arrears
(本税 + 延滞金 as of ``as_of`` + unpaid 督促手数料), its lines, all with bulk inserts, in one
transaction with one audit record. A person under 支援措置 on the issue date gets a letter marked
for in-office printing (``print_in_office``), never for a print vendor.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Sum
from django.utils import timezone

from choshu.audit.models import AuditKind, AuditSubjectType
from choshu.audit.services import audit_record
from choshu.core.bulk import insert_rows, reserve_id_block
from choshu.core.models import Municipality
from choshu.dunning.models import (
    DunningNoticeInstallment,
    DunningSuppression,
    ReminderExclusion,
    ReminderLetter,
    ReminderLetterInstallment,
    ReminderList,
    ReminderListStatus,
    suppressed_on,
)
from choshu.dunning.slips import CombinedSlips, SlipRow
from choshu.levies.models import Installment
from choshu.levies.selectors import AmountDue, amounts_due
from choshu.taxpayers.models import Taxpayer
from choshu.taxpayers.protection import active_on

SLICE = 1000
FUNCTION_ISSUE = "催告書の一括発付"
FUNCTION_LIST = "催告対象リストの作成・変更"


@dataclass(frozen=True)
class Criteria:
    """抽出条件 (saved as JSON on the list). Empty means "any"."""

    tax_items: tuple[str, ...] = ()
    levy_year_from: int | None = None
    levy_year_to: int | None = None
    amount_min: int | None = None  # 本税 total per person, yen
    amount_max: int | None = None
    days_overdue: int = 0  # at least this many days past the 納期限 on the list's date
    dunned_only: bool = True
    postal_prefix: str = ""  # 地区: the first digits of the 郵便番号

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["tax_items"] = list(self.tax_items)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Criteria:
        return cls(**{**data, "tax_items": tuple(data.get("tax_items", ()))})


def _refused(message: str) -> ValidationError:
    return ValidationError(message, code="refused")


def target_installments(rl: ReminderList) -> QuerySet[Installment]:
    """The installments the list chooses (before the per-person amount range)."""
    c = Criteria.from_json(rl.criteria)
    qs = Installment.objects.filter(
        municipality_id=rl.municipality_id,
        principal_outstanding__gt=0,
        due_date__lte=rl.as_of - timedelta(days=c.days_overdue),
    ).filter(Q(extinguished_on__isnull=True) | Q(extinguished_on__gt=rl.as_of))  # 消滅 (relief): no 催告
    if c.tax_items:
        qs = qs.filter(levy__tax_item__in=c.tax_items)
    if c.levy_year_from is not None:
        qs = qs.filter(levy__levy_year__gte=c.levy_year_from)
    if c.levy_year_to is not None:
        qs = qs.filter(levy__levy_year__lte=c.levy_year_to)
    if c.dunned_only:
        qs = qs.filter(Exists(DunningNoticeInstallment.objects.filter(installment=OuterRef("pk"))))
    if c.postal_prefix:
        qs = qs.filter(taxpayer__postal_code__startswith=c.postal_prefix)
    suppressed = DunningSuppression.objects.filter(installment=OuterRef("pk")).filter(suppressed_on(rl.as_of))
    excluded = ReminderExclusion.objects.filter(reminder_list=rl, taxpayer=OuterRef("taxpayer_id"))
    return qs.exclude(Exists(suppressed)).exclude(Exists(excluded))


def target_people(rl: ReminderList) -> QuerySet[Any]:
    """Per person: 本税 total and installment count, within the amount range (one grouped query)."""
    c = Criteria.from_json(rl.criteria)
    people = (
        target_installments(rl)
        .order_by()
        .values("taxpayer_id")
        .annotate(principal=Sum("principal_outstanding"), installments=Count("pk"))
    )
    if c.amount_min is not None:
        people = people.filter(principal__gte=c.amount_min)
    if c.amount_max is not None:
        people = people.filter(principal__lte=c.amount_max)
    return people.order_by("taxpayer_id")


@dataclass
class Review:
    people: int = 0
    installments: int = 0
    principal: int = 0
    excluded: int = 0
    by_tax_item: dict[str, dict[str, int]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def review(rl: ReminderList) -> Review:
    """Counts and 本税 totals of the list as it stands (aggregates; no row is read into Python)."""
    people = target_people(rl)
    kept = target_installments(rl).filter(taxpayer_id__in=people.values("taxpayer_id"))
    totals = people.aggregate(n=Count("taxpayer_id"))  # grouped rows counted by the database
    result = Review(people=int(totals["n"] or 0), excluded=rl.exclusions.count())
    for row in (
        kept.order_by().values("levy__tax_item").annotate(n=Count("pk"), p=Sum("principal_outstanding"))
    ):
        item = str(row["levy__tax_item"])
        result.by_tax_item[item] = {"installments": int(row["n"]), "principal": int(row["p"] or 0)}
        result.installments += int(row["n"])
        result.principal += int(row["p"] or 0)
    return result


def _check_draft(rl: ReminderList) -> None:
    if rl.status != ReminderListStatus.DRAFT:
        raise _refused(
            f"催告対象リスト「{rl.name}」は発付済みです。条件を変えるには新しいリストを作成してください"
        )


def _check_dates(as_of: date, pay_by: date, today: date) -> None:
    if as_of > today + timedelta(days=60):
        raise _refused("延滞金の計算基準日が先すぎます（本日から60日以内にしてください）")
    if pay_by < today:
        raise _refused(f"納付期限 {pay_by:%Y-%m-%d} が過ぎています。本日以降の日付にしてください")


def list_save(
    *, actor: Any, municipality: Municipality, name: str, criteria: Criteria, as_of: date, pay_by: date,
    today: date, reminder_list: ReminderList | None = None,
) -> ReminderList:  # fmt: skip
    """Create or change a draft list (an audit record of kind change)."""
    _check_dates(as_of, pay_by, today)
    with transaction.atomic():
        if reminder_list is None:
            rl = ReminderList(municipality=municipality, created_by=actor)
        else:
            rl = ReminderList.objects.select_for_update().get(pk=reminder_list.pk, municipality=municipality)
            _check_draft(rl)
        rl.name, rl.criteria, rl.as_of, rl.pay_by = name, criteria.as_json(), as_of, pay_by
        rl.save()
        audit_record(
            kind=AuditKind.CHANGE,
            function=FUNCTION_LIST,
            municipality=municipality,
            user=actor,
            detail={
                "list": rl.pk,
                "name": name,
                "criteria": rl.criteria,
                "as_of": as_of.isoformat(),
                "pay_by": pay_by.isoformat(),
            },  # fmt: skip
        )
    return rl


def exclusion_add(
    *, actor: Any, reminder_list: ReminderList, taxpayer: Taxpayer, reason: str
) -> ReminderExclusion:
    if not reason.strip():
        raise _refused("除外の理由を入力してください")
    if taxpayer.municipality_id != reminder_list.municipality_id:
        raise _refused("この団体の宛名ではありません")
    with transaction.atomic():
        rl = ReminderList.objects.select_for_update().get(pk=reminder_list.pk)
        _check_draft(rl)
        if ReminderExclusion.objects.filter(reminder_list=rl, taxpayer=taxpayer).exists():
            raise _refused(f"宛名番号 {taxpayer.taxpayer_no} はすでに除外されています")
        exclusion = ReminderExclusion.objects.create(
            reminder_list=rl, taxpayer=taxpayer, reason=reason.strip(), created_by=actor
        )
        audit_record(
            kind=AuditKind.CHANGE,
            function="催告対象からの除外",
            municipality=rl.municipality,
            user=actor,
            subject_type=AuditSubjectType.TAXPAYER,
            subject_ids=[taxpayer.pk],
            detail={"list": rl.pk, "reason": reason.strip()},
        )
    return exclusion


def exclusion_remove(*, actor: Any, exclusion: ReminderExclusion) -> None:
    with transaction.atomic():
        rl = ReminderList.objects.select_for_update().get(pk=exclusion.reminder_list_id)
        _check_draft(rl)
        taxpayer_id = exclusion.taxpayer_id
        exclusion.delete()
        audit_record(
            kind=AuditKind.CHANGE,
            function="催告対象への除外の取消",
            municipality=rl.municipality,
            user=actor,
            subject_type=AuditSubjectType.TAXPAYER,
            subject_ids=[taxpayer_id],
            detail={"list": rl.pk},
        )


def _slices(rl: ReminderList) -> Iterator[list[int]]:
    """The list's people, ``SLICE`` at a time (keyset on the taxpayer id)."""
    last = 0
    people = target_people(rl)
    while True:
        ids = [int(r["taxpayer_id"]) for r in people.filter(taxpayer_id__gt=last)[:SLICE]]
        if not ids:
            return
        last = ids[-1]
        yield ids


@dataclass
class _Letter:
    taxpayer_id: int
    lines: list[AmountDue]
    blocked: bool

    @property
    def principal(self) -> int:
        return sum(a.principal_due for a in self.lines)

    @property
    def late_charge(self) -> int:
        return sum(a.late_charge or 0 for a in self.lines)

    @property
    def fee(self) -> int:
        return sum(a.dunning_fee for a in self.lines)

    @property
    def total(self) -> int:
        return self.principal + self.late_charge + self.fee


def _letters(rl: ReminderList, taxpayer_ids: Sequence[int]) -> list[_Letter]:
    chosen = list(target_installments(rl).filter(taxpayer_id__in=taxpayer_ids).values_list("pk", flat=True))
    blocked = set(
        Taxpayer.objects.filter(pk__in=taxpayer_ids).filter(active_on(rl.as_of)).values_list("pk", flat=True)
    )
    grouped: dict[int, _Letter] = {}
    for a in amounts_due(taxpayer_ids=taxpayer_ids, as_of=rl.as_of, installment_ids=chosen):
        if a.principal_due <= 0:
            continue
        if a.late_charge is None:
            raise _refused(
                f"延滞金の割合が設定されていない年があります（納期限 {a.due_date}）。rules/params の延滞金の割合を"
                "追加してから発付してください（何も発付していません）"
            )
        grouped.setdefault(a.taxpayer_id, _Letter(a.taxpayer_id, [], a.taxpayer_id in blocked)).lines.append(
            a
        )
    return [grouped[t] for t in sorted(grouped)]


@dataclass
class IssueSummary:
    letters: int = 0
    installments: int = 0
    blocked: int = 0
    principal: int = 0
    late_charge: int = 0
    fee: int = 0
    total: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def list_issue(*, actor: Any, reminder_list: ReminderList, today: date) -> IssueSummary:
    """Issue the list: one 催告書 per person with one combined slip, all or nothing; once only."""
    summary = IssueSummary()
    with transaction.atomic():
        Municipality.objects.select_for_update().filter(pk=reminder_list.municipality_id).first()
        rl = ReminderList.objects.select_for_update().get(pk=reminder_list.pk)
        _check_draft(rl)
        _check_dates(rl.as_of, rl.pay_by, today)
        user_id = actor.pk if getattr(actor, "is_authenticated", False) else None
        slips = CombinedSlips(rl.municipality, issued_on=today, pay_by=rl.pay_by, user_id=user_id)
        for ids in _slices(rl):
            letters = [x for x in _letters(rl, ids) if x.total > 0]
            if not letters:
                continue
            slip_ids = slips.write(
                [SlipRow(x.taxpayer_id, x.total, [a.installment_id for a in x.lines]) for x in letters]
            )
            letter_ids = reserve_id_block(ReminderLetter, len(letters))
            insert_rows(
                ReminderLetter,
                (
                    "id",
                    "municipality_id",
                    "reminder_list_id",
                    "taxpayer_id",
                    "issued_on",
                    "as_of",
                    "pay_by",
                    "principal",
                    "late_charge",
                    "fee",
                    "total",
                    "slip_id",
                    "print_in_office",
                ),  # fmt: skip
                [
                    (
                        lid,
                        rl.municipality_id,
                        rl.pk,
                        x.taxpayer_id,
                        today,
                        rl.as_of,
                        rl.pay_by,
                        x.principal,
                        x.late_charge,
                        x.fee,
                        x.total,
                        sid,
                        x.blocked,
                    )  # fmt: skip
                    for lid, sid, x in zip(letter_ids, slip_ids, letters, strict=True)
                ],
            )
            insert_rows(
                ReminderLetterInstallment,
                ("letter_id", "installment_id", "principal", "late_charge", "fee"),
                [
                    (lid, a.installment_id, a.principal_due, a.late_charge or 0, a.dunning_fee)
                    for lid, x in zip(letter_ids, letters, strict=True)
                    for a in x.lines
                ],
            )
            for x in letters:
                summary.letters += 1
                summary.installments += len(x.lines)
                summary.blocked += int(x.blocked)
                summary.principal += x.principal
                summary.late_charge += x.late_charge
                summary.fee += x.fee
                summary.total += x.total
        rl.status = ReminderListStatus.ISSUED
        rl.issued_by = actor if getattr(actor, "is_authenticated", False) else None
        rl.issued_at = timezone.now()
        rl.counts = summary.as_dict()
        rl.save(update_fields=["status", "issued_by", "issued_at", "counts"])
        audit_record(
            kind=AuditKind.BATCH,
            function=FUNCTION_ISSUE,
            municipality=rl.municipality,
            user=actor,
            detail={"list": rl.pk, "name": rl.name, **summary.as_dict()},  # counts only
        )
    return summary
