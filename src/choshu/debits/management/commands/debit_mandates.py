from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import CommandError

from choshu.accounts.models import User
from choshu.core.commands import EXIT_REFUSED, ChoshuCommand
from choshu.debits.services import mandates_import


class Command(ChoshuCommand):
    help = (
        "口座振替依頼の一括取込（Pay-easy 口座振替受付結果など、CSV）。ファイル全体を検査し、"
        "1件の決裁申請になる（別の職員の承認で有効になる）"
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("file")
        parser.add_argument("--operator", required=True, metavar="USERNAME", help="取り込む職員の利用者ID")
        parser.add_argument("--reason", required=True, help="申請理由")

    def run(self, **options: Any) -> None:
        municipality = self.municipality(options)
        actor = User.objects.filter(
            username=options["operator"], municipality=municipality, is_active=True
        ).first()
        if actor is None:
            raise CommandError(
                f"利用者 {options['operator']} は見つからないか、利用停止中です", returncode=EXIT_REFUSED
            )
        try:
            counts = mandates_import(
                municipality=municipality, path=options["file"], actor=actor, reason=options["reason"]
            )
        except (ValidationError, PermissionDenied) as exc:
            messages = exc.messages if isinstance(exc, ValidationError) else [str(exc)]
            raise CommandError("; ".join(messages), returncode=EXIT_REFUSED) from exc
        self.emit(
            options,
            counts,
            f"口座振替依頼 {counts['mandates']}件を取り込みました（決裁 #{counts['request_id']}、"
            f"金融機関コードの警告 {counts['bank_warnings']}件）",
        )
