from __future__ import annotations

from argparse import ArgumentParser
from datetime import date
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import CommandError

from choshu.accounts.models import User
from choshu.core.commands import EXIT_REFUSED, ChoshuCommand
from choshu.enforcement.inquiries import inquiries_create, parse_recipient
from choshu.enforcement.models import InquiryKind


class Command(ChoshuCommand):
    help = (
        "財産調査の照会（国税徴収法141条・地方税法20条の11）: 基準日に滞納案件のある人（--case-stage で進行状況を限定）"
        "について、照会先ごとに照会書（PDF）を作る。預貯金は --to の金融機関ごとに全員分（:e の金融機関には電子照会の"
        "CSV）、給与は勤務先（特別徴収義務者）ごとにその従業員分。照会と回答期限を記録する"
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("--kind", required=True, choices=InquiryKind.values, help="照会の種類")
        parser.add_argument("--as-of", required=True, metavar="YYYY-MM-DD", help="照会日")
        parser.add_argument(
            "--case-stage", default="", metavar="STAGE", help="対象の進行状況（例 investigating）"
        )
        parser.add_argument("--out", required=True, metavar="DIR", help="出力先のフォルダ")
        parser.add_argument(
            "--to", action="append", default=[], metavar="CODE:NAME[:e]", help="照会先（繰り返し可）"
        )
        parser.add_argument(
            "--answer-days", type=int, default=30, help="回答期限（照会日からの日数、既定 30）"
        )
        parser.add_argument("--operator", metavar="USERNAME", help="作成する職員の利用者ID")

    def run(self, **options: Any) -> None:
        municipality = self.municipality(options)
        try:
            as_of = date.fromisoformat(options["as_of"])
        except ValueError:
            raise CommandError(
                f"照会日 {options['as_of']!r} は YYYY-MM-DD の形で指定してください（何も出力していません）",
                returncode=EXIT_REFUSED,
            ) from None
        actor = None
        if options.get("operator"):
            actor = User.objects.filter(
                username=options["operator"], municipality=municipality, is_active=True
            ).first()
            if actor is None:
                raise CommandError(
                    f"利用者 {options['operator']} は見つからないか、利用停止中です", returncode=EXIT_REFUSED
                )
        try:
            recipients = [parse_recipient(t) for t in options["to"]]
            summary = inquiries_create(
                municipality=municipality, kind=options["kind"], as_of=as_of, out_dir=options["out"], actor=actor,
                recipients=recipients, case_stage=options["case_stage"], answer_days=options["answer_days"],
            )  # fmt: skip
        except (ValidationError, PermissionDenied) as exc:
            message = " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
            raise CommandError(message, returncode=EXIT_REFUSED) from exc
        d = summary.as_dict()
        self.emit(
            options, d,
            f"照会を作成しました（照会番号 {d['batch_id']}）: 対象 {d['targets']:,} 人、照会先 {d['recipients']:,} 件、"
            f"照会 {d['inquiries']:,} 件",
        )  # fmt: skip
