from __future__ import annotations

from argparse import ArgumentParser
from datetime import date
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import CommandError
from django.utils import timezone

from choshu.accounts.models import User
from choshu.core.commands import EXIT_REFUSED, ChoshuCommand
from choshu.dunning.returned import public_notice_record, service_dates


def _refused(message: str) -> CommandError:
    return CommandError(message, returncode=EXIT_REFUSED)


class Command(ChoshuCommand):
    help = (
        "公示送達の登録: 返戻された督促状の掲示開始日を記録する。掲示開始日から起算して7日を経過した日に"
        "送達があったものとみなし（地方税法20条の2）、指定期限・差押可能日・時効の更新をその日から数える"
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("--slip-no", required=True, metavar="NO", help="督促状の納付番号")
        parser.add_argument("--posted-on", required=True, metavar="YYYY-MM-DD", help="掲示開始日")
        parser.add_argument("--note", default="", help="備考（掲示場所など）")
        parser.add_argument("--operator", required=True, metavar="USERNAME", help="登録する職員の利用者ID")

    def run(self, **options: Any) -> None:
        municipality = self.municipality(options)
        actor = User.objects.filter(
            username=options["operator"], municipality=municipality, is_active=True
        ).first()
        if actor is None:
            raise _refused(f"利用者 {options['operator']} は見つからないか、利用停止中です")
        try:
            posted_on = date.fromisoformat(options["posted_on"])
        except ValueError as exc:
            raise _refused(
                f"--posted-on の日付が不正です: {options['posted_on']}（YYYY-MM-DD で指定してください）"
            ) from exc
        try:
            pn = public_notice_record(
                actor=actor,
                municipality=municipality,
                slip_no=options["slip_no"],
                posted_on=posted_on,
                today=timezone.localdate(),
                note=options["note"],
            )
        except (ValidationError, PermissionDenied) as exc:
            raise _refused(" ".join(getattr(exc, "messages", [str(exc)]))) from exc
        dates = service_dates(pn.notice, pn)
        payload = {
            "public_notice_id": pn.pk,
            "notice_id": pn.notice_id,
            "posted_on": pn.posted_on.isoformat(),
            "deemed_served_on": pn.deemed_served_on.isoformat(),
            "pay_by": dates.pay_by.isoformat(),
            "seizure_from": dates.seizure_from.isoformat(),
        }
        human = (
            f"公示送達を登録しました。送達があったとみなされる日 {pn.deemed_served_on}、"
            f"指定期限 {dates.pay_by}、差押可能日 {dates.seizure_from}"
        )
        self.emit(options, payload, human)
