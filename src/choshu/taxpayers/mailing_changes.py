"""Staff edits of a 送付先 of one tax item (issue 12 §4): registered, changed or ended only after a second
person approves (決裁, ``approvals``), like every staff edit of a 宛名. The request records the new
values and the revision it was made against; approval writes a new revision naming the request (and
so both people: ``changed_by`` asked, the request's ``decided_by`` approved)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone

from choshu.accounts.models import User
from choshu.approvals.models import ChangeRequest, RequestKind
from choshu.approvals.services import register, register_field_labels, request_create
from choshu.formats.related_csv import ALL_ITEMS
from choshu.formats.taxpayers_csv import normalize_postal_code
from choshu.taxpayers.models import MailingAddress, Taxpayer
from choshu.taxpayers.protection import may_see_address

SAVE, END = "save", "end"
VALUES = (
    "name",
    "postal_code",
    "address",
    "address_extra",
    "phone",
    "set_reason",
    "valid_from",
    "valid_until",
)
LABELS = {
    "operation": "処理",
    "tax_item": "業務詳細（科目）コード",
    "tax_item_name": "税目",
    "name": "送付先氏名",
    "postal_code": "郵便番号",
    "address": "送付先住所",
    "address_extra": "方書",
    "phone": "電話番号",
    "set_reason": "送付先を設定する理由",
    "valid_from": "登録年月日",
    "valid_until": "利用廃止年月日",
}


@dataclass(frozen=True)
class MailingValues:
    """What the clerk entered (strings as typed; dates ISO or empty)."""

    name: str = ""
    postal_code: str = ""
    address: str = ""
    address_extra: str = ""
    phone: str = ""
    set_reason: str = ""
    valid_from: date | None = None
    valid_until: date | None = None

    def as_payload(self) -> dict[str, str]:
        return {k: (v.isoformat() if isinstance(v, date) else v or "") for k, v in self.__dict__.items()}


def current_mailing_address(taxpayer: Taxpayer, tax_item: str) -> MailingAddress | None:
    """The current 送付先 of the item kept for the 宛名 as a whole (no vehicle)."""
    return (
        MailingAddress.objects.filter(
            municipality_id=taxpayer.municipality_id,
            taxpayer=taxpayer,
            tax_item=tax_item,
            vehicle_no="",
            is_current=True,
        )  # fmt: skip
        .order_by("-pk")
        .first()
    )


def _record_values(record: MailingAddress | None) -> dict[str, str]:
    values = dict.fromkeys(VALUES, "")
    for name in VALUES if record is not None else ():
        value = getattr(record, name)
        values[name] = value.isoformat() if isinstance(value, date) else (value or "")
    return values


def mailing_address_request(
    *,
    actor: User,
    taxpayer: Taxpayer,
    tax_item: str,
    tax_item_name: str,
    operation: str,
    values: MailingValues,
    reason: str,
    known_tax_items: Collection[str],
) -> ChangeRequest:
    """Ask for a 送付先 of ``tax_item`` (``00`` = every item) to be registered or changed (``save``) or
    ended (``end``). ``known_tax_items``: the municipality's 税目マスタ codes."""
    if tax_item != ALL_ITEMS and tax_item not in known_tax_items:
        raise ValidationError("税目を一覧から選択してください")
    if not may_see_address(actor, taxpayer, timezone.localdate()):  # the rule of taxpayer corrections
        raise ValidationError(
            "支援措置対象者の住所・送付先は、支援措置対象者の住所の表示権限を持つ職員だけが訂正を申請できます"
        )
    current = current_mailing_address(taxpayer, tax_item)
    before: dict[str, Any] = dict(_record_values(current))
    if operation == END:
        if current is None:
            raise ValidationError("この税目の送付先は登録されていません（終了するものがありません）")
        payload: dict[str, Any] = {"operation": "終了", **dict.fromkeys(VALUES, "")}
    elif operation == SAVE:
        payload = {"operation": "変更" if current is not None else "登録", **_checked(values)}
        if current is not None and all(payload[k] == before[k] for k in VALUES):
            raise ValidationError("変更がありません")
    else:
        raise ValidationError("処理を選択してください")
    payload |= {"tax_item": tax_item, "tax_item_name": tax_item_name}
    before |= {"operation": "", "tax_item": tax_item, "tax_item_name": tax_item_name,
               "revision": current.revision if current else 0}  # fmt: skip
    return request_create(
        actor=actor, kind=RequestKind.MAILING_ADDRESS, taxpayer=taxpayer, payload=payload, before=before,
        reason=reason,
    )  # fmt: skip


def _checked(values: MailingValues) -> dict[str, str]:
    if not values.address.strip():
        raise ValidationError("送付先住所を入力してください")
    postal = normalize_postal_code(values.postal_code.strip())
    if postal is None:
        raise ValidationError("郵便番号は7桁の数字（3320012 または 332-0012）で入力してください")
    if values.valid_from and values.valid_until and values.valid_until < values.valid_from:
        raise ValidationError("利用廃止年月日が登録年月日より前です")
    return {**values.as_payload(), "postal_code": postal, "address": values.address.strip()}


@register(RequestKind.MAILING_ADDRESS)
def _apply(req: ChangeRequest, approver: User, decided_on: date) -> None:
    taxpayer = Taxpayer.objects.get(pk=int(req.taxpayer_id or 0))
    tax_item = str(req.payload["tax_item"])
    rows = MailingAddress.objects.select_for_update().filter(
        municipality_id=taxpayer.municipality_id, taxpayer=taxpayer, tax_item=tax_item, vehicle_no=""
    )
    history = list(rows.order_by("-revision"))
    current = next((r for r in history if r.is_current), None)
    if (current.revision if current else 0) != int(req.before.get("revision", 0)):
        raise ValidationError("申請の後にこの送付先が変更されています。内容を確認して申請し直してください")
    ending = req.payload["operation"] == "終了"
    if current is not None:
        current.is_current = False
        current.save(update_fields=["is_current"])
    source = _record_values(current) if ending else req.payload
    kept = {k: getattr(current, k) for k in ("kind", "name_kana", "memo")} if current is not None else {}
    MailingAddress.objects.create(
        municipality_id=taxpayer.municipality_id,
        taxpayer=taxpayer,
        tax_item=tax_item,
        revision=(history[0].revision if history else 0) + 1,
        is_current=not ending,
        changed_at=timezone.now(),
        changed_by=req.requested_by,
        change_request=req,
        reason=f"{req.get_kind_display()}（{req.payload['operation']}）: {req.reason}",
        **kept,
        **{k: (date.fromisoformat(source[k]) if source[k] else None) if k.startswith("valid_") else source[k]
           for k in VALUES},
    )  # fmt: skip


register_field_labels(RequestKind.MAILING_ADDRESS, lambda name: LABELS.get(name, name))
