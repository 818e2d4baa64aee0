"""Checks made before a ``choshu`` command runs: is the database initialised (every migration applied)?

The console entry point (``choshu.cli``) calls :func:`database_problem` once, before Django runs the
command, so no command meets a missing table half-way through with a traceback. A command that needs no
database (a pure calculation) or that initialises it itself sets ``requires_migrated_database = False``
on its class.
"""

from __future__ import annotations

from django.db import DatabaseError, connections
from django.db.migrations.executor import MigrationExecutor

# Django's own commands that work on an uninitialised database (or create it, or only print).
EXEMPT_COMMANDS = frozenset(
    {
        "migrate",
        "makemigrations",
        "showmigrations",
        "sqlmigrate",
        "squashmigrations",
        "optimizemigration",
        "check",
        "help",
        "version",
        "shell",
        "dbshell",
        "test",
        "diffsettings",
        "startapp",
        "startproject",
        "collectstatic",
        "findstatic",
        "sendtestemail",
    }
)

FIX_HINT = (
    "`choshu migrate` を実行してから、もう一度実行してください"
    "（新しい自治体を登録する `choshu init-municipality` と `choshu demo` は初期化も行います）。"
)


def command_requires_database(name: str) -> bool:
    """Whether the command ``name`` (underscored) needs a migrated database; unknown names: no
    (Django itself then says the command does not exist)."""
    if name in EXEMPT_COMMANDS:
        return False
    from django.core.management import get_commands, load_command_class

    app = get_commands().get(name)
    if app is None:
        return False
    # an app name, or an already loaded command object (call_command style)
    command = load_command_class(app, name) if isinstance(app, str) else app
    return bool(getattr(command, "requires_migrated_database", True))


EXIT_UNINITIALISED = 2  # the project's "refused, nothing changed" (core/commands.py)
EXIT_UNREACHABLE = 1


def database_problem(alias: str = "default") -> tuple[str, int] | None:
    """What is wrong with the database and how to fix it (a Japanese sentence) with the exit code to
    use, or ``None`` when every migration is applied."""
    connection = connections[alias]
    try:
        executor = MigrationExecutor(connection)
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
        has_tables = bool(connection.introspection.table_names())
    except DatabaseError as exc:
        settings = connection.settings_dict
        where = settings.get("NAME") or ""
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        return (
            f"データベース「{where}」に接続できません（{first}）。"
            "CHOSHU_DATABASE_URL とデータベースサーバーの状態を確かめてください。",
            EXIT_UNREACHABLE,
        )
    if not plan:
        return None
    if not has_tables:
        return f"データベースが初期化されていません（テーブルがありません）。{FIX_HINT}", EXIT_UNINITIALISED
    return (
        f"データベースが最新の状態ではありません（未適用のマイグレーションが {len(plan)} 件あります）。"
        f"{FIX_HINT}",
        EXIT_UNINITIALISED,
    )
