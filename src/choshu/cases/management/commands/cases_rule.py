from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.exceptions import ValidationError

from choshu.accounts.models import User
from choshu.cases.management.commands.cases_run import operator, refused
from choshu.cases.models import AssignmentRule
from choshu.cases.services import assignment_rule_add, assignment_rule_deactivate
from choshu.core.commands import ChoshuCommand


def _row(r: AssignmentRule) -> dict[str, Any]:
    return {
        "id": r.pk, "priority": r.priority, "name": r.name, "district": r.district, "min_amount": r.min_amount,
        "tax_item": r.tax_item, "officer": r.officer.username if r.officer else None, "team": r.team,
        "active": r.is_active,
    }  # fmt: skip


class Command(ChoshuCommand):
    help = (
        "滞納案件の割当規則: --list で一覧、--add で登録（条件: 地区=住所の先頭一致、滞納額の下限、税目。"
        "優先順位の小さい順に最初に合う規則の担当者・班へ割り当てる）、--deactivate ID で無効化"
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        action = parser.add_mutually_exclusive_group(required=True)
        action.add_argument("--list", action="store_true", help="規則の一覧")
        action.add_argument("--add", action="store_true", help="規則を登録する")
        action.add_argument("--deactivate", type=int, metavar="ID", help="規則を無効にする")
        parser.add_argument("--name", default="", help="規則名")
        parser.add_argument("--team", default="", help="割り当てる班")
        parser.add_argument(
            "--officer", default="", metavar="USERNAME", help="割り当てる担当者（省略時は班のみ）"
        )
        parser.add_argument("--priority", type=int, default=100, help="優先順位（小さいほど先、既定 100）")
        parser.add_argument("--district", default="", help="地区（住所の先頭一致）")
        parser.add_argument("--min-amount", type=int, default=None, metavar="YEN", help="滞納額の下限（円）")
        parser.add_argument("--tax-item", default="", metavar="CODE", help="税目コード（2桁）")
        parser.add_argument("--operator", metavar="USERNAME", help="実行する職員の利用者ID（記録用）")

    def run(self, **options: Any) -> None:
        m = self.municipality(options)
        actor = operator(options, m)
        try:
            if options["add"]:
                officer = None
                if options["officer"]:
                    officer = User.objects.filter(username=options["officer"], municipality=m).first()
                    if officer is None:
                        raise refused(f"利用者 {options['officer']} は見つかりません")
                rule = assignment_rule_add(
                    actor=actor, municipality=m, name=options["name"], team=options["team"], officer=officer,
                    priority=options["priority"], district=options["district"], min_amount=options["min_amount"],
                    tax_item=options["tax_item"],
                )  # fmt: skip
                self.emit(
                    options, _row(rule), f"割当規則 {rule.pk}「{rule.name}」を登録しました（班 {rule.team}）"
                )
                return
            if options["deactivate"] is not None:
                rule = assignment_rule_deactivate(actor=actor, municipality=m, rule_id=options["deactivate"])
                self.emit(options, _row(rule), f"割当規則 {rule.pk}「{rule.name}」を無効にしました")
                return
        except ValidationError as exc:
            raise refused(" ".join(exc.messages)) from exc
        rules = [_row(r) for r in AssignmentRule.objects.filter(municipality=m).select_related("officer")]
        lines = [
            f"{r['id']:>4} {r['priority']:>4} {'有効' if r['active'] else '無効'} {r['name']} → {r['team']} "
            f"{r['officer'] or ''}（地区 {r['district'] or '－'}、下限 {r['min_amount'] or '－'}、税目 {r['tax_item'] or '－'}）"
            for r in rules
        ]
        self.emit(options, {"rules": rules}, "\n".join(lines) or "割当規則はありません")
