"""交付要求・参加差押 (issue 19 §4): claims in another authority's 強制換価手続 (滞納処分 of the 国 or another
地方団体, 強制執行, 担保権の実行としての競売) or in a 破産手続, and the money they bring.

- 交付要求 (国税徴収法82条, applied by 地方税法331条6項; 破産法114条 towards the 破産管財人): asks the
  executing body to pay over the proceeds for the installments named. It needs a delinquent, not
  extinguished tax; a 猶予 does not bar it (法15条の2第3項 bars only a new seizure).
- 参加差押 (86条): possible only where this office could seize (the same refusals as a seizure:
  ``services.seizure_blockers`` — 督促 + 10 days, 猶予・停止 in force).
Each takes effect only on a chief's 決裁 (kind ``enforcement``, actions ``claim``, ``claim_end`` — 解除,
84条/88条 —, ``claim_collect``). The money paid over (配当金・交付金) is a ``Collection`` of the claim,
booked through the payment engine (channel 滞納処分) and allocated 滞納処分費 → 督促手数料 → 本税 → 延滞金
like a 取立 (``collection.book_collection``). On the timeline (``timeline.py``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from choshu.accounts.models import User
from choshu.accounts.permissions import Right
from choshu.approvals.models import ApprovalStatus, ChangeRequest, RequestKind
from choshu.approvals.services import request_create
from choshu.audit.models import AuditKind, AuditSubjectType
from choshu.audit.services import audit_record
from choshu.cases.access import check_case
from choshu.cases.models import Case
from choshu.enforcement.models import (
    Claim,
    ClaimKind,
    ClaimStatus,
    Collection,
    CollectionStatus,
    ProceedingKind,
)
from choshu.enforcement.services import (
    _check_actor,
    _installments,
    _label,
    _locked_case,
    seizure_blockers,
)
from choshu.formats.display import wareki

ACTIONS = {
    "claim": "交付要求・参加差押",
    "claim_end": "交付要求・参加差押の解除",
    "claim_collect": "配当金の収納",
}


def _claim_blockers(kind: str, installments: Sequence[Any], on: date) -> list[str]:
    if kind == ClaimKind.PARTICIPATION:
        return seizure_blockers(installments, on=on)
    out = []
    for i in installments:
        if i.extinguished_on is not None and i.extinguished_on <= on:
            out.append(
                f"{_label(i)}: {wareki(i.extinguished_on)} に徴収権が消滅しています。交付要求できません"
            )
        elif i.principal_outstanding <= 0:
            out.append(f"{_label(i)}: 本税の未納がありません。対象から外してください")
        elif on <= i.due_date:
            out.append(
                f"{_label(i)}: 納期限（{wareki(i.due_date)}）を過ぎていません（滞納の税だけ交付要求できます）"
            )
    return out


@transaction.atomic
def claim_request(
    *,
    actor: User,
    case: Case,
    kind: str,
    proceeding: str,
    authority: str,
    case_no: str,
    property_description: str,
    installment_ids: Sequence[int],
    claimed_on: date,
    amount: int,
    note: str,
) -> Claim:
    """A 交付要求 or 参加差押 for a second person to approve; nothing takes effect until then."""
    _check_actor(actor, case.municipality_id)
    case = _locked_case(actor, case)
    if kind not in ClaimKind.values:
        raise ValidationError(f"種類 {kind!r} は定義されていません（交付要求・参加差押）")
    if proceeding not in ProceedingKind.values:
        raise ValidationError(f"相手の手続 {proceeding!r} は定義されていません")
    if not authority.strip():
        raise ValidationError("執行機関（税務署・裁判所・破産管財人など）を入力してください")
    if kind == ClaimKind.PARTICIPATION and not property_description.strip():
        raise ValidationError("参加差押には対象財産（先行の差押えの財産）を入力してください")
    if not note.strip():
        raise ValidationError("起案の理由（備考）を入力してください")
    if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
        raise ValidationError("交付要求額は1円以上の整数で入力してください")
    installments = _installments(case, installment_ids)
    blockers = _claim_blockers(kind, installments, claimed_on)
    if blockers:
        raise ValidationError(blockers)
    c = Claim.objects.create(
        municipality_id=case.municipality_id, taxpayer_id=case.taxpayer_id, case=case, kind=kind,
        proceeding=proceeding, authority=authority.strip()[:200], case_no=case_no.strip()[:100],
        property_description=property_description.strip()[:300], amount=amount, claimed_on=claimed_on,
        note=note.strip()[:300], created_by=actor,
    )  # fmt: skip
    c.installments.set(installments)
    c.request = request_create(
        actor=actor, kind=RequestKind.ENFORCEMENT, reason=note, taxpayer=case.taxpayer, required_right=Right.ENFORCEMENT,
        payload={"action": "claim", "claim": c.pk, "kind": ClaimKind(kind).label,
                 "proceeding": ProceedingKind(proceeding).label, "authority": c.authority, "case_no": c.case_no,
                 "description": c.property_description, "amount": amount,
                 "installments": [_label(i) for i in installments], "claimed_on": claimed_on.isoformat()},
    )  # fmt: skip
    c.save(update_fields=["request"])
    return c


def _locked_claim(actor: User, claim: Claim) -> Claim:
    _check_actor(actor, claim.municipality_id)
    c = Claim.objects.select_for_update().select_related("case", "taxpayer").get(pk=claim.pk)
    check_case(actor, c.case)
    if c.status != ClaimStatus.ACTIVE:
        raise ValidationError(
            f"この{c.get_kind_display()}は「{c.get_status_display()}」です（決裁済で継続中のものだけ扱えます）"
        )
    return c


@transaction.atomic
def claim_end_request(*, actor: User, claim: Claim, on: date, reason: str) -> Claim:
    """解除 (84条: paid, 88条: 参加差押の解除) or the end of the other proceeding, for approval."""
    c = _locked_claim(actor, claim)
    if c.end_request_id and c.end_request.status == ApprovalStatus.PENDING:  # type: ignore[union-attr]
        raise ValidationError("この解除は既に決裁待ちです")
    if on < c.claimed_on:
        raise ValidationError(f"解除・終了日（{wareki(on)}）が交付要求日（{wareki(c.claimed_on)}）より前です")
    if not reason.strip():
        raise ValidationError("解除・終了の理由を入力してください")
    c.end_request = request_create(
        actor=actor, kind=RequestKind.ENFORCEMENT, reason=reason, taxpayer=c.taxpayer, required_right=Right.ENFORCEMENT,
        payload={"action": "claim_end", "claim": c.pk, "kind": c.get_kind_display(), "authority": c.authority,
                 "released_on": on.isoformat()},
    )  # fmt: skip
    c.save(update_fields=["end_request"])
    return c


@transaction.atomic
def claim_receipt_request(
    *, actor: User, claim: Claim, amount: int, received_on: date, note: str
) -> Collection:
    """配当金・交付金 received from the executing body, booked on approval like a 取立."""
    c = _locked_claim(actor, claim)
    if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
        raise ValidationError("受領額は1円以上の整数で入力してください")
    if received_on < c.claimed_on:
        raise ValidationError(
            f"受領日（{wareki(received_on)}）が交付要求日（{wareki(c.claimed_on)}）より前です"
        )
    if not note.strip():
        raise ValidationError("受領の内容（配当・交付の別など）を入力してください")
    col = Collection.objects.create(
        municipality_id=c.municipality_id, claim=c, amount=amount, received_on=received_on,
        note=note.strip()[:300], created_by=actor,
    )  # fmt: skip
    col.request = request_create(
        actor=actor, kind=RequestKind.ENFORCEMENT, reason=note, taxpayer=c.taxpayer, required_right=Right.ENFORCEMENT,
        payload={"action": "claim_collect", "claim": c.pk, "collection": col.pk, "kind": c.get_kind_display(),
                 "authority": c.authority, "amount": amount, "received_on": received_on.isoformat()},
    )  # fmt: skip
    col.save(update_fields=["request"])
    return col


def apply_claim(req: ChangeRequest, approver: User, decided_on: date) -> None:
    """An approved claim request takes effect (called by ``services.apply_enforcement``)."""
    p = req.payload
    action = p.get("action")
    c = (
        Claim.objects.select_for_update()
        .select_related("case__municipality")
        .get(pk=p["claim"], municipality_id=req.municipality_id)
    )
    detail: dict[str, Any] = {"claim": c.pk, "request": req.pk, "action": action}
    if action == "claim":
        if c.status != ClaimStatus.PENDING:
            raise ValidationError(f"この{c.get_kind_display()}は既に「{c.get_status_display()}」です")
        blockers = _claim_blockers(c.kind, list(c.installments.select_related("levy")), c.claimed_on)
        if blockers:
            raise ValidationError(blockers)
        c.status = ClaimStatus.ACTIVE
        c.save(update_fields=["status"])
    elif action == "claim_end":
        if c.status != ClaimStatus.ACTIVE:
            raise ValidationError(f"この{c.get_kind_display()}は「{c.get_status_display()}」です")
        c.status, c.ended_on, c.end_reason = (
            ClaimStatus.ENDED,
            date.fromisoformat(p["released_on"]),
            req.reason[:300],
        )
        c.save(update_fields=["status", "ended_on", "end_reason"])
    elif action == "claim_collect":
        from choshu.enforcement.collection import book_collection

        col = Collection.objects.select_for_update().get(pk=p["collection"], claim=c)
        if col.status != CollectionStatus.PENDING:
            raise ValidationError(f"この受領は既に「{col.get_status_display()}」です")
        book_collection(collection=col, approver=approver, booked_on=decided_on)
        detail["payments"] = col.payments
    audit_record(
        kind=AuditKind.CHANGE, function=f"滞納処分（{ACTIONS.get(str(action), str(action))}）の決裁",
        municipality=c.case.municipality, user=approver, subject_type=AuditSubjectType.TAXPAYER,
        subject_ids=[c.taxpayer_id], detail=detail,
    )  # fmt: skip


def close_claim(req: ChangeRequest) -> None:
    p = req.payload
    if p.get("action") == "claim":
        Claim.objects.filter(pk=p.get("claim"), request=req, status=ClaimStatus.PENDING).update(
            status=ClaimStatus.WITHDRAWN
        )
    elif p.get("action") == "claim_collect":
        Collection.objects.filter(pk=p.get("collection"), status=CollectionStatus.PENDING).update(
            status=CollectionStatus.WITHDRAWN
        )
