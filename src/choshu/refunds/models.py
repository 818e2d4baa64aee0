"""過誤納金 (overpayments), 充当 (appropriation), 還付 (refunds), 還付口座 and the transfer file (issue 16).

The money itself is in the ledger (``levies.ledger``): an overpayment is a credit on the person's
``overpayment`` account booked by the payment engine or the levy import; an appropriation is a
``TxnKind.APPROPRIATION`` transaction moving it to a receivable; a refund sent is a ``TxnKind.REFUND``
transaction moving it out to cash. The rows here are the case file around those entries: why the
money is owed back (the four kinds of 法17条の4), what became of it, who decided and who approved.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Origin(models.TextChoices):
    """Where an overpayment came from (the ledger transaction that credited the overpayment account)."""

    DOUBLE_PAYMENT = "double_payment", "二重納付"
    EXCESS_PAYMENT = "excess_payment", "過大納付"
    LEVY_REDUCTION = "levy_reduction", "減額更正"
    OTHER = "other", "その他"


class Cause(models.IntegerChoices):
    """The start-date kind of 還付加算金 (地方税法17条の4第1項各号; law.md §e)."""

    REDUCTION = 1, "第1号 更正・決定による減額"
    CLAIM = 2, "第2号 更正の請求に基づく更正"
    INCOME_TAX = 3, "第3号 所得税の更正等に基づく賦課決定"
    OTHER = 4, "第4号 誤納・二重納付等"


class OverpaymentStatus(models.TextChoices):
    OPEN = "open", "未処理"
    APPROPRIATED = "appropriated", "充当済"
    DECIDING = "deciding", "還付決議中"
    APPROVED = "approved", "承認済"
    SENT = "sent", "送金済"
    PAID = "paid", "支払済"
    PRESCRIBED = "prescribed", "時効"
    CANCELLED = "cancelled", "取消（収納取消）"
    RECLAIM = "reclaim", "返納請求（還付後の収納取消）"


class Overpayment(models.Model):
    """過誤納金 — one credit to a person's overpayment account (one ledger entry, ``source_entry_id``),
    with its cause, the date it arose (the transaction's 法定日: 領収日 or 更正日) and the payment it
    came from. ``appropriated``, ``refunded`` and ``reversed`` are what became of it; the rest is
    ``remaining``."""

    municipality = models.ForeignKey("core.Municipality", on_delete=models.PROTECT, related_name="+")
    taxpayer = models.ForeignKey("taxpayers.Taxpayer", on_delete=models.PROTECT, related_name="overpayments")
    installment = models.ForeignKey(
        "levies.Installment", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    payment = models.ForeignKey(
        "receipts.Payment",
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    source_txn = models.ForeignKey(
        "levies.LedgerTransaction", on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    source_entry_id = models.BigIntegerField("発生元の元帳明細", unique=True)
    reversal_entry_id = models.BigIntegerField("収納取消の元帳明細", null=True, blank=True, unique=True)
    origin = models.CharField("発生原因", max_length=20, choices=Origin.choices)
    cause = models.PositiveSmallIntegerField("還付加算金の起算区分", choices=Cause.choices)
    arose_on = models.DateField("発生日")
    paid_on = models.DateField("納付日")
    event_on = models.DateField("更正等の日", null=True, blank=True)
    claimed_on = models.DateField("更正の請求の日", null=True, blank=True)
    amount = models.BigIntegerField("過誤納額")
    appropriated = models.BigIntegerField("充当額", default=0)
    refunded = models.BigIntegerField("還付額", default=0)
    reversed = models.BigIntegerField("取消額", default=0)
    appropriation_interest = models.BigIntegerField("充当に係る還付加算金", default=0)
    status = models.CharField(
        "状態", max_length=20, choices=OverpaymentStatus.choices, default=OverpaymentStatus.OPEN
    )
    created_at = models.DateTimeField("登録日時")

    class Meta:
        verbose_name = "過誤納金"
        indexes = [
            models.Index(fields=["municipality", "status"], name="overpayment_status_idx"),
            models.Index(fields=["taxpayer"], name="overpayment_taxpayer_idx"),
        ]

    def __str__(self) -> str:
        return f"過誤納金#{self.pk} {self.amount}円 ({self.get_status_display()})"

    @property
    def remaining(self) -> int:
        return self.amount - self.appropriated - self.refunded - self.reversed

    @property
    def to_repay(self) -> int:
        """返納額: what the person owes back after a payment reversed once the money was refunded."""
        return max(0, -self.remaining)


class Appropriation(models.Model):
    """充当 — part of an overpayment applied to one of the same person's arrears (法17条の2), in effect
    from the 充当適状日 (the later of the debt's 納期限 and the day the overpayment arose, 令6条の14):
    its ledger transaction carries that date as 法定日, so the 延滞金 on the appropriated 本税 stops there."""

    municipality = models.ForeignKey("core.Municipality", on_delete=models.PROTECT, related_name="+")
    overpayment = models.ForeignKey(Overpayment, on_delete=models.PROTECT, related_name="appropriations")
    taxpayer = models.ForeignKey("taxpayers.Taxpayer", on_delete=models.PROTECT, related_name="+")
    installment = models.ForeignKey("levies.Installment", on_delete=models.PROTECT, related_name="+")
    component = models.CharField("充当先", max_length=20)
    amount = models.BigIntegerField("充当額")
    appropriable_on = models.DateField("充当適状日")
    appropriated_on = models.DateField("充当日")
    refund_interest = models.BigIntegerField("還付加算金（充当適状日まで）", default=0)
    txn = models.ForeignKey(
        "levies.LedgerTransaction", on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    cancelled_on = models.DateField("取消日", null=True, blank=True)
    cancel_txn = models.ForeignKey(
        "levies.LedgerTransaction", null=True, blank=True, on_delete=models.DO_NOTHING, db_constraint=False,
        related_name="+",
    )  # fmt: skip
    job = models.ForeignKey("core.Job", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    notice = models.ForeignKey(
        "refunds.RefundNotice", null=True, blank=True, on_delete=models.PROTECT, related_name="appropriations"
    )

    class Meta:
        verbose_name = "充当"

    def __str__(self) -> str:
        return f"充当#{self.pk} {self.amount}円 → 期別#{self.installment_id}"

    @property
    def component_label(self) -> str:
        """充当先の区分 in Japanese (本税, 延滞金, 督促手数料, 滞納処分費)."""
        from choshu.levies.models import Component  # noqa: PLC0415 - models of a lower app

        return str(dict(Component.choices).get(self.component, self.component))


class AccountSource(models.TextChoices):
    REGISTERED = "registered", "申出口座（過誤納還付請求書）"
    PUBLIC = "public", "公金受取口座"


class AccountStatus(models.TextChoices):
    PENDING = "pending", "決裁待ち"
    ACTIVE = "active", "有効"
    REPLACED = "replaced", "変更済（無効）"
    REJECTED = "rejected", "否認・取下げ"


class RefundAccount(models.Model):
    """還付口座 — where a person's refunds are transferred: the account the person returned on the
    過誤納還付請求書, or a 公金受取口座 imported from a file. Entered with the two-person check: only an
    ``active`` account is used; a new active account replaces the previous one."""

    municipality = models.ForeignKey("core.Municipality", on_delete=models.PROTECT, related_name="+")
    taxpayer = models.ForeignKey(
        "taxpayers.Taxpayer", on_delete=models.PROTECT, related_name="refund_accounts"
    )
    bank_code = models.CharField("金融機関コード", max_length=4)
    branch_code = models.CharField("支店コード", max_length=3)
    deposit_type = models.CharField("預金種目", max_length=1)
    account_no = models.CharField("口座番号", max_length=7)
    holder_kana = models.CharField("口座名義（カナ）", max_length=30)
    source = models.CharField("口座の種類", max_length=12, choices=AccountSource.choices)
    received_on = models.DateField("受付日（還付請求の日）", null=True, blank=True)
    status = models.CharField(
        "状態", max_length=10, choices=AccountStatus.choices, default=AccountStatus.PENDING
    )
    request = models.ForeignKey(
        "approvals.ChangeRequest", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField("登録日時")

    class Meta:
        verbose_name = "還付口座"

    def __str__(self) -> str:
        return f"{self.bank_code}-{self.branch_code} {self.deposit_type} ****{self.account_no[-3:]}"


class RefundStatus(models.TextChoices):
    PENDING = "pending", "決裁待ち"
    APPROVED = "approved", "承認済"
    REJECTED = "rejected", "否認・取下げ"
    SENT = "sent", "送金済"
    PAID = "paid", "支払済"
    FAILED = "failed", "振込不能"


class Refund(models.Model):
    """還付決議 — the decision to pay back the rest of an overpayment with its 還付加算金 (法17条,
    17条の4), counted to ``decided_on`` (支出決定日). In effect only when a second person approves
    (``request``, kind 還付). ``account`` is the person's active refund account when there is one."""

    municipality = models.ForeignKey("core.Municipality", on_delete=models.PROTECT, related_name="+")
    taxpayer = models.ForeignKey("taxpayers.Taxpayer", on_delete=models.PROTECT, related_name="refunds")
    overpayment = models.ForeignKey(Overpayment, on_delete=models.PROTECT, related_name="refunds")
    amount = models.BigIntegerField("還付額")
    refund_interest = models.BigIntegerField("還付加算金")
    appropriation_interest = models.BigIntegerField("うち充当に係る還付加算金", default=0)
    interest_start = models.DateField("加算金の起算日", null=True, blank=True)
    decided_on = models.DateField("支出決定日")
    status = models.CharField(
        "状態", max_length=10, choices=RefundStatus.choices, default=RefundStatus.PENDING
    )
    request = models.ForeignKey("approvals.ChangeRequest", on_delete=models.PROTECT, related_name="+")
    account = models.ForeignKey(
        RefundAccount, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    transfer = models.ForeignKey(
        "refunds.RefundTransfer", null=True, blank=True, on_delete=models.PROTECT, related_name="refunds"
    )
    txn = models.ForeignKey(
        "levies.LedgerTransaction", null=True, blank=True, on_delete=models.DO_NOTHING, db_constraint=False,
        related_name="+",
    )  # fmt: skip
    result = models.CharField("振込結果", max_length=40, blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField("登録日時")

    class Meta:
        verbose_name = "還付決議"
        indexes = [models.Index(fields=["municipality", "status"], name="refund_status_idx")]

    def __str__(self) -> str:
        return f"還付#{self.pk} {self.amount}円+{self.refund_interest}円 ({self.get_status_display()})"

    @property
    def total(self) -> int:
        return self.amount + self.refund_interest


class RefundTransfer(models.Model):
    """One 総合振込 file written by ``choshu refund-transfer``: what was sent (count, sum, hash) so that
    the bank's result (``refund-confirm``) is checked against it."""

    municipality = models.ForeignKey("core.Municipality", on_delete=models.PROTECT, related_name="+")
    transfer_date = models.DateField("振込指定日")
    file_name = models.CharField("ファイル名", max_length=500)
    file_sha256 = models.CharField(max_length=64)
    count = models.PositiveIntegerField("件数")
    amount = models.BigIntegerField("金額")
    job = models.ForeignKey("core.Job", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField("作成日時")
    confirmed_at = models.DateTimeField("結果取込日時", null=True, blank=True)

    class Meta:
        verbose_name = "還付振込ファイル"

    def __str__(self) -> str:
        return f"振込#{self.pk} {self.transfer_date} {self.count}件 {self.amount}円"


class NoticeKind(models.TextChoices):
    APPROPRIATION = "appropriation", "充当通知書"
    REFUND = "refund", "還付通知書"
    CLAIM = "claim", "過誤納還付通知書（口座の申出のお願い）"
    APPROPRIATION_CANCEL = "appropriation_cancel", "充当取消通知書"


class RefundNotice(models.Model):
    """A notice to the person (法17条の2第5項 for an appropriation; the refund notice; the 過誤納還付通知書
    asking for an account), queued by the run or the approval and printed as PDF or print data."""

    municipality = models.ForeignKey("core.Municipality", on_delete=models.PROTECT, related_name="+")
    taxpayer = models.ForeignKey(
        "taxpayers.Taxpayer", on_delete=models.PROTECT, related_name="refund_notices"
    )
    kind = models.CharField("種類", max_length=20, choices=NoticeKind.choices)
    overpayment = models.ForeignKey(Overpayment, on_delete=models.PROTECT, related_name="notices")
    refund = models.ForeignKey(
        Refund, null=True, blank=True, on_delete=models.PROTECT, related_name="notices"
    )
    issued_on = models.DateField("通知日")
    amount = models.BigIntegerField("金額")
    printed_at = models.DateTimeField("印刷日時", null=True, blank=True)
    job = models.ForeignKey("core.Job", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField("登録日時")

    class Meta:
        verbose_name = "過誤納・還付の通知"

    def __str__(self) -> str:
        return f"{self.get_kind_display()}#{self.pk}"


class TransferOriginator(models.Model):
    """振込依頼人 — the municipality's side of its 総合振込 files: the 委託者コード the bank gave it,
    its name in Zengin kana and the account the refunds are paid from (set with
    ``choshu refund-originator``; the transfer file is refused until it is)."""

    municipality = models.OneToOneField("core.Municipality", on_delete=models.PROTECT, related_name="+")
    code = models.CharField("振込依頼人コード", max_length=10)
    name_kana = models.CharField("振込依頼人名（カナ）", max_length=40)
    bank_code = models.CharField("仕向金融機関コード", max_length=4)
    branch_code = models.CharField("仕向支店コード", max_length=3)
    deposit_type = models.CharField("預金種目", max_length=1)
    account_no = models.CharField("口座番号", max_length=7)
    updated_at = models.DateTimeField("更新日時")

    class Meta:
        verbose_name = "振込依頼人"

    def __str__(self) -> str:
        return f"{self.code} {self.name_kana}"
