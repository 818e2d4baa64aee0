"""分納誓約 (issue 18 §5): build a schedule, record the pledge, cancel, and ``plans-check``.

The amount a plan must cover (``plan_quote``) is, for the chosen installments, the 本税 still owed and
the 督促手数料 booked on them — and, only when the office ticks 「延滞金を含める」, the 延滞金 as it will
stand on the **last** instalment's date (``levies.selectors.amounts_due`` with that date as 計算基準日,
the counter's and the slips' source). Without it the 延滞金 is not part of the pledge: it keeps running
on the unpaid 本税 (法56条 etc.) and is collected afterwards (the plan detail shows today's figure). The
schedule must total exactly that amount: a pledge for less would leave part of the arrears without a
date, a pledge for more would promise an overpayment.

**Equal instalments** (``equal_schedule``): N instalments a month apart from the first date; each is
the total divided by N rounded down to whole thousands of yen (to whole yen below 1,000 yen a
month), and the remainder is added to the **first** instalment. The first: the earliest payment
reduces the oldest arrears (and the 本税 the 延滞金 runs on) soonest, and the later instalments — the
ones the person budgets for month after month — stay one round, equal figure. Worked example:
100,000 yen over 3 → 34,000 + 33,000 + 33,000.

**The pledge** (``plan_pledge``, 作成中 → 誓約中) records the 誓約日 — an acknowledgement of the debt
(承認, 民法152条 applied by 地方税法18条3項): the prescription of every covered installment starts again
on that day (``pledge_events``, registered with ``relief.prescription.register_event_source``) —
issues one 納付書 per instalment (a combined slip over the covered installments for the instalment's
amount, payable by its date: ``receipts.slips.combined_slip_issue``; a payment is placed on the
covered installments oldest first by the payment engine) and suppresses 督促・催告 on the covered
installments while the plan runs (``dunning.DunningSuppression``, reason 分納（納付誓約）; ended when
the plan is completed, defaulted or cancelled).

**Monitoring** (``plans_check``): the payments on the covered installments since the 誓約日 (the
ledger's credits to their 本税・督促手数料 receivable and 延滞金, net of reversals) are applied to the
instalments in date order; an instalment is 納付済 on the day the running total reached it. An unpaid
instalment is 未納 once its date plus the grace days (``PlanSetting``) has passed; the plan is 不履行
at the ``misses_to_default``-th miss, 履行完了 when every instalment is paid. Each result is derived
from the ledger on every run, so a second run changes nothing (idempotent). The cases app moves the
case's stage (分納中 / 交渉中) from the signal ``signals.plan_status_changed``: ``cases`` is above this
app and listens; this app never imports it.
"""

from __future__ import annotations

import calendar
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from choshu.accounts.permissions import Right, has_right
from choshu.audit.models import AuditKind, AuditSubjectType
from choshu.audit.services import audit_record
from choshu.core.models import Municipality
from choshu.dunning.models import DunningSuppression, SuppressionReason
from choshu.levies.ledger import PAID_KINDS
from choshu.levies.models import Account, Installment, LedgerEntry
from choshu.levies.selectors import amounts_due
from choshu.plans.models import (
    InstalmentStatus,
    PaymentPlan,
    PlanInstalment,
    PlanMethod,
    PlanSetting,
    PlanStatus,
    PlanStatusChange,
)
from choshu.plans.signals import plan_status_changed
from choshu.receipts.slips import combined_slip_issue
from choshu.rules.prescription import PrescriptionEvent, PrescriptionEventKind
from choshu.taxpayers.models import Taxpayer

# The default when the municipality has recorded no setting. There is no statutory grace period for
# a 分納誓約 (it is not a 猶予 under 法15条; law.md §f): 10 days mirrors the 10 days after a 督促状 the
# law itself waits before 滞納処分 (地方税法331条1項, 373条1項 etc.: 「督促状を発した日から起算して十日を
# 経過した日までに完納しないとき」), and a second miss — not a first, which is often a day's slip —
# makes the plan 不履行. An office decision: change it with ``choshu plans-setting``.
DEFAULT_GRACE_DAYS = 10
DEFAULT_MISSES_TO_DEFAULT = 2
DEFAULT_SOURCE = "既定値（地方税法331条1項等の督促後10日に倣う。法定の猶予日数はない）"
MAX_INSTALMENTS = 60  # five years of monthly instalments: beyond that the schedule is not a plan
ROUND_UNIT = 1000  # equal instalments are whole thousands of yen (the remainder on the first)
CHUNK = 500  # plans per round of plans-check
FUNCTION = "分納誓約"
FUNCTION_CHECK = "分納誓約の履行確認（一括）"
SUPPRESSION_NOTE = "分納誓約#{}"
LABELS = {
    "plan": "分納誓約の番号",
    "plans": "確認した分納誓約",
    "paid": "納付済となった回",
    "missed": "未納となった回",
    "defaulted": "不履行となった分納誓約",
    "completed": "履行完了となった分納誓約",
    "pledged_on": "誓約日",
    "instalments": "分納の各回",
    "include_late_charge": "延滞金を含める",
    "grace_days": "猶予日数",
    "misses_to_default": "不履行とする未納回数",
}


def _refused(message: str) -> ValidationError:
    return ValidationError(message)


def _user(actor: Any) -> Any:
    return actor if getattr(actor, "is_authenticated", False) else None


def _check_actor(actor: Any, municipality_id: int) -> None:
    if not has_right(actor, Right.CASE_WORK):
        raise PermissionDenied("分納誓約を扱う権限がありません")
    if actor.municipality_id != municipality_id:
        raise PermissionDenied("他の自治体の宛名は扱えません")


def _audit(actor: Any, plan: PaymentPlan, function: str, **detail: Any) -> None:
    audit_record(
        kind=AuditKind.CHANGE,
        function=function,
        municipality=plan.municipality,
        user=_user(actor),
        subject_type=AuditSubjectType.TAXPAYER,
        subject_ids=[plan.taxpayer_id],
        detail={"plan": plan.pk, **detail},
    )


# --- the setting -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Setting:
    grace_days: int
    misses_to_default: int
    source: str


def setting_on(municipality: Municipality, on: date) -> Setting:
    """The setting in force on ``on`` (the latest ``valid_from`` on or before it), else the default."""
    row = (
        PlanSetting.objects.filter(municipality=municipality, valid_from__lte=on)
        .order_by("-valid_from")
        .first()
    )
    if row is None:
        return Setting(DEFAULT_GRACE_DAYS, DEFAULT_MISSES_TO_DEFAULT, DEFAULT_SOURCE)
    return Setting(row.grace_days, row.misses_to_default, row.note or f"{row.valid_from} からの設定")


@transaction.atomic
def plan_setting_set(
    *, actor: Any, municipality: Municipality, valid_from: date, grace_days: int, misses_to_default: int,
    note: str,
) -> PlanSetting:  # fmt: skip
    """Record a setting from ``valid_from`` (a later one replaces it from its own date)."""
    if not 0 <= grace_days <= 90:
        raise _refused(f"猶予日数は 0〜90 日で指定してください（{grace_days}）")
    if not 1 <= misses_to_default <= 12:
        raise _refused(f"不履行とする未納回数は 1〜12 回で指定してください（{misses_to_default}）")
    if not note.strip():
        raise _refused("設定の根拠（決裁番号・要綱など）を備考に入力してください")
    if PlanSetting.objects.filter(municipality=municipality, valid_from=valid_from).exists():
        raise _refused(f"{valid_from:%Y-%m-%d} からの設定は既にあります。別の適用開始日を指定してください")
    row = PlanSetting.objects.create(
        municipality=municipality, valid_from=valid_from, grace_days=grace_days,
        misses_to_default=misses_to_default, note=note.strip()[:300], created_by=_user(actor),
    )  # fmt: skip
    audit_record(
        kind=AuditKind.CHANGE, function="分納の監視設定", municipality=municipality, user=_user(actor),
        detail={"valid_from": valid_from.isoformat(), "grace_days": grace_days,
                "misses_to_default": misses_to_default, "note": row.note},
    )  # fmt: skip
    return row


# --- schedules -------------------------------------------------------------------------------------------


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later (the month's last day when it has no such day: 31 Jan → 28/29 Feb)."""
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def monthly_dates(first_on: date, count: int) -> list[date]:
    """``count`` dates a month apart from ``first_on`` (each counted from the first, so 31 Jan, 28 Feb,
    31 Mar — never drifting to the 28th)."""
    return [add_months(first_on, k) for k in range(count)]


def equal_schedule(total: int, count: int, first_on: date) -> list[tuple[date, int]]:
    """Equal monthly instalments: ``total // count`` rounded down to whole thousands of yen (to whole
    yen when that is under 1,000 yen), the remainder on the first. 100,000 over 3 → 34,000, 33,000,
    33,000."""
    if type(total) is not int or total <= 0:
        raise _refused("分納の対象額がありません（選んだ期別は納付済みです）")
    if not 1 <= count <= MAX_INSTALMENTS:
        raise _refused(f"分割の回数は 1〜{MAX_INSTALMENTS} 回で指定してください（{count}）")
    if count > total:
        raise _refused(f"分割の回数（{count}回）が対象額（{total:,}円）より多く、1回1円未満になります")
    base = total // count
    if base >= ROUND_UNIT:
        base -= base % ROUND_UNIT
    first = total - base * (count - 1)
    return list(zip(monthly_dates(first_on, count), [first] + [base] * (count - 1), strict=True))


@dataclass(frozen=True)
class QuoteLine:
    installment: Installment
    principal: int
    fee: int
    late_charge: int  # as of the quote's date (the last instalment's)
    late_charge_today: int


@dataclass
class PlanQuote:
    lines: list[QuoteLine] = field(default_factory=list)
    as_of: date | None = None
    include_late_charge: bool = False

    @property
    def principal(self) -> int:
        return sum(ln.principal for ln in self.lines)

    @property
    def fee(self) -> int:
        return sum(ln.fee for ln in self.lines)

    @property
    def late_charge(self) -> int:
        return sum(ln.late_charge for ln in self.lines) if self.include_late_charge else 0

    @property
    def total(self) -> int:
        return self.principal + self.fee + self.late_charge


def plan_quote(
    *,
    taxpayer: Taxpayer,
    installment_ids: Sequence[int],
    last_on: date,
    include_late_charge: bool,
    today: date,
) -> PlanQuote:
    """What a plan over these installments must cover if its last instalment falls on ``last_on``."""
    ids = sorted(set(installment_ids))
    if not ids:
        raise _refused("分納の対象にする期別を1件以上選んでください")
    insts = {
        i.pk: i
        for i in Installment.objects.filter(
            pk__in=ids, taxpayer=taxpayer, municipality_id=taxpayer.municipality_id
        ).select_related("levy")
    }
    if len(insts) != len(ids):
        raise _refused("選んだ期別の一部がこの宛名の期別ではありません。画面を開き直してください")
    for i in insts.values():
        if i.extinguished_on is not None:
            raise _refused(
                f"{_name(i)} は {i.extinguished_on:%Y-%m-%d} に徴収権が消滅しています（分納にできません）"
            )
    covered = (
        PaymentPlan.installments.through.objects.filter(
            installment_id__in=ids, paymentplan__status__in=[PlanStatus.DRAFT, PlanStatus.PLEDGED]
        )
        .values_list("installment_id", "paymentplan_id")
        .first()
    )
    if covered is not None:
        raise _refused(
            f"{_name(insts[covered[0]])} は分納誓約#{covered[1]}（作成中または誓約中）の対象です。"
            "その分納誓約を取り消してから作り直してください"
        )
    at_end = {d.installment_id: d for d in amounts_due(taxpayer_ids=[taxpayer.pk], as_of=max(last_on, today),
                                                        installment_ids=ids, with_components=False)}  # fmt: skip
    now = {d.installment_id: d for d in amounts_due(taxpayer_ids=[taxpayer.pk], as_of=today,
                                                     installment_ids=ids, with_components=False)}  # fmt: skip
    quote = PlanQuote(as_of=last_on, include_late_charge=include_late_charge)
    for pk in sorted(ids, key=lambda k: (insts[k].due_date, k)):
        d, t = at_end[pk], now[pk]
        if t.principal_due <= 0:
            raise _refused(f"{_name(insts[pk])} の本税は納付済みです（分納の対象にできません）")
        if include_late_charge and d.late_charge is None:
            raise _refused(f"{_name(insts[pk])} の延滞金の割合が設定されていないため、延滞金を含められません")
        quote.lines.append(
            QuoteLine(insts[pk], t.principal_due, t.dunning_fee, d.late_charge or 0, t.late_charge or 0)
        )
    return quote


def _name(inst: Installment) -> str:
    from choshu.levies.tax_items import tax_item_name  # noqa: PLC0415 - a light helper

    return f"{tax_item_name(inst.municipality_id, inst.levy.tax_item)} {inst.levy.levy_year}年度 第{inst.installment_no}期"


def schedule_errors(schedule: Sequence[tuple[date, int]], *, required: int, today: date) -> list[str]:
    """What is wrong with a schedule (empty when none): dates from today, strictly increasing; amounts
    whole positive yen; at most 60 instalments; the total equal to the amount to cover."""
    errors: list[str] = []
    if not schedule:
        return ["分納の予定（日付と金額）を1回以上入力してください"]
    if len(schedule) > MAX_INSTALMENTS:
        errors.append(f"分割の回数は {MAX_INSTALMENTS} 回までです（{len(schedule)}回）")
    previous: date | None = None
    for n, (on, amount) in enumerate(schedule, start=1):
        if type(amount) is not int or amount <= 0:
            errors.append(f"第{n}回の金額は1円以上の整数で入力してください")
        if on < today:
            errors.append(f"第{n}回の納付予定日（{on:%Y-%m-%d}）が過去の日付です。本日以降にしてください")
        if previous is not None and on <= previous:
            errors.append(
                f"第{n}回の納付予定日（{on:%Y-%m-%d}）が前の回（{previous:%Y-%m-%d}）より後ではありません"
            )
        previous = on
    total = sum(a for _, a in schedule if type(a) is int)
    if not errors and total != required:
        diff = total - required
        errors.append(
            f"予定の合計 {total:,}円 が分納の対象額 {required:,}円 と一致しません（{'超過' if diff > 0 else '不足'} "
            f"{abs(diff):,}円）。金額を直してください"
        )
    return errors


# --- create, pledge, cancel ------------------------------------------------------------------------------


def _history(plan: PaymentPlan, before: str, on: date, actor: Any, note: str) -> None:
    PlanStatusChange.objects.create(
        plan=plan, from_status=before, to_status=plan.status, changed_on=on, changed_at=timezone.now(),
        changed_by=_user(actor), note=note[:300],
    )  # fmt: skip


@transaction.atomic
def plan_create(
    *,
    actor: Any,
    taxpayer: Taxpayer,
    installment_ids: Sequence[int],
    schedule: Sequence[tuple[date, int]],
    method: str,
    include_late_charge: bool,
    note: str,
    today: date,
) -> PaymentPlan:
    """A plan 作成中 with its schedule. The team scope is the caller's (the case screens look the case
    up within ``cases.access`` first); here the right and the municipality are checked."""
    _check_actor(actor, taxpayer.municipality_id)
    if method not in PlanMethod.values:
        raise _refused(f"分割の方法 {method!r} は定義されていません")
    if not note.strip():
        raise _refused("分納にする理由（申出の内容など）を入力してください")
    if not schedule:
        raise _refused("分納の予定（日付と金額）を1回以上入力してください")
    quote = plan_quote(
        taxpayer=taxpayer, installment_ids=installment_ids, last_on=max(on for on, _ in schedule),
        include_late_charge=include_late_charge, today=today,
    )  # fmt: skip
    errors = schedule_errors(schedule, required=quote.total, today=today)
    if errors:
        raise ValidationError(errors)
    plan = PaymentPlan.objects.create(
        municipality_id=taxpayer.municipality_id, taxpayer=taxpayer, method=method,
        include_late_charge=include_late_charge, principal=quote.principal, fee=quote.fee,
        late_charge=quote.late_charge, total=quote.total, note=note.strip()[:300], created_by=_user(actor),
    )  # fmt: skip
    plan.installments.set([ln.installment for ln in quote.lines])
    PlanInstalment.objects.bulk_create(
        [PlanInstalment(plan=plan, no=n, amount=a, due_on=on) for n, (on, a) in enumerate(schedule, start=1)]
    )
    _history(plan, "", today, actor, note.strip())
    _audit(actor, plan, "分納誓約の作成", method=method, include_late_charge=include_late_charge,
           installments=[ln.installment.pk for ln in quote.lines], total=quote.total,
           instalments=[[on.isoformat(), a] for on, a in schedule], note=plan.note)  # fmt: skip
    return plan


def _locked(plan: PaymentPlan, *allowed: str) -> PaymentPlan:
    p = PaymentPlan.objects.select_for_update().get(pk=plan.pk)
    if p.status not in allowed:
        names = "・".join(PlanStatus(s).label for s in allowed)
        raise _refused(f"この分納誓約は「{p.get_status_display()}」です（{names}のものだけできます）")
    return p


@transaction.atomic
def plan_pledge(*, actor: Any, plan: PaymentPlan, pledged_on: date, today: date) -> PaymentPlan:
    """Record the pledge (誓約日): 誓約中, one 納付書 per instalment, 督促・催告 suppressed on the covered
    installments, the case to 分納中 (cases listens to ``plan_status_changed``)."""
    _check_actor(actor, plan.municipality_id)
    p = _locked(plan, PlanStatus.DRAFT)
    if pledged_on > today:
        raise _refused(f"誓約日（{pledged_on:%Y-%m-%d}）が未来の日付です。署名を受けた日を入力してください")
    instalments = list(p.instalments.order_by("no"))
    if pledged_on > instalments[0].due_on:
        raise _refused(
            f"誓約日（{pledged_on:%Y-%m-%d}）が第1回の納付予定日（{instalments[0].due_on:%Y-%m-%d}）より後です。"
            "計画を取り消して作り直してください"
        )
    covered = list(p.installments.all())
    municipality = p.municipality
    for inst in instalments:
        inst.slip = combined_slip_issue(
            municipality=municipality, installments=covered, amount=inst.amount, pay_by=inst.due_on,
            issued_on=today, actor=actor,
        )  # fmt: skip
    PlanInstalment.objects.bulk_update(instalments, ["slip"])
    DunningSuppression.objects.bulk_create(
        [
            DunningSuppression(
                municipality_id=p.municipality_id,
                installment=i,
                taxpayer_id=p.taxpayer_id,
                reason=SuppressionReason.PAYMENT_PLAN,
                start=pledged_on,
                end=None,
                note=SUPPRESSION_NOTE.format(p.pk),
                created_by=_user(actor),
            )  # fmt: skip
            for i in covered
        ]
    )
    before = p.status
    p.status, p.pledged_on = PlanStatus.PLEDGED, pledged_on
    p.save(update_fields=["status", "pledged_on"])
    _history(p, before, pledged_on, actor, "誓約書の提出を受けた")
    _audit(actor, p, "分納誓約の誓約（督促停止・納付書の発行）", pledged_on=pledged_on.isoformat(),
           slips=[i.slip.slip_no for i in instalments if i.slip], installments=[i.pk for i in covered])  # fmt: skip
    plan_status_changed.send(
        sender=PaymentPlan, municipality_id=p.municipality_id, changes=[(p.taxpayer_id, p.pk, p.status)],
        on=pledged_on, actor=_user(actor),
    )  # fmt: skip
    return p


def _end_suppressions(plans: Sequence[tuple[int, date]], actor: Any, why: str) -> None:
    """End the plans' 督促停止 on the given day (never before its start): rows stay as history."""
    for plan_id, on in plans:
        for s in DunningSuppression.objects.filter(
            note=SUPPRESSION_NOTE.format(plan_id), reason=SuppressionReason.PAYMENT_PLAN, end__isnull=True
        ):
            s.end, s.ended_by, s.end_note = (
                max(s.start, on),
                _user(actor),
                f"{SUPPRESSION_NOTE.format(plan_id)} {why}",
            )
            s.save(update_fields=["end", "ended_by", "end_note"])


@transaction.atomic
def plan_cancel(*, actor: Any, plan: PaymentPlan, reason: str, today: date) -> PaymentPlan:
    """取消 (作成中 or 誓約中): 督促・催告 resume from the next day; the slips stay valid as payment means
    (a payment on them still goes to the covered installments). The pledge, once made, stays an
    acknowledgement (its date is history, not undone)."""
    _check_actor(actor, plan.municipality_id)
    p = _locked(plan, PlanStatus.DRAFT, PlanStatus.PLEDGED)
    if not reason.strip():
        raise _refused("取消の理由を入力してください")
    before = p.status
    p.status, p.cancelled_on, p.cancel_reason = PlanStatus.CANCELLED, today, reason.strip()[:300]
    p.save(update_fields=["status", "cancelled_on", "cancel_reason"])
    _end_suppressions([(p.pk, today)], actor, "の取消")
    _history(p, before, today, actor, reason.strip())
    _audit(actor, p, "分納誓約の取消", before=before, reason=p.cancel_reason)
    if before == PlanStatus.PLEDGED:
        plan_status_changed.send(
            sender=PaymentPlan, municipality_id=p.municipality_id, changes=[(p.taxpayer_id, p.pk, p.status)],
            on=today, actor=_user(actor),
        )  # fmt: skip
    return p


# --- monitoring ------------------------------------------------------------------------------------------


@dataclass
class CheckSummary:
    as_of: date
    grace_days: int
    misses_to_default: int
    source: str
    plans: int = 0
    paid: int = 0
    missed: int = 0
    defaulted: int = 0
    completed: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat(), "grace_days": self.grace_days,
            "misses_to_default": self.misses_to_default, "source": self.source, "plans": self.plans,
            "paid": self.paid, "missed": self.missed, "defaulted": self.defaulted, "completed": self.completed,
        }  # fmt: skip


def payments_since_pledge(plans: dict[int, date], as_of: date) -> dict[int, list[tuple[date, int]]]:
    """Per plan, (領収日, amount) of what was paid on its covered installments from its 誓約日 to
    ``as_of``: one grouped read of the ledger (credits to 本税・督促手数料 receivable and 延滞金 income
    of the paid kinds, reversals netted), ordered by day."""
    owner = dict(
        PaymentPlan.installments.through.objects.filter(paymentplan_id__in=list(plans)).values_list(
            "installment_id", "paymentplan_id"
        )
    )
    by_plan: dict[int, dict[date, int]] = defaultdict(lambda: defaultdict(int))
    if not owner:
        return {}
    rows = (
        LedgerEntry.objects.filter(
            installment_id__in=list(owner),
            account__in=[Account.RECEIVABLE, Account.LATE_CHARGE_INCOME],
            txn__kind__in=PAID_KINDS,
            txn__legal_date__gte=min(plans.values()),
            txn__legal_date__lte=as_of,
        )
        .values_list("installment_id", "txn__legal_date")
        .annotate(total=Sum("amount"))
        .order_by()
    )
    for inst_id, on, total in rows:
        plan_id = owner[inst_id]
        if on >= plans[plan_id] and total:
            by_plan[plan_id][on] -= total  # a credit (negative) is money paid
    return {pid: sorted(days.items()) for pid, days in by_plan.items()}


def _assess(
    instalments: list[PlanInstalment], paid: list[tuple[date, int]], as_of: date, grace: int
) -> list[tuple[str, date | None, date | None]]:
    """(status, paid_on, missed_on) of each instalment (in date order) from the payments: the running
    total reaches each instalment's cumulative amount on its 納付済 day; unpaid past its date + grace
    days is 未納; one paid after that deadline keeps the day it was missed."""
    out: list[tuple[str, date | None, date | None]] = []
    cumulative, running, k = 0, 0, 0
    for inst in instalments:
        cumulative += inst.amount
        while running < cumulative and k < len(paid):
            running += paid[k][1]
            k += 1
        paid_on = paid[k - 1][0] if running >= cumulative and k else None
        deadline = inst.due_on + timedelta(days=grace)
        missed_on = (
            deadline + timedelta(days=1)
            if as_of > deadline and (paid_on is None or paid_on > deadline)
            else None
        )
        status = (
            InstalmentStatus.PAID
            if paid_on
            else (InstalmentStatus.MISSED if missed_on else InstalmentStatus.DUE)
        )
        out.append((status, paid_on, missed_on))
    return out


@transaction.atomic
def plans_check(*, municipality: Municipality, as_of: date, actor: Any = None) -> CheckSummary:
    """Check every plan 誓約中 on ``as_of``: instalments paid or missed, plans completed or defaulted.
    Reads a chunk of plans at a time (keyset), a fixed number of queries per chunk; idempotent."""
    setting = setting_on(municipality, as_of)
    s = CheckSummary(as_of, setting.grace_days, setting.misses_to_default, setting.source)
    Municipality.objects.select_for_update().filter(pk=municipality.pk).first()  # checks take turns
    changes: list[tuple[int, int, str]] = []
    ended: list[tuple[int, date]] = []
    last = 0
    qs = PaymentPlan.objects.filter(
        municipality=municipality, status=PlanStatus.PLEDGED, pledged_on__lte=as_of
    )
    while chunk := list(qs.filter(pk__gt=last).order_by("pk")[:CHUNK]):
        last = chunk[-1].pk
        s.plans += len(chunk)
        paid = payments_since_pledge({p.pk: p.pledged_on for p in chunk if p.pledged_on}, as_of)
        by_plan: dict[int, list[PlanInstalment]] = defaultdict(list)
        for inst in PlanInstalment.objects.filter(plan__in=chunk).order_by("plan_id", "due_on", "no"):
            by_plan[inst.plan_id].append(inst)
        dirty: list[PlanInstalment] = []
        for p in chunk:
            insts = by_plan[p.pk]
            for inst, (status, paid_on, missed_on) in zip(
                insts, _assess(insts, paid.get(p.pk, []), as_of, setting.grace_days), strict=True
            ):
                if (inst.status, inst.paid_on, inst.missed_on) != (status, paid_on, missed_on):
                    s.paid += status == InstalmentStatus.PAID and inst.status != InstalmentStatus.PAID
                    s.missed += status == InstalmentStatus.MISSED and inst.status != InstalmentStatus.MISSED
                    inst.status, inst.paid_on, inst.missed_on = status, paid_on, missed_on
                    dirty.append(inst)
            misses = sorted(i.missed_on for i in insts if i.missed_on)
            before = p.status
            if insts and all(i.status == InstalmentStatus.PAID for i in insts):
                p.status, p.completed_on = PlanStatus.COMPLETED, max(i.paid_on for i in insts if i.paid_on)
                s.completed += 1
                why, on = "全ての回の納付を確認", p.completed_on
            elif len(misses) >= setting.misses_to_default:
                p.status, p.defaulted_on = PlanStatus.DEFAULTED, misses[setting.misses_to_default - 1]
                s.defaulted += 1
                why, on = f"未納 {len(misses)} 回（猶予 {setting.grace_days} 日経過）", p.defaulted_on
            else:
                continue
            p.checked_on = as_of
            p.save(update_fields=["status", "completed_on", "defaulted_on", "checked_on"])
            _history(p, before, on, actor, why)
            changes.append((p.taxpayer_id, p.pk, p.status))
            ended.append((p.pk, on))
        PlanInstalment.objects.bulk_update(dirty, ["status", "paid_on", "missed_on"])
    _end_suppressions(ended, actor, "の終了（履行完了・不履行）")
    if changes:
        plan_status_changed.send(
            sender=PaymentPlan, municipality_id=municipality.pk, changes=changes, on=as_of, actor=_user(actor)
        )
    audit_record(kind=AuditKind.BATCH, function=FUNCTION_CHECK, municipality=municipality, user=_user(actor),
                 detail=s.as_dict())  # fmt: skip
    return s


# --- prescription ----------------------------------------------------------------------------------------


def pledge_events(installment_ids: Sequence[int]) -> dict[int, list[PrescriptionEvent]]:
    """Each pledge (誓約日) over these installments as an acknowledgement of the debt (承認, 民法152条
    via 地方税法18条3項): one query. A plan cancelled or defaulted later was still pledged on its day."""
    found: dict[int, list[PrescriptionEvent]] = {}
    for inst_id, on in PaymentPlan.installments.through.objects.filter(
        installment_id__in=list(installment_ids), paymentplan__pledged_on__isnull=False
    ).values_list("installment_id", "paymentplan__pledged_on"):
        if on is None:
            continue
        found.setdefault(inst_id, []).append(PrescriptionEvent(PrescriptionEventKind.ACKNOWLEDGEMENT, on))
    return found
