from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from choshu.core.commands import ChoshuCommand
from choshu.taxpayers.services import taxpayers_import


class Command(ChoshuCommand):
    help = "宛名ファイル taxpayers.csv を取り込む（不正な行があればファイル全体を拒否）"

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("file")

    def run(self, **options: Any) -> None:
        bar = self.progress_bar(options["file"], header_lines=1)
        try:
            summary = taxpayers_import(
                municipality=self.municipality(options), path=options["file"], progress=bar
            )
        finally:
            if bar is not None:
                bar.finish("")
        d = summary.as_dict()
        self.emit(
            options,
            d,
            f"宛名取込: {d['rows']}行 新規{d['created']} 異動{d['updated']} 変更なし{d['unchanged']}",
        )
