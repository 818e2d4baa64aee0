"""Staff corrections of 宛名 and My Number links — both take effect only after a second person's
approval (``approvals``). The request records the new values; approval applies them as a new revision."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone

from choshu.accounts.models import User
from choshu.approvals.models import ChangeRequest, RequestKind
from choshu.approvals.services import register, register_field_labels, request_create
from choshu.rules.check_digits import is_valid_my_number
from choshu.taxpayers.crypto import decrypt_my_number, encrypt_my_number, my_number_hash
from choshu.taxpayers.models import Taxpayer, TaxpayerKind, TaxpayerRevision
from choshu.taxpayers.protection import ADDRESS_FIELDS, may_see_address
from choshu.taxpayers.selectors import field_label
from choshu.taxpayers.services import apply_search_keys, revision_data

EDITABLE = ("name", "name_kana", "postal_code", "address", "address_extra", "mailing_postal_code",
            "mailing_address", "phone")  # fmt: skip


def taxpayer_edit_request(
    *, actor: User, taxpayer: Taxpayer, changes: dict[str, str], reason: str
) -> ChangeRequest:
    """Ask for a correction of names, addresses or phone entered by staff."""
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise ValidationError(f"訂正できない項目です: {', '.join(sorted(unknown))}")
    if set(changes) & set(ADDRESS_FIELDS) and not may_see_address(actor, taxpayer, timezone.localdate()):
        raise ValidationError(
            "支援措置対象者の住所・送付先は、支援措置対象者の住所の表示権限を持つ職員だけが訂正を申請できます"
        )
    changed = {k: v for k, v in changes.items() if getattr(taxpayer, k) != v}
    if not changed:
        raise ValidationError("変更がありません")
    if "name" in changed and not changed["name"].strip():
        raise ValidationError("氏名・名称は空にできません")
    if (
        "postal_code" in changed
        and changed["postal_code"]
        and not (len(changed["postal_code"]) == 7 and changed["postal_code"].isdigit())
    ):
        raise ValidationError("郵便番号はハイフンなしの半角数字7桁で入力してください")
    before = {k: getattr(taxpayer, k) for k in changed}
    return request_create(
        actor=actor,
        kind=RequestKind.TAXPAYER_EDIT,
        taxpayer=taxpayer,
        payload=changed,
        before=before,
        reason=reason,
    )


def my_number_link_request(*, actor: User, taxpayer: Taxpayer, number: str, reason: str) -> ChangeRequest:
    """Ask to register or correct a person's My Number. The number itself is stored only encrypted."""
    number = number.strip().replace("-", "").replace(" ", "")
    if taxpayer.kind != TaxpayerKind.INDIVIDUAL:
        raise ValidationError("法人には個人番号を登録できません")
    if len(number) != 12 or not number.isdigit() or not is_valid_my_number(number):
        raise ValidationError("個人番号が正しくありません（12桁、チェックデジットを確認してください）")
    other = Taxpayer.objects.filter(
        municipality=taxpayer.municipality, my_number_hash=my_number_hash(number)
    ).exclude(pk=taxpayer.pk)
    if other.exists():
        raise ValidationError("この個人番号は別の宛名に登録されています（名寄せを確認してください）")
    return request_create(
        actor=actor,
        kind=RequestKind.MY_NUMBER_LINK,
        taxpayer=taxpayer,
        payload={"my_number": "登録" if not taxpayer.has_my_number else "訂正"},
        before={"my_number_registered": taxpayer.has_my_number},
        secret=encrypt_my_number(number),
        reason=reason,
    )


def _new_revision(taxpayer: Taxpayer, req: ChangeRequest, fields: list[str]) -> None:
    taxpayer.revision += 1
    taxpayer.save()
    TaxpayerRevision.objects.create(
        municipality_id=taxpayer.municipality_id,
        taxpayer=taxpayer,
        revision=taxpayer.revision,
        data=revision_data(taxpayer),
        changed_fields=fields,
        changed_at=timezone.now(),
        changed_by=req.requested_by,
        reason=f"{req.get_kind_display()}（決裁 #{req.pk}）: {req.reason}",
    )


@register(RequestKind.TAXPAYER_EDIT)
def _apply_edit(req: ChangeRequest, approver: User, decided_on: date) -> None:
    taxpayer = Taxpayer.objects.select_for_update().get(pk=int(req.taxpayer_id or 0))
    for field, value in req.payload.items():
        if field in EDITABLE:
            setattr(taxpayer, field, value)
    apply_search_keys(taxpayer)
    _new_revision(taxpayer, req, sorted(req.payload))


@register(RequestKind.MY_NUMBER_LINK)
def _apply_my_number(req: ChangeRequest, approver: User, decided_on: date) -> None:
    taxpayer = Taxpayer.objects.select_for_update().get(pk=int(req.taxpayer_id or 0))
    number = decrypt_my_number(req.secret)
    taxpayer.my_number_enc = encrypt_my_number(number)
    taxpayer.my_number_hash = my_number_hash(number)
    _new_revision(taxpayer, req, ["my_number"])


def pending_summary(req: ChangeRequest) -> dict[str, Any]:
    """What a list of requests may show (never the My Number)."""
    return {"kind": req.get_kind_display(), "payload": req.payload, "before": req.before}


register_field_labels(RequestKind.TAXPAYER_EDIT, field_label)
