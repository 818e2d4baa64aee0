"""収納 (payments): what arrived, through which channel, the slips they pay, and the suspense queue."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from choshu.core.models import Job


class Channel(models.TextChoices):
    CONVENI = "conveni", "コンビニ"
    BANK = "bank", "金融機関"
    ELTAX = "eltax", "地方税共通納税"
    DIRECT_DEBIT = "direct_debit", "口座振替"
    COUNTER = "counter", "窓口"
    SEED = "seed", "移行データ"
    ENFORCEMENT = "enforcement", "滞納処分（取立・換価代金）"
    STANDARD = "std036", "統合収納（標準連携）"


# The channels whose files ``import-payments`` reads, and the kind of job each import records.
IMPORT_JOB_KIND: dict[Channel, Job.Kind] = {
    Channel.CONVENI: Job.Kind.IMPORT_PAYMENTS_CONVENI,
    Channel.BANK: Job.Kind.IMPORT_PAYMENTS_BANK,
    Channel.ELTAX: Job.Kind.IMPORT_PAYMENTS_ELTAX,
}


class PaymentStatus(models.TextChoices):
    PROVISIONAL = "provisional", "速報（未計上）"
    POSTED = "posted", "消込済"
    SUSPENSE = "suspense", "未消込"
    CANCELLED = "cancelled", "速報取消"
    REVERSED = "reversed", "取消（戻し）"


class Payment(models.Model):
    """納付 — one amount received: channel, amount, 領収日 (``paid_on``) and 日計日 (``booked_on``).

    ``reference`` is the channel's natural key (eLTAX transaction id, conveni barcode+date+time+store,
    bank row hash), unique per channel, so the same record imported twice is recognised; a 速報 and
    its 確報 share it. Reconciliation turns a payment into one ledger transaction:
    ``allocated + overpaid + suspended = amount``, always (checked by ``choshu verify-ledger``).
    """

    municipality = models.ForeignKey(
        "core.Municipality", related_name="+", db_index=False, on_delete=models.PROTECT, db_constraint=False
    )
    channel = models.CharField("収納経路", max_length=20, choices=Channel.choices)
    reference = models.CharField("参照キー", max_length=120)
    status = models.CharField(
        "状態", max_length=12, choices=PaymentStatus.choices, default=PaymentStatus.POSTED
    )
    taxpayer = models.ForeignKey(
        "taxpayers.Taxpayer", null=True, blank=True, on_delete=models.PROTECT, db_constraint=False
    )
    amount = models.BigIntegerField("金額")
    paid_on = models.DateField("領収日")
    booked_on = models.DateField("収納日(日計日)", null=True, blank=True)
    slip_no = models.CharField("納付番号", max_length=16, blank=True)
    confirmation_no = models.CharField("確認番号", max_length=4, blank=True)
    allocated = models.BigIntegerField("充当額", default=0)
    overpaid = models.BigIntegerField("過誤納額", default=0)
    suspended = models.BigIntegerField("未消込額", default=0)
    detail = models.JSONField("明細", default=dict, blank=True)
    # Not indexed: a payment's transaction is read from the payment, never the other way (daily totals
    # join the entries by ``LedgerEntry.payment``), and a fast-lane import would maintain the index for
    # every payment. DO_NOTHING: PROTECT would look payments up by this column whenever a transaction
    # is deleted, which only the retention purge does, after deleting the payments itself;
    # ``verify-ledger`` reports an orphan.
    txn = models.ForeignKey(
        "levies.LedgerTransaction",
        null=True,
        blank=True,
        db_index=False,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
    )
    reversal_txn = models.ForeignKey(
        "levies.LedgerTransaction",
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
        on_delete=models.PROTECT,
        db_constraint=False,
    )
    # Not indexed: nothing looks payments up by job (the job record keeps the file's counts).
    job = models.ForeignKey(
        "core.Job", null=True, blank=True, on_delete=models.PROTECT, db_constraint=False, db_index=False
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "収納"
        constraints = [
            models.UniqueConstraint(
                fields=["municipality", "channel", "reference"], name="payment_ref_unique"
            ),
        ]
        # No index on slip_no: nothing looks payments up by their slip (an installment's payments are
        # found through its ledger entries), and an import would maintain it for every payment.
        indexes = [
            models.Index(
                fields=["reversal_txn"], name="payment_reversal_idx", condition=Q(reversal_txn__isnull=False)
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} {self.amount}円 {self.paid_on}"


class PaymentSlip(models.Model):
    """納付書 covering several installments of one person (a combined arrears slip, 一括納付書).

    A single installment's slip needs no row here: its number is ``Installment.slip_no``. The 4-digit
    確認番号 of any slip is derived from its number with a keyed hash (``receipts.slips``).
    """

    municipality = models.ForeignKey("core.Municipality", on_delete=models.PROTECT, related_name="+")
    slip_no = models.CharField("納付番号", max_length=16)
    taxpayer = models.ForeignKey("taxpayers.Taxpayer", on_delete=models.PROTECT, related_name="payment_slips")
    installments = models.ManyToManyField("levies.Installment", related_name="combined_slips")
    amount = models.BigIntegerField("請求額")
    pay_by = models.DateField("支払期限", null=True, blank=True)
    issued_on = models.DateField("発行日")
    issued_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT)
    cancelled_on = models.DateField("無効日", null=True, blank=True)

    class Meta:
        verbose_name = "納付書（一括）"
        constraints = [
            models.UniqueConstraint(fields=["municipality", "slip_no"], name="payment_slip_unique")
        ]

    def __str__(self) -> str:
        return f"納付書 {self.slip_no}"


class SlipIssue(models.Model):
    """発行履歴 — one 納付書 issued (or reissued) from the screens: who, when, which 期別, the amounts
    printed, the 延滞金's 計算基準日, the slip number and, for a reissue, why.

    ``printed`` keeps what the PDF showed (宛名 as decided on the day, the lines, the codes), so the
    same slip can be printed again exactly; ``sha256`` is the hash of the PDF first handed out.
    """

    municipality = models.ForeignKey("core.Municipality", on_delete=models.PROTECT, related_name="+")
    taxpayer = models.ForeignKey("taxpayers.Taxpayer", on_delete=models.PROTECT, related_name="slip_issues")
    slip_no = models.CharField("納付番号", max_length=16)
    payment_slip = models.ForeignKey(
        PaymentSlip, null=True, blank=True, on_delete=models.PROTECT, related_name="issues"
    )
    installments = models.ManyToManyField("levies.Installment", related_name="slip_issues")
    principal = models.BigIntegerField("本税")
    late_charge = models.BigIntegerField("延滞金")
    fee = models.BigIntegerField("督促手数料等", default=0)
    total = models.BigIntegerField("合計")
    late_charge_as_of = models.DateField("延滞金計算基準日")
    pay_by = models.DateField("使用期限")
    reissue = models.BooleanField("再発行", default=False)
    reissue_no = models.PositiveSmallIntegerField("再発行区分", default=0)
    reason = models.CharField("再発行の理由", max_length=300, blank=True)
    issued_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    issued_at = models.DateTimeField("発行日時")
    printed = models.JSONField("印字内容", default=dict)
    sha256 = models.CharField("PDFのハッシュ", max_length=64, blank=True)

    class Meta:
        verbose_name = "納付書の発行履歴"
        indexes = [models.Index(fields=["taxpayer", "issued_at"], name="slip_issue_person_idx")]

    def __str__(self) -> str:
        return f"納付書発行 {self.slip_no} {self.total}円"


class SuspenseReason(models.TextChoices):
    UNKNOWN_SLIP = "unknown_slip", "納付番号が見つからない"
    CANCELLED_SLIP = "cancelled_slip", "無効な納付書"
    CONFIRMATION_MISMATCH = "confirmation_mismatch", "確認番号が一致しない"
    TAX_ITEM_MISMATCH = "tax_item_mismatch", "税目が一致しない"
    REVERSAL_AFTER_USE = "reversal_after_use", "取消対象が既に充当・還付済み"


class SuspenseStatus(models.TextChoices):
    OPEN = "open", "未処理"
    ASSIGN_PENDING = "assign_pending", "充当先決裁待ち"
    ASSIGNED = "assigned", "充当済"
    REFUND_REQUESTED = "refund_requested", "還付へ"
    CLOSED = "closed", "取消済"


class SuspenseItem(models.Model):
    """未消込 — a payment (or part of one) that could not be placed. Nothing is ever dropped: it waits
    here until staff assign it to a person's installments (with a second person's approval) or mark
    it for refund."""

    municipality = models.ForeignKey("core.Municipality", on_delete=models.PROTECT, related_name="+")
    payment = models.OneToOneField(Payment, on_delete=models.PROTECT, related_name="suspense")
    reason = models.CharField("理由", max_length=30, choices=SuspenseReason.choices)
    amount = models.BigIntegerField("金額")
    status = models.CharField(
        "状態", max_length=20, choices=SuspenseStatus.choices, default=SuspenseStatus.OPEN
    )
    note = models.CharField("メモ", max_length=300, blank=True)
    # The 決裁 that asked to place it (the latest, if one was refused and another made): the
    # assignment booked on approval is found through it, never through the transaction's memo.
    approval = models.ForeignKey(
        "approvals.ChangeRequest", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    resolved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT)
    resolved_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "未消込"
        indexes = [models.Index(fields=["municipality", "status"], name="suspense_status_idx")]

    def __str__(self) -> str:
        return f"未消込 {self.amount}円 ({self.get_reason_display()})"


class CounterReceipt(models.Model):
    """領収 at the counter: one receipt number, one cash amount, one or more slips.

    Each slip's share is a ``Payment`` of its own (``payments``: their ids, in slip order), decided by the
    payment engine like any other. ``paid_on`` is the legal 領収日; ``booked_on`` the 日計日 — the cashier's
    first open day (a receipt for a day the cashier has closed is booked on the next open day)."""

    municipality = models.ForeignKey("core.Municipality", on_delete=models.PROTECT, related_name="+")
    cashier = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    paid_on = models.DateField("領収日")
    booked_on = models.DateField("日計日")
    amount = models.BigIntegerField("領収金額")
    tendered = models.BigIntegerField("お預かり", default=0)
    change = models.BigIntegerField("お釣り", default=0)
    payments = models.JSONField("収納", default=list)
    # The 決裁 that allowed a 領収日 other than the day the receipt was entered.
    approval = models.ForeignKey(
        "approvals.ChangeRequest", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "窓口領収"
        indexes = [
            models.Index(fields=["municipality", "cashier", "booked_on"], name="counter_receipt_day_idx")
        ]

    def __str__(self) -> str:
        return f"領収番号 {self.pk} {self.amount}円"


class CashierDay(models.Model):
    """日計締め（レジ締め）: one cashier's day, closed. The cash counted against the receipts booked on
    the day; a difference is recorded with its reason. A closed day takes no more receipts."""

    municipality = models.ForeignKey("core.Municipality", on_delete=models.PROTECT, related_name="+")
    cashier = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    day = models.DateField("日計日")
    receipts = models.PositiveIntegerField("領収件数", default=0)
    amount = models.BigIntegerField("領収金額合計", default=0)
    tendered = models.BigIntegerField("お預かり合計", default=0)
    change = models.BigIntegerField("お釣り合計", default=0)
    counted = models.BigIntegerField("現金実査額")
    difference = models.BigIntegerField("過不足", default=0)
    reason = models.CharField("過不足の理由", max_length=300, blank=True)
    closed_at = models.DateTimeField("締め日時")

    class Meta:
        verbose_name = "日計締め"
        constraints = [
            models.UniqueConstraint(fields=["municipality", "cashier", "day"], name="cashier_day_unique")
        ]

    def __str__(self) -> str:
        return f"日計締め {self.day} {self.cashier_id}"
