"""Reads of 収納: the daily totals (日計) and a person's slips."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

from django.db import connection

from choshu.core.models import Municipality
from choshu.levies.models import Account, TxnKind
from choshu.levies.tax_items import tax_item_name
from choshu.receipts.models import Channel

POSTED_ACCOUNTS = (Account.RECEIVABLE, Account.LATE_CHARGE_INCOME, Account.OVERPAYMENT)


def fiscal_year(d: date) -> int:
    """会計年度: April to March."""
    return d.year if d.month >= 4 else d.year - 1


@dataclass(frozen=True)
class DailyRow:
    booked_on: str
    channel: str
    channel_name: str
    tax_item: str
    tax_item_name: str
    year_class: str  # current | carried_over | unknown
    count: int
    amount: int
    amount_posted: int
    amount_suspense: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class DailyTotals:
    """``count`` counts each payment once (a combined slip's payment may appear in several rows)."""

    booked_on: date
    rows: list[DailyRow]
    count: int

    @property
    def amount_posted(self) -> int:
        return sum(r.amount_posted for r in self.rows)

    @property
    def amount_suspense(self) -> int:
        return sum(r.amount_suspense for r in self.rows)

    def as_dict(self) -> dict[str, Any]:
        return {
            "date": self.booked_on.isoformat(),
            "rows": [r.as_dict() for r in self.rows],
            "count": self.count,
            "amount": self.amount_posted + self.amount_suspense,
            "amount_posted": self.amount_posted,
            "amount_suspense": self.amount_suspense,
        }


YEAR_CLASS = {"current": "現年分", "carried_over": "滞納繰越分", "unknown": "不明（未消込）"}

_SQL = """
SELECT p.id, p.channel, lv.tax_item, lv.levy_year, e.account, t.kind, SUM(e.amount)
FROM levies_ledgertransaction t
JOIN levies_ledgerentry e ON e.txn_id = t.id AND e.account <> 'cash'
JOIN receipts_payment p ON p.id = e.payment_id AND p.{link} = t.id
LEFT JOIN levies_installment i ON i.id = e.installment_id
LEFT JOIN levies_levy lv ON lv.id = i.levy_id
WHERE t.municipality_id = %s AND t.booking_date = %s AND t.kind = %s
GROUP BY p.id, p.channel, lv.tax_item, lv.levy_year, e.account, t.kind
"""


def daily_totals(*, municipality: Municipality, booked_on: date) -> DailyTotals:
    """日計: per channel × tax item × current/carried-over, the count and amounts booked on ``booked_on``.

    The booking date is the bank's ``booked_on``, the conveni 確報's 振込日 and eLTAX's ``remitted_on``.
    A reversal counts on its own booking date with a negative count and amount. Amounts placed on a
    person (principal, late charge, overpayment) are ``amount_posted``; unplaced ones ``amount_suspense``.
    """
    fy = fiscal_year(booked_on)
    groups: dict[tuple[str, str, str], dict[str, Any]] = defaultdict(
        lambda: {"payments": set(), "posted": 0, "suspense": 0, "sign": 1}
    )
    every: set[tuple[int, int]] = set()
    with connection.cursor() as cur:
        for link, kind in (("txn_id", TxnKind.PAYMENT), ("reversal_txn_id", TxnKind.PAYMENT_REVERSAL)):
            cur.execute(_SQL.format(link=link), [municipality.pk, booked_on, str(kind)])  # noqa: S608
            for pid, channel, tax_item, levy_year, account, txn_kind, total in cur.fetchall():
                year_class = (
                    "unknown" if levy_year is None else ("current" if levy_year >= fy else "carried_over")
                )
                g = groups[(channel, tax_item or "", year_class)]
                sign = -1 if txn_kind == TxnKind.PAYMENT_REVERSAL else 1
                g["payments"].add((pid, sign))
                every.add((pid, sign))
                amount = -int(total)
                if account in POSTED_ACCOUNTS:
                    g["posted"] += amount
                elif account == Account.SUSPENSE:
                    g["suspense"] += amount
    rows = []
    for (channel, tax_item, year_class), g in sorted(groups.items()):
        count = sum(sign for _, sign in g["payments"])
        rows.append(
            DailyRow(
                booked_on=booked_on.isoformat(),
                channel=channel,
                channel_name=Channel(channel).label if channel in Channel.values else channel,
                tax_item=tax_item,
                tax_item_name=tax_item_name(municipality.pk, tax_item),
                year_class=year_class,
                count=count,
                amount=g["posted"] + g["suspense"],
                amount_posted=g["posted"],
                amount_suspense=g["suspense"],
            )
        )
    return DailyTotals(booked_on=booked_on, rows=rows, count=sum(sign for _, sign in every))


CSV_HEADER = ["日計日", "収納経路", "税目コード", "税目", "現年・滞繰", "件数", "金額", "消込額", "未消込額"]


def daily_totals_csv(totals: DailyTotals, *, encoding: str = "cp932") -> bytes:
    """The daily totals as CSV for Excel users (CP932 by default, CRLF); every cell through
    ``formats.csv_safe`` (no cell can become a formula)."""
    from choshu.formats.csv_safe import csv_stream

    rows: list[list[Any]] = [
        [
            r.booked_on,
            r.channel_name,
            r.tax_item,
            r.tax_item_name,
            YEAR_CLASS[r.year_class],
            r.count,
            r.amount,
            r.amount_posted,
            r.amount_suspense,
        ]
        for r in totals.rows
    ]
    rows.append(
        [
            totals.booked_on.isoformat(),
            "合計",
            "",
            "",
            "",
            totals.count,
            totals.amount_posted + totals.amount_suspense,
            totals.amount_posted,
            totals.amount_suspense,
        ]
    )
    text = "".join(csv_stream(CSV_HEADER, rows, bom=False))
    return (
        text.encode("utf-8-sig")
        if encoding.lower().replace("-", "") in ("utf8", "utf8sig")
        else text.encode("cp932", errors="replace")
    )
