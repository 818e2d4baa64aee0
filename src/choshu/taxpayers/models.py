"""宛名 (taxpayers): the people and corporations the office deals with."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class TaxpayerKind(models.TextChoices):
    INDIVIDUAL = "individual", "個人"
    CORPORATION = "corporation", "法人"


class Sex(models.TextChoices):
    MALE = "1", "男"
    FEMALE = "2", "女"
    UNKNOWN = "", "－"


class Taxpayer(models.Model):
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
        ]

    def __str__(self) -> str:
        return f"{self.taxpayer_no} {self.name}"

    @property
    def is_corporation(self) -> bool:
        return self.kind == TaxpayerKind.CORPORATION

    @property
    def has_my_number(self) -> bool:
        return bool(self.my_number_hash)


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
