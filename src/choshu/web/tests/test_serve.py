"""``choshu serve`` (the production server's settings, never started here) and the database
connections it relies on (persistent on PostgreSQL, unchanged on SQLite)."""

from __future__ import annotations

import json
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test import Client
from django.urls import reverse

from choshu.web.management.commands.serve import ChoshuServer, default_workers, gunicorn_options


def _config(*args: str) -> dict[str, Any]:
    out = StringIO()
    call_command("serve", *args, "--check-config", "--json", stdout=out)
    return dict(json.loads(out.getvalue().strip().splitlines()[-1]))


def test_several_sync_workers_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CHOSHU_WEB_WORKERS", raising=False)
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    config = _config()
    assert config["workers"] == 5 == default_workers()  # 2 × cores + 1
    assert config["worker_class"] == "sync" and config["threads"] == 1
    assert config["bind"] == ["127.0.0.1:8000"]
    assert config["preload_app"] is True and config["max_requests"] == 2000


def test_workers_threads_and_addresses_from_the_command_line() -> None:
    config = _config(
        "--workers", "4", "--threads", "3", "--bind", "0.0.0.0:9000", "--bind", "unix:/run/choshu.sock"
    )
    assert config["workers"] == 4 and config["threads"] == 3 and config["worker_class"] == "gthread"
    assert config["bind"] == ["0.0.0.0:9000", "unix:/run/choshu.sock"]


def test_the_worker_count_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHOSHU_WEB_WORKERS", "3")
    assert _config()["workers"] == 3
    assert _config("--workers", "2")["workers"] == 2  # the command line wins


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--workers", "0"], "--workers は1〜64"),
        (["--workers", "65"], "--workers は1〜64"),
        (["--threads", "0"], "--threads は1〜64"),
        (["--timeout", "0"], "--timeout は1秒以上"),
        (["--bind", "8000"], "ホスト:ポート"),
    ],
)
def test_impossible_values_are_refused_in_japanese(args: list[str], message: str) -> None:
    with pytest.raises(CommandError, match=message) as refused:
        call_command("serve", *args, "--check-config")
    assert refused.value.returncode == 2


def test_gunicorn_receives_every_setting() -> None:
    """The settings are valid gunicorn settings (gunicorn itself checks names and values)."""
    config = gunicorn_options({"workers": 2, "threads": 1, "bind": ["127.0.0.1:8765"], "timeout": 30})
    server = ChoshuServer(config)
    assert server.cfg.workers == 2 and server.cfg.bind == ["127.0.0.1:8765"]
    assert server.cfg.worker_class_str == "sync" and server.cfg.preload_app
    assert server.cfg.timeout == 30 and server.cfg.max_requests == 2000


def test_postgresql_connections_persist_between_requests(settings: Any) -> None:
    db = settings.DATABASES["default"]
    if connection.vendor == "postgresql":
        assert db["CONN_MAX_AGE"] > 0 and db["CONN_HEALTH_CHECKS"] is True
    else:  # SQLite: one connection per request as before (its connection is a file handle)
        assert db["CONN_MAX_AGE"] == 0


@pytest.mark.django_db(transaction=True)
def test_two_requests_reuse_one_postgresql_connection(client: Client) -> None:
    """A real server runs ``close_old_connections`` when a request starts and finishes (Django's test
    client does not, so it is called here as the WSGI handler would): the connection survives it."""
    from django.db import close_old_connections

    if connection.vendor != "postgresql":
        pytest.skip("persistent connections are configured for PostgreSQL only")
    connection.ensure_connection()
    first = connection.connection.info.backend_pid
    for _ in range(2):
        close_old_connections()  # request_started
        assert client.get(reverse("web:login")).status_code == 200
        close_old_connections()  # request_finished
        assert connection.connection is not None and connection.connection.info.backend_pid == first
    # The same cycle with one connection per request (the old setting) does close it.
    connection.close_at = None
    saved = connection.settings_dict["CONN_MAX_AGE"]
    connection.settings_dict["CONN_MAX_AGE"] = 0
    try:
        connection.close()
        connection.ensure_connection()
        close_old_connections()
        assert connection.connection is None
    finally:
        connection.settings_dict["CONN_MAX_AGE"] = saved
        connection.close()
