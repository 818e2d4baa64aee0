from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.exceptions import ValidationError

from choshu.cases.management.commands.cases_run import operator, parse_date, refused
from choshu.cases.services import case_setting_set
from choshu.core.commands import ChoshuCommand


class Command(ChoshuCommand):
    help = "滞納案件の開始基準（滞納額の下限・経過日数の下限）を適用開始日から登録する"

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.add_argument(
            "--from", dest="valid_from", required=True, metavar="YYYY-MM-DD", help="適用開始日"
        )
        parser.add_argument(
            "--amount", required=True, type=int, metavar="YEN", help="滞納額（本税）の下限（円）"
        )
        parser.add_argument("--age-days", required=True, type=int, metavar="DAYS",
                            help="最古の指定納期限からの経過日数の下限")  # fmt: skip
        parser.add_argument("--note", default="", help="根拠・備考")
        parser.add_argument("--operator", metavar="USERNAME", help="登録する職員の利用者ID（記録用）")

    def run(self, **options: Any) -> None:
        municipality = self.municipality(options)
        valid_from = parse_date(options["valid_from"], "--from")
        actor = operator(options, municipality)
        try:
            s = case_setting_set(
                actor=actor, municipality=municipality, valid_from=valid_from, min_amount=options["amount"],
                min_age_days=options["age_days"], note=options["note"],
            )  # fmt: skip
        except ValidationError as exc:
            raise refused(" ".join(exc.messages)) from exc
        self.emit(
            options,
            {
                "valid_from": s.valid_from.isoformat(),
                "min_amount": s.min_amount,
                "min_age_days": s.min_age_days,
            },
            f"滞納案件の開始基準を登録しました: {s.valid_from} から 本税 {s.min_amount:,} 円以上・"
            f"指定納期限から {s.min_age_days} 日以上",
        )
