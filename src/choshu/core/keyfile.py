"""32-byte master keys given in the environment (base64) or, in development, in a key file under
``var/`` created with mode 0600 on first use — one loader for the field key (``taxpayers.crypto``) and
the audit key (``audit.keys``). Production settings refuse a key file beside the data
(``config.settings._production_refusal``)."""

from __future__ import annotations

import base64
import binascii
import os

from django.conf import settings

KEY_FORM = (
    "32 バイトの鍵を base64 で書いた 44 文字（末尾は「=」）にしてください。"
    "作り方: python3 -c 'import base64,os; print(base64.b64encode(os.urandom(32)).decode())'"
)


def decode_key(text: str | bytes, where: str, error: type[Exception]) -> bytes:
    """The 32 bytes of a base64 key, or ``error`` with a Japanese sentence naming ``where``."""
    try:
        key = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise error(f"{where}が base64 ではありません。{KEY_FORM}") from exc
    if len(key) != 32:
        raise error(f"{where}の鍵が {len(key)} バイトです（32 バイトが必要です）。{KEY_FORM}")
    return key


def load_key(*, env: str, file_name: str, label: str, error: type[Exception], create: bool = True) -> bytes:
    """The key from ``env``, else from ``VAR_DIR/file_name`` (created when missing and ``create``;
    ``b""`` when missing and not ``create``)."""
    text = os.environ.get(env)
    if text:
        return decode_key(text.strip(), f"環境変数 {env}（{label}）", error)
    path = settings.VAR_DIR / file_name
    if not path.exists():
        if not create:
            return b""
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(base64.b64encode(os.urandom(32)))
    return decode_key(path.read_bytes().strip(), f"鍵ファイル {path}（{label}）", error)
