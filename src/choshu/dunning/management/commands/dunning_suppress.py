from __future__ import annotations

from argparse import ArgumentParser
from datetime import date
from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.management.base import CommandError

from choshu.accounts.models import User
from choshu.core.commands import EXIT_REFUSED, ChoshuCommand
from choshu.dunning.models import SuppressionReason
from choshu.dunning.services import suppression_add, suppression_request
from choshu.levies.models import Installment


def _refused(message: str) -> CommandError:
    return CommandError(message, returncode=EXIT_REFUSED)


def _date(text: str | None, option: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise _refused(f"{option} の日付が不正です: {text}（YYYY-MM-DD で指定してください）") from exc


class Command(ChoshuCommand):
    help = (
        "督促停止の登録: 納付番号で指定した期別を督促の対象から外す（理由・期間つき）。"
        "理由 manual（職員の判断）は決裁の申請になり、別の職員の承認で登録される"
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("--slip-no", required=True, metavar="NO", help="期別の納付番号（16桁）")
        parser.add_argument(
            "--reason", required=True, choices=SuppressionReason.values, help="停止理由（コード）"
        )
        parser.add_argument("--from", dest="start", required=True, metavar="YYYY-MM-DD", help="停止開始日")
        parser.add_argument("--until", metavar="YYYY-MM-DD", help="停止終了日（省略時は終了日なし）")
        parser.add_argument("--note", default="", help="備考（manual では申請理由、必須）")
        parser.add_argument("--operator", required=True, metavar="USERNAME", help="登録する職員の利用者ID")

    def run(self, **options: Any) -> None:
        municipality = self.municipality(options)
        actor = User.objects.filter(
            username=options["operator"], municipality=municipality, is_active=True
        ).first()
        if actor is None:
            raise _refused(f"利用者 {options['operator']} は見つからないか、利用停止中です")
        installment = Installment.objects.filter(
            municipality=municipality, slip_no=options["slip_no"]
        ).first()
        if installment is None:
            raise _refused(f"納付番号 {options['slip_no']} の期別が見つかりません")
        start = _date(options["start"], "--from")
        assert start is not None
        end = _date(options.get("until"), "--until")
        try:
            if options["reason"] == SuppressionReason.MANUAL:
                req = suppression_request(
                    actor=actor, installment=installment, start=start, end=end, reason=options["note"]
                )
                payload = {"request_id": req.pk, "status": req.status}
                human = f"督促停止の決裁を申請しました（申請番号 {req.pk}）。別の職員が決裁画面で承認すると登録されます"
            else:
                s = suppression_add(
                    actor=actor,
                    installment=installment,
                    reason=SuppressionReason(options["reason"]),
                    start=start,
                    end=end,
                    note=options["note"],
                )
                payload = {"suppression_id": s.pk, "installment_id": installment.pk}
                human = f"督促停止を登録しました（{s.get_reason_display()}、{s.start} から）"
        except PermissionDenied as exc:
            raise _refused(str(exc)) from exc
        self.emit(options, payload, human)
