from __future__ import annotations

from argparse import ArgumentParser
from datetime import date
from typing import Any

from django.core.management.base import CommandError
from django.utils import timezone

from choshu.accounts.models import User
from choshu.core.commands import EXIT_REFUSED, ChoshuCommand
from choshu.refunds.services import refunds_run


def _refused(message: str) -> CommandError:
    return CommandError(message, returncode=EXIT_REFUSED)


class Command(ChoshuCommand):
    help = (
        "過誤納金の充当: 過誤納金を一覧に登録し、同じ方の納期限を過ぎた未納（古い期別から、本税の前に手数料、"
        "本税の後に延滞金）に充当する（充当適状日で延滞金が止まる）。残りは還付の対象。--dry-run は件数と金額だけ"
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("--as-of", required=True, metavar="YYYY-MM-DD", help="充当日（計上日）")
        parser.add_argument("--dry-run", action="store_true", help="充当せず、件数と金額だけを出す")
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
        summary = refunds_run(
            municipality=municipality, as_of=as_of, today=timezone.localdate(), actor=actor,
            dry_run=options["dry_run"],
        )  # fmt: skip
        d = summary.as_dict()
        head = "過誤納金の充当（試行）" if summary.dry_run else "過誤納金を充当しました"
        self.emit(
            options,
            d,
            f"{head}: 基準日 {d['as_of']}、新規の過誤納金 {d['collected']:,} 件、"
            f"充当 {d['appropriated_count']:,} 件 {d['appropriated_amount']:,} 円、"
            f"還付対象 {d['refundable_count']:,} 件 {d['refundable_amount']:,} 円、時効 {d['prescribed']:,} 件",
        )
