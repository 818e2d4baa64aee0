from __future__ import annotations

from argparse import ArgumentParser
from datetime import date
from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.management.base import CommandError

from choshu.accounts.admin_services import ENCODINGS, report_export, rights_changes_report

# The operator look-up and the file writing are shared with ``rights-review``.
from choshu.accounts.management.commands.rights_review import operator, write_export
from choshu.core.commands import EXIT_REFUSED, ChoshuCommand


def _date(value: str, option: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(
            f"{option} の日付が不正です: {value}（YYYY-MM-DD）", returncode=EXIT_REFUSED
        ) from exc


class Command(ChoshuCommand):
    help = "権限変更の報告書: 期間中の利用者登録・権限の付与・取消・利用停止を CSV に出力する（出力は記録されます）"

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.add_argument(
            "--from", dest="date_from", required=True, metavar="YYYY-MM-DD", help="開始日（含む）"
        )
        parser.add_argument(
            "--to", dest="date_to", required=True, metavar="YYYY-MM-DD", help="終了日（含む）"
        )
        parser.add_argument(
            "--output", metavar="FILE", help="出力先（省略時は rights-changes_開始日-終了日.csv）"
        )
        parser.add_argument("--encoding", choices=ENCODINGS, default="cp932", help="文字コード（既定 cp932）")
        parser.add_argument("--operator", metavar="USERNAME", help="出力する職員の利用者ID（操作ログに記録）")

    def run(self, **options: Any) -> None:
        municipality = self.municipality(options)
        actor = operator(options, municipality)
        date_from, date_to = _date(options["date_from"], "--from"), _date(options["date_to"], "--to")
        try:
            report = rights_changes_report(
                actor=actor, municipality=municipality, date_from=date_from, date_to=date_to
            )
            export = report_export(
                actor=actor, municipality=municipality, report=report, encoding=options["encoding"]
            )
        except PermissionDenied as exc:
            raise CommandError(str(exc), returncode=EXIT_REFUSED) from exc
        write_export(self, options, export)
