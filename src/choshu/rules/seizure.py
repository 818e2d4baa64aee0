"""差押禁止額 of pay (給料等) — 国税徴収法76条, applied to local taxes by 地方税法331条6項 (市町村民税; the
same "国税徴収法に規定する滞納処分の例による" for every 市税). Pure, no Django.

76条1項 (https://www.zeiken.co.jp/hourei/HHCYO000000/76.html): the part of the pay up to the sum of

1. the 所得税 withheld from it (所得税法183条 etc.),
2. the 住民税 collected from it by 特別徴収 (地方税法321条の3),
3. the 社会保険料 deducted from it (健康保険法167条 etc.),
4. 10万円 for the 滞納者 + 4万5千円 per 生計を一にする親族, per month of the period the pay is for
   (施行令34条; dated parameters in ``params/salary_exempt.toml``),
5. 20% of (pay − 1 − 2 − 3 − 4), at most twice the amount of 4,

may not be seized. Two or more pays for the same period are added together for 4 and 5 (76条1項後段):
give their sum. With the 滞納者's consent (承諾, 76条5項) the parts 4 and 5 may be seized too, so only
1–3 stay exempt.

Periods: ``months`` whole months; a period shorter than a month (日給・週給) or a remainder counts each
day as 1/30 of a month — an assumption (UNCONFIRMED: the 国税徴収法基本通達 第76条関係 text on 日割
was not found in the stored sources), rounded up in the taxpayer's favour.

Rounding: ``ROUND_YEN`` (default) keeps yen and rounds every exempt part up (a fraction of a yen is never
seized). ``ROUND_THOUSAND`` follows the practice shown in the published worked example
https://syufu-fx.com/2019/02/20/kyuuyosashiosae-keisan/ : the pay is rounded down to 1,000円 and every
exempt part (1–5) up to 1,000円 (a practice of the offices, not the article's text).

Not covered: 退職手当 (76条4項: 1–3 + 300 days of 4 — a different computation), 賞与 of another month
(76条3項), the exempt amount of 社会保障給付 (77条).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import date
from functools import cache
from importlib import resources
from typing import Any

__all__ = [
    "ROUND_THOUSAND",
    "ROUND_YEN",
    "ExemptWindow",
    "SalaryExempt",
    "SalaryExemptTable",
    "SeizureParameterError",
    "living_amount",
    "salary_exempt",
    "salary_exempt_table",
]

ROUND_YEN = "yen"
ROUND_THOUSAND = "thousand"
DAYS_PER_MONTH = 30  # a day of a period under a month = 1/30 month (UNCONFIRMED, see module doc)


class SeizureParameterError(ValueError):
    """``params/salary_exempt.toml`` is malformed, or a date precedes every configured window."""


@dataclass(frozen=True, slots=True)
class ExemptWindow:
    start: date | None
    person: int
    per_relative: int
    source: str


@dataclass(frozen=True)
class SalaryExemptTable:
    article: str
    windows: tuple[ExemptWindow, ...]

    def window(self, on: date) -> ExemptWindow:
        found: ExemptWindow | None = None
        for w in self.windows:
            if w.start is None or w.start <= on:
                found = w
        if found is None:
            raise SeizureParameterError(f"{on:%Y-%m-%d} の差押禁止額（施行令34条）の金額が設定されていません")
        return found


def _int(where: str, value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise SeizureParameterError(f"salary_exempt.toml: {where}: a non-negative int (yen), got {value!r}")
    return value


def parse_salary_exempt_table(data: dict[str, Any]) -> SalaryExemptTable:
    meta = data.get("table")
    rows = data.get("window")
    if not isinstance(meta, dict) or not isinstance(meta.get("article"), str):
        raise SeizureParameterError("salary_exempt.toml: [table] with 'article' is required")
    if not isinstance(rows, list) or not rows:
        raise SeizureParameterError("salary_exempt.toml: at least one [[window]] is required")
    windows: list[ExemptWindow] = []
    for i, row in enumerate(rows, start=1):
        where = f"[[window]] {i}"
        unknown = set(row) - {"from", "person", "per_relative", "source", "note"}
        if unknown:
            raise SeizureParameterError(f"salary_exempt.toml: {where}: unknown keys {sorted(unknown)}")
        start = row.get("from")
        if start is None and (i != 1 or not row.get("note")):
            raise SeizureParameterError(
                f"salary_exempt.toml: {where}: 'from' is required (the first may omit it with a note)"
            )
        if start is not None and not isinstance(start, date):
            raise SeizureParameterError(f"salary_exempt.toml: {where}: 'from' must be a date")
        source = row.get("source")
        if not isinstance(source, str) or not source.startswith(("http://", "https://")):
            raise SeizureParameterError(f"salary_exempt.toml: {where}: every window needs a 'source' URL")
        if windows and (start is None or (windows[-1].start is not None and start <= windows[-1].start)):
            raise SeizureParameterError(
                f"salary_exempt.toml: {where}: windows must be in ascending date order"
            )
        windows.append(
            ExemptWindow(start, _int(where, row.get("person")), _int(where, row.get("per_relative")), source)
        )
    return SalaryExemptTable(article=meta["article"], windows=tuple(windows))


@cache
def salary_exempt_table() -> SalaryExemptTable:
    text = resources.files("choshu.rules.params").joinpath("salary_exempt.toml").read_text("utf-8")
    return parse_salary_exempt_table(tomllib.loads(text))


@dataclass(frozen=True, slots=True)
class SalaryExempt:
    """The computation, part by part (yen). ``seizable`` = pay − ``exempt`` (never below 0)."""

    pay: int  # the pay as computed (rounded down to 1,000円 in ROUND_THOUSAND)
    income_tax: int  # 1号
    resident_tax: int  # 2号
    social_insurance: int  # 3号
    living: int  # 4号 (0 with consent)
    twenty_percent: int  # 5号, after the cap (0 with consent)
    cap: int  # 2 × 4号
    consent: bool
    source: str

    @property
    def exempt(self) -> int:
        return self.income_tax + self.resident_tax + self.social_insurance + self.living + self.twenty_percent

    @property
    def seizable(self) -> int:
        return max(0, self.pay - self.exempt)


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def living_amount(*, on: date, relatives: int, months: int = 1, days: int = 0,
                  table: SalaryExemptTable | None = None) -> tuple[int, str]:  # fmt: skip
    """76条1項4号 (施行令34条): (yen, source) for a period of ``months`` months and ``days`` days."""
    for name, v in (("relatives", relatives), ("months", months), ("days", days)):
        if not isinstance(v, int) or isinstance(v, bool) or v < 0:
            raise ValueError(f"{name} must be a non-negative int, got {v!r}")
    if months == 0 and days == 0:
        raise ValueError("the pay period must be at least one day")
    w = (table or salary_exempt_table()).window(on)
    monthly = w.person + w.per_relative * relatives
    return monthly * months + _ceil_div(monthly * days, DAYS_PER_MONTH), w.source


def salary_exempt(
    *,
    paid_on: date,
    pay: int,
    income_tax: int,
    resident_tax: int,
    social_insurance: int,
    relatives: int,
    months: int = 1,
    days: int = 0,
    consent: bool = False,
    rounding: str = ROUND_YEN,
    table: SalaryExemptTable | None = None,
) -> SalaryExempt:
    """The 差押禁止額 of one pay (or the sum of the pays for the same period) paid on ``paid_on``."""
    for name, v in (("pay", pay), ("income_tax", income_tax), ("resident_tax", resident_tax),
                    ("social_insurance", social_insurance)):  # fmt: skip
        if not isinstance(v, int) or isinstance(v, bool) or v < 0:
            raise ValueError(f"{name} must be a non-negative int (yen), got {v!r}")
    if rounding not in (ROUND_YEN, ROUND_THOUSAND):
        raise ValueError(f"rounding must be {ROUND_YEN!r} or {ROUND_THOUSAND!r}")
    living, source = living_amount(on=paid_on, relatives=relatives, months=months, days=days, table=table)

    def up(v: int) -> int:
        return _ceil_div(v, 1000) * 1000 if rounding == ROUND_THOUSAND else v

    base = pay // 1000 * 1000 if rounding == ROUND_THOUSAND else pay
    t1, t2, t3, t4 = up(income_tax), up(resident_tax), up(social_insurance), up(living)
    cap = 2 * t4
    rest = max(0, base - t1 - t2 - t3 - t4)
    t5 = min(up(_ceil_div(rest * 20, 100)), cap)
    if consent:  # 76条5項: with the 滞納者's 承諾, parts 4 and 5 may be seized
        t4, t5 = 0, 0
    return SalaryExempt(base, t1, t2, t3, t4, t5, cap, consent, source)
