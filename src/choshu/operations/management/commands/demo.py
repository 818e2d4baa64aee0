from __future__ import annotations

import base64
import secrets
import signal
import subprocess
import sys
from argparse import ArgumentParser
from io import StringIO
from typing import Any

from django.core.management import call_command
from django.core.wsgi import get_wsgi_application
from django.db import transaction
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from choshu.accounts.models import Role, User
from choshu.core.commands import ChoshuCommand
from choshu.core.models import Municipality
from choshu.core.services import municipality_create
from choshu.operations.demo_settings import (
    ensure_demo_callcenter,
    ensure_demo_cases,
    ensure_demo_dunning_fee,
    ensure_demo_plan,
)
from choshu.operations.synthetic import showcase, showcase_lines
from choshu.taxpayers.models import Taxpayer

DEMO_USERS = (
    ("chief", Role.CHIEF, "納税課長 デモ", "管理"),
    ("clerk", Role.CLERK, "収納係 デモ", "収納係"),
    ("officer", Role.CASE_OFFICER, "滞納整理担当 デモ", "整理第1班"),
    ("officer2", Role.CASE_OFFICER, "滞納整理担当 デモ2", "整理第2班"),
    ("window", Role.WINDOW_CONTRACTOR, "窓口委託 デモ", "窓口"),
    ("auditor", Role.AUDITOR, "監査 デモ", "監査"),
    ("center", Role.CALLCENTER_OPERATOR, "納税催告センター デモ", ""),
)


class Command(ChoshuCommand):
    help = (
        "デモ環境を用意して起動する: DB 作成、川口市(112038)、合成データ2,000人、デモ職員、"
        "Web サーバとバックグラウンド処理のワーカー"
    )
    uses_municipality = False
    requires_migrated_database = False  # it migrates first

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("--no-serve", action="store_true", help="準備だけ行い、サーバは起動しない")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument(
            "--taxpayers", type=int, default=2000, help="合成データの人数（空のときのみ作成）"
        )
        parser.add_argument(
            "--reset-passwords", action="store_true", help="デモ職員のパスワードを再発行して表示する"
        )

    def run(self, **options: Any) -> None:
        call_command("migrate", interactive=False, verbosity=0)
        municipality = Municipality.objects.filter(code="112038").first() or municipality_create(
            code="112038",
            name="川口市",
            conveni_company_code="912345",
            conveni_client_code="11203",
            eltax_agency_no="11203",
            office_name="川口市 納税課（デモ）",
            office_phone="0000-00-0000",  # not a real number: the demo's notices print it
        )
        if ensure_demo_dunning_fee(municipality):
            self.stdout.write("督促手数料のデモ用設定（1通100円）を登録しました")
        if not Taxpayer.objects.filter(municipality=municipality).exists():
            self.stdout.write(f"合成データ（{options['taxpayers']:,}人）を作成しています…")
            seeded = StringIO()
            call_command(
                "seed",
                taxpayers=options["taxpayers"],
                seed=1,
                as_of=timezone.localdate().isoformat(),
                municipality=municipality.code,
                stdout=seeded,
            )
            # its summary line; the guide to the standard data it also prints comes at the end here
            self.stdout.write(seeded.getvalue().split("\n\n", 1)[0].rstrip())
        created = self._demo_users(municipality, reset=options["reset_passwords"])
        if created:
            self.stdout.write("\nデモ職員（パスワードと二要素認証の秘密鍵はこの一度だけ表示します）:")
            self.stdout.write("  ユーザー名  パスワード        TOTP 秘密鍵 (Base32)                職務")
            for username, password, role, secret in created:
                self.stdout.write(f"  {username:10s} {password}  {secret}  ({role})")
            self.stdout.write(
                "  確認コードは認証アプリに秘密鍵を登録するか、`oathtool --totp -b 秘密鍵` で表示できます。"
            )
        else:
            self.stdout.write("デモ職員は作成済みです（パスワードを再発行するには --reset-passwords）")
        cases = ensure_demo_cases(municipality, today=timezone.localdate())
        self.stdout.write(
            f"\n滞納案件の一括処理（cases-run）: 開始 {cases['opened']:,} 件、完結 {cases['closed']:,} 件、"
            f"進行中 {cases['open_total']:,} 件（officer / officer2 の「滞納整理」画面に作業一覧があります）"
        )
        plan_id = ensure_demo_plan(municipality, today=timezone.localdate())
        if plan_id is not None:
            self.stdout.write(
                f"分納誓約の例: 分納誓約 #{plan_id}（officer の担当案件、3回の均等払い・誓約済み）"
            )
        center = ensure_demo_callcenter(municipality, today=timezone.localdate())
        if center:
            self.stdout.write(center)
        numbers = showcase(municipality, timezone.localdate())
        if numbers:
            self.stdout.write("\n標準データの例（検索画面の「宛名番号」で開けます）:")
            for line in showcase_lines(numbers):
                self.stdout.write(line)
        if options["no_serve"]:
            self.emit(
                options,
                {"municipality": municipality.code, "users_created": len(created), "showcase": numbers},
                "準備が完了しました",
            )
            return
        self._serve(options["host"], options["port"])

    @transaction.atomic
    def _demo_users(self, municipality: Municipality, *, reset: bool) -> list[tuple[str, str, str, str]]:
        """Demo staff with a password and a TOTP secret each (shown once; the second factor is mandatory)."""
        shown = []
        for username, role, display, team in DEMO_USERS:
            user = User.objects.filter(username=username).first()
            if user is not None and not reset:
                continue
            password = secrets.token_urlsafe(12)
            if user is None:
                user = User(
                    username=username, role=role, display_name=display, team=team, municipality=municipality
                )
            user.set_password(password)
            user.save()
            TOTPDevice.objects.filter(user=user).delete()
            device = TOTPDevice.objects.create(user=user, name="TOTP", confirmed=True)
            secret = base64.b32encode(device.bin_key).decode()
            shown.append((username, password, Role(role).label, secret))
        return shown

    def _serve(self, host: str, port: int) -> None:
        from waitress import serve  # type: ignore[import-untyped]

        # The background worker (imports uploaded from the browser) runs as a child process, with
        # this process's environment (the same database and var directory), and stops with it.
        worker = subprocess.Popen(  # noqa: S603 - our own interpreter and module, no shell
            [sys.executable, "-m", "choshu.cli", "worker", "--verbosity", "0"]
        )
        self.stdout.write(f"\nバックグラウンド処理のワーカーを起動しました（pid {worker.pid}）")
        self.stdout.write(f"http://{host}:{port}/ で待ち受けています（終了は Ctrl+C）")
        self.stdout.flush()
        # SIGTERM ends the demo as Ctrl+C does, so that the worker is stopped with it
        previous = signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        try:
            serve(get_wsgi_application(), host=host, port=port, threads=8, ident="choshu")
        finally:
            signal.signal(signal.SIGTERM, previous)
            worker_stop(worker)


def worker_stop(worker: subprocess.Popen[bytes], timeout: float = 30) -> None:
    """Ctrl+C on a terminal reached the worker too (same process group): give it a moment to end by
    itself; else SIGTERM, and a worker that does not stop in time is killed. A task cut short this way
    is rolled back (one transaction) and its job shows as interrupted, to be re-run from its page."""
    try:
        worker.wait(2)
        return
    except subprocess.TimeoutExpired:
        pass
    worker.terminate()
    try:
        worker.wait(timeout)
    except subprocess.TimeoutExpired:
        worker.kill()
        worker.wait()
