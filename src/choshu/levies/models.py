"""調定 (levies), 期別 (installments) and the double-entry, append-only ledger."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class TaxItem(models.TextChoices):
    """税目 — codes as in the levy feed (interchange.md §2)."""

    RESIDENT_ORDINARY = "01", "個人住民税(普通徴収)"
    RESIDENT_SPECIAL = "02", "個人住民税(特別徴収)"
    CORPORATE_RESIDENT = "03", "法人住民税"
    FIXED_ASSET = "04", "固定資産税・都市計画税"
    LIGHT_VEHICLE = "05", "軽自動車税(種別割)"
    BUSINESS_OFFICE = "06", "事業所税"


class Levy(models.Model):
    """調定 — one tax claim on one taxpayer: a tax item, a levy year (賦課年度) and a notice number."""

    municipality = models.ForeignKey("core.Municipality", on_delete=models.PROTECT, related_name="+")
    taxpayer = models.ForeignKey("taxpayers.Taxpayer", on_delete=models.PROTECT, related_name="levies")
    tax_item = models.CharField("税目", max_length=2, choices=TaxItem.choices)
    levy_year = models.PositiveSmallIntegerField("賦課年度")
    notice_no = models.CharField("通知書番号", max_length=12)
    created_at = models.DateTimeField(auto_now_add=True)
    job = models.ForeignKey("core.Job", null=True, blank=True, on_delete=models.PROTECT)

    class Meta:
        verbose_name = "調定"
        constraints = [
            models.UniqueConstraint(
                fields=["municipality", "tax_item", "levy_year", "notice_no"], name="levy_key_unique"
            ),
        ]
        indexes = [models.Index(fields=["municipality", "notice_no"], name="levy_notice_idx")]

    def __str__(self) -> str:
        return f"{self.get_tax_item_display()} {self.levy_year} 通知書{self.notice_no}"


class Installment(models.Model):
    """期別 — one payment period of a levy: a due date (納期限) and a principal (本税).

    The amounts here are a cache of the ledger (``LedgerEntry``), updated in the same transaction as
    the entries; ``choshu verify-ledger`` proves cache = sum of entries.
    """

    municipality = models.ForeignKey("core.Municipality", on_delete=models.PROTECT, related_name="+")
    levy = models.ForeignKey(Levy, on_delete=models.PROTECT, related_name="installments")
    taxpayer = models.ForeignKey("taxpayers.Taxpayer", on_delete=models.PROTECT, related_name="installments")
    installment_no = models.PositiveSmallIntegerField("期別")
    due_date = models.DateField("納期限")
    slip_no = models.CharField("納付番号", max_length=16, null=True, blank=True)
    principal_levied = models.BigIntegerField("調定額(本税)", default=0)
    principal_paid = models.BigIntegerField("収納額(本税)", default=0)
    principal_outstanding = models.BigIntegerField("未納額(本税)", default=0)

    class Meta:
        verbose_name = "期別"
        constraints = [
            models.UniqueConstraint(fields=["levy", "installment_no"], name="installment_key_unique"),
            models.UniqueConstraint(fields=["municipality", "slip_no"], name="installment_slip_unique"),
        ]
        indexes = [
            models.Index(fields=["municipality", "taxpayer"], name="installment_taxpayer_idx"),
            models.Index(fields=["municipality", "due_date"], name="installment_due_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.levy} 第{self.installment_no}期"


class TxnKind(models.TextChoices):
    LEVY = "levy", "調定"
    CORRECTION = "correction", "更正"
    PAYMENT = "payment", "収納"
    PAYMENT_REVERSAL = "payment_reversal", "収納取消"
    SUSPENSE_ASSIGN = "suspense_assign", "未消込の充当"
    OVERPAYMENT = "overpayment", "過誤納発生"
    REFUND = "refund", "還付"
    APPROPRIATION = "appropriation", "充当"
    WRITE_OFF = "write_off", "不納欠損"


class Account(models.TextChoices):
    """Ledger accounts. Receivables are kept per installment and component."""

    RECEIVABLE = "receivable", "未収(期別)"
    LEVIED = "levied", "調定(相手勘定)"
    CASH = "cash", "収納(資金)"
    OVERPAYMENT = "overpayment", "過誤納金"
    SUSPENSE = "suspense", "未消込"
    WRITE_OFF = "write_off", "不納欠損"
    LATE_CHARGE_INCOME = "late_charge_income", "延滞金収入(調定即収納)"


class Component(models.TextChoices):
    NONE = "", "－"
    PRINCIPAL = "principal", "本税"
    LATE_CHARGE = "late_charge", "延滞金"
    DUNNING_FEE = "dunning_fee", "督促手数料"
    ENFORCEMENT_COST = "enforcement_cost", "滞納処分費"


# The ledger and payment tables take millions of rows per import. Their references are kept by the
# application (``on_delete=PROTECT`` is enforced by Django's collector) and proven by
# ``choshu verify-ledger`` (no orphans), not by database foreign-key constraints: PostgreSQL checks a
# constraint row by row (a trigger and an index probe each), which cost more than the import itself
# (measured: 57 s of deferred checks at commit for 1 M payments). Only indexes that a query uses are
# kept. ``db_constraint=False`` below; see docs/architecture.md "Bulk tables".


class LedgerTransaction(models.Model):
    """One money event; its entries sum to zero. Never edited: a correction is a new transaction.

    Three dates: ``legal_date`` (領収日・更正日 — drives late charges), ``booking_date`` (日計日 — drives
    daily totals and the fiscal year) and ``recorded_at`` (when the system learned it).
    """

    municipality = models.ForeignKey(
        "core.Municipality", related_name="+", db_index=False, on_delete=models.PROTECT, db_constraint=False
    )
    kind = models.CharField(max_length=20, choices=TxnKind.choices)
    legal_date = models.DateField("法定日")
    booking_date = models.DateField("計上日")
    recorded_at = models.DateTimeField("記録日時")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        db_index=False,
        on_delete=models.PROTECT,
        db_constraint=False,
    )
    job = models.ForeignKey(
        "core.Job", null=True, blank=True, db_index=False, on_delete=models.PROTECT, db_constraint=False
    )
    reverses = models.ForeignKey(
        "self", null=True, blank=True, db_index=False, on_delete=models.PROTECT, db_constraint=False
    )
    memo = models.CharField(max_length=200, blank=True)

    class Meta:
        verbose_name = "元帳取引"
        indexes = [
            models.Index(fields=["municipality", "booking_date"], name="txn_booking_idx"),
            models.Index(fields=["reverses"], name="txn_reverses_idx", condition=Q(reverses__isnull=False)),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk} {self.legal_date}"


class LedgerEntry(models.Model):
    """One signed amount (integer yen) on one account. Positive = debit."""

    municipality = models.ForeignKey(
        "core.Municipality", related_name="+", db_index=False, on_delete=models.PROTECT, db_constraint=False
    )
    txn = models.ForeignKey(
        LedgerTransaction, related_name="entries", on_delete=models.PROTECT, db_constraint=False
    )
    account = models.CharField(max_length=20, choices=Account.choices)
    component = models.CharField(max_length=20, choices=Component.choices, blank=True, default="")
    # installment: indexed by entry_installment_idx (its first column).
    installment = models.ForeignKey(
        Installment, null=True, blank=True, db_index=False, on_delete=models.PROTECT, db_constraint=False
    )
    taxpayer = models.ForeignKey(
        "taxpayers.Taxpayer", null=True, blank=True, on_delete=models.PROTECT, db_constraint=False
    )
    # The payment this entry belongs to (its placement, its reversal, its 未消込充当). A payment
    # import's fast lane posts one transaction per 領収日 × 日計日 of the file with one cash entry for
    # them all, so the transaction alone no longer says whose entry it is. Not indexed: it is always
    # read together with the transaction (``txn_id``, indexed). DO_NOTHING: payments are deleted only
    # by the retention purge, which deletes their entries itself (PROTECT would look the entries up
    # by this unindexed column for every payment deleted); ``verify-ledger`` reports any orphan.
    payment = models.ForeignKey(
        "receipts.Payment",
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
    )
    amount = models.BigIntegerField()

    class Meta:
        verbose_name = "元帳明細"
        indexes = [
            # Partial: cash, suspense and other entries without an installment are never looked up
            # by it, and every payment has one (an index insertion saved per payment).
            models.Index(
                fields=["installment", "account", "component"],
                name="entry_installment_idx",
                condition=Q(installment__isnull=False),
            )
        ]

    def __str__(self) -> str:
        return f"{self.account}/{self.component} {self.amount:+d}"


class CheckKind(models.TextChoices):
    FULL = "full", "全件検証"
    INCREMENTAL = "incremental", "差分検証"


class LedgerCheckpoint(models.Model):
    """A point up to which ``choshu verify-ledger`` proved a municipality's ledger (levies/verify.py).

    Every ledger transaction with ``id <= through_txn_id`` (every payment with ``id <=
    through_payment_id``) that will ever exist was visible to that run and found correct; the stored
    closing balances (``VerifiedBalance``) are the sums of the entries of those transactions. The
    next ``verify-ledger --incremental`` reads only what lies beyond. Written only when the run found
    no problem; the latest row (highest id) of a municipality is the one in force.
    """

    municipality = models.ForeignKey("core.Municipality", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=12, choices=CheckKind.choices)
    through_txn_id = models.BigIntegerField("検証済み取引ID")
    through_entry_id = models.BigIntegerField("検証済み明細ID")
    through_payment_id = models.BigIntegerField("検証済み収納ID")
    verified_at = models.DateTimeField("検証日時")
    job = models.ForeignKey("core.Job", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    counts = models.JSONField("件数", default=dict, blank=True)

    class Meta:
        verbose_name = "元帳検証点"

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.through_txn_id} ({self.verified_at:%Y-%m-%d %H:%M})"


class VerifiedBalance(models.Model):
    """An installment's principal as proved by the latest checkpoint of its municipality: the sum of
    its receivable-principal entries in transactions up to that checkpoint (levied, paid, outstanding,
    split as ``Installment``'s cache is). No row means zero (an installment with no entry then).

    Written set-based by ``verify-ledger`` (all of a municipality's rows after a full check; the rows
    of installments touched since the last checkpoint after an incremental one). Like the bulk tables,
    no database constraint: the retention purge drops a purged person's rows with
    ``levies.verify.forget_installments`` before it deletes the installments.
    """

    installment = models.OneToOneField(
        Installment,
        primary_key=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    # Not indexed: only the full check's refresh selects by municipality, and it reads every row anyway.
    municipality = models.ForeignKey(
        "core.Municipality", related_name="+", db_index=False, on_delete=models.PROTECT, db_constraint=False
    )
    principal_levied = models.BigIntegerField()
    principal_paid = models.BigIntegerField()
    principal_outstanding = models.BigIntegerField()
    through_txn_id = models.BigIntegerField("この残高を確定した検証点")

    class Meta:
        verbose_name = "検証済み残高"

    def __str__(self) -> str:
        return f"期別#{self.installment_id} 未納{self.principal_outstanding} (#{self.through_txn_id}まで)"
