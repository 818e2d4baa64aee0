from __future__ import annotations

import sys
from argparse import ArgumentParser
from typing import Any

from choshu.core.commands import ChoshuCommand
from choshu.levies.verify import verify_full, verify_incremental


class Command(ChoshuCommand):
    help = (
        "元帳を検証する: 全取引の貸借一致、期別の残高キャッシュ＝明細の合計、"
        "収納ごとに 充当＋過誤納＋未消込＝金額、内訳のある期別は 内訳の合計＝期別、内訳ごとの按分の合計＝収納額"
        "（不一致なら終了コード1）。"
        "一致すれば検証点を記録し、--incremental はその後に記帳された分だけを検証する"
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.add_argument(
            "--incremental",
            action="store_true",
            help="前回の検証点より後の取引だけを検証する（検証点がなければ全件検証）",
        )
        parser.add_argument(
            "--wait",
            type=float,
            default=300.0,
            metavar="SECONDS",
            help="実行中の他の取引の終了を待つ秒数（超えたら検証はするが検証点を進めない）",
        )

    def run(self, **options: Any) -> None:
        municipality = self.municipality(options) if options.get("municipality") else None
        check = verify_incremental if options.get("incremental") else verify_full
        result = check(municipality=municipality, wait_seconds=options["wait"])
        payload = result.as_dict()
        label = "差分検証" if result.mode == "incremental" else "全件検証"
        human = "元帳は一致しています" if result.ok else f"不一致 {len(result.problems)} 件"
        through = result.checkpoint.get("through_txn_id")
        self.emit(
            options,
            payload,
            f"{label}: {human}（取引 {result.counts['transactions']} 件, 期別 {result.counts['installments']} 件"
            + (f", 検証点 取引#{through}" if through is not None else "")
            + "）"
            + (f" {result.note}" if result.note else ""),
        )
        if not result.ok:
            sys.exit(1)
