"""督促 (dunning): issue deadline, the date from which seizure is due, and the 督促手数料.

* 法329条1項 (市町村民税; same structure 法66条, 72条の66, and the other 税目): when the tax is not
  fully paid by the 納期限, the 徴税吏員 must issue a 督促状 within 20 days after the 納期限 (an
  ordinance may set another period for special reasons). A late 督促 is still valid (訓示規定,
  徳島地判昭30.12.27). law.md §b, https://www.city.joetsu.niigata.jp/soshiki/shuunou/tokutehaishi.html ,
  https://www.city.tsurugashima.lg.jp/page/page011085.html .
* 法331条1項1号: if not fully paid by the day on which 10 days have elapsed counting from the day the
  督促状 was issued (督促状を発した日から起算して10日を経過した日), property must be seized.
  https://sato-law.com/blog/system/post-1828 , https://www.city.yachimata.lg.jp/soshiki/5/1358.html .
* 督促手数料: each municipality's 税条例 (法330条 — article UNCONFIRMED), dated windows in params
  ``dunning_fees.toml``; 0 = abolished.
"""

from __future__ import annotations

from datetime import date, timedelta

from choshu.rules.due_dates import shift_due_date
from choshu.rules.parameters import DunningFeeTable, dunning_fee_table

__all__ = [
    "dunning_fee",
    "dunning_issue_deadline",
    "dunning_payment_deadline",
    "seizure_eligible_date",
]


def dunning_issue_deadline(due_date: date, *, days: int = 20) -> date:
    """Last day on which the 督促状 should be issued: ``days`` (20) days after the 納期限 (法329条1項).

    "納期限後20日以内": counting from the day after the 納期限, the 20th day = due_date + 20.
    """
    if days <= 0:
        raise ValueError("the issue period must be positive")
    return due_date + timedelta(days=days)


def dunning_payment_deadline(issued_on: date, *, shift_closed_days: bool = True) -> date:
    """The day on which 10 days have elapsed counting from the issue date (法331条1項1号).

    Counting the issue day as day 1, the 10th day is ``issued_on + 9`` and the day on which ten
    days *have elapsed* is ``issued_on + 10``: paying in full by the end of that day avoids
    seizure. Whether 法20条の5 moves this date off a closed day is UNCONFIRMED; the default shifts
    it (the reading that never seizes too early). ``shift_closed_days=False`` disables that.
    """
    d = issued_on + timedelta(days=10)
    return shift_due_date(d) if shift_closed_days else d


def seizure_eligible_date(issued_on: date, *, shift_closed_days: bool = True) -> date:
    """First day on which seizure (差押) must/may be made: the day after :func:`dunning_payment_deadline`."""
    return dunning_payment_deadline(issued_on, shift_closed_days=shift_closed_days) + timedelta(days=1)


def dunning_fee(
    municipality: str,
    *,
    issued_on: date,
    due_date: date | None = None,
    table: DunningFeeTable | None = None,
) -> int:
    """督促手数料 (yen) per 督促状 of ``municipality`` (code or configured name), as of its window.

    Raises ``RateNotKnownError`` when the municipality or the date is not configured.
    """
    t = table if table is not None else dunning_fee_table()
    return t.fee(municipality, issued_on=issued_on, due_date=due_date)
