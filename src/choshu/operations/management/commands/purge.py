from __future__ import annotations

from argparse import ArgumentParser
from datetime import date
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import CommandError

from choshu.accounts.models import User
from choshu.core.commands import EXIT_REFUSED, ChoshuCommand
from choshu.operations.retention import purge_approve, purge_request, purge_run


def _refused(message: str) -> CommandError:
    return CommandError(message, returncode=EXIT_REFUSED)


def _operator(username: str | None, what: str) -> User:
    if not username:
        raise _refused(f"{what}には --operator（実行する職員の利用者ID）が必要です")
    user = User.objects.filter(username=username, is_active=True).first()
    if user is None:
        raise _refused(f"利用者 {username} は見つからないか、利用停止中です")
    return user


class Command(ChoshuCommand):
    help = (
        "保存期間を過ぎた個人情報を消去する（滞納・事案・分納・時効更新中の人は残す）。--dry-run で試行のみ。"
        "実際の消去は --operator A --request で決裁を申請し、別の職員が --operator B --approve 番号 "
        "（または決裁画面）で承認したときに実行される"
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("--as-of", metavar="YYYY-MM-DD", help="基準日（--approve では不要）")
        parser.add_argument("--dry-run", action="store_true", help="消去せず、対象の件数と一覧だけを出す")
        parser.add_argument("--operator", metavar="USERNAME", help="実行する職員の利用者ID")
        action = parser.add_mutually_exclusive_group()
        action.add_argument(
            "--request",
            action="store_true",
            help="消去の決裁を申請する（保存期間経過データの削除の権限が必要）",
        )
        action.add_argument(
            "--approve",
            type=int,
            metavar="REQUEST_ID",
            help="消去の申請を承認し、消去を実行する（決裁権限が必要）",
        )
        parser.add_argument("--reason", default="", help="申請理由（--request で必須）・承認コメント")

    def _as_of(self, options: dict[str, Any]) -> date:
        if not options.get("as_of"):
            raise _refused("--as-of（基準日）を指定してください")
        try:
            return date.fromisoformat(options["as_of"])
        except ValueError as exc:
            raise _refused(f"--as-of の日付が不正です: {options['as_of']}") from exc

    def run(self, **options: Any) -> None:
        try:
            if options["approve"] is not None:
                self._approve(options)
            elif options["request"]:
                self._request(options)
            elif options["dry_run"]:
                self._dry_run(options)
            else:
                raise _refused(
                    "実際の消去には二人目の確認が必要です: purge --operator 申請者 --request --as-of 日付 "
                    "--reason 理由 で申請し、別の職員が purge --operator 承認者 --approve 申請番号 "
                    "（または決裁画面）で承認してください。試行は --dry-run です"
                )
        except (PermissionDenied, ValidationError) as exc:
            message = " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
            raise _refused(message) from exc

    def _dry_run(self, options: dict[str, Any]) -> None:
        actor = _operator(options["operator"], "") if options.get("operator") else None
        report = purge_run(
            municipality=self.municipality(options), as_of=self._as_of(options), dry_run=True, actor=actor
        )
        self._report(options, report.as_dict())

    def _request(self, options: dict[str, Any]) -> None:
        actor = _operator(options["operator"], "消去の申請")
        if not options["reason"].strip():
            raise _refused("--reason（申請理由）を指定してください")
        req = purge_request(
            actor=actor,
            municipality=self.municipality(options),
            as_of=self._as_of(options),
            reason=options["reason"],
        )
        p = req.payload
        self.emit(
            options,
            {"request_id": req.pk, "status": req.status, **p},
            f"消去の決裁を申請しました（申請番号 {req.pk}）: 基準日 {p['as_of']}、対象 {p['examined']:,} 人のうち"
            f" 消去予定 {p['would_delete']:,} 人、保存 {p['kept']:,} 人。一覧: {p['report_file']}\n"
            f"別の職員が purge --operator 利用者ID --approve {req.pk} または決裁画面で承認すると消去されます。",
        )

    def _approve(self, options: dict[str, Any]) -> None:
        actor = _operator(options["operator"], "消去の承認")
        req, report = purge_approve(actor=actor, request_id=options["approve"], comment=options["reason"])
        self.emit(
            options,
            {**report, "request_id": req.pk, "status": req.status, "as_of": req.payload["as_of"]},
            f"申請番号 {req.pk} を承認し、基準日 {req.payload['as_of']} の消去を実行しました: "
            f"消去 {report.get('deleted', 0):,} 人、保存 {report.get('kept', 0):,} 人 記録: {report.get('report_file', '')}",
        )

    def _report(self, options: dict[str, Any], d: dict[str, Any]) -> None:
        self.emit(
            options,
            d,
            f"対象 {d['examined']:,} 人: 消去 {d['deleted']:,}、保存 {d['kept']:,} {d['kept_reasons']}"
            f"{'（試行）' if d['dry_run'] else ''} 記録: {d['report_file']}",
        )
