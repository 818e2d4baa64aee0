from __future__ import annotations

from argparse import ArgumentParser
from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import CommandError
from django.utils import timezone

from choshu.accounts.models import User
from choshu.core.commands import EXIT_REFUSED, ChoshuCommand
from choshu.relief.prescription import prescription_run


def _refused(message: str) -> CommandError:
    return CommandError(message, returncode=EXIT_REFUSED)


def operator(username: str | None, municipality: Any) -> User | None:
    if not username:
        return None
    actor = User.objects.filter(username=username, municipality=municipality, is_active=True).first()
    if actor is None:
        raise _refused(f"利用者 {username} は見つからないか、利用停止中です")
    return actor


class Command(ChoshuCommand):
    help = (
        "時効の判定: 未納の期別ごとに法定納期限・督促・一部納付などから徴収権の消滅日を求め（地方税法18条・15条の7）、"
        "基準日までに消滅したものを記録する。--warn-months か月以内に消滅するものは警告一覧に載せる。"
        "何度実行しても結果は同じ。--dry-run は件数と金額だけを出す"
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("--as-of", required=True, metavar="YYYY-MM-DD", help="判定の基準日")
        parser.add_argument("--dry-run", action="store_true", help="記録せず、件数と金額だけを出す")
        parser.add_argument("--warn-months", type=int, default=6, metavar="N", help="警告する月数（既定 6）")
        parser.add_argument("--operator", metavar="USERNAME", help="実行する職員の利用者ID（記録用）")

    def run(self, **options: Any) -> None:
        municipality = self.municipality(options)
        try:
            as_of = date.fromisoformat(options["as_of"])
        except ValueError as exc:
            raise _refused(
                f"--as-of の日付が不正です: {options['as_of']}（YYYY-MM-DD で指定してください）"
            ) from exc
        actor = operator(options.get("operator"), municipality)
        try:
            summary = prescription_run(
                municipality=municipality,
                as_of=as_of,
                today=timezone.localdate(),
                warn_months=options["warn_months"],
                actor=actor,
                dry_run=options["dry_run"],
            )
        except ValidationError as exc:
            raise _refused(" ".join(exc.messages)) from exc
        d = summary.as_dict()
        head = "時効の判定（試行）" if summary.dry_run else "時効の判定を記録しました"
        self.emit(
            options,
            d,
            f"{head}: 基準日 {d['as_of']}、消滅 {d['extinguished']:,} 件 {d['amount']:,} 円、"
            f"{d['warn_until']} までに消滅予定 {d['warned']:,} 件 {d['warned_amount']:,} 円",
        )
