"""``choshu worker``: run the background tasks (imports uploaded from the browser).

A thin wrapper of django-tasks' ``db_worker`` (database backend): it polls the task table of the
project's own database, runs each task once, and records its outcome. It also seals the audit trail
every few seconds (``audit.sealing``), so records wait at most that long. Stop it with SIGTERM or
Ctrl+C: a task in progress is finished first (a second signal ends it at once; the import's
transaction is then rolled back and its job shows as interrupted, ready to be re-run).
"""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django_tasks.backends.database.models import DBTaskResult

from choshu.audit.sealing import seal_all, start_sealer
from choshu.core.commands import EXIT_REFUSED


class Command(BaseCommand):
    help = "バックグラウンド処理（ブラウザから受け付けたファイル取込）を実行する（終了は Ctrl+C / SIGTERM）"

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--batch", action="store_true", help="待機中の処理をすべて実行したら終了する（cron・テスト用）"
        )
        parser.add_argument(
            "--interval", type=float, default=1.0, help="待機中の処理がないときの確認間隔（秒、既定 1）"
        )
        parser.add_argument("--max-tasks", type=int, default=None, help="この件数を実行したら終了する")
        parser.add_argument("--worker-id", default=None, help="ワーカーの識別名（複数起動するときは一意に）")

    def handle(self, *args: Any, **options: Any) -> None:
        if DBTaskResult._meta.db_table not in connection.introspection.table_names():
            raise CommandError(
                "データベースが初期化されていません。先に choshu migrate を実行してください",
                returncode=EXIT_REFUSED,
            )
        if options["verbosity"] > 0 and not options["batch"]:
            self.stdout.write("バックグラウンド処理のワーカーを起動しました（終了は Ctrl+C）")
            self.stdout.flush()
        kwargs: dict[str, Any] = {
            "queue_name": "default",
            "interval": options["interval"],
            "batch": options["batch"],
            "reload": False,
            "startup_delay": not options["batch"],
            "max_tasks": options["max_tasks"],
            "verbosity": options["verbosity"],
            "stdout": self.stdout._out,
            "stderr": self.stderr._out,
        }
        if options["worker_id"]:
            kwargs["worker_id"] = options["worker_id"]
        sealer = None if options["batch"] else start_sealer(settings.CHOSHU_AUDIT_SEAL_SECONDS * 5)
        try:
            call_command("db_worker", **kwargs)
        finally:
            if sealer is not None:
                sealer.set()
        if options["batch"]:
            seal_all()
