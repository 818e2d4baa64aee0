from __future__ import annotations

from argparse import ArgumentParser
from datetime import date
from typing import Any

from django.core.management.base import CommandError

from choshu.accounts.models import User
from choshu.core.commands import EXIT_REFUSED, ChoshuCommand
from choshu.plans.services import plans_check


def _refused(message: str) -> CommandError:
    return CommandError(message, returncode=EXIT_REFUSED)


class Command(ChoshuCommand):
    help = (
        "分納誓約の履行確認: 誓約中の分納について、誓約日以後の納付を各回に日付順に充てて納付済とし、"
        "納付予定日から猶予日数（分納の監視設定、既定10日）を過ぎた未納の回を未納とする。"
        "未納が設定の回数（既定2回）に達した分納は不履行、全回納付済は履行完了。何度実行しても結果は同じ"
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("--as-of", required=True, metavar="YYYY-MM-DD", help="確認の基準日")
        parser.add_argument("--operator", metavar="USERNAME", help="実行する職員の利用者ID（記録用）")

    def run(self, **options: Any) -> None:
        municipality = self.municipality(options)
        try:
            as_of = date.fromisoformat(options["as_of"])
        except ValueError as exc:
            raise _refused(
                f"--as-of の日付が不正です: {options['as_of']}（YYYY-MM-DD で指定してください）"
            ) from exc
        actor = None
        if options.get("operator"):
            actor = User.objects.filter(
                username=options["operator"], municipality=municipality, is_active=True
            ).first()
            if actor is None:
                raise _refused(f"利用者 {options['operator']} は見つからないか、利用停止中です")
        d = plans_check(municipality=municipality, as_of=as_of, actor=actor).as_dict()
        self.emit(
            options,
            d,
            f"分納誓約の履行確認: 基準日 {d['as_of']}、確認 {d['plans']:,} 件、納付済 {d['paid']:,} 回、"
            f"未納 {d['missed']:,} 回、不履行 {d['defaulted']:,} 件、履行完了 {d['completed']:,} 件"
            f"（猶予 {d['grace_days']} 日・未納 {d['misses_to_default']} 回で不履行）",
        )
