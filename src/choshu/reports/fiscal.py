"""Which fiscal year (会計年度) a ledger posting belongs to.

- 会計年度: 4月1日〜翌年3月31日 (地方自治法208条1項).
- 出納整理期間: 出納は翌年度の5月31日に閉鎖する (地方自治法235条の5). Money received from 1 April to
  31 May for the previous year's 現年課税分 (an installment whose 賦課年度 is that previous year) is
  that year's revenue; everything else booked in April and May is the new year's.
- A posting booked before its levy's 賦課年度 begins counts in the 賦課年度 (nothing is a 現年分 of a
  year before its own).

The date read is the transaction's ``booking_date`` (計上日・日計日), which the ledger documents as the
date that "drives daily totals and the fiscal year"; the 領収日 (``legal_date``) is for late charges.
"""

from __future__ import annotations

from datetime import date

from choshu.levies.models import TxnKind

# Revenue-side kinds: the money movements that 出納整理期間 keeps in the old year (a payment, its
# reversal, an appropriation, an overpayment arising or moved, a refund paid out of it).
REVENUE_KINDS = frozenset(
    {
        TxnKind.PAYMENT,
        TxnKind.PAYMENT_REVERSAL,
        TxnKind.SUSPENSE_ASSIGN,
        TxnKind.APPROPRIATION,
        TxnKind.OVERPAYMENT,
        TxnKind.REFUND,
    }
)


def fiscal_year_of(day: date) -> int:
    """The 会計年度 of a calendar day (地方自治法208条1項)."""
    return day.year if day.month >= 4 else day.year - 1


def year_start(fiscal_year: int) -> date:
    return date(fiscal_year, 4, 1)


def year_end(fiscal_year: int) -> date:
    return date(fiscal_year + 1, 3, 31)


def closing_day(fiscal_year: int) -> date:
    """出納閉鎖の日: 翌年度の5月31日 (地方自治法235条の5)."""
    return date(fiscal_year + 1, 5, 31)


def attributed_year(kind: str, booking_date: date, levy_year: int | None) -> int:
    """The fiscal year a posting of ``kind`` booked on ``booking_date`` on an installment of 賦課年度
    ``levy_year`` (None: not on an installment) counts in, before any year-end close (see module)."""
    fy = fiscal_year_of(booking_date)
    if levy_year is None:
        return fy
    if kind in REVENUE_KINDS and fy == levy_year + 1 and booking_date <= closing_day(levy_year):
        return levy_year
    return max(fy, levy_year)
