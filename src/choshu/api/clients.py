"""System clients and OAuth 2.0 client-credentials tokens (RFC 6749 §4.4; RFC 7523 for client_secret_jwt).

A client is one system of one municipality. Its secret is kept as an argon2 hash (the project's password
hasher) and shown once; its bearer tokens live ``TOKEN_MINUTES`` and are kept as SHA-256 hashes. Scopes
are ``037:<resource>:<operation>`` (業務ID 037 = 統合滞納管理, the standard's ID for this system: docs/api.md).
"""

from __future__ import annotations

import hashlib
import os
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

import jwt
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.contrib.auth.hashers import check_password, make_password
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from choshu.accounts.permissions import Right, has_right
from choshu.api.models import AccessToken, SystemClient, UsedAssertion
from choshu.audit.models import AuditKind
from choshu.audit.services import audit_record
from choshu.core.keyfile import load_key
from choshu.core.models import Municipality

BUSINESS_ID = "037"
"""業務ID of 統合滞納管理 (the standard's 037; 036 is 統合収納管理): the first part of every scope."""

SCOPES: dict[str, str] = {
    f"{BUSINESS_ID}:taxpayers:write": "宛名の登録・異動",
    f"{BUSINESS_ID}:levies:write": "調定・更正の登録",
    f"{BUSINESS_ID}:balances:read": "残高・収納状況の照会（延滞金を含む）",
    f"{BUSINESS_ID}:slips:read": "納付書の照会",
    f"{BUSINESS_ID}:payments:read": "収納の一覧（差分）",
    f"{BUSINESS_ID}:dunning:read": "督促の一覧（差分）",
    f"{BUSINESS_ID}:write-offs:read": "不納欠損の一覧（差分）",
}
TOKEN_MINUTES = 10
"""Lifetime of a bearer token (minutes)."""
ASSERTION_MAX_MINUTES = 10
"""A client_secret_jwt assertion may not live longer than this (its ``exp`` − now)."""
TOKEN_PATH = "/api/oauth/token"  # noqa: S105 - a URL path, not a password


class OAuthError(Exception):
    """An RFC 6749 §5.2 error: ``error`` code, Japanese description, HTTP status."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status


@dataclass(frozen=True)
class Registered:
    client: SystemClient
    secret: str  # shown once


def _check_chief(actor: Any, municipality: Municipality) -> None:
    if getattr(actor, "municipality_id", None) != municipality.pk or not has_right(
        actor, Right.MUNICIPALITY_SETTINGS
    ):
        raise PermissionDenied(
            "連携システムの登録・失効は、同じ団体の団体設定の権限を持つ職員だけが行えます。"
        )


@transaction.atomic
def client_register(
    *, actor: Any, municipality: Municipality, name: str, scopes: list[str], reason: str = ""
) -> Registered:
    """Register a system: a new client id and secret (returned once; only its hash is kept)."""
    _check_chief(actor, municipality)
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown or not scopes:
        raise ValidationError(f"スコープが正しくありません: {', '.join(unknown) or '（未選択）'}")
    name = name.strip()
    if not name:
        raise ValidationError("システム名を入力してください。")
    client_id = f"{municipality.code}-{secrets.token_hex(8)}"
    secret = secrets.token_urlsafe(32)
    client = SystemClient.objects.create(
        municipality=municipality,
        client_id=client_id,
        name=name,
        secret_hash=make_password(secret),
        secret_enc=secret_encrypt(secret),
        scopes=sorted(set(scopes)),
        created_by=actor,
    )
    audit_record(
        kind=AuditKind.CHANGE,
        function="連携システムの登録",
        municipality=municipality,
        user=actor,
        detail={"client_id": client_id, "name": name, "scopes": client.scopes, "reason": reason},
    )
    return Registered(client, secret)


@transaction.atomic
def client_revoke(*, actor: Any, client: SystemClient, reason: str) -> None:
    """Revoke a client: no new token, and every token it holds stops working at once."""
    _check_chief(actor, client.municipality)
    if not reason.strip():
        raise ValidationError("失効の理由を入力してください。")
    locked = SystemClient.objects.select_for_update().get(pk=client.pk)
    if not locked.active:
        raise ValidationError("この連携システムはすでに失効しています。")
    now = timezone.now()
    SystemClient.objects.filter(pk=client.pk).update(
        active=False, revoked_by=actor, revoked_at=now, revoke_reason=reason.strip()
    )
    AccessToken.objects.filter(client=client, expires_at__gt=now).update(expires_at=now)
    audit_record(
        kind=AuditKind.CHANGE,
        function="連携システムの失効",
        municipality=client.municipality,
        user=actor,
        detail={"client_id": client.client_id, "reason": reason.strip()},
    )


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _client(client_id: str) -> SystemClient | None:
    if not client_id or len(client_id) > 64:
        return None
    return SystemClient.objects.select_related("municipality").filter(client_id=client_id).first()


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return make_password(secrets.token_urlsafe(32))


def authenticate_basic(client_id: str, secret: str) -> SystemClient:
    """client_secret_basic (RFC 6749 §2.3.1)."""
    client = _client(client_id)
    # a hash is checked even for an unknown id, so the answer takes as long either way
    ok = check_password(secret, client.secret_hash if client else _dummy_hash())
    if client is None or not ok:
        raise OAuthError("invalid_client", "クライアントIDまたはシークレットが正しくありません。", 401)
    return client


def authenticate_jwt(assertion: str, audience: str) -> SystemClient:
    """client_secret_jwt (RFC 7523 §2.2, §3; OIDC Core §9): a JWT signed HS256 with the client secret;
    ``iss`` = ``sub`` = the client id, ``aud`` = the token endpoint's URL, ``exp`` within
    ``ASSERTION_MAX_MINUTES``, ``jti`` accepted once (kept until the assertion expires)."""
    invalid = OAuthError("invalid_client", "クライアント認証のJWTが正しくありません。", 401)
    try:
        header = jwt.get_unverified_header(assertion)
        claims = jwt.decode(assertion, options={"verify_signature": False})
    except jwt.PyJWTError as exc:
        raise invalid from exc
    if header.get("alg") != "HS256":
        raise OAuthError("invalid_client", "クライアント認証のJWTはHS256で署名してください。", 401)
    iss = claims.get("iss")
    client = _client(iss) if isinstance(iss, str) else None
    if client is None or not client.secret_enc:
        raise invalid
    try:
        verified = jwt.decode(
            assertion,
            secret_decrypt(bytes(client.secret_enc)),
            algorithms=["HS256"],
            audience=audience,
            issuer=client.client_id,
            options={"require": ["iss", "sub", "aud", "exp", "jti"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise OAuthError(
            "invalid_client", "クライアント認証のJWTの有効期限（exp）が切れています。", 401
        ) from exc
    except jwt.InvalidAudienceError as exc:
        raise OAuthError(
            "invalid_client",
            f"クライアント認証のJWTのaudはトークンエンドポイントのURL（{audience}）にしてください。",
            401,
        ) from exc
    except jwt.PyJWTError as exc:
        raise invalid from exc
    if verified.get("sub") != client.client_id:
        raise OAuthError("invalid_client", "クライアント認証のJWTのsubはクライアントIDにしてください。", 401)
    jti = verified.get("jti")
    if not isinstance(jti, str) or not 1 <= len(jti) <= 200:
        raise OAuthError(
            "invalid_client", "クライアント認証のJWTのjtiが正しくありません（1〜200文字）。", 401
        )
    exp = datetime.fromtimestamp(int(verified["exp"]), tz=timezone.get_current_timezone())
    if exp - timezone.now() > timedelta(minutes=ASSERTION_MAX_MINUTES):
        raise OAuthError(
            "invalid_client",
            f"クライアント認証のJWTの有効期間は{ASSERTION_MAX_MINUTES}分以内にしてください。",
            401,
        )
    try:
        with transaction.atomic():
            UsedAssertion.objects.create(client=client, jti=jti, expires_at=exp)
    except IntegrityError as exc:
        raise OAuthError("invalid_client", "このJWT（jti）はすでに使われています。", 401) from exc
    return client


def issue_token(client: SystemClient, requested: str, auth_method: str) -> tuple[str, AccessToken]:
    """A bearer token for ``client`` with the scopes asked (space-separated; empty = all it holds)."""
    if not client.active:
        raise OAuthError("invalid_client", "この連携システムは失効しています。", 401)
    asked = set(requested.split()) if requested else set(client.scopes)
    if not asked or not asked <= set(client.scopes):
        raise OAuthError(
            "invalid_scope",
            f"許可されていないスコープです: {' '.join(sorted(asked - set(client.scopes))) or '（なし）'}",
        )
    token = secrets.token_urlsafe(32)
    now = timezone.now()
    row = AccessToken.objects.create(
        client=client,
        token_hash=token_hash(token),
        scopes=sorted(asked),
        issued_at=now,
        expires_at=now + timedelta(minutes=TOKEN_MINUTES),
        auth_method=auth_method,
    )
    UsedAssertion.objects.filter(client=client, expires_at__lt=now).delete()
    audit_record(
        kind=AuditKind.LOGIN,
        function="連携システムのトークン発行",
        municipality=client.municipality,
        detail={"client_id": client.client_id, "scopes": row.scopes, "auth_method": auth_method},
    )
    return token, row


def token_lookup(token: str) -> AccessToken | None:
    """The live token (not expired, its client active), or None."""
    if not token or len(token) > 200:
        return None
    row = (
        AccessToken.objects.select_related("client", "client__municipality")
        .filter(token_hash=token_hash(token))
        .first()
    )
    if row is None or row.expires_at <= timezone.now() or not row.client.active:
        return None
    return row


# The secret encrypted for client_secret_jwt: HS256 needs the shared secret on the server, which the
# argon2 hash cannot give back. It is encrypted (AES-256-GCM) with a key derived from the field key,
# which never lives in the database (docs/security.md「鍵の置き場所」).
def _aead() -> AESGCM:
    master = load_key(
        env="CHOSHU_FIELD_KEY", file_name="field.key", label="個人番号暗号鍵", error=RuntimeError
    )
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"choshu api client secret v1").derive(
        master
    )
    return AESGCM(key)


def secret_encrypt(secret: str) -> bytes:
    nonce = os.urandom(12)
    return nonce + _aead().encrypt(nonce, secret.encode(), b"choshu-api-secret")


def secret_decrypt(blob: bytes) -> bytes:
    return _aead().decrypt(blob[:12], blob[12:], b"choshu-api-secret")
