"""Access and operation logs (アクセスログ・操作ログ).

Every read of a person's data and every change is one ``AuditLog`` row, written in the same
transaction as the work it records and signed there with a key kept outside the database
(``row_mac``). A sealer then links each municipality's records in order (``AuditSeal``: a keyed hash
chain, one per municipality, so no request waits for another tenant's) and writes signed
checkpoints of each chain's head outside the database (``audit.checkpoints``). ``choshu
audit-verify`` checks every record, seal, per-person index row and checkpoint (docs/security.md).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class AuditKind(models.TextChoices):
    ACCESS = "access", "照会"
    CHANGE = "change", "更新"
    EXPORT = "export", "出力"
    LOGIN = "login", "ログイン"
    LOGOUT = "logout", "ログアウト"
    LOGIN_FAILED = "login_failed", "ログイン失敗"
    BATCH = "batch", "バッチ処理"


class AuditSubjectType(models.TextChoices):
    """What ``AuditLog.subject_ids`` are the ids of (blank: no subject)."""

    TAXPAYER = "taxpayer", "宛名"
    USER = "user", "職員"


class AuditLog(models.Model):
    """One audited event: who, when, from where, which function, which subjects, what changed."""

    municipality = models.ForeignKey("core.Municipality", null=True, blank=True, on_delete=models.PROTECT)
    kind = models.CharField(max_length=20, choices=AuditKind.choices)
    at = models.DateTimeField(db_index=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT)
    username = models.CharField(max_length=150, blank=True)
    client_addr = models.CharField(max_length=64, blank=True)
    function = models.CharField("機能", max_length=80)
    subject_type = models.CharField(max_length=40, blank=True, choices=AuditSubjectType.choices)
    subject_ids = models.JSONField("対象", default=list, blank=True)
    detail = models.JSONField(default=dict, blank=True)
    job = models.ForeignKey("core.Job", null=True, blank=True, on_delete=models.PROTECT)
    nonce = models.CharField(max_length=32)
    # HMAC of the record's content under its chain's key (``audit.services.row_mac``): a row written
    # by anyone without the key — the database's own role included — does not verify.
    row_mac = models.CharField(max_length=64, unique=True)

    class Meta:
        verbose_name = "監査ログ"
        indexes = [
            models.Index(fields=["municipality", "at"]),
            models.Index(fields=["user", "at"]),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.username} {self.function}"


class AuditSubject(models.Model):
    """Index row: which taxpayer an audit record concerns, so an auditor can search by person."""

    log = models.ForeignKey(AuditLog, on_delete=models.PROTECT, related_name="subjects")
    municipality = models.ForeignKey("core.Municipality", on_delete=models.PROTECT)
    taxpayer_id = models.BigIntegerField(db_index=True)

    class Meta:
        verbose_name = "監査ログ対象者"

    def __str__(self) -> str:
        return f"{self.log_id} → {self.taxpayer_id}"


def chain_of(municipality_id: int | None) -> int:
    """The chain a record belongs to: its municipality's, or 0 for records of no municipality."""
    return int(municipality_id or 0)


class AuditSeal(models.Model):
    """A record's place in its chain: ``mac`` = HMAC(chain key, previous mac, seq, record, row_mac).

    Written by the sealer (``audit.sealing``) in batches, never by a request; append-only like the
    records. A gap in ``seq``, a seal that does not verify or a record without a seal is reported.
    """

    chain = models.BigIntegerField()
    seq = models.BigIntegerField()
    log = models.OneToOneField(AuditLog, on_delete=models.PROTECT, related_name="seal")
    mac = models.CharField(max_length=64)
    sealed_at = models.DateTimeField()

    class Meta:
        verbose_name = "監査ログ封印"
        constraints = [models.UniqueConstraint(fields=["chain", "seq"], name="audit_seal_chain_seq")]

    def __str__(self) -> str:
        return f"{self.chain}#{self.seq}"


class AuditPending(models.Model):
    """A record written but not yet sealed: the sealer's queue (small; rows leave when sealed)."""

    chain = models.BigIntegerField()
    log = models.OneToOneField(AuditLog, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField()

    class Meta:
        verbose_name = "監査ログ封印待ち"
        indexes = [models.Index(fields=["chain", "log"])]

    def __str__(self) -> str:
        return f"pending {self.log_id}"


class AuditPurgePermit(models.Model):
    """Present only inside the retention purge's transaction: the database triggers refuse any
    UPDATE of audit rows, and any DELETE unless a permit row exists."""

    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "監査ログ削除許可"

    def __str__(self) -> str:
        return f"permit {self.pk}"
