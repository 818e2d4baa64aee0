from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone

from choshu.callcenter.export import ENCODINGS, REASONS, callcenter_export
from choshu.callcenter.management.commands._common import operator, parse_date, refused
from choshu.core.commands import ChoshuCommand


class Command(ChoshuCommand):
    help = (
        "納税催告センターへの対象者ファイル（CSV）を作成する: 抽出条件で対象者を選び、対象者ID・氏名・カナ・電話番号・"
        "期別ごとの金額（延滞金は基準日現在）・納付番号を出力する（docs/formats.md §23）"
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("--month", required=True, metavar="YYYY-MM", help="対象年月（契約月）")
        parser.add_argument(
            "--out", required=True, metavar="FILE", help="出力先（既存のファイルには書きません）"
        )
        parser.add_argument("--as-of", metavar="YYYY-MM-DD", help="延滞金・抽出の基準日（省略時は今日）")
        parser.add_argument("--encoding", choices=ENCODINGS, default="cp932", help="文字コード（既定 cp932）")
        parser.add_argument("--operator", metavar="USERNAME", help="実行する職員の利用者ID（記録用）")

    def run(self, **options: Any) -> None:
        municipality = self.municipality(options)
        as_of = parse_date(options["as_of"], "--as-of") if options.get("as_of") else None
        actor = operator(options, municipality)
        try:
            s = callcenter_export(municipality=municipality, month=options["month"], out=options["out"],
                                  today=timezone.localdate(), as_of=as_of, encoding=options["encoding"], actor=actor)  # fmt: skip
        except ValidationError as exc:
            raise refused(" ".join(exc.messages)) from exc
        d = s.as_dict()
        excluded = "、".join(f"{REASONS[k]} {v:,}人" for k, v in s.excluded.items() if v) or "なし"
        self.emit(options, d, f"対象者ファイルを出力しました: {s.month}（基準日 {s.as_of}）対象者 {s.targets:,} 人・"
                              f"{s.rows:,} 行・合計 {s.amount:,} 円、除外 {excluded}、{s.file}（SHA-256 {s.sha256}）")  # fmt: skip
