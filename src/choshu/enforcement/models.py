"""滞納処分 (issue 19): seizures (差押) with the claims they cover, their collection (取立) and release
(解除), 繰上徴収 (地方税法13条の2), and asset investigations (財産調査: inquiries and the assets found).

Every disposition (a seizure, its release, a collection) is a 決裁 request of kind ``enforcement``
and takes effect only when a second person with the approval right approves it (services.py)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class AssetKind(models.TextChoices):
    DEPOSIT = "deposit", "預貯金"
    SALARY = "salary", "給与"
    RECEIVABLE = "receivable", "売掛金等の債権"
    REAL_ESTATE = "real_estate", "不動産"
    VEHICLE = "vehicle", "自動車"
    TELEPHONE = "telephone", "電話加入権"
    INSURANCE = "insurance", "生命保険等"


# Claims seized from a third party (第三債務者): a 債権差押通知書 goes to them and they pay (取立).
CLAIM_KINDS = frozenset({AssetKind.DEPOSIT, AssetKind.SALARY, AssetKind.RECEIVABLE, AssetKind.INSURANCE})


class SeizureStatus(models.TextChoices):
    PENDING = "pending", "決裁待ち"
    ACTIVE = "active", "差押中"
    RELEASED = "released", "解除済"
    WITHDRAWN = "withdrawn", "取下げ・否認"


class Seizure(models.Model):
    """差押: one asset of one person for the installments it covers (差押調書 / 差押通知書)."""

    municipality = models.ForeignKey("core.Municipality", on_delete=models.PROTECT, related_name="+")
    taxpayer = models.ForeignKey("taxpayers.Taxpayer", on_delete=models.PROTECT, related_name="seizures")
    case = models.ForeignKey("cases.Case", on_delete=models.PROTECT, related_name="seizures")
    kind = models.CharField("財産の種類", max_length=20, choices=AssetKind.choices)
    description = models.CharField("財産の表示", max_length=300)
    third_party_name = models.CharField("第三債務者", max_length=120, blank=True)
    third_party_address = models.CharField("第三債務者の所在地", max_length=200, blank=True)
    amount = models.BigIntegerField("差押金額・見積価額")
    claim_total = models.BigIntegerField("滞納額（起案時）", default=0)
    installments = models.ManyToManyField("levies.Installment", related_name="seizures")
    executed_on = models.DateField("差押日")
    served_on = models.DateField("送達日", null=True, blank=True)
    released_on = models.DateField("解除日", null=True, blank=True)
    release_reason = models.CharField("解除の理由", max_length=300, blank=True)
    status = models.CharField(
        "状態", max_length=10, choices=SeizureStatus.choices, default=SeizureStatus.PENDING
    )
    salary = models.JSONField("給与の差押禁止額の計算", default=dict, blank=True)
    note = models.CharField("備考", max_length=300, blank=True)
    request = models.ForeignKey(
        "approvals.ChangeRequest", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    release_request = models.ForeignKey(
        "approvals.ChangeRequest", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "差押"
        indexes = [
            models.Index(fields=["municipality", "status"], name="enf_seizure_status_idx"),
            models.Index(fields=["municipality", "taxpayer"], name="enf_seizure_tp_idx"),
        ]
        constraints = [models.CheckConstraint(condition=Q(amount__gte=0), name="enf_seizure_amount")]

    def __str__(self) -> str:
        return f"差押#{self.pk} {self.get_kind_display()}"

    @property
    def is_claim(self) -> bool:
        return self.kind in CLAIM_KINDS


class CollectionStatus(models.TextChoices):
    PENDING = "pending", "決裁待ち"
    BOOKED = "booked", "収納済"
    WITHDRAWN = "withdrawn", "取下げ・否認"


class Collection(models.Model):
    """取立 (a seized claim paid by the third party) or 換価代金 (proceeds of a sale), booked as payments
    through the receipts engine on approval (channel 滞納処分)."""

    municipality = models.ForeignKey("core.Municipality", on_delete=models.PROTECT, related_name="+")
    seizure = models.ForeignKey(
        Seizure, null=True, blank=True, on_delete=models.PROTECT, related_name="collections"
    )
    claim = models.ForeignKey(
        "enforcement.Claim", null=True, blank=True, on_delete=models.PROTECT, related_name="collections"
    )
    amount = models.BigIntegerField("取立額")
    received_on = models.DateField("受領日")
    note = models.CharField("備考", max_length=300, blank=True)
    status = models.CharField(
        "状態", max_length=10, choices=CollectionStatus.choices, default=CollectionStatus.PENDING
    )
    payments = models.JSONField("収納", default=list, blank=True)
    request = models.ForeignKey(
        "approvals.ChangeRequest", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "取立・換価代金"
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="enf_collection_amount"),
            models.CheckConstraint(
                condition=Q(seizure__isnull=False, claim__isnull=True)
                | Q(seizure__isnull=True, claim__isnull=False),
                name="enf_collection_source",
            ),
        ]

    def __str__(self) -> str:
        return f"取立#{self.pk} {self.amount:,}円"

    @property
    def source(self) -> Seizure | Claim:
        """The seizure or the claim the money came from (its installments are paid)."""
        found = self.seizure if self.seizure_id else self.claim
        assert found is not None
        return found


class AdvanceCollection(models.Model):
    """繰上徴収 (地方税法13条の2): the installment's 納期限 brought forward by a notice; from
    ``notified_on`` it may be seized without waiting for the 督促 (法331条1項2号)."""

    municipality = models.ForeignKey("core.Municipality", on_delete=models.PROTECT, related_name="+")
    installment = models.ForeignKey("levies.Installment", on_delete=models.PROTECT, related_name="+")
    notified_on = models.DateField("繰上徴収の告知日")
    new_due_date = models.DateField("繰上げ後の納期限")
    ground = models.CharField("事由（13条の2第1項各号）", max_length=200)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "繰上徴収"
        indexes = [models.Index(fields=["installment"], name="enf_advance_inst_idx")]

    def __str__(self) -> str:
        return f"繰上徴収#{self.pk} {self.notified_on:%Y-%m-%d}"


# --- 財産調査 (asset investigations) ------------------------------------------------------------------


class InquiryKind(models.TextChoices):
    DEPOSIT = "deposit", "預貯金"
    SALARY = "salary", "給与"
    INSURANCE = "insurance", "生命保険"
    PENSION = "pension", "年金"
    MUNICIPALITY = "municipality", "他市町村（住民票・課税状況）"
    REGISTRY = "registry", "登記"


class InquiryBatch(models.Model):
    """One run of ``inquiries-create``: letters (PDF, one per recipient) and, for banks that take them,
    the electronic inquiry CSV (docs/formats.md §25)."""

    municipality = models.ForeignKey("core.Municipality", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField("照会の種類", max_length=20, choices=InquiryKind.choices)
    as_of = models.DateField("照会日")
    answer_days = models.PositiveSmallIntegerField("回答期限（日数）", default=30)
    case_stage = models.CharField("対象の進行状況", max_length=20, blank=True)
    team = models.CharField("作成した班", max_length=40, blank=True)
    files = models.JSONField("出力ファイル", default=list, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "財産調査の照会"

    def __str__(self) -> str:
        return f"照会#{self.pk} {self.get_kind_display()} {self.as_of:%Y-%m-%d}"


class Inquiry(models.Model):
    """One person asked of one recipient (bank, employer, insurer, 年金機構, 市町村, 法務局)."""

    batch = models.ForeignKey(InquiryBatch, on_delete=models.PROTECT, related_name="inquiries")
    municipality = models.ForeignKey("core.Municipality", on_delete=models.PROTECT, related_name="+")
    taxpayer = models.ForeignKey("taxpayers.Taxpayer", on_delete=models.PROTECT, related_name="+")
    recipient_code = models.CharField("照会先コード", max_length=20, blank=True)
    recipient_name = models.CharField("照会先", max_length=200)
    sent_on = models.DateField("照会日")
    due_on = models.DateField("回答期限")
    answered_on = models.DateField("回答日", null=True, blank=True)
    answer_note = models.CharField("回答の内容", max_length=300, blank=True)

    class Meta:
        verbose_name = "照会"
        indexes = [
            models.Index(fields=["municipality", "answered_on", "due_on"], name="enf_inquiry_open_idx"),
            models.Index(fields=["taxpayer"], name="enf_inquiry_tp_idx"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["batch", "recipient_name", "taxpayer"], name="enf_inquiry_once")
        ]

    def __str__(self) -> str:
        return f"照会 {self.recipient_name} → {self.taxpayer_id}"


class Asset(models.Model):
    """A person's asset as found (照会の回答 or staff entry): balance, salary, policy, property…"""

    municipality = models.ForeignKey("core.Municipality", on_delete=models.PROTECT, related_name="+")
    taxpayer = models.ForeignKey("taxpayers.Taxpayer", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField("財産の種類", max_length=20, choices=AssetKind.choices)
    holder = models.CharField("保有先・第三債務者", max_length=200)
    description = models.CharField("財産の表示", max_length=300)
    amount = models.BigIntegerField("金額・評価額", null=True, blank=True)
    as_of = models.DateField("基準日")
    inquiry = models.ForeignKey(
        Inquiry, null=True, blank=True, on_delete=models.PROTECT, related_name="assets"
    )
    source = models.CharField("情報源", max_length=100)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "財産"
        indexes = [models.Index(fields=["municipality", "taxpayer"], name="enf_asset_tp_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.holder}"


# --- 滞納処分費 -----------------------------------------------------------------------------------


class CostKind(models.TextChoices):
    POSTAGE = "postage", "郵送料"
    REGISTRATION = "registration", "登記嘱託費（登録免許税等）"
    SALE = "sale", "公売費用（公告・鑑定等）"
    TRANSPORT = "transport", "運搬・保管費"
    OTHER = "other", "その他"


class DispositionCost(models.Model):
    """滞納処分費 (地方税法331条6項, 国税徴収法136条): a cost of a disposition charged to the 滞納者, booked as a
    receivable of its own (ledger ``TxnKind.ENFORCEMENT_COST``) on the oldest installment of the seizure,
    paid first (法14条の3; ``rules.allocation.DEFAULT_ORDER``)."""

    municipality = models.ForeignKey("core.Municipality", on_delete=models.PROTECT, related_name="+")
    taxpayer = models.ForeignKey("taxpayers.Taxpayer", on_delete=models.PROTECT, related_name="+")
    seizure = models.ForeignKey(Seizure, on_delete=models.PROTECT, related_name="costs")
    installment = models.ForeignKey("levies.Installment", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField("費目", max_length=20, choices=CostKind.choices)
    amount = models.BigIntegerField("金額")
    incurred_on = models.DateField("支出日")
    note = models.CharField("内容", max_length=300)
    txn_id = models.BigIntegerField("仕訳")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "滞納処分費"
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="enf_cost_amount")]

    def __str__(self) -> str:
        return f"滞納処分費#{self.pk} {self.amount:,}円"


# --- 交付要求・参加差押 (claims in others' proceedings) ---------------------------------------------


class ClaimKind(models.TextChoices):
    DEMAND = "demand", "交付要求"
    PARTICIPATION = "participation", "参加差押"


class ProceedingKind(models.TextChoices):
    TAX = "tax", "滞納処分（国・他の地方団体）"
    EXECUTION = "execution", "強制執行"
    SECURITY = "security", "担保権の実行としての競売"
    BANKRUPTCY = "bankruptcy", "破産手続"
    OTHER = "other", "その他（企業担保権の実行・遺産の清算など）"


class ClaimStatus(models.TextChoices):
    PENDING = "pending", "決裁待ち"
    ACTIVE = "active", "交付要求中"
    ENDED = "ended", "解除・終了"
    WITHDRAWN = "withdrawn", "取下げ・否認"


class Claim(models.Model):
    """交付要求 (国税徴収法82条) or 参加差押 (86条) towards another authority's 強制換価手続 or a 破産手続
    (破産法114条: 交付要求 to the 破産管財人), applied by 地方税法331条6項; effective on a chief's 決裁."""

    municipality = models.ForeignKey("core.Municipality", on_delete=models.PROTECT, related_name="+")
    taxpayer = models.ForeignKey("taxpayers.Taxpayer", on_delete=models.PROTECT, related_name="+")
    case = models.ForeignKey("cases.Case", on_delete=models.PROTECT, related_name="claims")
    kind = models.CharField("種類", max_length=20, choices=ClaimKind.choices)
    proceeding = models.CharField("相手の手続", max_length=20, choices=ProceedingKind.choices)
    authority = models.CharField("執行機関（税務署・裁判所・破産管財人など）", max_length=200)
    case_no = models.CharField("事件番号", max_length=100, blank=True)
    property_description = models.CharField("対象財産", max_length=300, blank=True)
    installments = models.ManyToManyField("levies.Installment", related_name="+")
    amount = models.BigIntegerField("交付要求額")
    claimed_on = models.DateField("交付要求日・参加差押日")
    ended_on = models.DateField("解除・終了日", null=True, blank=True)
    end_reason = models.CharField("解除・終了の理由", max_length=300, blank=True)
    status = models.CharField("状態", max_length=10, choices=ClaimStatus.choices, default=ClaimStatus.PENDING)
    note = models.CharField("備考", max_length=300)
    request = models.ForeignKey(
        "approvals.ChangeRequest", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    end_request = models.ForeignKey(
        "approvals.ChangeRequest", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "交付要求・参加差押"
        indexes = [models.Index(fields=["municipality", "taxpayer"], name="enf_claim_tp_idx")]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="enf_claim_amount")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}#{self.pk}"


# --- 換価 (公売) and 配当 ----------------------------------------------------------------------------


class SaleMethod(models.TextChoices):
    AUCTION = "auction", "公売（入札・せり売）"
    PRIVATE = "private", "随意契約による売却"


class Sale(models.Model):
    """換価 (公売, 国税徴収法94条; 随意契約 109条) of a seized asset and the 配当 of its proceeds (128条〜135条):
    ``creditors`` — every creditor sharing them in their order (rank, name, kind, claim, amount, ours),
    computed by ``distribution.distribute``; our share booked through the payment engine on 決裁."""

    municipality = models.ForeignKey("core.Municipality", on_delete=models.PROTECT, related_name="+")
    seizure = models.ForeignKey(Seizure, on_delete=models.PROTECT, related_name="sales")
    method = models.CharField("換価の方法", max_length=10, choices=SaleMethod.choices)
    sold_on = models.DateField("換価日（売却決定日）")
    buyer = models.CharField("買受人", max_length=200)
    proceeds = models.BigIntegerField("換価代金")
    creditors = models.JSONField("配当を受ける者", default=list)
    ours = models.BigIntegerField("当方への配当額", default=0)
    surplus = models.BigIntegerField("残余金（滞納者へ）", default=0)
    distributed_on = models.DateField("配当日")
    status = models.CharField(
        "状態", max_length=10, choices=CollectionStatus.choices, default=CollectionStatus.PENDING
    )
    collection = models.ForeignKey(
        Collection, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    note = models.CharField("備考", max_length=300)
    request = models.ForeignKey(
        "approvals.ChangeRequest", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "換価・配当"
        constraints = [models.CheckConstraint(condition=Q(proceeds__gt=0), name="enf_sale_proceeds")]

    def __str__(self) -> str:
        return f"換価#{self.pk} {self.proceeds:,}円"
