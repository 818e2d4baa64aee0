from __future__ import annotations

from argparse import ArgumentParser
from datetime import date
from typing import Any

from django.core.management.base import CommandError
from django.utils import timezone

from choshu.core.commands import EXIT_REFUSED, ChoshuCommand
from choshu.debits.notices import notices_print_data


class Command(ChoshuCommand):
    help = "口座振替開始通知・振替不能通知の印刷データ（CP932 CSV）を出力し、印刷済みにする"

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("--out", required=True, metavar="FILE")
        parser.add_argument("--on", metavar="YYYY-MM-DD", help="作成日（宛先の基準日、省略時は本日）")

    def run(self, **options: Any) -> None:
        try:
            on = date.fromisoformat(options["on"]) if options["on"] else timezone.localdate()
        except ValueError as exc:
            raise CommandError(f"--on の日付が不正です: {options['on']}", returncode=EXIT_REFUSED) from exc
        counts = notices_print_data(municipality=self.municipality(options), out=options["out"], on=on)
        self.emit(
            options,
            counts,
            f"口座振替開始通知 {counts['start_notices']}件、振替不能通知 {counts['failure_notices']}件",
        )
