from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import CommandError

from choshu.core.commands import EXIT_REFUSED, ChoshuCommand
from choshu.levies.calendar import calendar_generate


class Command(ChoshuCommand):
    help = "賦課年度の期別マスタのうち無い行を、条例の既定の納期（休日は翌開庁日）から作成する"

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("--levy-year", required=True, metavar="YYYY", help="賦課年度")

    def run(self, **options: Any) -> None:
        text = options["levy_year"]
        if not (text.isascii() and text.isdigit() and len(text) == 4 and 1950 <= int(text) <= 2200):
            raise CommandError(f"--levy-year は西暦4桁で指定してください: {text}", returncode=EXIT_REFUSED)
        result = calendar_generate(municipality=self.municipality(options), levy_year=int(text))
        items = " ".join(f"{code}:{n}" for code, n in result["items"].items()) or "なし"
        self.emit(
            options,
            result,
            f"期別マスタ {text}年度: 作成{result['created']}行（{items}） 既存{result['kept']}行",
        )
