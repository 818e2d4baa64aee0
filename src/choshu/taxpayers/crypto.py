"""The My Number vault: AES-GCM encryption at rest and a keyed hash for look-ups.

The master key is 32 bytes, from ``CHOSHU_FIELD_KEY`` (base64) or the key file ``var/field.key``
(created with mode 0600 on first use). Two sub-keys are derived with HKDF: one encrypts, one hashes,
so the look-up hash reveals nothing about the ciphertext key. A plaintext number never leaves this
module except through ``decrypt_my_number`` (used only by the reveal function, which is audited).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
from functools import lru_cache

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

_VERSION = b"\x01"


class FieldKeyError(RuntimeError):
    pass


KEY_FORM = (
    "32 バイトの鍵を base64 で書いた 44 文字（末尾は「=」）にしてください。"
    "作り方: python3 -c 'import base64,os; print(base64.b64encode(os.urandom(32)).decode())'"
)


def _decode_key(text: str | bytes, where: str) -> bytes:
    try:
        key = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise FieldKeyError(f"{where}が base64 ではありません。{KEY_FORM}") from exc
    if len(key) != 32:
        raise FieldKeyError(f"{where}の鍵が {len(key)} バイトです（32 バイトが必要です）。{KEY_FORM}")
    return key


def _load_master_key(*, create: bool = True) -> bytes:
    env = os.environ.get("CHOSHU_FIELD_KEY")
    if env:
        return _decode_key(env.strip(), "環境変数 CHOSHU_FIELD_KEY（個人番号暗号鍵）")
    path = settings.VAR_DIR / "field.key"
    if not path.exists():
        if not create:
            return b""
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(base64.b64encode(AESGCM.generate_key(bit_length=256)))
    return _decode_key(path.read_bytes().strip(), f"鍵ファイル {path}（個人番号暗号鍵）")


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
