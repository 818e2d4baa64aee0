from __future__ import annotations

from argparse import ArgumentParser
from datetime import date
from typing import Any

from django.core.management.base import CommandError

from choshu.accounts.models import User
from choshu.core.commands import EXIT_REFUSED, ChoshuCommand
from choshu.dunning.models import DunningFeeSetting
from choshu.dunning.services import dunning_fee_set


def _refused(message: str) -> CommandError:
    return CommandError(message, returncode=EXIT_REFUSED)


class Command(ChoshuCommand):
    help = "団体設定: 督促手数料（税条例）を適用開始日ごとに登録する（廃止は 0 円）。引数なしで登録済みの一覧を出す"

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("--from", dest="valid_from", metavar="YYYY-MM-DD", help="適用開始日")
        parser.add_argument("--yen", type=int, metavar="N", help="督促状1通の手数料（円、廃止は 0）")
        parser.add_argument("--source", default="", help="根拠（税条例の条・告示など）")
        parser.add_argument("--operator", metavar="USERNAME", help="設定する職員の利用者ID（記録用）")

    def run(self, **options: Any) -> None:
        municipality = self.municipality(options)
        if options.get("valid_from") is not None or options.get("yen") is not None:
            if options.get("valid_from") is None or options.get("yen") is None:
                raise _refused("--from（適用開始日）と --yen（金額）を両方指定してください")
            try:
                valid_from = date.fromisoformat(options["valid_from"])
            except ValueError as exc:
                raise _refused(f"--from の日付が不正です: {options['valid_from']}") from exc
            actor = None
            if options.get("operator"):
                actor = User.objects.filter(username=options["operator"], municipality=municipality).first()
                if actor is None:
                    raise _refused(f"利用者 {options['operator']} が見つかりません")
            dunning_fee_set(
                actor=actor,
                municipality=municipality,
                valid_from=valid_from,
                yen=options["yen"],
                source=options["source"],
            )
        rows = [
            {"from": r.valid_from.isoformat(), "yen": r.yen, "source": r.source}
            for r in DunningFeeSetting.objects.filter(municipality=municipality).order_by("valid_from")
        ]
        self.emit(
            options,
            {"settings": rows},
            "\n".join(f"{r['from']} から {r['yen']:,} 円（{r['source']}）" for r in rows)
            or "督促手数料は登録されていません（同梱の dunning_fees.toml を参照します）",
        )
