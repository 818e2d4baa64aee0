"""滞納者データ (issue 18 §9): ``choshu delinquents-extract --month YYYY-MM --out FILE`` — one row per
person with 本税 in arrears on the month's last day (or today, for the current month), with the arrears
by tax item and year, the case's stage, team and officer. CP932 CSV through ``formats.csv_safe``
(layout: docs/formats.md §21). Read by keyset 1,000 people at a time with a fixed number of queries
per slice; written to a hidden file and given its name when complete (as the print data is)."""

from __future__ import annotations

import calendar
import re
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Min, Q, Sum

from choshu.audit.models import AuditKind
from choshu.audit.services import audit_record
from choshu.cases.models import Case
from choshu.core.models import Municipality
from choshu.core.outfiles import check_out, output_file
from choshu.formats.csv_safe import cp932_unencodable, csv_line_writer, encode_cp932
from choshu.levies.models import Installment
from choshu.levies.tax_items import tax_item_name
from choshu.taxpayers.models import Taxpayer

SLICE = 1000
GROUPS = 10
FUNCTION = "滞納者データ出力"
HEADER = [
    "抽出年月", "基準日", "宛名番号", "氏名・名称", "カナ氏名", "区分", "案件番号", "進行状況", "案件開始日", "班",
    "担当者", "本税滞納額合計", "滞納期別数", "最古の指定納期限", "外字置換",
    *[c for n in range(1, GROUPS + 1) for c in (f"税目コード{n}", f"税目{n}", f"年度{n}", f"本税{n}", f"期別数{n}")],
]  # fmt: skip
_GAIJI = HEADER.index("外字置換")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


@dataclass
class ExtractSummary:
    month: str
    as_of: str
    persons: int = 0
    amount_total: int = 0
    with_case: int = 0
    replaced: int = 0
    file: str = ""
    sha256: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def parse_month(text: str, today: date) -> tuple[str, date]:
    """``YYYY-MM`` → (the month, its 基準日: the last day, or today for the current month)."""
    m = _MONTH.match(text.strip())
    if not m or not 1 <= int(m.group(2)) <= 12:
        raise ValidationError(
            f"--month の値 {text!r} は年月ではありません（YYYY-MM で指定してください。例: 2026-11）"
        )
    year, month = int(m.group(1)), int(m.group(2))
    start = date(year, month, 1)
    if start > today:
        raise ValidationError(f"{text} はまだ始まっていない月です（{today:%Y-%m} 以前を指定してください）")
    end = date(year, month, calendar.monthrange(year, month)[1])
    return f"{year:04d}-{month:02d}", min(end, today)


def _people(m: Municipality, as_of: date) -> Iterator[list[int]]:
    base = Installment.objects.filter(
        municipality=m, principal_outstanding__gt=0, designated_due_date__lte=as_of
    )
    last = 0
    while True:
        ids = list(
            base.filter(taxpayer_id__gt=last)
            .values_list("taxpayer_id", flat=True)
            .distinct()
            .order_by("taxpayer_id")[:SLICE]
        )
        if not ids:
            return
        last = ids[-1]
        yield ids


def _rows(m: Municipality, month: str, as_of: date, summary: ExtractSummary) -> Iterator[list[object]]:
    for ids in _people(m, as_of):
        groups: dict[int, list[tuple[str, int, int, int]]] = defaultdict(list)
        for tp, item, year, amount, n in (
            Installment.objects.filter(
                taxpayer_id__in=ids, principal_outstanding__gt=0, designated_due_date__lte=as_of
            )
            .values("taxpayer_id", "levy__tax_item", "levy__levy_year")
            .annotate(amount=Sum("principal_outstanding"), n=Count("pk"), oldest=Min("designated_due_date"))
            .order_by("taxpayer_id", "levy__levy_year", "levy__tax_item")
            .values_list("taxpayer_id", "levy__tax_item", "levy__levy_year", "amount", "n")
        ):
            groups[tp].append((item, year, int(amount), n))
        oldest = dict(
            Installment.objects.filter(taxpayer_id__in=ids, principal_outstanding__gt=0, designated_due_date__lte=as_of)
            .values("taxpayer_id").annotate(o=Min("designated_due_date")).values_list("taxpayer_id", "o")
        )  # fmt: skip
        people = {
            p["pk"]: p
            for p in Taxpayer.objects.filter(pk__in=ids).values(
                "pk", "taxpayer_no", "name", "name_kana", "kind"
            )
        }
        cases = {
            c.taxpayer_id: c
            for c in Case.objects.filter(taxpayer_id__in=ids, opened_on__lte=as_of)
            .filter(Q(closed_on__isnull=True) | Q(closed_on__gt=as_of))
            .select_related("officer")
        }
        for tp in ids:
            p, g, c = people[tp], groups[tp], cases.get(tp)
            total = sum(x[2] for x in g)
            summary.persons += 1
            summary.amount_total += total
            summary.with_case += int(c is not None)
            cells: list[object] = [
                month, as_of, p["taxpayer_no"], p["name"], p["name_kana"], Taxpayer(kind=p["kind"]).get_kind_display(),
                c.pk if c else "", c.get_stage_display() if c else "", c.opened_on if c else "", c.team if c else "",
                str(c.officer) if c and c.officer else "", total, sum(x[3] for x in g), oldest.get(tp), 0,
            ]  # fmt: skip
            shown = g if len(g) <= GROUPS else g[: GROUPS - 1]
            for item, year, amount, n in shown:
                cells += [item, tax_item_name(m.pk, item), year, amount, n]
            if len(g) > GROUPS:
                rest = g[GROUPS - 1 :]
                cells += ["", f"ほか{len(rest)}件", "", sum(x[2] for x in rest), sum(x[3] for x in rest)]
            cells += [""] * (len(HEADER) - len(cells))
            yield cells


def _encoded(m: Municipality, month: str, as_of: date, summary: ExtractSummary) -> Iterator[bytes]:
    line = csv_line_writer()
    yield encode_cp932(line(HEADER))
    for row in _rows(m, month, as_of, summary):
        text = line(row)
        try:
            yield text.encode("cp932")
            continue
        except UnicodeEncodeError:
            pass
        if cp932_unencodable(text):
            row[_GAIJI] = 1
            text = line(row)
            summary.replaced += 1
        yield encode_cp932(text)


def delinquents_extract(*, municipality: Municipality, month: str, out: str | Path, today: date,
                        actor: Any = None) -> ExtractSummary:  # fmt: skip
    """Write the month's 滞納者データ to ``out`` (never over an existing file; all or nothing)."""
    month, as_of = parse_month(month, today)
    path = Path(out)
    check_out(path)
    summary = ExtractSummary(month=month, as_of=as_of.isoformat(), file=path.name)
    with output_file(path) as f:
        for data in _encoded(municipality, month, as_of, summary):
            f.write(data)
        summary.sha256 = f.sha256
        with transaction.atomic():
            audit_record(kind=AuditKind.EXPORT, function=FUNCTION, municipality=municipality, user=actor,
                         detail=summary.as_dict())  # fmt: skip
            f.publish()
    return summary
