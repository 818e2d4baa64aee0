"""納付書の発行・再発行 from the screens (issue 13 §4): the amounts, the number, the 宛名, the record.

``slip_quote`` says what a slip for some 期別 of one person would carry on a 計算基準日: per 期別 the
本税 still owed and the 延滞金 owed on that day, computed the way a payment on that day is reconciled
(``services.owed_amounts`` → ``rules.reconcile.late_charge_owed``, i.e. ``rules.late_charge``), and the
督促手数料 (and 滞納処分費) booked on it by then (``services.fees_owed``), so the slip's amount is what
the counter or a bank payment on that day will settle.

``slip_issue`` issues it: one 期別 with its own number prints that number; several (or one without a
number) get a combined slip (``PaymentSlip``, ``slips.combined_slip_issue``). The 宛名 comes from
``taxpayers.addressee.addressee_for``; a person (or addressee) under 支援措置 is refused with the
Japanese reason (``taxpayers.protection.refuse_reason``) and nothing is issued. Every issue is a
``SlipIssue`` row (発行履歴) and a change-log record; a 期別 issued before makes the new one a 再発行,
which needs a reason, and its barcode's 再発行区分 counts the earlier issues of the same number.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from choshu.accounts.permissions import Right, has_right
from choshu.audit.models import AuditKind, AuditSubjectType
from choshu.audit.services import audit_record
from choshu.formats.slipcodes import ocr_upper, slip_codes
from choshu.levies.models import Installment
from choshu.levies.tax_items import tax_item_name
from choshu.receipts.models import SlipIssue
from choshu.receipts.services import owed_amounts
from choshu.receipts.slip_pdf import SlipData, SlipLine, render_slip
from choshu.receipts.slips import (
    _STATE_FIELDS,
    InstallmentState,
    SlipTarget,
    combined_slip_issue,
    confirmation_no,
)
from choshu.taxpayers.addressee import Addressee, addressee_for
from choshu.taxpayers.models import Taxpayer
from choshu.taxpayers.protection import ProtectedPersonRefused, refuse_reason

FUNCTION = "納付書発行"
DOCUMENT = "納付書"
ALL_ITEMS = "00"


@dataclass(frozen=True)
class QuotedLine:
    """One 期別 as a slip would print it on the 計算基準日."""

    installment: Installment
    principal: int  # 本税 still owed
    late_charge: int  # 延滞金 owed on the day (less what was paid)
    fee: int = 0  # 督促手数料 (and 滞納処分費) owed on the day: the payment settles them first

    @property
    def total(self) -> int:
        return self.principal + self.late_charge + self.fee

    @property
    def tax_item_name(self) -> str:
        return tax_item_name(self.installment.municipality_id, self.installment.levy.tax_item)


def slip_quote(taxpayer: Taxpayer, installment_ids: list[int] | None, as_of: date) -> list[QuotedLine]:
    """本税 and 延滞金 owed on ``as_of`` for the person's 期別 (``None`` = every 期別 with something
    owed), oldest 納期限 first. 期別 of another person are never returned."""
    qs = Installment.objects.filter(municipality_id=taxpayer.municipality_id, taxpayer=taxpayer)
    if installment_ids is not None:
        qs = qs.filter(pk__in=installment_ids)
    insts = {i.pk: i for i in qs.select_related("levy")}
    states = [InstallmentState(*row) for row in qs.values_list(*_STATE_FIELDS)]
    states.sort(key=lambda s: (s.due_date, s.pk))
    owed = owed_amounts(SlipTarget(slip_no="", installments=states), paid_on=as_of)
    lines = [QuotedLine(insts[o.installment_id], o.principal, o.late_charge, o.fees) for o in owed]
    return [line for line in lines if installment_ids is not None or line.total > 0]


def _refusal(taxpayer: Taxpayer, protected_id: int, on: date) -> str | None:
    reason = refuse_reason(taxpayer, on, DOCUMENT)
    if reason is None and protected_id != taxpayer.pk:
        other = Taxpayer.objects.filter(pk=protected_id).first()
        reason = refuse_reason(other, on, DOCUMENT) if other is not None else None
    return reason


def slip_issue(
    *,
    actor: Any,
    taxpayer: Taxpayer,
    installment_ids: list[int],
    late_charge_as_of: date,
    pay_by: date,
    reason: str = "",
    today: date | None = None,
) -> tuple[SlipIssue, bytes]:
    """Issue a 納付書 for these 期別 of ``taxpayer``; returns the 発行履歴 row and the PDF.

    Raises ``PermissionDenied`` (no right / another municipality), ``ProtectedPersonRefused``
    (支援措置: logged, nothing issued) or ``ValidationError`` with a Japanese message.
    """
    if not has_right(actor, Right.SLIP_ISSUE) or actor.municipality_id != taxpayer.municipality_id:
        raise PermissionDenied("納付書を発行する権限がありません。")
    today = today or timezone.localdate()
    reason = (reason or "").strip()
    if not installment_ids:
        raise ValidationError("納付書にする期別を1件以上選んでください。")
    if late_charge_as_of < today:
        raise ValidationError("延滞金の計算基準日には今日以降の日を指定してください。")
    if pay_by < today:
        raise ValidationError("使用期限には今日以降の日を指定してください。")
    if pay_by > late_charge_as_of:
        raise ValidationError(
            "使用期限は延滞金の計算基準日以前にしてください（基準日より後に納付されると延滞金が不足します）。"
        )
    lines = slip_quote(taxpayer, sorted(set(installment_ids)), late_charge_as_of)
    if len(lines) != len(set(installment_ids)):
        raise ValidationError("選んだ期別の一部がこの宛名の期別ではありません。画面を開き直してください。")
    paid = [ln for ln in lines if ln.total <= 0]
    if paid:
        names = "、".join(_line_name(ln.installment) for ln in paid)
        raise ValidationError(f"納付済みの期別は納付書にできません：{names}")
    tax_items = sorted({ln.installment.levy.tax_item for ln in lines})
    addressee = addressee_for(taxpayer, tax_items[0] if len(tax_items) == 1 else ALL_ITEMS, today)
    refused = _refusal(taxpayer, addressee.protected_taxpayer_id, today)
    if refused is not None:
        _log(actor, taxpayer, {"refused": refused, "installments": sorted(set(installment_ids))})
        raise ProtectedPersonRefused(refused)
    with transaction.atomic():
        return _issue(actor, taxpayer, lines, addressee, late_charge_as_of, pay_by, reason, today)


def _issue(
    actor: Any,
    taxpayer: Taxpayer,
    lines: list[QuotedLine],
    addressee: Addressee,
    late_charge_as_of: date,
    pay_by: date,
    reason: str,
    today: date,
) -> tuple[SlipIssue, bytes]:
    issued_before = SlipIssue.objects.filter(
        municipality_id=taxpayer.municipality_id, installments__in=[ln.installment.pk for ln in lines]
    ).exists()
    if issued_before and not reason:
        raise ValidationError("この期別の納付書は発行済みです。再発行の理由を入力してください。")
    municipality = actor.municipality
    total = sum(ln.total for ln in lines)
    principal = sum(ln.principal for ln in lines)
    fee = sum(ln.fee for ln in lines)
    first = lines[0].installment
    payment_slip = None
    if len(lines) == 1 and first.slip_no:
        slip_no = str(first.slip_no)
    else:
        payment_slip = combined_slip_issue(
            municipality=municipality,
            installments=[ln.installment for ln in lines],
            amount=total,
            pay_by=pay_by,
            issued_on=today,
            actor=actor,
        )
        slip_no = payment_slip.slip_no
    reissue_no = min(9, SlipIssue.objects.filter(municipality=municipality, slip_no=slip_no).count())
    conf = confirmation_no(municipality.code, slip_no)
    tax_item = first.levy.tax_item
    try:
        codes = slip_codes(
            slip_no=slip_no,
            confirmation_no=conf,
            amount=total,
            pay_by=pay_by,
            tax_item=tax_item,
            company_code=municipality.conveni_company_code,
            client_code=municipality.conveni_client_code,
            agency_no=municipality.eltax_agency_no,
            reissue=reissue_no,
        )
        upper = ocr_upper(
            amount=total,
            municipality_code=municipality.code,
            tax_item=tax_item,
            levy_year=min(ln.installment.levy.levy_year for ln in lines),
        )
    except ValueError as exc:  # a 税目 the printed codes do not know, or an amount beyond their fields
        raise ValidationError(
            f"この納付書の番号・金額はバーコード・OCRに印字できません（税目 {tax_item}、合計 {total:,}円）。"
        ) from exc
    printed = {
        "municipality_name": municipality.name,
        "confirmation_no": conf,
        "taxpayer_no": taxpayer.taxpayer_no,
        "taxpayer_name": taxpayer.name,
        "addressee_name": addressee.name,
        "postal_code": addressee.postal_code,
        "address": addressee.address,
        "address_extra": addressee.address_extra,
        "addressee_via": addressee.via,
        "issued_on": today.isoformat(),
        "barcode": codes.barcode,
        "el_number": codes.el_number,
        "ocr_upper": upper,
        "ocr_lower": codes.ocr_lower,
        "lines": [
            {
                "installment": ln.installment.pk,
                "tax_item_name": tax_item_name(municipality.pk, ln.installment.levy.tax_item),
                "levy_year": ln.installment.levy.levy_year,
                "notice_no": ln.installment.levy.notice_no,
                "installment_no": ln.installment.installment_no,
                "due_date": ln.installment.due_date.isoformat(),
                "principal": ln.principal,
                "late_charge": ln.late_charge,
                "fee": ln.fee,
            }
            for ln in lines
        ],
    }
    issue = SlipIssue.objects.create(
        municipality=municipality,
        taxpayer=taxpayer,
        slip_no=slip_no,
        payment_slip=payment_slip,
        principal=principal,
        late_charge=total - principal - fee,
        fee=fee,
        total=total,
        late_charge_as_of=late_charge_as_of,
        pay_by=pay_by,
        reissue=issued_before,
        reissue_no=reissue_no,
        reason=reason,
        issued_by=actor,
        issued_at=timezone.now(),
        printed=printed,
    )
    issue.installments.set([ln.installment for ln in lines])
    pdf = render_slip(slip_data(issue))
    issue.sha256 = hashlib.sha256(pdf).hexdigest()
    issue.save(update_fields=["sha256"])
    _log(
        actor,
        taxpayer,
        {
            "slip_issue": issue.pk,
            "slip_no": slip_no,
            "installments": [ln.installment.pk for ln in lines],
            "principal": principal,
            "late_charge": issue.late_charge,
            "fee": fee,
            "total": total,
            "late_charge_as_of": late_charge_as_of.isoformat(),
            "pay_by": pay_by.isoformat(),
            "reissue": issued_before,
            "reason": reason,
            "sha256": issue.sha256,
        },
    )
    return issue, pdf


def slip_data(issue: SlipIssue) -> SlipData:
    """What the PDF of an issue prints, from its record (so a copy prints the same slip)."""
    p = issue.printed
    return SlipData(
        municipality_name=p["municipality_name"],
        slip_no=issue.slip_no,
        confirmation_no=p["confirmation_no"],
        taxpayer_no=p["taxpayer_no"],
        taxpayer_name=p["taxpayer_name"],
        addressee_name=p["addressee_name"],
        postal_code=p["postal_code"],
        address=p["address"],
        address_extra=p["address_extra"],
        addressee_via=p["addressee_via"],
        issued_on=date.fromisoformat(p["issued_on"]),
        late_charge_as_of=issue.late_charge_as_of,
        pay_by=issue.pay_by,
        barcode=p["barcode"],
        el_number=p["el_number"],
        ocr_upper=p["ocr_upper"],
        ocr_lower=p["ocr_lower"],
        issue_no=issue.pk,
        reissue=issue.reissue,
        lines=[
            SlipLine(
                tax_item_name=ln["tax_item_name"],
                levy_year=ln["levy_year"],
                notice_no=ln["notice_no"],
                installment_no=ln["installment_no"],
                due_date=date.fromisoformat(ln["due_date"]),
                principal=ln["principal"],
                late_charge=ln["late_charge"],
                fee=ln.get("fee", 0),  # issues printed before the fee was on the slip have none
            )
            for ln in p["lines"]
        ],
    )


def slip_history(taxpayer: Taxpayer, limit: int = 20) -> list[SlipIssue]:
    """The person's latest issues (発行履歴), newest first, with who issued them."""
    return list(
        SlipIssue.objects.filter(taxpayer=taxpayer)
        .select_related("issued_by")
        .prefetch_related("installments__levy")
        .order_by("-issued_at", "-pk")[:limit]
    )


def _line_name(inst: Installment) -> str:
    name = tax_item_name(inst.municipality_id, inst.levy.tax_item)
    return f"{name} {inst.levy.levy_year}年度 {inst.levy.notice_no} 第{inst.installment_no}期"


def _log(actor: Any, taxpayer: Taxpayer, detail: dict[str, Any]) -> None:
    audit_record(
        kind=AuditKind.CHANGE,
        function=FUNCTION,
        municipality=actor.municipality,
        user=actor,
        subject_type=AuditSubjectType.TAXPAYER,
        subject_ids=[taxpayer.pk],
        detail=detail,
        shows_address=True,
    )
