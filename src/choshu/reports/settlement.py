"""決算 (settlement) figures per fiscal year × tax item × 現年/滞納繰越, from the ledger (issue 21 §1).

Measures (本税, integer yen), for the entries on an installment's receivable principal
(``Account.RECEIVABLE`` × ``Component.PRINCIPAL``) attributed to the year (``fiscal.attributed_year``):

- 調定額 (``levied``): levy and correction entries (``LEVIED_KINDS``); for 滞納繰越分 plus ``opening``,
  the 収入未済額 carried from the previous year (both its categories);
- 収入済額 (``paid``): minus the entries of the paid kinds (``PAID_KINDS``: payment, its reversal,
  suspense assignment, appropriation, an overpayment moved out);
- 不納欠損額 (``written_off``): minus the ``write_off`` entries;
- 収入未済額 (``outstanding``): opening + the sum of every entry, whatever its kind — computed apart,
  so that 調定額 − 収入済額 − 不納欠損額 = 収入未済額 is a check (``other`` ≠ 0 breaks it and is shown);
- 還付未済額 (``refund_pending``): the overpayment account's credit balance (過誤納金 not yet refunded
  or appropriated), carried like 収入未済額;
- 収納率: 収入済額 ÷ 調定額, in percent to one decimal (half up).

A closed year (``FiscalYearClose``) is read from its ``ClosingBalance`` rows: its figures never change.
An open year is the last close's balances plus the ledger rows of the years since — never the whole
ledger once a year is closed. A transaction posted after the last close (id above its
``through_txn_id``) but dated in a closed year counts in the first open year (docs/reports.md).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection

from choshu.core.models import Municipality
from choshu.levies.ledger import LEVIED_KINDS, PAID_KINDS
from choshu.levies.models import Account, Component, TaxItemBreakdown, TxnKind
from choshu.levies.tax_items import tax_item_name
from choshu.reports.fiscal import attributed_year, closing_day, year_end, year_start
from choshu.reports.models import Category, ClosingBalance, FiscalYearClose

MIN_YEAR, MAX_YEAR = 2000, 2100
NO_ITEM = ""  # an overpayment entry naming no installment


def check_year(fiscal_year: int) -> None:
    if not MIN_YEAR <= fiscal_year <= MAX_YEAR:
        raise ValidationError(
            f"会計年度が不正です: {fiscal_year}（西暦の4桁、{MIN_YEAR}〜{MAX_YEAR} で指定してください）"
        )


def rate(paid: int, levied: int) -> str:
    """収納率 in percent, one decimal, half up ("" when nothing is levied)."""
    if levied == 0:
        return ""
    return str((Decimal(paid) * 100 / Decimal(levied)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


@dataclass
class Figures:
    opening: int = 0
    levied: int = 0
    paid: int = 0
    written_off: int = 0
    outstanding: int = 0
    refund_pending: int = 0
    other: int = 0  # receivable-principal entries of any other kind (an identity error when ≠ 0)

    def add(self, o: Figures) -> None:
        for k in ("opening", "levied", "paid", "written_off", "outstanding", "refund_pending", "other"):
            setattr(self, k, getattr(self, k) + getattr(o, k))

    @property
    def difference(self) -> int:
        """調定額 − 収入済額 − 不納欠損額 − 収入未済額: 0 when the identity holds."""
        return self.levied - self.paid - self.written_off - self.outstanding

    @property
    def rate(self) -> str:
        return rate(self.paid, self.levied)

    def is_empty(self) -> bool:
        return not any((self.opening, self.levied, self.paid, self.written_off, self.outstanding,
                        self.refund_pending, self.other))  # fmt: skip


@dataclass
class Row:
    tax_item: str
    tax_item_name: str
    category: str  # Category value, or "total"
    figures: Figures

    @property
    def category_label(self) -> str:
        return "計" if self.category == "total" else Category(self.category).label

    def as_dict(self) -> dict[str, Any]:
        f = self.figures
        return {
            "tax_item": self.tax_item,
            "tax_item_name": self.tax_item_name,
            "category": self.category,
            "category_label": self.category_label,
            **{k: v for k, v in asdict(f).items() if k != "other"},
            "rate": f.rate,
            "identity_ok": f.difference == 0,
            "difference": f.difference,
        }


@dataclass
class ComponentRow:
    """内訳 of a 現年課税分 (固定資産税/都市計画税, 均等割/法人税割, …): 調定額 per component as the installments
    hold it now (``InstallmentBreakdown.levied``), 収入済額 from the ledger's stored splits (``BreakdownSplit``)
    attributed to the year like every posting. Reference figures: 不納欠損 is not split by the ledger."""

    tax_item: str
    tax_item_name: str
    seq: int
    code: str
    name: str
    levied: int
    paid: int


@dataclass
class Settlement:
    fiscal_year: int
    closed: bool
    closed_on: date | None
    period: tuple[date, date, date]  # 4/1, 3/31, 出納閉鎖 5/31
    rows: list[Row] = field(default_factory=list)
    totals: dict[str, Figures] = field(default_factory=dict)
    opening_from: str = ""  # "close:YYYY" (a stored close) or "ledger" (no close before the year)
    components: list[ComponentRow] = field(default_factory=list)

    @property
    def errors(self) -> list[str]:
        out = []
        for r in self.rows:
            if r.figures.difference:
                out.append(
                    f"{r.tax_item_name}（{r.category_label}）: 調定額 − 収入済額 − 不納欠損額 が収入未済額と"
                    f" {r.figures.difference:,} 円合いません。元帳の検証（choshu verify-ledger）を行い、"
                    "システム管理者に連絡してください"
                )
        return out

    def as_dict(self) -> dict[str, Any]:
        return {
            "fiscal_year": self.fiscal_year,
            "closed": self.closed,
            "closed_on": self.closed_on.isoformat() if self.closed_on else None,
            "period": [d.isoformat() for d in self.period],
            "opening_from": self.opening_from,
            "rows": [r.as_dict() for r in self.rows],
            "totals": {
                k: Row("", "合計", k, f).as_dict() | {"tax_item_name": "合計"} for k, f in self.totals.items()
            },
            "identity_ok": not self.errors,
            "errors": self.errors,
            "components": [asdict(c) for c in self.components],
        }


# --- the ledger scan ---------------------------------------------------------------------------------

_SCAN = """
SELECT COALESCE(l.tax_item, '') AS tax_item, l.levy_year, t.kind, t.booking_date,
       CASE WHEN t.id > %(through)s THEN 1 ELSE 0 END AS late, e.account, SUM(e.amount) AS amount
FROM levies_ledgerentry e
JOIN levies_ledgertransaction t ON t.id = e.txn_id
LEFT JOIN levies_installment i ON i.id = e.installment_id
LEFT JOIN levies_levy l ON l.id = i.levy_id
WHERE e.municipality_id = %(m)s AND t.municipality_id = %(m)s
  AND ((e.account = %(receivable)s AND e.component = %(principal)s) OR e.account = %(overpayment)s)
  AND ({window})
GROUP BY COALESCE(l.tax_item, ''), l.levy_year, t.kind, t.booking_date,
         CASE WHEN t.id > %(through)s THEN 1 ELSE 0 END, e.account
"""


def _day(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


Key = tuple[int, str, str]  # (attributed fiscal year, tax item, category)


ScanRow = tuple[int, str, str, str, date, str, int]  # year, tax item, category, kind, 計上日, account, yen


def scan_rows(
    municipality_id: int, *, first: int | None, last: int, last_close: FiscalYearClose | None,
    until: date | None = None,
) -> list[ScanRow]:  # fmt: skip
    """The grouped ledger rows (receivable principal and overpayment) of the years ``first``..``last``
    (``first`` None: from the beginning of the ledger), each with its attributed fiscal year and
    category; the late postings after ``last_close`` moved to the first open year. ``until``: only the
    rows booked up to that day (the monthly statistics; a late posting booked after it is left out)."""
    through = last_close.through_txn_id if last_close is not None else None
    upto = closing_day(last) if until is None else min(closing_day(last), until)
    params: dict[str, Any] = {
        "m": municipality_id,
        "receivable": Account.RECEIVABLE.value,
        "principal": Component.PRINCIPAL.value,
        "overpayment": Account.OVERPAYMENT.value,
        "through": through if through is not None else 2**62,
        "upto": upto,
    }
    # A year's rows: booked from the April of the year before (a levy booked ahead of its 賦課年度)
    # to the 出納閉鎖 of the last year; plus every transaction after the last close (a late posting).
    window = "t.booking_date <= %(upto)s"
    if first is not None:
        params["from"] = year_start(first - 1)
        window += " AND t.booking_date >= %(from)s"
    if through is not None:
        window = f"({window}) OR t.id > %(through)s"
        if until is not None:
            window = f"({window}) AND t.booking_date <= %(upto)s"
    open_from = last_close.fiscal_year + 1 if last_close is not None else None
    out: list[ScanRow] = []
    with connection.cursor() as cur:
        cur.execute(_SCAN.format(window=window), params)
        for tax_item, levy_year, kind, booked, late, account, amount in cur.fetchall():
            day = _day(booked)
            year = attributed_year(kind, day, levy_year)
            if open_from is not None:
                if late:  # posted after the close: a year already closed is booked in the open one
                    year = max(year, open_from)
                elif year < open_from:
                    continue  # counted in a close
            if (first is not None and year < first) or year > last:
                continue
            category = Category.CURRENT.value if levy_year == year else Category.ARREARS.value
            out.append((year, tax_item, category, kind, day, account, int(amount)))
    return out


def _scan(
    municipality_id: int, *, first: int | None, last: int, last_close: FiscalYearClose | None
) -> dict[Key, Figures]:
    """Figures of the years ``first``..``last`` (``first`` None: from the beginning of the ledger) from
    the ledger rows booked in them (one grouped query; the booking-date index bounds it), the late
    postings after ``last_close`` moved to the first open year."""
    out: dict[Key, Figures] = defaultdict(Figures)
    for year, tax_item, category, kind, _booked, account, amount in scan_rows(
        municipality_id, first=first, last=last, last_close=last_close
    ):
        f = out[(year, tax_item, category)]
        add_entry(f, kind, account, amount)
    return out


def add_entry(f: Figures, kind: str, account: str, amount: int) -> None:
    """One grouped ledger amount into the figures it moves (see module)."""
    if account == Account.OVERPAYMENT:
        f.refund_pending -= amount
        return
    f.outstanding += amount
    if kind in LEVIED_KINDS:
        f.levied += amount
    elif kind in PAID_KINDS:
        f.paid -= amount
    elif kind == TxnKind.WRITE_OFF:
        f.written_off -= amount
    else:
        f.other += amount


def carry(figures: Iterable[tuple[str, Figures]]) -> dict[str, tuple[int, int]]:
    """Per tax item, what a year carries into the next: (収入未済額, 還付未済額)."""
    out: dict[str, tuple[int, int]] = {}
    for item, f in figures:
        o, r = out.get(item, (0, 0))
        out[item] = (o + f.outstanding, r + f.refund_pending)
    return out


def stored(close: FiscalYearClose) -> dict[tuple[str, str], Figures]:
    return {
        (b.tax_item, b.category): Figures(
            opening=b.opening,
            levied=b.levied,
            paid=b.paid,
            written_off=b.written_off,
            outstanding=b.outstanding,
            refund_pending=b.refund_pending,
        )  # fmt: skip
        for b in ClosingBalance.objects.filter(close=close)
    }


def compute(municipality: Municipality, fiscal_year: int) -> tuple[dict[tuple[str, str], Figures], str]:
    """The open computation of a year's figures per (tax item, category), and where its opening came
    from. Reads the latest close before the year, then only the ledger rows of the years since."""
    check_year(fiscal_year)
    closes = FiscalYearClose.objects.filter(municipality=municipality)
    base = closes.filter(fiscal_year__lt=fiscal_year).order_by("-fiscal_year").first()
    last_close = closes.order_by("-fiscal_year").first()
    if last_close is not None and last_close.fiscal_year >= fiscal_year:
        raise ValidationError(f"{fiscal_year}年度は締め済みです（締めた数字を表示します）")
    carried: dict[str, tuple[int, int]] = {}
    first = fiscal_year
    source = "ledger"
    if base is not None:
        carried = carry((item, f) for (item, _), f in stored(base).items())
        first = base.fiscal_year + 1
        source = f"close:{base.fiscal_year}"
    scanned = _scan(municipality.pk, first=first if base is not None else None, last=fiscal_year,
                    last_close=last_close)  # fmt: skip
    # Roll the years between the base close and this one forward (each year's 未済 into the next).
    years = sorted({y for y, _, _ in scanned} | {fiscal_year})
    result: dict[tuple[str, str], Figures] = {}
    for year in [y for y in years if y <= fiscal_year]:
        current: dict[tuple[str, str], Figures] = defaultdict(Figures)
        for item, (outstanding, refund) in carried.items():
            f = current[(item, Category.ARREARS)]
            f.opening += outstanding
            f.levied += outstanding
            f.outstanding += outstanding
            f.refund_pending += refund
        for (y, item, category), f in scanned.items():
            if y == year:
                current[(item, category)].add(f)
        carried = carry((item, f) for (item, _), f in current.items())
        result = dict(current)
    return {k: f for k, f in result.items() if not f.is_empty()}, source


def settlement(municipality: Municipality, fiscal_year: int) -> Settlement:
    """The year's 決算: stored when the year is closed, computed otherwise (see module)."""
    check_year(fiscal_year)
    close = FiscalYearClose.objects.filter(municipality=municipality, fiscal_year=fiscal_year).first()
    if close is not None:
        figures, source = stored(close), "closed"
    else:
        figures, source = compute(municipality, fiscal_year)
    s = Settlement(
        fiscal_year=fiscal_year,
        closed=close is not None,
        closed_on=close.closed_on if close else None,
        period=(year_start(fiscal_year), year_end(fiscal_year), closing_day(fiscal_year)),
        opening_from=source,
    )
    s = _assemble(s, municipality, figures)
    s.components = components(municipality, fiscal_year, close)
    return s


_SPLITS = """
SELECT l.tax_item, b.seq, b.code, t.kind, t.booking_date, CASE WHEN t.id > %(through)s THEN 1 ELSE 0 END,
       SUM(b.amount)
FROM levies_breakdownsplit b
JOIN levies_ledgertransaction t ON t.id = b.txn_id
JOIN levies_installment i ON i.id = b.installment_id
JOIN levies_levy l ON l.id = i.levy_id
WHERE b.municipality_id = %(m)s AND t.municipality_id = %(m)s AND l.levy_year = %(y)s
  AND t.booking_date >= %(from)s AND t.booking_date <= %(upto)s
GROUP BY l.tax_item, b.seq, b.code, t.kind, t.booking_date, CASE WHEN t.id > %(through)s THEN 1 ELSE 0 END
"""
_LEVIED = """
SELECT l.tax_item, b.seq, b.code, SUM(b.levied)
FROM levies_installmentbreakdown b
JOIN levies_installment i ON i.id = b.installment_id
JOIN levies_levy l ON l.id = i.levy_id
WHERE b.municipality_id = %(m)s AND i.municipality_id = %(m)s AND l.levy_year = %(y)s
GROUP BY l.tax_item, b.seq, b.code
"""


def components(
    municipality: Municipality, fiscal_year: int, close: FiscalYearClose | None
) -> list[ComponentRow]:
    """The 現年課税分's breakdown per component (see ``ComponentRow``). For a closed year the splits of
    transactions after its close are left out (they count in the open year)."""
    through = close.through_txn_id if close is not None else None
    params: dict[str, Any] = {"m": municipality.pk, "y": fiscal_year, "from": year_start(fiscal_year - 1),
              "upto": closing_day(fiscal_year), "through": through if through is not None else 2**62}  # fmt: skip
    names = {
        (item, code): name
        for item, code, name in TaxItemBreakdown.objects.filter(
            tax_item__municipality=municipality
        ).values_list("tax_item__code", "code", "name")
    }
    rows: dict[tuple[str, int, str], list[int]] = {}
    with connection.cursor() as cur:
        cur.execute(_LEVIED, params)
        for item, seq, code, levied in cur.fetchall():
            rows[(item, seq, code)] = [int(levied or 0), 0]
        cur.execute(_SPLITS, params)
        for item, seq, code, kind, booked, late, amount in cur.fetchall():
            # ``late`` is set only for a closed year: a split posted after its close counts in the open year
            if late or attributed_year(kind, _day(booked), fiscal_year) != fiscal_year:
                continue
            rows.setdefault((item, seq, code), [0, 0])[1] += int(amount)
    return [
        ComponentRow(
            item, tax_item_name(municipality.pk, item), seq, code, names.get((item, code), code), v[0], v[1]
        )
        for (item, seq, code), v in sorted(rows.items())
    ]


def _assemble(
    s: Settlement, municipality: Municipality, figures: dict[tuple[str, str], Figures]
) -> Settlement:
    items = sorted({item for item, _ in figures}, key=lambda c: (c == NO_ITEM, c))
    totals = {Category.CURRENT.value: Figures(), Category.ARREARS.value: Figures(), "total": Figures()}
    for item in items:
        name = tax_item_name(municipality.pk, item) if item else "税目なし（期別を指さない過誤納金）"
        both = Figures()
        for category in (Category.CURRENT, Category.ARREARS):
            f = figures.get((item, category.value))
            if f is None:
                continue
            s.rows.append(Row(item, name, category.value, f))
            both.add(f)
            totals[category.value].add(f)
            totals["total"].add(f)
        s.rows.append(Row(item, name, "total", both))
    s.totals = totals
    return s
