"""The My Number vault: AES-GCM encryption at rest and a keyed hash for look-ups.

The master key is 32 bytes, from ``CHOSHU_FIELD_KEY`` (base64) or the key file ``var/field.key``
(created with mode 0600 on first use). Two sub-keys are derived with HKDF: one encrypts, one hashes,
so the look-up hash reveals nothing about the ciphertext key. A plaintext number never leaves this
module except through ``decrypt_my_number`` (used only by the reveal function, which is audited).
"""

from __future__ import annotations

import hashlib
import hmac
import os
from functools import lru_cache

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from choshu.core.keyfile import load_key

_VERSION = b"\x01"


class FieldKeyError(RuntimeError):
    pass


def _load_master_key(*, create: bool = True) -> bytes:
    return load_key(
        env="CHOSHU_FIELD_KEY",
        file_name="field.key",
        label="個人番号暗号鍵",
        error=FieldKeyError,
        create=create,
    )


def field_key_problem() -> str | None:
    """What is wrong with the configured My Number key (a Japanese sentence naming the variable or
    file and the form it must have), or ``None``; creates no key file. Checked at every start."""
    try:
        _load_master_key(create=False)
    except FieldKeyError as exc:
        return str(exc)
    return None


def _derive(info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(_load_master_key())


@lru_cache(maxsize=1)
def _keys() -> tuple[AESGCM, bytes]:
    return AESGCM(_derive(b"choshu my_number enc v1")), _derive(b"choshu my_number hash v1")


@lru_cache(maxsize=1)
def _hasher() -> hmac.HMAC:
    """The keyed hash with its key already absorbed: copied per number (the key schedule once)."""
    return hmac.new(_keys()[1], digestmod=hashlib.sha256)


def reset_key_cache() -> None:
    _keys.cache_clear()
    _hasher.cache_clear()


def encrypt_my_number(number: str) -> bytes:
    aead, _ = _keys()
    nonce = os.urandom(12)
    return _VERSION + nonce + aead.encrypt(nonce, number.encode("ascii"), _VERSION)


def decrypt_my_number(blob: bytes | memoryview | None) -> str:
    if blob is None:
        raise FieldKeyError("個人番号は登録されていません")
    aead, _ = _keys()
    blob = bytes(blob)
    if blob[:1] != _VERSION:
        raise FieldKeyError("未対応の暗号形式です")
    return aead.decrypt(blob[1:13], blob[13:], _VERSION).decode("ascii")


def my_number_hash(number: str) -> str:
    """Keyed hash (HMAC-SHA256) used to find a person by My Number without decrypting every row."""
    h = _hasher().copy()
    h.update(number.encode("ascii"))
    return h.hexdigest()


def mask_my_number(has_number: bool) -> str:
    return "＊＊＊＊ ＊＊＊＊ ＊＊＊＊" if has_number else ""
