"""``choshu serve``: the production web server — several worker processes (gunicorn, prefork).

One Python process serves one request at a time per core at best (the GIL): an office of 20 clerks
needs several processes. gunicorn's arbiter forks ``--workers`` processes that share the listening
socket; each keeps its own persistent database connection (``CONN_MAX_AGE``, docs/operations.md).
The application is loaded once in the arbiter before the fork (``preload_app``), with every database
connection closed first so that no child inherits one. ``choshu demo`` keeps waitress (one process,
threads), which runs anywhere and needs no tuning.
"""

from __future__ import annotations

import os
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import CommandError
from gunicorn.app.base import BaseApplication  # type: ignore[import-untyped]

from choshu.core.commands import EXIT_REFUSED, ChoshuCommand


def default_workers() -> int:
    """gunicorn's rule of thumb for sync workers: 2 × cores + 1 (``CHOSHU_WEB_WORKERS`` overrides)."""
    env = os.environ.get("CHOSHU_WEB_WORKERS", "")
    if env.isdigit() and int(env) > 0:
        return int(env)
    return 2 * (os.cpu_count() or 1) + 1


def gunicorn_options(options: dict[str, Any]) -> dict[str, Any]:
    """The gunicorn settings for the command's options; refuses impossible values (exit 2)."""
    workers = default_workers() if options.get("workers") is None else options["workers"]
    threads = 1 if options.get("threads") is None else options["threads"]
    if workers < 1 or workers > 64:
        raise CommandError("--workers は1〜64で指定してください", returncode=EXIT_REFUSED)
    if threads < 1 or threads > 64:
        raise CommandError("--threads は1〜64で指定してください", returncode=EXIT_REFUSED)
    if options.get("timeout", 60) < 1:
        raise CommandError("--timeout は1秒以上で指定してください", returncode=EXIT_REFUSED)
    bind = [b for b in options.get("bind") or ["127.0.0.1:8000"] if b]
    for address in bind:
        if not address.startswith("unix:") and ":" not in address:
            raise CommandError(
                f"--bind は「ホスト:ポート」または「unix:パス」で指定してください: {address}",
                returncode=EXIT_REFUSED,
            )
    max_requests = options.get("max_requests", 2000)
    return {
        "bind": bind,
        "workers": workers,
        # one thread: the sync worker (one request at a time per process, behind a buffering proxy);
        # more: gthread, whose threads share the process's GIL but overlap their database waits.
        "worker_class": "gthread" if threads > 1 else "sync",
        "threads": threads,
        "timeout": options.get("timeout", 60),
        "graceful_timeout": 30,
        "keepalive": 5,
        # a worker is replaced after this many requests (with jitter, so not all at once): memory
        # held by a long-lived process does not grow without bound.
        "max_requests": max_requests,
        "max_requests_jitter": max(max_requests // 10, 0),
        "preload_app": True,
        "forwarded_allow_ips": options.get("forwarded_allow_ips") or "127.0.0.1",
        "accesslog": options.get("access_log") or None,
        "errorlog": "-",
        "loglevel": "info",
        "proc_name": "choshu",
    }


class Command(ChoshuCommand):
    help = "本番用 Web サーバを起動する（gunicorn、複数ワーカープロセス）。リバースプロキシの背後で使う"
    uses_municipality = False

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.add_argument(
            "--bind",
            action="append",
            metavar="HOST:PORT",
            help="待ち受けるアドレス（繰り返し可、unix:パス も可。既定 127.0.0.1:8000）",
        )
        parser.add_argument(
            "--workers",
            type=int,
            default=None,
            metavar="N",
            help="ワーカープロセス数（既定: 環境変数 CHOSHU_WEB_WORKERS、なければ 2×CPU数+1）",
        )
        parser.add_argument(
            "--threads", type=int, default=1, metavar="N", help="ワーカーごとのスレッド数（既定1）"
        )
        parser.add_argument(
            "--timeout",
            type=int,
            default=60,
            metavar="SECONDS",
            help="応答しないワーカーを再起動するまでの秒数",
        )
        parser.add_argument(
            "--max-requests",
            type=int,
            default=2000,
            metavar="N",
            help="この件数を処理したワーカーを入れ替える（0で無効）",
        )
        parser.add_argument(
            "--forwarded-allow-ips",
            default=None,
            metavar="ADDRS",
            help="X-Forwarded-* を信用するリバースプロキシのアドレス（既定 127.0.0.1）",
        )
        parser.add_argument("--access-log", default=None, metavar="FILE", help="アクセスログ（- で標準出力）")
        parser.add_argument(
            "--check-config",
            action="store_true",
            help="設定を表示して終了する（起動しない）",
        )

    def run(self, **options: Any) -> None:
        config = gunicorn_options(options)
        if options["check_config"]:
            self.emit(options, config)
            return
        from django.db import connections

        connections.close_all()  # the workers are forked from this process: none may inherit a connection
        ChoshuServer(config).run()


class ChoshuServer(BaseApplication):  # type: ignore[misc]
    """gunicorn's application: the settings given, the Django WSGI application loaded once."""

    def __init__(self, config: dict[str, Any]) -> None:
        self._config = config
        super().__init__()

    def load_config(self) -> None:
        for key, value in self._config.items():
            if value is not None:
                self.cfg.set(key, value)

    def load(self) -> Any:
        from django.core.wsgi import get_wsgi_application

        return get_wsgi_application()
