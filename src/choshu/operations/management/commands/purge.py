from __future__ import annotations

from argparse import ArgumentParser
from datetime import date
from typing import Any

from django.core.management.base import CommandError

from choshu.core.commands import EXIT_REFUSED, ChoshuCommand
from choshu.operations.retention import purge_run


class Command(ChoshuCommand):
    help = (
        "保存期間を過ぎた個人情報を消去する（滞納・事案・分納・時効更新中の人は残す）。--dry-run で試行のみ"
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("--as-of", required=True, metavar="YYYY-MM-DD")
        parser.add_argument("--dry-run", action="store_true", help="消去せず、対象の件数と一覧だけを出す")

    def run(self, **options: Any) -> None:
        try:
            as_of = date.fromisoformat(options["as_of"])
        except ValueError as exc:
            raise CommandError(
                f"--as-of の日付が不正です: {options['as_of']}", returncode=EXIT_REFUSED
            ) from exc
        report = purge_run(municipality=self.municipality(options), as_of=as_of, dry_run=options["dry_run"])
        d = report.as_dict()
        self.emit(
            options,
            d,
            f"対象 {d['examined']:,} 人: 消去 {d['deleted']:,}、保存 {d['kept']:,} {d['kept_reasons']}"
            f"{'（試行）' if d['dry_run'] else ''} 記録: {d['report_file']}",
        )
