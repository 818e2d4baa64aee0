"""``choshu check-number``: check digit of a 個人番号 (12), 法人番号 (13) or 地方公共団体コード (6)."""

from __future__ import annotations

import unicodedata
from argparse import ArgumentParser
from collections.abc import Callable
from typing import Any

from django.core.management.base import CommandError

from choshu.core.commands import EXIT_REFUSED, ChoshuCommand
from choshu.rules.check_digits import (
    is_valid_corporate_number,
    is_valid_municipality_code,
    is_valid_my_number,
)

KINDS: dict[int, tuple[str, str, Callable[[str], bool]]] = {
    12: ("my_number", "個人番号", is_valid_my_number),
    13: ("corporate_number", "法人番号", is_valid_corporate_number),
    6: ("municipality_code", "地方公共団体コード", is_valid_municipality_code),
}


class Command(ChoshuCommand):
    help = "個人番号(12桁)・法人番号(13桁)・地方公共団体コード(6桁)の検査用数字を確かめる"
    uses_municipality = False
    requires_migrated_database = False  # a pure calculation (choshu.core.startup)

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("number", help="番号（区切りの空白・ハイフンは無視）")

    def run(self, **options: Any) -> None:
        text = unicodedata.normalize("NFKC", options["number"]).replace("-", "").replace(" ", "")
        if not (text.isascii() and text.isdigit()):
            raise CommandError(
                f"番号 {options['number']!r} に数字以外が含まれています", returncode=EXIT_REFUSED
            )
        if len(text) not in KINDS:
            raise CommandError(
                f"{len(text)}桁の番号は判定できません。個人番号は12桁、法人番号は13桁、"
                "地方公共団体コードは6桁です",
                returncode=EXIT_REFUSED,
            )
        kind, label, check = KINDS[len(text)]
        valid = check(text)
        human = f"{label} {text}: " + (
            "検査用数字は正しい" if valid else "検査用数字が一致しません（誤りの可能性）"
        )
        self.emit(options, {"kind": kind, "valid": valid}, human)
