"""The case file's timeline (``core.timeline``; issue 17 §5): every step of a person's 口座振替 — the
mandate requested / approved / rejected / ended / suspended with its 口座振替開始通知, each debit
requested for an installment, its result (振替済, or 振替不能 with the result code's meaning) and the
振替不能通知 queued. Registered in ``DebitsConfig.ready`` under the kind ``debit``. Two queries for one
person (mandates, request lines; related rows joined), whatever the number of rows."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

from django.utils import timezone

from choshu.approvals.models import ApprovalStatus
from choshu.core.timeline import TimelineEvent, register_provider
from choshu.debits.models import DebitLine, LineStatus, Mandate, MandateKind, MandateStatus, NoticeState
from choshu.formats.zengin import RESULT_CODES_91
from choshu.levies.tax_items import tax_item_name

KIND = "debit"
LABEL = "口座振替"


def _who(user: object) -> str:
    return str(user) if user is not None else "一括処理"


def _day(at: datetime | date) -> date:
    if isinstance(at, datetime):
        return timezone.localtime(at).date() if timezone.is_aware(at) else at.date()
    return at


def _account(m: Mandate) -> str:
    if m.jp_kigo:
        return f"ゆうちょ銀行 記号{m.jp_kigo} 番号{m.jp_bango}"
    return f"金融機関 {m.bank_code}-{m.branch_code} {m.get_deposit_type_display()} ****{m.account[-3:]}"


def debit_events(m: int, taxpayer_id: int, since: date | None) -> Iterable[TimelineEvent]:
    mandates = (
        Mandate.objects.filter(municipality_id=m, taxpayer_id=taxpayer_id)
        .select_related("created_by", "approved_by", "request__decided_by", "start_notice")
        .order_by("-received_on", "-pk")
    )
    lines = (
        DebitLine.objects.filter(municipality_id=m, taxpayer_id=taxpayer_id)
        .exclude(status=LineStatus.VOID)
        .select_related("installment__levy", "file__run__created_by", "result_job")
        .order_by("-debit_date", "-pk")
    )
    if since is not None:
        lines = lines.filter(debit_date__gte=since)
    # The day a mandate was suspended: the debit date of its last 振替不能 (the result import suspends it).
    suspended_on: dict[int, date] = {}
    events: list[TimelineEvent] = []
    for ln in lines:
        events.extend(_line_steps(m, ln))
        if ln.status == LineStatus.FAILED and ln.mandate_id not in suspended_on:
            suspended_on[ln.mandate_id] = ln.debit_date
    for md in mandates:
        events.extend(_mandate_steps(m, md, suspended_on.get(md.pk)))
    for e in events:
        if since is None or _day(e.at) >= since:
            yield e


def _mandate_steps(m: int, md: Mandate, suspended_on: date | None) -> list[TimelineEvent]:
    item = tax_item_name(m, md.tax_item) if md.tax_item else "全税目"
    steps = [
        TimelineEvent(
            at=md.received_on,
            kind=KIND,
            title=f"口座振替依頼書を受付（{md.get_kind_display()}・{item}）",
            detail=f"{_account(md)}／振替開始日 {md.start:%Y/%m/%d}"
            + ("／以前の口座振替を変更" if md.kind == MandateKind.CHANGE else ""),
            actor=_who(md.created_by),
        )  # fmt: skip
    ]
    if md.approved_on is not None:
        steps.append(TimelineEvent(at=md.approved_on, kind=KIND, title=f"口座振替の承認（{item}）",
                                   detail=f"振替開始日 {md.start:%Y/%m/%d}", actor=_who(md.approved_by)))  # fmt: skip
    req = md.request
    # The request's decision, not the mandate's status (a rejected request leaves its mandate pending).
    refused = (ApprovalStatus.REJECTED, ApprovalStatus.WITHDRAWN)
    if md.approved_on is None and req is not None and req.status in refused and req.decided_at is not None:
        word = req.get_status_display()
        steps.append(TimelineEvent(at=req.decided_at, kind=KIND, title=f"口座振替依頼の{word}（{item}）",
                                   detail=req.comment, actor=_who(req.decided_by)))  # fmt: skip
    notice = getattr(md, "start_notice", None)
    if notice is not None:
        steps.append(TimelineEvent(at=notice.created_at, kind=KIND, title="口座振替開始通知を作成",
                                   detail=notice.get_state_display()))  # fmt: skip
    if md.status == MandateStatus.ENDED and md.end is not None:
        steps.append(
            TimelineEvent(at=md.end, kind=KIND, title=f"口座振替の終了（{item}）", detail=md.status_note)
        )
    if md.status == MandateStatus.SUSPENDED and suspended_on is not None:
        steps.append(TimelineEvent(at=suspended_on, kind=KIND, title=f"口座振替の停止（{item}）",
                                   detail=md.status_note))  # fmt: skip
    return steps


def _line_steps(m: int, ln: DebitLine) -> list[TimelineEvent]:
    i = ln.installment
    target = f"{i.levy.levy_year}年度 {tax_item_name(m, i.levy.tax_item)} 第{i.installment_no}期"
    run = ln.file.run
    steps = [
        TimelineEvent(
            at=run.created_at,
            kind=KIND,
            title=f"口座振替を依頼 {target}",
            detail=f"引落日 {ln.debit_date:%Y/%m/%d}",
            amount=ln.amount,
            actor=_who(run.created_by),
        )  # fmt: skip
    ]
    if ln.status == LineStatus.COLLECTED:
        steps.append(TimelineEvent(at=ln.debit_date, kind=KIND, title=f"口座振替 振替済 {target}",
                                   amount=ln.amount))  # fmt: skip
    elif ln.status == LineStatus.FAILED:
        meaning = RESULT_CODES_91.get(ln.result_code, "不明なコード")
        follow = (
            f"対応済 {timezone.localtime(ln.followed_up_at):%Y/%m/%d}"
            + (f"：{ln.follow_up_note}" if ln.follow_up_note else "")
            if ln.followed_up_at
            else "未対応"
        )
        steps.append(TimelineEvent(at=ln.debit_date, kind=KIND,
                                   title=f"口座振替 振替不能（{ln.result_code} {meaning}） {target}",
                                   detail=follow, amount=ln.amount))  # fmt: skip
        if ln.notice in (NoticeState.QUEUED, NoticeState.PRINTED):
            at = ln.result_job.started_at if ln.result_job is not None else ln.debit_date
            steps.append(TimelineEvent(at=at, kind=KIND, title=f"振替不能通知を作成 {target}",
                                       detail=ln.get_notice_display(), amount=ln.amount))  # fmt: skip
    return steps


def register() -> None:
    register_provider(KIND, LABEL, debit_events, order=60)
