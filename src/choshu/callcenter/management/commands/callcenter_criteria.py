from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone

from choshu.callcenter.criteria import FLAGS, criteria_on, criteria_set
from choshu.callcenter.management.commands._common import operator, parse_date, refused
from choshu.core.commands import ChoshuCommand


class Command(ChoshuCommand):
    help = "納税催告センターの抽出条件を表示する（--set で適用開始日からの条件を保存する）"

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("--set", action="store_true", help="条件を保存する")
        parser.add_argument("--valid-from", metavar="YYYY-MM-DD", help="適用開始日（--set のとき必須）")
        parser.add_argument("--min-amount", type=int, default=1, metavar="YEN", help="滞納額（本税）の下限")
        for flag in FLAGS:
            parser.add_argument(
                f"--{flag.replace('_', '-')}", choices=("yes", "no"), help=f"{flag}: yes / no"
            )
        parser.add_argument("--note", default="", help="根拠・備考")
        parser.add_argument("--operator", metavar="USERNAME", help="実行する職員の利用者ID（記録用）")

    def run(self, **options: Any) -> None:
        municipality = self.municipality(options)
        if options["set"]:
            if not options.get("valid_from"):
                raise refused("--set には --valid-from（適用開始日）が必要です")
            day = parse_date(options["valid_from"], "--valid-from")
            current = criteria_on(municipality, day)
            flags = {f: (options[f] == "yes") if options.get(f) else getattr(current, f) for f in FLAGS}
            try:
                criteria_set(actor=operator(options, municipality), municipality=municipality, valid_from=day,
                             min_amount=options["min_amount"], note=options["note"], **flags)  # fmt: skip
            except ValidationError as exc:
                raise refused(" ".join(exc.messages)) from exc
        c = criteria_on(municipality, timezone.localdate())
        self.emit(options, c.as_dict(), f"催告センターの抽出条件（今日現在）: {c.as_dict()}")
