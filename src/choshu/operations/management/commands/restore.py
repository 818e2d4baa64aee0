from __future__ import annotations

from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError

from choshu.accounts.models import User
from choshu.audit.models import AuditKind
from choshu.audit.sealing import restore_checkpoints
from choshu.audit.services import audit_record
from choshu.core.commands import EXIT_REFUSED, ChoshuCommand
from choshu.operations.backup import BackupError, restore_from
from choshu.operations.management.commands.backup import operator


class Command(ChoshuCommand):
    help = "暗号化バックアップからデータベースを復元する（現在の内容は置き換わります）"
    uses_municipality = False

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("file")
        parser.add_argument(
            "--operator", required=True, help="実行する職員の利用者ID（バックアップ権限が必要）"
        )
        parser.add_argument("--yes", action="store_true", help="確認なしで置き換える")

    def run(self, **options: Any) -> None:
        user = operator(options["operator"])
        if not options["yes"]:
            raise CommandError(
                "復元すると現在のデータは置き換わります。よければ --yes を付けて実行してください",
                returncode=EXIT_REFUSED,
            )
        path = Path(options["file"])
        if not path.exists():
            raise CommandError(f"ファイルがありません: {path}", returncode=EXIT_REFUSED)
        try:
            restore_from(path)
        except BackupError as exc:
            raise CommandError(str(exc), returncode=EXIT_REFUSED) from exc
        # The restored database's chains are shorter than the checkpoints already written: a signed
        # restore line per chain says so (the verifier takes it as each chain's new reference).
        restore_checkpoints()
        # Logged after the restore, so the record survives in the restored database's chain.
        actor = User.objects.filter(username=user.username).first()
        audit_record(
            kind=AuditKind.CHANGE,
            function="復元",
            municipality=actor.municipality if actor else None,
            user=actor,
            detail={"file": str(path)},
        )
        self.emit(options, {"restored": str(path)}, f"復元しました: {path}")
