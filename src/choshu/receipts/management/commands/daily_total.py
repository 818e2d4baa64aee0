from __future__ import annotations

from argparse import ArgumentParser
from datetime import date
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError

from choshu.core.commands import EXIT_REFUSED, ChoshuCommand
from choshu.receipts.selectors import YEAR_CLASS, daily_totals, daily_totals_csv


class Command(ChoshuCommand):
    help = "日計表: 日計日ごと・収納経路・税目・現年/滞繰の件数と金額（消込・未消込）"

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("--date", required=True, metavar="YYYY-MM-DD")
        parser.add_argument("--csv", metavar="FILE", help="CSV にも出力する（既定 CP932）")
        parser.add_argument("--encoding", default="cp932", choices=["cp932", "utf-8"])

    def run(self, **options: Any) -> None:
        try:
            day = date.fromisoformat(options["date"])
        except ValueError as exc:
            raise CommandError(
                f"--date の日付が不正です: {options['date']}", returncode=EXIT_REFUSED
            ) from exc
        totals = daily_totals(municipality=self.municipality(options), booked_on=day)
        if options.get("csv"):
            Path(options["csv"]).write_bytes(daily_totals_csv(totals, encoding=options["encoding"]))
        lines = (
            [f"日計 {day}"]
            + [
                f"{r.channel_name} {r.tax_item_name} {YEAR_CLASS[r.year_class]} {r.count}件 "
                f"消込{r.amount_posted:,}円 未消込{r.amount_suspense:,}円"
                for r in totals.rows
            ]
            + [f"合計 {totals.count}件 消込{totals.amount_posted:,}円 未消込{totals.amount_suspense:,}円"]
        )
        self.emit(options, totals.as_dict(), "\n".join(lines))
