"""The ``choshu`` console script: Django's management commands with the project's settings.

``choshu import-taxpayers FILE`` runs the management command ``import_taxpayers``.
Exit codes follow the project's convention: 0 success, 2 input refused (nothing changed), 1 other failure.
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "choshu.config.settings")
    args = list(sys.argv[1:] if argv is None else argv)
    if args and not args[0].startswith("-"):
        args[0] = args[0].replace("-", "_")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["choshu", *args])


if __name__ == "__main__":
    main()
