from __future__ import annotations

from argparse import ArgumentParser
from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import CommandError
from django.utils import timezone

from choshu.accounts.models import User
from choshu.cases.services import cases_run
from choshu.core.commands import EXIT_REFUSED, ChoshuCommand


def refused(message: str) -> CommandError:
    return CommandError(message, returncode=EXIT_REFUSED)


def operator(options: dict[str, Any], municipality: Any) -> User | None:
    if not options.get("operator"):
        return None
    actor = User.objects.filter(
        username=options["operator"], municipality=municipality, is_active=True
    ).first()
    if actor is None:
        raise refused(f"利用者 {options['operator']} は見つからないか、利用停止中です")
    return actor


def parse_date(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise refused(f"{option} の日付が不正です: {text}（YYYY-MM-DD で指定してください）") from exc


class Command(ChoshuCommand):
    help = (
        "滞納案件の一括処理: 開始基準（滞納額・経過日数）を満たし進行中の案件がない人の案件を開始して割当規則で担当を決め、"
        "滞納がなくなった人の案件を完結する。--dry-run は件数だけを出す"
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("--as-of", required=True, metavar="YYYY-MM-DD", help="基準日")
        parser.add_argument("--dry-run", action="store_true", help="変更せず、件数だけを出す")
        parser.add_argument("--operator", metavar="USERNAME", help="実行する職員の利用者ID（記録用）")

    def run(self, **options: Any) -> None:
        municipality = self.municipality(options)
        as_of = parse_date(options["as_of"], "--as-of")
        actor = operator(options, municipality)
        try:
            summary = cases_run(
                municipality=municipality, as_of=as_of, today=timezone.localdate(), actor=actor,
                dry_run=options["dry_run"],
            )  # fmt: skip
        except ValidationError as exc:
            raise refused(" ".join(exc.messages)) from exc
        d = summary.as_dict()
        head = "滞納案件の一括処理（試行）" if summary.dry_run else "滞納案件の一括処理を行いました"
        self.emit(
            options,
            d,
            f"{head}: 基準日 {d['as_of']}、開始 {d['opened']:,} 件（うち未割当 {d['unassigned']:,} 件）、"
            f"完結 {d['closed']:,} 件、進行中 {d['open_total']:,} 件、滞納額 {d['amount_total']:,} 円",
        )
