from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.db import transaction
from django.utils import timezone

from choshu.audit.models import AuditKind
from choshu.audit.services import audit_record
from choshu.core.commands import ChoshuCommand
from choshu.reports.statistics import SUPPRESSED, parse_month, statistics


class Command(ChoshuCommand):
    help = (
        "月次統計: 対象月の税目別・現年課税分／滞納繰越分の収納率（月ごとの累計と前年度同月）、滞納の経過年数別・"
        "進行状況別、収納経路別の収入、還付・不納欠損を元帳から集計する（集計値のみ。最小人数未満のセルは秘匿）"
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("--month", required=True, metavar="YYYY-MM", help="対象年月")

    def run(self, **options: Any) -> None:
        municipality = self.municipality(options)
        month = parse_month(options["month"], timezone.localdate())
        s = statistics(municipality, month)
        with transaction.atomic():
            audit_record(
                kind=AuditKind.ACCESS, function="月次統計の出力", municipality=municipality,
                detail={"month": f"{month:%Y-%m}"},
            )  # fmt: skip
        total = next(r for r in s.rates if r.tax_item == "*" and r.category == "*")
        ch = s.by_channel.total.cell
        human = (
            f"{month.year}年{month.month}月 月次統計（{s.fiscal_year}年度、秘匿基準 {s.min_persons}人未満）: "
            f"収納率累計 {SUPPRESSED if total.suppressed else (total.rate or '－') + '％'}、"
            f"当月収入 {SUPPRESSED if ch.suppressed else f'{ch.amount:,} 円'}"
        )
        self.emit(options, s.as_dict(), human)
