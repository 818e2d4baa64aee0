"""時効 and the other ways a liability is extinguished (消滅).

* 法18条1項: the right to collect expires when not exercised for 5 years counted from the day after
  the 法定納期限; no 援用 is needed and the benefit cannot be waived (18条2項: a payment after that
  date does not revive it); 民法 applies otherwise (18条3項).
  https://i-zisukan.hatenadiary.org/entry/20141107/p1
* 法18条の2 + 民法 (令和2年改正: 完成猶予・更新), law.md §f,
  https://kt-theif.hatenablog.jp/entry/2021/09/08/230641 :
  - 督促 → the period starts anew after the day on which 10 days have elapsed from the issue date
    (national analogue 国税通則法73条1項4号; local wording UNCONFIRMED). Only the first 督促 counts.
  - 承認 (納付誓約, a partial payment) → 更新: a new period from the next day (民法152条).
  - 差押 / 交付要求 / 参加差押 → 完成猶予 while pending, 更新 when they end (民法148条 analogue;
    local wording UNCONFIRMED). Without an end date the clock is stopped.
  - 催告 → 6-month 完成猶予 only; a further 催告 inside that extension has no effect (民法150条).
  - 徴収猶予 / 換価の猶予 → the time does not run during the deferral (国税通則法73条4項 analogue;
    UNCONFIRMED for local tax; ``deferral_stops_clock``).
* 法15条の7: 滞納処分の執行停止 — after 3 continuous years the liability is extinguished (4項); for
  ground 1 (no property) it may be extinguished immediately (5項); 時効 keeps running meanwhile.
  https://tainoutaisaku.zenkokukaigi.net/?p=937
Whichever comes first extinguishes the liability.

Dates: a period "of 5 years from day X" ends on the day before X's anniversary (民法143条); the
liability is *extinguished on* the next day (the first day it can no longer be collected).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from choshu.rules.periods import period_end

__all__ = [
    "KIND_LABELS",
    "REASON_LABELS",
    "PrescriptionEvent",
    "PrescriptionEventKind",
    "PrescriptionResult",
    "compute_extinguishment",
    "warning_horizon",
]

# The three ways a liability ends that a 不納欠損 records (law.md §f), as the screens name them.
REASON_LABELS = {
    "prescription": "時効（法18条1項）",
    "enforcement_suspension": "執行停止3年（法15条の7第4項）",
    "immediate_extinguishment": "即時消滅（法15条の7第5項）",
}

_ONE = timedelta(days=1)
Why = tuple[str, tuple[date | None, ...]]


class PrescriptionEventKind(StrEnum):
    DUNNING = "dunning"  # 督促状の発付 (on = issue date)
    ACKNOWLEDGEMENT = "acknowledgement"  # 承認: 納付誓約, 分納申出 (on = date)
    PAYMENT = "payment"  # a partial payment = 承認 of the debt
    SEIZURE = "seizure"  # 差押 (on = seizure date, until = release/end of proceedings, or None)
    DISTRIBUTION_CLAIM = "distribution_claim"  # 交付要求 / 参加差押 (until = end, or None)
    REMINDER = "reminder"  # 催告 (6-month 完成猶予)
    DEFERRAL = "deferral"  # 徴収猶予 / 換価の猶予 (on..until)
    ENFORCEMENT_SUSPENSION = (
        "enforcement_suspension"  # 執行停止 start (on); until = cancellation date or None
    )
    IMMEDIATE_EXTINGUISHMENT = "immediate_extinguishment"  # 法15条の7第5項 decision (on)


KIND_LABELS = {
    PrescriptionEventKind.DUNNING: "督促",
    PrescriptionEventKind.ACKNOWLEDGEMENT: "納付誓約",
    PrescriptionEventKind.PAYMENT: "一部納付",
    PrescriptionEventKind.SEIZURE: "差押",
    PrescriptionEventKind.DISTRIBUTION_CLAIM: "交付要求・参加差押",
    PrescriptionEventKind.REMINDER: "催告",
    PrescriptionEventKind.DEFERRAL: "猶予",
    PrescriptionEventKind.ENFORCEMENT_SUSPENSION: "執行停止",
    PrescriptionEventKind.IMMEDIATE_EXTINGUISHMENT: "即時消滅",
}


@dataclass(frozen=True, slots=True)
class PrescriptionEvent:
    kind: PrescriptionEventKind
    on: date
    until: date | None = None

    def __post_init__(self) -> None:
        if self.until is not None and self.until < self.on:
            raise ValueError(f"{self.kind}: 'until' ({self.until}) is before 'on' ({self.on})")
        if self.kind is PrescriptionEventKind.DEFERRAL and self.until is None:
            raise ValueError("a deferral needs its end date ('until')")


@dataclass(frozen=True, slots=True)
class PrescriptionResult:
    """``extinguished_on`` = first day the liability no longer exists (None = not foreseeable)."""

    extinguished_on: date | None
    reason: str | None  # "prescription" | "enforcement_suspension" | "immediate_extinguishment"
    prescription_completes_on: date | None  # last day of the running 5-year period
    suspension_expires_on: date | None
    trail: tuple[str, ...]
    # The same steps for the screens, in Japanese: (a template with {0}, {1} … for the dates, the dates);
    # a screen formats the dates its own way (和暦).
    why: tuple[Why, ...] = ()


def compute_extinguishment(
    *,
    statutory_due_date: date,
    events: Sequence[PrescriptionEvent] = (),
    years: int = 5,
    deferral_stops_clock: bool = True,
) -> PrescriptionResult:
    """When one installment's liability is extinguished (法18条, 18条の2, 15条の7; law.md §f)."""
    trail: list[str] = []
    why: list[Why] = []
    period_start = statutory_due_date + _ONE
    completes: date | None = period_end(period_start, years=years)
    trail.append(f"5年 from {period_start} → completes {completes}")
    why.append((f"法定納期限の翌日（{{0}}）から{years}年：{{1}} に完成", (period_start, completes)))
    reminder_until: date | None = None
    dunned = False
    suspension_expires: date | None = None
    immediate: date | None = None

    for ev in sorted(events, key=lambda e: (e.on, e.kind)):
        if completes is not None and ev.on > completes:
            trail.append(f"{ev.kind} on {ev.on} ignored: prescription already completed {completes}")
            why.append(
                (KIND_LABELS[ev.kind] + "（{0}）：時効の完成（{1}）後のため効果なし", (ev.on, completes))
            )
            continue
        k = ev.kind
        if k is PrescriptionEventKind.DUNNING:
            if dunned:
                trail.append(f"督促 on {ev.on} ignored: only the first 督促 renews")
                why.append(("督促（{0}）：最初の督促だけが時効を更新するため効果なし", (ev.on,)))
                continue
            dunned = True
            if ev.on + timedelta(days=11) <= period_start:
                trail.append(f"督促 {ev.on} → no effect: the period already runs from {period_start}")
                why.append(
                    ("督促（{0}）：すでに {1} から期間が進行しているため効果なし", (ev.on, period_start))
                )
                continue
            period_start = ev.on + timedelta(days=11)
            completes = period_end(period_start, years=years)
            reminder_until = None
            trail.append(f"督促 {ev.on} → new period from {period_start}, completes {completes}")
            why.append(
                (
                    "督促（{0}）：指定期限の翌日（{1}）から新たに進行（法18条の2）、{2} に完成",
                    (ev.on, period_start, completes),
                )
            )
        elif k in (PrescriptionEventKind.ACKNOWLEDGEMENT, PrescriptionEventKind.PAYMENT):
            if ev.on + _ONE <= period_start:
                # A payment or pledge before the running period began (before the 法定納期限, or inside
                # a 督促's 10 days) cannot shorten it: the period already starts later.
                trail.append(f"承認 ({k}) {ev.on} → no effect: the period already runs from {period_start}")
                why.append(
                    (
                        KIND_LABELS[k] + "（{0}）：すでに {1} から期間が進行しているため効果なし",
                        (ev.on, period_start),
                    )
                )
                continue
            period_start = ev.on + _ONE
            completes = period_end(period_start, years=years)
            reminder_until = None
            trail.append(f"承認 ({k}) {ev.on} → new period from {period_start}, completes {completes}")
            why.append(
                (
                    KIND_LABELS[k] + "（{0}）：翌日（{1}）から新たに進行（承認、民法152条）、{2} に完成",
                    (ev.on, period_start, completes),
                )
            )
        elif k in (PrescriptionEventKind.SEIZURE, PrescriptionEventKind.DISTRIBUTION_CLAIM):
            reminder_until = None
            if ev.until is None:
                completes = None
                trail.append(f"{k} {ev.on} pending with no end date → the clock is stopped")
                why.append((KIND_LABELS[k] + "（{0}）：終了日が未定のため時効は進行しない", (ev.on,)))
            else:
                period_start = ev.until + _ONE
                completes = period_end(period_start, years=years)
                trail.append(
                    f"{k} {ev.on}..{ev.until} → new period from {period_start}, completes {completes}"
                )
                why.append(
                    (
                        KIND_LABELS[k] + "（{0}〜{1}）：終了の翌日（{2}）から新たに進行、{3} に完成",
                        (ev.on, ev.until, period_start, completes),
                    )
                )
        elif k is PrescriptionEventKind.REMINDER:
            if reminder_until is not None and ev.on <= reminder_until:
                trail.append(f"催告 {ev.on} ignored: inside the extension of an earlier 催告 (民法150条2項)")
                why.append(("催告（{0}）：先の催告による猶予期間中のため効果なし（民法150条2項）", (ev.on,)))
                continue
            if completes is not None:
                six = period_end(ev.on + _ONE, months=6)
                reminder_until = six
                if six > completes:
                    completes = six
                    trail.append(f"催告 {ev.on} → completion postponed to {completes}")
                    why.append(("催告（{0}）：完成が {1} まで猶予（民法150条）", (ev.on, completes)))
                else:
                    trail.append(f"催告 {ev.on} → no effect on completion {completes}")
                    why.append(("催告（{0}）：完成（{1}）に影響なし", (ev.on, completes)))
        elif k is PrescriptionEventKind.DEFERRAL:
            assert ev.until is not None
            if deferral_stops_clock and completes is not None:
                completes = completes + timedelta(days=(ev.until - ev.on).days + 1)
                trail.append(f"猶予 {ev.on}..{ev.until} → completion moved to {completes}")
                why.append(
                    ("猶予（{0}〜{1}）：その間は時効が進行しない → {2} に完成", (ev.on, ev.until, completes))
                )
        elif k is PrescriptionEventKind.ENFORCEMENT_SUSPENSION:
            if ev.until is None:
                suspension_expires = period_end(ev.on + _ONE, years=3)
                trail.append(f"執行停止 {ev.on} → extinguished after {suspension_expires} unless cancelled")
                why.append(
                    (
                        "執行停止（{0}）：取り消されなければ {1} の経過で消滅（法15条の7第4項）",
                        (ev.on, suspension_expires),
                    )
                )
            else:
                trail.append(f"執行停止 {ev.on} cancelled on {ev.until}")
                why.append(("執行停止（{0}）：{1} に取消", (ev.on, ev.until)))
                if period_end(ev.on + _ONE, years=3) < ev.until:
                    suspension_expires = period_end(ev.on + _ONE, years=3)
        elif k is PrescriptionEventKind.IMMEDIATE_EXTINGUISHMENT:
            immediate = ev.on if immediate is None else min(immediate, ev.on)
            trail.append(f"即時消滅 (法15条の7第5項) on {ev.on}")
            why.append(("即時消滅（法15条の7第5項）：{0}", (ev.on,)))

    candidates: list[tuple[date, str]] = []
    if completes is not None:
        candidates.append((completes + _ONE, "prescription"))
    if suspension_expires is not None:
        candidates.append((suspension_expires + _ONE, "enforcement_suspension"))
    if immediate is not None:
        candidates.append((immediate, "immediate_extinguishment"))
    if not candidates:
        return PrescriptionResult(None, None, completes, suspension_expires, tuple(trail), tuple(why))
    when, reason = min(candidates)
    return PrescriptionResult(when, reason, completes, suspension_expires, tuple(trail), tuple(why))


def warning_horizon(as_of: date, *, months: int) -> date:
    """The last day of the ``months``-month window from ``as_of`` (民法143条, as ``period_end``): a
    liability extinguished on or before it is "within ``months`` months" (the work list's warning)."""
    if months < 0:
        raise ValueError(f"months must be 0 or more (got {months})")
    return as_of if months == 0 else period_end(as_of + _ONE, months=months)
