"""滞納処分 services (issue 19): seizure (差押), its release (解除), collection (取立・換価代金) and
繰上徴収 — each disposition a 決裁 request of kind ``enforcement`` that takes effect on approval.

Refusals (every one a Japanese message naming the installment and what to do; nothing is written):

* before the 督促状 is 10 days old: 地方税法331条1項1号 — the first day seizure is possible is the
  day after the 10th day from the issue of the 督促状 (or from the deemed service of its 公示送達,
  法20条の2第2項): ``dunning.returned.service_dates`` → ``rules.dunning.seizure_eligible_date``. A
  returned 督促状 (other than 受取拒否) without a 公示送達 has not been served. A recorded 繰上徴収
  (法13条の2; 331条1項2号: not paid by the advanced 納期限) replaces the 督促 for its installment.
* while a 緩和制度 approved by 決裁 is in force on the day for one of the installments: 徴収猶予
  (法15条の2第3項: no new seizure), 換価の猶予 (15条の5, 15条の6 — this system refuses a new seizure
  too; an existing one stays and only its 換価 waits: a conservative choice, the 条文 allow the seizure),
  執行停止 (15条の7).
* an installment extinguished (時効) or with nothing outstanding.

The eligibility is checked when the request is made and again on the day of approval (the relief
may have been approved in between). On approval the seizure is 差押中 and the case goes to 処分中
(``cases.services.case_stage_set``). A DV-protected person's address is never printed (pdf.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from datetime import date
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q

from choshu.accounts.models import User
from choshu.accounts.permissions import Right, has_right
from choshu.approvals.models import ApprovalStatus, ChangeRequest, RequestKind
from choshu.approvals.services import request_create
from choshu.audit.models import AuditKind, AuditSubjectType
from choshu.audit.services import audit_record
from choshu.cases.access import check_case
from choshu.cases.models import Case, Stage
from choshu.cases.services import case_stage_set
from choshu.dunning.models import DunningNoticeInstallment, NoticeStatus, ReturnReason
from choshu.dunning.returned import service_dates
from choshu.enforcement.models import (
    CLAIM_KINDS,
    AdvanceCollection,
    AssetKind,
    Collection,
    CollectionStatus,
    Seizure,
    SeizureStatus,
)
from choshu.formats.display import wareki, yen
from choshu.levies.models import Installment
from choshu.levies.tax_items import tax_item_name
from choshu.relief.models import Relief, ReliefStatus
from choshu.rules.seizure import ROUND_YEN, salary_exempt

REQUEST_LABELS = {
    "action": "内容",
    "seizure": "差押の番号",
    "collection": "取立の番号",
    "kind": "財産の種類",
    "description": "財産の表示",
    "third_party": "第三債務者",
    "amount": "金額",
    "installments": "対象の期別",
    "executed_on": "差押日",
    "released_on": "解除日",
    "received_on": "受領日",
    "exempt": "差押禁止額",
    "claim": "交付要求の番号",
    "proceeding": "相手の手続",
    "authority": "執行機関",
    "case_no": "事件番号",
    "claimed_on": "交付要求日",
    "sale": "換価の番号",
    "sold_on": "換価日",
    "proceeds": "換価代金",
    "ours": "当方への配当",
    "creditors": "配当を受ける者",
}
_ENDED = (ApprovalStatus.REJECTED, ApprovalStatus.WITHDRAWN)
ACTIONS = {"seize": "差押", "release": "差押の解除", "collect": "取立・換価代金の収納"}


def _refused(message: str) -> ValidationError:
    return ValidationError(message)


def _check_actor(actor: User, municipality_id: int) -> None:
    if not has_right(actor, Right.ENFORCEMENT):
        raise PermissionDenied("滞納処分を起案する権限がありません")
    if actor.municipality_id != municipality_id:
        raise PermissionDenied("他の自治体の宛名は扱えません")


def _label(i: Installment) -> str:
    return (
        f"{i.levy.levy_year}年度 {tax_item_name(i.municipality_id, i.levy.tax_item)} 第{i.installment_no}期"
    )


# --- eligibility ------------------------------------------------------------------------------------


def seizure_blockers(installments: Sequence[Installment], *, on: date) -> list[str]:
    """Why these installments may not be seized on ``on`` (empty: they may). A fixed number of queries."""
    ids = [i.pk for i in installments]
    reasons: list[str] = []
    notices: dict[int, list[Any]] = {}
    for x in DunningNoticeInstallment.objects.filter(
        installment_id__in=ids, notice__status=NoticeStatus.ISSUED
    ).select_related("notice__public_notice", "notice__returned_mail"):
        notices.setdefault(x.installment_id, []).append(x.notice)
    advanced = {
        a.installment_id: a
        for a in AdvanceCollection.objects.filter(installment_id__in=ids, notified_on__lte=on).order_by(
            "notified_on"
        )
    }
    through = Relief.installments.through
    blocking = (
        through.objects.filter(
            installment_id__in=ids, relief__status=ReliefStatus.ACTIVE, relief__start__lte=on
        )
        .filter(Q(relief__end__isnull=True) | Q(relief__end__gte=on))
        .filter(Q(relief__cancelled_on__isnull=True) | Q(relief__cancelled_on__gt=on))
        .select_related("relief")
    )
    relief_of = {row.installment_id: row.relief for row in blocking}
    for i in installments:
        label = _label(i)
        if i.extinguished_on is not None and i.extinguished_on <= on:
            reasons.append(f"{label}: {wareki(i.extinguished_on)} に徴収権が消滅しています。差押えできません")
            continue
        if i.principal_outstanding <= 0:
            reasons.append(f"{label}: 本税の未納がありません。対象から外してください")
            continue
        r = relief_of.get(i.pk)
        if r is not None:
            reasons.append(
                f"{label}: {r.get_kind_display()}（{wareki(r.start)}から）の期間中です。"
                "緩和制度の期間中は差押えできません（地方税法15条の2第3項など）。取消・終了を待ってください"
            )
            continue
        adv = advanced.get(i.pk)
        if adv is not None:
            if on <= adv.new_due_date:
                reasons.append(
                    f"{label}: 繰上徴収の納期限（{wareki(adv.new_due_date)}）が過ぎていません"
                    "（地方税法331条1項2号）。その翌日以降にしてください"
                )
            continue
        dated = []
        for n in notices.get(i.pk, []):
            posted = getattr(n, "public_notice", None)
            returned = getattr(n, "returned_mail", None)
            if posted is None and returned is not None and returned.reason != ReturnReason.REFUSED:
                continue  # returned and not posted: not served
            dated.append(service_dates(n, posted).seizure_from)
        if not dated:
            reasons.append(
                f"{label}: 送達された督促状がありません。督促状の発付（返戻なら公示送達）か、"
                "繰上徴収の記録が先に必要です（地方税法331条1項）"
            )
            continue
        first = min(dated)
        if on < first:
            reasons.append(
                f"{label}: 督促状を発した日から起算して10日を経過していません。差押えができるのは "
                f"{wareki(first)} からです（地方税法331条1項1号）"
            )
    return reasons


def _installments(case: Case, ids: Sequence[int]) -> list[Installment]:
    found = list(
        Installment.objects.filter(pk__in=list(ids), taxpayer_id=case.taxpayer_id)
        .select_related("levy")
        .order_by("due_date", "pk")
    )
    if len(found) != len(set(ids)):
        raise _refused("選んだ期別の中に、この宛名のものではない期別があります")
    if not found:
        raise _refused("差押えの対象とする期別を1件以上選んでください")
    return found


def _locked_case(actor: User, case: Case) -> Case:
    case = Case.objects.select_for_update().select_related("taxpayer").get(pk=case.pk)
    check_case(actor, case)
    if not case.is_open:
        raise _refused("完結した案件には滞納処分を起案できません")
    return case


def _iso(d: date | None) -> str | None:
    return d.isoformat() if d else None


# --- seizure ----------------------------------------------------------------------------------------


@transaction.atomic
def seizure_request(
    *,
    actor: User,
    case: Case,
    kind: str,
    description: str,
    installment_ids: Sequence[int],
    executed_on: date,
    amount: int | None,
    note: str,
    third_party_name: str = "",
    third_party_address: str = "",
    salary: dict[str, int] | None = None,
) -> Seizure:
    """Record a seizure for a second person to approve; nothing takes effect until then.

    ``salary`` (給与 only): pay, income_tax, resident_tax, social_insurance, relatives (and optional
    months, days, consent 0/1): the amount is then the seizable part per pay (国税徴収法76条,
    ``rules.seizure``) unless a smaller ``amount`` is given."""
    _check_actor(actor, case.municipality_id)
    case = _locked_case(actor, case)
    if kind not in AssetKind.values:
        raise _refused(f"財産の種類 {kind!r} は定義されていません")
    if not description.strip():
        raise _refused("差し押さえる財産の表示（銀行・支店・口座、所在地など）を入力してください")
    if not note.strip():
        raise _refused("起案の理由（備考）を入力してください")
    if kind in CLAIM_KINDS and not third_party_name.strip():
        raise _refused(f"{AssetKind(kind).label}の差押えには第三債務者（銀行・勤務先など）を入力してください")
    installments = _installments(case, installment_ids)
    blockers = seizure_blockers(installments, on=executed_on)
    if blockers:
        raise ValidationError(blockers)
    computed: dict[str, Any] = {}
    if kind == AssetKind.SALARY:
        if not salary:
            raise _refused(
                "給与の差押えには、支給額・源泉所得税・特別徴収の住民税・社会保険料・生計を一にする親族の数が必要です"
            )
        try:
            r = salary_exempt(
                paid_on=executed_on, pay=salary["pay"], income_tax=salary["income_tax"],
                resident_tax=salary["resident_tax"], social_insurance=salary["social_insurance"],
                relatives=salary["relatives"], months=salary.get("months", 1), days=salary.get("days", 0),
                consent=bool(salary.get("consent", 0)), rounding=ROUND_YEN,
            )  # fmt: skip
        except (KeyError, ValueError) as exc:
            raise _refused(f"給与の差押禁止額を計算できません（入力を確かめてください）: {exc}") from None
        computed = {
            **{k: int(v) for k, v in salary.items()},
            **asdict(r),
            "exempt": r.exempt,
            "seizable": r.seizable,
        }
        if r.seizable <= 0:
            raise _refused(
                f"差押禁止額（{yen(r.exempt)}円）が支給額以上で、差し押さえられる額がありません（国税徴収法76条）"
            )
        amount = r.seizable if amount is None else amount
        if amount > r.seizable:
            raise _refused(
                f"差押金額 {yen(amount)}円 が差押可能額 {yen(r.seizable)}円 を超えています（国税徴収法76条）"
            )
    if amount is None or not isinstance(amount, int) or isinstance(amount, bool) or amount < 0:
        raise _refused("差押金額（不動産等は見積価額）を0円以上の整数で入力してください")
    claim_total = sum(i.principal_outstanding for i in installments)
    seizure = Seizure.objects.create(
        municipality_id=case.municipality_id, taxpayer_id=case.taxpayer_id, case=case, kind=kind,
        description=description.strip()[:300], third_party_name=third_party_name.strip()[:120],
        third_party_address=third_party_address.strip()[:200], amount=amount, claim_total=claim_total,
        executed_on=executed_on, salary=computed, note=note.strip()[:300], created_by=actor,
    )  # fmt: skip
    seizure.installments.set(installments)
    seizure.request = request_create(
        actor=actor,
        kind=RequestKind.ENFORCEMENT,
        reason=note,
        payload={
            "action": "seize",
            "seizure": seizure.pk,
            "kind": AssetKind(kind).label,
            "description": seizure.description,
            "third_party": seizure.third_party_name,
            "amount": amount,
            "installments": [_label(i) for i in installments],
            "executed_on": executed_on.isoformat(),
            **({"exempt": computed["exempt"]} if computed else {}),
        },
        taxpayer=case.taxpayer,
        required_right=Right.ENFORCEMENT,
    )
    seizure.save(update_fields=["request"])
    return seizure


@transaction.atomic
def seizure_release_request(*, actor: User, seizure: Seizure, on: date, reason: str) -> Seizure:
    """解除 (国税徴収法79条: paid, or the seizure exceeds / is of no value…) for approval."""
    _check_actor(actor, seizure.municipality_id)
    s = Seizure.objects.select_for_update().select_related("case", "taxpayer").get(pk=seizure.pk)
    check_case(actor, s.case)
    if s.status != SeizureStatus.ACTIVE:
        raise _refused(f"この差押は「{s.get_status_display()}」です（差押中のものだけ解除できます）")
    if s.release_request_id and s.release_request.status == ApprovalStatus.PENDING:  # type: ignore[union-attr]
        raise _refused("この差押の解除は既に決裁待ちです")
    if on < s.executed_on:
        raise _refused(f"解除日（{wareki(on)}）が差押日（{wareki(s.executed_on)}）より前です")
    if not reason.strip():
        raise _refused("解除の理由を入力してください")
    s.release_request = request_create(
        actor=actor, kind=RequestKind.ENFORCEMENT, reason=reason,
        payload={"action": "release", "seizure": s.pk, "kind": s.get_kind_display(), "description": s.description,
                 "released_on": on.isoformat()},
        taxpayer=s.taxpayer, required_right=Right.ENFORCEMENT,
    )  # fmt: skip
    s.save(update_fields=["release_request"])
    return s


@transaction.atomic
def seizure_served(*, actor: User, seizure: Seizure, served_on: date, today: date) -> Seizure:
    """Record the day the 差押通知書 / 差押書 reached the third party or the taxpayer (送達日)."""
    _check_actor(actor, seizure.municipality_id)
    s = Seizure.objects.select_for_update().select_related("case").get(pk=seizure.pk)
    check_case(actor, s.case)
    if s.status != SeizureStatus.ACTIVE:
        raise _refused("決裁で承認された差押中の差押だけ送達日を記録できます")
    if served_on < s.executed_on or served_on > today:
        raise _refused(f"送達日は差押日（{wareki(s.executed_on)}）から本日までの日付にしてください")
    before = _iso(s.served_on)
    s.served_on = served_on
    s.save(update_fields=["served_on"])
    audit_record(
        kind=AuditKind.CHANGE, function="差押の送達日の記録", municipality=s.case.municipality, user=actor,
        subject_type=AuditSubjectType.TAXPAYER, subject_ids=[s.taxpayer_id],
        detail={"seizure": s.pk, "before": before, "served_on": served_on.isoformat()},
    )  # fmt: skip
    return s


@transaction.atomic
def collection_request(
    *, actor: User, seizure: Seizure, amount: int, received_on: date, note: str
) -> Collection:
    """取立 (a seized claim paid by the third party) or 換価代金, to be booked on approval."""
    _check_actor(actor, seizure.municipality_id)
    s = Seizure.objects.select_for_update().select_related("case", "taxpayer").get(pk=seizure.pk)
    check_case(actor, s.case)
    if s.status != SeizureStatus.ACTIVE:
        raise _refused(f"この差押は「{s.get_status_display()}」です（差押中の財産だけ取立できます）")
    if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
        raise _refused("取立額は1円以上の整数で入力してください")
    if received_on < s.executed_on:
        raise _refused(f"受領日（{wareki(received_on)}）が差押日（{wareki(s.executed_on)}）より前です")
    if not note.strip():
        raise _refused("取立の内容（備考）を入力してください")
    c = Collection.objects.create(
        municipality_id=s.municipality_id, seizure=s, amount=amount, received_on=received_on,
        note=note.strip()[:300], created_by=actor,
    )  # fmt: skip
    c.request = request_create(
        actor=actor, kind=RequestKind.ENFORCEMENT, reason=note,
        payload={"action": "collect", "seizure": s.pk, "collection": c.pk, "kind": s.get_kind_display(),
                 "third_party": s.third_party_name, "amount": amount, "received_on": received_on.isoformat()},
        taxpayer=s.taxpayer, required_right=Right.ENFORCEMENT,
    )  # fmt: skip
    c.save(update_fields=["request"])
    return c


@transaction.atomic
def advance_collection_record(
    *, actor: User, installment: Installment, notified_on: date, new_due_date: date, ground: str
) -> AdvanceCollection:
    """繰上徴収 (地方税法13条の2): the notice of the advanced 納期限 (change-logged)."""
    _check_actor(actor, installment.municipality_id)
    if not ground.strip():
        raise _refused(
            "繰上徴収の事由（13条の2第1項各号：滞納処分・強制換価・破産・解散・納税管理人なしの出国・逋脱）を入力してください"
        )
    if new_due_date < notified_on:
        raise _refused("繰上げ後の納期限が告知日より前です")
    if new_due_date >= installment.due_date:
        raise _refused(
            f"繰上げ後の納期限は本来の納期限（{wareki(installment.due_date)}）より前にしてください"
        )
    a = AdvanceCollection.objects.create(
        municipality_id=installment.municipality_id, installment=installment, notified_on=notified_on,
        new_due_date=new_due_date, ground=ground.strip()[:200], created_by=actor,
    )  # fmt: skip
    audit_record(
        kind=AuditKind.CHANGE, function="繰上徴収の記録", municipality=actor.municipality, user=actor,
        subject_type=AuditSubjectType.TAXPAYER, subject_ids=[installment.taxpayer_id],
        detail={"installment": installment.pk, "notified_on": notified_on.isoformat(),
                "new_due_date": new_due_date.isoformat(), "ground": a.ground},
    )  # fmt: skip
    return a


# --- the 決裁 handler -------------------------------------------------------------------------------


def apply_enforcement(req: ChangeRequest, approver: User, decided_on: date) -> None:
    """An approved ``enforcement`` request takes effect (registered in apps.py)."""
    p = req.payload
    action = p.get("action")
    if str(action).startswith("claim"):
        from choshu.enforcement.claims import apply_claim

        apply_claim(req, approver, decided_on)
        return
    if action == "distribute":
        from choshu.enforcement.distribution import apply_distribution

        apply_distribution(req, approver, decided_on)
        return
    s = (
        Seizure.objects.select_for_update()
        .select_related("case")
        .get(pk=p["seizure"], municipality_id=req.municipality_id)
    )
    detail: dict[str, Any] = {"seizure": s.pk, "request": req.pk, "action": action}
    if action == "seize":
        if s.status != SeizureStatus.PENDING:
            raise _refused(f"この差押は既に「{s.get_status_display()}」です")
        blockers = seizure_blockers(list(s.installments.select_related("levy")), on=s.executed_on)
        if blockers:
            raise ValidationError(blockers)
        s.status = SeizureStatus.ACTIVE
        s.save(update_fields=["status"])
        case = Case.objects.get(pk=s.case_id)
        if case.is_open and case.stage != Stage.ENFORCEMENT:
            case_stage_set(
                actor=approver,
                case=case,
                stage=Stage.ENFORCEMENT,
                note=f"差押#{s.pk} の決裁",
                today=decided_on,
            )
    elif action == "release":
        if s.status != SeizureStatus.ACTIVE:
            raise _refused(f"この差押は「{s.get_status_display()}」です（差押中のものだけ解除できます）")
        s.status, s.released_on, s.release_reason = (
            SeizureStatus.RELEASED,
            date.fromisoformat(p["released_on"]),
            req.reason[:300],
        )
        s.save(update_fields=["status", "released_on", "release_reason"])
    elif action == "collect":
        from choshu.enforcement.collection import book_collection

        c = Collection.objects.select_for_update().get(pk=p["collection"], seizure=s)
        if c.status != CollectionStatus.PENDING:
            raise _refused(f"この取立は既に「{c.get_status_display()}」です")
        if s.status != SeizureStatus.ACTIVE:
            raise _refused(f"この差押は「{s.get_status_display()}」です（差押中の財産だけ取立できます）")
        book_collection(collection=c, approver=approver, booked_on=decided_on)
        detail["payments"] = c.payments
    else:
        raise _refused(f"滞納処分の申請内容 {action!r} は定義されていません")
    audit_record(
        kind=AuditKind.CHANGE, function=f"滞納処分（{ACTIONS.get(str(action), str(action))}）の決裁",
        municipality=s.case.municipality, user=approver, subject_type=AuditSubjectType.TAXPAYER,
        subject_ids=[s.taxpayer_id], detail=detail,
    )  # fmt: skip


def close_enforcement(req: ChangeRequest) -> None:
    """A rejected or withdrawn ``enforcement`` request (approvals ``CLOSERS``): a seizure still waiting
    for it, or the collection it asked for, becomes 取下げ・否認 in the same transaction."""
    p = req.payload
    if str(p.get("action")).startswith("claim"):
        from choshu.enforcement.claims import close_claim

        close_claim(req)
        return
    if p.get("action") == "distribute":
        from choshu.enforcement.distribution import close_distribution

        close_distribution(req)
        return
    if p.get("action") == "seize":
        Seizure.objects.filter(pk=p.get("seizure"), request=req, status=SeizureStatus.PENDING).update(
            status=SeizureStatus.WITHDRAWN
        )
    elif p.get("action") == "collect":
        Collection.objects.filter(pk=p.get("collection"), status=CollectionStatus.PENDING).update(
            status=CollectionStatus.WITHDRAWN
        )


def withdrawn_sync(seizure: Seizure) -> Seizure:
    """A seizure whose 決裁 was rejected or withdrawn is shown as such (read-time, no write)."""
    req = seizure.request
    if seizure.status == SeizureStatus.PENDING and req is not None and req.status in _ENDED:
        seizure.status = SeizureStatus.WITHDRAWN
    return seizure
