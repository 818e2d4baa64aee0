"""緩和制度 (徴収猶予 法15条, 換価の猶予 法15条の5・15条の6, 執行停止 法15条の7) as prescription events.

Issue 18 §6 is not built yet: no relief record exists, so no installment has a relief event. The two
functions below are the seam ``relief.prescription`` reads; a relief model will answer them with
``DEFERRAL`` (on..until), ``ENFORCEMENT_SUSPENSION`` (on, until = cancellation) and
``IMMEDIATE_EXTINGUISHMENT`` events (``rules.prescription``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from choshu.core.models import Municipality
from choshu.levies.models import Installment
from choshu.rules.prescription import PrescriptionEvent


def relief_events(installment_ids: Sequence[int]) -> dict[int, list[PrescriptionEvent]]:
    """The relief periods and decisions of these installments as prescription events (none yet)."""
    return {}


def relief_installments(municipality: Municipality) -> Any:
    """The ids of installments a relief decision may extinguish early (即時消滅): none yet."""
    return Installment.objects.none().values("pk")
