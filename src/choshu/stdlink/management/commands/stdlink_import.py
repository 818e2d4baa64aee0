from __future__ import annotations

from argparse import ArgumentParser
from datetime import date
from typing import Any

from django.core.management.base import CommandError
from django.utils import timezone

from choshu.accounts.models import User
from choshu.core.commands import EXIT_REFUSED, ChoshuCommand
from choshu.stdlink.imports import LAYOUTS, stdlink_import


class Command(ChoshuCommand):
    help = (
        "統合収納（036）の標準ファイルを取り込む（調定収納・収納履歴・督促・督促停止・返戻・代理人・送付先・"
        "共有・振替口座・期別マスタ）。不正な行があればファイル全体を拒否する"
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("file")
        kinds = ", ".join(f"{x.kind}|{x.slug}" for x in LAYOUTS.values())
        parser.add_argument("--kind", help=f"ファイル種別（省略時はファイル名の 036oNNN から判定）: {kinds}")
        parser.add_argument(
            "--mode", choices=("full", "delta"), default="delta", help="full=全件, delta=差分"
        )
        parser.add_argument("--operator", metavar="USERNAME", help="取り込む職員の利用者ID")
        parser.add_argument("--reason", default="", help="取込の理由（変更履歴に残る）")
        parser.add_argument(
            "--booking-date", type=date.fromisoformat, help="調定・更正の日計日（既定: 今日）"
        )

    def run(self, **options: Any) -> None:
        municipality = self.municipality(options)
        actor = None
        if options.get("operator"):
            actor = User.objects.filter(
                username=options["operator"], municipality=municipality, is_active=True
            ).first()
            if actor is None:
                raise CommandError(
                    f"利用者 {options['operator']} は見つからないか、利用停止中です", returncode=EXIT_REFUSED
                )
        s = stdlink_import(
            municipality=municipality,
            path=options["file"],
            kind=options.get("kind"),
            mode=options["mode"],
            actor=actor,
            reason=options.get("reason") or "",
            booking_date=options.get("booking_date"),
            today=timezone.localdate(),
        ).as_dict()
        seen = "（取込済みのファイル）" if s["already_imported"] else ""
        self.emit(
            options,
            s,
            f"{s['kind']}: {s['rows']}行 新規{s['created']} 変更{s['updated']} 削除{s['deleted']} "
            f"終了{s['closed']} 変更なし{s['unchanged']}{seen}",
        )
