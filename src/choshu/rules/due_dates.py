"""納期限: statutory due dates per tax item and the closed-day shift.

* Closed-day shift — 地方税法20条の5第2項 + 地方税法施行令6条の18: a deadline falling on a Sunday, a
  national holiday (国民の祝日に関する法律の休日), a Saturday or 12/29–12/31 moves to the next day,
  repeated until a business day; 1/2 and 1/3 are "一般の休日" as well (国税通則法10条2項 通達, 最判昭33.6.2).
  law.md §c, sources http://seisaku.mydns.jp:8080/BLOG/archives/2011_2_9_355.html ,
  https://taru-masaki.hatenablog.com/entry/2015/01/30/212222 ,
  https://www.nta.go.jp/law/tsutatsu/kihon/tsusoku/01/03/10.htm . Holidays come from ``jpholiday``
  (内閣府 list: 祝日, 振替休日, 国民の休日), never hard-coded.
* 納期 per tax item — 法320条 (個人住民税: 6・8・10・1月), 法321条の5 (特別徴収: 翌月10日), 法362条
  (固定資産税: 4・7・12・2月), 軽自動車税 (5月), 法321条の8 (法人住民税: 申告納付). The exact days are
  set by each municipality's 税条例 → :class:`Ordinance`. law.md §g (https://sa10tax.com/?p=10019 ,
  http://satoh-kaikei.net/news/siryou/kotei_nouki.html ).

The default ordinance (:data:`DEFAULT_ORDINANCE`): 川口市's own 納期 table was not found with the
search tool, so the default follows law.md §g practice — month-end for every 期, except the
December 期 of 固定資産税 on the 25th (鳥羽市, 岡山市, 筑後市 practice, law.md §c), 特別徴収 on the
10th of the following month, 軽自動車税 on 31 May. 法人住民税 ('03') and 事業所税 ('06') are filed
and paid by the taxpayer (申告納付) and have no ordinance 納期: the default is ONE 確定 installment
due 31 May of the levy year (a corporation whose business year ends 31 March, filing within two
months — 法321条の8); use :func:`corporate_filing_due_date` for other year ends.
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from types import MappingProxyType

import jpholiday

from choshu.rules.periods import period_end

__all__ = [
    "DEFAULT_ORDINANCE",
    "TAX_ITEMS",
    "InstallmentRule",
    "Ordinance",
    "corporate_filing_due_date",
    "is_closed_day",
    "shift_due_date",
    "statutory_due_dates",
]

_ONE = timedelta(days=1)

TAX_ITEMS: Mapping[str, str] = MappingProxyType(
    {
        "01": "個人住民税(普通徴収)",
        "02": "個人住民税(特別徴収)",
        "03": "法人住民税",
        "04": "固定資産税・都市計画税",
        "05": "軽自動車税(種別割)",
        "06": "事業所税",
    }
)


def is_closed_day(d: date) -> bool:
    """Whether ``d`` is a day on which a deadline cannot fall (法20条の5第2項, 令6条の18).

    Saturday, Sunday, a national holiday (jpholiday: 祝日・振替休日・国民の休日) or 12/29–1/3.
    """
    if d.weekday() >= 5:
        return True
    if (d.month == 12 and d.day >= 29) or (d.month == 1 and d.day <= 3):
        return True
    return bool(jpholiday.is_holiday(d))


def shift_due_date(nominal: date) -> date:
    """The 納期限 after the closed-day shift: ``nominal`` or the next day that is not closed.

    法20条の5第2項; e.g. 2017-04-30 (Sun) → 2017-05-01, 2024-08-31 (Sat) → 2024-09-02,
    a December month-end → 1/4 (米沢市, law.md §c).
    """
    d = nominal
    while is_closed_day(d):
        d += _ONE
    return d


@dataclass(frozen=True, slots=True)
class InstallmentRule:
    """One 期: its month and day (``None`` = the last day of the month) and its year offset.

    ``year_offset`` 0 = the levy year, 1 = the following calendar year (e.g. the January 期).
    """

    month: int
    day: int | None = None
    year_offset: int = 0

    def __post_init__(self) -> None:
        if not 1 <= self.month <= 12:
            raise ValueError(f"month must be 1..12, got {self.month}")
        if self.day is not None and not 1 <= self.day <= 31:
            raise ValueError(f"day must be 1..31 or None (month end), got {self.day}")
        if self.year_offset not in (0, 1, 2):
            raise ValueError("year_offset must be 0, 1 or 2")

    def nominal(self, levy_year: int) -> date:
        year = levy_year + self.year_offset
        last = calendar.monthrange(year, self.month)[1]
        if self.day is None:
            return date(year, self.month, last)
        if self.day > last:
            raise ValueError(f"{year}-{self.month:02d} has no day {self.day}")
        return date(year, self.month, self.day)


def _month_ends(*specs: tuple[int, int]) -> tuple[InstallmentRule, ...]:
    return tuple(InstallmentRule(month=m, day=None, year_offset=o) for m, o in specs)


@dataclass(frozen=True)
class Ordinance:
    """A municipality's 納期 (税条例) per tax item: the rules of each 期 in order."""

    name: str
    source: str
    schedules: Mapping[str, tuple[InstallmentRule, ...]] = field(default_factory=dict)

    def rules_for(self, tax_item: str) -> tuple[InstallmentRule, ...]:
        try:
            return self.schedules[tax_item]
        except KeyError:
            raise KeyError(
                f"{self.name}: no 納期 configured for tax item {tax_item!r} (known: {sorted(self.schedules)})"
            ) from None


DEFAULT_ORDINANCE = Ordinance(
    name="default (law.md §g practice; 川口市 table not found)",
    source="https://www.city.toba.mie.jp/kurashi/zeikin/nofu/3995.html",
    schedules=MappingProxyType(
        {
            "01": _month_ends((6, 0), (8, 0), (10, 0), (1, 1)),
            "02": tuple(
                [InstallmentRule(month=m, day=10, year_offset=0) for m in range(7, 13)]
                + [InstallmentRule(month=m, day=10, year_offset=1) for m in range(1, 7)]
            ),
            "03": (InstallmentRule(month=5, day=None, year_offset=0),),
            "04": (
                InstallmentRule(month=4),
                InstallmentRule(month=7),
                InstallmentRule(month=12, day=25),
                InstallmentRule(month=2, year_offset=1),
            ),
            "05": (InstallmentRule(month=5),),
            "06": (InstallmentRule(month=5, day=None, year_offset=0),),
        }
    ),
)


def statutory_due_dates(
    tax_item: str, levy_year: int, ordinance: Ordinance | None = None
) -> list[tuple[date, date]]:
    """``(nominal, shifted)`` 納期限 of every 期 of ``tax_item`` for ``levy_year``.

    法320条 / 321条の5 / 321条の8 / 362条 and the municipality's 税条例, shifted under 法20条の5
    (law.md §g, §c). ``tax_item`` codes as in interchange.md ('01'…'06').
    """
    if tax_item not in TAX_ITEMS:
        raise ValueError(f"unknown tax item {tax_item!r} (expected one of {sorted(TAX_ITEMS)})")
    if not 1900 <= levy_year <= 2200:
        raise ValueError(f"levy year out of range: {levy_year}")
    ordn = ordinance if ordinance is not None else DEFAULT_ORDINANCE
    out: list[tuple[date, date]] = []
    for rule in ordn.rules_for(tax_item):
        nominal = rule.nominal(levy_year)
        out.append((nominal, shift_due_date(nominal)))
    return out


def corporate_filing_due_date(business_year_end: date, *, months: int = 2) -> tuple[date, date]:
    """法人住民税 確定申告 納期限: ``months`` (2, or more when extended) after the business year end.

    法321条の8 ("事業年度終了の日から2月以内"); law.md §g. Returns ``(nominal, shifted)``.
    """
    nominal = period_end(business_year_end + _ONE, months=months)
    return nominal, shift_due_date(nominal)
