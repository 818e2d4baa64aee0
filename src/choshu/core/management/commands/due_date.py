"""``choshu due-date``: the 納期限 after the closed-day shift (地方税法20条の5, 令6条の18)."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from choshu.core.commands import ChoshuCommand
from choshu.core.management.commands.late_charge import parse_date
from choshu.rules.due_dates import shift_due_date


class Command(ChoshuCommand):
    help = "納期限が土日祝・年末年始にあたるときの繰下げ後の日付を表示する（地方税法20条の5）"
    uses_municipality = False
    requires_migrated_database = False  # a pure calculation (choshu.core.startup)

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("date", help="条例上の納期限 YYYY-MM-DD")

    def run(self, **options: Any) -> None:
        nominal = parse_date(options["date"], "納期限")
        shifted = shift_due_date(nominal)
        payload = {"nominal": nominal.isoformat(), "due_date": shifted.isoformat()}
        if shifted == nominal:
            human = f"納期限 {shifted.isoformat()}（繰下げなし）"
        else:
            human = f"納期限 {shifted.isoformat()}（{nominal.isoformat()} は閉庁日のため翌開庁日に繰下げ）"
        self.emit(options, payload, human)
