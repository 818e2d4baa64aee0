from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from choshu.core.commands import ChoshuCommand
from choshu.refunds.management.commands.refund_transfer import operator
from choshu.refunds.transfer import originator_set


class Command(ChoshuCommand):
    help = "振込依頼人の設定: 総合振込ファイルの委託者コード・依頼人名（カナ）・払出口座"

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("--code", required=True, help="振込依頼人コード（10桁）")
        parser.add_argument("--name", required=True, help="振込依頼人名（カナ）")
        parser.add_argument("--bank", required=True, help="仕向金融機関コード（4桁）")
        parser.add_argument("--branch", required=True, help="仕向支店コード（3桁）")
        parser.add_argument("--deposit-type", default="1", help="預金種目（1 普通、2 当座、9 その他）")
        parser.add_argument("--account", required=True, help="口座番号（7桁以内）")
        parser.add_argument("--operator", metavar="USERNAME", help="実行する職員の利用者ID（記録用）")

    def run(self, **options: Any) -> None:
        municipality = self.municipality(options)
        row = originator_set(
            municipality=municipality, code=options["code"], name=options["name"], bank_code=options["bank"],
            branch_code=options["branch"], deposit_type=options["deposit_type"], account_no=options["account"],
            actor=operator(municipality, options.get("operator")),
        )  # fmt: skip
        self.emit(
            options,
            {"code": row.code, "name": row.name_kana},
            f"振込依頼人を設定しました: {row.code} {row.name_kana}",
        )
