"""A newcomer's first runs: an uninitialised database or a malformed key is explained in Japanese,
with what to do and exit code 2 — never a traceback (issue 13 §8).

The commands run as the console script does (``python -m choshu.cli``) in a child process, against a
fresh SQLite file and, when the suite runs on PostgreSQL, a fresh empty database created and dropped here.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

GOOD_KEY = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="


def _postgres_server() -> dict[str, str] | None:
    db = settings.DATABASES["default"]
    if db["ENGINE"] != "django.db.backends.postgresql":
        return None
    return {k: str(db.get(k) or "") for k in ("HOST", "PORT", "USER", "PASSWORD")}


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of an empty database: a new SQLite file, or a new PostgreSQL database (dropped after)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
        return
    server = _postgres_server()
    if server is None:
        pytest.skip("the suite runs on SQLite (CHOSHU_DATABASE_URL names no PostgreSQL)")
    import psycopg

    name = f"choshu_fresh_{uuid.uuid4().hex[:12]}"
    conninfo: dict[str, Any] = {
        "host": server["HOST"] or "127.0.0.1",
        "port": server["PORT"] or "5432",
        "user": server["USER"],
        "dbname": "postgres",
    }
    if server["PASSWORD"]:
        conninfo["password"] = server["PASSWORD"]
    with psycopg.connect(**conninfo, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    auth = server["USER"] + (f":{server['PASSWORD']}" if server["PASSWORD"] else "")
    try:
        yield f"postgres://{auth}@{conninfo['host']}:{conninfo['port']}/{name}"
    finally:
        with psycopg.connect(**conninfo, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def choshu(
    *args: str, database_url: str, var_dir: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    environment = {
        **{
            k: v
            for k, v in os.environ.items()
            if not k.startswith("CHOSHU_") and k != "DJANGO_SETTINGS_MODULE"
        },
        "CHOSHU_DATABASE_URL": database_url,
        "CHOSHU_VAR_DIR": str(var_dir),
        "CHOSHU_FIELD_KEY": GOOD_KEY,
        **(env or {}),
    }
    return subprocess.run(
        [sys.executable, "-m", "choshu.cli", *args],
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def assert_explained(result: subprocess.CompletedProcess[str], *words: str) -> None:
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr + result.stdout
    for word in words:
        assert word in result.stderr, result.stderr


@pytest.mark.parametrize(
    "command",
    [
        ["balances", "--taxpayer", "0000000004", "--json"],
        ["tax-items", "--json"],
        ["verify-ledger", "--json"],
        ["import-taxpayers", "taxpayers.csv", "--json"],
        ["create-user", "kacho", "--role", "chief"],
        ["runserver", "--noreload"],
    ],
    ids=lambda c: c[0],
)
def test_every_command_on_a_database_without_tables_says_to_migrate(
    fresh_database: str, tmp_path: Path, command: list[str]
) -> None:
    result = choshu(*command, database_url=fresh_database, var_dir=tmp_path)
    assert_explained(result, "データベースが初期化されていません", "choshu migrate", "init-municipality")


def test_a_database_with_migrations_not_applied_says_so(fresh_database: str, tmp_path: Path) -> None:
    """Half-way: the tables of an older version, today's migrations not yet applied."""
    partial = choshu("migrate", "core", "0001", "-v0", database_url=fresh_database, var_dir=tmp_path)
    assert partial.returncode == 0, partial.stderr
    result = choshu("tax-items", "--json", database_url=fresh_database, var_dir=tmp_path)
    assert_explained(result, "未適用のマイグレーション", "choshu migrate")


def test_init_municipality_initialises_a_fresh_database_then_commands_run(
    fresh_database: str, tmp_path: Path
) -> None:
    created = choshu(
        "init-municipality", "--code", "112038", "--name", "川口市", "--json",
        database_url=fresh_database, var_dir=tmp_path,
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    assert '"municipality": "112038"' in created.stdout
    items = choshu("tax-items", "--json", database_url=fresh_database, var_dir=tmp_path)
    assert items.returncode == 0, items.stderr


def test_pure_calculations_need_no_database(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'never.sqlite3'}"
    result = choshu("check-number", "621498320257", "--json", database_url=url, var_dir=tmp_path)
    assert result.returncode == 0 and '"valid": true' in result.stdout, result.stderr


# --- malformed keys and settings ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("not base64!", ["CHOSHU_FIELD_KEY", "base64 ではありません", "32 バイト"]),
        ("YWJj", ["CHOSHU_FIELD_KEY", "3 バイトです", "32 バイト"]),
    ],
)
def test_a_malformed_field_key_names_the_variable_and_its_form(
    tmp_path: Path, value: str, words: list[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    for command in (["tax-items", "--json"], ["check-number", "621498320257"], ["runserver", "--noreload"]):
        result = choshu(*command, database_url=url, var_dir=tmp_path, env={"CHOSHU_FIELD_KEY": value})
        assert_explained(result, *words)


def test_a_malformed_key_file_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "field.key").write_text("short\n")
    url = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    result = choshu("tax-items", database_url=url, var_dir=tmp_path, env={"CHOSHU_FIELD_KEY": ""})
    assert_explained(result, "field.key", "32 バイト")


@pytest.mark.parametrize(
    ("name", "value", "words"),
    [
        ("CHOSHU_LOGIN_FAILURE_LIMIT", "five", ["CHOSHU_LOGIN_FAILURE_LIMIT", "1 以上の整数"]),
        ("CHOSHU_SESSION_IDLE_SECONDS", "-3", ["CHOSHU_SESSION_IDLE_SECONDS", "1 以上の整数"]),
        ("CHOSHU_DATABASE_URL", "foo://nowhere", ["CHOSHU_DATABASE_URL", "postgres://"]),
        ("CHOSHU_SECRET_KEY", "changeme", ["CHOSHU_SECRET_KEY", "32 文字以上"]),
        ("CHOSHU_TRUSTED_PROXIES", "10.0.0.0/24,proxy.local", ["CHOSHU_TRUSTED_PROXIES", "「proxy.local」"]),
    ],
)
def test_a_malformed_setting_names_the_variable(
    tmp_path: Path, name: str, value: str, words: list[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    result = choshu("tax-items", database_url=url, var_dir=tmp_path, env={name: value})
    assert_explained(result, *words)


def test_the_web_application_refuses_to_start_with_a_malformed_key(tmp_path: Path) -> None:
    """Loading the WSGI application (what a production server does) stops with the same sentence."""
    environment = {
        **{
            k: v
            for k, v in os.environ.items()
            if not k.startswith("CHOSHU_") and k != "DJANGO_SETTINGS_MODULE"
        },
        "CHOSHU_DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "CHOSHU_VAR_DIR": str(tmp_path),
        "CHOSHU_FIELD_KEY": "YWJj",
    }
    result = subprocess.run(
        [sys.executable, "-c", "import choshu.config.wsgi"],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert_explained(result, "CHOSHU_FIELD_KEY", "32 バイト")


def test_field_key_problem_is_none_for_a_good_key(monkeypatch: pytest.MonkeyPatch) -> None:
    from choshu.taxpayers.crypto import field_key_problem

    monkeypatch.setenv("CHOSHU_FIELD_KEY", GOOD_KEY)
    assert field_key_problem() is None
    monkeypatch.setenv("CHOSHU_FIELD_KEY", "%%%")
    problem = field_key_problem()
    assert problem is not None and "CHOSHU_FIELD_KEY" in problem
