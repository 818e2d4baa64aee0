"""還付加算金 (interest on refunds of overpaid tax).

法17条の4第1項: 還付金 / 充当 of 過誤納金 carry 年7.3% (特例 附則3条の2の2 per year, params
``refund_interest_rates.toml``) from the day after a start date that depends on why the overpayment
arose, through the day the refund payout is decided (支出を決定した日) or the 充当 date (or the
earlier date it became 充当適状). Rounding as for 延滞金 (法20条の4の2: base < 2,000 → none; base
truncated to 1,000; result truncated to 100; result < 1,000 → none; 365-day divisor).
law.md §e, https://jimu.hatenablog.jp/entry/kanpukasan ,
http://www.city.hiroshima.lg.jp/site/shizei-nouhu/2139.html ,
https://www.city.otsu.lg.jp/soshiki/005/1206/g/04/63147.html .

Start-date kinds (``kind``):

1. 更正・決定・賦課決定 reducing a tax already paid (第1号): from the day after ``paid_on``.
2. 更正の請求 → 更正 (第2号): from the day after the EARLIER of the day on which 3 months have
   elapsed from the day after the request (``claimed_on``) and the day on which 1 month has
   elapsed from the day after the 更正 (``event_on``).
3. 所得税の更正/申告 → 賦課決定 (第3号): from the day after the day on which 1 month has elapsed
   from the day after the income-tax event (``event_on``).
4. Others, e.g. 誤納 (第4号): from the day after the day on which 1 month has elapsed from the day
   after ``paid_on``.

The start is never before the day after the payment (assumption, documented in docs/rules.md).
``exclusions`` are 除算 periods (法17条の4第2項: days after the 30th day following a notice of
overpayment until the taxpayer's claim) — excluded days earn nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from functools import cache

from choshu.rules.late_charge import Segment
from choshu.rules.parameters import YearTable, year_table
from choshu.rules.periods import period_end

__all__ = [
    "RefundInterestParams",
    "RefundInterestResult",
    "claim_exclusion",
    "compute_refund_interest",
    "compute_refund_interest_parts",
    "refund_interest_start",
]

_ONE = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class RefundInterestResult:
    """``start`` is the first day of the statutory accrual period (None when no day accrues)."""

    refund_interest: int
    base: int
    start: date | None
    segments: tuple[Segment, ...]
    subtotal: int = 0


@dataclass(frozen=True)
class RefundInterestParams:
    rates: YearTable
    divisor: int = 365
    base_unit: int = 1000
    min_amount: int = 2000
    result_unit: int = 100
    min_result: int = 1000


@cache
def default_refund_interest_params() -> RefundInterestParams:
    return RefundInterestParams(rates=year_table("refund_interest"))


def refund_interest_start(
    *, kind: int, paid_on: date, event_on: date | None = None, claimed_on: date | None = None
) -> date:
    """First accruing day for a start-date ``kind`` 1..4 (法17条の4第1項各号; see module docstring)."""
    if kind == 1:
        base_day = paid_on
    elif kind == 2:
        if event_on is None or claimed_on is None:
            raise ValueError("kind 2 (更正の請求) needs claimed_on (the request) and event_on (the 更正)")
        base_day = min(period_end(claimed_on + _ONE, months=3), period_end(event_on + _ONE, months=1))
    elif kind == 3:
        if event_on is None:
            raise ValueError("kind 3 needs event_on (the income-tax 更正 notice or return)")
        base_day = period_end(event_on + _ONE, months=1)
    elif kind == 4:
        base_day = period_end(paid_on + _ONE, months=1)
    else:
        raise ValueError(f"kind must be 1, 2, 3 or 4, got {kind!r}")
    return max(base_day, paid_on) + _ONE


def compute_refund_interest(
    *,
    amount: int,
    kind: int,
    paid_on: date,
    event_on: date | None,
    decided_on: date,
    claimed_on: date | None = None,
    exclusions: Sequence[tuple[date, date]] = (),
    params: RefundInterestParams | None = None,
) -> RefundInterestResult:
    """還付加算金 for an overpayment of ``amount`` yen (法17条の4, 20条の4の2; law.md §e).

    ``decided_on`` is the 支出決定 date (or the 充当 / 充当適状 date) and is counted.
    """
    return compute_refund_interest_parts(
        parts=[(decided_on, amount)], kind=kind, paid_on=paid_on, event_on=event_on, claimed_on=claimed_on,
        exclusions=exclusions, params=params,
    )  # fmt: skip


def compute_refund_interest_parts(
    *,
    parts: Sequence[tuple[date, int]],
    kind: int,
    paid_on: date,
    event_on: date | None,
    claimed_on: date | None = None,
    exclusions: Sequence[tuple[date, date]] = (),
    params: RefundInterestParams | None = None,
) -> RefundInterestResult:
    """還付加算金 of ONE overpayment paid out in ``parts`` ``(end date, yen)``: each part appropriated
    (to its 充当適状日) or refunded (to the 支出決定日), 法17条の4第1項 "還付し、又は充当する金額".

    The overpayment is one claim, so the rounding of 法20条の4の2 applies to it once, as to the 延滞金
    of one installment paid in parts (law.md §a6): the whole overpayment under 2,000 yen earns nothing;
    each day's base is what is still unpaid that day truncated to 1,000 yen; each rate segment is
    truncated to the yen; the total is truncated to 100 yen and under 1,000 yen is none. With one part
    this is the city pages' formula (https://www.city.hiroshima.lg.jp/site/shizei-nouhu/2139.html).
    """
    p = params if params is not None else default_refund_interest_params()
    for _end, amount in parts:
        if not isinstance(amount, int) or isinstance(amount, bool) or amount < 0:
            raise ValueError(f"amount must be a non-negative int (yen), got {amount!r}")
    start = refund_interest_start(kind=kind, paid_on=paid_on, event_on=event_on, claimed_on=claimed_on)
    total = sum(a for _, a in parts)
    if total < p.min_amount:
        return RefundInterestResult(refund_interest=0, base=0, start=None, segments=())
    base0 = total // p.base_unit * p.base_unit
    last = max(end for end, _ in parts)
    if last < start:
        return RefundInterestResult(refund_interest=0, base=base0, start=None, segments=())

    excl = sorted(exclusions)
    for a, b in excl:
        if b < a:
            raise ValueError(f"exclusion ends ({b}) before it starts ({a})")
    cuts = {date(y, 1, 1) for y in range(start.year + 1, last.year + 1)}
    for a, b in excl:
        cuts.add(a)
        cuts.add(b + _ONE)
    for end, _ in parts:
        cuts.add(end + _ONE)  # the part stops earning after its own end date
    bounds = [*sorted(c for c in cuts if start < c <= last), last + _ONE]

    def base_on(day: date) -> int:
        owed = sum(a for end, a in parts if end >= day)
        return owed // p.base_unit * p.base_unit

    segments: list[Segment] = []
    cur: tuple[date, date, Decimal, int] | None = None
    seg_start = start
    for nxt in bounds:
        seg_end = nxt - _ONE
        excluded = any(a <= seg_start <= b for a, b in excl)
        rate = Decimal(0) if excluded else p.rates.rate(seg_start.year, "rate")
        base = base_on(seg_start)
        if cur is not None and (cur[2], cur[3]) == (rate, base):
            cur = (cur[0], seg_end, rate, base)
        else:
            if cur is not None:
                _emit(segments, p, cur[3], cur[0], cur[1], cur[2])
            cur = (seg_start, seg_end, rate, base)
        seg_start = nxt
    if cur is not None:
        _emit(segments, p, cur[3], cur[0], cur[1], cur[2])
    subtotal = sum(s.yen for s in segments)
    final = 0 if subtotal < p.min_result else subtotal // p.result_unit * p.result_unit
    return RefundInterestResult(
        refund_interest=final, base=base0, start=start, segments=tuple(segments), subtotal=subtotal
    )


CLAIM_GRACE_DAYS = 30  # 法17条の4第2項第1号: "その通知を発した日から30日を経過する日"


def claim_exclusion(*, notice_on: date, claimed_on: date | None, until: date) -> tuple[date, date] | None:
    """除算期間 of 法17条の4第2項第1号: after a notice that there is an overpayment (過誤納還付通知書)
    sent on ``notice_on``, the days from the day after the 30th day following it to the day the person's
    claim (還付請求) arrived, ``claimed_on`` — or to ``until`` while none has arrived — earn nothing
    (http://taru-masaki.hatenablog.com/entry/2014/07/30/191411). None when the claim came in time."""
    last_free = notice_on + timedelta(days=CLAIM_GRACE_DAYS)
    end = claimed_on if claimed_on is not None else until
    if end <= last_free:
        return None
    return (last_free + _ONE, end)


def _emit(
    out: list[Segment], p: RefundInterestParams, base: int, start: date, end: date, rate: Decimal
) -> None:
    if rate == 0 or base == 0:
        return
    days = (end - start).days + 1
    num, den = rate.as_integer_ratio()
    yen = base * num * days // (den * 100 * p.divisor)
    out.append(Segment(start=start, end=end, days=days, rate=rate, base=base, yen=yen))
