from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from choshu.callcenter.management.commands._common import operator, refused
from choshu.callcenter.models import CallExport
from choshu.callcenter.results import callcenter_import
from choshu.core.commands import ChoshuCommand


class Command(ChoshuCommand):
    help = (
        "納税催告センターの架電結果ファイル（CSV）を取り込み、各行を滞納案件の経過記録にする（docs/formats.md §24）。"
        "誤りが 1 つでもあればファイル全体を取り込まない。同じファイル・同じ行は二度登録しない"
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("file", metavar="FILE", help="架電結果ファイル")
        parser.add_argument(
            "--operator", metavar="USERNAME",
            help="取り込む職員の利用者ID（経過記録の記録者。省略時はその月の対象者ファイルを出力した職員）",
        )  # fmt: skip

    def run(self, **options: Any) -> None:
        municipality = self.municipality(options)
        actor = operator(options, municipality)
        if actor is None:
            export = (
                CallExport.objects.filter(municipality=municipality, created_by__isnull=False)
                .order_by("-month")
                .first()
            )
            actor = export.created_by if export else None
        if actor is None:
            raise refused(
                "--operator で取り込む職員の利用者IDを指定してください（経過記録の記録者になります。何も登録していません）"
            )
        s = callcenter_import(municipality=municipality, path=options["file"], actor=actor)
        d = s.as_dict()
        if s.already_imported:
            human = f"{s.file} は取込済みです（同じファイル: SHA-256 {s.sha256}）。何も登録していません"
        else:
            human = (f"架電結果を取り込みました: {s.month} {s.rows:,} 行、登録 {s.imported:,} 件、取込済みの行 {s.duplicates:,} 件、"
                     f"案件完結済み（経過記録なし）{s.closed_cases:,} 件")  # fmt: skip
        self.emit(options, d, human)
