"""Combined 納付書 for notices written in bulk (督促状, 催告書): numbered, inserted with one COPY each."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from choshu.core.bulk import insert_rows, reserve_id_block
from choshu.core.models import Municipality
from choshu.receipts.models import PaymentSlip
from choshu.receipts.slips import COMBINED_PREFIX
from choshu.rules.check_digits import make_slip_no


@dataclass(frozen=True)
class SlipRow:
    taxpayer_id: int
    amount: int
    installment_ids: Sequence[int]


class CombinedSlips:
    """Numbers and writes combined slips. Create it inside the caller's transaction after locking the
    municipality's row (``select_for_update``): the numbering continues from the last slip."""

    def __init__(
        self, municipality: Municipality, *, issued_on: date, pay_by: date, user_id: int | None
    ) -> None:
        self.m = municipality
        self.issued_on = issued_on
        self.pay_by = pay_by
        self.user_id = user_id
        last = (
            PaymentSlip.objects.filter(municipality=municipality)
            .order_by("-id")
            .values_list("slip_no", flat=True)
            .first()
        )
        self.next_seq = int(last[1:15]) + 1 if last else 1

    def write(self, rows: Sequence[SlipRow]) -> list[int]:
        """Insert one slip per row (and its installments); returns the slips' ids in row order."""
        slip_ids = reserve_id_block(PaymentSlip, len(rows))
        numbers = [make_slip_no(f"{COMBINED_PREFIX}{self.next_seq + k:014d}") for k in range(len(rows))]
        self.next_seq += len(rows)
        insert_rows(
            PaymentSlip,
            (
                "id",
                "municipality_id",
                "slip_no",
                "taxpayer_id",
                "amount",
                "pay_by",
                "issued_on",
                "issued_by_id",
                "cancelled_on",
            ),  # fmt: skip
            [
                (sid, self.m.pk, no, r.taxpayer_id, r.amount, self.pay_by, self.issued_on, self.user_id, None)
                for sid, no, r in zip(slip_ids, numbers, rows, strict=True)
            ],
        )
        insert_rows(
            PaymentSlip.installments.through,
            ("paymentslip_id", "installment_id"),
            [(sid, i) for sid, r in zip(slip_ids, rows, strict=True) for i in r.installment_ids],
        )
        return slip_ids
