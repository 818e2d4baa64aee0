from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.utils import timezone

from choshu.core.commands import ChoshuCommand
from choshu.refunds.management.commands.refund_transfer import operator
from choshu.refunds.models import NoticeKind
from choshu.refunds.notices import print_data_write


class Command(ChoshuCommand):
    help = (
        "過誤納・還付の通知の印刷データ: まだ印刷していない充当通知書・還付通知書・過誤納還付通知書を印刷業者向け CSV"
        "（既定 CP932）に書き、印刷済にする。支援措置の方の通知は含めない（庁内で印刷）"
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.add_argument(
            "--out", required=True, metavar="FILE", help="出力するファイル（既存のファイルは上書きしない）"
        )
        parser.add_argument("--kind", choices=NoticeKind.values, help="通知の種類（省略時はすべて）")
        parser.add_argument("--encoding", default="cp932", help="文字コード（cp932 または utf-8）")
        parser.add_argument("--operator", metavar="USERNAME", help="実行する職員の利用者ID（記録用）")

    def run(self, **options: Any) -> None:
        municipality = self.municipality(options)
        s = print_data_write(
            municipality=municipality, out=options["out"], on=timezone.localdate(), kind=options.get("kind"),
            encoding=options["encoding"], actor=operator(municipality, options.get("operator")),
        )  # fmt: skip
        d = s.as_dict()
        self.emit(
            options,
            d,
            f"印刷データ {d['file']}: {d['rows']:,} 件（支援措置で除いた通知 {d['blocked']:,} 件）",
        )
