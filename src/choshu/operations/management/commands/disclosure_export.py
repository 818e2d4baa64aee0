from __future__ import annotations

from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.management.base import CommandError
from django.utils import timezone

from choshu.accounts.models import User
from choshu.core.commands import EXIT_REFUSED, ChoshuCommand
from choshu.operations.disclosure import disclosure_export, disclosure_summary
from choshu.taxpayers.models import Taxpayer
from choshu.taxpayers.numbering import taxpayer_no_for_search
from choshu.taxpayers.protection import ProtectedPersonRefused


class Command(ChoshuCommand):
    help = "開示請求: 本人について保有する情報を CSV と PDF に出力する（出力は記録されます）"

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("--taxpayer", required=True, metavar="NO")
        parser.add_argument(
            "--operator", required=True, help="出力する職員の利用者ID（開示出力の権限が必要）"
        )
        parser.add_argument("--output", required=True, metavar="DIR")

    def run(self, **options: Any) -> None:
        municipality = self.municipality(options)
        actor = User.objects.filter(username=options["operator"], is_active=True).first()
        taxpayer = Taxpayer.objects.filter(
            municipality=municipality, taxpayer_no=taxpayer_no_for_search(municipality, options["taxpayer"])
        ).first()
        if actor is None or taxpayer is None:
            raise CommandError("職員または宛名番号が見つかりません", returncode=EXIT_REFUSED)
        try:
            files = disclosure_export(
                actor=actor, taxpayer=taxpayer, folder=Path(options["output"]), as_of=timezone.localdate()
            )
        except PermissionDenied as exc:
            raise CommandError(str(exc), returncode=EXIT_REFUSED) from exc
        except ProtectedPersonRefused as exc:
            reason = " ".join(exc.messages)
            self.emit(options, {"refused": True, "reason": reason, "taxpayer": taxpayer.taxpayer_no}, reason)
            raise CommandError(reason, returncode=EXIT_REFUSED) from exc
        payload = disclosure_summary(files)
        self.emit(
            options, payload, f"出力しました: {payload['csv']} / {payload['pdf']}（{payload['rows']}行）"
        )
