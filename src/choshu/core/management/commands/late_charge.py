"""``choshu late-charge``: compute the 延滞金 of one installment (thin wrapper over choshu.rules)."""

from __future__ import annotations

from argparse import ArgumentParser
from datetime import date
from typing import Any

from django.core.management.base import CommandError

from choshu.core.commands import EXIT_REFUSED, ChoshuCommand
from choshu.rules.late_charge import LateChargeResult, compute_late_charge
from choshu.rules.parameters import RateNotKnownError


def parse_date(value: str, what: str) -> date:
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError):
        raise CommandError(
            f"{what} の日付 {value!r} を読めません。YYYY-MM-DD の形で指定してください",
            returncode=EXIT_REFUSED,
        ) from None


def parse_yen(value: str, what: str, *, positive: bool = False) -> int:
    text = value.replace(",", "")
    if not (text.isascii() and text.isdigit()):
        raise CommandError(
            f"{what} の金額 {value!r} は円単位の整数で指定してください", returncode=EXIT_REFUSED
        )
    yen = int(text)
    if positive and yen <= 0:
        raise CommandError(f"{what} の金額は1円以上にしてください", returncode=EXIT_REFUSED)
    return yen


def segments_json(result: Any) -> list[dict[str, Any]]:
    return [
        {
            "from": s.start.isoformat(),
            "to": s.end.isoformat(),
            "days": s.days,
            "rate": str(s.rate),
            "yen": s.yen,
        }
        for s in result.segments
    ]


def segments_table(result: Any) -> list[str]:
    lines = ["期間                      日数    割合       金額"]
    for s in result.segments:
        lines.append(
            f"{s.start.isoformat()}〜{s.end.isoformat()}  {s.days:>5}  {s.rate!s:>5}%  {s.yen:>9,}円"
        )
    return lines


class Command(ChoshuCommand):
    help = "延滞金を計算する（地方税法326条・369条等、附則3条の2、20条の4の2）"
    uses_municipality = False
    requires_migrated_database = False  # a pure calculation (choshu.core.startup)

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("--principal", required=True, help="本税額（円）")
        parser.add_argument("--due", required=True, help="納期限 YYYY-MM-DD（休日による繰下げ後）")
        parser.add_argument("--paid", required=True, help="納付日（または計算基準日） YYYY-MM-DD")
        parser.add_argument(
            "--payment", action="append", default=[], metavar="YYYY-MM-DD:YEN", help="一部納付（複数可）"
        )

    def run(self, **options: Any) -> None:
        principal = parse_yen(options["principal"], "--principal")
        due = parse_date(options["due"], "--due")
        paid = parse_date(options["paid"], "--paid")
        if paid < due:
            raise CommandError("納付日が納期限より前です。日付を確かめてください", returncode=EXIT_REFUSED)
        payments: list[tuple[date, int]] = []
        for item in options["payment"]:
            when, sep, yen = item.partition(":")
            if not sep:
                raise CommandError(
                    f"--payment {item!r} は YYYY-MM-DD:金額 の形で指定してください", returncode=EXIT_REFUSED
                )
            payments.append((parse_date(when, "--payment"), parse_yen(yen, "--payment", positive=True)))
        try:
            result = compute_late_charge(principal=principal, due_date=due, until=paid, payments=payments)
        except RateNotKnownError as exc:
            raise CommandError(f"延滞金の割合が未設定の年があります: {exc}", returncode=EXIT_REFUSED) from exc
        except ValueError as exc:
            raise CommandError(f"計算できません: {exc}", returncode=EXIT_REFUSED) from exc
        payload = {"late_charge": result.late_charge, "base": result.base, "segments": segments_json(result)}
        self.emit(options, payload, self._human(result, due, paid))

    @staticmethod
    def _human(result: LateChargeResult, due: date, paid: date) -> str:
        head = [
            f"納期限 {due.isoformat()}、納付日 {paid.isoformat()}",
            f"計算の基礎となる税額 {result.base:,}円",
        ]
        if not result.segments:
            return "\n".join([*head, "延滞金はかかりません"])
        tail = [
            f"合計 {result.subtotal:,}円 → 延滞金 {result.late_charge:,}円",
            "（延滞金は100円未満切捨て、1,000円未満のときは0円）",
        ]
        return "\n".join([*head, *segments_table(result), *tail])
