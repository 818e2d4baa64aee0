"""分納誓約 (payment plans, issue 18 §5; docs/cases.md §5).

* ``PaymentPlan`` — one person's pledge to pay chosen installments in arrears (any tax items) by a
  schedule; status 作成中 → 誓約中 → 履行完了 / 不履行, or 取消 (from 作成中 or 誓約中). The pledge date
  (誓約日) is an acknowledgement of the debt (承認, 民法152条 via 地方税法18条3項): the prescription of
  every covered installment starts again on it (``services.pledge_events``).
* ``PlanInstalment`` — one instalment of the schedule: amount (yen), due date, its own 納付書 (a
  combined slip over the covered installments, ``receipts.slips.combined_slip_issue``) and its state
  as ``choshu plans-check`` last found it (未到来・納付済・未納).
* ``PlanStatusChange`` — the plan's history (who, when, why): the timeline and the audit trail.
* ``PlanSetting`` — a dated municipality setting: grace days after an instalment's date before it is
  missed, and the number of misses that makes the plan 不履行.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class PlanStatus(models.TextChoices):
    DRAFT = "draft", "作成中"
    PLEDGED = "pledged", "誓約中"
    COMPLETED = "completed", "履行完了"
    DEFAULTED = "defaulted", "不履行"
    CANCELLED = "cancelled", "取消"


class PlanMethod(models.TextChoices):
    EQUAL = "equal", "均等払い"
    MANUAL = "manual", "個別入力"


class InstalmentStatus(models.TextChoices):
    DUE = "due", "未到来"
    PAID = "paid", "納付済"
    MISSED = "missed", "未納（不履行）"


class PlanSetting(models.Model):
    """分納の監視設定 (dated): ``grace_days`` after an instalment's date an unpaid instalment counts as
    missed; ``misses_to_default`` missed instalments make the plan 不履行. The setting in force on the
    check's date applies."""

    municipality = models.ForeignKey("core.Municipality", on_delete=models.PROTECT, related_name="+")
    valid_from = models.DateField("適用開始日")
    grace_days = models.PositiveSmallIntegerField("猶予日数")
    misses_to_default = models.PositiveSmallIntegerField("不履行とする未納回数")
    note = models.CharField("根拠・備考", max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "分納の監視設定"
        constraints = [
            models.UniqueConstraint(fields=["municipality", "valid_from"], name="plans_setting_unique_date"),
            models.CheckConstraint(condition=Q(misses_to_default__gte=1), name="plans_setting_misses_min"),
        ]

    def __str__(self) -> str:
        return f"{self.valid_from} 猶予{self.grace_days}日 未納{self.misses_to_default}回で不履行"


class PaymentPlan(models.Model):
    municipality = models.ForeignKey("core.Municipality", on_delete=models.PROTECT, related_name="+")
    taxpayer = models.ForeignKey("taxpayers.Taxpayer", on_delete=models.PROTECT, related_name="payment_plans")
    installments = models.ManyToManyField("levies.Installment", related_name="payment_plans")
    status = models.CharField("状態", max_length=10, choices=PlanStatus.choices, default=PlanStatus.DRAFT)
    method = models.CharField("分割の方法", max_length=10, choices=PlanMethod.choices)
    include_late_charge = models.BooleanField("延滞金を含める", default=False)
    principal = models.BigIntegerField("対象の本税")
    fee = models.BigIntegerField("対象の督促手数料", default=0)
    late_charge = models.BigIntegerField("含めた延滞金（最終回の日まで）", default=0)
    total = models.BigIntegerField("分納の総額")
    note = models.CharField("作成の理由・備考", max_length=300)
    pledged_on = models.DateField("誓約日", null=True, blank=True)
    completed_on = models.DateField("履行完了日", null=True, blank=True)
    defaulted_on = models.DateField("不履行日", null=True, blank=True)
    cancelled_on = models.DateField("取消日", null=True, blank=True)
    cancel_reason = models.CharField("取消の理由", max_length=300, blank=True)
    checked_on = models.DateField("最終確認日", null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "分納誓約"
        indexes = [models.Index(fields=["municipality", "status"], name="plans_plan_status_idx")]

    def __str__(self) -> str:
        return f"分納誓約#{self.pk} {self.get_status_display()}"

    @property
    def is_open(self) -> bool:
        return self.status in (PlanStatus.DRAFT, PlanStatus.PLEDGED)


class PlanInstalment(models.Model):
    plan = models.ForeignKey(PaymentPlan, on_delete=models.CASCADE, related_name="instalments")
    no = models.PositiveSmallIntegerField("回")
    amount = models.BigIntegerField("金額")
    due_on = models.DateField("納付予定日")
    status = models.CharField(
        "状態", max_length=10, choices=InstalmentStatus.choices, default=InstalmentStatus.DUE
    )
    paid_on = models.DateField("納付済となった日", null=True, blank=True)
    missed_on = models.DateField("未納となった日", null=True, blank=True)
    slip = models.ForeignKey(
        "receipts.PaymentSlip", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = "分納の各回"
        ordering = ["plan", "no"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "no"], name="plans_instalment_unique_no"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="plans_instalment_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"第{self.no}回 {self.due_on} {self.amount}円"


class PlanStatusChange(models.Model):
    plan = models.ForeignKey(PaymentPlan, on_delete=models.CASCADE, related_name="status_changes")
    from_status = models.CharField(max_length=10, choices=PlanStatus.choices, blank=True)
    to_status = models.CharField(max_length=10, choices=PlanStatus.choices)
    changed_on = models.DateField("日付")
    changed_at = models.DateTimeField()
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    note = models.CharField("理由", max_length=300, blank=True)

    class Meta:
        verbose_name = "分納誓約の状態の履歴"
        ordering = ["changed_at", "pk"]

    def __str__(self) -> str:
        return f"分納誓約#{self.plan_id} {self.from_status or '－'} → {self.to_status} {self.changed_on}"
