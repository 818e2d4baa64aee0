from __future__ import annotations

from argparse import ArgumentParser
from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import CommandError

from choshu.core.commands import EXIT_REFUSED, ChoshuCommand
from choshu.plans.models import PlanSetting
from choshu.plans.services import plan_setting_set, setting_on


def _refused(message: str) -> CommandError:
    return CommandError(message, returncode=EXIT_REFUSED)


class Command(ChoshuCommand):
    help = (
        "分納の監視設定（適用開始日つき）: 未納とするまでの猶予日数と、不履行とする未納の回数。"
        "--list で一覧と基準日に適用される設定を表示する"
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("--list", action="store_true", help="設定の一覧")
        parser.add_argument("--valid-from", metavar="YYYY-MM-DD", help="適用開始日")
        parser.add_argument("--grace-days", type=int, metavar="N", help="猶予日数（0〜90）")
        parser.add_argument("--misses", type=int, metavar="N", help="不履行とする未納回数（1〜12）")
        parser.add_argument("--note", default="", help="設定の根拠（決裁番号・要綱など）")

    def run(self, **options: Any) -> None:
        municipality = self.municipality(options)
        if options["list"]:
            from django.utils import timezone

            today = timezone.localdate()
            current = setting_on(municipality, today)
            rows = [
                {"valid_from": r.valid_from.isoformat(), "grace_days": r.grace_days,
                 "misses_to_default": r.misses_to_default, "note": r.note}
                for r in PlanSetting.objects.filter(municipality=municipality).order_by("valid_from")
            ]  # fmt: skip
            d: dict[str, Any] = {"settings": rows, "today": {"grace_days": current.grace_days,
                 "misses_to_default": current.misses_to_default, "source": current.source}}  # fmt: skip
            self.emit(options, d, f"本日の設定: 猶予 {current.grace_days} 日、未納 {current.misses_to_default} 回で不履行"
                                  f"（{current.source}）")  # fmt: skip
            return
        missing = [f for f in ("valid_from", "grace_days", "misses") if options.get(f) is None]
        if missing:
            raise _refused("--valid-from、--grace-days、--misses を指定してください（一覧は --list）")
        try:
            valid_from = date.fromisoformat(options["valid_from"])
        except ValueError as exc:
            raise _refused(f"--valid-from の日付が不正です: {options['valid_from']}（YYYY-MM-DD）") from exc
        try:
            row = plan_setting_set(actor=None, municipality=municipality, valid_from=valid_from,
                                   grace_days=options["grace_days"], misses_to_default=options["misses"],
                                   note=options["note"])  # fmt: skip
        except ValidationError as exc:
            raise _refused(" ".join(exc.messages)) from exc
        d = {"valid_from": row.valid_from.isoformat(), "grace_days": row.grace_days,
             "misses_to_default": row.misses_to_default, "note": row.note}  # fmt: skip
        self.emit(options, d, f"分納の監視設定を登録しました: {row}")
