from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone

from choshu.cases.extract import delinquents_extract
from choshu.cases.management.commands.cases_run import operator, refused
from choshu.core.commands import ChoshuCommand


class Command(ChoshuCommand):
    help = (
        "滞納者データ（月次）: 月末（当月は本日）に本税の滞納がある人を1人1行で、税目・年度別の滞納額、"
        "案件の進行状況・担当とともに CP932 の CSV に出力する。レイアウトは docs/formats.md §21"
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("--month", required=True, metavar="YYYY-MM", help="対象月")
        parser.add_argument(
            "--out", required=True, metavar="FILE", help="出力ファイル（既存のファイルは上書きしない）"
        )
        parser.add_argument("--operator", metavar="USERNAME", help="出力する職員の利用者ID（記録用）")

    def run(self, **options: Any) -> None:
        municipality = self.municipality(options)
        actor = operator(options, municipality)
        try:
            s = delinquents_extract(
                municipality=municipality, month=options["month"], out=options["out"], today=timezone.localdate(),
                actor=actor,
            )  # fmt: skip
        except ValidationError as exc:
            raise refused(" ".join(exc.messages)) from exc
        d = s.as_dict()
        d["file"] = str(options["out"])
        self.emit(
            options,
            d,
            f"滞納者データを出力しました: {d['file']}（{d['month']}、基準日 {d['as_of']}、{d['persons']:,} 人、"
            f"本税 {d['amount_total']:,} 円、外字を〓に置換 {d['replaced']:,} 行）",
        )
