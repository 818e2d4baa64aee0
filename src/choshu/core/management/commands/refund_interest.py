"""``choshu refund-interest``: 還付加算金 of an overpayment (地方税法17条の4, 20条の4の2)."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import CommandError

from choshu.core.commands import EXIT_REFUSED, ChoshuCommand
from choshu.core.management.commands.late_charge import parse_date, parse_yen, segments_json, segments_table
from choshu.rules.parameters import RateNotKnownError
from choshu.rules.refund_interest import compute_refund_interest

KIND_LABELS = {
    1: "更正・決定による過納（納付日の翌日から）",
    2: "更正の請求に基づく更正（請求の翌日から3月と更正の翌日から1月の早い方の翌日から）",
    3: "所得税の更正・申告による賦課決定（通知の翌日から1月を経過する日の翌日から）",
    4: "誤納など（納付日の翌日から1月を経過する日の翌日から）",
}


class Command(ChoshuCommand):
    help = "還付加算金を計算する（地方税法17条の4、附則3条の2の2、20条の4の2）"
    uses_municipality = False
    requires_migrated_database = False  # a pure calculation (choshu.core.startup)

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("--amount", required=True, help="過誤納金の額（円）")
        parser.add_argument("--kind", required=True, help="起算日の区分 1〜4（地方税法17条の4第1項各号）")
        parser.add_argument("--paid", required=True, help="納付日 YYYY-MM-DD")
        parser.add_argument(
            "--event", help="更正・賦課決定・所得税の更正通知等の日 YYYY-MM-DD（区分2・3で必須）"
        )
        parser.add_argument("--claimed", help="更正の請求の日 YYYY-MM-DD（区分2で必須）")
        parser.add_argument(
            "--decided", required=True, help="還付のための支出決定日（または充当日） YYYY-MM-DD"
        )

    def run(self, **options: Any) -> None:
        amount = parse_yen(options["amount"], "--amount")
        if options["kind"] not in ("1", "2", "3", "4"):
            raise CommandError("--kind は 1〜4 で指定してください", returncode=EXIT_REFUSED)
        kind = int(options["kind"])
        paid = parse_date(options["paid"], "--paid")
        decided = parse_date(options["decided"], "--decided")
        event = parse_date(options["event"], "--event") if options.get("event") else None
        claimed = parse_date(options["claimed"], "--claimed") if options.get("claimed") else None
        if kind in (2, 3) and event is None:
            raise CommandError(f"区分{kind}では --event が必要です", returncode=EXIT_REFUSED)
        if kind == 2 and claimed is None:
            raise CommandError("区分2では --claimed（更正の請求の日）が必要です", returncode=EXIT_REFUSED)
        if decided < paid:
            raise CommandError(
                "支出決定日が納付日より前です。日付を確かめてください", returncode=EXIT_REFUSED
            )
        try:
            result = compute_refund_interest(
                amount=amount, kind=kind, paid_on=paid, event_on=event, decided_on=decided, claimed_on=claimed
            )
        except RateNotKnownError as exc:
            raise CommandError(
                f"還付加算金の割合が未設定の年があります: {exc}", returncode=EXIT_REFUSED
            ) from exc
        except ValueError as exc:
            raise CommandError(f"計算できません: {exc}", returncode=EXIT_REFUSED) from exc
        payload = {
            "refund_interest": result.refund_interest,
            "base": result.base,
            "start": result.start.isoformat() if result.start else None,
            "segments": segments_json(result),
        }
        human = [f"区分{kind}: {KIND_LABELS[kind]}", f"計算の基礎となる金額 {result.base:,}円"]
        if result.start:
            human.append(f"加算開始日 {result.start.isoformat()}、支出決定日 {decided.isoformat()}")
        if result.segments:
            human += segments_table(result)
        human.append(f"還付加算金 {result.refund_interest:,}円（100円未満切捨て、1,000円未満は0円）")
        self.emit(options, payload, "\n".join(human))
