"""The base of every ``choshu`` batch command (architecture.md, "Command-line interface").

- ``--json`` prints one JSON object as the last line of stdout;
- exit 0 on success, 2 when the input is refused (nothing changed), 1 on other failure;
- ``--municipality CODE`` selects the tenant (default: the only one).
"""

from __future__ import annotations

import json
import sys
from abc import ABCMeta, abstractmethod
from argparse import ArgumentParser
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from choshu.core.models import Municipality
from choshu.core.progress import TerminalBar, count_lines
from choshu.core.services import MunicipalityNotFound, municipality_resolve
from choshu.formats.errors import FileRefused

EXIT_REFUSED = 2


class ChoshuCommand(BaseCommand, metaclass=ABCMeta):
    uses_municipality = True
    # `choshu` refuses to run the command on a database with migrations not applied (core/startup.py);
    # False for a pure calculation or a command that migrates first.
    requires_migrated_database = True

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--json", action="store_true", help="結果を JSON で最終行に出力する")
        if self.uses_municipality:
            parser.add_argument(
                "--municipality", metavar="CODE", help="地方公共団体コード（1団体のみなら省略可）"
            )

    def municipality(self, options: dict[str, Any]) -> Municipality:
        try:
            return municipality_resolve(options.get("municipality"))
        except MunicipalityNotFound as exc:
            raise CommandError(str(exc), returncode=EXIT_REFUSED) from exc

    def progress_bar(self, path: str, *, header_lines: int = 0) -> TerminalBar | None:
        """A progress bar on stderr for reading ``path``, only when stderr is a terminal (a redirected
        or CI run prints nothing extra; ``--json`` output on stdout is never touched)."""
        stream = getattr(self.stderr, "_out", sys.stderr)
        if not (hasattr(stream, "isatty") and stream.isatty()):
            return None
        try:
            total = max(count_lines(path) - header_lines, 0)
        except OSError:
            return None  # the import reports the unreadable file in Japanese
        return TerminalBar(stream, total=total)

    def emit(self, options: dict[str, Any], payload: dict[str, Any], human: str = "") -> None:
        if options.get("json"):
            self.stdout.write(json.dumps(payload, ensure_ascii=False, default=str))
        else:
            self.stdout.write(human or json.dumps(payload, ensure_ascii=False, indent=2, default=str))

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            self.run(**options)
        except FileRefused as refused:
            if options.get("json"):
                self.stdout.write(
                    json.dumps(
                        {
                            "refused": True,
                            "file": refused.file_name,
                            "errors": [e.as_dict() for e in refused.errors],
                        },
                        ensure_ascii=False,
                    )
                )
            for err in refused.errors[:50]:
                sys.stderr.write(f"{refused.file_name}: {err}\n")
            raise CommandError(
                f"取込を中止しました（{len(refused.errors)}件のエラー、何も登録していません）。"
                "ファイルを直して再実行してください",
                returncode=EXIT_REFUSED,
            ) from refused
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages), returncode=EXIT_REFUSED) from exc

    @abstractmethod
    def run(self, **options: Any) -> None:
        """The command's work; ``handle`` turns refusals into exit code 2."""
