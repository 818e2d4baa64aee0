"""The timeline's providers for what this app and the apps below it hold (``core.timeline``):
contact log, stage and assignment history, flags and sticky notes (cases); 督促状, 催告書, 返戻 and
公示送達 (dunning); payments (receipts). Each is one query for one person. Later apps register theirs
the same way in their ``AppConfig.ready`` (plans, relief and enforcement in this app's later modules;
refunds and debits in their own)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from choshu.cases.models import Assignment, CaseFlag, ContactLog, StageChange
from choshu.core.timeline import TimelineEvent, register_provider
from choshu.dunning.models import DunningNotice, PublicNotice, ReturnedMail
from choshu.dunning.reminder_models import ReminderLetter
from choshu.formats.display import yen
from choshu.receipts.models import Payment, PaymentStatus

LABELS = {
    "case": "滞納案件",
    "cases": "滞納案件",
    "contact": "経過記録",
    "flag": "フラグ・付箋",
    "flag_kind": "フラグの区分",
    "promise_amount": "納付約束額",
    "promise_on": "納付約束日",
    "follow_up_on": "次回対応日",
    "min_amount": "滞納額の下限",
    "min_age_days": "経過日数の下限",
    "opened": "開始した案件",
    "closed": "完結した案件",
    "assigned": "割り当てた案件",
    "unassigned": "未割当の案件",
    "open_total": "進行中の案件",
    "amount_total": "進行中の滞納額",
    "run_id": "一括処理番号",
    "officer": "担当者",
    "team": "班",
    "month": "対象月",
    "persons": "人数",
}


def _who(user: object) -> str:
    return str(user) if user is not None else "一括処理"


def contacts(m: int, taxpayer_id: int, since: date | None) -> Iterable[TimelineEvent]:
    qs = ContactLog.objects.filter(municipality_id=m, taxpayer_id=taxpayer_id).select_related("recorded_by")
    if since is not None:
        qs = qs.filter(contacted_at__date__gte=since)
    for c in qs.order_by("-contacted_at"):
        extra = []
        if c.promise_amount is not None and c.promise_on is not None:
            extra.append(f"納付約束 {yen(c.promise_amount)}円（{c.promise_on:%Y/%m/%d}まで）")
        if c.next_action:
            extra.append(f"次回: {c.next_action}")
        if c.follow_up_on:
            extra.append(f"次回対応日 {c.follow_up_on:%Y/%m/%d}")
        yield TimelineEvent(
            at=c.contacted_at, kind="contact",
            title=f"{c.get_channel_display()}{'（' + c.counterpart + '）' if c.counterpart else ''}",
            detail=c.summary + ("\n" + "／".join(extra) if extra else ""),
            amount=c.promise_amount, actor=_who(c.recorded_by),
        )  # fmt: skip


def case_history(m: int, taxpayer_id: int, since: date | None) -> Iterable[TimelineEvent]:
    stages = StageChange.objects.filter(
        case__municipality_id=m, case__taxpayer_id=taxpayer_id
    ).select_related("changed_by")
    assigns = Assignment.objects.filter(
        case__municipality_id=m, case__taxpayer_id=taxpayer_id
    ).select_related("officer", "changed_by")
    flags = CaseFlag.objects.filter(case__municipality_id=m, case__taxpayer_id=taxpayer_id).select_related(
        "created_by"
    )
    if since is not None:
        stages = stages.filter(changed_on__gte=since)
        assigns = assigns.filter(changed_at__date__gte=since)
        flags = flags.filter(created_at__date__gte=since)
    for s in stages:
        title = (
            f"進行状況 {s.get_from_stage_display()} → {s.get_to_stage_display()}"
            if s.from_stage
            else f"滞納案件の開始（{s.get_to_stage_display()}）"
        )
        yield TimelineEvent(
            at=s.changed_at, kind="case", title=title, detail=s.note, actor=_who(s.changed_by)
        )
    for a in assigns:
        yield TimelineEvent(
            at=a.changed_at, kind="case", title=f"担当 {a.team} {a.officer or '（担当者なし）'}", detail=a.reason,
            actor=_who(a.changed_by),
        )  # fmt: skip
    for f in flags:
        label = f.get_kind_display() if f.kind else "付箋"
        yield TimelineEvent(at=f.created_at, kind="case", title=f"{label}を登録", detail=f.text,
                            actor=_who(f.created_by))  # fmt: skip


def documents(m: int, taxpayer_id: int, since: date | None) -> Iterable[TimelineEvent]:
    notices = DunningNotice.objects.filter(municipality_id=m, taxpayer_id=taxpayer_id)
    letters = ReminderLetter.objects.filter(municipality_id=m, taxpayer_id=taxpayer_id)
    returned = ReturnedMail.objects.filter(municipality_id=m, taxpayer_id=taxpayer_id)
    posted = PublicNotice.objects.filter(municipality_id=m, taxpayer_id=taxpayer_id)
    if since is not None:
        notices = notices.filter(issued_on__gte=since)
        letters = letters.filter(issued_on__gte=since)
        returned = returned.filter(returned_on__gte=since)
        posted = posted.filter(posted_on__gte=since)
    for n in notices:
        yield TimelineEvent(
            at=n.issued_on, kind="document", title=f"督促状を発付（税目 {n.tax_item}）",
            detail=f"指定期限 {n.pay_by:%Y/%m/%d}" + ("（取消）" if n.status == "cancelled" else ""),
            amount=n.total,
        )  # fmt: skip
    for r in letters:
        yield TimelineEvent(at=r.issued_on, kind="document", title="催告書を発付",
                            detail=f"納付期限 {r.pay_by:%Y/%m/%d}", amount=r.total)  # fmt: skip
    for rm in returned:
        yield TimelineEvent(
            at=rm.returned_on, kind="document", title=f"督促状の返戻（{rm.get_reason_display()}）",
            detail=(f"宛先確認済 {rm.cleared_on:%Y/%m/%d}" if rm.cleared_on else "新しい宛先は未確認"),
        )  # fmt: skip
    for p in posted:
        yield TimelineEvent(at=p.posted_on, kind="document", title="公示送達の掲示を開始",
                            detail=f"送達とみなす日 {p.deemed_served_on:%Y/%m/%d}")  # fmt: skip


def payments(m: int, taxpayer_id: int, since: date | None) -> Iterable[TimelineEvent]:
    qs = Payment.objects.filter(taxpayer_id=taxpayer_id, municipality_id=m).exclude(
        status=PaymentStatus.CANCELLED
    )
    if since is not None:
        qs = qs.filter(paid_on__gte=since)
    for p in qs.order_by("-paid_on", "-pk"):
        yield TimelineEvent(
            at=p.paid_on, kind="payment", title=f"納付（{p.get_channel_display()}）",
            detail=p.get_status_display(), amount=p.amount,
        )  # fmt: skip


def register_all() -> None:
    register_provider("contact", "経過記録", contacts, order=10)
    register_provider("document", "督促状・催告書・返戻", documents, order=20)
    register_provider("payment", "納付", payments, order=30)
    register_provider("case", "案件の履歴（進行状況・担当・付箋）", case_history, order=40)
