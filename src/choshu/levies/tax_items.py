"""A municipality's tax items (税目マスタ), their breakdowns and the 期別マスタ, as data (issue 12 §1).

``DEFAULT_TAX_ITEMS`` is what every municipality starts with: the six 市税 items of the levy feed and
国民健康保険税. A city changes names, adds items or breakdowns in the table, not in code.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from choshu.rules.due_dates import DEFAULT_ORDINANCE, InstallmentRule, Ordinance, shift_due_date


@dataclass(frozen=True)
class ItemSpec:
    code: str
    name: str
    short_name: str
    assessment: str  # levies.models.Assessment value
    statute: str
    breakdown: tuple[tuple[str, str, str], ...] = ()  # (code, name, statute); the first is the main one


DEFAULT_TAX_ITEMS: tuple[ItemSpec, ...] = (
    ItemSpec("01", "個人住民税(普通徴収)", "住民税普徴", "notice", "地方税法319条の2, 320条"),
    ItemSpec("02", "個人住民税(特別徴収)", "住民税特徴", "special", "地方税法321条の3, 321条の5"),
    ItemSpec(
        "03", "法人住民税", "法人住民税", "self", "地方税法321条の8",
        (("per_capita", "均等割", "地方税法312条"), ("corporate_tax", "法人税割", "地方税法314条の4")),
    ),
    ItemSpec(
        "04", "固定資産税・都市計画税", "固定資産税", "notice", "地方税法362条, 702条の8",
        (("fixed_asset", "固定資産税", "地方税法341条以下"), ("city_planning", "都市計画税", "地方税法702条")),
    ),
    ItemSpec("05", "軽自動車税(種別割)", "軽自動車税", "notice", "地方税法463条の18"),
    ItemSpec("06", "事業所税", "事業所税", "self", "地方税法701条の45"),
    ItemSpec(
        "07", "国民健康保険税", "国保税", "notice", "地方税法703条の4, 723条",
        (
            ("medical", "基礎課税額(医療分)", "地方税法703条の4第2項"),
            ("support", "後期高齢者支援金等課税額", "地方税法703条の4第2項"),
            ("care", "介護納付金課税額", "地方税法703条の4第2項"),
        ),
    ),
)  # fmt: skip

NHI_SCHEDULE: tuple[InstallmentRule, ...] = tuple(
    [InstallmentRule(month=m) for m in range(7, 13)]
    + [InstallmentRule(month=m, year_offset=1) for m in (1, 2)]
)
"""国民健康保険税: 8 期, 7月〜翌2月の各月末 (a common 条例 pattern; a city loads its own 期別マスタ)."""


def default_schedules(ordinance: Ordinance = DEFAULT_ORDINANCE) -> Mapping[str, tuple[InstallmentRule, ...]]:
    return {**ordinance.schedules, "07": NHI_SCHEDULE}


def seed_tax_items(municipality_id: int, tax_item_model: Any, breakdown_model: Any) -> int:
    """Create the default tax items (and breakdowns) a municipality does not have yet. Models are passed
    in so that a data migration can use its historical models. Returns the number created."""
    created = 0
    for order, spec in enumerate(DEFAULT_TAX_ITEMS, start=1):
        item, made = tax_item_model.objects.get_or_create(
            municipality_id=municipality_id,
            code=spec.code,
            defaults={
                "name": spec.name,
                "short_name": spec.short_name,
                "assessment": spec.assessment,
                "statute": spec.statute,
                "sort_order": order * 10,
            },
        )
        if made:
            created += 1
            for seq, (code, name, statute) in enumerate(spec.breakdown, start=1):
                breakdown_model.objects.create(tax_item=item, seq=seq, code=code, name=name, statute=statute)
    return created


@dataclass(frozen=True)
class ItemInfo:
    code: str
    name: str
    short_name: str
    assessment: str
    prescription_years: int
    breakdown: tuple[tuple[int, str, str], ...]  # (seq, code, name)


@lru_cache(maxsize=64)
def _catalog(municipality_id: int, generation: int) -> Mapping[str, ItemInfo]:
    from choshu.levies.models import TaxItem  # noqa: PLC0415 - this module is imported by migrations

    out: dict[str, ItemInfo] = {}
    for item in TaxItem.objects.filter(municipality_id=municipality_id).prefetch_related("breakdowns"):
        out[item.code] = ItemInfo(
            code=item.code,
            name=item.name,
            short_name=item.short_name,
            assessment=item.assessment,
            prescription_years=item.prescription_years,
            breakdown=tuple((b.seq, b.code, b.name) for b in item.breakdowns.all()),
        )
    return out


_GENERATION = [0]


def forget_catalog() -> None:
    """Drop the cached tables (after a change to ``TaxItem`` / ``TaxItemBreakdown``; tests)."""
    _GENERATION[0] += 1
    _catalog.cache_clear()


def catalog(municipality_id: int) -> Mapping[str, ItemInfo]:
    """The municipality's tax items by code (cached per process; ``forget_catalog`` after a change)."""
    return _catalog(municipality_id, _GENERATION[0])


def tax_item_name(municipality_id: int, code: str) -> str:
    """The item's name; 不明 for no code (a payment in suspense), the code itself for a code the table
    does not know (never an exception on a screen)."""
    if not code:
        return "不明"
    info = catalog(municipality_id).get(code)
    return info.name if info is not None else code


def calendar_rows(code: str, levy_year: int) -> list[tuple[int, str, str, object]]:
    """The default 期別マスタ of an item and year: ``(installment_no, label, YYYY-MM, 納期限)`` from the
    ordinance's rules, the 納期限 moved past closed days (地方税法20条の5)."""
    rules = default_schedules().get(code, ())
    rows: list[tuple[int, str, str, object]] = []
    for no, rule in enumerate(rules, start=1):
        nominal = rule.nominal(levy_year)
        rows.append((no, f"第{no}期", f"{nominal.year:04d}-{nominal.month:02d}", shift_due_date(nominal)))
    return rows
