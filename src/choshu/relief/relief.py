"""緩和制度 (issue 18 §6; law.md §f): 徴収猶予 (法15条), 換価の猶予 (法15条の5, 15条の6), 滞納処分の執行停止
(法15条の7) — recorded with grounds and periods, granted, extended and cancelled only through the
two-person check (決裁 ``relief``), and their effects:

* 督促停止 over the period for each installment (``dunning.DunningSuppression``, reasons 徴収猶予 /
  換価の猶予 / 執行停止), ended when the relief is cancelled, moved when it is extended;
* prescription events (``relief_events``): a deferral stops the clock for its days (国税通則法73条4項
  analogue, UNCONFIRMED for local tax — ``rules.prescription``); an 執行停止 extinguishes after 3
  continuous years (15条の7第4項) unless cancelled; 即時消滅 (第5項, ground 1 only) on its date.
  ``choshu prescription-run`` records the resulting 消滅 and ``write-off-run`` its 不納欠損.

* the 延滞金 during the period (法15条の9, ``relief_exemptions``, registered as a ``levies.exemptions``
  source so every figure — balances, slips, the counter, the payment engine, dunning — reads it): fully
  exempted for a 徴収猶予 on the grounds of 15条1項1号・2号 (and 5号 where the fact is like them) and for an
  執行停止; for any other 徴収猶予 and a 換価の猶予 charged at the 猶予特例基準割合 (附則3条の2), the rest
  exempted. The 亘理町 要綱 別表第1 lists the same cases:
  https://www.town.watari.miyagi.jp/reiki_int/reiki_honbun/c219RG00001159.html .

Periods: a 徴収猶予 / 換価の猶予 is granted for up to 1 year and extended to at most 2 years in total
(法15条3項, 15条の5第2項, 15条の6の3; law.md §f, https://www.city.kasaoka.okayama.jp/soshiki/15/1673.html ).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from choshu.accounts.models import User
from choshu.accounts.permissions import Right, has_right
from choshu.approvals.models import ChangeRequest, RequestKind
from choshu.approvals.services import request_create
from choshu.audit.models import AuditKind, AuditSubjectType
from choshu.audit.services import audit_record
from choshu.core.models import Municipality
from choshu.dunning.models import DunningSuppression, SuppressionReason
from choshu.dunning.services import suppression_add
from choshu.levies.exemptions import OPEN_END
from choshu.levies.models import Installment
from choshu.relief.models import GROUNDS_OF, Relief, ReliefGround, ReliefKind, ReliefStatus
from choshu.rules.late_charge import Exemption, ExemptionMode
from choshu.rules.periods import period_end
from choshu.rules.prescription import PrescriptionEvent, PrescriptionEventKind
from choshu.taxpayers.models import Taxpayer

_ONE = timedelta(days=1)
SUPPRESSION_OF: dict[str, SuppressionReason] = {
    ReliefKind.COLLECTION_DEFERRAL: SuppressionReason.COLLECTION_DEFERRAL,
    ReliefKind.LIQUIDATION_DEFERRAL: SuppressionReason.LIQUIDATION_DEFERRAL,
    ReliefKind.LIQUIDATION_DEFERRAL_APPLICATION: SuppressionReason.LIQUIDATION_DEFERRAL,
    ReliefKind.ENFORCEMENT_SUSPENSION: SuppressionReason.ENFORCEMENT_SUSPENSION,
}
REQUEST_LABELS = {
    "relief": "緩和制度の番号",
    "action": "内容",
    "kind": "種類",
    "ground": "事由",
    "installments": "期別",
    "start": "開始日",
    "end": "終了日",
    "new_end": "延長後の終了日",
    "immediate_on": "即時消滅の日",
    "cancel_on": "取消日",
}
ACTIONS = {"grant": "決定", "extend": "期間の延長", "cancel": "取消"}


def _refused(message: str) -> ValidationError:
    return ValidationError(message)


def _check_actor(actor: User, municipality_id: int) -> None:
    if not has_right(actor, Right.RELIEF):
        raise PermissionDenied("緩和制度を起案する権限がありません")
    if actor.municipality_id != municipality_id:
        raise PermissionDenied("他の自治体の宛名は扱えません")


def _iso(d: date | None) -> str | None:
    return d.isoformat() if d else None


@transaction.atomic
def relief_request(
    *,
    actor: User,
    taxpayer: Taxpayer,
    kind: str,
    ground: str,
    installments: Sequence[Installment],
    start: date,
    end: date | None,
    note: str,
    immediate_on: date | None = None,
) -> Relief:
    """Record a relief for a second person to approve; nothing takes effect until then."""
    _check_actor(actor, taxpayer.municipality_id)
    if kind not in ReliefKind.values:
        raise _refused(f"緩和制度の種類 {kind!r} は定義されていません")
    if ground not in GROUNDS_OF[kind]:
        raise _refused(
            f"「{ReliefKind(kind).label}」の事由として「{ReliefGround(ground).label if ground in ReliefGround.values else ground}」は選べません"
        )
    if not note.strip():
        raise _refused("理由の詳細（備考）を入力してください")
    if not installments:
        raise _refused("対象の期別を1件以上選んでください")
    for i in installments:
        if i.taxpayer_id != taxpayer.pk or i.municipality_id != taxpayer.municipality_id:
            raise _refused(f"期別 {i} はこの宛名のものではありません")
        if i.extinguished_on is not None:
            raise _refused(f"期別 {i} は {i.extinguished_on:%Y-%m-%d} に徴収権が消滅しています")
    if kind == ReliefKind.ENFORCEMENT_SUSPENSION:
        if end is not None:
            raise _refused("執行停止に終了日はありません（取消まで続き、3年で徴収金が消滅します）")
        if immediate_on is not None:
            if ground != ReliefGround.NO_PROPERTY:
                raise _refused("即時消滅（法15条の7第5項）は、財産がない場合（第1項1号）だけです")
            if immediate_on < start:
                raise _refused("即時消滅の日が執行停止の開始日より前です")
    else:
        if immediate_on is not None:
            raise _refused("即時消滅は執行停止だけに指定できます")
        if end is None:
            raise _refused("猶予の終了日を入力してください")
        if end < start:
            raise _refused(f"終了日（{end:%Y-%m-%d}）が開始日（{start:%Y-%m-%d}）より前です")
        if end > period_end(start, years=1):
            raise _refused(
                f"猶予期間は1年以内です（{start:%Y-%m-%d} からなら {period_end(start, years=1):%Y-%m-%d} まで）。"
                "それを超える分は延長で申請してください"
            )
    relief = Relief.objects.create(
        municipality_id=taxpayer.municipality_id, taxpayer=taxpayer, kind=kind, ground=ground, start=start,
        end=end, note=note.strip()[:300], immediate_on=immediate_on, created_by=actor,
    )  # fmt: skip
    relief.installments.set(installments)
    relief.request = request_create(
        actor=actor,
        kind=RequestKind.RELIEF,
        reason=note,
        payload={
            "relief": relief.pk,
            "action": "grant",
            "kind": ReliefKind(kind).label,
            "ground": ReliefGround(ground).label,
            "installments": [str(i) for i in installments],
            "start": start.isoformat(),
            "end": _iso(end),
            "immediate_on": _iso(immediate_on),
        },
        taxpayer=taxpayer,
        required_right=Right.RELIEF,
    )
    relief.save(update_fields=["request"])
    return relief


def _active(relief: Relief) -> Relief:
    locked = Relief.objects.select_for_update().get(pk=relief.pk)
    if locked.status != ReliefStatus.ACTIVE:
        raise _refused(
            f"この緩和制度は「{locked.get_status_display()}」です（適用中のものだけ延長・取消できます）"
        )
    return locked


def relief_extend_request(*, actor: User, relief: Relief, new_end: date, reason: str) -> ChangeRequest:
    """Extend a deferral (猶予期間の延長): in total at most 2 years from its start (law.md §f)."""
    _check_actor(actor, relief.municipality_id)
    r = _active(relief)
    if not r.is_deferral or r.end is None:
        raise _refused("延長できるのは徴収猶予・換価の猶予だけです")
    if new_end <= r.end:
        raise _refused(f"延長後の終了日は現在の終了日（{r.end:%Y-%m-%d}）より後にしてください")
    cap = period_end(r.start, years=2)
    if new_end > cap:
        raise _refused(f"猶予期間は延長を含めて2年以内です（{cap:%Y-%m-%d} まで）")
    return request_create(
        actor=actor, kind=RequestKind.RELIEF, reason=reason,
        payload={"relief": r.pk, "action": "extend", "end": r.end.isoformat(), "new_end": new_end.isoformat()},
        taxpayer=r.taxpayer, required_right=Right.RELIEF,
    )  # fmt: skip


def relief_cancel_request(*, actor: User, relief: Relief, on: date, reason: str) -> ChangeRequest:
    """Cancel a relief from ``on`` (取消: 猶予の取消 法15条の3, 執行停止の取消 法15条の8)."""
    _check_actor(actor, relief.municipality_id)
    r = _active(relief)
    if on < r.start:
        raise _refused(f"取消日が開始日（{r.start:%Y-%m-%d}）より前です")
    if r.end is not None and on > r.end:
        raise _refused(f"取消日が終了日（{r.end:%Y-%m-%d}）より後です")
    return request_create(
        actor=actor, kind=RequestKind.RELIEF, reason=reason,
        payload={"relief": r.pk, "action": "cancel", "cancel_on": on.isoformat()},
        taxpayer=r.taxpayer, required_right=Right.RELIEF,
    )  # fmt: skip


def _suppressions(r: Relief) -> Any:
    return DunningSuppression.objects.filter(
        installment__in=r.installments.all(),
        reason=SUPPRESSION_OF[r.kind],
        start=r.start,
        note__startswith=f"緩和制度#{r.pk}",
    )


def apply_relief(req: ChangeRequest, approver: User, decided_on: date) -> None:
    """An approved request takes effect (registered for 決裁 ``relief``)."""
    p = req.payload
    action = p.get("action")
    r = Relief.objects.select_for_update().get(pk=p["relief"], municipality_id=req.municipality_id)
    if action == "grant":
        if r.status != ReliefStatus.PENDING:
            raise _refused(f"この緩和制度は既に「{r.get_status_display()}」です")
        r.status, r.request = ReliefStatus.ACTIVE, req
        r.save(update_fields=["status", "request"])
        for inst in r.installments.all():
            suppression_add(
                actor=approver, installment=inst, reason=SUPPRESSION_OF[r.kind], start=r.start, end=r.end,
                note=f"緩和制度#{r.pk} {r.get_kind_display()}",
            )  # fmt: skip
    elif action == "extend":
        r = _active(r)
        new_end = date.fromisoformat(p["new_end"])
        _suppressions(r).update(end=new_end)
        r.end = new_end
        r.save(update_fields=["end"])
    elif action == "cancel":
        r = _active(r)
        on = date.fromisoformat(p["cancel_on"])
        last = max(r.start, on - _ONE)
        for s in _suppressions(r):
            if s.end is None or s.end > last:
                s.end, s.ended_by, s.end_note = last, approver, f"緩和制度#{r.pk} の取消"
                s.save(update_fields=["end", "ended_by", "end_note"])
        r.status, r.cancelled_on, r.cancel_reason = ReliefStatus.CANCELLED, on, req.reason[:300]
        r.save(update_fields=["status", "cancelled_on", "cancel_reason"])
    else:
        raise _refused(f"緩和制度の申請内容 {action!r} は定義されていません")
    audit_record(
        kind=AuditKind.CHANGE,
        function=f"緩和制度の{ACTIONS.get(str(action), str(action))}（決裁）",
        municipality=r.municipality,
        user=approver,
        subject_type=AuditSubjectType.TAXPAYER,
        subject_ids=[r.taxpayer_id],
        detail={"relief": r.pk, "request": req.pk, "kind": r.kind, "start": _iso(r.start), "end": _iso(r.end),
                "cancelled_on": _iso(r.cancelled_on)},
    )  # fmt: skip


# --- as prescription events (read by relief.prescription) --------------------------------------------


def relief_events(installment_ids: Sequence[int]) -> dict[int, list[PrescriptionEvent]]:
    """The approved reliefs of these installments as prescription events (one query)."""
    through = Relief.installments.through
    rows = through.objects.filter(
        installment_id__in=list(installment_ids),
        relief__status__in=[ReliefStatus.ACTIVE, ReliefStatus.CANCELLED],
    ).values_list(
        "installment_id",
        "relief__kind",
        "relief__start",
        "relief__end",
        "relief__cancelled_on",
        "relief__immediate_on",
    )
    found: dict[int, list[PrescriptionEvent]] = {}
    for inst_id, kind, start, end, cancelled_on, immediate_on in rows:
        events = found.setdefault(inst_id, [])
        if kind == ReliefKind.ENFORCEMENT_SUSPENSION:
            if cancelled_on is not None and cancelled_on <= start:
                continue  # cancelled before it began: it never ran
            events.append(
                PrescriptionEvent(PrescriptionEventKind.ENFORCEMENT_SUSPENSION, start, cancelled_on)
            )
            if immediate_on is not None and (cancelled_on is None or immediate_on < cancelled_on):
                events.append(PrescriptionEvent(PrescriptionEventKind.IMMEDIATE_EXTINGUISHMENT, immediate_on))
        else:
            if end is None:
                continue  # a deferral always has an end (relief_request)
            until = end if cancelled_on is None else min(end, cancelled_on - _ONE)
            if until >= start:
                events.append(PrescriptionEvent(PrescriptionEventKind.DEFERRAL, start, until))
    return found


# --- as 延滞金 exemptions (法15条の9; read by levies.exemptions) ----------------------------------------

FULLY_EXEMPT_GROUNDS = frozenset(
    {ReliefGround.DISASTER, ReliefGround.ILLNESS, ReliefGround.SIMILAR_DISASTER}
)  # 15条1項1号・2号・5号（1号・2号に類するもの）
_ARTICLE = "地方税法15条の9第1項"


def exemption_of(kind: str, ground: str) -> tuple[ExemptionMode, str]:
    """How a relief changes the 延滞金 for its days, and why (法15条の9第1項, 附則3条の2)."""
    if kind == ReliefKind.ENFORCEMENT_SUSPENSION:
        return ExemptionMode.EXCLUDED, f"滞納処分の執行停止：全額免除（{_ARTICLE}）"
    if kind == ReliefKind.COLLECTION_DEFERRAL and ground in FULLY_EXEMPT_GROUNDS:
        return ExemptionMode.EXCLUDED, f"徴収猶予（{ReliefGround(ground).label}）：全額免除（{_ARTICLE}）"
    what = "徴収猶予" if kind == ReliefKind.COLLECTION_DEFERRAL else "換価の猶予"
    return (
        ExemptionMode.DEFERRAL_RATE,
        f"{what}：猶予特例基準割合を超える部分を免除（{_ARTICLE}、附則3条の2）",
    )


def relief_exemptions(installment_ids: Sequence[int]) -> dict[int, list[Exemption]]:
    """The approved reliefs of these installments as 延滞金 periods (one query): a deferral from its start
    to its end (or the day before its cancellation), an 執行停止 from its start until the day before its
    cancellation (open while it runs; after an extinction nothing is owed anyway)."""
    through = Relief.installments.through
    rows = through.objects.filter(
        installment_id__in=list(installment_ids),
        relief__status__in=[ReliefStatus.ACTIVE, ReliefStatus.CANCELLED],
    ).values_list("installment_id", "relief__kind", "relief__ground", "relief__start", "relief__end",
                  "relief__cancelled_on")  # fmt: skip
    found: dict[int, list[Exemption]] = {}
    for inst_id, kind, ground, start, end, cancelled_on in rows:
        last = end if end is not None else OPEN_END
        if cancelled_on is not None:
            last = min(last, cancelled_on - _ONE)
        if last < start:
            continue  # cancelled before it began: it never ran
        mode, why = exemption_of(kind, ground)
        found.setdefault(inst_id, []).append(Exemption(start, last, mode, reason=why))
    return found


def relief_installments(municipality: Municipality) -> Any:
    """The ids of installments an approved 即時消滅 (法15条の7第5項) names: they may end at any age."""
    return Relief.installments.through.objects.filter(
        relief__municipality=municipality,
        relief__status=ReliefStatus.ACTIVE,
        relief__immediate_on__isnull=False,
    ).values("installment_id")
