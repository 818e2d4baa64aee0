"""口座振替 (direct debit): mandates, the office's collecting accounts, request runs and their lines.

A mandate (口座振替依頼) names the account a taxpayer's installments of one tax item (or of every item)
are debited from. It takes effect only when a second person approves it (決裁
``direct_debit_mandate``). Before each debit date the office sends each collecting bank a Zengin
種別91 file (``DebitRun`` → one ``DebitFile`` per collecting account → one ``DebitLine`` per
installment; the line's id is the record's 顧客番号); the bank's result file comes back through the
payment engine (``choshu import-payments --channel zengin``).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class DepositType(models.TextChoices):
    """預金種目 of a payer's account (口座振替 data records allow 1, 2, 3, 9: formats-reference §1.1)."""

    ORDINARY = "1", "普通"
    CHECKING = "2", "当座"
    TAX_RESERVE = "3", "納税準備"
    OTHER = "9", "その他"


class MandateStatus(models.TextChoices):
    PENDING = "pending", "決裁待ち"
    ACTIVE = "active", "有効"
    SUSPENDED = "suspended", "停止中（振替不能）"
    ENDED = "ended", "終了"
    REJECTED = "rejected", "否認・取下げ"


class MandateKind(models.TextChoices):
    """Whether the mandate is a first registration or replaces an earlier one (新規コード 1 / 2)."""

    NEW = "new", "新規"
    CHANGE = "change", "変更"


class Mandate(models.Model):
    """口座振替依頼 — a taxpayer's instruction to debit one account for the installments of one tax item
    (``tax_item``; ``""`` = every item), valid from ``start`` to ``end`` (inclusive; open when empty).

    Bank and branch are checked against the ``zengin-code`` data: unknown codes are kept with their
    warnings (``bank_warnings``) and block the request file until a chief overrides
    (``bank_override_by``). The holder name is kept as entered and in the Zengin repertoire
    (``holder_kana``: what the file carries). A ゆうちょ銀行 記号・番号 is kept and converted to the
    Zengin branch, type and account. Nothing is edited in place: a change is a new mandate replacing
    the old one (``replaces``), which ends when the new one is approved."""

    municipality = models.ForeignKey("core.Municipality", on_delete=models.PROTECT, related_name="+")
    taxpayer = models.ForeignKey(
        "taxpayers.Taxpayer", on_delete=models.PROTECT, related_name="debit_mandates"
    )
    tax_item = models.CharField("業務詳細（科目）コード（空欄は全税目）", max_length=2, blank=True)
    kind = models.CharField("区分", max_length=10, choices=MandateKind.choices, default=MandateKind.NEW)
    status = models.CharField(
        "状態", max_length=12, choices=MandateStatus.choices, default=MandateStatus.PENDING
    )
    bank_code = models.CharField("金融機関コード", max_length=4)
    branch_code = models.CharField("支店コード", max_length=3)
    deposit_type = models.CharField("預金種目", max_length=1, choices=DepositType.choices)
    account = models.CharField("口座番号", max_length=7)
    jp_kigo = models.CharField("ゆうちょ記号", max_length=5, blank=True)
    jp_bango = models.CharField("ゆうちょ番号", max_length=8, blank=True)
    holder_name = models.CharField("口座名義（入力どおり）", max_length=60)
    holder_kana = models.CharField("口座名義（全銀カナ）", max_length=30)
    start = models.DateField("振替開始日")
    end = models.DateField("振替終了日", null=True, blank=True)
    received_on = models.DateField("依頼書の受付日")
    bank_warnings = models.JSONField("金融機関コードの警告", default=list, blank=True)
    has_bank_warnings = models.BooleanField("金融機関コードの警告あり", default=False)
    bank_override_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    bank_override_note = models.CharField("警告を確認した理由", max_length=300, blank=True)
    replaces = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="replaced_by"
    )
    request = models.ForeignKey(
        "approvals.ChangeRequest", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    source = models.CharField("登録元", max_length=120, blank=True)
    status_note = models.CharField("状態の理由", max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    approved_on = models.DateField("承認日", null=True, blank=True)

    class Meta:
        verbose_name = "口座振替依頼"
        indexes = [
            models.Index(fields=["municipality", "status"], name="debit_mandate_status_idx"),
            models.Index(fields=["taxpayer"], name="debit_mandate_taxpayer_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(end__isnull=True) | Q(end__gte=models.F("start")), name="debit_mandate_period"
            )
        ]

    def __str__(self) -> str:
        return f"口座振替 #{self.pk} {self.bank_code}-{self.branch_code} {self.get_status_display()}"

    @property
    def blocked(self) -> bool:
        """Unknown bank or branch code not yet confirmed by a chief: no request line is written."""
        return self.has_bank_warnings and self.bank_override_by_id is None


class FailureAction(models.TextChoices):
    END = "end", "口座振替を終了する"
    SUSPEND = "suspend", "口座振替を停止する（職員が再開）"
    KEEP = "keep", "そのまま（次回も振替を依頼する）"


class DebitSettings(models.Model):
    """口座振替の団体設定 — what a 振替不能 result does to the mandate, per result code (2 取引なし,
    3 預金者の都合による停止, 4 依頼書なし). The other codes (資金不足, 委託者の都合, その他) keep it."""

    municipality = models.OneToOneField("core.Municipality", on_delete=models.PROTECT, related_name="+")
    on_no_account = models.CharField(
        "結果コード2（取引なし）", max_length=10, choices=FailureAction.choices, default=FailureAction.END
    )
    on_depositor_stop = models.CharField(
        "結果コード3（預金者の都合）", max_length=10, choices=FailureAction.choices, default=FailureAction.END
    )
    on_no_mandate = models.CharField(
        "結果コード4（依頼書なし）",
        max_length=10,
        choices=FailureAction.choices,
        default=FailureAction.SUSPEND,
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "口座振替の団体設定"

    def __str__(self) -> str:
        return f"口座振替の団体設定（{self.municipality_id}）"

    def action_for(self, code: str) -> str:
        return {"2": self.on_no_account, "3": self.on_depositor_stop, "4": self.on_no_mandate}.get(
            code, FailureAction.KEEP
        )


class CollectingAccount(models.Model):
    """収納口座 — the municipality's account at one collecting bank, with the 委託者コード and 委託者名 the
    bank assigned. Mandates at that bank are requested through it; mandates at any other bank go
    through the default one (``is_default``: the bank that forwards them, e.g. the 指定金融機関)."""

    municipality = models.ForeignKey("core.Municipality", on_delete=models.PROTECT, related_name="+")
    bank_code = models.CharField("金融機関コード", max_length=4)
    branch_code = models.CharField("支店コード", max_length=3)
    deposit_type = models.CharField(
        "預金種目", max_length=1, choices=[("1", "普通"), ("2", "当座"), ("9", "その他")]
    )
    account = models.CharField("口座番号", max_length=7)
    originator_code = models.CharField("委託者コード", max_length=10)
    originator_name = models.CharField("委託者名（全銀カナ）", max_length=40)
    is_default = models.BooleanField("他行分もこの口座で依頼する", default=False)
    is_active = models.BooleanField("有効", default=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "口座振替の収納口座"
        constraints = [
            models.UniqueConstraint(
                fields=["municipality", "bank_code"],
                condition=Q(is_active=True),
                name="debit_collecting_bank",
            ),
            models.UniqueConstraint(
                fields=["municipality"],
                condition=Q(is_active=True, is_default=True),
                name="debit_collecting_default",
            ),
        ]

    def __str__(self) -> str:
        return f"収納口座 {self.bank_code}-{self.branch_code} {self.account}"


class RunStatus(models.TextChoices):
    WRITTEN = "written", "作成済"
    VOID = "void", "取消（再作成）"


class DebitRun(models.Model):
    """口座振替依頼データの作成 for one debit date (引落日). One run per date is current; regenerating
    voids the earlier run (its files and lines) and writes a new one."""

    municipality = models.ForeignKey("core.Municipality", on_delete=models.PROTECT, related_name="+")
    debit_date = models.DateField("引落日")
    status = models.CharField("状態", max_length=10, choices=RunStatus.choices, default=RunStatus.WRITTEN)
    job = models.ForeignKey("core.Job", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    out_dir = models.CharField("出力先", max_length=500)
    records = models.PositiveIntegerField("件数", default=0)
    amount = models.BigIntegerField("金額", default=0)
    blocked = models.PositiveIntegerField("金融機関コード未確認で除外した件数", default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    voided_at = models.DateTimeField(null=True, blank=True)
    voided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = "口座振替依頼データ"
        constraints = [
            models.UniqueConstraint(
                fields=["municipality", "debit_date"],
                condition=Q(status="written"),
                name="debit_run_one_per_date",
            )
        ]

    def __str__(self) -> str:
        return f"口座振替 {self.debit_date} #{self.pk} ({self.get_status_display()})"


class DebitFile(models.Model):
    """One 種別91 request file of a run: the records for one collecting account."""

    run = models.ForeignKey(DebitRun, on_delete=models.PROTECT, related_name="files")
    collecting = models.ForeignKey(CollectingAccount, on_delete=models.PROTECT, related_name="+")
    path = models.CharField("ファイル", max_length=500)
    sha256 = models.CharField(max_length=64)
    records = models.PositiveIntegerField("件数", default=0)
    amount = models.BigIntegerField("金額", default=0)
    result_job = models.ForeignKey(
        "core.Job", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = "口座振替依頼ファイル"

    def __str__(self) -> str:
        return f"依頼ファイル #{self.pk} {self.path}"


class LineStatus(models.TextChoices):
    PENDING = "pending", "結果待ち"
    COLLECTED = "collected", "振替済"
    FAILED = "failed", "振替不能"
    VOID = "void", "取消（再作成）"


class NoticeState(models.TextChoices):
    NONE = "", "なし"
    QUEUED = "queued", "未印刷"
    PRINTED = "printed", "印刷済"


class DebitLine(models.Model):
    """One debit asked of the bank: an installment, the mandate's account as sent, the amount and the
    新規コード. Its id is the record's 顧客番号; the result file must echo it with the same amount and
    account. A 振替不能 result keeps the code (``result_code``), queues a 振替不能通知 with the
    installment's slip, and is followed up by staff (``followed_up_*``)."""

    municipality = models.ForeignKey(
        "core.Municipality", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    file = models.ForeignKey(DebitFile, on_delete=models.PROTECT, related_name="lines")
    mandate = models.ForeignKey(Mandate, on_delete=models.PROTECT, related_name="lines")
    installment = models.ForeignKey(
        "levies.Installment", on_delete=models.PROTECT, related_name="debit_lines"
    )
    taxpayer = models.ForeignKey(
        "taxpayers.Taxpayer", on_delete=models.PROTECT, related_name="debit_lines", db_index=False
    )
    debit_date = models.DateField("引落日")
    amount = models.BigIntegerField("引落金額")
    new_code = models.CharField("新規コード", max_length=1)
    bank_code = models.CharField("金融機関コード", max_length=4)
    branch_code = models.CharField("支店コード", max_length=3)
    deposit_type = models.CharField("預金種目", max_length=1)
    account = models.CharField("口座番号", max_length=7)
    holder_kana = models.CharField("預金者名", max_length=30)
    status = models.CharField("状態", max_length=10, choices=LineStatus.choices, default=LineStatus.PENDING)
    result_code = models.CharField("振替結果コード", max_length=1, blank=True)
    result_job = models.ForeignKey(
        "core.Job", null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    payment = models.ForeignKey(
        "receipts.Payment", null=True, blank=True, on_delete=models.DO_NOTHING, db_constraint=False,
        db_index=False, related_name="+",
    )  # fmt: skip
    notice = models.CharField(
        "振替不能通知", max_length=10, choices=NoticeState.choices, blank=True, default=NoticeState.NONE
    )
    followed_up_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    followed_up_at = models.DateTimeField(null=True, blank=True)
    follow_up_note = models.CharField("対応メモ", max_length=300, blank=True)

    class Meta:
        verbose_name = "口座振替依頼明細"
        indexes = [
            models.Index(fields=["municipality", "debit_date", "status"], name="debit_line_date_idx"),
            models.Index(fields=["taxpayer"], name="debit_line_taxpayer_idx"),
        ]

    def __str__(self) -> str:
        return f"口座振替明細 #{self.pk} {self.debit_date} {self.amount}円 {self.get_status_display()}"


class StartNotice(models.Model):
    """口座振替開始通知 queued when a mandate is approved (printed with the other notices)."""

    mandate = models.OneToOneField(Mandate, on_delete=models.PROTECT, related_name="start_notice")
    state = models.CharField(max_length=10, choices=NoticeState.choices, default=NoticeState.QUEUED)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "口座振替開始通知"

    def __str__(self) -> str:
        return f"口座振替開始通知 #{self.pk}（口座振替 #{self.mandate_id}）"
