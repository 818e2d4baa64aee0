from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import CommandError

from choshu.accounts.models import User
from choshu.core.commands import EXIT_REFUSED, ChoshuCommand
from choshu.taxpayers.numbering import MAX_WIDTH, taxpayer_no_width_set


def _width(text: str) -> int | None:
    if text.lower() in ("none", "off", ""):
        return None
    if not text.isdigit():
        raise CommandError(f"桁数は1〜{MAX_WIDTH}の数字か none で指定してください", returncode=EXIT_REFUSED)
    return int(text)


class Command(ChoshuCommand):
    help = (
        "団体設定: 宛名番号の固定桁数を設定する（既存の宛名番号をその桁数に0埋めします。"
        "収まらない番号・重複する番号があれば何も変えずに拒否）"
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.add_argument(
            "--taxpayer-no-width",
            required=True,
            metavar="N|none",
            help="宛名番号の桁数（固定桁でない団体は none）",
        )
        parser.add_argument("--operator", help="設定する職員の利用者ID（記録用）")

    def run(self, **options: Any) -> None:
        municipality = self.municipality(options)
        actor = None
        if options.get("operator"):
            actor = User.objects.filter(
                username=options["operator"], municipality=municipality, is_active=True
            ).first()
            if actor is None:
                raise CommandError("職員が見つかりません", returncode=EXIT_REFUSED)
        width = _width(options["taxpayer_no_width"])
        zero_filled = taxpayer_no_width_set(actor=actor, municipality=municipality, width=width)
        payload = {"taxpayer_no_width": width, "zero_filled": zero_filled}
        shown = f"{width}桁" if width else "固定桁なし"
        self.emit(options, payload, f"宛名番号の桁数: {shown}（0埋めした宛名 {zero_filled}件）")
