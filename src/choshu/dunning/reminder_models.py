"""催告書 (reminder letters, issue 15 §3): saved target lists, hand exclusions and the letters issued.

After the 督促状, offices send reminder letters in waves: staff choose the people by criteria
(``ReminderList.criteria``), review them with counts and amounts, leave some out by hand with a reason
(``ReminderExclusion``), and issue the list as one batch. Each ``ReminderLetter`` carries one combined
slip for all the person's arrears chosen, with 延滞金 as of the list's stated date (``as_of``), and
its own deadline (``pay_by``). A 催告書 has no legal effect of its own (it is not a 督促, 法329条):
nothing in prescription follows from it.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class ReminderListStatus(models.TextChoices):
    DRAFT = "draft", "作成中"
    ISSUED = "issued", "発付済"


class ReminderList(models.Model):
    """催告対象リスト: criteria saved under a name, reviewed, then issued once."""

    municipality = models.ForeignKey("core.Municipality", on_delete=models.PROTECT, related_name="+")
    name = models.CharField("リスト名", max_length=100)
    criteria = models.JSONField("抽出条件", default=dict)
    as_of = models.DateField("延滞金の計算基準日")
    pay_by = models.DateField("納付期限（催告書）")
    status = models.CharField(
        "状態", max_length=10, choices=ReminderListStatus.choices, default=ReminderListStatus.DRAFT
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    issued_at = models.DateTimeField(null=True, blank=True)
    counts = models.JSONField("件数", default=dict, blank=True)

    class Meta:
        verbose_name = "催告対象リスト"
        indexes = [models.Index(fields=["municipality", "status"], name="reminder_list_status_idx")]

    def __str__(self) -> str:
        return f"催告 {self.name} #{self.pk}"


class ReminderExclusion(models.Model):
    """A person left out of a list by hand, with the reason (who and when)."""

    reminder_list = models.ForeignKey(ReminderList, on_delete=models.PROTECT, related_name="exclusions")
    taxpayer = models.ForeignKey("taxpayers.Taxpayer", on_delete=models.PROTECT, related_name="+")
    reason = models.CharField("除外の理由", max_length=200)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "催告対象からの除外"
        constraints = [
            models.UniqueConstraint(fields=["reminder_list", "taxpayer"], name="reminder_exclusion_unique")
        ]

    def __str__(self) -> str:
        return f"除外 {self.taxpayer_id}（{self.reason}）"


class ReminderLetter(models.Model):
    """催告書 — one per person of an issued list, with one combined slip for every arrear chosen."""

    municipality = models.ForeignKey("core.Municipality", on_delete=models.PROTECT, related_name="+")
    reminder_list = models.ForeignKey(ReminderList, on_delete=models.PROTECT, related_name="letters")
    taxpayer = models.ForeignKey(
        "taxpayers.Taxpayer", on_delete=models.PROTECT, related_name="reminder_letters"
    )
    issued_on = models.DateField("発付日")
    as_of = models.DateField("延滞金の計算基準日")
    pay_by = models.DateField("納付期限")
    principal = models.BigIntegerField("本税（未納）")
    late_charge = models.BigIntegerField("延滞金（基準日現在）")
    fee = models.BigIntegerField("督促手数料（未納）")
    total = models.BigIntegerField("請求額")
    slip = models.OneToOneField(
        "receipts.PaymentSlip",
        on_delete=models.PROTECT,
        related_name="reminder_letter",
        null=True,
        blank=True,
    )
    print_in_office = models.BooleanField("庁内印刷（支援措置）", default=False)

    class Meta:
        verbose_name = "催告書"
        indexes = [models.Index(fields=["municipality", "taxpayer"], name="reminder_letter_taxpayer_idx")]

    def __str__(self) -> str:
        return f"催告書 #{self.pk} {self.issued_on}"


class ReminderLetterInstallment(models.Model):
    """One installment a 催告書 covers, with its amounts as of the list's date."""

    letter = models.ForeignKey(ReminderLetter, on_delete=models.PROTECT, related_name="lines")
    installment = models.ForeignKey("levies.Installment", on_delete=models.PROTECT, related_name="+")
    principal = models.BigIntegerField("本税（未納）")
    late_charge = models.BigIntegerField("延滞金（基準日現在）")
    fee = models.BigIntegerField("督促手数料（未納）", default=0)

    class Meta:
        verbose_name = "催告書の期別"

    def __str__(self) -> str:
        return f"催告書 #{self.letter_id} 期別 #{self.installment_id}"
