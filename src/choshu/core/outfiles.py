"""Output files a command hands to someone else (print vendor, bank, 会計課): all or nothing.

Every file choshu writes for another party goes through :func:`output_file`:

- the name is checked first (it must not exist; its folder must exist and be writable), so a refusal
  writes nothing;
- the bytes go to a hidden ``.<name>.<random>.part`` beside it, hashed (SHA-256) and counted on the way;
- :meth:`OutputFile.publish` flushes and fsyncs the part, then gives it its name with a hard link, which
  never replaces a file made meanwhile (``os.replace`` would); where the file system has no links the
  name is checked just before the rename. Call it inside the transaction that records the file (audit,
  batch row), so the record and the file exist both or neither;
- leaving the ``with`` block without publishing (an exception, a dry run) removes the part: nothing half
  written is ever left under any name a reader would pick up.

Errors are ``ValidationError`` in Japanese that say what and where, and that nothing was written.

    with output_file(out) as f:
        for chunk in rows():
            f.write(chunk)
        with transaction.atomic():
            audit_record(..., detail={"sha256": f.sha256, "bytes": f.size})
            f.publish()
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from django.core.exceptions import ValidationError

NOTHING = "何も出力していません"


def check_out(out: Path) -> None:
    """Refuse ``out`` unless it is a new name in a writable folder (before anything is computed)."""
    if out.exists():
        raise ValidationError(f"出力先 {out} は既に存在します。別のファイル名を指定してください（{NOTHING}）")
    parent = out.parent
    if not parent.is_dir():
        raise ValidationError(f"出力先のフォルダ {parent} がありません（{NOTHING}）")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ValidationError(
            f"出力先のフォルダ {parent} に書き込めません（権限を確認してください。{NOTHING}）"
        )


class OutputFile:
    """The file being written: :meth:`write` bytes, then :meth:`publish` (module docstring)."""

    def __init__(self, path: Path, tmp: Path, raw: BinaryIO) -> None:
        self.path = path
        self.tmp = tmp
        self._raw = raw
        self._digest = hashlib.sha256()
        self.size = 0
        self.published = False

    def write(self, data: bytes) -> int:
        self._digest.update(data)
        self.size += len(data)
        self._raw.write(data)
        return len(data)

    @property
    def sha256(self) -> str:
        """The hex SHA-256 of everything written so far."""
        return self._digest.hexdigest()

    def _close(self) -> None:
        if not self._raw.closed:
            self._raw.flush()
            os.fsync(self._raw.fileno())
            self._raw.close()

    def publish(self) -> None:
        """Make the bytes durable and give them their name (refused if the name appeared meanwhile)."""
        self._close()
        made_meanwhile = ValidationError(
            f"出力先 {self.path} が出力中に作られました。別のファイル名を指定してください（{NOTHING}）"
        )
        try:
            os.link(self.tmp, self.path)
        except FileExistsError:
            raise made_meanwhile from None
        except OSError:  # no hard links here (some network shares)
            if self.path.exists():
                raise made_meanwhile from None
            os.replace(self.tmp, self.path)
        self.published = True


@contextmanager
def output_file(out: str | Path) -> Iterator[OutputFile]:
    """Open ``out`` for an all-or-nothing write (module docstring)."""
    path = Path(out)
    check_out(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    except OSError as exc:
        raise ValidationError(
            f"出力先のフォルダ {path.parent} にファイルを作れません（{exc.strerror}。{NOTHING}）"
        ) from exc
    f = OutputFile(path, Path(tmp), os.fdopen(fd, "wb"))
    try:
        yield f
    finally:
        if not f._raw.closed:
            f._raw.close()
        Path(tmp).unlink(missing_ok=True)
