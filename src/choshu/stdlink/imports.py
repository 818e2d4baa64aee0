"""Imports of the 036 → 037 standard files (docs/formats.md §34, docs/stdlink.md「Imports」).

One entry point, ``stdlink_import(kind=…, mode=full|delta)``. The file is read twice as a stream
(bounded memory; the only thing kept per row is an 8-byte digest of its key, to refuse a key twice):

1. **validate** every row (the standard's item names, types, the municipality, the records it
   names in choshu) — any error refuses the whole file (line, item, Japanese reason) and nothing is
   written but the refused ``StdFile``;
2. **write**, in one transaction, through the services that own the data: the levy feed
   (``levies.services.levies_import``), the 期別マスタ (``levies.calendar.calendar_import``), the
   related records of a 宛名 (``taxpayers.related_imports``), the payment engine (``receipts.engine``),
   and 督促 / 督促停止 / 返戻 in ``dunning``. Every row is kept as received in ``StdRecord`` (the items
   choshu has no place for included), with the standard's stamps and a change log.

The kinds the existing imports read are translated row by row into their internal layout in a
temporary file whose physical line numbers are the standard file's (a skipped row is a blank line), so
their errors are reported on the standard file's line and item.
"""

from __future__ import annotations

import csv
import hashlib
import re
import tempfile
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.utils import timezone

from choshu.audit.models import AuditKind, AuditSubjectType
from choshu.audit.services import audit_record
from choshu.core.bulk import copy_rows
from choshu.core.models import Municipality
from choshu.dunning.models import (
    DunningBatch,
    DunningNotice,
    DunningNoticeInstallment,
    DunningSuppression,
    NoticeStatus,
    ReturnedMail,
    ReturnReason,
    SuppressionReason,
)
from choshu.formats.csvfile import MAX_ERRORS, control_errors, open_strict
from choshu.formats.errors import FileRefused, RowError
from choshu.formats.payments import PaymentRecord, RecordKind
from choshu.levies.calendar import calendar_import
from choshu.levies.models import Installment
from choshu.levies.services import levies_import
from choshu.levies.tax_items import catalog
from choshu.receipts.engine import PaymentEngine
from choshu.receipts.models import Channel
from choshu.rules.dunning import dunning_payment_deadline
from choshu.stdlink.models import StdFile, StdRecord, StdRecordChange
from choshu.taxpayers import related_imports
from choshu.taxpayers.models import Taxpayer

CHUNK = 1000
ATENA_ITEMS = ("宛名番号", "納税義務者_宛名番号", "代理人_宛名番号", "共有_宛名番号", "構成員_義務者宛名番号")
WARNINGS = 200  # warnings kept in a summary
KEYS = "choshu_std_keys"  # the keys of the file being checked (a key twice refuses the file)
CLOSING_LINE = (
    100_000_000  # the engine's line numbers of the reversals a full file makes (past any file line)
)
CHANGED_PAYMENT = (
    "受け取った収納（本消・仮消）の金額・領収日は変更できません。取消（削除フラグ1 または仮消区分9）のうえ、"
    "別の収納履歴番号で送ってください"
)

# --- layouts -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Col:
    name: str
    type: str  # code | int | yen | date | time | flag | text
    required: bool = False
    max_len: int = 300


@dataclass(frozen=True)
class Layout:
    kind: str  # the standard's file ID
    slug: str
    title: str
    columns: tuple[Col, ...]
    key: tuple[str, ...]


def _c(name: str, type_: str = "text", required: bool = False, max_len: int = 300) -> Col:
    return Col(name, type_, required, max_len)


HEAD = (_c("市区町村コード", "code", True, 6),)
TAIL = (
    _c("最新フラグ", "flag"),
    _c("操作年月日", "date"),
    _c("操作時刻", "time"),
    _c("操作者ID", "text", max_len=20),
    _c("削除フラグ", "flag"),
)
PERIOD = (
    _c("賦課年度", "int", True),
    _c("相当年度", "int"),
    _c("業務詳細（科目）コード", "code", True, 2),
    _c("期別", "int", True),
    _c("特別徴収義務者指定番号", "code", max_len=20),
    _c("児童_宛名番号", "code", max_len=15),
    _c("通知書番号", "code", True, 20),
    _c("事業年度番号", "int"),
    _c("申告履歴番号", "int"),
)
PERIOD_KEY = tuple(c.name for c in PERIOD)
ATENA = _c("宛名番号", "code", True, 15)
STOP = (
    _c("督促停止管理番号", "code", True, 30),
    ATENA,
)
STOP_ITEMS = (
    _c("督促停止年月日", "date", True),
    _c("督促停止事由", "code", max_len=4),
    _c("督促停止解除年月日", "date"),
    _c("督促停止解除事由", "code", max_len=4),
)

LAYOUTS: dict[str, Layout] = {
    x.kind: x
    for x in (
        Layout(
            "036o015", "calendar", "期別マスタ情報",
            (*HEAD, _c("賦課年度", "int", True), _c("業務詳細（科目）コード", "code", True, 2), _c("期別", "int", True),
             _c("期別名称", "text", True, 20), _c("年月", "code", True, 7), _c("納期限", "date"), *TAIL),
            ("賦課年度", "業務詳細（科目）コード", "期別"),
        ),
        Layout(
            "036o005", "levies", "調定収納情報",
            (*HEAD, *PERIOD, ATENA, _c("事業年度開始日", "date"), _c("事業年度終了日", "date"),
             _c("申告区分", "code", max_len=2), _c("納期限", "date", True), _c("指定納期限", "date"),
             _c("法定納期限等", "date"), _c("法定納期限", "date"), _c("納期特例区分", "flag"),
             _c("税額", "yen", True), _c("督促手数料", "yen"), _c("延滞金", "yen"),
             _c("調定額_法人住民税内訳_均等割額", "yen"), _c("調定額_法人住民税内訳_法人税割額", "yen"),
             _c("調定額_国民健康保険内訳_医療一般分", "yen"), _c("調定額_国民健康保険内訳_医療退職分", "yen"),
             _c("調定額_国民健康保険内訳_支援一般分", "yen"), _c("調定額_国民健康保険内訳_支援退職分", "yen"),
             _c("調定額_国民健康保険内訳_介護一般分", "yen"), _c("調定額_国民健康保険内訳_介護退職分", "yen"),
             _c("調定額_都市計画税", "yen"),
             _c("収納額_本税", "yen"), _c("収納額_督促手数料", "yen"), _c("収納額_延滞金", "yen"),
             _c("収入日", "date"), _c("領収日", "date"),
             _c("不納欠損日", "date"), _c("不納欠損事由", "code", max_len=2),
             _c("不納欠損金額_本税", "yen"), _c("不納欠損金額_延滞金", "yen"), _c("不納欠損金額_督促手数料", "yen"),
             *TAIL),
            PERIOD_KEY,
        ),
        Layout(
            "036o006", "payments", "収納履歴情報",
            (*HEAD, *PERIOD, _c("収納履歴番号", "code", True, 20), ATENA, _c("収納区分", "code", max_len=4),
             _c("会計年度", "int"), _c("収納額_本税", "yen"), _c("収納額_督促手数料", "yen"), _c("収納額_延滞金", "yen"),
             _c("仮消区分", "code", True, 1), _c("納付区分", "code", max_len=4), _c("納付チャネル区分", "code", max_len=4),
             _c("領収日", "date", True), _c("収入日", "date"), *TAIL),
            (*PERIOD_KEY, "収納履歴番号"),
        ),
        Layout(
            "036o007", "dunning", "督促情報",
            (*HEAD, *PERIOD, ATENA, _c("履歴番号", "code", True, 10), _c("督促状発行日", "date"),
             _c("督促状返戻日", "date"), _c("督促区分", "code", max_len=4), _c("引き抜き区分", "flag"),
             _c("引き抜き事由", "code", max_len=4), *TAIL),
            (*PERIOD_KEY, "宛名番号", "履歴番号"),
        ),
        Layout(
            "036o008", "stop", "督促停止情報",
            (*HEAD, *STOP, *STOP_ITEMS, *TAIL),
            ("督促停止管理番号", "宛名番号"),
        ),
        Layout(
            "036o009", "stop-detail", "督促停止情報（期別）",
            (*HEAD, *STOP, *PERIOD, *STOP_ITEMS, *TAIL),
            ("督促停止管理番号", "宛名番号", *PERIOD_KEY),
        ),
        Layout(
            "036o010", "debit-accounts", "振替口座情報",
            (*HEAD, ATENA, _c("業務詳細（科目）コード", "code", True, 2), _c("振替口座区分", "code", max_len=4),
             _c("児童_宛名番号", "code", max_len=15), _c("口座履歴番号", "code", max_len=10),
             _c("口座振替開始日", "date"), _c("口座振替終了日", "date"), _c("金融機関コード", "code", max_len=4),
             _c("店舗番号", "code", max_len=3), _c("口座種別", "code", max_len=2), _c("口座番号", "code", max_len=8),
             _c("ゆうちょ銀行記号", "code", max_len=5), _c("ゆうちょ銀行番号", "code", max_len=8),
             _c("口座名義人カナ", "text", max_len=100), _c("口座振替停止開始年月日", "date"),
             _c("口座振替停止終了年月日", "date"), _c("口座振替廃止年月日", "date"), *TAIL),
            ("宛名番号", "業務詳細（科目）コード", "振替口座区分", "児童_宛名番号"),
        ),
        Layout(
            "036o011", "co-owners", "固定資産税_共有管理",
            (*HEAD, _c("課税年度", "int", True), _c("共有_宛名番号", "code", True, 15), _c("共有資産番号", "code", max_len=20),
             _c("構成員連番", "int", True), _c("構成員_義務者宛名番号", "code", True, 15), _c("代表者フラグ", "flag"),
             _c("登記持分_分子", "int"), _c("登記持分_分母", "int"), _c("現況持分_分子", "int"), _c("現況持分_分母", "int"),
             *TAIL),
            ("課税年度", "共有_宛名番号", "共有資産番号", "構成員連番"),
        ),
        Layout(
            "036o012", "returned", "返戻情報",
            (*HEAD, ATENA, _c("業務ID", "code", max_len=3), _c("業務詳細（科目）コード", "code", True, 2),
             _c("返戻物種別", "code", max_len=4), _c("履歴番号", "code", max_len=10), _c("賦課年度", "int", True),
             _c("相当年度", "int"), _c("期別", "int", True), _c("通知書番号", "code", True, 20),
             _c("返戻事由", "code", max_len=4), _c("返戻日", "date", True), _c("再発送日", "date"),
             _c("公示送達日", "date"), *TAIL),
            ("宛名番号", "業務ID", "業務詳細（科目）コード", "返戻物種別", "履歴番号", "賦課年度", "相当年度", "期別",
             "通知書番号"),
        ),
        Layout(
            "036o013", "representatives", "代理人情報",
            (*HEAD, _c("納税義務者_宛名番号", "code", True, 15), _c("代理人_宛名番号", "code", True, 15),
             _c("業務ID", "code", max_len=3), _c("業務詳細（科目）コード", "code", True, 2),
             _c("代理人_有効期間開始年月日", "date", True), _c("代理人_有効期間終了年月日", "date"),
             _c("代理人_肩書", "code", True, 2), _c("電話番号", "text", max_len=30), _c("メモ", "text", max_len=200),
             *TAIL),
            ("納税義務者_宛名番号", "代理人_宛名番号", "業務ID", "業務詳細（科目）コード", "代理人_有効期間開始年月日"),
        ),
        Layout(
            "036o014", "addressees", "送付先・連絡先情報",
            (*HEAD, ATENA, _c("業務ID", "code", max_len=3), _c("業務詳細（科目）コード", "code", True, 2),
             _c("軽自管理番号", "code", max_len=20), _c("送付先履歴番号", "code", max_len=10),
             _c("氏名_名称", "text", max_len=200), _c("氏名_名称_カタカナ", "text", max_len=200),
             _c("郵便番号", "text", max_len=8), _c("住所", "text"), _c("住所_方書", "text"),
             _c("送付先区分", "code", max_len=2), _c("送付先を設定する理由", "text", max_len=100),
             _c("電話番号", "text", max_len=30), _c("登録年月日", "date"), _c("利用廃止年月日", "date"),
             _c("メモ", "text", max_len=200), *TAIL),
            ("宛名番号", "業務ID", "業務詳細（科目）コード", "軽自管理番号"),
        ),
    )
}  # fmt: skip

FILE_ID = re.compile(r"036o0(05|06|07|08|09|10|11|12|13|14|15)", re.IGNORECASE)
SLUGS = {x.slug: x.kind for x in LAYOUTS.values()}


def kind_of(name: str) -> str | None:
    """The file kind a file name says: it contains the standard's file ID (``036o005…``)."""
    m = FILE_ID.search(Path(name).name)
    return f"036o0{m.group(1)}" if m else None


def resolve_kind(kind: str | None, file_name: str) -> str:
    if kind:
        k = SLUGS.get(kind, kind.lower())
        if k in LAYOUTS:
            return k
        names = "、".join(f"{x.kind}（{x.slug}）" for x in LAYOUTS.values())
        raise FileRefused(
            [RowError(0, "", f"ファイル種別 {kind!r} は扱えません。{names} のいずれかです")], file_name
        )
    found = kind_of(file_name)
    if found is None:
        raise FileRefused(
            [
                RowError(
                    0,
                    "",
                    "ファイル名に標準のファイルID（036o005 など）がありません。--kind で種別を指定してください",
                )
            ],
            file_name,
        )
    return found


# --- values ------------------------------------------------------------------------------------------

_NO_DATE = {"", "0", "0000-00-00", "00000000"}
_DATE = re.compile(r"^(\d{4})-?(\d{2})-?(\d{2})$")
_TIME = re.compile(r"^(\d{2}):?(\d{2}):?(\d{2})$")
_DIGITS = re.compile(r"^[0-9]+$")
_CODE = re.compile(r"^[0-9A-Za-z\-]*$")


def _value(col: Col, raw: str) -> tuple[Any, str | None]:
    """The item's value, or an error reason (Japanese)."""
    v = raw.strip()
    if col.type == "date":
        if v in _NO_DATE:
            return None, ("必須の日付が空です（YYYY-MM-DD）" if col.required else None)
        m = _DATE.match(v)
        if not m:
            return None, "日付は YYYY-MM-DD で入力してください"
        try:
            return date(int(m[1]), int(m[2]), int(m[3])), None
        except ValueError:
            return None, "存在しない日付です"
    if not v:
        if col.required:
            return None, "必須の項目が空です"
        return (0 if col.type == "yen" else None if col.type in ("int", "time") else ""), None
    if len(v) > col.max_len:
        return None, f"{col.max_len}文字以内で入力してください"
    if col.type in ("int", "yen"):
        if not _DIGITS.match(v) or len(v) > 15:
            return None, "半角数字で入力してください（符号・桁区切り・小数点なし）"
        return int(v), None
    if col.type == "time":
        m = _TIME.match(v)
        if not m or int(m[1]) > 23 or int(m[2]) > 59 or int(m[3]) > 59:
            return None, "時刻は HH:MM:SS で入力してください"
        return time(int(m[1]), int(m[2]), int(m[3])), None
    if col.type == "flag":
        if v not in ("0", "1"):
            return None, "0 または 1 を入力してください"
        return v, None
    if col.type == "code" and not _CODE.match(v):
        return None, "半角英数字で入力してください"
    return v, None


def _jsonable(v: Any) -> Any:
    if isinstance(v, (date, time)):
        return v.isoformat()
    return v


def notice_no(v: str) -> str:
    """通知書番号: the standard pads it with zeros to 20; choshu keeps up to 12 digits."""
    return v.lstrip("0") or "0"


def _zero(v: str) -> bool:
    return not v or set(v) == {"0"}


# --- reading -----------------------------------------------------------------------------------------


@dataclass
class Row:
    line: int
    values: dict[str, Any]  # parsed
    raw: dict[str, str]  # as received (what ``StdRecord.data`` keeps)
    key: str

    @property
    def deleted(self) -> bool:
        return self.values.get("削除フラグ") == "1"


def _read(
    path: Path, layout: Layout, municipality: Municipality, errors: list[RowError], file_name: str
) -> Iterator[Row | int]:
    """Each data row as a ``Row`` (or its line number when the row is skipped: 最新フラグ 0); errors
    are appended. The header names the items (any order); an unknown item is kept as received."""
    source = open_strict(path, file_name)
    with source.open() as fh:
        reader = csv.reader(fh, strict=True)
        try:
            header = [h.strip() for h in next(reader, [])]
        except csv.Error as exc:
            raise FileRefused([RowError(1, "", f"CSV の形式が不正です: {exc}")], file_name) from exc
        if header and header[0].startswith("\ufeff"):
            header[0] = header[0][1:]
        if not header:
            raise FileRefused([RowError(1, "", "ファイルが空です（見出し行がありません）")], file_name)
        known = {c.name: c for c in layout.columns}
        head_errors = [
            RowError(1, c.name, f"必須の項目「{c.name}」が見出し行にありません") for c in layout.columns
            if c.required and c.name not in header
        ]  # fmt: skip
        seen: set[str] = set()
        for h in header:
            if h in seen:
                head_errors.append(RowError(1, h, f"見出し「{h}」が2回あります"))
            seen.add(h)
        if head_errors:
            raise FileRefused(head_errors, file_name)
        width = len(header)
        codes = {municipality.code, municipality.code[:5]}
        while len(errors) < MAX_ERRORS:
            line = reader.line_num + 1
            try:
                fields = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                errors.append(RowError(line, "", f"CSV の形式が不正です: {exc}"))
                return
            if not fields:
                continue
            if len(fields) != width:
                errors.append(RowError(line, "", f"項目の数が {len(fields)} です（見出しは {width} 項目）"))
                continue
            bad = control_errors(line, header, fields)
            if bad:
                errors.extend(bad)
                continue
            raw = dict(zip(header, fields, strict=True))
            values: dict[str, Any] = {}
            for name, text in raw.items():
                col = known.get(name)
                if col is None:
                    continue
                v, reason = _value(col, text)
                if reason:
                    errors.append(RowError(line, name, reason, text[:80]))
                values[name] = v
            for col in layout.columns:
                if col.name not in values:
                    values[col.name] = _value(col, "")[0]
            if values.get("最新フラグ") == "0":
                yield line
                continue
            if raw.get("市区町村コード", "").strip() not in codes:
                errors.append(
                    RowError(
                        line,
                        "市区町村コード",
                        f"この団体（{municipality.code}）のファイルではありません",
                        raw.get("市区町村コード", ""),
                    )
                )
            if values.get("相当年度") is None and "相当年度" in known:
                values["相当年度"] = values.get("賦課年度")
            key = "|".join(
                str(_jsonable(values.get(k)) if values.get(k) is not None else "") for k in layout.key
            )
            yield Row(line, values, {k: v.strip() for k, v in raw.items()}, key)


# --- the run -----------------------------------------------------------------------------------------


@dataclass
class Summary:
    kind: str
    mode: str
    rows: int = 0
    skipped: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    closed: int = 0
    kept_only: int = 0
    already_imported: bool = False
    file_id: int | None = None
    applied: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def stdlink_import(
    *,
    municipality: Municipality,
    path: str | Path,
    kind: str | None = None,
    mode: str = "delta",
    actor: Any = None,
    reason: str = "",
    booking_date: date | None = None,
    today: date | None = None,
) -> Summary:
    """Import one 036 file (see the module's docstring). Refused: ``FileRefused`` (nothing written
    but the refused ``StdFile`` with its errors). ``today`` is the processing day (the caller's; the
    booking day when none is given)."""
    day = today or timezone.localdate()  # one processing day for the whole file
    path = Path(path)
    file_name = str(path)
    layout = LAYOUTS[resolve_kind(kind, file_name)]
    if mode not in ("full", "delta"):
        raise FileRefused([RowError(0, "", "取込区分は full（全件）または delta（差分）です")], file_name)
    summary = Summary(layout.kind, mode)
    try:
        sha = _sha256(path)
    except OSError as exc:
        raise FileRefused([RowError(0, "", f"ファイルを読めません: {exc.strerror}")], file_name) from exc
    actor_user = actor if getattr(actor, "is_authenticated", False) else None
    try:
        with transaction.atomic():
            _lock(municipality, layout.kind)
            done = StdFile.objects.filter(
                municipality=municipality, kind=layout.kind, sha256=sha, status=StdFile.Status.IMPORTED
            ).first()
            if done is not None:
                summary.already_imported = True
                summary.file_id = done.pk
                return summary
            record = StdFile.objects.create(
                municipality=municipality, kind=layout.kind, file_name=file_name[:500], sha256=sha, mode=mode,
                status=StdFile.Status.IMPORTED, created_by=actor_user, reason=reason[:300],
            )  # fmt: skip
            run = _Run(
                municipality,
                layout,
                path,
                file_name,
                record,
                actor_user,
                reason,
                summary,
                booking_date or day,
                day,
            )
            run.validate()
            run.write()
            record.rows = summary.rows
            summary.file_id = record.pk
            record.summary = summary.as_dict()
            record.save(update_fields=["rows", "summary"])
            audit_record(
                kind=AuditKind.BATCH,
                function=f"標準連携取込（{layout.title}）",
                municipality=municipality,
                user=actor_user,
                detail={"file": file_name, "sha256": sha, "reason": reason, **summary.as_dict()},
            )
    except FileRefused as refused:
        StdFile.objects.create(
            municipality=municipality, kind=layout.kind, file_name=file_name[:500], sha256=sha, mode=mode,
            status=StdFile.Status.REFUSED, created_by=actor_user, reason=reason[:300],
            errors=[e.as_dict() for e in refused.errors[:200]],
        )  # fmt: skip
        raise
    return summary


def _lock(municipality: Municipality, kind: str) -> None:
    """One import of a kind per municipality at a time (PostgreSQL advisory lock; SQLite has one writer):
    a second run waits, then finds the file imported or the records as the first left them."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute(
                "SELECT pg_advisory_xact_lock(%s)", [zlib.crc32(f"stdlink:{municipality.pk}:{kind}".encode())]
            )


class _Run:
    def __init__(
        self,
        municipality: Municipality,
        layout: Layout,
        path: Path,
        file_name: str,
        record: StdFile,
        actor: Any,
        reason: str,
        summary: Summary,
        booking_date: date,
        today: date,
    ) -> None:
        self.m, self.layout, self.path, self.file_name = municipality, layout, path, file_name
        self.file, self.actor, self.reason, self.summary = record, actor, reason, summary
        self.booking_date, self.today = booking_date, today
        self.tax_items = set(catalog(municipality.pk))
        self.width = municipality.taxpayer_no_width
        self.tmp: Path | None = None
        self._batch: DunningBatch | None = None

    # -- helpers ---------------------------------------------------------------------------------

    def rows(self, errors: list[RowError]) -> Iterator[Row | int]:
        return _read(self.path, self.layout, self.m, errors, self.file_name)

    def taxpayer_no(self, v: str) -> str:
        if self.width and len(v) < self.width:
            return v.zfill(self.width)
        if self.width and len(v) > self.width:
            return v.lstrip("0").zfill(self.width)
        return v

    def refuse(self, errors: list[RowError]) -> None:
        if errors:
            raise FileRefused(sorted(errors, key=lambda e: e.line)[:MAX_ERRORS], self.file_name)

    def chunks(self, errors: list[RowError], count: bool = False) -> Iterator[list[Row]]:
        """Valid rows a chunk at a time. ``count``: the first pass (counts the rows, stages their keys)."""
        chunk: list[Row] = []
        for row in self.rows(errors):
            if isinstance(row, int):
                self.summary.skipped += count
                continue
            self.summary.rows += count
            chunk.append(row)
            if len(chunk) >= CHUNK:
                yield chunk
                chunk = []
        if chunk:
            yield chunk

    def installments(self, rows: Sequence[Row]) -> dict[tuple[Any, ...], Installment]:
        """The installments the rows' period keys name (one query per chunk)."""
        notices = {notice_no(r.values["通知書番号"]) for r in rows}
        found: dict[tuple[Any, ...], Installment] = {}
        qs = Installment.objects.filter(municipality=self.m, levy__notice_no__in=notices).select_related(
            "levy", "taxpayer"
        )
        for i in qs:
            lv = i.levy
            found[(lv.tax_item, lv.levy_year, lv.relevant_year, lv.notice_no, lv.special_collector_no or "",
                   lv.filing_history_no, lv.business_year_no, i.installment_no)] = i  # fmt: skip
        return found

    @staticmethod
    def period_key(v: dict[str, Any]) -> tuple[Any, ...]:
        return (v["業務詳細（科目）コード"], v["賦課年度"], v["相当年度"], notice_no(v["通知書番号"]),
                v.get("特別徴収義務者指定番号") or "", v.get("申告履歴番号") or 0, v.get("事業年度番号") or 0,
                v["期別"])  # fmt: skip

    def find(
        self, rows: Sequence[Row], errors: list[RowError], atena: str | None = "宛名番号"
    ) -> dict[int, Installment]:
        found = self.installments(rows)
        out: dict[int, Installment] = {}
        for r in rows:
            i = found.get(self.period_key(r.values))
            if i is None:
                if not r.deleted:
                    errors.append(RowError(r.line, "通知書番号", "この期別の調定がありません（調定収納情報を先に取り込んでください）",
                                           r.raw.get("通知書番号", "")))  # fmt: skip
                continue
            if atena and r.values.get(atena) and i.taxpayer.taxpayer_no != self.taxpayer_no(r.values[atena]):
                errors.append(RowError(r.line, atena, "調定の宛名番号と一致しません", r.raw.get(atena, "")))
                continue
            out[r.line] = i
        return out

    # -- the record of each row (StdRecord) ------------------------------------------------------

    def remember(self, rows: Sequence[Row]) -> dict[int, tuple[str, StdRecord | None, dict[str, Any] | None]]:
        """Upsert the rows' records: per line (created | updated | unchanged | deleted, record, before)."""
        existing = {
            r.natural_key: r
            for r in StdRecord.objects.filter(
                municipality=self.m, kind=self.layout.kind, natural_key__in=[x.key for x in rows]
            )
        }
        out: dict[int, tuple[str, StdRecord | None, dict[str, Any] | None]] = {}
        stamps = ("操作年月日", "操作時刻", "操作者ID")
        now = timezone.now()
        seen: list[int] = []
        new: list[StdRecord] = []
        changed: list[StdRecord] = []
        log: list[tuple[StdRecord, str, dict[str, Any] | None]] = []
        for row in rows:
            old = existing.get(row.key)
            v = row.values
            same = (
                old is not None
                and old.deleted == row.deleted
                and {k: x for k, x in old.data.items() if k not in stamps}
                == {k: x for k, x in row.raw.items() if k not in stamps}
            )
            if same:
                assert old is not None
                seen.append(old.pk)
                self.summary.unchanged += 1
                out[row.line] = ("unchanged", old, None)
                continue
            if old is None and row.deleted:
                self.summary.unchanged += 1  # ending what was never here changes nothing
                out[row.line] = ("unchanged", None, None)
                continue
            before = None if old is None else {"data": old.data, "deleted": old.deleted}
            rec = old or StdRecord(municipality=self.m, kind=self.layout.kind, natural_key=row.key)
            rec.data, rec.deleted, rec.file, rec.updated_at = row.raw, row.deleted, self.file, now
            rec.source_operator = v.get("操作者ID") or ""
            rec.source_operated_on, rec.source_operated_time = v.get("操作年月日"), v.get("操作時刻")
            (new if old is None else changed).append(rec)
            action = (
                StdRecordChange.Action.DELETED if row.deleted
                else StdRecordChange.Action.CREATED if old is None else StdRecordChange.Action.UPDATED
            )  # fmt: skip
            log.append((rec, action, before))
            status = "deleted" if row.deleted else "created" if old is None else "updated"
            setattr(self.summary, status, getattr(self.summary, status) + 1)
            out[row.line] = (status, rec, before)
        if seen:
            StdRecord.objects.filter(pk__in=seen).update(file=self.file, updated_at=now)
        StdRecord.objects.bulk_create(new)
        StdRecord.objects.bulk_update(
            changed,
            [
                "data",
                "deleted",
                "file",
                "updated_at",
                "source_operator",
                "source_operated_on",
                "source_operated_time",
            ],
        )
        StdRecordChange.objects.bulk_create(
            StdRecordChange(record=rec, file=self.file, action=action, before=before, changed_by=self.actor,
                            reason=self.reason[:300])
            for rec, action, before in log
        )  # fmt: skip
        if log:
            self._audit_changes(log)
        return out

    def _audit_changes(self, log: Sequence[tuple[StdRecord, str, dict[str, Any] | None]]) -> None:
        """One change record per chunk naming the people whose records the rows changed (a person's
        history shows the import), beside the file's batch record."""
        numbers = {self.taxpayer_no(rec.data[c]) for rec, _, _ in log for c in ATENA_ITEMS if rec.data.get(c)}
        ids = sorted(
            Taxpayer.objects.filter(municipality=self.m, taxpayer_no__in=numbers).values_list("pk", flat=True)
        )
        audit_record(
            kind=AuditKind.CHANGE,
            function=f"標準連携取込（{self.layout.title}）",
            municipality=self.m,
            user=self.actor,
            subject_type=AuditSubjectType.TAXPAYER,
            subject_ids=ids,
            detail={
                "std_file": self.file.pk,
                "reason": self.reason,
                "records": [
                    {"id": rec.pk, "key": rec.natural_key, "action": str(action)} for rec, action, _ in log
                ],
            },
        )

    def missing(self) -> Iterator[StdRecord]:
        """Full load: the records of the kind this file does not hold any more (closed, never deleted)."""
        qs = StdRecord.objects.filter(municipality=self.m, kind=self.layout.kind, deleted=False).exclude(
            file=self.file
        )
        yield from qs.iterator(chunk_size=CHUNK)

    def close(self, rec: StdRecord) -> None:
        before = {"data": rec.data, "deleted": rec.deleted}
        rec.deleted, rec.file = True, self.file
        rec.save(update_fields=["deleted", "file", "updated_at"])
        StdRecordChange.objects.create(
            record=rec, file=self.file, action=StdRecordChange.Action.CLOSED, before=before, changed_by=self.actor,
            reason=(self.reason or "全件取込のファイルにない")[:300],
        )  # fmt: skip
        self.summary.closed += 1

    # -- dispatch --------------------------------------------------------------------------------

    def validate(self) -> None:
        errors: list[RowError] = []
        check = getattr(self, f"_check_{self.layout.slug.replace('-', '_')}", None)
        with connection.cursor() as cur:
            cur.execute(f"DROP TABLE IF EXISTS {KEYS}")
            cur.execute(f"CREATE TEMPORARY TABLE {KEYS} (line integer NOT NULL, k varchar(300) NOT NULL)")
        try:
            for chunk in self.chunks(errors, count=True):
                copy_rows(KEYS, ("line", "k"), ((r.line, r.key[:300]) for r in chunk))
                if check is not None:
                    check(chunk, errors)
            with connection.cursor() as cur:  # a key twice in the file: reported on the later line
                cur.execute(
                    f"SELECT b.line, b.k, MIN(a.line) FROM {KEYS} a JOIN {KEYS} b ON a.k = b.k AND a.line < b.line "
                    f"GROUP BY b.line, b.k ORDER BY b.line LIMIT {MAX_ERRORS}"
                )  # noqa: S608 - constants only
                for line, key, first in cur.fetchall():
                    errors.append(RowError(line, "", f"同じキー（{key}）の行が {first}行目にもあります"))
        finally:
            with connection.cursor() as cur:
                cur.execute(f"DROP TABLE IF EXISTS {KEYS}")
        self.refuse(errors)

    def write(self) -> None:
        getattr(self, f"_write_{self.layout.slug.replace('-', '_')}")()

    def _each(self, apply: Callable[[Row, str, StdRecord | None, dict[str, Any] | None], None]) -> None:
        errors: list[RowError] = []
        for chunk in self.chunks(errors):
            done = self.remember(chunk)
            for row in chunk:
                status, rec, before = done[row.line]
                if status != "unchanged":
                    apply(row, status, rec, before)
        self.refuse(errors)

    def _each_record(
        self, one: Callable[[StdRecord, dict[str, Any], bool, Installment | None], None]
    ) -> None:
        """``one(record, values, deleted, installment)`` for each new or changed row (its installment found by
        the key), then — a full load — for each record the file no longer has, as deleted, and closes it."""
        errors: list[RowError] = []
        for chunk in self.chunks(errors):
            insts = self.find(chunk, errors)
            done = self.remember(chunk)
            for row in chunk:
                status, rec, _ = done[row.line]
                if status != "unchanged" and rec is not None:
                    one(rec, row.values, row.deleted, insts.get(row.line))
        self.refuse(errors)
        if self.summary.mode == "full":
            for rec in self.missing():
                one(rec, _parsed(self.layout, rec.data), True, None)
                self.close(rec)

    # -- delegated kinds: the internal layout in a temporary file ---------------------------------

    def _delegate(
        self,
        header: Sequence[str],
        to_internal: Callable[[dict[str, Any]], dict[str, Any]],
        names: dict[str, str],
        run: Callable[[Path], Any],
        closing: Callable[[dict[str, Any]], dict[str, Any] | None] | None,
    ) -> None:
        errors: list[RowError] = []
        with tempfile.TemporaryDirectory(prefix="choshu-std-") as tmp:
            out = Path(tmp) / f"{self.layout.slug}.csv"
            with out.open("w", encoding="utf-8", newline="") as fh:
                w = csv.writer(fh, lineterminator="\r\n")
                w.writerow(header)
                line = 1
                for chunk in self.chunks(errors):
                    done = self.remember(chunk)
                    for row in chunk:
                        if row.deleted and done[row.line][1] is None:
                            continue  # deleting what this feed never delivered changes nothing
                        while line < row.line - 1:
                            fh.write("\r\n")  # the standard file's line numbers, kept
                            line += 1
                        w.writerow([_cell(to_internal(row.values).get(h)) for h in header])
                        line += 1
                self.refuse(errors)
                if self.summary.mode == "full" and closing is not None:
                    for rec in self.missing():
                        internal = closing(_parsed(self.layout, rec.data))
                        if internal is not None:
                            w.writerow([_cell(internal.get(h)) for h in header])
                        self.close(rec)
                elif self.summary.mode == "full":
                    for rec in self.missing():
                        self.close(rec)
            try:
                result = run(out)
            except FileRefused as refused:
                raise FileRefused(
                    [
                        RowError(e.line, names.get(e.column, e.column), e.reason, e.value)
                        for e in refused.errors
                    ],
                    self.file_name,
                ) from refused
        self.summary.applied = result.as_dict() if hasattr(result, "as_dict") else dict(result)

    # 036o015 期別マスタ
    def _write_calendar(self) -> None:
        header = (
            "tax_item",
            "levy_year",
            "installment_no",
            "label",
            "year_month",
            "nominal_due_date",
            "ad_hoc",
        )

        def internal(v: dict[str, Any]) -> dict[str, Any]:
            ym = str(v["年月"])
            ym = f"{ym[:4]}-{ym[-2:]}" if re.match(r"^\d{6}$", ym) else ym
            return {"tax_item": v["業務詳細（科目）コード"], "levy_year": v["賦課年度"], "installment_no": v["期別"],
                    "label": v["期別名称"], "year_month": ym, "nominal_due_date": v["納期限"], "ad_hoc": "0"}  # fmt: skip

        names = {"tax_item": "業務詳細（科目）コード", "levy_year": "賦課年度", "installment_no": "期別",
                 "label": "期別名称", "year_month": "年月", "nominal_due_date": "納期限"}  # fmt: skip
        self._delegate(
            header,
            internal,
            names,
            lambda p: calendar_import(municipality=self.m, path=p, actor=self.actor),
            None,
        )

    # 036o005 調定収納情報
    def _check_levies(self, rows: Sequence[Row], errors: list[RowError]) -> None:
        for r in rows:
            v = r.values
            if not _zero(v.get("児童_宛名番号") or ""):
                errors.append(RowError(r.line, "児童_宛名番号", "児童_宛名番号のある期別（子ども関係の料金）は扱えません",
                                       r.raw.get("児童_宛名番号", "")))  # fmt: skip
            if len(notice_no(v.get("通知書番号") or "")) > 12 or not _DIGITS.match(
                v.get("通知書番号") or "0"
            ):
                errors.append(RowError(r.line, "通知書番号", "通知書番号は数字12桁以内（前ゼロを除く）です",
                                       r.raw.get("通知書番号", "")))  # fmt: skip

    def _write_levies(self) -> None:
        from choshu.formats.levies_csv import HEADER

        def internal(v: dict[str, Any], principal: int | None = None) -> dict[str, Any]:
            item = v["業務詳細（科目）コード"]
            if principal is None and v["削除フラグ"] == "1":
                principal = 0  # a deleted 期別: a 更正 to 0, its breakdown too
            tax = v["税額"] if principal is None else principal
            b: list[int | str] = ["", "", ""]
            if item == "03":
                b = [v["調定額_法人住民税内訳_均等割額"], v["調定額_法人住民税内訳_法人税割額"], ""]
                if b[0] == 0 and b[1] == 0:
                    b = [tax, 0, ""]
            elif item == "07":
                med = v["調定額_国民健康保険内訳_医療一般分"] + v["調定額_国民健康保険内訳_医療退職分"]
                sup = v["調定額_国民健康保険内訳_支援一般分"] + v["調定額_国民健康保険内訳_支援退職分"]
                care = v["調定額_国民健康保険内訳_介護一般分"] + v["調定額_国民健康保険内訳_介護退職分"]
                b = [med, sup, care] if med + sup + care else [tax, 0, 0]
            elif item == "04":
                b = [tax - v["調定額_都市計画税"], v["調定額_都市計画税"], ""]
            if principal == 0:
                b = [0 if x != "" else "" for x in b]
            return {
                "tax_item": item, "levy_year": v["賦課年度"], "relevant_year": v["相当年度"],
                "notice_no": notice_no(v["通知書番号"]), "taxpayer_no": self.taxpayer_no(v["宛名番号"]),
                "special_collector_no": v["特別徴収義務者指定番号"], "filing_type": v["申告区分"],
                "filing_history_no": v["申告履歴番号"], "business_year_no": v["事業年度番号"],
                "business_year_start": v["事業年度開始日"], "business_year_end": v["事業年度終了日"],
                "installment_no": v["期別"], "statutory_due_date": v["法定納期限"] or v["法定納期限等"],
                "due_date": v["納期限"], "designated_due_date": v["指定納期限"],
                "due_date_special": "1" if v["納期特例区分"] == "1" else "",
                "principal": tax,
                "breakdown_1": b[0], "breakdown_2": b[1], "breakdown_3": b[2], "slip_no": "",
                "operator_id": v["操作者ID"], "operated_on": v["操作年月日"], "operated_time": v["操作時刻"],
            }  # fmt: skip

        names = {"tax_item": "業務詳細（科目）コード", "levy_year": "賦課年度", "relevant_year": "相当年度",
                 "notice_no": "通知書番号", "taxpayer_no": "宛名番号", "special_collector_no": "特別徴収義務者指定番号",
                 "filing_type": "申告区分", "filing_history_no": "申告履歴番号", "business_year_no": "事業年度番号",
                 "business_year_start": "事業年度開始日", "business_year_end": "事業年度終了日", "installment_no": "期別",
                 "statutory_due_date": "法定納期限", "due_date": "納期限", "designated_due_date": "指定納期限",
                 "due_date_special": "納期特例区分", "principal": "税額", "breakdown_1": "税額", "breakdown_2": "税額",
                 "breakdown_3": "税額", "operator_id": "操作者ID", "operated_on": "操作年月日", "operated_time": "操作時刻"}  # fmt: skip
        self._delegate(
            HEADER, internal, names,
            lambda p: levies_import(municipality=self.m, path=p, booking_date=self.booking_date, actor=self.actor),
            lambda v: internal(v, 0),
        )  # fmt: skip
        self._compare_receipts()

    def _compare_receipts(self) -> None:
        """036o005 carries the other system's cumulative 収納額_本税: where it differs from what choshu
        holds as paid (from 036o006 through the engine), a warning names the line (nothing is changed)."""
        errors: list[RowError] = []
        for chunk in self.chunks(errors):
            found = self.installments(chunk)
            for r in chunk:
                i = found.get(self.period_key(r.values))
                if i is None or r.deleted or r.raw.get("収納額_本税", "") == "":
                    continue
                theirs = int(r.values["収納額_本税"])
                if theirs != i.principal_paid and len(self.summary.warnings) < WARNINGS:
                    self.summary.warnings.append(
                        f"{r.line}行目: 収納額_本税 {theirs:,}円と choshu の収納額（本税）{i.principal_paid:,}円が"
                        "一致しません（収納履歴情報の取込漏れがないか確認してください）"
                    )

    # 036o013 代理人情報
    def _write_representatives(self) -> None:
        from choshu.formats.related_csv import REPRESENTATIVE_HEADER

        def internal(v: dict[str, Any], delete: bool = False) -> dict[str, Any]:
            return {"taxpayer_no": self.taxpayer_no(v["納税義務者_宛名番号"]),
                    "agent_taxpayer_no": self.taxpayer_no(v["代理人_宛名番号"]), "tax_item": v["業務詳細（科目）コード"],
                    "role": v["代理人_肩書"], "valid_from": v["代理人_有効期間開始年月日"],
                    "valid_until": v["代理人_有効期間終了年月日"], "phone": v["電話番号"], "memo": v["メモ"],
                    "delete_flag": "1" if delete or v["削除フラグ"] == "1" else "0", "operator_id": v["操作者ID"],
                    "operated_on": v["操作年月日"], "operated_time": v["操作時刻"]}  # fmt: skip

        names = {"taxpayer_no": "納税義務者_宛名番号", "agent_taxpayer_no": "代理人_宛名番号",
                 "tax_item": "業務詳細（科目）コード", "role": "代理人_肩書", "valid_from": "代理人_有効期間開始年月日",
                 "valid_until": "代理人_有効期間終了年月日", "phone": "電話番号", "memo": "メモ"}  # fmt: skip
        self._delegate(
            REPRESENTATIVE_HEADER, internal, names,
            lambda p: related_imports.representatives_import(municipality=self.m, path=p, tax_items=self.tax_items),
            lambda v: internal(v, True),
        )  # fmt: skip

    # 036o014 送付先・連絡先情報
    def _write_addressees(self) -> None:
        from choshu.formats.related_csv import MAILING_HEADER

        def internal(v: dict[str, Any], delete: bool = False) -> dict[str, Any]:
            return {"taxpayer_no": self.taxpayer_no(v["宛名番号"]), "tax_item": v["業務詳細（科目）コード"],
                    "vehicle_no": v["軽自管理番号"], "name": v["氏名_名称"], "name_kana": v["氏名_名称_カタカナ"],
                    "postal_code": v["郵便番号"], "address": v["住所"], "address_extra": v["住所_方書"],
                    "kind": v["送付先区分"], "set_reason": v["送付先を設定する理由"], "phone": v["電話番号"],
                    "valid_from": v["登録年月日"], "valid_until": v["利用廃止年月日"], "memo": v["メモ"],
                    "delete_flag": "1" if delete or v["削除フラグ"] == "1" else "0", "operator_id": v["操作者ID"],
                    "operated_on": v["操作年月日"], "operated_time": v["操作時刻"]}  # fmt: skip

        names = {"taxpayer_no": "宛名番号", "tax_item": "業務詳細（科目）コード", "vehicle_no": "軽自管理番号",
                 "name": "氏名_名称", "name_kana": "氏名_名称_カタカナ", "postal_code": "郵便番号", "address": "住所",
                 "address_extra": "住所_方書", "kind": "送付先区分", "set_reason": "送付先を設定する理由",
                 "phone": "電話番号", "valid_from": "登録年月日", "valid_until": "利用廃止年月日", "memo": "メモ"}  # fmt: skip
        self._delegate(
            MAILING_HEADER, internal, names,
            lambda p: related_imports.mailing_addresses_import(municipality=self.m, path=p, tax_items=self.tax_items),
            lambda v: internal(v, True),
        )  # fmt: skip

    # 036o011 固定資産税_共有管理
    def _write_co_owners(self) -> None:
        from choshu.formats.related_csv import CO_OWNER_HEADER

        def internal(v: dict[str, Any], delete: bool = False) -> dict[str, Any]:
            num, den = v["現況持分_分子"], v["現況持分_分母"]
            if not num or not den:
                num, den = v["登記持分_分子"], v["登記持分_分母"]
            return {"ownership_taxpayer_no": self.taxpayer_no(v["共有_宛名番号"]), "levy_year": v["課税年度"],
                    "asset_group_no": v["共有資産番号"], "member_seq": v["構成員連番"],
                    "member_taxpayer_no": self.taxpayer_no(v["構成員_義務者宛名番号"]),
                    "is_representative": v["代表者フラグ"] or "0",
                    "share_numerator": num or "", "share_denominator": den or "",
                    "delete_flag": "1" if delete or v["削除フラグ"] == "1" else "0", "operator_id": v["操作者ID"],
                    "operated_on": v["操作年月日"], "operated_time": v["操作時刻"]}  # fmt: skip

        names = {"ownership_taxpayer_no": "共有_宛名番号", "levy_year": "課税年度", "asset_group_no": "共有資産番号",
                 "member_seq": "構成員連番", "member_taxpayer_no": "構成員_義務者宛名番号",
                 "is_representative": "代表者フラグ", "share_numerator": "現況持分_分子",
                 "share_denominator": "現況持分_分母"}  # fmt: skip
        self._delegate(
            CO_OWNER_HEADER, internal, names,
            lambda p: related_imports.co_owners_import(municipality=self.m, path=p),
            lambda v: internal(v, True),
        )  # fmt: skip

    # 036o010 振替口座情報 → one 口座振替依頼 request (debits.services.mandates_import: a 決裁 makes it effective)
    def _check_debit_accounts(self, rows: Sequence[Row], errors: list[RowError]) -> None:
        if self.actor is None and rows:
            errors.append(
                RowError(
                    0,
                    "",
                    "振替口座情報は口座振替依頼（決裁の申請）になるため、--operator（申請する職員）が必要です",
                )
            )
            return
        self._check_taxpayers(rows, errors, ("宛名番号",))

    def _write_debit_accounts(self) -> None:
        from choshu.debits.services import mandates_import
        from choshu.formats.debit_mandates import MANDATES_HEADER

        names = {"taxpayer_no": "宛名番号", "tax_item": "業務詳細（科目）コード", "bank_code": "金融機関コード",
                 "branch_code": "店舗番号", "deposit_type": "口座種別", "account": "口座番号",
                 "jp_kigo": "ゆうちょ銀行記号", "jp_bango": "ゆうちょ銀行番号", "holder_kana": "口座名義人カナ",
                 "holder_name": "口座名義人カナ", "start": "口座振替開始日", "end": "口座振替終了日",
                 "received_on": "操作年月日"}  # fmt: skip
        errors: list[RowError] = []
        wrote = 0
        with tempfile.TemporaryDirectory(prefix="choshu-std-") as tmp:
            out = Path(tmp) / "debit_mandates.csv"
            with out.open("w", encoding="utf-8", newline="") as fh:
                w = csv.writer(fh, lineterminator="\r\n")
                w.writerow(MANDATES_HEADER)
                line = 1
                for chunk in self.chunks(errors):
                    done = self.remember(chunk)
                    for row in chunk:
                        status, v = done[row.line][0], row.values
                        if status not in ("created", "updated") or not v["口座振替開始日"]:
                            self.summary.kept_only += status != "unchanged"  # an end or a stop: kept only
                            continue
                        while line < row.line - 1:
                            fh.write("\r\n")  # the standard file's line numbers, kept
                            line += 1
                        item = v["業務詳細（科目）コード"]
                        w.writerow([_cell(x) for x in (
                            self.taxpayer_no(v["宛名番号"]), "" if item == "00" else item, v["金融機関コード"],
                            v["店舗番号"], v["口座種別"], v["口座番号"], v["ゆうちょ銀行記号"], v["ゆうちょ銀行番号"],
                            v["口座名義人カナ"], v["口座振替開始日"], v["口座振替終了日"], v["操作年月日"] or self.today,
                        )])  # fmt: skip
                        line += 1
                        wrote += 1
                self.refuse(errors)
                if self.summary.mode == "full":
                    for rec in self.missing():
                        self.close(rec)
            if wrote:
                try:
                    self.summary.applied = mandates_import(
                        municipality=self.m, path=out, actor=self.actor,
                        reason=self.reason or f"統合収納の振替口座情報 {Path(self.file_name).name}",
                    )  # fmt: skip
                except FileRefused as refused:
                    raise FileRefused(
                        [
                            RowError(e.line, names.get(e.column, e.column), e.reason, e.value)
                            for e in refused.errors
                        ],
                        self.file_name,
                    ) from refused
                except (ValidationError, PermissionDenied) as exc:
                    messages = exc.messages if isinstance(exc, ValidationError) else [str(exc)]
                    raise FileRefused([RowError(0, "", m) for m in messages], self.file_name) from exc

    def _check_taxpayers(self, rows: Sequence[Row], errors: list[RowError], columns: Sequence[str]) -> None:
        wanted = {self.taxpayer_no(r.values[c]) for r in rows for c in columns if r.values.get(c)}
        known = set(
            Taxpayer.objects.filter(municipality=self.m, taxpayer_no__in=wanted).values_list(
                "taxpayer_no", flat=True
            )
        )
        for r in rows:
            for c in columns:
                if r.values.get(c) and self.taxpayer_no(r.values[c]) not in known:
                    errors.append(
                        RowError(
                            r.line,
                            c,
                            "宛名番号が登録されていません（住民情報・宛名を先に取り込んでください）",
                            r.raw.get(c, ""),
                        )
                    )

    # 036o006 収納履歴情報 → the payment engine
    def _check_payments(self, rows: Sequence[Row], errors: list[RowError]) -> None:
        found = self.find(rows, errors)
        known = {
            r.natural_key: r for r in StdRecord.objects.filter(
                municipality=self.m, kind=self.layout.kind, natural_key__in=[x.key for x in rows])
        }  # fmt: skip
        for r in rows:
            v = r.values
            if v["仮消区分"] in ("0", "1") and not r.deleted and _amount(v) <= 0 and r.line in found:
                errors.append(
                    RowError(r.line, "収納額_本税", "収納額（本税・督促手数料・延滞金の合計）が0円です")
                )
            old = known.get(r.key)
            live = old is not None and not old.deleted and old.data.get("仮消区分") in ("0", "1")
            if (
                live
                and not r.deleted
                and v["仮消区分"] in ("0", "1")
                and old is not None
                and (
                    _amount(_parsed(self.layout, old.data)) != _amount(v)
                    or old.data.get("領収日") != r.raw.get("領収日")
                )
            ):
                errors.append(RowError(r.line, "収納額_本税", CHANGED_PAYMENT))

    def _write_payments(self) -> None:
        engine = PaymentEngine(
            municipality_id=self.m.pk, municipality_code=self.m.code, channel=Channel.STANDARD, job_id=None,
            actor_id=self.actor.pk if self.actor else None, now=timezone.now(),
        )  # fmt: skip
        counts = {"posted": 0, "provisional": 0, "cancelled": 0}
        with engine:
            errors: list[RowError] = []
            for chunk in self.chunks(errors):
                insts = self.find(chunk, errors)
                done = self.remember(chunk)
                records: list[PaymentRecord] = []
                for row in chunk:
                    status, rec, before = done[row.line]
                    if status == "unchanged":
                        continue
                    was = _parsed(self.layout, before["data"]) if before and not before["deleted"] else None
                    records.extend(
                        self._payment_records(
                            row.line, row.key, row.values, row.deleted, was, insts.get(row.line), counts
                        )
                    )
                engine.add(records)
            self.refuse(errors)
            if self.summary.mode == "full":
                closing: list[PaymentRecord] = []
                for n, rec in enumerate(self.missing(), start=CLOSING_LINE):
                    v = _parsed(self.layout, rec.data)
                    closing.extend(self._payment_records(n, rec.natural_key, v, True, v, None, counts))
                    if len(closing) >= CHUNK:
                        engine.add(closing)
                        closing = []
                    self.close(rec)
                engine.add(closing)
            out = engine.run()
        if out.errors:
            raise FileRefused([RowError(*e) for e in out.errors], self.file_name)
        self.summary.applied = {**counts, "suspense": out.suspense, "overpaid": out.overpaid}

    def _payment_records(
        self, line: int, key: str, v: dict[str, Any], deleted: bool, was: dict[str, Any] | None,
        inst: Installment | None, counts: dict[str, int],
    ) -> list[PaymentRecord]:  # fmt: skip
        out: list[PaymentRecord] = []
        ref = f"036o006:{key}"[:120]
        slip, item = (inst.slip_no or "", inst.levy.tax_item) if inst else ("", v["業務詳細（科目）コード"])
        detail = {"収納履歴番号": str(v.get("収納履歴番号", "")), "仮消区分": str(v.get("仮消区分", ""))}
        live = not deleted and v["仮消区分"] in ("0", "1")
        if was is not None and was.get("仮消区分") in ("0", "1"):
            if live and (was["仮消区分"] == v["仮消区分"] or was["仮消区分"] == "1"):
                return out  # the same payment (a change of it is refused by the check); 本消 → 仮消: kept
            if not live:  # undo what the record did
                kind = RecordKind.CANCEL if was["仮消区分"] == "1" else RecordKind.CANCEL_PROVISIONAL
                out.append(PaymentRecord(line, Channel.STANDARD, kind, ref, slip, "", item, _amount(was),
                                         was["領収日"], was.get("収入日"), detail))  # fmt: skip
                counts["cancelled"] += 1
                return out
        if deleted or v["仮消区分"] not in ("0", "1"):
            return out
        kind = RecordKind.FINAL if v["仮消区分"] == "1" else RecordKind.PROVISIONAL
        out.append(PaymentRecord(line, Channel.STANDARD, kind, ref, slip, "", item, _amount(v), v["領収日"],
                                 v.get("収入日") or v["領収日"], detail))  # fmt: skip
        counts["posted" if kind is RecordKind.FINAL else "provisional"] += 1
        return out

    # 036o007 督促情報 → an external 督促 in dunning
    def _check_dunning(self, rows: Sequence[Row], errors: list[RowError]) -> None:
        found = self.find(rows, errors)
        lines = dict(DunningNoticeInstallment.objects.filter(installment_id__in=[i.pk for i in found.values()])
                     .values_list("installment_id", "notice_id"))  # fmt: skip
        mine = set(StdRecord.objects.filter(municipality=self.m, kind=self.layout.kind, target_type="dunning_notice",
                                            target_id__in=list(lines.values())).values_list("target_id", flat=True))  # fmt: skip
        for r in rows:
            i = found.get(r.line)
            if i is None or r.deleted:
                continue
            if not r.values["督促状発行日"] and r.values["引き抜き区分"] != "1":
                errors.append(RowError(r.line, "督促状発行日", "督促状発行日が空です"))
            if i.pk in lines and lines[i.pk] not in mine:
                errors.append(
                    RowError(
                        r.line,
                        "通知書番号",
                        "この期別には choshu で督促状が発付されています（二重の督促は記録できません）",
                    )
                )

    def _batch_of(self) -> DunningBatch:
        if self._batch is None:
            self._batch = DunningBatch.objects.create(
                municipality=self.m, as_of=self.today, created_by=self.actor,
                counts={"source": "036o007", "std_file": self.file.pk},
            )  # fmt: skip
        return self._batch

    def _write_dunning(self) -> None:
        counts = {"issued": 0, "withdrawn": 0, "returned": 0}
        self._each_record(lambda rec, v, deleted, inst: self._dunning_one(rec, v, deleted, inst, counts))
        self.summary.applied = counts

    def _dunning_one(
        self,
        rec: StdRecord,
        v: dict[str, Any],
        deleted: bool,
        inst: Installment | None,
        counts: dict[str, int],
    ) -> None:
        notice = DunningNotice.objects.filter(pk=rec.target_id).first() if rec.target_id else None
        withdrawn = deleted or v["引き抜き区分"] == "1" or not v["督促状発行日"]
        if withdrawn:
            if notice is not None and notice.status != NoticeStatus.CANCELLED:
                notice.status = NoticeStatus.CANCELLED
                notice.save(update_fields=["status"])
                counts["withdrawn"] += 1
            return
        issued = v["督促状発行日"]
        if notice is None:
            assert inst is not None
            principal = max(inst.principal_outstanding, 0)
            notice = DunningNotice.objects.create(
                municipality=self.m, batch=self._batch_of(), taxpayer=inst.taxpayer, tax_item=inst.levy.tax_item,
                issued_on=issued, pay_by=dunning_payment_deadline(issued), principal=principal, late_charge=0,
                fee=0, total=principal, status=NoticeStatus.ISSUED,
            )  # fmt: skip
            DunningNoticeInstallment.objects.create(
                notice=notice, installment=inst, principal=principal, late_charge=0
            )
            rec.target_type, rec.target_id = "dunning_notice", notice.pk
            rec.save(update_fields=["target_type", "target_id"])
        elif notice.issued_on != issued or notice.status != NoticeStatus.ISSUED:
            notice.issued_on, notice.pay_by, notice.status = (
                issued,
                dunning_payment_deadline(issued),
                NoticeStatus.ISSUED,
            )
            notice.save(update_fields=["issued_on", "pay_by", "status"])
        counts["issued"] += 1
        if v["督促状返戻日"] and not ReturnedMail.objects.filter(notice=notice).exists():
            self._returned(
                notice, v["督促状返戻日"], ReturnReason.OTHER, "統合収納の督促情報（督促状返戻日）"
            )
            counts["returned"] += 1

    def _returned(self, notice: DunningNotice, on: date, reason: ReturnReason, note: str) -> ReturnedMail:
        return ReturnedMail.objects.create(
            municipality=self.m, notice=notice, taxpayer=notice.taxpayer, tax_item=notice.tax_item, returned_on=on,
            reason=reason, note=note[:300], sent_via="std036", created_by=self.actor,
        )  # fmt: skip

    # 036o008 / 036o009 督促停止情報 → DunningSuppression
    def _check_stop_detail(self, rows: Sequence[Row], errors: list[RowError]) -> None:
        self.find(rows, errors)
        for r in rows:
            v = r.values
            if (
                v["督促停止解除年月日"]
                and v["督促停止年月日"]
                and v["督促停止解除年月日"] < v["督促停止年月日"]
            ):
                errors.append(RowError(r.line, "督促停止解除年月日", "解除年月日が督促停止年月日より前です"))

    def _check_stop(self, rows: Sequence[Row], errors: list[RowError]) -> None:
        self._check_taxpayers(rows, errors, ("宛名番号",))

    def _write_stop_detail(self) -> None:
        counts = {"suppressed": 0, "ended": 0}
        self._each_record(lambda rec, v, deleted, inst: self._stop_one(rec, v, deleted, inst, counts))
        self.summary.applied = counts

    def _stop_one(
        self,
        rec: StdRecord,
        v: dict[str, Any],
        deleted: bool,
        inst: Installment | None,
        counts: dict[str, int],
    ) -> None:
        s = DunningSuppression.objects.filter(pk=rec.target_id).first() if rec.target_id else None
        start: date = v["督促停止年月日"]
        lifted: date | None = v["督促停止解除年月日"]
        end = None if lifted is None else max(start, lifted - timedelta(days=1))
        note = f"統合収納の督促停止（管理番号 {v['督促停止管理番号']}、事由 {v['督促停止事由'] or '—'}）"
        if deleted:
            end = start if s is None or s.end is None else min(s.end, max(start, self.today))
        if s is None:
            if deleted or inst is None:
                return
            s = DunningSuppression.objects.create(
                municipality=self.m, installment=inst, taxpayer_id=inst.taxpayer_id, reason=SuppressionReason.MANUAL,
                start=start, end=end, note=note[:300], created_by=self.actor,
            )  # fmt: skip
            rec.target_type, rec.target_id = "dunning_suppression", s.pk
            rec.save(update_fields=["target_type", "target_id"])
            counts["suppressed"] += 1
            return
        s.start, s.end, s.note = start, end, note[:300]
        if end is not None:
            s.ended_by = self.actor
            s.end_note = (
                "統合収納で削除" if deleted else f"統合収納で解除（事由 {v['督促停止解除事由'] or '—'}）"
            )[:300]
            counts["ended"] += 1
        s.save()

    def _write_stop(self) -> None:
        """036o008 (the stop order): kept; its 解除年月日 ends the 期別 stops of its 管理番号."""
        counts = {"ended": 0}

        def apply(row: Row, status: str, rec: StdRecord | None, before: dict[str, Any] | None) -> None:
            no = row.values["督促停止管理番号"]
            lifted = row.values["督促停止解除年月日"]
            if lifted is None and not row.deleted:
                return
            for d in StdRecord.objects.filter(municipality=self.m, kind="036o009", natural_key__startswith=f"{no}|",
                                              target_type="dunning_suppression"):  # fmt: skip
                v = {**_parsed(LAYOUTS["036o009"], d.data)}
                if lifted is not None:
                    v["督促停止解除年月日"] = lifted
                    v["督促停止解除事由"] = row.values["督促停止解除事由"]
                self._stop_one(d, v, row.deleted, None, counts)

        self._each(apply)
        if self.summary.mode == "full":
            for rec in self.missing():
                self.close(rec)
        self.summary.applied = counts

    # 036o012 返戻情報 → ReturnedMail of the 督促状 (other documents: kept only)
    def _check_returned(self, rows: Sequence[Row], errors: list[RowError]) -> None:
        self._check_taxpayers(rows, errors, ("宛名番号",))

    def _write_returned(self) -> None:
        counts = {"returned": 0, "cleared": 0}

        def apply(row: Row, status: str, rec: StdRecord | None, before: dict[str, Any] | None) -> None:
            assert rec is not None
            v = row.values
            rm = ReturnedMail.objects.filter(pk=rec.target_id).first() if rec.target_id else None
            if rm is None and not row.deleted:
                line = DunningNoticeInstallment.objects.filter(
                    installment__municipality=self.m, installment__levy__tax_item=v["業務詳細（科目）コード"],
                    installment__levy__levy_year=v["賦課年度"], installment__levy__relevant_year=v["相当年度"],
                    installment__levy__notice_no=notice_no(v["通知書番号"]), installment__installment_no=v["期別"],
                    notice__status=NoticeStatus.ISSUED, notice__returned_mail__isnull=True,
                ).select_related("notice__taxpayer").first()  # fmt: skip
                if line is None:
                    self.summary.kept_only += 1
                    return
                rm = self._returned(line.notice, v["返戻日"], ReturnReason.OTHER,
                                    f"統合収納の返戻情報（返戻事由 {v['返戻事由'] or '—'}、返戻物種別 {v['返戻物種別'] or '—'}）")  # fmt: skip
                rec.target_type, rec.target_id = "returned_mail", rm.pk
                rec.save(update_fields=["target_type", "target_id"])
                counts["returned"] += 1
            if rm is None:
                return
            cleared = self.today if row.deleted else v["再発送日"]
            if cleared and rm.cleared_on is None:
                rm.cleared_on = cleared
                rm.cleared_note = "統合収納で削除" if row.deleted else "統合収納で再発送"
                rm.save(update_fields=["cleared_on", "cleared_note"])
                counts["cleared"] += 1

        self._each(apply)
        if self.summary.mode == "full":
            for rec in self.missing():
                self.close(rec)
        self.summary.applied = counts


def _amount(v: dict[str, Any]) -> int:
    return (
        int(v.get("収納額_本税") or 0)
        + int(v.get("収納額_督促手数料") or 0)
        + int(v.get("収納額_延滞金") or 0)
    )


def _parsed(layout: Layout, data: dict[str, str]) -> dict[str, Any]:
    """A stored record's items parsed again (they were valid when received)."""
    out: dict[str, Any] = {}
    for col in layout.columns:
        out[col.name] = _value(col, data.get(col.name, ""))[0]
    if out.get("相当年度") is None and "相当年度" in out:
        out["相当年度"] = out.get("賦課年度")
    return out


def _cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, (date, time, datetime)):
        return v.isoformat()
    return str(v)
