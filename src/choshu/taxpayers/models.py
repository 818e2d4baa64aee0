"""宛名 (taxpayers): the people and corporations the office deals with."""

from __future__ import annotations

from datetime import date

from django.conf import settings
from django.db import models

from choshu.core.models import SourceStamp


class TaxpayerKind(models.TextChoices):
    INDIVIDUAL = "individual", "個人"
    CORPORATION = "corporation", "法人"
    CO_OWNERSHIP = "co_ownership", "共有"


class Sex(models.TextChoices):
    MALE = "1", "男"
    FEMALE = "2", "女"
    UNKNOWN = "", "－"


class Taxpayer(SourceStamp):
    """宛名 — a person or corporation, identified by 宛名番号 within one municipality.

    Names are stored exactly as received (no Unicode normalisation: variant characters carry identity).
    ``search_*`` columns are normalised copies used only for searching. The My Number is kept only
    encrypted (``my_number_enc``) with a keyed hash for look-up; it never appears in logs.
    Every change is a new ``TaxpayerRevision``; ``revision`` is the current revision number (履歴番号).
    """

    municipality = models.ForeignKey("core.Municipality", on_delete=models.PROTECT, related_name="+")
    taxpayer_no = models.CharField("宛名番号", max_length=15)
    kind = models.CharField("区分", max_length=12, choices=TaxpayerKind.choices)
    name = models.CharField("氏名・名称", max_length=200)
    name_kana = models.CharField("カナ氏名", max_length=200, blank=True)
    birth_date = models.DateField("生年月日・設立日", null=True, blank=True)
    sex = models.CharField("性別", max_length=1, choices=Sex.choices, blank=True)
    postal_code = models.CharField("郵便番号", max_length=8, blank=True)
    address = models.CharField("住所", max_length=300, blank=True)
    address_extra = models.CharField("方書", max_length=300, blank=True)
    mailing_postal_code = models.CharField("送付先郵便番号", max_length=8, blank=True)
    mailing_address = models.CharField("送付先住所", max_length=300, blank=True)
    phone = models.CharField("電話番号", max_length=30, blank=True)
    my_number_enc = models.BinaryField("個人番号(暗号化)", null=True, blank=True, editable=False)
    my_number_hash = models.CharField(max_length=64, blank=True, db_index=True, editable=False)
    corporate_number = models.CharField("法人番号", max_length=13, blank=True, db_index=True)
    resident = models.BooleanField("住登者", default=True, help_text="偽 = 住登外")
    deceased_on = models.DateField("死亡日・解散日", null=True, blank=True)
    # 支援措置 (DV・ストーカー・虐待の被害者, 住民基本台帳事務における支援措置; 標準 001o009). While
    # active (from ≤ today ≤ until, no end = open), every screen warns, the address is masked for
    # anyone without Right.PROTECTED_ADDRESS_VIEW, and no export or print file may contain it.
    support_measure_from = models.DateField("支援措置開始日", null=True, blank=True)
    support_measure_until = models.DateField("支援措置終了日", null=True, blank=True)
    search_kana = models.CharField(max_length=200, blank=True, editable=False)
    search_name = models.CharField(max_length=200, blank=True, editable=False)
    search_address = models.CharField(max_length=400, blank=True, editable=False)
    search_phone = models.CharField(max_length=30, blank=True, editable=False)
    revision = models.PositiveIntegerField("履歴番号", default=1)
    is_active = models.BooleanField("有効フラグ", default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "宛名"
        constraints = [
            models.UniqueConstraint(fields=["municipality", "taxpayer_no"], name="taxpayer_no_unique"),
        ]
        indexes = [
            models.Index(fields=["municipality", "search_kana"], name="taxpayer_kana_idx"),
            models.Index(fields=["municipality", "search_name"], name="taxpayer_name_idx"),
            models.Index(fields=["municipality", "search_address"], name="taxpayer_address_idx"),
            models.Index(fields=["municipality", "search_phone"], name="taxpayer_phone_idx"),
            models.Index(fields=["municipality", "birth_date"], name="taxpayer_birth_idx"),  # 宛名検索
        ]

    def __str__(self) -> str:
        return f"{self.taxpayer_no} {self.name}"

    @property
    def is_corporation(self) -> bool:
        return self.kind == TaxpayerKind.CORPORATION

    @property
    def has_my_number(self) -> bool:
        return bool(self.my_number_hash)

    def is_protected(self, on: date) -> bool:
        """支援措置 active on ``on``."""
        start, end = self.support_measure_from, self.support_measure_until
        return start is not None and start <= on and (end is None or on <= end)


class TaxpayerRevision(models.Model):
    """履歴 — one row per version of a taxpayer's attributes: who changed what, when, and why.

    ``data`` holds the attributes of this revision; the My Number is never stored here, only
    whether it changed.
    """

    municipality = models.ForeignKey("core.Municipality", on_delete=models.PROTECT, related_name="+")
    taxpayer = models.ForeignKey(Taxpayer, on_delete=models.PROTECT, related_name="revisions")
    revision = models.PositiveIntegerField("履歴番号")
    data = models.JSONField()
    changed_fields = models.JSONField(default=list)
    changed_at = models.DateTimeField()
    changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT)
    job = models.ForeignKey("core.Job", null=True, blank=True, on_delete=models.PROTECT)
    reason = models.CharField("理由", max_length=200, blank=True)

    class Meta:
        verbose_name = "宛名履歴"
        constraints = [
            models.UniqueConstraint(fields=["taxpayer", "revision"], name="taxpayer_revision_unique"),
        ]
        ordering = ["taxpayer", "-revision"]

    def __str__(self) -> str:
        return f"{self.taxpayer_id} 履歴{self.revision}"


class IdentityLink(models.Model):
    """名寄せ — two 宛名 records known to be the same person (e.g. a resident record and a 住登外 one)."""

    municipality = models.ForeignKey("core.Municipality", on_delete=models.PROTECT, related_name="+")
    taxpayer = models.ForeignKey(Taxpayer, on_delete=models.PROTECT, related_name="links_from")
    linked = models.ForeignKey(Taxpayer, on_delete=models.PROTECT, related_name="links_to")
    reason = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT)

    class Meta:
        verbose_name = "名寄せ"
        constraints = [
            models.UniqueConstraint(fields=["taxpayer", "linked"], name="identity_link_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.taxpayer_id} ⇔ {self.linked_id}"


# --- related records of the standard (issue 12 §3, §4) ------------------------------------------------


class RelatedRecord(SourceStamp):
    """A record about a 宛名 kept as revisions: a change inserts a new row (``revision`` + 1) and
    clears ``is_current`` on the old one, with who, when and why; nothing is overwritten."""

    municipality = models.ForeignKey("core.Municipality", on_delete=models.PROTECT, related_name="+")
    revision = models.PositiveIntegerField("履歴番号", default=1)
    is_current = models.BooleanField("現行", default=True)
    changed_at = models.DateTimeField("変更日時")
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    job = models.ForeignKey("core.Job", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    reason = models.CharField("理由", max_length=200, blank=True)

    class Meta:
        abstract = True


class SpecialCollector(RelatedRecord):
    """特別徴収義務者 — an employer (or pension payer) who withholds its employees' resident tax and pays it
    in: its levies (tax item 02, 12 monthly installments) are its own, keyed by 特別徴収義務者指定番号.
    ``taxpayer`` is the employer's own 宛名 (the addressee of its 納入書)."""

    taxpayer = models.ForeignKey(Taxpayer, on_delete=models.PROTECT, related_name="special_collector_roles")
    designation_no = models.CharField("特別徴収義務者指定番号", max_length=20)
    name = models.CharField("義務者名称", max_length=200)
    due_date_special = models.BooleanField(
        "納期の特例", default=False, help_text="地方税法321条の5の2（年2回納入）"
    )
    contact_name = models.CharField("担当者", max_length=100, blank=True)
    contact_phone = models.CharField("担当者電話番号", max_length=30, blank=True)

    class Meta:
        verbose_name = "特別徴収義務者"
        constraints = [
            models.UniqueConstraint(
                fields=["municipality", "designation_no", "revision"],
                name="special_collector_revision_unique",
            ),
            models.UniqueConstraint(
                fields=["municipality", "designation_no"],
                condition=models.Q(is_current=True),
                name="special_collector_current_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.designation_no} {self.name}"


class SpecialCollectionEmployee(RelatedRecord):
    """An employee whose resident tax a 特別徴収義務者 withholds in a levy year (給与所得者異動届 /
    特別徴収税額通知): shown on the employee's page and the obligor's."""

    collector = models.ForeignKey(SpecialCollector, on_delete=models.PROTECT, related_name="employees")
    employee = models.ForeignKey(Taxpayer, on_delete=models.PROTECT, related_name="special_collection_links")
    levy_year = models.PositiveSmallIntegerField("賦課年度")
    annual_amount = models.BigIntegerField("年税額", default=0)
    start_month = models.CharField("特別徴収開始月", max_length=7, blank=True, help_text="YYYY-MM")
    end_date = models.DateField("異動日（退職等）", null=True, blank=True)

    class Meta:
        verbose_name = "特別徴収対象者"
        constraints = [
            models.UniqueConstraint(
                fields=["collector", "employee", "levy_year", "revision"],
                name="special_employee_revision_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.collector_id} ← {self.employee_id} ({self.levy_year})"


class MailingAddress(RelatedRecord):
    """送付先・連絡先 (標準 036o014) per tax item: ``tax_item`` ``00`` = every item; ``vehicle_no``
    narrows it to one vehicle (軽自動車税). Documents go here instead of the registered address."""

    taxpayer = models.ForeignKey(Taxpayer, on_delete=models.PROTECT, related_name="mailing_addresses")
    tax_item = models.CharField("業務詳細（科目）コード", max_length=2, default="00")
    vehicle_no = models.CharField("軽自管理番号", max_length=20, blank=True)
    name = models.CharField("送付先氏名", max_length=200, blank=True)
    name_kana = models.CharField("送付先氏名カナ", max_length=200, blank=True)
    postal_code = models.CharField("郵便番号", max_length=7, blank=True)
    address = models.CharField("住所", max_length=300)
    address_extra = models.CharField("方書", max_length=300, blank=True)
    kind = models.CharField("送付先区分", max_length=2, blank=True)
    set_reason = models.CharField("送付先を設定する理由", max_length=100, blank=True)
    phone = models.CharField("電話番号", max_length=30, blank=True)
    valid_from = models.DateField("登録年月日", null=True, blank=True)
    valid_until = models.DateField("利用廃止年月日", null=True, blank=True)
    memo = models.CharField("メモ", max_length=200, blank=True)
    change_request = models.ForeignKey(
        "approvals.ChangeRequest",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="職員の入力による版: 申請（changed_by）と承認（決裁者）の決裁",
    )

    class Meta:
        verbose_name = "送付先"
        indexes = [models.Index(fields=["taxpayer", "tax_item"], name="mailing_taxpayer_item_idx")]

    def __str__(self) -> str:
        return f"{self.taxpayer_id} {self.tax_item} {self.address}"


class RepresentativeRole(models.TextChoices):
    AGENT = "agent", "代理人"
    TAX_MANAGER = "tax_manager", "納税管理人"


class Representative(RelatedRecord):
    """代理人・納税管理人 (標準 036o013) of a taxpayer for one tax item (``00`` = all): the agent is a 宛名
    too; a 納税管理人 (地方税法300条, 355条) receives the documents in the taxpayer's place."""

    taxpayer = models.ForeignKey(Taxpayer, on_delete=models.PROTECT, related_name="representatives")
    agent = models.ForeignKey(Taxpayer, on_delete=models.PROTECT, related_name="represents")
    tax_item = models.CharField("業務詳細（科目）コード", max_length=2, default="00")
    role = models.CharField("肩書", max_length=12, choices=RepresentativeRole.choices)
    valid_from = models.DateField("有効期間開始日")
    valid_until = models.DateField("有効期間終了日", null=True, blank=True)
    phone = models.CharField("電話番号", max_length=30, blank=True)
    memo = models.CharField("メモ", max_length=200, blank=True)

    class Meta:
        verbose_name = "代理人・納税管理人"
        indexes = [models.Index(fields=["taxpayer"], name="representative_taxpayer_idx")]

    def __str__(self) -> str:
        return f"{self.taxpayer_id} ← {self.agent_id} ({self.get_role_display()})"


class CoOwner(RelatedRecord):
    """固定資産税の共有者 (標準 036o011): the members of a co-ownership (a 宛名 of kind 共有, which holds the
    levies) with their shares; one of them is the representative (代表者) who receives the notices.
    Every member owes the whole tax (連帯納税義務, 地方税法10条の2)."""

    ownership = models.ForeignKey(Taxpayer, on_delete=models.PROTECT, related_name="co_owners")
    member = models.ForeignKey(Taxpayer, on_delete=models.PROTECT, related_name="co_ownerships")
    levy_year = models.PositiveSmallIntegerField("課税年度")
    asset_group_no = models.CharField("共有資産番号", max_length=20, blank=True)
    member_seq = models.PositiveSmallIntegerField("構成員連番")
    is_representative = models.BooleanField("代表者", default=False)
    share_numerator = models.PositiveIntegerField("持分（分子）", null=True, blank=True)
    share_denominator = models.PositiveIntegerField("持分（分母）", null=True, blank=True)

    class Meta:
        verbose_name = "共有者"
        indexes = [
            models.Index(fields=["ownership", "levy_year"], name="coowner_ownership_idx"),
            models.Index(fields=["member"], name="coowner_member_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.ownership_id} ∋ {self.member_id} ({self.levy_year})"


class Heir(RelatedRecord):
    """相続人 (承継納税義務者, 地方税法9条) of a deceased taxpayer, with the share inherited; the
    representative (相続人代表者, 9条の2) receives the documents."""

    deceased = models.ForeignKey(Taxpayer, on_delete=models.PROTECT, related_name="heirs")
    heir = models.ForeignKey(Taxpayer, on_delete=models.PROTECT, related_name="inheritances")
    seq = models.PositiveSmallIntegerField("連番")
    is_representative = models.BooleanField("相続人代表者", default=False)
    share_numerator = models.PositiveIntegerField("持分（分子）", null=True, blank=True)
    share_denominator = models.PositiveIntegerField("持分（分母）", null=True, blank=True)
    since = models.DateField("承継日", null=True, blank=True)

    class Meta:
        verbose_name = "相続人"
        indexes = [
            models.Index(fields=["deceased"], name="heir_deceased_idx"),
            models.Index(fields=["heir"], name="heir_heir_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.deceased_id} → {self.heir_id}"
