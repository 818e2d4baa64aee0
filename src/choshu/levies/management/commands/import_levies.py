from __future__ import annotations

from argparse import ArgumentParser
from datetime import date
from typing import Any

from django.core.management.base import CommandError
from django.utils import timezone

from choshu.core.commands import EXIT_REFUSED, ChoshuCommand
from choshu.levies.services import levies_import


class Command(ChoshuCommand):
    help = "調定ファイル levies.csv を取り込む（本税の変更は更正として記帳）"

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.add_argument(
            "--booking-date",
            metavar="YYYY-MM-DD",
            help="調定・更正を記帳する日（既定: 今日）",
        )
        parser.add_argument("file")

    def run(self, **options: Any) -> None:
        booking_date = _booking_date(options["booking_date"])
        bar = self.progress_bar(options["file"], header_lines=1)
        try:
            summary = levies_import(
                municipality=self.municipality(options),
                path=options["file"],
                booking_date=booking_date,
                progress=bar,
            )
        finally:
            if bar is not None:
                bar.finish("")
        d = summary.as_dict()
        self.emit(
            options,
            d,
            f"調定取込: {d['rows']}行 新規{d['created']} 更新{d['updated']} 更正{d['corrections']} 変更なし{d['unchanged']}",
        )


def _booking_date(value: str | None) -> date:
    if not value:
        return timezone.localdate()
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"--booking-date の日付が不正です: {value}", returncode=EXIT_REFUSED) from exc
