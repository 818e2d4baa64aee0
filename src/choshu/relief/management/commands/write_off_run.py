from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import CommandError

from choshu.core.commands import EXIT_REFUSED, ChoshuCommand
from choshu.relief.management.commands.prescription_run import operator
from choshu.relief.write_off import write_off_run


class Command(ChoshuCommand):
    help = (
        "不納欠損の起案: 会計年度末までに徴収権が消滅した期別を、本税・延滞金・督促手数料に分け、消滅事由"
        "（時効・執行停止3年・即時消滅）ごとに集計して決裁を申請する。決裁（別の職員）の承認で元帳に計上される。"
        "--dry-run は件数と金額だけを出す"
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("--fiscal-year", required=True, type=int, metavar="YYYY", help="会計年度（西暦）")
        parser.add_argument("--dry-run", action="store_true", help="起案せず、件数と金額だけを出す")
        parser.add_argument(
            "--operator", metavar="USERNAME", help="起案する職員の利用者ID（--dry-run 以外は必須）"
        )
        parser.add_argument("--reason", default="", help="決裁の申請理由")

    def run(self, **options: Any) -> None:
        municipality = self.municipality(options)
        actor = operator(options.get("operator"), municipality)
        try:
            summary = write_off_run(
                municipality=municipality,
                fiscal_year=options["fiscal_year"],
                actor=actor,
                dry_run=options["dry_run"],
                reason=options["reason"],
            )
        except (ValidationError, PermissionDenied) as exc:
            message = " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
            raise CommandError(message, returncode=EXIT_REFUSED) from exc
        d = summary.as_dict()
        head = "不納欠損（試行）" if summary.dry_run else "不納欠損を起案しました"
        tail = f"（決裁番号 {d['request_id']}）" if d["request_id"] else ""
        self.emit(
            options,
            d,
            f"{head}: {d['fiscal_year']}年度 {d['count']:,} 件、本税 {d['principal']:,} 円、"
            f"延滞金 {d['late_charge']:,} 円、督促手数料 {d['dunning_fee']:,} 円、合計 {d['total']:,} 円{tail}",
        )
