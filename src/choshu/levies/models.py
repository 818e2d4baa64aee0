"""調定 (levies), 期別 (installments) and the double-entry, append-only ledger."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q

from choshu.core.models import SourceStamp


class Assessment(models.TextChoices):
    """How a tax item is assessed: it decides which date the 延滞金 runs from (law.md §a7)."""

    NOTICE = "notice", "普通徴収（賦課課税）"
    SPECIAL = "special", "特別徴収"
    SELF = "self", "申告納付"


class TaxItem(models.Model):
    """税目 / 業務詳細（科目）コード — a municipality's tax items are data (issue 12), not an enum.

    ``code`` is the 2-character code of the levy and payment feeds; the six 市税 items and 国民健康保険税
    are created for every municipality (``levies.tax_items.DEFAULT_TAX_ITEMS``, migration 0008).
    ``assessment`` = 申告納付 makes the 延滞金 run from the 法定納期限 instead of the 納期限.
    """

    municipality = models.ForeignKey("core.Municipality", on_delete=models.PROTECT, related_name="tax_items")
    code = models.CharField("業務詳細（科目）コード", max_length=2)
    name = models.CharField("税目名", max_length=40)
    short_name = models.CharField("略称", max_length=12)
    assessment = models.CharField("課税方式", max_length=10, choices=Assessment.choices)
    prescription_years = models.PositiveSmallIntegerField(
        "消滅時効（年）", default=5, help_text="地方税法18条"
    )
    statute = models.CharField("根拠条文", max_length=100, blank=True)
    sort_order = models.PositiveSmallIntegerField("表示順", default=0)
    is_active = models.BooleanField("有効", default=True)

    class Meta:
        verbose_name = "税目"
        ordering = ["municipality", "sort_order", "code"]
        constraints = [models.UniqueConstraint(fields=["municipality", "code"], name="tax_item_code_unique")]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class TaxItemBreakdown(models.Model):
    """会計内訳 — the components one tax item's 本税 is split into (固定資産税/都市計画税, 均等割/法人税割,
    国保 医療/支援/介護). ``seq`` 1 is the main component: it takes the yen the proportional split rounds
    away (docs/rules.md "Breakdown"). An item without rows here has one component, itself.
    """

    tax_item = models.ForeignKey(TaxItem, on_delete=models.CASCADE, related_name="breakdowns")
    seq = models.PositiveSmallIntegerField("順序")
    code = models.CharField("内訳コード", max_length=20)
    name = models.CharField("内訳名", max_length=40)
    statute = models.CharField("根拠条文", max_length=100, blank=True)

    class Meta:
        verbose_name = "税目内訳"
        ordering = ["tax_item", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["tax_item", "seq"], name="tax_item_breakdown_seq_unique"),
            models.UniqueConstraint(fields=["tax_item", "code"], name="tax_item_breakdown_code_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.tax_item.code}/{self.seq} {self.name}"


class InstallmentCalendar(models.Model):
    """期別マスタ (標準 036o015) — the ordinance's installments of a tax item in a levy year: label,
    month and nominal 納期限. Where a year has rows, the levy feed may use only these 期別."""

    municipality = models.ForeignKey("core.Municipality", on_delete=models.PROTECT, related_name="+")
    tax_item = models.CharField("業務詳細（科目）コード", max_length=2)
    levy_year = models.PositiveSmallIntegerField("賦課年度")
    installment_no = models.PositiveSmallIntegerField("期別")
    label = models.CharField("期別名称", max_length=20)
    year_month = models.CharField("年月", max_length=7, help_text="YYYY-MM")
    nominal_due_date = models.DateField("納期限（条例上）", null=True, blank=True)
    ad_hoc = models.BooleanField("随時期", default=False)

    class Meta:
        verbose_name = "期別マスタ"
        ordering = ["municipality", "tax_item", "levy_year", "installment_no"]
        constraints = [
            models.UniqueConstraint(
                fields=["municipality", "tax_item", "levy_year", "installment_no"], name="calendar_key_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.tax_item} {self.levy_year} {self.label}"


class Levy(SourceStamp):
    """調定 — one tax claim on one taxpayer, keyed as the national standard keys it (036o005): 賦課年度,
    相当年度, 通知書番号, 業務詳細（科目）コード, 特別徴収義務者指定番号, 申告履歴番号 and 事業年度番号.

    ``tax_item`` is a code of the municipality's ``TaxItem`` table. The keys of the standard that do
    not apply are empty / 0 (a levy of the old feed layout has 相当年度 = 賦課年度 and no others).
    """

    municipality = models.ForeignKey("core.Municipality", on_delete=models.PROTECT, related_name="+")
    taxpayer = models.ForeignKey("taxpayers.Taxpayer", on_delete=models.PROTECT, related_name="levies")
    tax_item = models.CharField("業務詳細（科目）コード", max_length=2)
    levy_year = models.PositiveSmallIntegerField("賦課年度")
    relevant_year = models.PositiveSmallIntegerField("相当年度")
    notice_no = models.CharField("通知書番号", max_length=12)
    special_collector_no = models.CharField(
        "特別徴収義務者指定番号", max_length=20, blank=True, default="", db_default=""
    )
    special_collector = models.ForeignKey(
        "taxpayers.SpecialCollector", null=True, blank=True, on_delete=models.PROTECT, related_name="levies"
    )
    filing_type = models.CharField("申告区分", max_length=2, blank=True, default="", db_default="")
    filing_history_no = models.PositiveIntegerField("申告履歴番号", default=0, db_default=0)
    business_year_no = models.PositiveIntegerField("事業年度番号", default=0, db_default=0)
    business_year_start = models.DateField("事業年度開始日", null=True, blank=True)
    business_year_end = models.DateField("事業年度終了日", null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    job = models.ForeignKey("core.Job", null=True, blank=True, on_delete=models.PROTECT)

    class Meta:
        verbose_name = "調定"
        constraints = [
            models.UniqueConstraint(
                fields=[
                    "municipality",
                    "tax_item",
                    "levy_year",
                    "relevant_year",
                    "notice_no",
                    "special_collector_no",
                    "filing_history_no",
                    "business_year_no",
                ],
                name="levy_standard_key_unique",
            ),
        ]
        indexes = [models.Index(fields=["municipality", "notice_no"], name="levy_notice_idx")]

    def __str__(self) -> str:
        return f"{self.tax_item} {self.levy_year} 通知書{self.notice_no}"

    @property
    def tax_item_name(self) -> str:
        """The name of the municipality's tax item (``TaxItem``) with this code."""
        from choshu.levies.tax_items import tax_item_name  # noqa: PLC0415 - tax_items reads these models

        return tax_item_name(self.municipality_id, self.tax_item)

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.relevant_year is None:  # the old layout's levy: 相当年度 = 賦課年度
            self.relevant_year = self.levy_year
        super().save(*args, **kwargs)


class Installment(SourceStamp):
    """期別 — one payment period of a levy: its three dates and its principal (本税).

    The law names a different date for each rule (law.md; issue 12 §2), so they are kept apart:
    ``statutory_due_date`` 法定納期限 (prescription runs from the day after, 地方税法18条),
    ``due_date`` 納期限 (printed on the notice and slip), ``designated_due_date`` 指定納期限 (dunning runs
    from it, 329条) and ``late_charge_base_date`` — the 延滞金 runs from the day after it: the 納期限, or
    the 法定納期限 for a 申告納付 tax item (set by the levy import from the item's ``assessment``).

    The amounts here are a cache of the ledger (``LedgerEntry``), updated in the same transaction as
    the entries; ``choshu verify-ledger`` proves cache = sum of entries.
    """

    municipality = models.ForeignKey("core.Municipality", on_delete=models.PROTECT, related_name="+")
    levy = models.ForeignKey(Levy, on_delete=models.PROTECT, related_name="installments")
    taxpayer = models.ForeignKey("taxpayers.Taxpayer", on_delete=models.PROTECT, related_name="installments")
    installment_no = models.PositiveSmallIntegerField("期別")
    due_date = models.DateField("納期限")
    statutory_due_date = models.DateField("法定納期限")
    designated_due_date = models.DateField("指定納期限")
    late_charge_base_date = models.DateField(
        "延滞金起算基準日", help_text="この日の翌日から延滞金が計算される"
    )
    due_date_special = models.CharField(
        "納期特例区分",
        max_length=1,
        blank=True,
        default="",
        db_default="",
        help_text="1 = 納期の特例（特別徴収、地方税法321条の5の2）",
    )
    slip_no = models.CharField("納付番号", max_length=16, null=True, blank=True)
    principal_levied = models.BigIntegerField("調定額(本税)", default=0)
    principal_paid = models.BigIntegerField("収納額(本税)", default=0)
    principal_outstanding = models.BigIntegerField("未納額(本税)", default=0)
    # 消滅 (法18条 時効, 法15条の7 執行停止3年・即時消滅): set by ``choshu prescription-run`` (relief app);
    # from that day the claim cannot be collected — the counter refuses a payment, an import books it
    # as 過誤納金, the dunning run skips it — until a 不納欠損 writes the receivable off.
    extinguished_on = models.DateField("消滅日", null=True, blank=True)
    extinguished_reason = models.CharField(
        "消滅事由", max_length=30, blank=True, default="", db_default="",
        help_text="prescription / enforcement_suspension / immediate_extinguishment (rules.prescription)",
    )  # fmt: skip

    class Meta:
        verbose_name = "期別"
        constraints = [
            models.UniqueConstraint(fields=["levy", "installment_no"], name="installment_key_unique"),
            models.UniqueConstraint(fields=["municipality", "slip_no"], name="installment_slip_unique"),
        ]
        indexes = [
            models.Index(fields=["municipality", "taxpayer"], name="installment_taxpayer_idx"),
            models.Index(fields=["municipality", "due_date"], name="installment_due_idx"),
            models.Index(
                fields=["municipality", "extinguished_on"],
                name="installment_extinguished_idx",
                condition=Q(extinguished_on__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.levy} 第{self.installment_no}期"

    def save(self, *args: Any, **kwargs: Any) -> None:
        # One date given (the old layout, a test, a counter-made installment): it is all three.
        if self.statutory_due_date is None:
            self.statutory_due_date = self.due_date
        if self.designated_due_date is None:
            self.designated_due_date = self.due_date
        if self.late_charge_base_date is None:
            self.late_charge_base_date = self.due_date
        super().save(*args, **kwargs)


class InstallmentBreakdown(models.Model):
    """An installment's 本税 per component of its tax item's breakdown (``TaxItemBreakdown``).

    ``levied`` comes from the levy feed (its components sum to ``Installment.principal_levied``);
    ``paid`` is a cache of the installment's ``BreakdownSplit`` rows (they sum to ``principal_paid``).
    Only installments of a tax item with two components or more have rows.
    """

    installment = models.ForeignKey(
        Installment,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="breakdown",
        db_index=False,
    )
    municipality = models.ForeignKey(
        "core.Municipality", related_name="+", db_index=False, on_delete=models.PROTECT, db_constraint=False
    )
    seq = models.PositiveSmallIntegerField("順序")
    code = models.CharField("内訳コード", max_length=20)
    levied = models.BigIntegerField("調定額", default=0)
    paid = models.BigIntegerField("収納額", default=0)

    class Meta:
        verbose_name = "期別内訳"
        constraints = [
            models.UniqueConstraint(fields=["installment", "seq"], name="installment_breakdown_unique"),
        ]

    def __str__(self) -> str:
        return f"期別#{self.installment_id} {self.code} {self.paid}/{self.levied}"


class BreakdownSplit(models.Model):
    """The stored split of one principal movement — a ledger transaction's change to what an
    installment has been paid — over the installment's breakdown, in proportion to the levied
    components (docs/rules.md "Breakdown"). Written by ``levies.ledger`` with the entries; never
    recomputed. Bulk table: no database constraints (see below).
    """

    municipality = models.ForeignKey(
        "core.Municipality", related_name="+", db_index=False, on_delete=models.PROTECT, db_constraint=False
    )
    txn = models.ForeignKey(
        "LedgerTransaction", related_name="+", on_delete=models.DO_NOTHING, db_constraint=False
    )
    installment = models.ForeignKey(
        Installment, related_name="+", on_delete=models.DO_NOTHING, db_constraint=False
    )
    payment = models.ForeignKey(
        "receipts.Payment",
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
    )
    seq = models.PositiveSmallIntegerField("順序")
    code = models.CharField("内訳コード", max_length=20)
    amount = models.BigIntegerField("収納額の変動")

    class Meta:
        verbose_name = "内訳按分"

    def __str__(self) -> str:
        return f"取引#{self.txn_id} 期別#{self.installment_id} {self.code} {self.amount:+d}"


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
    DUNNING_FEE = "dunning_fee", "督促手数料"
    ENFORCEMENT_COST = "enforcement_cost", "滞納処分費"


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
