"""延滞金の免除 periods (地方税法15条の9) as the late-charge rule reads them.

The 延滞金 of an installment is computed here, in ``levies`` (``selectors.amounts_due``) and in the payment
engine below the apps that decide a relief (``relief``: 徴収猶予, 換価の猶予, 執行停止). Those apps register
an *exemption source*: a function from installment ids to the ``rules.late_charge.Exemption`` periods of
those installments, read set-based (one query per call). ``late_charge_exemptions`` asks every source and
combines what they say (``rules.late_charge.combine_exemptions``: overlapping periods take the most
favourable mode day by day). An installment with no period is absent from the result: most have none,
and the late-charge batch path stays the fast one for them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date

from choshu.rules.late_charge import Exemption, combine_exemptions

ExemptionSource = Callable[[Sequence[int]], Mapping[int, Iterable[Exemption]]]
EXEMPTION_SOURCES: list[ExemptionSource] = []

OPEN_END = date(9999, 12, 30)
"""The end of a period that has none yet (an 執行停止 runs until cancelled or extinguished)."""

_CHUNK = 10_000


def register_exemption_source(source: ExemptionSource) -> ExemptionSource:
    """Register a source (an app's ``ready()``); registering it again changes nothing."""
    if source not in EXEMPTION_SOURCES:
        EXEMPTION_SOURCES.append(source)
    return source


def late_charge_exemptions(installment_ids: Iterable[int]) -> dict[int, tuple[Exemption, ...]]:
    """The 法15条の9 periods of those of these installments that have any, non-overlapping."""
    ids = sorted(set(installment_ids))
    if not ids or not EXEMPTION_SOURCES:
        return {}
    found: dict[int, list[Exemption]] = {}
    for lo in range(0, len(ids), _CHUNK):
        chunk = ids[lo : lo + _CHUNK]
        for source in EXEMPTION_SOURCES:
            for inst_id, periods in source(chunk).items():
                found.setdefault(inst_id, []).extend(periods)
    return {inst_id: combine_exemptions(periods) for inst_id, periods in found.items() if periods}
