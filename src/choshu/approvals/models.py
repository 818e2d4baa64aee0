"""決裁 — the two-person check (二人以上の担当者によるチェック) promised by the privacy impact assessment.

Input, correction and deletion of specific personal information (names and addresses entered by
staff, My Number links, bank accounts), refunds, write-offs and enforcement take effect only when a
second, different person with the approval right approves the request.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class RequestKind(models.TextChoices):
    TAXPAYER_EDIT = "taxpayer_edit", "宛名情報の訂正"
    MAILING_ADDRESS = "mailing_address", "送付先（税目別）の登録・変更・終了"
    MY_NUMBER_LINK = "my_number_link", "個人番号の登録・訂正"
    MY_NUMBER_UNLINK = "my_number_unlink", "個人番号の削除"
    BANK_ACCOUNT = "bank_account", "口座情報の登録・訂正"
    REFUND = "refund", "還付"
    WRITE_OFF = "write_off", "不納欠損"
    ENFORCEMENT = "enforcement", "滞納処分"
    SUSPENSE_ASSIGN = "suspense_assign", "未消込の充当先指定"
    COUNTER_BACKDATED = "counter_backdated", "窓口収納（本日以外の領収日）"
    PAYMENT_REVERSAL = "payment_reversal", "収納取消"
    PURGE = "purge", "保存期間経過データの消去"
    DUNNING_SUPPRESSION = "dunning_suppression", "督促停止（職員の判断）"
    DIRECT_DEBIT_MANDATE = "direct_debit_mandate", "口座振替依頼の登録・変更"
    RELIEF = "relief", "緩和制度（猶予・執行停止）の決定・延長・取消"


class ApprovalStatus(models.TextChoices):
    PENDING = "pending", "決裁待ち"
    APPROVED = "approved", "承認"
    REJECTED = "rejected", "否認"
    WITHDRAWN = "withdrawn", "取下げ"


class ChangeRequest(models.Model):
    """A change waiting for (or decided by) a second person. ``payload`` holds the new values;
    secret values (a My Number) are kept only encrypted in ``secret`` and never shown in lists."""

    municipality = models.ForeignKey("core.Municipality", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField("種別", max_length=30, choices=RequestKind.choices)
    taxpayer = models.ForeignKey("taxpayers.Taxpayer", null=True, blank=True, on_delete=models.PROTECT)
    payload = models.JSONField("内容", default=dict)
    before = models.JSONField("変更前", default=dict)
    secret = models.BinaryField(null=True, blank=True, editable=False)
    reason = models.CharField("理由", max_length=300)
    status = models.CharField(
        "決裁状態", max_length=12, choices=ApprovalStatus.choices, default=ApprovalStatus.PENDING
    )
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField()
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    comment = models.CharField("決裁コメント", max_length=300, blank=True)

    class Meta:
        verbose_name = "決裁"
        indexes = [models.Index(fields=["municipality", "status", "requested_at"], name="approval_queue_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk} ({self.get_status_display()})"
