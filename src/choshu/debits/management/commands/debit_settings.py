from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from choshu.core.commands import ChoshuCommand
from choshu.debits.models import CollectingAccount, FailureAction
from choshu.debits.services import (
    asdict_collecting,
    collecting_account_set,
    debit_settings,
    debit_settings_set,
)


class Command(ChoshuCommand):
    help = (
        "口座振替の団体設定: 収納口座（金融機関ごとの委託者コード・委託者名・口座）の登録と、"
        "振替結果コード 2・3・4 のときの口座振替の扱い。引数なしで現在の設定を表示する"
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("--bank", metavar="CODE", help="収納口座の金融機関コード（4桁）")
        parser.add_argument("--branch", metavar="CODE", help="支店コード（3桁）")
        parser.add_argument("--type", dest="deposit_type", choices=["1", "2", "9"], help="預金種目")
        parser.add_argument("--account", help="口座番号（7桁以内）")
        parser.add_argument("--originator-code", help="委託者コード（金融機関が付番、10桁以内）")
        parser.add_argument("--originator-name", help="委託者名（カナ）")
        parser.add_argument("--default", action="store_true", help="他の金融機関の分もこの口座で依頼する")
        actions = FailureAction.values
        parser.add_argument("--on-code-2", choices=actions, help="結果コード2（取引なし）のとき")
        parser.add_argument("--on-code-3", choices=actions, help="結果コード3（預金者の都合）のとき")
        parser.add_argument("--on-code-4", choices=actions, help="結果コード4（依頼書なし）のとき")

    def run(self, **options: Any) -> None:
        municipality = self.municipality(options)
        if options["bank"]:
            collecting_account_set(
                actor=None, municipality=municipality, bank_code=options["bank"], branch_code=options["branch"] or "",
                deposit_type=options["deposit_type"] or "", account=options["account"] or "",
                originator_code=options["originator_code"] or "", originator_name=options["originator_name"] or "",
                is_default=options["default"],
            )  # fmt: skip
        s = debit_settings(municipality.pk)
        if options["on_code_2"] or options["on_code_3"] or options["on_code_4"]:
            s = debit_settings_set(
                actor=None, municipality=municipality, on_no_account=options["on_code_2"] or s.on_no_account,
                on_depositor_stop=options["on_code_3"] or s.on_depositor_stop,
                on_no_mandate=options["on_code_4"] or s.on_no_mandate,
            )  # fmt: skip
        accounts = [
            asdict_collecting(a)
            for a in CollectingAccount.objects.filter(municipality=municipality, is_active=True).order_by(
                "pk"
            )
        ]
        payload = {
            "collecting_accounts": accounts,
            "on_code_2": s.on_no_account,
            "on_code_3": s.on_depositor_stop,
            "on_code_4": s.on_no_mandate,
        }
        lines = [f"収納口座 {a['bank_code']}-{a['branch_code']} {a['account']} 委託者 {a['originator_code']} "
                 f"{a['originator_name']}{'（既定）' if a['is_default'] else ''}" for a in accounts]  # fmt: skip
        lines.append(f"結果コード2: {s.on_no_account} / 3: {s.on_depositor_stop} / 4: {s.on_no_mandate}")
        self.emit(options, payload, "\n".join(lines))
