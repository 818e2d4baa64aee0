"""架電結果の取込 (issue 20 §2) and the operator's entry (§3): each call becomes a ``CallResult`` and a
経過記録 (channel 納税催告センター) in the person's open case through ``cases.services``; a promise
gives the entry its 納付約束 and the case its follow-up date (the work list shows both).

The file (docs/formats.md §24) is checked whole first — header, every row's month, target id (known,
of that month), call date and time (within the month, not in the future), operator code, result code,
a promise with amount and date (and only a promise), notes — and refused whole with line-numbered
Japanese reasons; nothing is recorded then. It is read twice, 1,000 rows at a time (bounded memory).

Idempotent twice over: the file's SHA-256 is unique per municipality (the same file again imports
nothing, and says so), and each row's key — target id, call date-time, operator code — is unique, so a
later file repeating rows records only the new ones (counted as ``duplicates``).
A row for a person whose case has been closed since the export (完納) is stored as a result without
a 経過記録 (``closed_cases``).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from choshu.accounts.models import User
from choshu.accounts.permissions import Right, has_right
from choshu.audit.models import AuditKind
from choshu.audit.services import audit_record
from choshu.callcenter.export import parse_month
from choshu.callcenter.models import CallImport, CallOutcome, CallResult, CallTarget
from choshu.cases.models import Case, Channel
from choshu.cases.services import ContactInput, contact_add_checked
from choshu.core.models import Municipality
from choshu.formats.csvfile import iter_fields, open_strict
from choshu.formats.errors import FileRefused, RowError

HEADER = [
    "対象年月",
    "対象者ID",
    "架電日",
    "架電時刻",
    "オペレーターコード",
    "結果コード",
    "約束金額",
    "約束日",
    "備考",
]
CHUNK = 1000
FUNCTION_IMPORT = "催告センター架電結果の取込"
FUNCTION_CALL = "催告センター架電結果の入力"
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TIME = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?$")
_CODE = re.compile(r"^[A-Za-z0-9_-]{1,20}$")
_AMOUNT = re.compile(r"^[0-9]{1,12}$")
_NEXT = {
    CallOutcome.PROMISED: "納付約束の履行確認",
    CallOutcome.REFUSED: "職員からの催告・交渉",
    CallOutcome.WRONG_NUMBER: "電話番号の調査",
    CallOutcome.NO_ANSWER: "",
    CallOutcome.CALL_BACK: "折り返し・再架電の確認",
    CallOutcome.PAID_ALREADY: "納付の確認（収納の照合）",
}


@dataclass(frozen=True)
class CallInput:
    called_at: datetime
    operator_code: str
    outcome: str
    promise_amount: int | None = None
    promise_on: date | None = None
    notes: str = ""


def row_key(target_id: str, called_at: datetime, operator_code: str) -> str:
    stamp = (
        timezone.localtime(called_at).strftime("%Y-%m-%dT%H:%M:%S")
        if timezone.is_aware(called_at)
        else called_at.isoformat()
    )
    return hashlib.sha256(f"{target_id}|{stamp}|{operator_code}".encode()).hexdigest()


def call_errors(c: CallInput, month: str, now: datetime) -> dict[str, str]:
    """What is wrong with one call, by field (the file's check and the operator's form)."""
    errors: dict[str, str] = {}
    _, first, last = parse_month(month)
    day = timezone.localtime(c.called_at).date()
    if not first <= day <= last:
        errors["called_at"] = f"架電日 {day} が対象年月 {month} の外です（対象年月の架電だけを記録できます）"
    elif c.called_at > now + timedelta(minutes=5):
        errors["called_at"] = "架電日時が未来です。架電した日時を入力してください"
    if not _CODE.match(c.operator_code):
        errors["operator_code"] = "オペレーターコードは半角英数字・-・_ の 20 文字以内で入力してください"
    if c.outcome not in CallOutcome.values:
        errors["outcome"] = (
            "結果コードは 1〜6 のいずれかです（1 納付約束・2 納付拒否・3 番号違い・4 不在・5 折り返し・6 納付済み）"
        )
    elif c.outcome == CallOutcome.PROMISED:
        if c.promise_amount is None or c.promise_on is None:
            errors["promise_amount" if c.promise_amount is None else "promise_on"] = (
                "結果コード 1（納付約束）には約束金額と約束日の両方が必要です"
            )
        elif c.promise_amount <= 0:
            errors["promise_amount"] = "約束金額は 1 円以上で入力してください"
        elif c.promise_on < day:
            errors["promise_on"] = "約束日が架電日より前です"
    elif c.promise_amount is not None or c.promise_on is not None:
        errors["promise_amount"] = "約束金額・約束日は結果コード 1（納付約束）のときだけ入力してください"
    if len(c.notes) > 200:
        errors["notes"] = "備考は 200 文字以内で入力してください"
    return errors


def _contact(c: CallInput) -> ContactInput:
    label = CallOutcome(c.outcome).label
    summary = f"納税催告センター架電（オペレーター {c.operator_code}）: {label}"
    if c.promise_amount is not None and c.promise_on is not None:
        summary += f"（{c.promise_amount:,}円を{c.promise_on.year}年{c.promise_on.month}月{c.promise_on.day}日までに納付）"
    if c.notes.strip():
        summary += f"。{c.notes.strip()}"
    day = timezone.localtime(c.called_at).date()
    follow = {
        CallOutcome.PROMISED: c.promise_on,
        CallOutcome.CALL_BACK: day + timedelta(days=1),
        CallOutcome.PAID_ALREADY: day + timedelta(days=7),
    }.get(CallOutcome(c.outcome))
    return ContactInput(
        contacted_at=c.called_at, channel=Channel.CALL_CENTRE, summary=summary, counterpart="催告センター",
        promise_amount=c.promise_amount, promise_on=c.promise_on, next_action=_NEXT[CallOutcome(c.outcome)],
        follow_up_on=follow,
    )  # fmt: skip


def _record(
    actor: User, target: CallTarget, c: CallInput, key: str, source: CallImport | None, function: str
) -> CallResult:
    case = Case.objects.filter(taxpayer_id=target.taxpayer_id, closed_on__isnull=True).first()
    contact = None
    if case is not None:
        contact = contact_add_checked(actor=actor, case=case, data=_contact(c), function=function)
    return CallResult.objects.create(
        municipality_id=target.municipality_id, target=target, called_at=c.called_at, operator_code=c.operator_code,
        outcome=c.outcome, promise_amount=c.promise_amount, promise_on=c.promise_on, notes=c.notes.strip(),
        row_key=key, source=source, contact=contact, recorded_by=actor, recorded_at=timezone.now(),
    )  # fmt: skip


@transaction.atomic
def call_record(*, actor: User, target: CallTarget, data: CallInput) -> CallResult:
    """The operator's entry of one call (the caller has checked the target is the actor's to call)."""
    errors = call_errors(data, target.month, timezone.now())
    if errors:
        raise ValidationError({k: [v] for k, v in errors.items()})
    key = row_key(target.target_id, data.called_at, data.operator_code)
    if CallResult.objects.filter(municipality_id=target.municipality_id, row_key=key).exists():
        raise ValidationError("同じ対象者・日時・オペレーターの架電結果は登録済みです")
    result = _record(actor, target, data, key, None, FUNCTION_CALL)
    audit_record(kind=AuditKind.CHANGE, function=FUNCTION_CALL, municipality=target.municipality, user=actor,
                 subject_type="taxpayer", subject_ids=[target.taxpayer_id],
                 detail={"target": target.target_id, "month": target.month, "outcome": data.outcome,
                         "result": result.pk})  # fmt: skip
    return result


# --- the file -------------------------------------------------------------------------------------------


@dataclass
class ImportSummary:
    file: str
    sha256: str
    month: str = ""
    rows: int = 0
    imported: int = 0
    duplicates: int = 0
    closed_cases: int = 0
    already_imported: bool = False
    by_outcome: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _parse(line: int, f: list[str], errors: list[RowError]) -> tuple[str, str, CallInput] | None:
    month_text, tid, day_text, time_text, code, outcome, amount_text, promise_text, notes = (
        x.strip() for x in f
    )
    bad = len(errors)
    try:
        month = parse_month(month_text)[0]
    except ValidationError:
        errors.append(RowError(line, "対象年月", "対象年月は YYYY-MM で入力してください", month_text))
        month = ""
    if not tid:
        errors.append(RowError(line, "対象者ID", "対象者IDがありません"))
    called: datetime | None = None
    try:
        d = date.fromisoformat(day_text) if _DATE.match(day_text) else None
    except ValueError:
        d = None
    if d is None:
        errors.append(
            RowError(line, "架電日", "架電日は YYYY-MM-DD の実在する日付で入力してください", day_text)
        )
    m = _TIME.match(time_text)
    t = None
    if m and int(m.group(1)) < 24 and int(m.group(2)) < 60 and int(m.group(3) or 0) < 60:
        t = time(int(m.group(1)), int(m.group(2)), int(m.group(3) or 0))
    else:
        errors.append(
            RowError(line, "架電時刻", "架電時刻は HH:MM（24 時間制）で入力してください", time_text)
        )
    if d is not None and t is not None:
        called = timezone.make_aware(datetime.combine(d, t))
    amount = None
    if amount_text:
        if _AMOUNT.match(amount_text):
            amount = int(amount_text)
        else:
            errors.append(
                RowError(
                    line, "約束金額", "約束金額は半角数字（円、カンマなし）で入力してください", amount_text
                )
            )
    promise = None
    if promise_text:
        try:
            promise = date.fromisoformat(promise_text) if _DATE.match(promise_text) else None
        except ValueError:
            promise = None
        if promise is None:
            errors.append(
                RowError(line, "約束日", "約束日は YYYY-MM-DD の実在する日付で入力してください", promise_text)
            )
    if len(errors) > bad or called is None:
        return None
    return month, tid, CallInput(called, code, outcome, amount, promise, notes)


_COLUMN = {"called_at": "架電日", "operator_code": "オペレーターコード", "outcome": "結果コード",
           "promise_amount": "約束金額", "promise_on": "約束日", "notes": "備考"}  # fmt: skip


def _chunks(
    source: Any, errors: list[RowError], name: str
) -> Iterator[list[tuple[int, tuple[str, str, CallInput] | None]]]:
    with source.open() as fh:
        chunk: list[tuple[int, tuple[str, str, CallInput] | None]] = []
        for line, f in iter_fields(fh, HEADER, errors, name):
            chunk.append((line, _parse(line, f, errors)))
            if len(chunk) >= CHUNK:
                yield chunk
                chunk = []
        if chunk:
            yield chunk


def _targets(m: Municipality, ids: set[str]) -> dict[str, CallTarget]:
    return {t.target_id: t for t in CallTarget.objects.filter(municipality=m, target_id__in=ids)}


def _validate(m: Municipality, source: Any, name: str, s: ImportSummary) -> None:
    errors: list[RowError] = []
    seen: dict[str, int] = {}
    now = timezone.now()
    for chunk in _chunks(source, errors, name):
        targets = _targets(m, {p[1] for _, p in chunk if p})
        for line, parsed in chunk:
            s.rows += 1
            if parsed is None:
                continue
            month, tid, c = parsed
            if not s.month:
                s.month = month
            elif month != s.month:
                errors.append(
                    RowError(line, "対象年月", f"1 ファイルは 1 か月分です（先の行は {s.month}）", month)
                )
                continue
            t = targets.get(tid)
            if t is None:
                errors.append(RowError(line, "対象者ID", "この対象者IDは出力した対象者にありません", tid))
                continue
            if t.month != month:
                errors.append(
                    RowError(
                        line,
                        "対象者ID",
                        f"この対象者IDは {t.month} の対象者です（別の月の行は取り込めません）",
                        tid,
                    )
                )
                continue
            for key, reason in call_errors(c, month, now).items():
                errors.append(RowError(line, _COLUMN[key], reason))
            k = row_key(tid, c.called_at, c.operator_code)
            if k in seen:
                errors.append(RowError(line, "", f"{seen[k]} 行目と同じ対象者・日時・オペレーターの行です"))
            else:
                seen[k] = line
    if s.rows == 0 and not errors:
        errors.append(RowError(2, "", "データ行がありません"))
    if errors:
        raise FileRefused(errors, name)


def callcenter_import(*, municipality: Municipality, path: str | Path, actor: User) -> ImportSummary:
    """Import one results file (module docstring). Refusal: ``FileRefused`` (nothing recorded)."""
    if not has_right(actor, Right.CALLCENTER_MANAGE) or actor.municipality_id != municipality.pk:
        raise ValidationError("架電結果を取り込む権限がありません（納税催告センターの管理の権限が必要です）")
    name = Path(path).name
    source = open_strict(path, name)
    s = ImportSummary(file=name, sha256=source.sha256)
    if CallImport.objects.filter(municipality=municipality, sha256=source.sha256).exists():
        s.already_imported = True
        return s
    _validate(municipality, source, name, s)
    with transaction.atomic():
        batch = CallImport.objects.create(municipality=municipality, file_name=name, sha256=source.sha256,
                                          rows=s.rows, created_by=actor)  # fmt: skip
        subjects: set[int] = set()
        for chunk in _chunks(source, [], name):
            targets = _targets(municipality, {p[1] for _, p in chunk if p})
            keys = {row_key(p[1], p[2].called_at, p[2].operator_code): p for _, p in chunk if p}
            done = set(CallResult.objects.filter(municipality=municipality, row_key__in=list(keys))
                       .values_list("row_key", flat=True))  # fmt: skip
            for key, (_, tid, c) in keys.items():
                if key in done:
                    s.duplicates += 1
                    continue
                result = _record(actor, targets[tid], c, key, batch, FUNCTION_IMPORT)
                s.imported += 1
                s.closed_cases += int(result.contact_id is None)
                s.by_outcome[c.outcome] = s.by_outcome.get(c.outcome, 0) + 1
                subjects.add(targets[tid].taxpayer_id)
        CallImport.objects.filter(pk=batch.pk).update(imported=s.imported, duplicates=s.duplicates,
                                                      closed_cases=s.closed_cases)  # fmt: skip
        audit_record(kind=AuditKind.BATCH, function=FUNCTION_IMPORT, municipality=municipality, user=actor,
                     detail=s.as_dict())  # fmt: skip
    return s
