"""未納額 of many people at once, for lists (the 宛名検索 results): one set-based query, never per row."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from django.db.models import Q, Sum

from choshu.levies.models import Installment


@dataclass(frozen=True)
class Arrears:
    """A person's principal still owed: ``overdue`` (納期限 passed: 滞納) and ``not_yet_due``."""

    overdue: int = 0
    not_yet_due: int = 0

    @property
    def total(self) -> int:
        return self.overdue + self.not_yet_due


NONE = Arrears()


def arrears_by_taxpayer(*, taxpayer_ids: Sequence[int], as_of: date) -> dict[int, Arrears]:
    """本税 outstanding per 宛名 (``Installment.principal_outstanding``, the ledger's cache that
    ``choshu verify`` checks), split at ``as_of``: an installment whose 納期限 is before ``as_of`` is
    overdue. One grouped query over the installments of these ids (the taxpayer index); a person
    owing nothing is absent (use ``NONE``). 延滞金 are not included (they need each payment's date).
    An installment extinguished by ``as_of`` (時効 etc., ``relief``) is not owed and not counted."""
    if not taxpayer_ids:
        return {}
    rows = (
        Installment.objects.filter(taxpayer_id__in=list(taxpayer_ids), principal_outstanding__gt=0)
        .filter(Q(extinguished_on__isnull=True) | Q(extinguished_on__gt=as_of))  # 消滅: not collectable
        .values("taxpayer_id")
        .annotate(
            overdue=Sum("principal_outstanding", filter=Q(due_date__lt=as_of), default=0),
            total=Sum("principal_outstanding", default=0),
        )
        .order_by()
    )
    return {
        row["taxpayer_id"]: Arrears(
            overdue=int(row["overdue"]), not_yet_due=int(row["total"] - row["overdue"])
        )
        for row in rows
    }
