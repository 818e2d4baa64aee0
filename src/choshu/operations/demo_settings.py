"""Settings a synthetic (demo / benchmark) city needs before its screens and batches work.

The 督促手数料 is a municipality setting from its 税条例 (``dunning.DunningFeeSetting``); the bundled
``rules/params/dunning_fees.toml`` has no entry for 川口市 (112038) because no source for its ordinance
was found. A synthetic city gets the most common published amount (100 円 per 督促状, law.md §b) from
2000-04-01, recorded with a source that says it is a demo value — a real city registers its own with
``choshu dunning-fee``.
"""

from __future__ import annotations

from datetime import date

from choshu.core.models import Municipality
from choshu.dunning.models import DunningFeeSetting
from choshu.dunning.services import dunning_fee_set, fee_lookup

DEMO_FEE_FROM = date(2000, 4, 1)
DEMO_FEE_YEN = 100
DEMO_FEE_SOURCE = (
    "デモ用の設定値（合成データの自治体。川口市税条例の督促手数料は未確認のため、"
    "法令調査で最も多い1通100円を仮に設定。本番では税条例の額を登録すること）"
)


def ensure_demo_dunning_fee(municipality: Municipality) -> bool:
    """Give a synthetic city a 督促手数料 setting when it has none (its own rows or the bundled table);
    True when one was registered. Idempotent."""
    if DunningFeeSetting.objects.filter(municipality=municipality).exists():
        return False
    bundled = fee_lookup(municipality)
    if bundled.key in bundled.table.windows:
        return False  # the bundled table knows this city
    dunning_fee_set(
        actor=None,
        municipality=municipality,
        valid_from=DEMO_FEE_FROM,
        yen=DEMO_FEE_YEN,
        source=DEMO_FEE_SOURCE,
    )
    return True
