"""Signed checkpoints of each chain's head, written outside the database.

Like the signed tree heads of a Certificate Transparency log: every so often the sealer appends one
line ``{"type": "checkpoint", "chain", "size", "head", "at", "key_id", "sig"}`` — the number of sealed
records of the chain and the seal of the last one, signed with Ed25519 — to
``CHOSHU_AUDIT_CHECKPOINT_DIR/checkpoints.jsonl``. A deployment puts that directory on append-only or
WORM storage, or ships the lines to syslog (the logger ``choshu.audit.checkpoint`` carries each line
too). A purge of old audit records appends a signed ``{"type": "purge", "chain", "through", "head",
"count"}`` line before the rows go: the verifier starts the chain there and trusts nothing the
database says about where it starts.

The database's role can delete the newest records and their seals, but not the checkpoint that
counted them, and cannot sign a new one.
"""

from __future__ import annotations

import base64
import fcntl
import json
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from django.conf import settings
from django.utils import timezone

from choshu.audit.keys import key_id, signing_key

FILE_NAME = "checkpoints.jsonl"
logger = logging.getLogger("choshu.audit.checkpoint")


def checkpoint_path() -> Path:
    return Path(settings.CHOSHU_AUDIT_CHECKPOINT_DIR) / FILE_NAME


def _signed_bytes(entry: dict[str, Any]) -> bytes:
    body = {k: v for k, v in entry.items() if k != "sig"}
    return json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def append(entry: dict[str, Any]) -> dict[str, Any]:
    """Sign ``entry`` and append it as one line (``O_APPEND``, locked, synced); returns the signed line."""
    entry = {"v": 1, **entry, "at": timezone.now().isoformat(), "key_id": key_id()}
    entry["sig"] = base64.b64encode(signing_key().sign(_signed_bytes(entry))).decode()
    line = json.dumps(entry, ensure_ascii=False, sort_keys=True, separators=(",", ":")) + "\n"
    path = checkpoint_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o640)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.write(fd, line.encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    logger.info(line.rstrip("\n"))
    return entry


@dataclass(frozen=True)
class Checkpoint:
    line: int
    type: str
    chain: int
    size: int  # checkpoint: records sealed; purge: the last purged sequence number
    head: str
    count: int
    at: str


@dataclass(frozen=True)
class BadLine:
    line: int
    problem: str


def read() -> Iterator[Checkpoint | BadLine]:
    """Every line of the checkpoint file, its signature checked (streamed; bounded memory)."""
    path = checkpoint_path()
    if not path.exists():
        return
    public = signing_key().public_key()
    with path.open("rb") as fh:
        for number, raw in enumerate(fh, start=1):
            try:
                entry = json.loads(raw)
                sig = base64.b64decode(entry["sig"], validate=True)
                public.verify(sig, _signed_bytes(entry))
                kind = str(entry["type"])
                size = int(entry["through"] if kind == "purge" else entry["size"])
                yield Checkpoint(
                    line=number,
                    type=kind,
                    chain=int(entry["chain"]),
                    size=size,
                    head=str(entry["head"]),
                    count=int(entry.get("count", 0)),
                    at=str(entry["at"]),
                )
            except InvalidSignature:
                yield BadLine(number, "チェックポイントの署名が一致しません（改ざん・別の鍵の疑い）")
            except (ValueError, KeyError, TypeError):
                yield BadLine(number, "チェックポイントの行が読めません（壊れています）")
