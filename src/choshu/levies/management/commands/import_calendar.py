from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from choshu.core.commands import ChoshuCommand
from choshu.levies.calendar import calendar_import


class Command(ChoshuCommand):
    help = "期別マスタ calendar.csv を取り込む（同じ税目・賦課年度・期別の行は置き換え）"

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("file")

    def run(self, **options: Any) -> None:
        d = calendar_import(municipality=self.municipality(options), path=options["file"]).as_dict()
        self.emit(
            options,
            d,
            f"期別マスタ取込: {d['rows']}行 新規{d['created']} 更新{d['updated']} 変更なし{d['unchanged']}",
        )
