from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import CommandError
from django.utils import timezone

from choshu.accounts.models import User
from choshu.core.commands import EXIT_REFUSED, ChoshuCommand
from choshu.dunning.print_data import ENCODINGS, print_data_export


class Command(ChoshuCommand):
    help = (
        "督促状の印刷データ（印刷業者向け）: 一括発付1回分の督促状を1通1行で出力する（既定 CP932）。"
        "支援措置対象者の督促状は出力せず blocked として数える（庁内で印刷）。レイアウトは docs/formats.md §13"
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.add_argument(
            "--batch", required=True, metavar="ID", help="一括発付番号（dunning-run の batch_id）"
        )
        parser.add_argument(
            "--out", required=True, metavar="FILE", help="出力ファイル（既存のファイルは上書きしない）"
        )
        parser.add_argument("--encoding", default="cp932", help="文字コード: cp932（既定）または utf-8")
        parser.add_argument("--operator", metavar="USERNAME", help="出力する職員の利用者ID（記録用）")

    def run(self, **options: Any) -> None:
        municipality = self.municipality(options)
        raw = str(options["batch"]).strip()
        if not raw.isdigit():
            raise CommandError(
                f"--batch の値 {raw!r} が一括発付番号（数字）ではありません（dunning-run の batch_id を指定）",
                returncode=EXIT_REFUSED,
            )
        if options["encoding"].lower() not in ENCODINGS:
            raise CommandError(
                f"--encoding {options['encoding']!r} には対応していません（cp932 または utf-8）",
                returncode=EXIT_REFUSED,
            )
        actor = None
        if options.get("operator"):
            actor = User.objects.filter(
                username=options["operator"], municipality=municipality, is_active=True
            ).first()
            if actor is None:
                raise CommandError(
                    f"利用者 {options['operator']} は見つからないか、利用停止中です", returncode=EXIT_REFUSED
                )
        summary = print_data_export(
            municipality=municipality,
            batch_id=int(raw),
            out=options["out"],
            encoding=options["encoding"],
            actor=actor,
            on=timezone.localdate(),
        )
        d = summary.as_dict()
        d["file"] = str(options["out"])
        self.emit(
            options,
            d,
            f"督促状の印刷データを出力しました: {d['file']}（{d['rows']:,} 通、{d['encoding']}）。"
            f"支援措置のため除外 {d['blocked']:,} 通（庁内で印刷してください）、外字を〓に置換 {d['replaced']:,} 通、"
            f"SHA-256 {d['sha256']}",
        )
