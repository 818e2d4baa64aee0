"""決算の締め (closing balances per fiscal year) and 納税証明書 (certificates issued).

``FiscalYearClose`` marks a fiscal year closed (``choshu year-end``); its ``ClosingBalance`` rows are the
year's settlement figures per tax item and 現年/滞納繰越 as they were at the close, and the opening of
the next year's 滞納繰越分. Reports never sum the ledger before the last closed year: a year's figures
are its opening (the previous close) plus the ledger rows of the year (docs/reports.md).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Category(models.TextChoices):
    CURRENT = "current", "現年課税分"
    ARREARS = "arrears", "滞納繰越分"


class FiscalYearClose(models.Model):
    """One closed fiscal year (会計年度) of a municipality: its figures never change afterwards.

    ``through_txn_id``: every ledger transaction with an id up to it was counted in the close; a later
    transaction dated in this (or an earlier) year is counted in the first open year (docs/reports.md
    "Late postings")."""

    municipality = models.ForeignKey("core.Municipality", on_delete=models.PROTECT, related_name="+")
    fiscal_year = models.PositiveSmallIntegerField("会計年度")
    closed_on = models.DateField("締め日")
    closed_at = models.DateTimeField("締めの記録日時", auto_now_add=True)
    through_txn_id = models.BigIntegerField("締めに含めた取引ID（以下）")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    job = models.ForeignKey("core.Job", null=True, blank=True, on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = "会計年度の締め"
        constraints = [
            models.UniqueConstraint(fields=["municipality", "fiscal_year"], name="fiscal_year_close_unique")
        ]

    def __str__(self) -> str:
        return f"{self.fiscal_year}年度 締め（{self.closed_on}）"


class ClosingBalance(models.Model):
    """A closed year's figures for one tax item and 現年/滞納繰越 (本税, yen). ``opening`` is the
    滞納繰越分 carried in (the previous year's 収入未済額, part of ``levied``)."""

    close = models.ForeignKey(FiscalYearClose, on_delete=models.PROTECT, related_name="balances")
    municipality = models.ForeignKey("core.Municipality", on_delete=models.PROTECT, related_name="+")
    fiscal_year = models.PositiveSmallIntegerField("会計年度")
    tax_item = models.CharField("業務詳細（科目）コード", max_length=2)
    category = models.CharField("区分", max_length=10, choices=Category.choices)
    opening = models.BigIntegerField("繰越調定額", default=0)
    levied = models.BigIntegerField("調定額", default=0)
    paid = models.BigIntegerField("収入済額", default=0)
    written_off = models.BigIntegerField("不納欠損額", default=0)
    outstanding = models.BigIntegerField("収入未済額", default=0)
    refund_pending = models.BigIntegerField("還付未済額", default=0)

    class Meta:
        verbose_name = "締め残高"
        constraints = [
            models.UniqueConstraint(
                fields=["municipality", "fiscal_year", "tax_item", "category"], name="closing_balance_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.fiscal_year} {self.tax_item} {self.category} 未済{self.outstanding}"


class CertificateKind(models.TextChoices):
    PAYMENT = "payment", "納税証明書（納付状況）"
    VEHICLE = "vehicle", "軽自動車税納税証明書（継続検査用）"


class CertificateFee(models.Model):
    """証明手数料 by date (手数料条例): the row with the latest ``valid_from`` on or before the issue day.
    No row: the demo value (``certificates.DEMO_FEE``), recorded as such on every certificate."""

    municipality = models.ForeignKey("core.Municipality", on_delete=models.PROTECT, related_name="+")
    valid_from = models.DateField("適用開始日")
    yen = models.PositiveIntegerField("手数料（円）")
    source = models.CharField("根拠（条例・告示）", max_length=200)

    class Meta:
        verbose_name = "証明手数料"
        constraints = [
            models.UniqueConstraint(fields=["municipality", "valid_from"], name="certificate_fee_unique")
        ]

    def __str__(self) -> str:
        return f"{self.valid_from}〜 {self.yen}円"


class Certificate(models.Model):
    """One 納税証明書 issued: what it certified (``content``, the exact text signed by ``code``)."""

    municipality = models.ForeignKey("core.Municipality", on_delete=models.PROTECT, related_name="+")
    number = models.CharField("証明書番号", max_length=20)
    kind = models.CharField("種類", max_length=10, choices=CertificateKind.choices)
    taxpayer = models.ForeignKey("taxpayers.Taxpayer", on_delete=models.PROTECT, related_name="+")
    issued_on = models.DateField("発行日")
    issued_at = models.DateTimeField("発行日時", auto_now_add=True)
    issued_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    purpose = models.CharField("使用目的", max_length=100, blank=True)
    content = models.JSONField("証明内容")
    code = models.CharField("照合番号", max_length=20)
    fee = models.PositiveIntegerField("手数料（円）")
    fee_source = models.CharField("手数料の根拠", max_length=200)
    valid_until = models.DateField("有効期限", null=True, blank=True)

    class Meta:
        verbose_name = "納税証明書"
        constraints = [
            models.UniqueConstraint(fields=["municipality", "number"], name="certificate_no_unique")
        ]
        indexes = [models.Index(fields=["municipality", "taxpayer"], name="certificate_taxpayer_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.number}"


class StatisticsSetting(models.Model):
    """月次統計の秘匿基準 from a date (one row per change): a cell counting fewer than ``min_persons``
    persons is suppressed (「秘匿」), with complementary suppression (docs/reports.md). No row: the
    default ``statistics.DEFAULT_MIN_PERSONS``."""

    municipality = models.ForeignKey("core.Municipality", on_delete=models.PROTECT, related_name="+")
    valid_from = models.DateField("適用開始日")
    min_persons = models.PositiveIntegerField("最小人数（これ未満の人数のセルは秘匿）")
    note = models.CharField("根拠・備考", max_length=300, blank=True)

    class Meta:
        verbose_name = "月次統計の秘匿基準"
        constraints = [
            models.UniqueConstraint(fields=["municipality", "valid_from"], name="statistics_setting_unique")
        ]

    def __str__(self) -> str:
        return f"{self.valid_from} から {self.min_persons}人未満を秘匿"
