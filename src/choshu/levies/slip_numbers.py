"""納付番号 of an installment's own slip: the levy import gives every installment without one the
system's number, derived from the installment id (combined slips and 確認番号 are ``receipts.slips``)."""

from __future__ import annotations

from collections.abc import Iterable

from choshu.levies.models import Installment
from choshu.rules.check_digits import make_slip_no

SYSTEM_PREFIX = "9"  # slip numbers assigned by choshu: "9" + 14-digit installment id + check digit


def system_slip_no(installment_id: int) -> str:
    return make_slip_no(f"{SYSTEM_PREFIX}{installment_id:014d}")


def assign_missing_slip_numbers(installments: Iterable[Installment]) -> int:
    """Give every installment without a slip number the system's number for it."""
    missing = [i for i in installments if not i.slip_no]
    for inst in missing:
        inst.slip_no = system_slip_no(inst.pk)
    Installment.objects.bulk_update(missing, ["slip_no"], batch_size=1000)
    return len(missing)
