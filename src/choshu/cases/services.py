"""滞納整理 (issue 18 §1, §3, §4): the thresholds, ``cases_run`` (open and close cases, set-based),
opening by hand, stage changes, reassignment, flags and sticky notes, the contact log.

Every change checks the actor's right and team (``access``) and writes its audit record in the same
transaction. ``cases_run`` is one transaction of a fixed number of statements whatever the size of the
city: the arrears per person go into a temporary table by one ``INSERT … SELECT``; closings, refreshed
amounts, openings, assignments (one statement per rule) and their history rows are each one statement.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.utils import timezone

from choshu.accounts.models import User
from choshu.accounts.permissions import Right, has_right
from choshu.audit.models import AuditKind, AuditSubjectType
from choshu.audit.services import audit_record
from choshu.cases.access import check_case
from choshu.cases.models import (
    Assignment,
    AssignmentRule,
    Case,
    CaseFlag,
    CaseRun,
    CaseSetting,
    Channel,
    CloseReason,
    ContactLog,
    ContactTemplate,
    FlagKind,
    Stage,
    StageChange,
)
from choshu.core.models import Municipality
from choshu.levies.models import Installment, Levy
from choshu.taxpayers.models import Taxpayer

ARREARS = "choshu_case_arrears"
FUNCTION_RUN = "滞納案件の一括処理"


def _refused(message: str) -> ValidationError:
    return ValidationError(message)


def _user(actor: Any) -> User | None:
    return actor if getattr(actor, "is_authenticated", False) else None


# --- thresholds ----------------------------------------------------------------------------------------


def setting_on(municipality: Municipality, on: date) -> CaseSetting | None:
    """The thresholds in force on ``on`` (the latest row from that date or before)."""
    return (
        CaseSetting.objects.filter(municipality=municipality, valid_from__lte=on)
        .order_by("-valid_from")
        .first()
    )


@transaction.atomic
def case_setting_set(
    *, actor: Any, municipality: Municipality, valid_from: date, min_amount: int, min_age_days: int, note: str
) -> CaseSetting:
    """Record the thresholds in force from ``valid_from``."""
    if min_amount < 1:
        raise _refused("滞納額の下限は 1 円以上で指定してください")
    if min_age_days < 0:
        raise _refused("経過日数の下限は 0 日以上で指定してください")
    if CaseSetting.objects.filter(municipality=municipality, valid_from=valid_from).exists():
        raise _refused(f"{valid_from:%Y-%m-%d} からの開始基準は既に登録されています（別の適用開始日を指定）")
    setting = CaseSetting.objects.create(
        municipality=municipality,
        valid_from=valid_from,
        min_amount=min_amount,
        min_age_days=min_age_days,
        note=note.strip()[:300],
        created_by=_user(actor),
    )
    audit_record(
        kind=AuditKind.CHANGE,
        function="滞納案件の開始基準の設定",
        municipality=municipality,
        user=actor,
        detail={"valid_from": valid_from.isoformat(), "min_amount": min_amount, "min_age_days": min_age_days},
    )
    return setting


# --- the run ---------------------------------------------------------------------------------------------


@dataclass
class RunSummary:
    as_of: date
    dry_run: bool
    min_amount: int
    min_age_days: int
    opened: int = 0
    closed: int = 0
    assigned: int = 0
    unassigned: int = 0
    open_total: int = 0
    amount_total: int = 0
    run_id: int | None = None
    by_rule: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["as_of"] = self.as_of.isoformat()
        return d


def _t(model: Any) -> str:
    return str(connection.ops.quote_name(model._meta.db_table))


def _like_prefix(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _arrears(cur: Any, municipality: Municipality, as_of: date) -> None:
    """The 本税 past its 指定納期限 and unpaid, per person, with the oldest such 指定納期限."""
    cur.execute(f"DROP TABLE IF EXISTS {ARREARS}")
    cur.execute(
        f"CREATE TEMP TABLE {ARREARS} (taxpayer_id bigint PRIMARY KEY, amount bigint NOT NULL, oldest date NOT NULL)"
    )
    cur.execute(
        f"""INSERT INTO {ARREARS} (taxpayer_id, amount, oldest)
            SELECT i.taxpayer_id, SUM(i.principal_outstanding), MIN(i.designated_due_date)
            FROM {_t(Installment)} i
            WHERE i.municipality_id = %s AND i.principal_outstanding > 0 AND i.designated_due_date < %s
            GROUP BY i.taxpayer_id""",  # noqa: S608 - table names from the models
        [municipality.pk, as_of],
    )


def _assign_new(
    cur: Any, run: CaseRun, as_of: date, now: datetime, actor_id: int | None, summary: RunSummary
) -> None:
    """Each active rule in priority order gives the run's still unassigned new cases it matches to its
    officer and team (the history row first, then the case: two statements per rule)."""
    case, inst, levy, tp = _t(Case), _t(Installment), _t(Levy), _t(Taxpayer)
    for rule in AssignmentRule.objects.filter(municipality_id=run.municipality_id, is_active=True).order_by(
        "priority", "pk"
    ):
        where = [f"{case}.opened_run_id = %s", f"{case}.team = ''"]
        params: list[Any] = [run.pk]
        if rule.district:
            where.append(
                f"EXISTS (SELECT 1 FROM {tp} t WHERE t.id = {case}.taxpayer_id AND t.address LIKE %s ESCAPE '\\')"
            )
            params.append(_like_prefix(rule.district))
        if rule.min_amount is not None:
            where.append(f"{case}.amount >= %s")
            params.append(rule.min_amount)
        if rule.tax_item:
            where.append(
                f"""EXISTS (SELECT 1 FROM {inst} i JOIN {levy} l ON l.id = i.levy_id
                    WHERE i.taxpayer_id = {case}.taxpayer_id AND i.principal_outstanding > 0
                    AND i.designated_due_date < %s AND l.tax_item = %s)"""
            )
            params += [as_of, rule.tax_item]
        cond = " AND ".join(where)
        cur.execute(
            f"""INSERT INTO {_t(Assignment)} (case_id, officer_id, team, rule_id, changed_at, changed_by_id, reason)
                SELECT {case}.id, %s, %s, %s, %s, %s, %s FROM {case} WHERE {cond}""",  # noqa: S608
            [rule.officer_id, rule.team, rule.pk, now, actor_id, f"割当規則「{rule.name}」", *params],
        )
        cur.execute(
            f"UPDATE {case} SET officer_id = %s, team = %s WHERE {cond}",  # noqa: S608
            [rule.officer_id, rule.team, *params],
        )
        if cur.rowcount:
            summary.by_rule[rule.name] = summary.by_rule.get(rule.name, 0) + cur.rowcount
            summary.assigned += cur.rowcount


def cases_run(
    *, municipality: Municipality, as_of: date, today: date, actor: Any = None, dry_run: bool = False
) -> RunSummary:
    """Open a case for every person whose arrears pass the thresholds in force on ``as_of`` and who has
    no open case; close every open case whose person has nothing in arrears (完納); refresh the amounts
    of the others. Idempotent: a second run on the same day opens and closes nothing. ``dry_run``
    counts and keeps nothing. Arrears are the installments' 本税 outstanding now (the ledger's cached
    amounts) whose 指定納期限 is before ``as_of``."""
    if as_of > today:
        raise _refused(
            f"基準日 {as_of:%Y-%m-%d} は未来の日付です。本日（{today:%Y-%m-%d}）以前を指定してください"
        )
    setting = setting_on(municipality, as_of)
    if setting is None:
        raise _refused(
            f"{as_of:%Y-%m-%d} に適用する滞納案件の開始基準（滞納額・経過日数）が登録されていません。"
            "`choshu cases-setting --from 適用開始日 --amount 円 --age-days 日数` で登録してから実行してください"
            "（何も変更していません）"
        )
    summary = RunSummary(
        as_of=as_of, dry_run=dry_run, min_amount=setting.min_amount, min_age_days=setting.min_age_days
    )
    actor_id = actor.pk if _user(actor) else None
    case, stage_t = _t(Case), _t(StageChange)
    with transaction.atomic():
        Municipality.objects.select_for_update().filter(pk=municipality.pk).first()
        run = CaseRun.objects.create(municipality=municipality, as_of=as_of, created_by=_user(actor))
        now = timezone.now()
        m = municipality.pk
        with connection.cursor() as cur:
            _arrears(cur, municipality, as_of)
            paid = (
                f"{case}.municipality_id = %s AND {case}.closed_on IS NULL AND NOT EXISTS "
                f"(SELECT 1 FROM {ARREARS} a WHERE a.taxpayer_id = {case}.taxpayer_id)"
            )
            cur.execute(
                f"""INSERT INTO {stage_t} (case_id, from_stage, to_stage, changed_on, changed_at, changed_by_id, note)
                    SELECT {case}.id, {case}.stage, %s, %s, %s, %s, %s FROM {case} WHERE {paid}""",  # noqa: S608
                [Stage.CLOSED.value, as_of, now, actor_id, "完納により完結（cases-run）", m],
            )
            cur.execute(
                f"""UPDATE {case} SET closed_on = %s, close_reason = %s, stage = %s, amount = 0,
                    refreshed_on = %s WHERE {paid}""",  # noqa: S608
                [as_of, CloseReason.PAID.value, Stage.CLOSED.value, as_of, m],
            )
            summary.closed = max(cur.rowcount, 0)
            cur.execute(
                f"""UPDATE {case} SET
                      amount = (SELECT a.amount FROM {ARREARS} a WHERE a.taxpayer_id = {case}.taxpayer_id),
                      oldest_due = (SELECT a.oldest FROM {ARREARS} a WHERE a.taxpayer_id = {case}.taxpayer_id),
                      refreshed_on = %s
                    WHERE {case}.municipality_id = %s AND {case}.closed_on IS NULL""",  # noqa: S608
                [as_of, m],
            )
            cur.execute(
                f"""INSERT INTO {case} (municipality_id, taxpayer_id, stage, team, opened_on, opened_run_id,
                      close_reason, amount, oldest_due, refreshed_on, created_at)
                    SELECT %s, a.taxpayer_id, %s, '', %s, %s, '', a.amount, a.oldest, %s, %s FROM {ARREARS} a
                    WHERE a.amount >= %s AND a.oldest <= %s AND NOT EXISTS
                      (SELECT 1 FROM {case} c WHERE c.taxpayer_id = a.taxpayer_id AND c.closed_on IS NULL)""",  # noqa: S608
                [m, Stage.DUNNING.value, as_of, run.pk, as_of, now, setting.min_amount,
                 as_of - timedelta(days=setting.min_age_days)],
            )  # fmt: skip
            summary.opened = max(cur.rowcount, 0)
            cur.execute(
                f"""INSERT INTO {stage_t} (case_id, from_stage, to_stage, changed_on, changed_at, changed_by_id, note)
                    SELECT {case}.id, '', %s, %s, %s, %s, %s FROM {case} WHERE {case}.opened_run_id = %s""",  # noqa: S608
                [Stage.DUNNING.value, as_of, now, actor_id, "滞納案件の開始（cases-run）", run.pk],
            )
            _assign_new(cur, run, as_of, now, actor_id, summary)
            summary.unassigned = summary.opened - summary.assigned
            cur.execute(
                f"SELECT COUNT(*), COALESCE(SUM(amount), 0) FROM {case} WHERE municipality_id = %s AND closed_on IS NULL",  # noqa: S608
                [m],
            )
            total, amount = cur.fetchone()
            summary.open_total, summary.amount_total = int(total), int(amount)
            cur.execute(f"DROP TABLE {ARREARS}")
        if dry_run:
            transaction.set_rollback(True)
            return summary
        summary.run_id = run.pk
        run.counts = summary.as_dict()
        run.save(update_fields=["counts"])
        audit_record(
            kind=AuditKind.BATCH,
            function=FUNCTION_RUN,
            municipality=municipality,
            user=actor,
            detail={k: v for k, v in summary.as_dict().items() if k != "by_rule"},
        )
    return summary


# --- by hand -------------------------------------------------------------------------------------------


def _audit_case(actor: Any, case: Case, function: str, **detail: Any) -> None:
    audit_record(
        kind=AuditKind.CHANGE,
        function=function,
        municipality=case.municipality,
        user=actor,
        subject_type=AuditSubjectType.TAXPAYER,
        subject_ids=[case.taxpayer_id],
        detail={"case": case.pk, **detail},
    )


@transaction.atomic
def case_open(*, actor: User, taxpayer: Taxpayer, today: date, reason: str) -> Case:
    """Open a case by hand (the person need not pass the thresholds), assigned to the actor and the
    actor's team."""
    if not has_right(actor, Right.CASE_WORK) or taxpayer.municipality_id != actor.municipality_id:
        raise PermissionDenied("滞納案件を開始する権限がありません")
    if not reason.strip():
        raise _refused("開始の理由を入力してください")
    if not actor.team:
        raise _refused("あなたの班が設定されていません。利用者と権限の画面で班を設定してから開始してください")
    if Case.objects.filter(taxpayer=taxpayer, closed_on__isnull=True).exists():
        raise _refused(
            f"{taxpayer.name}（宛名番号 {taxpayer.taxpayer_no}）には既に進行中の滞納案件があります"
        )
    rows = Installment.objects.filter(
        taxpayer=taxpayer, principal_outstanding__gt=0, designated_due_date__lt=today
    ).values_list("principal_outstanding", "designated_due_date")
    amount = sum(r[0] for r in rows)
    oldest = min((r[1] for r in rows), default=None)
    now = timezone.now()
    case = Case.objects.create(
        municipality_id=taxpayer.municipality_id, taxpayer=taxpayer, stage=Stage.DUNNING, officer=actor,
        team=actor.team, opened_on=today, opened_by=actor, amount=amount, oldest_due=oldest,
        refreshed_on=today, created_at=now,
    )  # fmt: skip
    StageChange.objects.create(
        case=case, from_stage="", to_stage=Stage.DUNNING, changed_on=today, changed_at=now, changed_by=actor,
        note=reason.strip()[:300],
    )  # fmt: skip
    Assignment.objects.create(
        case=case, officer=actor, team=actor.team, changed_at=now, changed_by=actor, reason="手動で開始"
    )
    _audit_case(actor, case, "滞納案件の開始（手動）", reason=reason.strip())
    return case


@transaction.atomic
def case_stage_set(*, actor: User, case: Case, stage: str, note: str, today: date) -> Case:
    """Move an open case to another stage (with its history row); 完結 by hand needs a reason."""
    case = Case.objects.select_for_update().get(pk=case.pk)
    check_case(actor, case)
    if stage not in Stage.values:
        raise _refused(f"進行状況 {stage!r} は定義されていません")
    if not case.is_open:
        raise _refused("完結した案件の進行状況は変更できません")
    if stage == case.stage:
        raise _refused(f"既に「{Stage(stage).label}」です")
    if stage == Stage.CLOSED and not note.strip():
        raise _refused("完結にする理由を入力してください")
    now = timezone.now()
    StageChange.objects.create(
        case=case, from_stage=case.stage, to_stage=stage, changed_on=today, changed_at=now, changed_by=actor,
        note=note.strip()[:300],
    )  # fmt: skip
    before = case.stage
    case.stage = stage
    fields = ["stage"]
    if stage == Stage.CLOSED:
        case.closed_on, case.close_reason = today, CloseReason.MANUAL
        fields += ["closed_on", "close_reason"]
    case.save(update_fields=fields)
    _audit_case(actor, case, "滞納案件の進行状況の変更", before=before, after=stage, note=note.strip())
    return case


@transaction.atomic
def cases_reassign(*, actor: User, case_ids: Sequence[int], officer: User, reason: str) -> int:
    """担当替え: give these open cases (of the actor's municipality) to ``officer`` and the officer's team,
    with a history row each; returns how many were reassigned. Only with ``case_manage``."""
    if not has_right(actor, Right.CASE_MANAGE):
        raise PermissionDenied("担当替えの権限がありません")
    if not case_ids:
        raise _refused("担当替えする案件を選んでください")
    if not reason.strip():
        raise _refused("担当替えの理由を入力してください")
    if (
        officer.municipality_id != actor.municipality_id
        or not officer.is_active
        or not has_right(officer, Right.CASE_WORK)
    ):
        raise _refused(f"{officer} は滞納整理の担当にできません（利用停止中か、滞納整理の権限がありません）")
    if not officer.team:
        raise _refused(f"{officer} の班が設定されていません。利用者と権限の画面で班を設定してください")
    cases = list(
        Case.objects.select_for_update()
        .filter(municipality=actor.municipality, pk__in=list(case_ids), closed_on__isnull=True)
        .order_by("pk")
    )
    if len(cases) != len(set(case_ids)):
        raise _refused(
            "選んだ案件の一部が見つからないか、完結しています。一覧を読み込み直してください（何も変更していません）"
        )
    now = timezone.now()
    Assignment.objects.bulk_create(
        Assignment(case=c, officer=officer, team=officer.team, changed_at=now, changed_by=actor,
                   reason=reason.strip()[:300])
        for c in cases
    )  # fmt: skip
    Case.objects.filter(pk__in=[c.pk for c in cases]).update(officer=officer, team=officer.team)
    audit_record(
        kind=AuditKind.CHANGE,
        function="滞納案件の担当替え",
        municipality=actor.municipality,
        user=actor,
        subject_type=AuditSubjectType.TAXPAYER,
        subject_ids=[c.taxpayer_id for c in cases],
        detail={"cases": [c.pk for c in cases], "officer": officer.pk, "team": officer.team,
                "reason": reason.strip()},
    )  # fmt: skip
    return len(cases)


# --- flags and sticky notes -----------------------------------------------------------------------------


@transaction.atomic
def flag_add(
    *, actor: User, case: Case, kind: str, text: str, expires_on: date | None, today: date
) -> CaseFlag:
    """A flag (``kind``) or a sticky note (``kind`` empty, ``text`` required) until ``expires_on``."""
    check_case(actor, case)
    if kind and kind not in FlagKind.values:
        raise _refused(f"フラグの区分 {kind!r} は定義されていません")
    if not kind and not text.strip():
        raise _refused("付箋の内容を入力してください")
    if expires_on is not None and expires_on < today:
        raise _refused(f"表示期限（{expires_on:%Y-%m-%d}）が過去の日付です")
    flag = CaseFlag.objects.create(
        case=case, kind=kind, text=text.strip()[:300], expires_on=expires_on, created_by=actor,
        created_at=timezone.now(),
    )  # fmt: skip
    _audit_case(actor, case, "フラグ・付箋の登録", flag=flag.pk, flag_kind=kind, text=flag.text)
    return flag


@transaction.atomic
def flag_remove(*, actor: User, flag: CaseFlag) -> CaseFlag:
    check_case(actor, flag.case)
    if flag.removed_at is not None:
        raise _refused("このフラグ・付箋は既に外されています")
    flag.removed_at, flag.removed_by = timezone.now(), actor
    flag.save(update_fields=["removed_at", "removed_by"])
    _audit_case(actor, flag.case, "フラグ・付箋の削除", flag=flag.pk)
    return flag


# --- the contact log ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ContactInput:
    contacted_at: datetime
    channel: str
    summary: str
    counterpart: str = ""
    promise_amount: int | None = None
    promise_on: date | None = None
    next_action: str = ""
    follow_up_on: date | None = None
    template_id: int | None = None


def contact_errors(data: ContactInput, *, now: datetime) -> dict[str, str]:
    """What is wrong with an entry, by field (empty when it can be recorded)."""
    errors: dict[str, str] = {}
    if data.contacted_at > now + timedelta(minutes=5):
        errors["contacted_at"] = "日時が未来です。対応した日時を入力してください"
    if data.channel not in Channel.values:
        errors["channel"] = "手段を選んでください（臨戸・電話・来庁・文書・納税催告センター）"
    if not data.summary.strip():
        errors["summary"] = "内容を入力してください"
    if (data.promise_amount is None) != (data.promise_on is None):
        key = "promise_on" if data.promise_on is None else "promise_amount"
        errors[key] = "納付約束は金額と約束日の両方を入力してください（約束がなければ両方とも空欄）"
    if data.promise_amount is not None and data.promise_amount <= 0:
        errors["promise_amount"] = "納付約束額は 1 円以上で入力してください"
    day = (
        timezone.localtime(data.contacted_at).date()
        if timezone.is_aware(data.contacted_at)
        else data.contacted_at.date()
    )
    if data.promise_on is not None and data.promise_on < day:
        errors["promise_on"] = "納付約束日が対応日より前です"
    if data.follow_up_on is not None and data.follow_up_on < day:
        errors["follow_up_on"] = "次回対応日が対応日より前です"
    return errors


@transaction.atomic
def contact_add(*, actor: User, case: Case, data: ContactInput) -> ContactLog:
    """Record one contact (経過記録). The case's follow-up date becomes the entry's (none when empty)."""
    case = Case.objects.select_for_update().get(pk=case.pk)
    check_case(actor, case)
    return _contact_insert(actor, case, data)


@transaction.atomic
def contact_add_checked(*, actor: User, case: Case, data: ContactInput, function: str) -> ContactLog:
    """``contact_add`` for an app above that decided the actor's access to this person itself (the
    call centre: an operator records a call to one of the month's targets, a chief imports the
    centre's results): no team check here, the same validation, entry and change record (``function``
    names the route in the audit log). An entry without a follow-up date leaves the case's own (the
    officer's) as it is."""
    case = Case.objects.select_for_update().get(pk=case.pk)
    if case.municipality_id != actor.municipality_id:
        raise PermissionDenied("この滞納案件を扱う権限がありません（他団体の案件です）")
    return _contact_insert(actor, case, data, function=function, keep_follow_up=True)


def _contact_insert(
    actor: User,
    case: Case,
    data: ContactInput,
    function: str = "経過記録の登録",
    keep_follow_up: bool = False,
) -> ContactLog:
    if not case.is_open:
        raise _refused("完結した案件には経過記録を追加できません")
    errors = contact_errors(data, now=timezone.now())
    if errors:
        raise ValidationError({k: [v] for k, v in errors.items()})
    template = None
    if data.template_id is not None:
        template = ContactTemplate.objects.filter(pk=data.template_id).first()
    log = ContactLog.objects.create(
        municipality_id=case.municipality_id, case=case, taxpayer_id=case.taxpayer_id,
        contacted_at=data.contacted_at, channel=data.channel, counterpart=data.counterpart.strip()[:50],
        summary=data.summary.strip(), promise_amount=data.promise_amount, promise_on=data.promise_on,
        next_action=data.next_action.strip()[:200], follow_up_on=data.follow_up_on, template=template,
        recorded_by=actor, recorded_at=timezone.now(),
    )  # fmt: skip
    if data.follow_up_on is not None or not keep_follow_up:
        case.follow_up_on = data.follow_up_on
        case.save(update_fields=["follow_up_on"])
    _audit_case(
        actor, case, function, contact=log.pk, channel=data.channel,
        promise_amount=data.promise_amount, promise_on=data.promise_on.isoformat() if data.promise_on else None,
        follow_up_on=data.follow_up_on.isoformat() if data.follow_up_on else None,
    )  # fmt: skip
    return log


# --- assignment rules ------------------------------------------------------------------------------------


@transaction.atomic
def assignment_rule_add(
    *,
    actor: Any,
    municipality: Municipality,
    name: str,
    team: str,
    officer: User | None = None,
    priority: int = 100,
    district: str = "",
    min_amount: int | None = None,
    tax_item: str = "",
) -> AssignmentRule:
    """A new assignment rule (applied by the next runs to their new cases, in priority order)."""
    from choshu.levies.tax_items import catalog

    if not name.strip():
        raise _refused("規則名を指定してください")
    if not team.strip():
        raise _refused("割り当てる班を指定してください")
    if officer is not None:
        if (
            officer.municipality_id != municipality.pk
            or not officer.is_active
            or not has_right(officer, Right.CASE_WORK)
        ):
            raise _refused(
                f"{officer} は滞納整理の担当にできません（利用停止中か、滞納整理の権限がありません）"
            )
        if officer.team != team.strip():
            raise _refused(
                f"{officer} の班は「{officer.team or '未設定'}」です。担当者の班と同じ班を指定してください"
            )
    if min_amount is not None and min_amount < 1:
        raise _refused("滞納額の下限は 1 円以上で指定してください")
    if tax_item and tax_item not in catalog(municipality.pk):
        raise _refused(f"税目コード {tax_item} は税目マスタにありません")
    if priority < 0:
        raise _refused("優先順位は 0 以上で指定してください")
    rule = AssignmentRule.objects.create(
        municipality=municipality, priority=priority, name=name.strip()[:100], district=district.strip()[:100],
        min_amount=min_amount, tax_item=tax_item, officer=officer, team=team.strip()[:50],
    )  # fmt: skip
    audit_record(
        kind=AuditKind.CHANGE, function="滞納案件の割当規則の登録", municipality=municipality, user=actor,
        detail={"rule": rule.pk, "name": rule.name, "priority": priority, "district": rule.district,
                "min_amount": min_amount, "tax_item": tax_item, "officer": officer.pk if officer else None,
                "team": rule.team},
    )  # fmt: skip
    return rule


@transaction.atomic
def assignment_rule_deactivate(*, actor: Any, municipality: Municipality, rule_id: int) -> AssignmentRule:
    rule = AssignmentRule.objects.filter(municipality=municipality, pk=rule_id).first()
    if rule is None:
        raise _refused(f"割当規則 {rule_id} は見つかりません")
    if not rule.is_active:
        raise _refused(f"割当規則 {rule_id} は既に無効です")
    rule.is_active = False
    rule.save(update_fields=["is_active"])
    audit_record(kind=AuditKind.CHANGE, function="滞納案件の割当規則の無効化", municipality=municipality, user=actor,
                 detail={"rule": rule.pk, "name": rule.name})  # fmt: skip
    return rule
