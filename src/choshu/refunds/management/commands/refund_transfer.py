from __future__ import annotations

from argparse import ArgumentParser
from datetime import date
from typing import Any

from django.core.management.base import CommandError
from django.utils import timezone

from choshu.accounts.models import User
from choshu.core.commands import EXIT_REFUSED, ChoshuCommand
from choshu.refunds.transfer import refund_transfer


def _refused(message: str) -> CommandError:
    return CommandError(message, returncode=EXIT_REFUSED)


def operator(municipality: Any, username: str | None) -> User | None:
    if not username:
        return None
    actor = User.objects.filter(username=username, municipality=municipality, is_active=True).first()
    if actor is None:
        raise _refused(f"利用者 {username} は見つからないか、利用停止中です")
    return actor


class Command(ChoshuCommand):
    help = (
        "還付金の振込ファイル: 承認済みで口座のある還付を全銀 総合振込（種別21）のファイルに書き、送金済にする"
        "（元帳に還付を記帳）。名義を全銀の文字にできない方がいればファイルを作らない"
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.add_argument(
            "--date", required=True, metavar="YYYY-MM-DD", help="振込指定日（金融機関の営業日）"
        )
        parser.add_argument(
            "--out", required=True, metavar="FILE", help="出力するファイル（既存のファイルは上書きしない）"
        )
        parser.add_argument("--operator", metavar="USERNAME", help="実行する職員の利用者ID（記録用）")

    def run(self, **options: Any) -> None:
        municipality = self.municipality(options)
        try:
            on = date.fromisoformat(options["date"])
        except ValueError as exc:
            raise _refused(
                f"--date の日付が不正です: {options['date']}（YYYY-MM-DD で指定してください）"
            ) from exc
        s = refund_transfer(
            municipality=municipality, transfer_date=on, out=options["out"], today=timezone.localdate(),
            actor=operator(municipality, options.get("operator")),
        )  # fmt: skip
        d = s.as_dict()
        human = (
            f"振込ファイル {d['file']} を作成しました: {d['count']:,} 件 {d['amount']:,} 円"
            if s.written
            else "振り込む還付（承認済み・口座あり）がありません。ファイルは作っていません"
        )
        if d["without_account"]:
            human += f"（口座が未登録の承認済み還付 {d['without_account']:,} 件は含めていません）"
        self.emit(options, d, human)
