"""抽出条件 (issue 20 §1): dated per municipality; the defaults are the issue's (current-year arrears,
not under enforcement or relief, not deceased, not 支援措置, no promise pending, no birth date)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from choshu.accounts.permissions import Right, has_right
from choshu.audit.models import AuditKind
from choshu.audit.services import audit_record
from choshu.callcenter.models import CallCriteria
from choshu.core.models import Municipality


@dataclass(frozen=True)
class Criteria:
    """The criteria in force (a saved row, or the defaults). Deceased and 支援措置 people are always
    left out: they are not options (a call to them is never right)."""

    valid_from: date | None = None
    current_year_only: bool = True
    min_amount: int = 1
    exclude_enforcement: bool = True
    exclude_relief: bool = True
    exclude_promise_pending: bool = True
    include_birth_date: bool = False

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["valid_from"] = self.valid_from.isoformat() if self.valid_from else None
        return d


FLAGS = (
    "current_year_only",
    "exclude_enforcement",
    "exclude_relief",
    "exclude_promise_pending",
    "include_birth_date",
)


def criteria_on(municipality: Municipality, on: date) -> Criteria:
    row = (
        CallCriteria.objects.filter(municipality=municipality, valid_from__lte=on)
        .order_by("-valid_from")
        .first()
    )
    if row is None:
        return Criteria()
    return Criteria(
        valid_from=row.valid_from, current_year_only=row.current_year_only, min_amount=int(row.min_amount),
        exclude_enforcement=row.exclude_enforcement, exclude_relief=row.exclude_relief,
        exclude_promise_pending=row.exclude_promise_pending, include_birth_date=row.include_birth_date,
    )  # fmt: skip


@transaction.atomic
def criteria_set(*, actor: Any, municipality: Municipality, valid_from: date, min_amount: int,
                 note: str = "", **flags: bool) -> CallCriteria:  # fmt: skip
    """Save the criteria from ``valid_from`` (a row of the same date is replaced). A member of staff
    needs ``callcenter_manage``; a command without ``--operator`` runs as the system."""
    if actor is not None and (
        not has_right(actor, Right.CALLCENTER_MANAGE) or actor.municipality_id != municipality.pk
    ):
        raise ValidationError("抽出条件を変更する権限がありません")
    if min_amount < 1:
        raise ValidationError("滞納額の下限は 1 円以上で指定してください")
    unknown = set(flags) - set(FLAGS)
    if unknown:
        raise ValidationError(f"不明な条件です: {', '.join(sorted(unknown))}")
    values = {"min_amount": min_amount, "note": note[:300], "created_by": actor, **flags}
    row, _ = CallCriteria.objects.update_or_create(
        municipality=municipality, valid_from=valid_from, defaults=values
    )
    audit_record(kind=AuditKind.CHANGE, function="催告センターの抽出条件の設定", municipality=municipality,
                 user=actor, detail={"valid_from": valid_from.isoformat(), "min_amount": min_amount,
                                     **{k: bool(v) for k, v in flags.items()}, "note": note[:300]})  # fmt: skip
    return row
