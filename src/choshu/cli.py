"""The ``choshu`` console script: Django's management commands with the project's settings.

``choshu import-taxpayers FILE`` runs the management command ``import_taxpayers``.
Exit codes follow the project's convention: 0 success, 2 input refused (nothing changed), 1 other failure.

Before any command runs, the configuration and the database are checked once, here: a malformed
setting (``CHOSHU_FIELD_KEY``, ``CHOSHU_DATABASE_URL``, a number) or a database without its tables
(or with migrations not yet applied) is reported in one Japanese sentence saying what to do, with
exit code 2 — never a traceback.
"""

from __future__ import annotations

import os
import sys

EXIT_REFUSED = 2
_NO_CHECK_FLAGS = {"-h", "--help", "--version", "help", "version"}


def _fail(message: str, code: int = EXIT_REFUSED) -> None:
    sys.stderr.write(f"エラー: {message}\n")
    raise SystemExit(code)


def startup_checks(args: list[str]) -> None:
    """Configure Django and refuse to start on a malformed key or an uninitialised database."""
    import django
    from django.core.exceptions import ImproperlyConfigured

    try:
        django.setup()
    except ImproperlyConfigured as exc:
        _fail(str(exc))
    from choshu.audit.keys import audit_key_problem
    from choshu.taxpayers.crypto import field_key_problem

    if problem := field_key_problem() or audit_key_problem():
        _fail(problem)
    if not args or _NO_CHECK_FLAGS & set(args):
        return
    from choshu.core.startup import command_requires_database, database_problem

    if command_requires_database(args[0]) and (found := database_problem()):
        message, code = found
        _fail(message, code)


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "choshu.config.settings")
    args = list(sys.argv[1:] if argv is None else argv)
    if args and not args[0].startswith("-"):
        args[0] = args[0].replace("-", "_")
    startup_checks(args)
    from django.core.management import execute_from_command_line

    from choshu.audit.services import CLI_CLIENT, audit_client

    with audit_client(CLI_CLIENT):  # audit records of a command say where they came from: "cli"
        execute_from_command_line(["choshu", *args])


if __name__ == "__main__":
    main()
