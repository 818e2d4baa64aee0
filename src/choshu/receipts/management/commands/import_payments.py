from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import CommandError

from choshu.core.commands import ChoshuCommand
from choshu.levies.ledger import StaleBalance
from choshu.receipts.services import IMPORT_ATTEMPTS, import_channels, payments_import


class Command(ChoshuCommand):
    help = "収納データ（コンビニ速報・確報、金融機関の領収済通知、地方税共通納税、口座振替結果 zengin）を取り込み消し込む"

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("--channel", required=True, choices=import_channels())
        parser.add_argument("file")

    def run(self, **options: Any) -> None:
        bar = self.progress_bar(options["file"], header_lines=1)
        try:
            summary = payments_import(
                municipality=self.municipality(options),
                channel=options["channel"],
                path=options["file"],
                progress=bar,
            )
        except StaleBalance as exc:
            raise CommandError(f"{exc}（{IMPORT_ATTEMPTS}回試行）", returncode=1) from exc
        finally:
            if bar is not None:
                bar.finish("")
        d = summary.as_dict()
        self.emit(
            options,
            d,
            f"収納取込（{options['channel']}）: {d['records']}件 計上{d['posted']} 速報{d['provisional']} "
            f"速報取消{d['cancelled']} 取消{d['reversed']} 過誤納{d['overpaid']} 未消込{d['suspense']} "
            f"取込済{d['already_imported']} 金額{d['amount_total']:,}円",
        )
