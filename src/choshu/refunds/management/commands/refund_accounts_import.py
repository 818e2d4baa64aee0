from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.management.base import CommandError

from choshu.core.commands import EXIT_REFUSED, ChoshuCommand
from choshu.refunds.management.commands.refund_transfer import operator
from choshu.refunds.services import refund_accounts_import


class Command(ChoshuCommand):
    help = (
        "公金受取口座の取込: ファイルの各行（宛名番号・口座）を確かめ、1行でも誤りがあれば何も登録しない。"
        "正しければ各口座を決裁の申請にする（別の職員の承認で還付に使われる）"
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("file", metavar="FILE", help="公金受取口座のファイル（CSV, docs/formats.md §18）")
        parser.add_argument("--operator", required=True, metavar="USERNAME", help="申請する職員の利用者ID")
        parser.add_argument("--reason", required=True, help="申請理由（例: 公金受取口座の照会結果）")

    def run(self, **options: Any) -> None:
        municipality = self.municipality(options)
        actor = operator(municipality, options["operator"])
        if actor is None:
            raise CommandError("--operator を指定してください", returncode=EXIT_REFUSED)
        try:
            accounts = refund_accounts_import(
                actor=actor, municipality=municipality, path=options["file"], reason=options["reason"]
            )
        except PermissionDenied as exc:
            raise CommandError(str(exc), returncode=EXIT_REFUSED) from exc
        self.emit(
            options,
            {"requested": len(accounts), "request_ids": [a.request_id for a in accounts]},
            f"公金受取口座 {len(accounts):,} 件を決裁に申請しました",
        )
