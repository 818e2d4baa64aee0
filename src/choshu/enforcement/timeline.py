"""The case file's timeline (``core.timeline``, kind ``enforcement``, label 滞納処分): each seizure's
起案, its 決裁 (承認 / 否認 / 取下げ), 差押 (on the 差押日), 送達, 取立 and 解除. Three queries per person."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from choshu.approvals.models import ApprovalStatus, ChangeRequest, RequestKind
from choshu.core.timeline import TimelineEvent, register_provider
from choshu.enforcement.models import (
    Claim,
    ClaimStatus,
    Collection,
    CollectionStatus,
    Seizure,
    SeizureStatus,
)

KIND = "enforcement"
LABEL = "滞納処分"
_DECISION: dict[str, str] = {
    ApprovalStatus.APPROVED: "承認",
    ApprovalStatus.REJECTED: "否認",
    ApprovalStatus.WITHDRAWN: "取下げ",
}


def enforcement_events(municipality_id: int, taxpayer_id: int, since: date | None) -> Iterable[TimelineEvent]:
    seizures = list(
        Seizure.objects.filter(municipality_id=municipality_id, taxpayer_id=taxpayer_id).select_related(
            "created_by"
        )
    )
    by_id = {s.pk: s for s in seizures}
    requests = {
        r.pk: r
        for r in ChangeRequest.objects.filter(
            municipality_id=municipality_id, taxpayer_id=taxpayer_id, kind=RequestKind.ENFORCEMENT
        ).select_related("decided_by")
    }
    out: list[TimelineEvent] = []
    for s in seizures:
        what = f"{s.get_kind_display()}（{s.description}）"
        out.append(TimelineEvent(s.created_at, KIND, f"差押を起案: {what}", f"差押金額 {s.amount:,}円",
                                 s.amount, actor=s.created_by.username))  # fmt: skip
        if s.status in (SeizureStatus.ACTIVE, SeizureStatus.RELEASED):
            third = f"第三債務者 {s.third_party_name}" if s.third_party_name else ""
            out.append(TimelineEvent(s.executed_on, KIND, f"差押: {what}", third, s.amount))
        if s.served_on:
            out.append(TimelineEvent(s.served_on, KIND, f"差押通知書・差押書の送達: {what}"))
        if s.released_on:
            out.append(TimelineEvent(s.released_on, KIND, f"差押の解除: {what}", s.release_reason))
    for r in requests.values():
        if r.status in _DECISION and r.decided_at is not None:
            action = {"seize": "差押", "release": "差押の解除", "collect": "取立", "claim": "交付要求・参加差押",
                      "claim_end": "交付要求・参加差押の解除", "claim_collect": "配当金の収納",
                      "distribute": "換価・配当"}.get(str(r.payload.get("action")), "")  # fmt: skip
            out.append(TimelineEvent(r.decided_at, KIND, f"滞納処分の決裁（{action}）: {_DECISION[r.status]}",
                                     r.comment, actor=r.decided_by.username if r.decided_by else ""))  # fmt: skip
    for c in Collection.objects.filter(seizure_id__in=list(by_id), status=CollectionStatus.BOOKED):
        assert c.seizure_id is not None
        s = by_id[c.seizure_id]
        out.append(TimelineEvent(c.received_on, KIND, f"取立・換価代金の収納: {s.get_kind_display()}（{s.description}）",
                                 c.note, c.amount))  # fmt: skip
    claims = {
        x.pk: x
        for x in Claim.objects.filter(
            municipality_id=municipality_id, taxpayer_id=taxpayer_id
        ).select_related("created_by")
    }
    for cl in claims.values():
        what = f"{cl.get_kind_display()}（{cl.authority}{' ' + cl.case_no if cl.case_no else ''}）"
        out.append(TimelineEvent(cl.created_at, KIND, f"{cl.get_kind_display()}を起案: {cl.authority}",
                                 f"交付要求額 {cl.amount:,}円", cl.amount, actor=cl.created_by.username))  # fmt: skip
        if cl.status in (ClaimStatus.ACTIVE, ClaimStatus.ENDED):
            out.append(TimelineEvent(cl.claimed_on, KIND, what, cl.get_proceeding_display(), cl.amount))
        if cl.ended_on:
            out.append(TimelineEvent(cl.ended_on, KIND, f"解除・終了: {what}", cl.end_reason))
    for col in Collection.objects.filter(claim_id__in=list(claims), status=CollectionStatus.BOOKED):
        assert col.claim_id is not None
        claim = claims[col.claim_id]
        out.append(
            TimelineEvent(
                col.received_on, KIND, f"配当金・交付金の収納: {claim.authority}", col.note, col.amount
            )
        )
    if since is not None:
        out = [e for e in out if e.sort_key[0] >= since]
    return out


def register() -> None:
    register_provider(KIND, LABEL, enforcement_events, order=60)
