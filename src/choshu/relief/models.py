"""緩和制度・時効・不納欠損 (issue 18 §6–§8; law.md §f).

* ``Extinguishment`` — why ``choshu prescription-run`` found an installment's liability extinguished
  (the state itself is on the installment: ``levies.Installment.extinguished_on`` / ``_reason``, which
  the counter, the payment engine and the dunning run read).
* ``WriteOffBatch`` / ``WriteOffLine`` — 不納欠損: a proposal of ``choshu write-off-run`` for a fiscal
  year, split into 本税 / 延滞金 / 督促手数料 per extinguished installment, booked on the ledger only
  after a second person approves it (決裁 ``write_off``).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class ExtinctionReason(models.TextChoices):
    """The three ways a liability ends that a 不納欠損 records (law.md §f; ``rules.prescription``)."""

    PRESCRIPTION = "prescription", "時効（法18条1項）"
    ENFORCEMENT_SUSPENSION = "enforcement_suspension", "執行停止3年（法15条の7第4項）"
    IMMEDIATE = "immediate_extinguishment", "即時消滅（法15条の7第5項）"


class Extinguishment(models.Model):
    """One installment found extinguished by a prescription run: the date, the reason and the rules'
    derivation (``trail``) as it was when the run decided — the 消滅 is never re-decided silently."""

    municipality = models.ForeignKey("core.Municipality", on_delete=models.PROTECT, related_name="+")
    installment = models.OneToOneField(
        "levies.Installment", on_delete=models.PROTECT, related_name="extinguishment"
    )
    taxpayer = models.ForeignKey("taxpayers.Taxpayer", on_delete=models.PROTECT, related_name="+")
    extinguished_on = models.DateField("消滅日")
    reason = models.CharField("消滅事由", max_length=30, choices=ExtinctionReason.choices)
    principal = models.BigIntegerField("消滅時の未納額（本税）")
    trail = models.JSONField("判定の経過", default=list)
    run_as_of = models.DateField("判定の基準日")
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = "徴収権の消滅"
        indexes = [models.Index(fields=["municipality", "extinguished_on"], name="relief_ext_date_idx")]

    def __str__(self) -> str:
        return f"期別#{self.installment_id} {self.get_reason_display()} {self.extinguished_on}"


class WriteOffStatus(models.TextChoices):
    PENDING = "pending", "決裁待ち"
    BOOKED = "booked", "計上済み"
    REJECTED = "rejected", "否認・取下げ"


class WriteOffBatch(models.Model):
    """不納欠損の起案 — one ``write-off-run`` for a fiscal year (会計年度: April to March): its lines wait
    for the 決裁 (``request``); the approval books them (``booked_on`` = the business day of approval)."""

    municipality = models.ForeignKey("core.Municipality", on_delete=models.PROTECT, related_name="+")
    fiscal_year = models.PositiveSmallIntegerField("会計年度")
    status = models.CharField(
        "状態", max_length=10, choices=WriteOffStatus.choices, default=WriteOffStatus.PENDING
    )
    request = models.OneToOneField(
        "approvals.ChangeRequest", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    booked_on = models.DateField("計上日", null=True, blank=True)
    counts = models.JSONField("件数・金額", default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "不納欠損の起案"
        indexes = [models.Index(fields=["municipality", "fiscal_year"], name="relief_writeoff_fy_idx")]

    def __str__(self) -> str:
        return f"不納欠損 {self.fiscal_year}年度 #{self.pk}（{self.get_status_display()}）"


class WriteOffLine(models.Model):
    """One extinguished installment in a write-off: 本税 and 督促手数料 still receivable, and the 延滞金
    accrued up to the day before its extinction less what was paid (a figure for the accounts: the
    延滞金 is 調定即収納 here, never a receivable, so the ledger books 本税 and 督促手数料 only).
    An installment is in one pending or booked write-off at most (``active``)."""

    batch = models.ForeignKey(WriteOffBatch, on_delete=models.PROTECT, related_name="lines")
    installment = models.ForeignKey("levies.Installment", on_delete=models.PROTECT, related_name="+")
    taxpayer = models.ForeignKey("taxpayers.Taxpayer", on_delete=models.PROTECT, related_name="+")
    tax_item = models.CharField("業務詳細（科目）コード", max_length=2)
    levy_year = models.PositiveSmallIntegerField("賦課年度")
    reason = models.CharField("消滅事由", max_length=30, choices=ExtinctionReason.choices)
    extinguished_on = models.DateField("消滅日")
    principal = models.BigIntegerField("本税")
    late_charge = models.BigIntegerField("延滞金")
    dunning_fee = models.BigIntegerField("督促手数料")
    active = models.BooleanField("有効", default=True)
    txn = models.ForeignKey(
        "levies.LedgerTransaction", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        db_constraint=False,
    )  # fmt: skip

    class Meta:
        verbose_name = "不納欠損の明細"
        constraints = [
            models.UniqueConstraint(
                fields=["installment"], condition=Q(active=True), name="relief_writeoff_once"
            )
        ]

    def __str__(self) -> str:
        return f"不納欠損 #{self.batch_id} 期別#{self.installment_id}"

    @property
    def total(self) -> int:
        return self.principal + self.late_charge + self.dunning_fee


class PrescriptionWatch(models.Model):
    """An installment whose liability will be extinguished within the warning window of the latest
    prescription run (``--warn-months``): what the list of coming prescriptions (and the officers' work
    list) reads. The run replaces a municipality's rows; nothing else writes them."""

    municipality = models.ForeignKey("core.Municipality", on_delete=models.PROTECT, related_name="+")
    installment = models.OneToOneField("levies.Installment", on_delete=models.CASCADE, related_name="+")
    taxpayer = models.ForeignKey("taxpayers.Taxpayer", on_delete=models.PROTECT, related_name="+")
    expected_on = models.DateField("消滅予定日")
    reason = models.CharField("消滅事由", max_length=30, choices=ExtinctionReason.choices)
    principal = models.BigIntegerField("未納額（本税）")
    run_as_of = models.DateField("判定の基準日")

    class Meta:
        verbose_name = "時効の警告"
        indexes = [models.Index(fields=["municipality", "expected_on"], name="relief_watch_date_idx")]

    def __str__(self) -> str:
        return f"期別#{self.installment_id} {self.expected_on} 消滅予定"


class ReliefKind(models.TextChoices):
    """緩和制度 (law.md §f)."""

    COLLECTION_DEFERRAL = "collection_deferral", "徴収猶予（法15条）"
    LIQUIDATION_DEFERRAL = "liquidation_deferral", "換価の猶予・職権（法15条の5）"
    LIQUIDATION_DEFERRAL_APPLICATION = "liquidation_deferral_application", "換価の猶予・申請（法15条の6）"
    ENFORCEMENT_SUSPENSION = "enforcement_suspension", "滞納処分の執行停止（法15条の7）"


class ReliefGround(models.TextChoices):
    """The grounds the law names (法15条1項各号・2項, 15条の5, 15条の7第1項各号)."""

    DISASTER = "disaster", "災害・盗難（15条1項1号）"
    ILLNESS = "illness", "本人・家族の病気・負傷（15条1項2号）"
    BUSINESS_CLOSURE = "business_closure", "事業の廃止・休止（15条1項3号）"
    BUSINESS_LOSS = "business_loss", "事業の著しい損失（15条1項4号）"
    SIMILAR_DISASTER = "similar_disaster", "1号・2号に類する事実（15条1項5号）"
    SIMILAR = "similar", "3号・4号に類する事実（15条1項5号）"
    LATE_ASSESSMENT = "late_assessment", "法定納期限から1年以上後の確定（15条2項）"
    LIQUIDATION_HARDSHIP = "liquidation_hardship", "換価により事業・生活の維持が困難（15条の5・15条の6）"
    LIQUIDATION_ADVANTAGE = "liquidation_advantage", "猶予が徴収上有利（15条の5）"
    NO_PROPERTY = "no_property", "滞納処分できる財産がない（15条の7第1項1号）"
    HARDSHIP = "hardship", "生活を著しく窮迫させるおそれ（15条の7第1項2号）"
    UNKNOWN = "unknown", "所在・財産ともに不明（15条の7第1項3号）"


GROUNDS_OF: dict[str, frozenset[str]] = {
    ReliefKind.COLLECTION_DEFERRAL: frozenset(
        {
            ReliefGround.DISASTER,
            ReliefGround.ILLNESS,
            ReliefGround.BUSINESS_CLOSURE,
            ReliefGround.BUSINESS_LOSS,
            ReliefGround.SIMILAR_DISASTER,
            ReliefGround.SIMILAR,
            ReliefGround.LATE_ASSESSMENT,
        }
    ),  # fmt: skip
    ReliefKind.LIQUIDATION_DEFERRAL: frozenset(
        {ReliefGround.LIQUIDATION_HARDSHIP, ReliefGround.LIQUIDATION_ADVANTAGE}
    ),
    ReliefKind.LIQUIDATION_DEFERRAL_APPLICATION: frozenset({ReliefGround.LIQUIDATION_HARDSHIP}),
    ReliefKind.ENFORCEMENT_SUSPENSION: frozenset(
        {ReliefGround.NO_PROPERTY, ReliefGround.HARDSHIP, ReliefGround.UNKNOWN}
    ),
}


class ReliefStatus(models.TextChoices):
    PENDING = "pending", "決裁待ち"
    ACTIVE = "active", "適用中"
    CANCELLED = "cancelled", "取消"
    REJECTED = "rejected", "否認・取下げ"


class Relief(models.Model):
    """One 徴収猶予 / 換価の猶予 / 執行停止 for some installments of one person, from ``start`` to ``end``
    (a 執行停止 has no end: it lasts until cancelled, and after 3 years the liability is extinguished).
    It takes effect only when a second person approves it (決裁 ``relief``); so do an extension
    (``end`` moved, within the 2-year cap of 法15条3項 / 15条の5第2項) and a cancellation. Effects:
    督促停止 rows (``dunning.DunningSuppression``) for its installments over the period, and its period
    as a prescription event (``relief.relief.relief_events``)."""

    municipality = models.ForeignKey("core.Municipality", on_delete=models.PROTECT, related_name="+")
    taxpayer = models.ForeignKey("taxpayers.Taxpayer", on_delete=models.PROTECT, related_name="reliefs")
    kind = models.CharField("種類", max_length=40, choices=ReliefKind.choices)
    ground = models.CharField("事由", max_length=30, choices=ReliefGround.choices)
    installments = models.ManyToManyField("levies.Installment", related_name="reliefs")
    start = models.DateField("開始日")
    end = models.DateField("終了日", null=True, blank=True)
    status = models.CharField(
        "状態", max_length=10, choices=ReliefStatus.choices, default=ReliefStatus.PENDING
    )
    note = models.CharField("備考（理由の詳細）", max_length=300)
    immediate_on = models.DateField(
        "即時消滅の日", null=True, blank=True, help_text="法15条の7第5項（財産がない場合のみ）"
    )
    cancelled_on = models.DateField("取消日", null=True, blank=True)
    cancel_reason = models.CharField("取消の理由", max_length=300, blank=True)
    request = models.ForeignKey(
        "approvals.ChangeRequest", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "緩和制度"
        indexes = [models.Index(fields=["municipality", "taxpayer"], name="relief_taxpayer_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(end__isnull=True) | Q(end__gte=models.F("start")), name="relief_period"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk} {self.start}〜{self.end or ''}"

    @property
    def is_deferral(self) -> bool:
        return self.kind != ReliefKind.ENFORCEMENT_SUSPENSION
