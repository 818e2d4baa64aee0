from __future__ import annotations

from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from choshu.accounts.admin_services import ENCODINGS, ExportFile, report_export, rights_review_report
from choshu.accounts.models import User
from choshu.core.commands import EXIT_REFUSED, ChoshuCommand
from choshu.core.models import Municipality


def operator(options: dict[str, Any], municipality: Municipality) -> User | None:
    """The member of staff named by ``--operator`` (recorded in the export log), or None."""
    username = options.get("operator")
    if not username:
        return None
    user = User.objects.filter(username=username, is_active=True, municipality=municipality).first()
    if user is None:
        raise CommandError(f"利用者 {username} は登録されていないか利用停止中です", returncode=EXIT_REFUSED)
    return user


def write_export(command: BaseCommand, options: dict[str, Any], export: ExportFile) -> None:
    """Write the CSV where asked and report rows, file and SHA-256 (as the last line with ``--json``)."""
    path = Path(options.get("output") or export.file_name)
    try:
        path.write_bytes(export.content)
    except OSError as exc:
        raise CommandError(f"{path} に書き込めません: {exc.strerror}") from exc
    payload = {**export.as_dict(), "file": str(path)}
    human = f"{path} に出力しました（{export.rows}件、{export.encoding}、SHA-256 {export.sha256}）"
    assert isinstance(command, ChoshuCommand)
    command.emit(options, payload, human)


class Command(ChoshuCommand):
    help = "権限一覧（定期確認用）: すべての利用者と現在の権限を CSV に出力する（出力は記録されます）"

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("--output", metavar="FILE", help="出力先（省略時は rights-review_日付.csv）")
        parser.add_argument("--encoding", choices=ENCODINGS, default="cp932", help="文字コード（既定 cp932）")
        parser.add_argument("--operator", metavar="USERNAME", help="出力する職員の利用者ID（操作ログに記録）")

    def run(self, **options: Any) -> None:
        municipality = self.municipality(options)
        actor = operator(options, municipality)
        try:
            report = rights_review_report(actor=actor, municipality=municipality, as_of=timezone.localdate())
            export = report_export(
                actor=actor, municipality=municipality, report=report, encoding=options["encoding"]
            )
        except PermissionDenied as exc:
            raise CommandError(str(exc), returncode=EXIT_REFUSED) from exc
        write_export(self, options, export)
