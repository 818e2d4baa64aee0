"""Encrypted backups (バックアップ) and restore — the only copy of the data the seed allows.

PostgreSQL: ``pg_dump --format=custom`` / ``pg_restore --clean``; SQLite: the online backup API.
The dump is encrypted in 1 MiB chunks with AES-256-GCM under a key derived from the field key
(HKDF, its own purpose string), so a backup file is useless without the installation's key.
Chunk nonces carry a counter and the last chunk is marked, so reordering or truncation is detected.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import struct
import subprocess
import tempfile
from pathlib import Path
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.db import connection

from choshu.taxpayers.crypto import _derive

MAGIC = b"CHOSHUBK1\n"
CHUNK = 1 << 20


class BackupError(RuntimeError):
    pass


def _aead() -> AESGCM:
    return AESGCM(_derive(b"choshu backup v1"))


def encrypt_stream(src: BinaryIO, dst: BinaryIO) -> None:
    aead, prefix = _aead(), os.urandom(8)
    dst.write(MAGIC + prefix)
    counter = 0
    chunk = src.read(CHUNK)
    while True:
        nxt = src.read(CHUNK)
        final = not nxt
        aad = struct.pack(">I?", counter, final)
        sealed = aead.encrypt(prefix + struct.pack(">I", counter), chunk, aad)
        dst.write(struct.pack(">I", len(sealed)) + sealed)
        if final:
            return
        chunk, counter = nxt, counter + 1


def decrypt_stream(src: BinaryIO, dst: BinaryIO) -> None:
    if src.read(len(MAGIC)) != MAGIC:
        raise BackupError("choshu のバックアップファイルではありません")
    aead, prefix = _aead(), src.read(8)
    counter = 0
    while True:
        head = src.read(4)
        if len(head) != 4:
            raise BackupError("バックアップファイルが途中で切れています")
        sealed = src.read(struct.unpack(">I", head)[0])
        nonce = prefix + struct.pack(">I", counter)
        for final in (False, True):
            try:
                dst.write(aead.decrypt(nonce, sealed, struct.pack(">I?", counter, final)))
                break
            except InvalidTag:
                continue
        else:
            raise BackupError("復号できません（鍵が違うか、ファイルが改ざん・破損しています）")
        if final:
            if src.read(1):
                raise BackupError("バックアップファイルの末尾に余分なデータがあります")
            return
        counter += 1


def _pg_env() -> dict[str, str]:
    s = connection.settings_dict
    env = {
        **os.environ,
        "PGHOST": str(s.get("HOST") or ""),
        "PGPORT": str(s.get("PORT") or ""),
        "PGUSER": str(s.get("USER") or ""),
        "PGDATABASE": str(s["NAME"]),
    }
    if s.get("PASSWORD"):
        env["PGPASSWORD"] = str(s["PASSWORD"])
    return env


def backup_to(path: Path) -> int:
    """Write an encrypted backup of the whole database to ``path`` (mode 0600). Returns its size."""
    with tempfile.TemporaryDirectory() as tmp:
        plain = Path(tmp) / "dump"
        if connection.vendor == "postgresql":
            _run(["pg_dump", "--format=custom", "--no-owner", "--file", str(plain)])
        else:
            connection.ensure_connection()
            target = sqlite3.connect(plain)
            connection.connection.backup(target)
            target.close()
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with plain.open("rb") as src, os.fdopen(fd, "wb") as dst:
            encrypt_stream(src, dst)
    return path.stat().st_size


def restore_from(path: Path) -> None:
    """Replace the database's contents with the backup in ``path``."""
    with tempfile.TemporaryDirectory() as tmp:
        plain = Path(tmp) / "dump"
        with path.open("rb") as src, plain.open("wb") as dst:
            decrypt_stream(src, dst)
        if connection.vendor == "postgresql":
            connection.close()
            _run(
                [
                    "pg_restore",
                    "--clean",
                    "--if-exists",
                    "--no-owner",
                    "--single-transaction",
                    "--dbname",
                    _pg_env()["PGDATABASE"],
                    str(plain),
                ]
            )
        else:
            source = sqlite3.connect(plain)
            connection.ensure_connection()
            source.backup(connection.connection)
            source.close()


def _run(cmd: list[str]) -> None:
    if shutil.which(cmd[0]) is None:
        raise BackupError(f"{cmd[0]} が見つかりません（PostgreSQL クライアントをインストールしてください）")
    result = subprocess.run(cmd, env=_pg_env(), capture_output=True, text=True, check=False)  # noqa: S603
    if result.returncode != 0:
        raise BackupError(f"{cmd[0]} が失敗しました: {result.stderr.strip()[:500]}")
