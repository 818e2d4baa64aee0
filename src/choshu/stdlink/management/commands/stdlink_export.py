"""``choshu stdlink-export``: the 037 → 036 standard files (docs/formats.md §35, docs/stdlink.md)."""

from __future__ import annotations

from argparse import ArgumentParser
from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import CommandError
from django.utils import timezone

from choshu.accounts.models import User
from choshu.core.commands import EXIT_REFUSED, ChoshuCommand
from choshu.stdlink.exports import ENCODINGS, KINDS, stdlink_export


def _refused(message: str) -> CommandError:
    return CommandError(message, returncode=EXIT_REFUSED)


def _date(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise _refused(f"{option} の日付が不正です: {text}（YYYY-MM-DD で指定してください）") from exc


class Command(ChoshuCommand):
    help = (
        "標準連携ファイル（統合滞納→統合収納: 滞納明細・分割納付計画・猶予・差押・執行停止・充当明細・不納欠損・時効 ほか）を"
        "出力する（docs/formats.md §35）"
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.add_argument(
            "--kind", required=True, metavar="KIND", help=f"種類（{', '.join(KINDS)} か all）"
        )
        parser.add_argument(
            "--out", required=True, metavar="DIR", help="出力先のフォルダ（既存のファイルには書きません）"
        )
        parser.add_argument("--since", metavar="YYYY-MM-DD", help="差分: この日以降に作成・変更されたもの")
        parser.add_argument("--full", action="store_true", help="全件: 現在の状態")
        parser.add_argument(
            "--as-of", metavar="YYYY-MM-DD", help="金額（延滞金）・滞納の基準日（省略時は今日）"
        )
        parser.add_argument(
            "--encoding",
            default="utf-8",
            metavar="ENC",
            help=f"文字コード（{' / '.join(ENCODINGS)}、既定 utf-8）",
        )
        parser.add_argument(
            "--operator", metavar="USERNAME", help="実行する職員の利用者ID（操作者ID・記録用）"
        )

    def run(self, **options: Any) -> None:
        municipality = self.municipality(options)
        since = _date(options["since"], "--since") if options.get("since") else None
        as_of = _date(options["as_of"], "--as-of") if options.get("as_of") else None
        if options["encoding"] not in ENCODINGS:
            raise _refused(
                f"--encoding {options['encoding']!r} は指定できません（utf-8 か cp932 を指定してください）"
            )
        actor = None
        if options.get("operator"):
            actor = User.objects.filter(
                username=options["operator"], municipality=municipality, is_active=True
            ).first()
            if actor is None:
                raise _refused(f"利用者 {options['operator']} は見つからないか、利用停止中です")
        try:
            s = stdlink_export(
                municipality=municipality, kind=options["kind"], out=options["out"], today=timezone.localdate(),
                since=since, full=options["full"], as_of=as_of, encoding=options["encoding"], actor=actor,
            )  # fmt: skip
        except ValidationError as exc:
            raise _refused(" ".join(exc.messages)) from exc
        lines = "、".join(f"{f['label']} {f['rows']:,}行（{f['name']}）" for f in s.files)
        mode = "全件" if s.mode == "full" else f"{s.since} 以降の差分"
        self.emit(
            options, s.as_dict(), f"標準連携ファイルを出力しました（{mode}、基準日 {s.as_of}）: {lines}"
        )
