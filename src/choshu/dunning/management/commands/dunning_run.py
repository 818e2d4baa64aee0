from __future__ import annotations

from argparse import ArgumentParser
from datetime import date
from typing import Any

from django.core.management.base import CommandError
from django.utils import timezone

from choshu.accounts.models import User
from choshu.core.commands import EXIT_REFUSED, ChoshuCommand
from choshu.dunning.services import dunning_run


def _refused(message: str) -> CommandError:
    return CommandError(message, returncode=EXIT_REFUSED)


class Command(ChoshuCommand):
    help = (
        "督促状の一括発付: 指定納期限を過ぎて未納の期別（督促済・督促停止中を除く）について、納税者・税目ごとに"
        "督促状を作成する（指定期限・督促手数料・一括納付書つき）。--dry-run は件数と金額だけを出す"
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("--as-of", required=True, metavar="YYYY-MM-DD", help="督促状の発付日")
        parser.add_argument("--dry-run", action="store_true", help="発付せず、件数と金額だけを出す")
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
        summary = dunning_run(
            municipality=municipality,
            as_of=as_of,
            today=timezone.localdate(),
            actor=actor,
            dry_run=options["dry_run"],
        )
        d = summary.as_dict()
        head = "督促状の発付（試行）" if summary.dry_run else "督促状を発付しました"
        self.emit(
            options,
            d,
            f"{head}: 発付日 {d['as_of']}、指定期限 {d['pay_by']}、督促状 {d['issued']:,} 件"
            f"（期別 {d['installments']:,} 件、うち納期限後20日経過 {d['late_issue']:,} 件）、"
            f"督促停止 {d['suppressed']:,} 件、庁内印刷（支援措置） {d['blocked']:,} 件、"
            f"督促手数料 {d['fee_total']:,} 円、請求額 {d['amount_total']:,} 円",
        )
