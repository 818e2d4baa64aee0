from __future__ import annotations

from argparse import ArgumentParser
from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import CommandError

from choshu.core.commands import EXIT_REFUSED, ChoshuCommand
from choshu.debits.requests import debit_request


class Command(ChoshuCommand):
    help = (
        "口座振替依頼データ（全銀 種別91）を引落日ごとに収納口座の金融機関別に作成する。"
        "同じ引落日は作成済みのデータを返す（--regenerate で取り消して作り直す）"
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("--debit-date", required=True, metavar="YYYY-MM-DD", help="引落日（納期限）")
        parser.add_argument("--out", required=True, metavar="DIR", help="出力先フォルダ")
        parser.add_argument(
            "--regenerate", action="store_true", help="作成済みの依頼データを取り消して作り直す"
        )

    def run(self, **options: Any) -> None:
        try:
            debit_date = date.fromisoformat(options["debit_date"])
        except ValueError as exc:
            raise CommandError(
                f"--debit-date の日付が不正です: {options['debit_date']}（YYYY-MM-DD）",
                returncode=EXIT_REFUSED,
            ) from exc
        try:
            summary = debit_request(
                municipality=self.municipality(options),
                debit_date=debit_date,
                out_dir=options["out"],
                regenerate=options["regenerate"],
            )
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages), returncode=EXIT_REFUSED) from exc
        d = summary.as_dict()
        state = "作成済みのデータ" if d["already"] else "作成"
        self.emit(
            options,
            d,
            f"口座振替依頼（{d['debit_date']}）{state}: {len(d['files'])}ファイル {d['records']}件 "
            f"{d['amount']:,}円（金融機関コード未確認などで除外 {d['blocked']}件）",
        )
