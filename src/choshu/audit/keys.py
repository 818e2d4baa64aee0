"""The audit trail's key: kept outside the database, so its own role cannot forge the proof.

One 32-byte master key, from ``CHOSHU_AUDIT_KEY`` (base64) or, in development only, the key file
``var/audit.key`` (created with mode 0600 on first use). From it HKDF derives:

* one HMAC-SHA256 key per chain (a municipality, or the installation for records without one), which
  signs every record as it is written and links the records as they are sealed;
* one Ed25519 signing key for the checkpoints written outside the database; its public key can be
  handed to an outside verifier (``choshu audit-verify --public-key``).

Whoever holds the database and its role but not this key cannot write a record or a seal that
verifies; whoever holds the key too must also rewrite the checkpoint file kept elsewhere.
"""

from __future__ import annotations

import hashlib
import hmac
from functools import lru_cache

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from choshu.core.keyfile import load_key


class AuditKeyError(RuntimeError):
    pass


def _master(*, create: bool = True) -> bytes:
    return load_key(
        env="CHOSHU_AUDIT_KEY",
        file_name="audit.key",
        label="監査ログ署名鍵",
        error=AuditKeyError,
        create=create,
    )


def audit_key_problem() -> str | None:
    """What is wrong with the configured audit key (a Japanese sentence), or ``None``; creates nothing."""
    try:
        _master(create=False)
    except AuditKeyError as exc:
        return str(exc)
    return None


def _derive(info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(_master())


@lru_cache(maxsize=256)
def _chain_hmac(chain: int) -> hmac.HMAC:
    return hmac.new(_derive(b"choshu audit chain v1 %d" % chain), digestmod=hashlib.sha256)


def chain_mac(chain: int, message: bytes) -> str:
    """HMAC-SHA256 of ``message`` under the chain's own key, as 64 hex digits."""
    h = _chain_hmac(chain).copy()
    h.update(message)
    return h.hexdigest()


@lru_cache(maxsize=1)
def signing_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(_derive(b"choshu audit checkpoint v1"))


def public_key_bytes(key: Ed25519PublicKey | None = None) -> bytes:
    key = key or signing_key().public_key()
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id() -> str:
    """A short name of the signing key (the first 16 hex digits of the SHA-256 of its public key)."""
    return hashlib.sha256(public_key_bytes()).hexdigest()[:16]


def reset_key_cache() -> None:
    _chain_hmac.cache_clear()
    signing_key.cache_clear()
