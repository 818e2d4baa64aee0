from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from choshu.accounts.lockout import unlock
from choshu.core.commands import ChoshuCommand


class Command(ChoshuCommand):
    help = "ログインの一時停止を解除する（--ip でその接続元だけ）。解除はアクセスログに記録される"
    uses_municipality = False

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("username", help="解除する利用者ID")
        parser.add_argument("--ip", metavar="ADDR", help="この接続元アドレスの停止だけを解除する")
        parser.add_argument("--reason", default="", help="解除の理由（記録される）")

    def run(self, **options: Any) -> None:
        username, address = options["username"], options.get("ip") or None
        cleared = unlock(username=username, address=address, reason=options["reason"], via="コマンド")
        where = f"（接続元 {address}）" if address else ""
        self.emit(
            options,
            {"username": username, "address": address or "", "cleared": cleared},
            f"{username}{where} のログイン失敗の記録 {cleared} 件を消去し、一時停止を解除しました。",
        )
