"""延滞金 (late-payment surcharge) of municipal taxes.

Articles: 地方税法326条 (個人の市町村民税), 369条 (固定資産税), 463条の24 (軽自動車税), 702条の8
(都市計画税), 723条 (国民健康保険税) — 本則 年14.6%, 年7.3% up to the day on which one month from the
day after the 納期限 has elapsed; 特例 附則3条の2第1項 (rates per calendar year, params
``late_charge_rates.toml``); rounding 法20条の4の2第2項・第5項; 猶予/停止 exemptions 法15条の9.
law.md §a (source list there; e.g. https://www.city.seki.lg.jp/0000019335.html ,
https://www.zeiken.co.jp/hourei/HHCHI000000/20-4-2.html ).

Algorithm (law.md §a5, reproduces every published municipal example in the scenario files):

1. principal < 2,000 → no 延滞金; otherwise the base is the principal truncated to 1,000 yen.
2. Days run from the day after the 納期限 through ``until`` (the payment date), both counted.
3. The first month ends on the day before the same-numbered day of the next month, clamped to
   the month end (民法143条 via 法20条の5; :func:`choshu.rules.periods.period_end`).
4. The period is split at the first-month boundary, at every 1 January where the rate changes
   (or every 1 January with ``split_every_year``), at each partial payment (base change) and at
   each exemption boundary. Each segment: ``floor(base × rate% × days / (100 × 365))`` — the
   divisor is 365 even in leap years, 29 February counts as a day.
5. The sum is truncated to 100 yen; below 1,000 yen it is dropped (法20条の4の2第5項).

Partial payments (一部納付): law.md §a6 found no local-tax article; by analogy with 国税通則法62条1項
the base for the days AFTER a payment date is the remaining balance. That remainder is then "the tax
amount on which the 延滞金 is computed" for those days, so 法20条の4の2第2項 reads on it as on the
original principal: its part under 1,000 yen is dropped and, when the whole remainder is under
2,000 yen, it is dropped entirely — no 延滞金 from the day after that payment (国税通則法118条3項 is
applied the same way to 延滞税, with its 10,000-yen unit). Text of 第2項:
https://www.zeiken.co.jp/hourei/HHCHI000000/20-4-2.html . ``min_principal_each_period=False``
restores the older reading (the 2,000-yen test on the original principal only, as
http://0o0d.com/main/index.php?%E5%BB%B6%E6%BB%9E%E9%87%91%E3%81%AE%E8%A8%88%E7%AE%97%E6%96%B9%E6%B3%95
describes); ``truncate_balance=False`` keeps the remainder's yen; ``payments_reduce_base=False``
ignores payments until the final one.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum
from functools import cache

from choshu.rules.parameters import RateNotKnownError, YearTable, year_table
from choshu.rules.periods import period_end

__all__ = [
    "Exemption",
    "ExemptionMode",
    "LateChargeParams",
    "LateChargeResult",
    "Segment",
    "combine_exemptions",
    "compute_late_charge",
    "default_late_charge_params",
    "first_month_end",
    "late_charge_articles",
    "late_charge_as_of",
    "late_charge_until",
    "late_charges_as_of",
]

_ONE = timedelta(days=1)
_ZERO = Decimal(0)


class ExemptionMode(StrEnum):
    """How a 猶予/停止 period (法15条の9) changes the 延滞金 for the days it covers."""

    EXCLUDED = "excluded"
    """Full exemption: the days are excluded (徴収猶予 for disaster/illness, 滞納処分の執行停止)."""
    HALF = "half"
    """Half the normal rate (法15条の9 partial exemption; the 1/2 fraction is UNCONFIRMED)."""
    DEFERRAL_RATE = "deferral_rate"
    """The 猶予特例基準割合 of each year (params ``deferral_rates.toml``), capped at the normal rate."""
    EXTENSION_RATE = "extension_rate"
    """The 延長法人 rate of each year (params ``extension_rates.toml``; 法327条, 附則3条の2)."""
    FIXED_RATE = "fixed_rate"
    """An explicit ``rate`` (percent per year) given on the exemption."""


@dataclass(frozen=True, slots=True)
class Exemption:
    """A period (``start``..``end``, both inclusive) charged differently under 法15条の9."""

    start: date
    end: date
    mode: ExemptionMode = ExemptionMode.EXCLUDED
    rate: Decimal | None = None
    reason: str = ""

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError(f"exemption ends ({self.end}) before it starts ({self.start})")
        if (self.mode is ExemptionMode.FIXED_RATE) != (self.rate is not None):
            raise ValueError("a rate is given exactly when mode is FIXED_RATE")
        if self.rate is not None and not (_ZERO <= self.rate <= Decimal("14.6")):
            raise ValueError(f"exemption rate {self.rate} is outside 0..14.6 percent")


# The more favourable to the taxpayer first (法15条の9 never adds a charge): a full exemption, then the
# 猶予特例基準割合 (below half the normal rate in every year it is known), half the rate, an explicit rate,
# the 延長法人 rate.
_FAVOUR = {
    ExemptionMode.EXCLUDED: 0,
    ExemptionMode.DEFERRAL_RATE: 1,
    ExemptionMode.HALF: 2,
    ExemptionMode.FIXED_RATE: 3,
    ExemptionMode.EXTENSION_RATE: 4,
}


def combine_exemptions(exemptions: Iterable[Exemption]) -> tuple[Exemption, ...]:
    """Non-overlapping periods from periods that may overlap (two reliefs of one installment: a 換価の猶予
    followed by an 執行停止 from a day inside it): each day takes the most favourable mode that covers it
    (``_FAVOUR``; between two fixed rates the lower), adjacent days of the same mode and rate are joined.
    The result is what :func:`compute_late_charge` accepts."""
    given = sorted(exemptions, key=lambda e: (e.start, e.end))
    if len(given) < 2:
        return tuple(given)
    cuts = sorted({e.start for e in given} | {e.end + _ONE for e in given})
    pieces: list[Exemption] = []
    for lo, nxt in zip(cuts, cuts[1:], strict=False):
        hi = nxt - _ONE
        covering = [e for e in given if e.start <= lo and e.end >= hi]
        if not covering:
            continue
        best = min(covering, key=lambda e: (_FAVOUR[e.mode], e.rate if e.rate is not None else _ZERO))
        last = pieces[-1] if pieces else None
        if last is not None and last.end + _ONE == lo and (last.mode, last.rate) == (best.mode, best.rate):
            pieces[-1] = Exemption(last.start, hi, last.mode, last.rate, last.reason)
        else:
            pieces.append(Exemption(lo, hi, best.mode, best.rate, best.reason))
    return tuple(pieces)


@dataclass(frozen=True, slots=True)
class Segment:
    """One line of the calculation: ``base × rate% × days / 365`` truncated to ``yen``."""

    start: date
    end: date
    days: int
    rate: Decimal
    base: int
    yen: int


@dataclass(frozen=True, slots=True)
class LateChargeResult:
    """``late_charge`` is the final amount (after the 100/1,000-yen rules); ``subtotal`` the raw sum."""

    late_charge: int
    base: int
    segments: tuple[Segment, ...]
    subtotal: int = 0


@dataclass(frozen=True)
class LateChargeParams:
    """Rates and the configurable choices (see docs/rules.md for each default and its source).

    ``first_period_months`` is 1 for taxes (3 for 国保**料** in Tokyo wards — law.md §b);
    ``split_every_year`` (law.md uncertainty 4): 附則3条の2 sets the special rate per calendar year,
    so by default every 1 January starts a new segment (each truncated to whole yen), as the issue
    specifies. When False, consecutive years with the same rate form one segment, as 宇都宮市 prints
    (2022-01-01..2023-04-01 as one line); the two differ by at most 1 yen per year boundary before
    the 100-yen truncation.
    """

    rates: YearTable
    deferral_rates: YearTable | None = None
    extension_rates: YearTable | None = None
    first_period_months: int = 1
    divisor: int = 365
    base_unit: int = 1000
    min_principal: int = 2000
    result_unit: int = 100
    min_result: int = 1000
    split_every_year: bool = True
    payments_reduce_base: bool = True
    truncate_balance: bool = True
    min_principal_each_period: bool = True
    _ratio_cache: dict[Decimal, tuple[int, int]] = field(default_factory=dict, compare=False, repr=False)

    def with_options(self, **changes: object) -> LateChargeParams:
        """A copy with some options changed (e.g. ``split_every_year=True``)."""
        return replace(self, _ratio_cache={}, **changes)  # type: ignore[arg-type]

    def ratio(self, rate: Decimal) -> tuple[int, int]:
        hit = self._ratio_cache.get(rate)
        if hit is None:
            hit = rate.as_integer_ratio()
            self._ratio_cache[rate] = hit
        return hit


@cache
def default_late_charge_params() -> LateChargeParams:
    """Params with the bundled rate tables and the documented defaults."""
    return LateChargeParams(
        rates=year_table("late_charge"),
        deferral_rates=year_table("deferral"),
        extension_rates=year_table("extension"),
    )


# The article charging the 延滞金 per tax item code (levies' 税目マスタ codes; law.md §a), then the
# articles every computation applies. 特別徴収の納入金 and 法人住民税 fall under 326条 with the
# 市町村民税 (327条: the 延長 period of a 法人); 事業所税 701条の60 is not in law.md's list (UNCONFIRMED).
_ARTICLES = {
    "01": "地方税法326条（個人の市町村民税）",
    "02": "地方税法326条（特別徴収の納入金）",
    "03": "地方税法326条・327条（法人の市町村民税）",
    "04": "地方税法369条（固定資産税）・702条の8（都市計画税）",
    "05": "地方税法463条の24（軽自動車税）",
    "06": "地方税法701条の60（事業所税）",
    "07": "地方税法723条（国民健康保険税）",
}
COMMON_ARTICLES = (
    "地方税法附則3条の2（延滞金の割合の特例：特例基準割合）",
    "地方税法20条の4の2第2項（計算の基礎となる税額の1,000円未満切捨て・全額2,000円未満は計算しない）",
    "地方税法20条の4の2第5項（延滞金の100円未満切捨て・全額1,000円未満は徴収しない）",
)


def late_charge_articles(tax_item: str) -> tuple[str, ...]:
    """The articles a derivation of the 延滞金 of ``tax_item`` cites (the charging article first)."""
    charging = _ARTICLES.get(tax_item, "地方税法（各税目の延滞金の規定）")
    return (charging, *COMMON_ARTICLES)


def first_month_end(due_date: date, months: int = 1) -> date:
    """The day on which one month from the day after ``due_date`` has elapsed (法20条の5, 民法143条)."""
    return period_end(due_date + _ONE, months=months)


def _effective_rate(p: LateChargeParams, year: int, first: bool, exemption: Exemption | None) -> Decimal:
    normal = p.rates.rate(year, "first_month" if first else "after")
    if exemption is None:
        return normal
    mode = exemption.mode
    if mode is ExemptionMode.EXCLUDED:
        return _ZERO
    if mode is ExemptionMode.HALF:
        return normal / 2
    if mode is ExemptionMode.FIXED_RATE:
        assert exemption.rate is not None
        return min(normal, exemption.rate)
    table = p.deferral_rates if mode is ExemptionMode.DEFERRAL_RATE else p.extension_rates
    if table is None:
        raise ValueError(f"params have no table for exemption mode {mode}")
    return min(normal, table.rate(year, "rate"))


def _check_inputs(principal: int, due_date: date, until: date, payments: Sequence[tuple[date, int]]) -> None:
    if not isinstance(principal, int) or isinstance(principal, bool) or principal < 0:
        raise ValueError(f"principal must be a non-negative int (yen), got {principal!r}")
    if not isinstance(due_date, date) or not isinstance(until, date):
        raise TypeError("due_date and until must be datetime.date")
    for d, y in payments:
        if not isinstance(y, int) or isinstance(y, bool) or y <= 0:
            raise ValueError(f"a payment must be a positive int (yen), got {y!r} on {d}")
        if d > until:
            raise ValueError(f"payment on {d} is after the as-of date {until}")


def compute_late_charge(
    *,
    principal: int,
    due_date: date,
    until: date,
    payments: Sequence[tuple[date, int]] = (),
    exemptions: Sequence[Exemption] = (),
    params: LateChargeParams | None = None,
) -> LateChargeResult:
    """延滞金 of one installment (税目別・期別) paid (or assessed as of) ``until``, inclusive.

    地方税法326条/369条/463条の24/702条の8, 附則3条の2, 20条の4の2, 15条の9; law.md §a
    (https://www.city.seki.lg.jp/0000019335.html). ``due_date`` is the 納期限 after any
    closed-day shift (法20条の5). ``payments`` are partial principal payments ``(date, yen)``
    that reduce the base for the days after their date; ``exemptions`` are 法15条の9 periods.
    """
    p = params if params is not None else default_late_charge_params()
    _check_inputs(principal, due_date, until, payments)
    unit = p.base_unit
    if principal < p.min_principal:
        return LateChargeResult(late_charge=0, base=0, segments=(), subtotal=0)
    base0 = principal // unit * unit
    start = due_date + _ONE
    if until < start:
        return LateChargeResult(late_charge=0, base=base0, segments=(), subtotal=0)

    m_end = period_end(start, months=p.first_period_months)
    cuts: set[date] = {m_end + _ONE}
    for y in range(start.year + 1, until.year + 1):
        cuts.add(date(y, 1, 1))

    base_changes: list[tuple[date, int]] = []
    if payments and p.payments_reduce_base:
        balance = principal
        for d, y in sorted(payments):
            balance = max(0, balance - y)
            nb = balance // unit * unit if p.truncate_balance else balance
            if p.min_principal_each_period and balance < p.min_principal:
                nb = 0  # 法20条の4の2第2項 on the remainder: "その税額の全額が2,000円未満" → 全額切捨て
            eff = max(d + _ONE, start)
            base_changes.append((eff, min(nb, base0)))
            cuts.add(eff)

    ex_sorted = sorted(exemptions, key=lambda e: e.start)
    for a, b in zip(ex_sorted, ex_sorted[1:], strict=False):
        if b.start <= a.end:
            raise ValueError(f"exemptions overlap: {a.start}..{a.end} and {b.start}..{b.end}")
    for e in ex_sorted:
        cuts.add(e.start)
        cuts.add(e.end + _ONE)

    points = sorted(c for c in cuts if start < c <= until)
    segments: list[Segment] = []
    seg_start = start
    prev_key: tuple[object, ...] | None = None
    cur_start: date | None = None
    cur_end = start
    cur_rate = _ZERO
    cur_base = 0
    bc_index = 0
    base = base0
    ex_index = 0
    divisor = 100 * p.divisor
    bounds = [*points, until + _ONE]
    for nxt in bounds:
        seg_end = nxt - _ONE
        while bc_index < len(base_changes) and base_changes[bc_index][0] <= seg_start:
            base = base_changes[bc_index][1]
            bc_index += 1
        while ex_index < len(ex_sorted) and ex_sorted[ex_index].end < seg_start:
            ex_index += 1
        ex = (
            ex_sorted[ex_index]
            if ex_index < len(ex_sorted) and ex_sorted[ex_index].start <= seg_start
            else None
        )
        first = seg_start <= m_end
        rate = _effective_rate(p, seg_start.year, first, ex)
        key = (first, rate, base, id(ex), seg_start.year if p.split_every_year else 0)
        if key == prev_key and cur_start is not None:
            cur_end = seg_end
        else:
            if cur_start is not None:
                _emit(segments, p, cur_start, cur_end, cur_rate, cur_base, divisor)
            cur_start, cur_end, cur_rate, cur_base, prev_key = seg_start, seg_end, rate, base, key
        seg_start = nxt
    if cur_start is not None:
        _emit(segments, p, cur_start, cur_end, cur_rate, cur_base, divisor)

    subtotal = sum(s.yen for s in segments)
    final = 0 if subtotal < p.min_result else subtotal // p.result_unit * p.result_unit
    return LateChargeResult(late_charge=final, base=base0, segments=tuple(segments), subtotal=subtotal)


def _emit(
    out: list[Segment], p: LateChargeParams, start: date, end: date, rate: Decimal, base: int, divisor: int
) -> None:
    if base <= 0 or rate == 0:
        return
    days = (end - start).days + 1
    num, den = p.ratio(rate)
    yen = base * num * days // (den * divisor)
    out.append(Segment(start=start, end=end, days=days, rate=rate, base=base, yen=yen))


# --- one installment "as of a date": until when the 延滞金 runs, on which balances ----------------------


def _counted(as_of: date, payments: Iterable[tuple[date, int]]) -> list[tuple[date, int]]:
    """The principal payments made by ``as_of`` (領収日 on or before it), oldest first.

    A later payment has not been made yet as of that date, so it neither reduces the base nor ends the
    period. A non-positive entry (a date whose reversals exceed its payments, e.g. an eLTAX 取消 dated
    after the payment it undoes) is not counted: the history does not say which payment it undoes."""
    return sorted((d, y) for d, y in payments if y > 0 and d <= as_of)


def _until(principal: int, base_date: date, as_of: date, counted: Sequence[tuple[date, int]]) -> date:
    remaining = principal
    for d, y in counted:
        remaining -= y
        if remaining <= 0:
            return max(d, base_date)
    return as_of


def late_charge_until(
    *, principal: int, base_date: date, as_of: date, payments: Iterable[tuple[date, int]]
) -> date:
    """計算の終期: the last day the 延滞金 of one installment runs, as of ``as_of``.

    The charging articles (地方税法326条・369条・463条の24・702条の8・723条; law.md §a1) compute it
    on the tax "納期限の翌日から納付の日までの期間の日数に応じ": it runs through the day the 本税 is
    paid in full — the 領収日 of the payment that brought the principal payments (those made by
    ``as_of``, oldest first) to ``principal``, the levied amount — and otherwise through ``as_of``
    itself (law.md §a4: the payment day counts). Never before ``base_date`` (the 納期限, or the
    法定納期限 of a 申告納付 item, law.md §a7): a 本税 paid in full by then bears nothing.
    """
    return _until(principal, base_date, as_of, _counted(as_of, payments))


def late_charge_as_of(
    *,
    principal: int,
    base_date: date,
    as_of: date,
    payments: Iterable[tuple[date, int]] = (),
    exemptions: Sequence[Exemption] = (),
    params: LateChargeParams | None = None,
) -> LateChargeResult:
    """延滞金 accrued on one installment (税目別・期別) as of ``as_of``: the one rule the payment
    engine, the balances and the person page use.

    ``principal`` is the levied 本税 (every 調定・更正 booked so far); ``payments`` its principal
    payments ``(領収日, yen)`` in any order, including any made after ``as_of`` (ignored). The charge
    runs from the day after ``base_date`` through :func:`late_charge_until`, on the balance left
    after the payments made so far (国税通則法62条1項 analogue, law.md §a6): each balance truncated to
    1,000 yen and dropped whole under 2,000 yen (地方税法20条の4の2第2項;
    ``LateChargeParams.min_principal_each_period``), the sum truncated to 100 yen and dropped under
    1,000 yen (同条第5項) — :func:`compute_late_charge`. Raises ``RateNotKnownError`` when a year's
    rate is not configured yet; the caller decides what that means for it.
    """
    counted = _counted(as_of, payments)
    until = _until(principal, base_date, as_of, counted)
    if principal <= 0 or until <= base_date:
        return LateChargeResult(late_charge=0, base=0, segments=(), subtotal=0)
    return compute_late_charge(
        principal=principal,
        due_date=base_date,
        until=until,
        payments=[(d, y) for d, y in counted if d <= until],
        exemptions=exemptions,
        params=params,
    )


# --- many installments at once: the same rule, its segmentation computed once per date pair ----------


def late_charges_as_of(
    installments: Iterable[tuple[int, date, Sequence[tuple[date, int]]]],
    *,
    as_of: date,
    params: LateChargeParams | None = None,
) -> list[tuple[date, int | None]]:
    """``(late_charge_until, 延滞金)`` of each ``(principal, base_date, payments)`` as of ``as_of``, in
    order: exactly ``late_charge_until(…)`` and ``late_charge_as_of(…).late_charge`` of each (no
    exemptions), with ``None`` for the 延滞金 where ``late_charge_as_of`` raises ``RateNotKnownError``
    (a year's rate not configured yet) — the batch decides what that means for it.

    The rule stays :func:`late_charge_as_of`; this only avoids redoing its date work per installment.
    An installment with no principal payment counted by ``as_of`` runs from the day after
    ``base_date`` through ``as_of`` on one base, so its segments (days × rate: the first-month and
    calendar-year cuts) depend on ``(base_date, as_of)`` alone: they are computed once per distinct
    ``base_date`` by :func:`compute_late_charge` itself, and each installment then only applies its own
    base — ``floor(base × rate% × days / (100 × 365))`` per segment, the same integer arithmetic as
    ``_emit`` — and the 100/1,000-yen rules. An installment with payments (its own cuts and bases) is
    computed by :func:`late_charge_as_of`.
    """
    p = params if params is not None else default_late_charge_params()
    probe = max(p.min_principal, p.base_unit, 1)  # any principal with a positive base shows the segments
    unit, min_principal = p.base_unit, p.min_principal
    min_result, result_unit = p.min_result, p.result_unit
    schedules: dict[date, tuple[tuple[int, int], ...] | None] = {}
    out: list[tuple[date, int | None]] = []
    append = out.append
    for principal, base_date, payments in installments:
        counted = _counted(as_of, payments) if payments else ()
        if counted or type(principal) is not int:
            until = _until(principal, base_date, as_of, counted)
            try:
                charge: int | None = late_charge_as_of(
                    principal=principal, base_date=base_date, as_of=as_of, payments=counted, params=p
                ).late_charge
            except RateNotKnownError:
                charge = None
            append((until, charge))
            continue
        # no payment counted: the charge runs through as_of (late_charge_until) on one base
        if principal <= 0 or as_of <= base_date or principal < min_principal:
            append((as_of, 0))
            continue
        if base_date in schedules:
            schedule = schedules[base_date]
        else:
            try:
                segs = compute_late_charge(
                    principal=probe, due_date=base_date, until=as_of, params=p
                ).segments
                schedule = tuple(_factor(p, s) for s in segs)
            except RateNotKnownError:
                schedule = None
            schedules[base_date] = schedule
        if schedule is None:
            append((as_of, None))
            continue
        base = principal // unit * unit
        subtotal = 0
        for numerator, denominator in schedule:
            subtotal += base * numerator // denominator
        append((as_of, 0 if subtotal < min_result else subtotal // result_unit * result_unit))
    return out


def _factor(p: LateChargeParams, s: Segment) -> tuple[int, int]:
    """``(num × days, den × 100 × divisor)`` of a segment: its yen for a base is ``base × a // b``
    (``_emit``'s ``base * num * days // (den * divisor)``, the same integers)."""
    num, den = p.ratio(s.rate)
    return num * s.days, den * 100 * p.divisor
