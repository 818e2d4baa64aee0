"""The import record of the 036 → 037 standard files (docs/formats.md §34, docs/stdlink.md).

``StdFile`` is one file received (its hash: the same file twice changes nothing; a refused attempt
keeps its errors). ``StdRecord`` is the current content of one record of a file kind by its natural key,
every item as received — also the items choshu has no place for — with the standard's stamps
(操作者ID / 操作年月日 / 操作時刻) and the choshu row it became (``target_*``). ``StdRecordChange`` is
the change log of the records (created / updated / deleted / closed by a full load), beside the
audit log's batch record.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from choshu.core.models import SourceStamp


class StdFile(models.Model):
    class Status(models.TextChoices):
        IMPORTED = "imported", "取込済"
        REFUSED = "refused", "拒否"

    municipality = models.ForeignKey("core.Municipality", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField("ファイル種別", max_length=10)
    file_name = models.CharField("ファイル名", max_length=500)
    sha256 = models.CharField(max_length=64)
    mode = models.CharField("取込区分", max_length=5)  # full | delta
    status = models.CharField(max_length=10, choices=Status.choices)
    rows = models.PositiveIntegerField("行数", default=0)
    summary = models.JSONField("結果", default=dict, blank=True)
    errors = models.JSONField("エラー", default=list, blank=True)
    reason = models.CharField("理由", max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "標準連携ファイル（取込）"
        indexes = [models.Index(fields=["municipality", "kind", "sha256"], name="stdfile_hash_idx")]

    def __str__(self) -> str:
        return f"{self.kind} {self.file_name} ({self.get_status_display()})"


class StdRecord(SourceStamp):
    municipality = models.ForeignKey("core.Municipality", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField("ファイル種別", max_length=10)
    natural_key = models.CharField("自然キー", max_length=300)
    data = models.JSONField("受信した項目", default=dict)
    deleted = models.BooleanField("削除・終了", default=False)
    target_type = models.CharField("対応する choshu の記録", max_length=40, blank=True)
    target_id = models.BigIntegerField("対応する記録の内部番号", null=True, blank=True)
    file = models.ForeignKey(StdFile, on_delete=models.PROTECT, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "標準連携レコード"
        constraints = [
            models.UniqueConstraint(
                fields=["municipality", "kind", "natural_key"], name="stdrecord_key_unique"
            )
        ]
        indexes = [models.Index(fields=["municipality", "kind", "file"], name="stdrecord_file_idx")]

    def __str__(self) -> str:
        return f"{self.kind} {self.natural_key}"


class StdRecordChange(models.Model):
    class Action(models.TextChoices):
        CREATED = "created", "新規"
        UPDATED = "updated", "変更"
        DELETED = "deleted", "削除"
        CLOSED = "closed", "全件取込で終了"

    record = models.ForeignKey(StdRecord, on_delete=models.PROTECT, related_name="changes")
    file = models.ForeignKey(StdFile, on_delete=models.PROTECT, related_name="+")
    action = models.CharField(max_length=10, choices=Action.choices)
    before = models.JSONField("変更前", null=True, blank=True)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reason = models.CharField("理由", max_length=300, blank=True)
    changed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "標準連携レコードの変更履歴"

    def __str__(self) -> str:
        return f"{self.record_id} {self.get_action_display()}"
