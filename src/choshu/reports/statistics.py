"""月次統計 and 月計表 (issue 21 §2): aggregates only, from the ledger, with the settlement's rules.

- **Fiscal year and months**: a posting belongs to the fiscal year ``fiscal.attributed_year`` gives it
  (出納整理期間, 地方自治法235条の5) and to the month of its 計上日 (``booking_date``). The months of a
  year are 4月〜3月 and, for the previous year's 現年分 received by 5/31, 出納整理期間の4月・5月. A levy
  booked before its year begins counts in April.
- **Opening**: the 滞納繰越分 carried in is the last close's balances (``ClosingBalance``) before the
  year plus the ledger rows of the open years since, booked up to the month's end (``settlement.scan_rows``)
  — never the whole ledger once a year is closed. Rows counted by date here: a transaction posted
  after a close shows in the month of its 計上日 (the settlement moves it to the open year).
- **Suppression** (``suppress``): a cell counting ``0 < persons < minimum`` is 秘匿; then, in every line
  whose total is shown (a row or a column of a table and its total), a line with exactly one hidden
  cell hides the next smallest non-zero cell too, or its total when there is none — repeated until
  nothing changes, so no hidden figure is a difference of shown ones.
- **Set-based**: every figure is one grouped SQL query (GROUP BY over the ledger, installments, cases);
  Python only adds up the grouped rows (per day, tax item and kind — never per person).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone

from choshu.cases.models import Stage
from choshu.core.models import Municipality
from choshu.levies.ledger import PAID_KINDS
from choshu.levies.models import Account, Component, TxnKind
from choshu.levies.tax_items import tax_item_name
from choshu.receipts.models import Channel
from choshu.reports.fiscal import fiscal_year_of, year_end, year_start
from choshu.reports.models import Category, FiscalYearClose, StatisticsSetting
from choshu.reports.settlement import MAX_YEAR, MIN_YEAR, carry, rate, scan_rows, stored

DEFAULT_MIN_PERSONS = 10
# 滞納の経過年数 (from the 納期限): [from, to) in years; None = no upper bound. Documented constants
# (docs/reports.md): 5 years is the prescription period (地方税法18条), 3 years the 執行停止 (15条の7).
AGE_BANDS: list[tuple[int, int | None, str]] = [
    (0, 1, "1年未満"),
    (1, 2, "1年以上2年未満"),
    (2, 3, "2年以上3年未満"),
    (3, 5, "3年以上5年未満"),
    (5, None, "5年以上"),
]
NO_CASE = "none"
NO_CHANNEL = "none"
SUPPRESSED = "秘匿"
MONTH_LABELS = [f"{m}月" for m in (4, 5, 6, 7, 8, 9, 10, 11, 12, 1, 2, 3)] + [
    "出納整理期間4月",
    "出納整理期間5月",
]


# --- the month asked for --------------------------------------------------------------------------------


def parse_month(raw: str, today: date) -> date:
    """「YYYY-MM」 → the month's first day; a bad or future month is refused in Japanese."""
    m = re.fullmatch(r"(\d{4})-(\d{2})", (raw or "").strip())
    if m is None or not 1 <= int(m[2]) <= 12:
        raise ValidationError(
            f"対象年月が不正です: {raw[:20]!r}（YYYY-MM の形、例 2025-06 で指定してください）"
        )
    first = date(int(m[1]), int(m[2]), 1)
    if not MIN_YEAR <= fiscal_year_of(first) <= MAX_YEAR:
        raise ValidationError(
            f"対象年月が範囲外です: {raw}（{MIN_YEAR}年4月〜{MAX_YEAR}年度で指定してください）"
        )
    if first > today:
        raise ValidationError(
            f"対象年月 {raw} はまだ来ていません（今月 {today:%Y-%m} 以前の月を指定してください）"
        )
    return first


def month_end(first: date) -> date:
    return (first.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)


def years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 2/29
        return day.replace(year=day.year - years, day=28)


def month_index(fiscal_year: int, day: date) -> int:
    """0..11 = 4月..3月 of the year; 12, 13 = 出納整理期間の4月・5月; a day before the year: 0."""
    if day < year_start(fiscal_year):
        return 0
    if day > year_end(fiscal_year):
        return 12 if day.month == 4 else 13
    return (day.month - 4) % 12


def min_persons(municipality: Municipality, on: date) -> tuple[int, str]:
    """The suppression minimum in force on ``on`` and where it comes from."""
    s = (
        StatisticsSetting.objects.filter(municipality=municipality, valid_from__lte=on)
        .order_by("-valid_from")
        .first()
    )
    if s is None:
        return DEFAULT_MIN_PERSONS, f"既定値（{DEFAULT_MIN_PERSONS}人）"
    return s.min_persons, f"{s.valid_from.isoformat()} からの設定" + (f"（{s.note}）" if s.note else "")


# --- ledger series: the month-by-month movements of a fiscal year ----------------------------------------


@dataclass
class Moves:
    """Receivable-principal and overpayment movements (本税, yen) of some months."""

    opening: int = 0  # 滞納繰越分: the 収入未済額 carried in (part of 調定額)
    levy: int = 0
    correction: int = 0
    paid: int = 0
    refunded: int = 0  # refunds paid out of the overpayment account
    written_off: int = 0
    outstanding: int = 0  # opening + every receivable-principal entry, computed apart
    refund_pending: int = 0
    other: int = 0

    FIELDS = ("opening", "levy", "correction", "paid", "refunded", "written_off", "outstanding",
              "refund_pending", "other")  # fmt: skip

    def add(self, o: Moves) -> None:
        for k in self.FIELDS:
            setattr(self, k, getattr(self, k) + getattr(o, k))

    def entry(self, kind: str, account: str, amount: int) -> None:
        if account == Account.OVERPAYMENT:
            if kind == TxnKind.REFUND:
                self.refunded += amount
            self.refund_pending -= amount
            return
        self.outstanding += amount
        if kind == TxnKind.LEVY:
            self.levy += amount
        elif kind == TxnKind.CORRECTION:
            self.correction += amount
        elif kind in PAID_KINDS:
            self.paid -= amount
        elif kind == TxnKind.WRITE_OFF:
            self.written_off -= amount
        else:
            self.other += amount

    @property
    def levied(self) -> int:
        return self.opening + self.levy + self.correction

    @property
    def difference(self) -> int:
        """調定額 − 収入済額 − 不納欠損額 − 収入未済額: 0 when the identity holds."""
        return self.levied - self.paid - self.written_off - self.outstanding

    @property
    def rate(self) -> str:
        return rate(self.paid, self.levied)

    def as_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.FIELDS if k != "other"} | {
            "levied": self.levied, "rate": self.rate, "difference": self.difference,
        }  # fmt: skip

    def is_empty(self) -> bool:
        return not any(getattr(self, k) for k in self.FIELDS)


Cell = tuple[str, str]  # (tax item, category)


@dataclass
class Series:
    fiscal_year: int
    upto: date
    opening: dict[str, tuple[int, int]]  # per tax item: (収入未済額, 還付未済額) carried in
    moves: dict[tuple[str, str, int], Moves]  # (tax item, category, month index)

    def cells(self) -> list[Cell]:
        keys = {(i, c) for i, c, _ in self.moves} | {(i, Category.ARREARS.value) for i in self.opening}
        return sorted(keys, key=lambda k: (k[0] == "", k[0], k[1] != Category.CURRENT.value))

    def through(self, cell: Cell, last: int, first: int = 0, *, opening: bool = True) -> Moves:
        """The cell's movements of the month indexes first..last (with the opening when asked)."""
        out = Moves()
        if opening and cell[1] == Category.ARREARS.value and cell[0] in self.opening:
            o, r = self.opening[cell[0]]
            out.opening, out.outstanding, out.refund_pending = o, o, r
        for k in range(first, last + 1):
            m = self.moves.get((cell[0], cell[1], k))
            if m is not None:
                out.add(m)
        return out


def series(municipality: Municipality, fiscal_year: int, upto: date) -> Series:
    """The year's movements by month from the ledger rows booked up to ``upto`` (see module)."""
    base = (
        FiscalYearClose.objects.filter(municipality=municipality, fiscal_year__lt=fiscal_year)
        .order_by("-fiscal_year")
        .first()
    )
    carried: dict[str, tuple[int, int]] = {}
    if base is not None:
        carried = carry((item, f) for (item, _), f in stored(base).items())
    moves: dict[tuple[str, str, int], Moves] = defaultdict(Moves)
    rows = scan_rows(municipality.pk, first=base.fiscal_year + 1 if base else None, last=fiscal_year,
                     last_close=base, until=upto)  # fmt: skip
    for year, item, category, kind, booked, account, amount in rows:
        if year < fiscal_year:  # an open year before this one: rolled into what it carries
            o, r = carried.get(item, (0, 0))
            carried[item] = (o, r - amount) if account == Account.OVERPAYMENT else (o + amount, r)
            continue
        moves[(item, category, month_index(fiscal_year, booked))].entry(kind, account, amount)
    return Series(fiscal_year, upto, {k: v for k, v in carried.items() if v != (0, 0)}, dict(moves))


# --- suppression ---------------------------------------------------------------------------------------


def suppress(counts: dict[Any, int], lines: Iterable[tuple[Any, list[Any]]], minimum: int) -> set[Any]:
    """The cells to hide: ``counts`` maps a cell to its number of persons; ``lines`` are (total cell,
    member cells) whose amounts add up to the total. See module."""
    hidden = {k for k, n in counts.items() if 0 < n < minimum}
    lines = list(lines)
    changed = True
    while changed:
        changed = False
        for total, members in lines:
            if total in hidden:
                continue
            hid = [m for m in members if m in hidden]
            if len(hid) != 1:
                continue
            shown = sorted((counts.get(m, 0), str(m), m) for m in members if m not in hidden)
            nonzero = [m for n, _, m in shown if n > 0]
            hidden.add(nonzero[0] if nonzero else total)
            changed = True
    return hidden


@dataclass
class Cellv:
    """A statistics cell: persons and yen, or hidden (None)."""

    persons: int | None
    amount: int | None

    @property
    def suppressed(self) -> bool:
        return self.persons is None

    def as_dict(self) -> dict[str, Any]:
        return {"persons": self.persons, "amount": self.amount, "suppressed": self.suppressed}


@dataclass
class Line:
    key: str
    label: str
    cell: Cellv


@dataclass
class Table:
    rows: list[Line]
    total: Line

    def as_dict(self) -> dict[str, Any]:
        return {
            "rows": [{"key": r.key, "label": r.label, **r.cell.as_dict()} for r in self.rows],
            "total": {"key": self.total.key, "label": self.total.label, **self.total.cell.as_dict()},
        }


def _table(raw: dict[str, tuple[int, int]], labels: list[tuple[str, str]], minimum: int) -> Table:
    """A one-way table (the "*" key is its total) with its cells suppressed."""
    counts = {k: raw.get(k, (0, 0))[0] for k, _ in labels} | {"*": raw.get("*", (0, 0))[0]}
    hidden = suppress(counts, [("*", [k for k, _ in labels])], minimum)

    def cell(k: str) -> Cellv:
        n, yen = raw.get(k, (0, 0))
        return Cellv(None, None) if k in hidden else Cellv(n, yen)

    return Table([Line(k, label, cell(k)) for k, label in labels], Line("*", "計", cell("*")))


# --- the queries (one grouped statement each) --------------------------------------------------------------

_OWED = """
SELECT i.taxpayer_id AS tp, i.due_date AS due, SUM(e.amount) AS owed
FROM levies_ledgerentry e
JOIN levies_ledgertransaction t ON t.id = e.txn_id
JOIN levies_installment i ON i.id = e.installment_id
WHERE e.municipality_id = %(m)s AND t.municipality_id = %(m)s AND e.account = %(receivable)s
  AND e.component = %(principal)s AND t.booking_date <= %(end)s AND i.due_date < %(end)s
GROUP BY i.id, i.taxpayer_id, i.due_date
HAVING SUM(e.amount) > 0
"""

_AGE = """
WITH owed AS ({owed}), banded AS (
  SELECT tp, owed, CASE {bands} ELSE {last} END AS band FROM owed
)
SELECT band, COUNT(DISTINCT tp), SUM(owed) FROM banded GROUP BY band
UNION ALL SELECT '*', COUNT(DISTINCT tp), COALESCE(SUM(owed), 0) FROM banded
"""

_STAGE = """
WITH owed AS ({owed}), per AS (SELECT tp, SUM(owed) AS owed FROM owed GROUP BY tp),
st AS (
  SELECT c.taxpayer_id AS tp, COALESCE((
    SELECT h.to_stage FROM cases_stagechange h
    WHERE h.case_id = c.id AND h.changed_at < %(end_ts)s ORDER BY h.changed_at DESC, h.id DESC LIMIT 1
  ), c.stage) AS stage
  FROM cases_case c
  WHERE c.municipality_id = %(m)s AND c.opened_on <= %(end)s AND (c.closed_on IS NULL OR c.closed_on > %(end)s)
)
SELECT COALESCE(st.stage, '{none}'), COUNT(DISTINCT per.tp), SUM(per.owed)
FROM per LEFT JOIN st ON st.tp = per.tp GROUP BY COALESCE(st.stage, '{none}')
UNION ALL SELECT '*', COUNT(*), COALESCE(SUM(owed), 0) FROM per
"""

_MONTH = """
FROM levies_ledgerentry e
JOIN levies_ledgertransaction t ON t.id = e.txn_id
LEFT JOIN levies_installment i ON i.id = e.installment_id
{join}
WHERE e.municipality_id = %(m)s AND t.municipality_id = %(m)s
  AND t.booking_date >= %(first)s AND t.booking_date <= %(end)s
"""

_CHANNEL = """
WITH paid AS (
  SELECT COALESCE(p.channel, '{none}') AS channel, COALESCE(e.taxpayer_id, i.taxpayer_id) AS tp, e.amount AS amount
  {month} AND e.account = %(receivable)s AND e.component = %(principal)s AND t.kind IN ({kinds})
)
SELECT channel, COUNT(DISTINCT tp), -SUM(amount) FROM paid GROUP BY channel
UNION ALL SELECT '*', COUNT(DISTINCT tp), -COALESCE(SUM(amount), 0) FROM paid
"""

_REFUND_WRITE_OFF = """
SELECT 'refund', COUNT(DISTINCT COALESCE(e.taxpayer_id, i.taxpayer_id)), COALESCE(SUM(e.amount), 0)
{month} AND e.account = %(overpayment)s AND t.kind = %(refund)s
UNION ALL
SELECT 'write_off', COUNT(DISTINCT COALESCE(e.taxpayer_id, i.taxpayer_id)), -COALESCE(SUM(e.amount), 0)
{month} AND e.account = %(receivable)s AND e.component = %(principal)s AND t.kind = %(write_off)s
"""

# Persons per tax item × category (for suppression): 現年 = installments of the year with an entry
# booked by the month's end; 滞納繰越 = older installments with a balance at the year's start or a
# movement since. With the totals per item, per category and overall (distinct persons).
_PERSONS = """
WITH x AS (
  SELECT l.tax_item AS item,
         CASE WHEN l.levy_year = %(fy)s THEN '{current}' ELSE '{arrears}' END AS cat, i.taxpayer_id AS tp
  FROM levies_ledgerentry e
  JOIN levies_ledgertransaction t ON t.id = e.txn_id
  JOIN levies_installment i ON i.id = e.installment_id
  JOIN levies_levy l ON l.id = i.levy_id
  WHERE e.municipality_id = %(m)s AND t.municipality_id = %(m)s AND e.account = %(receivable)s
    AND e.component = %(principal)s AND l.levy_year <= %(fy)s AND t.booking_date <= %(end)s
  GROUP BY l.tax_item, l.levy_year, i.id, i.taxpayer_id
  HAVING l.levy_year = %(fy)s OR SUM(CASE WHEN t.booking_date < %(start)s THEN e.amount ELSE 0 END) <> 0
      OR SUM(CASE WHEN t.booking_date >= %(start)s THEN 1 ELSE 0 END) > 0
)
SELECT item, cat, COUNT(DISTINCT tp) FROM x GROUP BY item, cat
UNION ALL SELECT item, '*', COUNT(DISTINCT tp) FROM x GROUP BY item
UNION ALL SELECT '*', cat, COUNT(DISTINCT tp) FROM x GROUP BY cat
UNION ALL SELECT '*', '*', COUNT(DISTINCT tp) FROM x
"""


def _params(municipality: Municipality, first: date, end: date) -> dict[str, Any]:
    end_ts = timezone.make_aware(datetime.combine(end + timedelta(days=1), time.min))
    return {
        "m": municipality.pk,
        "first": first,
        "end": end,
        "end_ts": connection.ops.adapt_datetimefield_value(end_ts),
        "receivable": Account.RECEIVABLE.value,
        "principal": Component.PRINCIPAL.value,
        "overpayment": Account.OVERPAYMENT.value,
        "refund": TxnKind.REFUND.value,
        "write_off": TxnKind.WRITE_OFF.value,
    }


def _grouped(sql: str, params: dict[str, Any]) -> dict[str, tuple[int, int]]:
    with connection.cursor() as cur:
        cur.execute(sql, params)
        return {str(k).strip(): (int(n or 0), int(yen or 0)) for k, n, yen in cur.fetchall()}


def arrears_by_age(municipality: Municipality, end: date, minimum: int) -> Table:
    """本税 in arrears (past its 納期限) at the month's end, per 経過年数 band (from the 納期限)."""
    params = _params(municipality, end, end)
    cases = []
    for n, (_low, high, _label) in enumerate(AGE_BANDS[:-1]):
        params[f"b{n}"] = years_before(end, high or 0)
        cases.append(f"WHEN due > %(b{n})s THEN '{n}'")
    sql = _AGE.format(owed=_OWED, bands=" ".join(cases), last=f"'{len(AGE_BANDS) - 1}'")
    return _table(_grouped(sql, params), [(str(n), b[2]) for n, b in enumerate(AGE_BANDS)], minimum)


def arrears_by_stage(municipality: Municipality, end: date, minimum: int) -> Table:
    """The same arrears per person, by the stage of the person's open case at the month's end (the
    stage history, ``cases.StageChange``); 「案件なし」 for a person without an open case."""
    sql = _STAGE.format(owed=_OWED, none=NO_CASE)
    labels = [(s.value, s.label) for s in Stage if s != Stage.CLOSED] + [(NO_CASE, "案件なし")]
    return _table(_grouped(sql, _params(municipality, end, end)), labels, minimum)


def payments_by_channel(municipality: Municipality, first: date, end: date, minimum: int) -> Table:
    """本税 received in the month (計上日) per channel of the payment: the paid kinds on the receivable
    principal (a reversal negative in its month), so the total is the month's 収入 of every year; an
    amount from no payment (充当) under 「充当等」."""
    kinds = ", ".join(f"'{k.value}'" for k in PAID_KINDS)
    month = _MONTH.format(join="LEFT JOIN receipts_payment p ON p.id = e.payment_id")
    sql = _CHANNEL.format(none=NO_CHANNEL, month=month, kinds=kinds)
    labels = [(c.value, c.label) for c in Channel] + [(NO_CHANNEL, "充当等（収納によらないもの）")]
    return _table(_grouped(sql, _params(municipality, first, end)), labels, minimum)


def refunds_and_write_offs(municipality: Municipality, first: date, end: date, minimum: int) -> Table:
    """The month's refunds paid (過誤納金の還付) and 不納欠損 (本税). Two separate figures: no total."""
    raw = _grouped(_REFUND_WRITE_OFF.format(month=_MONTH.format(join="")), _params(municipality, first, end))
    lines = []
    for key, label in (("refund", "還付"), ("write_off", "不納欠損")):
        n, yen = raw.get(key, (0, 0))
        lines.append(Line(key, label, Cellv(None, None) if 0 < n < minimum else Cellv(n, yen)))
    return Table(lines, Line("*", "", Cellv(0, 0)))


def _persons(municipality: Municipality, fiscal_year: int, end: date) -> dict[Cell, int]:
    params = _params(municipality, end, end) | {"fy": fiscal_year, "start": year_start(fiscal_year)}
    sql = _PERSONS.format(current=Category.CURRENT.value, arrears=Category.ARREARS.value)
    with connection.cursor() as cur:
        cur.execute(sql, params)
        return {(str(i), str(c)): int(n) for i, c, n in cur.fetchall()}


# --- collection rate by month --------------------------------------------------------------------------


@dataclass
class RateRow:
    tax_item: str  # "*" = every tax item
    tax_item_name: str
    category: str  # Category value or "*"
    persons: int | None  # None = suppressed
    levied: int | None
    paid: int | None
    rate: str | None
    rates: list[str] | None  # cumulative 収納率 at the end of each month 4月.. (this year)
    previous_rates: list[str] | None  # the same months of the previous year
    previous_rate: str | None

    @property
    def category_label(self) -> str:
        return "計" if self.category == "*" else Category(self.category).label

    @property
    def suppressed(self) -> bool:
        return self.persons is None

    def as_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "category_label": self.category_label, "suppressed": self.suppressed}


def _rates(s: Series, cells: list[Cell], last: int) -> list[str]:
    out = []
    for k in range(last + 1):
        m = Moves()
        for c in cells:
            m.add(s.through(c, k))
        out.append(m.rate)
    return out


@dataclass
class Statistics:
    month: date
    end: date
    fiscal_year: int
    index: int
    min_persons: int
    min_persons_source: str
    rates: list[RateRow]
    months: list[str]
    by_age: Table
    by_stage: Table
    by_channel: Table
    refunds_write_offs: Table

    def as_dict(self) -> dict[str, Any]:
        return {
            "month": f"{self.month:%Y-%m}",
            "period": [self.month.isoformat(), self.end.isoformat()],
            "fiscal_year": self.fiscal_year,
            "min_persons": self.min_persons,
            "min_persons_source": self.min_persons_source,
            "suppressed_mark": SUPPRESSED,
            "collection_rate": {"months": self.months, "rows": [r.as_dict() for r in self.rates]},
            "arrears_by_age": self.by_age.as_dict(),
            "arrears_by_stage": self.by_stage.as_dict(),
            "payments_by_channel": self.by_channel.as_dict(),
            "refunds_and_write_offs": [
                {"key": r.key, "label": r.label, **r.cell.as_dict()} for r in self.refunds_write_offs.rows
            ],
        }


def statistics(municipality: Municipality, month: date) -> Statistics:
    """The month's statistics (``month`` = its first day; see module)."""
    end = month_end(month)
    fy = fiscal_year_of(month)
    k = month_index(fy, month)
    minimum, source = min_persons(municipality, end)
    this = series(municipality, fy, end)
    prev_end = years_before(end, 1)
    prev_end = month_end(prev_end.replace(day=1))
    prev = series(municipality, fy - 1, prev_end)
    persons = _persons(municipality, fy, end)
    cells = [c for c in this.cells() if c[0] != ""]  # no 税目なし row: it holds only 過誤納金
    items = sorted({i for i, _ in cells})
    cats = [Category.CURRENT.value, Category.ARREARS.value]
    counts: dict[Cell, int] = {c: persons.get(c, 0) for c in cells}
    for i in items:
        counts[(i, "*")] = persons.get((i, "*"), 0)
    for c in cats:
        counts[("*", c)] = persons.get(("*", c), 0)
    counts[("*", "*")] = persons.get(("*", "*"), 0)
    lines: list[tuple[Any, list[Any]]] = []
    for i in items:
        lines.append(((i, "*"), [c for c in cells if c[0] == i]))
    for c in cats:
        lines.append((("*", c), [x for x in cells if x[1] == c]))
    lines.append((("*", "*"), [(i, "*") for i in items]))
    lines.append((("*", "*"), [("*", c) for c in cats]))
    hidden = suppress(counts, lines, minimum)
    rows: list[RateRow] = []

    def row(item: str, cat: str, members: list[Cell]) -> RateRow:
        name = "合計" if item == "*" else tax_item_name(municipality.pk, item)
        if (item, cat) in hidden:
            return RateRow(item, name, cat, None, None, None, None, None, None, None)
        m = Moves()
        for c in members:
            m.add(this.through(c, k))
        p = Moves()
        for c in members:
            p.add(prev.through(c, k))
        return RateRow(item, name, cat, counts.get((item, cat), 0), m.levied, m.paid, m.rate,
                       _rates(this, members, k), _rates(prev, members, k), p.rate)  # fmt: skip

    for i in items:
        own = [c for c in cells if c[0] == i]
        for cell in own:
            rows.append(row(i, cell[1], [cell]))
        rows.append(row(i, "*", own))
    for cat in cats:
        rows.append(row("*", cat, [x for x in cells if x[1] == cat]))
    rows.append(row("*", "*", cells))
    return Statistics(
        month=month, end=end, fiscal_year=fy, index=k, min_persons=minimum, min_persons_source=source,
        rates=rows, months=MONTH_LABELS[: k + 1],
        by_age=arrears_by_age(municipality, end, minimum),
        by_stage=arrears_by_stage(municipality, end, minimum),
        by_channel=payments_by_channel(municipality, month, end, minimum),
        refunds_write_offs=refunds_and_write_offs(municipality, month, end, minimum),
    )  # fmt: skip


# --- 月計表 ----------------------------------------------------------------------------------------------


@dataclass
class StatementRow:
    tax_item: str
    tax_item_name: str
    category: str  # Category value or "*"
    month: Moves  # the month's movements (no opening)
    cumulative: Moves  # from the year's start (with the opening) to the month's end

    @property
    def category_label(self) -> str:
        return "計" if self.category == "*" else Category(self.category).label

    def as_dict(self) -> dict[str, Any]:
        return {
            "tax_item": self.tax_item,
            "tax_item_name": self.tax_item_name,
            "category": self.category,
            "category_label": self.category_label,
            "month": {k: v for k, v in self.month.as_dict().items()
                      if k in ("levy", "correction", "paid", "refunded", "written_off")},
            "cumulative": self.cumulative.as_dict(),
            "identity_ok": self.cumulative.difference == 0,
        }  # fmt: skip


@dataclass
class Section:
    fiscal_year: int
    label: str
    rows: list[StatementRow] = field(default_factory=list)
    total: StatementRow | None = None


@dataclass
class MonthlyStatement:
    month: date
    end: date
    fiscal_year: int
    sections: list[Section]

    @property
    def errors(self) -> list[str]:
        out = []
        for s in self.sections:
            for r in s.rows:
                if r.cumulative.difference:
                    out.append(
                        f"{s.label} {r.tax_item_name}（{r.category_label}）: 調定額 − 収入済額 − 不納欠損額 が"
                        f"収入未済額と {r.cumulative.difference:,} 円合いません。元帳の検証（choshu verify-ledger）を"
                        "行い、システム管理者に連絡してください"
                    )
        return out

    def as_dict(self) -> dict[str, Any]:
        return {
            "month": f"{self.month:%Y-%m}",
            "period": [self.month.isoformat(), self.end.isoformat()],
            "fiscal_year": self.fiscal_year,
            "sections": [
                {
                    "fiscal_year": s.fiscal_year,
                    "label": s.label,
                    "rows": [r.as_dict() for r in s.rows],
                    "total": s.total.as_dict() if s.total else None,
                }
                for s in self.sections
            ],
            "identity_ok": not self.errors,
            "errors": self.errors,
        }


def _section(municipality: Municipality, s: Series, index: int, label: str) -> Section:
    sec = Section(s.fiscal_year, label)
    total_m, total_c = Moves(), Moves()
    by_item: dict[str, list[StatementRow]] = {}
    for cell in s.cells():
        month = s.through(cell, index, index, opening=False)
        cum = s.through(cell, index)
        if month.is_empty() and cum.is_empty():
            continue
        item = cell[0]
        name = tax_item_name(municipality.pk, item) if item else "税目なし（期別を指さない過誤納金）"
        by_item.setdefault(item, []).append(StatementRow(item, name, cell[1], month, cum))
        total_m.add(month)
        total_c.add(cum)
    for item, rows in by_item.items():
        im, ic = Moves(), Moves()
        for r in rows:
            im.add(r.month)
            ic.add(r.cumulative)
        sec.rows += [*rows, StatementRow(item, rows[0].tax_item_name, "*", im, ic)]
    sec.total = StatementRow("*", "合計", "*", total_m, total_c)
    return sec


def monthly_statement(municipality: Municipality, month: date) -> MonthlyStatement:
    """月計表: per tax item × 現年/滞納繰越, the month's 調定・更正・収入・還付・不納欠損 and the
    cumulative figures from the year's start with the identity; in April and May also the previous
    year's 出納整理期間 (its 現年分 received in the month)."""
    end = month_end(month)
    fy = fiscal_year_of(month)
    k = month_index(fy, month)
    sections = [_section(municipality, series(municipality, fy, end), k, f"{fy}年度 {MONTH_LABELS[k]}分")]
    if month.month in (4, 5):
        prev = series(municipality, fy - 1, end)
        pk = 12 if month.month == 4 else 13
        sections.append(_section(municipality, prev, pk, f"{fy - 1}年度 {MONTH_LABELS[pk]}分"))
    return MonthlyStatement(month, end, fy, sections)
