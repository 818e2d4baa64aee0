from __future__ import annotations

from argparse import ArgumentParser
from datetime import date
from pathlib import Path
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import CommandError
from django.db import transaction
from django.utils import timezone

from choshu.accounts.models import User
from choshu.core.commands import EXIT_REFUSED, ChoshuCommand
from choshu.dunning.models import ReturnReason
from choshu.dunning.returned import parse_lines, reason_of, returned_mail_refresh, returned_mail_register


def _refused(message: str) -> CommandError:
    return CommandError(message, returncode=EXIT_REFUSED)


class Command(ChoshuCommand):
    help = (
        "返戻の登録: 返戻された督促状を納付番号で一括登録し、その宛先あての郵送を督促停止（返戻）で止める。"
        "--file は1行に「納付番号[,返戻日[,理由[,備考]]]」。1行でも誤りがあれば何も登録しない。"
        "--refresh は未解決の返戻の宛先を確かめ、新しい宛先が登録された人の督促停止を終了する"
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.add_argument(
            "--slip-no", action="append", default=[], metavar="NO", help="督促状の納付番号（複数可）"
        )
        parser.add_argument("--file", metavar="FILE", help="納付番号の一覧（UTF-8、1行に1件）")
        parser.add_argument(
            "--returned-on", metavar="YYYY-MM-DD", help="返戻日（行に書かれていないときに使う）"
        )
        parser.add_argument(
            "--reason",
            metavar="REASON",
            help=f"返戻理由（{', '.join(ReturnReason.values)} または日本語の名前）",
        )
        parser.add_argument(
            "--refresh", action="store_true", help="未解決の返戻の宛先を確かめる（登録はしない）"
        )
        parser.add_argument("--operator", required=True, metavar="USERNAME", help="登録する職員の利用者ID")

    def run(self, **options: Any) -> None:
        municipality = self.municipality(options)
        actor = User.objects.filter(
            username=options["operator"], municipality=municipality, is_active=True
        ).first()
        if actor is None:
            raise _refused(f"利用者 {options['operator']} は見つからないか、利用停止中です")
        today = timezone.localdate()
        if options["refresh"]:
            with transaction.atomic():
                checked = returned_mail_refresh(municipality=municipality, on=today, actor=actor)
            human = (
                f"未解決の返戻 {checked.checked} 件を確認し、{checked.cleared} 件の宛先変更を反映しました"
                f"（督促停止の終了 {checked.ended} 件）"
            )
            self.emit(options, checked.as_dict(), human)
            return
        text = self._text(options)
        returned_on = self._date(options.get("returned_on"))
        reason = None
        if options.get("reason"):
            reason = reason_of(options["reason"])
            if reason is None:
                raise _refused(
                    f"--reason「{options['reason']}」は返戻理由にありません（{', '.join(ReturnReason.values)}）"
                )
        lines, errors = parse_lines(text, returned_on=returned_on, reason=reason)
        if not errors:
            try:
                done = returned_mail_register(
                    actor=actor, municipality=municipality, lines=lines, today=today
                )
            except ValidationError as exc:
                errors = exc.messages
            except PermissionDenied as exc:
                raise _refused(str(exc)) from exc
        if errors:
            raise _refused("返戻を登録できません（何も登録していません）:\n" + "\n".join(errors))
        human = f"返戻を {len(done.returned)} 件登録しました（督促停止 {done.suppressions} 件）"
        self.emit(options, done.as_dict(), human)

    def _text(self, options: dict[str, Any]) -> str:
        if options.get("file") and options["slip_no"]:
            raise _refused("--slip-no と --file はどちらか一方を指定してください")
        if options.get("file"):
            path = Path(options["file"])
            try:
                return path.read_text(encoding="utf-8-sig")
            except FileNotFoundError as exc:
                raise _refused(f"ファイル {path} が見つかりません") from exc
            except UnicodeDecodeError as exc:
                raise _refused(f"ファイル {path} は UTF-8 で読めません（{exc.start + 1} バイト目）") from exc
        if not options["slip_no"]:
            raise _refused("--slip-no（納付番号）か --file（一覧）を指定してください")
        return "\n".join(options["slip_no"])

    def _date(self, text: str | None) -> date | None:
        if not text:
            return None
        try:
            return date.fromisoformat(text)
        except ValueError as exc:
            raise _refused(
                f"--returned-on の日付が不正です: {text}（YYYY-MM-DD で指定してください）"
            ) from exc
