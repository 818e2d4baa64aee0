"""Access and operation logs (アクセスログ・操作ログ).

Every read of a person's data and every change is one ``AuditLog`` row, written in the same
transaction as the work it records. Rows form a hash chain: each row stores the hash of the previous
row, so an edit or deletion anywhere breaks the chain (``choshu audit-verify``).
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
    prev_hash = models.CharField(max_length=64)
    record_hash = models.CharField(max_length=64, unique=True)

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


class AuditChainAnchor(models.Model):
    """Where the hash chain starts after the audit log's own retention purge removed older rows.

    The verifier starts from the newest anchor: the first remaining row must point at its hash.
    """

    last_purged_id = models.BigIntegerField()
    last_purged_hash = models.CharField(max_length=64)
    purged_count = models.BigIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "監査ログ連鎖の起点"

    def __str__(self) -> str:
        return f"anchor after #{self.last_purged_id}"


class AuditPurgePermit(models.Model):
    """Present only inside the retention purge's transaction: the database triggers refuse any
    UPDATE of audit rows, and any DELETE unless a permit row exists."""

    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "監査ログ削除許可"

    def __str__(self) -> str:
        return f"permit {self.pk}"
