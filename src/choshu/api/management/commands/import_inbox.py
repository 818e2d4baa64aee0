from __future__ import annotations

from argparse import ArgumentParser
from datetime import date
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError
from django.utils import timezone

from choshu.api.inbox import import_inbox
from choshu.core.commands import EXIT_REFUSED, ChoshuCommand


class Command(ChoshuCommand):
    help = (
        "取込フォルダのファイル（taxpayers*.csv, levies*.csv, payments-conveni|bank|eltax*.csv, "
        "統合収納の標準ファイル *036oNNN*.csv; "
        "NAME.done のあるものだけ）を取り込み、processed/ または rejected/ に報告とともに移す"
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("dir", metavar="DIR")
        parser.add_argument(
            "--booking-date", metavar="YYYY-MM-DD", help="調定ファイルの調定日（省略時は本日）"
        )

    def run(self, **options: Any) -> None:
        try:
            booking = (
                date.fromisoformat(options["booking_date"])
                if options.get("booking_date")
                else timezone.localdate()
            )
        except ValueError as exc:
            raise CommandError(
                f"--booking-date の日付が不正です: {options['booking_date']}", returncode=EXIT_REFUSED
            ) from exc
        results = import_inbox(
            municipality=self.municipality(options), inbox=Path(options["dir"]), booking_date=booking
        )
        lines = [f"{r['file']}: {r['status']} → {r['moved_to']}" for r in results] or [
            "取り込むファイルはありません"
        ]
        self.emit(options, {"files": results}, "\n".join(lines))
        if any(r["status"] == "rejected" for r in results):
            raise CommandError(
                "拒否したファイルがあります（rejected/ の報告を見てください）", returncode=EXIT_REFUSED
            )
