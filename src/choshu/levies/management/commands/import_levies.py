from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from choshu.core.commands import ChoshuCommand
from choshu.levies.services import levies_import


class Command(ChoshuCommand):
    help = "調定ファイル levies.csv を取り込む（本税の変更は更正として記帳）"

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("file")

    def run(self, **options: Any) -> None:
        summary = levies_import(municipality=self.municipality(options), path=options["file"])
        d = summary.as_dict()
        self.emit(
            options,
            d,
            f"調定取込: {d['rows']}行 新規{d['created']} 更新{d['updated']} 更正{d['corrections']} 変更なし{d['unchanged']}",
        )
