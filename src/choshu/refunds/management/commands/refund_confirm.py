from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.utils import timezone

from choshu.core.commands import ChoshuCommand
from choshu.refunds.management.commands.refund_transfer import operator
from choshu.refunds.transfer import refund_confirm


class Command(ChoshuCommand):
    help = (
        "還付金の振込結果の取込: 振込結果ファイル（docs/formats.md）で各還付を支払済または振込不能にする。"
        "送った振込ファイルと一致しないファイルは取り込まない。振込不能は過誤納金の一覧（未処理）に戻る"
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("file", metavar="FILE", help="振込結果ファイル（CSV）")
        parser.add_argument("--operator", metavar="USERNAME", help="実行する職員の利用者ID（記録用）")

    def run(self, **options: Any) -> None:
        municipality = self.municipality(options)
        s = refund_confirm(
            municipality=municipality, path=options["file"], on=timezone.localdate(),
            actor=operator(municipality, options.get("operator")),
        )  # fmt: skip
        d = s.as_dict()
        self.emit(
            options,
            d,
            f"振込#{d['transfer_id']} の結果: 支払済 {d['paid_count']:,} 件 {d['paid_amount']:,} 円、"
            f"振込不能 {d['failed_count']:,} 件 {d['failed_amount']:,} 円",
        )
