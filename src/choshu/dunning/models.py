"""督促 (dunning): the 督促状 issued by a dunning run, the municipality's 督促手数料 setting and 督促停止.

law.md §b; the legal rules are ``rules.dunning`` (issue period, 指定期限, fee windows) and
``rules.prescription`` (the first 督促 renews prescription).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class DunningFeeSetting(models.Model):
    """督促手数料 of the municipality from a date (its 税条例): one row per change, ``yen`` = 0 where the
    ordinance abolished the fee. The windows are chosen by ``rules.dunning.dunning_fee`` on the
    督促状's issue date; a municipality without rows uses the bundled ``dunning_fees.toml``."""

    municipality = models.ForeignKey("core.Municipality", on_delete=models.PROTECT, related_name="+")
    valid_from = models.DateField("適用開始日")
    yen = models.PositiveIntegerField("督促手数料（円）", help_text="0 = 廃止")
    source = models.CharField("根拠（条例・告示）", max_length=300)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "督促手数料の設定"
        ordering = ["municipality", "valid_from"]
        constraints = [
            models.UniqueConstraint(fields=["municipality", "valid_from"], name="dunning_fee_setting_unique")
        ]

    def __str__(self) -> str:
        return f"{self.valid_from} から {self.yen}円"


class DunningBatch(models.Model):
    """督促状の一括発付 — one dunning run (``choshu dunning-run``): its date, who ran it, its counts.
    Every 督促状 of the run points to it (the batch id of the print data, later)."""

    municipality = models.ForeignKey("core.Municipality", on_delete=models.PROTECT, related_name="+")
    as_of = models.DateField("発付日（基準日）")
    job = models.ForeignKey("core.Job", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    counts = models.JSONField("件数", default=dict, blank=True)

    class Meta:
        verbose_name = "督促状の一括発付"
        indexes = [models.Index(fields=["municipality", "as_of"], name="dunning_batch_date_idx")]

    def __str__(self) -> str:
        return f"督促 {self.as_of} #{self.pk}"


class NoticeStatus(models.TextChoices):
    ISSUED = "issued", "発付"
    CANCELLED = "cancelled", "取消"


class DunningNotice(models.Model):
    """督促状 — the legal demand (地方税法329条 ほか) for one taxpayer and one tax item, covering every
    installment of that item past its 指定納期限 and unpaid on the run date.

    ``pay_by`` is the 指定期限: the day on which 10 days have elapsed from the issue date (法331条1項1号,
    ``rules.dunning.dunning_payment_deadline``); ``fee`` the 督促手数料 booked on the ledger as a
    receivable of its own (on ``fee_installment``, the oldest installment covered); ``slip`` the
    combined 納付書 for 本税 + 延滞金 + 手数料 as of the issue date. ``print_in_office``: the person is
    under 支援措置 on the issue date — the notice is never written to a print vendor's file.
    """

    municipality = models.ForeignKey("core.Municipality", on_delete=models.PROTECT, related_name="+")
    batch = models.ForeignKey(DunningBatch, on_delete=models.PROTECT, related_name="notices")
    taxpayer = models.ForeignKey(
        "taxpayers.Taxpayer", on_delete=models.PROTECT, related_name="dunning_notices"
    )
    tax_item = models.CharField("業務詳細（科目）コード", max_length=2)
    issued_on = models.DateField("発付日")
    pay_by = models.DateField("指定期限")
    principal = models.BigIntegerField("本税（未納）")
    late_charge = models.BigIntegerField("延滞金（発付日現在）")
    fee = models.BigIntegerField("督促手数料")
    total = models.BigIntegerField("請求額")
    fee_installment = models.ForeignKey(
        "levies.Installment", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    slip = models.OneToOneField(
        "receipts.PaymentSlip", on_delete=models.PROTECT, related_name="dunning_notice", null=True, blank=True
    )
    late_issue = models.BooleanField("発付期限（納期限後20日）経過", default=False)
    print_in_office = models.BooleanField("庁内印刷（支援措置）", default=False)
    status = models.CharField(
        "状態", max_length=10, choices=NoticeStatus.choices, default=NoticeStatus.ISSUED
    )

    class Meta:
        verbose_name = "督促状"
        indexes = [models.Index(fields=["municipality", "taxpayer"], name="dunning_notice_taxpayer_idx")]

    def __str__(self) -> str:
        return f"督促状 #{self.pk} {self.tax_item} {self.issued_on}"


class DunningNoticeInstallment(models.Model):
    """One installment a 督促状 covers. An installment is dunned once (only the first 督促 counts for
    prescription, 法18条の2): the constraint makes a second run on it impossible."""

    notice = models.ForeignKey(DunningNotice, on_delete=models.PROTECT, related_name="lines")
    installment = models.OneToOneField(
        "levies.Installment", on_delete=models.PROTECT, related_name="dunning_line"
    )
    principal = models.BigIntegerField("本税（未納）")
    late_charge = models.BigIntegerField("延滞金（発付日現在）")

    class Meta:
        verbose_name = "督促状の期別"

    def __str__(self) -> str:
        return f"督促状 #{self.notice_id} 期別 #{self.installment_id}"


class SuppressionReason(models.TextChoices):
    """Why an installment is not dunned (督促停止)."""

    DIRECT_DEBIT = "direct_debit", "口座振替の結果待ち"
    COLLECTION_DEFERRAL = "collection_deferral", "徴収猶予"
    LIQUIDATION_DEFERRAL = "liquidation_deferral", "換価の猶予"
    ENFORCEMENT_SUSPENSION = "enforcement_suspension", "滞納処分の執行停止"
    BANKRUPTCY = "bankruptcy", "破産手続中"
    PAYMENT_PLAN = "payment_plan", "分納（納付誓約）"
    RETURNED_MAIL = "returned_mail", "返戻（新しい住所が不明）"
    MANUAL = "manual", "その他（職員の判断・決裁済）"


class DunningSuppression(models.Model):
    """督促停止 — an installment left out of dunning (and later reminder) runs from ``start`` to ``end``
    (inclusive; open-ended when empty), with its reason. Rows are never deleted: ending a suppression
    sets ``end`` (with who and why), so the history stays. A ``manual`` one exists only once a second
    person approved it (決裁 ``dunning_suppression``)."""

    municipality = models.ForeignKey("core.Municipality", on_delete=models.PROTECT, related_name="+")
    installment = models.ForeignKey(
        "levies.Installment", on_delete=models.PROTECT, related_name="dunning_suppressions"
    )
    taxpayer = models.ForeignKey(
        "taxpayers.Taxpayer", on_delete=models.PROTECT, related_name="dunning_suppressions"
    )
    reason = models.CharField("停止理由", max_length=30, choices=SuppressionReason.choices)
    start = models.DateField("開始日")
    end = models.DateField("終了日", null=True, blank=True)
    note = models.CharField("備考", max_length=300, blank=True)
    request = models.ForeignKey(
        "approvals.ChangeRequest", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    end_note = models.CharField("終了理由", max_length=300, blank=True)

    class Meta:
        verbose_name = "督促停止"
        indexes = [models.Index(fields=["installment", "start"], name="dunning_suppression_inst_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(end__isnull=True) | Q(end__gte=models.F("start")),
                name="dunning_suppression_period",
            )
        ]

    def __str__(self) -> str:
        return (
            f"督促停止 期別#{self.installment_id} {self.get_reason_display()} {self.start}〜{self.end or ''}"
        )


def suppressed_on(day: object) -> Q:
    """The suppressions in force on ``day`` (a query condition)."""
    return Q(start__lte=day) & (Q(end__isnull=True) | Q(end__gte=day))


class ReturnReason(models.TextChoices):
    """Why the post office returned a notice (返戻理由, as stamped on the envelope)."""

    ADDRESS_UNKNOWN = "address_unknown", "宛所不明"
    MOVED_UNKNOWN = "moved_unknown", "転居先不明"
    NOT_FOUND = "not_found", "宛所尋ねあたらず"
    REFUSED = "refused", "受取拒否"
    UNCLAIMED = "unclaimed", "保管期間経過"
    OTHER = "other", "その他"


class ReturnedMail(models.Model):
    """返戻 — a 督促状 the post office returned, registered by its slip number (issue 15 §5).

    The address it was sent to is kept as it was on the issue date (``sent_*``: the 宛先 chosen by
    ``taxpayers.addressee.addressee_for``), and that address is unreliable while the person's 宛先 for
    the item is still the same. While it is (``cleared_on`` empty) the person's open installments
    mailed to that address carry a 督促停止 of reason 返戻 (``suppressions``); when the 宛先 changes (a
    new address or 送付先 registered) the next dunning run — or ``choshu returned-mail --refresh`` —
    sets ``cleared_on`` and ends those suppressions (``dunning.returned.returned_mail_refresh``)."""

    municipality = models.ForeignKey("core.Municipality", on_delete=models.PROTECT, related_name="+")
    notice = models.OneToOneField(DunningNotice, on_delete=models.PROTECT, related_name="returned_mail")
    taxpayer = models.ForeignKey(
        "taxpayers.Taxpayer", on_delete=models.PROTECT, related_name="returned_mails"
    )
    tax_item = models.CharField("業務詳細（科目）コード", max_length=2)
    returned_on = models.DateField("返戻日")
    reason = models.CharField("返戻理由", max_length=20, choices=ReturnReason.choices)
    note = models.CharField("備考", max_length=300, blank=True)
    sent_via = models.CharField("送付先の決定根拠", max_length=30)
    sent_record_id = models.BigIntegerField("送付先・代理人等の内部番号", null=True, blank=True)
    sent_postal_code = models.CharField("送付した郵便番号", max_length=8, blank=True)
    sent_address = models.CharField("送付した住所", max_length=300, blank=True)
    sent_address_extra = models.CharField("送付した方書", max_length=300, blank=True)
    suppressions = models.ManyToManyField(DunningSuppression, related_name="returned_mails", blank=True)
    cleared_on = models.DateField("新しい宛先の確認日", null=True, blank=True)
    cleared_note = models.CharField("解除の理由", max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "返戻"
        indexes = [
            models.Index(fields=["municipality", "cleared_on"], name="returned_mail_open_idx"),
            models.Index(fields=["taxpayer"], name="returned_mail_taxpayer_idx"),
        ]

    def __str__(self) -> str:
        return f"返戻 督促状#{self.notice_id} {self.returned_on} {self.get_reason_display()}"


class PublicNotice(models.Model):
    """公示送達 of a 督促状 (地方税法20条の2): the office keeps the document and posts on its notice
    board that it will hand it over at any time. Service is deemed made when 7 days have elapsed
    counting from the first day of posting (2項; ``rules.service.deemed_service_date``): the 督促
    takes effect on ``deemed_served_on``, and the 指定期限 and the day seizure becomes possible are
    counted from it (``rules.dunning``), as is the renewal of prescription (法18条の2)."""

    municipality = models.ForeignKey("core.Municipality", on_delete=models.PROTECT, related_name="+")
    notice = models.OneToOneField(DunningNotice, on_delete=models.PROTECT, related_name="public_notice")
    taxpayer = models.ForeignKey(
        "taxpayers.Taxpayer", on_delete=models.PROTECT, related_name="dunning_public_notices"
    )
    posted_on = models.DateField("掲示開始日")
    deemed_served_on = models.DateField("送達があったとみなされる日")
    note = models.CharField("備考", max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "公示送達"

    def __str__(self) -> str:
        return f"公示送達 督促状#{self.notice_id} 掲示 {self.posted_on}"


from choshu.dunning.reminder_models import (  # noqa: E402  (催告書: models of this app in their own module)
    ReminderExclusion,
    ReminderLetter,
    ReminderLetterInstallment,
    ReminderList,
    ReminderListStatus,
)

__all__ = [
    "DunningBatch",
    "DunningFeeSetting",
    "DunningNotice",
    "DunningNoticeInstallment",
    "DunningSuppression",
    "NoticeStatus",
    "ReminderExclusion",
    "ReminderLetter",
    "ReminderLetterInstallment",
    "ReminderList",
    "ReminderListStatus",
    "SuppressionReason",
    "ReturnReason",
    "ReturnedMail",
    "PublicNotice",
    "suppressed_on",
]
