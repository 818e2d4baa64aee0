"""Registered system clients of the integration API (庁内連携), their bearer tokens and used JWT ids."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class SystemClient(models.Model):
    """One system of the city (宛名, 税務, 庁内連携基盤 …) allowed to call the API: per system, not per
    person (共通機能標準仕様書 §2.2). The secret is stored only as a password hash (argon2, the project's
    hasher); it is shown once, when registered."""

    municipality = models.ForeignKey("core.Municipality", on_delete=models.PROTECT, related_name="+")
    client_id = models.CharField("クライアントID", max_length=64, unique=True)
    name = models.CharField("システム名", max_length=100)
    secret_hash = models.CharField(max_length=256)
    # client_secret_jwt needs the secret itself: AES-GCM under a key derived from the field key
    secret_enc = models.BinaryField(default=b"")
    scopes = models.JSONField("スコープ", default=list)
    active = models.BooleanField("有効", default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoke_reason = models.CharField("失効の理由", max_length=200, blank=True)

    class Meta:
        indexes = [models.Index(fields=["municipality", "active"], name="api_client_muni_idx")]

    def __str__(self) -> str:
        return f"{self.name} ({self.client_id})"


class AccessToken(models.Model):
    """A bearer token: only its SHA-256 is kept (the token is 256 random bits, so a plain hash is enough)."""

    client = models.ForeignKey(SystemClient, on_delete=models.PROTECT, related_name="tokens")
    token_hash = models.CharField(max_length=64, unique=True)
    scopes = models.JSONField(default=list)
    issued_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    auth_method = models.CharField(max_length=30)

    def __str__(self) -> str:
        return f"token of {self.client.client_id} until {self.expires_at:%Y-%m-%d %H:%M}"


class UsedAssertion(models.Model):
    """The ``jti`` of every accepted client_secret_jwt assertion (RFC 7523 §3 item 7: used once)."""

    client = models.ForeignKey(SystemClient, on_delete=models.PROTECT, related_name="+")
    jti = models.CharField(max_length=200)
    expires_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["client", "jti"], name="api_jti_once")]

    def __str__(self) -> str:
        return f"jti {self.jti} of {self.client.client_id}"
