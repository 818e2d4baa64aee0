from __future__ import annotations

import sys
from argparse import ArgumentParser
from typing import Any

from choshu.accounts.models import Role
from choshu.accounts.services import user_create
from choshu.core.commands import ChoshuCommand


class Command(ChoshuCommand):
    help = (
        "職員アカウントを作成する。パスワードは標準入力から読み、二要素認証(TOTP)の登録用 URI を一度だけ表示する。"
        " 例: echo 'パスワード' | choshu create-user kacho --role chief"
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("username")
        parser.add_argument("--role", required=True, choices=Role.values)
        parser.add_argument("--team", default="")
        parser.add_argument("--display-name", default="")

    def run(self, **options: Any) -> None:
        municipality = self.municipality(options)
        password = sys.stdin.readline().rstrip("\r\n")
        created = user_create(
            username=options["username"],
            password=password,
            role=options["role"],
            team=options["team"],
            display_name=options["display_name"],
            municipality=municipality,
        )
        self.emit(
            options,
            {
                "username": created.user.username,
                "role": created.user.role,
                "municipality": municipality.code,
                "otpauth_uri": created.otpauth_uri,
            },
            f"{created.user.username}（{Role(created.user.role).label}）を作成しました。\n"
            f"認証アプリに次の URI を登録してください（再表示はできません）:\n{created.otpauth_uri}",
        )
