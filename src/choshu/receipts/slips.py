"""Payment slips (納付書): numbers, 確認番号, and which installments a slip number pays.

Every payable installment has a 16-digit slip number (``Installment.slip_no``: from the levy feed or
assigned here). A combined slip (``PaymentSlip``) covers several installments of one person. The
4-digit 確認番号 printed with a slip (eL番号, OCR line) is derived from the slip number with a keyed
hash, so it needs no storage and cannot be guessed from the number alone.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from typing import Any

from django.db import transaction

from choshu.core.models import Municipality
from choshu.formats.slipcodes import slip_codes
from choshu.levies.models import Installment
from choshu.receipts.models import PaymentSlip
from choshu.rules.check_digits import make_slip_no
from choshu.taxpayers.crypto import _derive

COMBINED_PREFIX = "8"  # combined slips: "8" + 14-digit PaymentSlip sequence + check digit


@lru_cache(maxsize=1)
def _slip_key() -> bytes:
    return _derive(b"choshu slip confirmation v1")


@lru_cache(maxsize=1)
def _slip_mac() -> hmac.HMAC:
    """The keyed HMAC state, copied per slip (a million-record import checks a million numbers)."""
    return hmac.new(_slip_key(), digestmod=hashlib.sha256)


def confirmation_no(municipality_code: str, slip_no: str) -> str:
    """確認番号 (4 digits) of a slip: HMAC of the municipality and slip number, reduced to 0000–9999."""
    mac = _slip_mac().copy()
    mac.update(f"{municipality_code}:{slip_no}".encode())
    return f"{int.from_bytes(mac.digest()[:8], 'big') % 10000:04d}"


@dataclass
class InstallmentState:
    """The few facts reconciliation needs about one installment (a light row, not a model instance);
    the amounts are updated in memory as payments of the same chunk are placed."""

    pk: int
    taxpayer_id: int
    due_date: date
    tax_item: str
    principal_levied: int
    principal_paid: int
    principal_outstanding: int
    late_charge_base_date: date  # the 延滞金 runs from the day after it (Installment.late_charge_base_date)


_STATE_FIELDS = ("pk", "taxpayer_id", "due_date", "levy__tax_item", "principal_levied", "principal_paid",
                 "principal_outstanding", "late_charge_base_date")  # fmt: skip


@dataclass
class SlipTarget:
    """What a slip number pays: its installments (oldest first), or why it cannot be used."""

    slip_no: str
    installments: list[InstallmentState] = field(default_factory=list)
    cancelled: bool = False
    taxpayer_id: int | None = None
    combined: PaymentSlip | None = None


def slip_targets(municipality: Municipality, slip_nos: Iterable[str]) -> dict[str, SlipTarget]:
    """Resolve many slip numbers at once (two queries): combined slips first, then installment slips."""
    wanted = set(slip_nos)
    found: dict[str, SlipTarget] = {}
    if not wanted:
        return found
    for slip in PaymentSlip.objects.filter(municipality=municipality, slip_no__in=wanted):
        states = [InstallmentState(*row) for row in slip.installments.values_list(*_STATE_FIELDS)]
        found[slip.slip_no] = SlipTarget(
            slip_no=slip.slip_no,
            installments=sorted(states, key=lambda i: (i.due_date, i.pk)),
            cancelled=slip.cancelled_on is not None,
            taxpayer_id=slip.taxpayer_id,
            combined=slip,
        )
    rest = list(wanted - set(found))
    for start in range(0, len(rest), 5000):
        for slip_no, *row in Installment.objects.filter(
            municipality=municipality, slip_no__in=rest[start : start + 5000]
        ).values_list("slip_no", *_STATE_FIELDS):
            state = InstallmentState(*row)
            found[str(slip_no)] = SlipTarget(
                slip_no=str(slip_no), installments=[state], taxpayer_id=state.taxpayer_id
            )
    return found


@transaction.atomic
def combined_slip_issue(
    *,
    municipality: Municipality,
    installments: list[Installment],
    amount: int,
    pay_by: date | None,
    issued_on: date,
    actor: Any = None,
) -> PaymentSlip:
    """Issue one slip for several installments of one person (dunning, case work) on ``issued_on``."""
    if not installments:
        raise ValueError("一括納付書には期別が1件以上必要です")
    owners = {i.taxpayer_id for i in installments}
    if len(owners) != 1 or any(i.municipality_id != municipality.pk for i in installments):
        raise ValueError("一括納付書は同じ自治体の同じ宛名の期別だけをまとめられます")
    # The next number is read under the municipality's row lock (this function is atomic): two clerks
    # issuing at the same moment would otherwise draw the same number, and one would fail on the
    # unique constraint.
    Municipality.objects.select_for_update().filter(pk=municipality.pk).first()
    last = (
        PaymentSlip.objects.filter(municipality=municipality)
        .order_by("-id")
        .values_list("slip_no", flat=True)
    )
    seq = int(last[0][1:15]) + 1 if last else 1
    slip = PaymentSlip.objects.create(
        municipality=municipality,
        slip_no=make_slip_no(f"{COMBINED_PREFIX}{seq:014d}"),
        taxpayer_id=owners.pop(),
        amount=amount,
        pay_by=pay_by,
        issued_on=issued_on,
        issued_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    slip.installments.set(installments)
    return slip


@dataclass(frozen=True)
class SlipView:
    slip_no: str
    confirmation_no: str
    amount: int
    pay_by: date | None
    tax_item: str
    installments: list[dict[str, object]]
    outstanding: int
    barcode: str
    el_number: str
    ocr_lower: str

    def as_dict(self) -> dict[str, object]:
        return {
            "slip_no": self.slip_no,
            "confirmation_no": self.confirmation_no,
            "amount": self.amount,
            "pay_by": self.pay_by.isoformat() if self.pay_by else None,
            "tax_item": self.tax_item,
            "installments": self.installments,
            "outstanding": self.outstanding,
            "barcode": self.barcode,
            "el_number": self.el_number,
            "ocr_lower": self.ocr_lower,
        }


def _describe(inst: Installment) -> dict[str, object]:
    return {
        "tax_item": inst.levy.tax_item,
        "levy_year": inst.levy.levy_year,
        "notice_no": inst.levy.notice_no,
        "installment_no": inst.installment_no,
        "due_date": inst.due_date.isoformat(),
        "principal": inst.principal_levied,
        "principal_outstanding": inst.principal_outstanding,
    }


def taxpayer_slips(municipality: Municipality, taxpayer_id: int) -> list[SlipView]:
    """Every slip of a person: one per installment (billed amount = its principal, pay-by = its due date)
    and every combined slip. Codes as printed: GS1-128 barcode, eL番号, lower OCR line."""

    def view(slip_no: str, amount: int, pay_by: date | None, insts: list[Installment]) -> SlipView:
        tax_items = {i.levy.tax_item for i in insts}
        tax_item = tax_items.pop() if len(tax_items) == 1 else insts[0].levy.tax_item
        conf = confirmation_no(municipality.code, slip_no)
        codes = slip_codes(
            slip_no=slip_no,
            confirmation_no=conf,
            amount=max(amount, 1),
            pay_by=pay_by,
            tax_item=tax_item,
            company_code=municipality.conveni_company_code,
            client_code=municipality.conveni_client_code,
            agency_no=municipality.eltax_agency_no,
        )
        return SlipView(
            slip_no,
            conf,
            amount,
            pay_by,
            tax_item,
            [_describe(i) for i in insts],
            sum(max(0, i.principal_outstanding) for i in insts),
            codes.barcode,
            codes.el_number,
            codes.ocr_lower,
        )

    out = [
        view(str(i.slip_no), i.principal_levied, i.due_date, [i])
        for i in Installment.objects.filter(municipality=municipality, taxpayer_id=taxpayer_id)
        .exclude(slip_no=None)
        .select_related("levy")
        .order_by("levy__tax_item", "levy__levy_year", "levy__notice_no", "installment_no")
    ]
    for slip in PaymentSlip.objects.filter(
        municipality=municipality, taxpayer_id=taxpayer_id, cancelled_on=None
    ):
        insts = sorted(slip.installments.select_related("levy"), key=lambda i: (i.due_date, i.pk))
        out.append(view(slip.slip_no, slip.amount, slip.pay_by, insts))
    return out
