"""催告センターへの対象者ファイル (issue 20 §1): ``choshu callcenter-export --month YYYY-MM --out FILE``.

The people: those with 本税 outstanding past its 指定納期限 on the 基準日 (``as_of``; of the current 年度
only by default), not extinguished, at least ``min_amount`` in total. Each is then kept or counted
under the first reason that leaves them out, in this order: ``deceased`` (死亡日・解散日 on or before the
基準日), ``protected`` (支援措置), ``relief`` (a 緩和制度 in force), ``enforcement`` (open case 処分中),
``promise_pending`` (a 納付約束 dated on or after the 基準日), ``no_case`` (no open 滞納案件: the centre's
calls land in the case), ``below_min_amount``. The people are read by keyset, 1,000 at a time, with a
fixed number of queries per slice (the exclusion tests as ``EXISTS`` subqueries); amounts per
installment are ``levies.selectors.amounts_due_lines`` (本税, 延滞金 as of the 基準日 through
``rules.late_charge.late_charges_as_of``, 督促手数料) — the dunning run's batch source.

Each kept person gets a random 対象者ID (never the 宛名番号) stored in ``CallTarget`` with the amounts,
so the results map back. Never written: 個人番号, 住所, 宛名番号; 生年月日 only when the criteria say so.
CSV (CP932 by default, or UTF-8 with BOM) via ``formats.csv_safe`` and ``core.outfiles.output_file``,
published in the transaction that stores the targets and the audit record (出力, rows and SHA-256).
Layout: docs/formats.md §23.
"""

from __future__ import annotations

import calendar
import re
import secrets
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet, Sum

from choshu.audit.models import AuditKind
from choshu.audit.services import audit_record
from choshu.callcenter.criteria import Criteria, criteria_on
from choshu.callcenter.models import CallExport, CallTarget
from choshu.cases.models import Case, ContactLog, Stage
from choshu.core.models import Municipality
from choshu.core.outfiles import check_out, output_file
from choshu.formats.csv_safe import UTF8_BOM, cp932_unencodable, csv_line_writer, encode_cp932
from choshu.levies.models import Installment
from choshu.levies.selectors import amounts_due_lines
from choshu.levies.slip_numbers import system_slip_no
from choshu.levies.tax_items import tax_item_name
from choshu.relief.models import Relief, ReliefStatus
from choshu.taxpayers.models import Taxpayer
from choshu.taxpayers.protection import active_on

SLICE = 1000
FUNCTION = "催告センター対象者ファイル出力"
REASONS = {
    "deceased": "死亡・解散",
    "protected": "支援措置対象者",
    "relief": "緩和制度の適用中",
    "enforcement": "滞納処分中",
    "promise_pending": "納付約束の期日前",
    "no_case": "滞納案件なし",
    "below_min_amount": "滞納額が下限未満",
}
HEADER = [
    "対象年月", "対象者ID", "氏名・名称", "カナ氏名", "電話番号", "税目", "年度", "期別", "指定納期限",
    "本税", "延滞金", "督促手数料", "合計", "延滞金の基準日", "納付番号",
]  # fmt: skip
BIRTH = "生年月日"
ENCODINGS = ("cp932", "utf-8")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_ID_CHARS = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read over the phone


@dataclass
class ExportSummary:
    month: str
    as_of: str
    encoding: str
    targets: int = 0
    rows: int = 0
    amount: int = 0
    excluded: dict[str, int] = field(default_factory=lambda: dict.fromkeys(REASONS, 0))
    replaced: int = 0
    file: str = ""
    sha256: str = ""
    criteria: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def parse_month(text: str) -> tuple[str, date, date]:
    """``YYYY-MM`` → (the month, its first day, its last day); a clear message otherwise."""
    m = _MONTH.match((text or "").strip())
    if not m or not 1 <= int(m.group(2)) <= 12 or int(m.group(1)) < 2000:
        raise ValidationError(
            f"対象年月 {text!r} は年月ではありません（YYYY-MM で指定してください。例: 2026-12）"
        )
    year, month = int(m.group(1)), int(m.group(2))
    return (
        f"{year:04d}-{month:02d}",
        date(year, month, 1),
        date(year, month, calendar.monthrange(year, month)[1]),
    )


def fiscal_year(on: date) -> int:
    """年度 (April to March)."""
    return on.year if on.month >= 4 else on.year - 1


def new_target_id() -> str:
    return "C" + "".join(secrets.choice(_ID_CHARS) for _ in range(9))


def arrears(m: Municipality, as_of: date, c: Criteria) -> QuerySet[Installment]:
    """The installments the list is about (before the per-person tests)."""
    qs = Installment.objects.filter(
        municipality=m, principal_outstanding__gt=0, designated_due_date__lt=as_of
    ).filter(Q(extinguished_on__isnull=True) | Q(extinguished_on__gt=as_of))
    if c.current_year_only:
        qs = qs.filter(levy__levy_year=fiscal_year(as_of))
    return qs


def _people(m: Municipality, as_of: date, c: Criteria) -> Iterator[list[tuple[int, int]]]:
    """(taxpayer id, 本税 total) by keyset, ``SLICE`` people at a time."""
    base = arrears(m, as_of, c).order_by().values("taxpayer_id").annotate(p=Sum("principal_outstanding"))
    last = 0
    while True:
        rows = list(
            base.filter(taxpayer_id__gt=last).order_by("taxpayer_id").values_list("taxpayer_id", "p")[:SLICE]
        )
        if not rows:
            return
        last = rows[-1][0]
        yield [(int(t), int(p)) for t, p in rows]


def _flags(ids: list[int], as_of: date) -> QuerySet[Any]:
    tp = OuterRef("pk")
    open_case = Case.objects.filter(taxpayer_id=tp, closed_on__isnull=True)
    relief = (
        Relief.objects.filter(taxpayer_id=tp, status=ReliefStatus.ACTIVE, start__lte=as_of)
        .filter(Q(end__isnull=True) | Q(end__gte=as_of))
        .filter(Q(cancelled_on__isnull=True) | Q(cancelled_on__gt=as_of))
    )
    return (
        Taxpayer.objects.filter(pk__in=ids)
        .annotate(
            x_protected=Exists(Taxpayer.objects.filter(pk=tp).filter(active_on(as_of))),
            x_relief=Exists(relief),
            x_enforcement=Exists(open_case.filter(stage=Stage.ENFORCEMENT)),
            x_promise=Exists(ContactLog.objects.filter(taxpayer_id=tp, promise_on__gte=as_of)),
            x_case=Exists(open_case),
        )
        .values(
            "pk",
            "name",
            "name_kana",
            "phone",
            "birth_date",
            "deceased_on",
            "x_protected",
            "x_relief",
            "x_enforcement",
            "x_promise",
            "x_case",
        )  # fmt: skip
    )


def exclusion(p: dict[str, Any], principal: int, as_of: date, c: Criteria) -> str | None:
    """The first reason that leaves the person out (module docstring), or None."""
    if p["deceased_on"] is not None and p["deceased_on"] <= as_of:
        return "deceased"
    if p["x_protected"]:
        return "protected"
    if c.exclude_relief and p["x_relief"]:
        return "relief"
    if c.exclude_enforcement and p["x_enforcement"]:
        return "enforcement"
    if c.exclude_promise_pending and p["x_promise"]:
        return "promise_pending"
    if not p["x_case"]:
        return "no_case"
    if principal < c.min_amount:
        return "below_min_amount"
    return None


def _rows(
    m: Municipality, export: CallExport, as_of: date, c: Criteria, s: ExportSummary
) -> Iterator[list[object]]:
    for people in _people(m, as_of, c):
        totals = dict(people)
        kept: dict[int, dict[str, Any]] = {}
        for p in _flags(list(totals), as_of):
            reason = exclusion(p, totals[p["pk"]], as_of, c)
            if reason is None:
                kept[p["pk"]] = p
            else:
                s.excluded[reason] += 1
        if not kept:
            continue
        insts = list(
            arrears(m, as_of, c).filter(taxpayer_id__in=list(kept))
            .order_by("taxpayer_id", "levy__levy_year", "levy__tax_item", "installment_no", "pk")
            .values_list("pk", "taxpayer_id", "levy__tax_item", "levy__levy_year", "installment_no",
                         "designated_due_date", "slip_no")
        )  # fmt: skip
        dues = {
            d.installment_id: d for d in amounts_due_lines(installment_ids=[i[0] for i in insts], as_of=as_of)
        }
        targets: dict[int, CallTarget] = {}
        lines: list[list[object]] = []
        for pk, tp, item, year, no, designated, slip in insts:
            d = dues[pk]
            if d.late_charge is None:
                raise ValidationError(
                    f"{year}年度の延滞金の割合が設定されていないため、延滞金を計算できません"
                    "（choshu の延滞金割合の設定を確認してください。何も出力していません）"
                )
            total = d.principal_due + d.late_charge + d.dunning_fee
            t = targets.get(tp)
            if t is None:
                t = targets[tp] = CallTarget(municipality=m, export=export, month=export.month,
                                             target_id=new_target_id(), taxpayer_id=tp)  # fmt: skip
            t.principal += d.principal_due
            t.late_charge += d.late_charge
            t.amount += total
            t.installments += 1
            p = kept[tp]
            cells: list[object] = [export.month, t.target_id, p["name"], p["name_kana"], p["phone"],
                                   tax_item_name(m.pk, item), year, no, designated, d.principal_due,
                                   d.late_charge, d.dunning_fee, total, as_of, slip or system_slip_no(pk)]  # fmt: skip
            if c.include_birth_date:
                cells.insert(5, p["birth_date"])
            lines.append(cells)
        CallTarget.objects.bulk_create(targets.values(), batch_size=SLICE)
        s.targets += len(targets)
        s.amount += sum(t.amount for t in targets.values())
        s.rows += len(lines)
        yield from lines


def _encoded(rows: Iterator[list[object]], header: list[str], s: ExportSummary) -> Iterator[bytes]:
    line = csv_line_writer()
    if s.encoding == "utf-8":
        yield (UTF8_BOM + line(header)).encode("utf-8")
        for row in rows:
            yield line(row).encode("utf-8")
        return
    yield encode_cp932(line(header))
    for row in rows:
        text = line(row)
        if cp932_unencodable(text):
            s.replaced += 1
        yield encode_cp932(text)


def callcenter_export(*, municipality: Municipality, month: str, out: str | Path, today: date,
                      as_of: date | None = None, encoding: str = "cp932", actor: Any = None) -> ExportSummary:  # fmt: skip
    """Write the month's target file (never over an existing file; all or nothing) and store the
    targets. One file per month: a second export of the same month is refused."""
    month, first, last = parse_month(month)
    if last < today:
        raise ValidationError(
            f"{month} は終わった月です。当月か翌月以降の対象年月を指定してください（何も出力していません）"
        )
    as_of = as_of or today
    if as_of > last:
        raise ValidationError(f"延滞金の基準日 {as_of} が対象年月 {month} より後です（何も出力していません）")
    if encoding not in ENCODINGS:
        raise ValidationError("文字コードは cp932 か utf-8 を指定してください（何も出力していません）")
    if CallExport.objects.filter(municipality=municipality, month=month).exists():
        raise ValidationError(
            f"{month} の対象者ファイルは出力済みです（契約月の対象者は一度渡したら変えません。何も出力していません）"
        )
    path = Path(out)
    check_out(path)
    c = criteria_on(municipality, as_of)
    s = ExportSummary(
        month=month, as_of=as_of.isoformat(), encoding=encoding, file=path.name, criteria=c.as_dict()
    )
    header = list(HEADER)
    if c.include_birth_date:
        header.insert(5, BIRTH)
    with output_file(path) as f, transaction.atomic():
        export = CallExport.objects.create(municipality=municipality, month=month, as_of=as_of, file_name=path.name,
                                           sha256="", criteria=c.as_dict(), created_by=actor if _staff(actor) else None)  # fmt: skip
        for data in _encoded(_rows(municipality, export, as_of, c, s), header, s):
            f.write(data)
        s.sha256 = f.sha256
        CallExport.objects.filter(pk=export.pk).update(
            sha256=s.sha256, targets=s.targets, rows=s.rows, amount=s.amount, excluded=s.excluded
        )
        audit_record(kind=AuditKind.EXPORT, function=FUNCTION, municipality=municipality, user=actor,
                     detail={k: v for k, v in s.as_dict().items() if k != "criteria"})  # fmt: skip
        f.publish()
    return s


def _staff(actor: Any) -> bool:
    return bool(getattr(actor, "is_authenticated", False))
