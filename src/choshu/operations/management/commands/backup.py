from __future__ import annotations

from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError

from choshu.accounts.models import User
from choshu.accounts.permissions import Right, has_right
from choshu.audit.models import AuditKind
from choshu.audit.services import audit_record
from choshu.core.commands import EXIT_REFUSED, ChoshuCommand
from choshu.operations.backup import BackupError, backup_to


def operator(username: str) -> User:
    """Backups are restricted: the operator named must hold the backup right (権限: バックアップ・復元)."""
    user = User.objects.filter(username=username, is_active=True).first()
    if user is None or not has_right(user, Right.BACKUP):
        raise CommandError(f"{username} にはバックアップ・復元の権限がありません", returncode=EXIT_REFUSED)
    return user


class Command(ChoshuCommand):
    help = "データベース全体を暗号化してバックアップする（バックアップ権限を持つ職員のみ）"
    uses_municipality = False

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("--output", required=True, help="出力ファイル")
        parser.add_argument(
            "--operator", required=True, help="実行する職員の利用者ID（バックアップ権限が必要）"
        )

    def run(self, **options: Any) -> None:
        user = operator(options["operator"])
        path = Path(options["output"])
        # Logged before the dump, so the backup contains the record of its own making.
        audit_record(
            kind=AuditKind.EXPORT,
            function="バックアップ",
            municipality=user.municipality,
            user=user,
            detail={"file": str(path)},
        )
        try:
            size = backup_to(path)
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        self.emit(
            options,
            {"file": str(path), "bytes": size},
            f"バックアップを作成しました: {path} ({size:,} バイト)",
        )
