from __future__ import annotations

from argparse import ArgumentParser
from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import CommandError
from django.utils import timezone

from choshu.core.commands import EXIT_REFUSED, ChoshuCommand
from choshu.reports.year_end import year_end


class Command(ChoshuCommand):
    help = (
        "年度末の締め・繰越: 出納閉鎖（翌年5月31日）後に会計年度の決算の数字を確定し、収入未済額を翌年度の"
        "滞納繰越分に繰り越す。締めた年度の数字はその後変わらない（締めた後に計上された取引は、翌年度に計上する）。"
        "何度実行しても同じ（2回目以降は何もしない）"
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.add_argument(
            "--fiscal-year", required=True, type=int, metavar="YYYY", help="締める会計年度（西暦）"
        )
        parser.add_argument("--as-of", metavar="YYYY-MM-DD", help="締め日（既定: 今日）")

    def run(self, **options: Any) -> None:
        municipality = self.municipality(options)
        raw = options.get("as_of")
        try:
            as_of = date.fromisoformat(raw) if raw else timezone.localdate()
        except ValueError as exc:
            raise CommandError(
                f"--as-of は YYYY-MM-DD で指定してください（{raw}）", returncode=EXIT_REFUSED
            ) from exc
        try:
            r = year_end(municipality=municipality, fiscal_year=options["fiscal_year"], as_of=as_of)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages), returncode=EXIT_REFUSED) from exc
        head = "締め済みです（変更なし）" if r.already else "締めました"
        self.emit(
            options,
            r.as_dict(),
            f"{r.fiscal_year}年度を{head}（締め日 {r.closed_on:%Y年%m月%d日}）: 翌年度への繰越 収入未済額 "
            f"{r.carried_outstanding:,} 円、還付未済額 {r.carried_refund_pending:,} 円",
        )
