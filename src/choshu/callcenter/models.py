"""納税催告センター (issue 20): the saved selection criteria, each month's targets handed to the
centre (with the random target id the centre's results come back with), the export and import files,
and every call result (linked to the 経過記録 it became)."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class CallCriteria(models.Model):
    """抽出条件 of the monthly target list, dated per municipality (the row in force on the export's
    基準日 applies; none saved: the defaults of issue 20 — every flag below at its default)."""

    municipality = models.ForeignKey("core.Municipality", on_delete=models.PROTECT, related_name="+")
    valid_from = models.DateField("適用開始日")
    current_year_only = models.BooleanField("現年度分の滞納のみ", default=True)
    min_amount = models.PositiveBigIntegerField("滞納額（本税）の下限（円）", default=1)
    exclude_enforcement = models.BooleanField("処分中の案件を除く", default=True)
    exclude_relief = models.BooleanField("緩和制度（猶予・停止）適用中を除く", default=True)
    exclude_promise_pending = models.BooleanField("納付約束の期日前を除く", default=True)
    include_birth_date = models.BooleanField("生年月日を出力する（本人確認用）", default=False)
    note = models.CharField("根拠・備考", max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "催告センターの抽出条件"
        ordering = ["-valid_from"]
        constraints = [
            models.UniqueConstraint(fields=["municipality", "valid_from"], name="callcenter_criteria_unique")
        ]

    def __str__(self) -> str:
        return f"抽出条件 {self.valid_from}〜"


class CallExport(models.Model):
    """One month's target file (one per municipality and month: the contract month's list is fixed
    once handed over)."""

    municipality = models.ForeignKey("core.Municipality", on_delete=models.PROTECT, related_name="+")
    month = models.CharField("対象年月", max_length=7)
    as_of = models.DateField("延滞金の基準日")
    file_name = models.CharField("ファイル名", max_length=255)
    sha256 = models.CharField("SHA-256", max_length=64)
    targets = models.PositiveIntegerField("対象者数", default=0)
    rows = models.PositiveIntegerField("行数", default=0)
    amount = models.BigIntegerField("金額合計", default=0)
    excluded = models.JSONField("除外（理由別の人数）", default=dict)
    criteria = models.JSONField("適用した抽出条件", default=dict)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "催告センターへの対象者ファイル"
        ordering = ["-month"]
        constraints = [
            models.UniqueConstraint(fields=["municipality", "month"], name="callcenter_export_month_unique")
        ]

    def __str__(self) -> str:
        return f"{self.month} 対象者 {self.targets} 人"


class CallTarget(models.Model):
    """One person of one month's list. ``target_id`` is random (never the 宛名番号), unique per
    municipality: the centre's results name it, and only it."""

    municipality = models.ForeignKey("core.Municipality", on_delete=models.PROTECT, related_name="+")
    export = models.ForeignKey(CallExport, on_delete=models.PROTECT, related_name="target_rows")
    month = models.CharField("対象年月", max_length=7)
    target_id = models.CharField("対象者ID", max_length=12)
    taxpayer = models.ForeignKey("taxpayers.Taxpayer", on_delete=models.PROTECT, related_name="+")
    principal = models.BigIntegerField("本税", default=0)
    late_charge = models.BigIntegerField("延滞金", default=0)
    amount = models.BigIntegerField("合計", default=0)
    installments = models.PositiveIntegerField("期別数", default=0)

    class Meta:
        verbose_name = "催告センターの架電対象者"
        constraints = [
            models.UniqueConstraint(fields=["municipality", "target_id"], name="callcenter_target_id_unique"),
            models.UniqueConstraint(fields=["month", "taxpayer"], name="callcenter_target_person_month"),
        ]
        indexes = [models.Index(fields=["municipality", "month"], name="callcenter_target_month_idx")]

    def __str__(self) -> str:
        return f"{self.month} {self.target_id}"


class CallImport(models.Model):
    """One results file imported (its SHA-256 is unique per municipality: the same file twice imports
    nothing the second time)."""

    municipality = models.ForeignKey("core.Municipality", on_delete=models.PROTECT, related_name="+")
    file_name = models.CharField("ファイル名", max_length=255)
    sha256 = models.CharField("SHA-256", max_length=64)
    rows = models.PositiveIntegerField("行数", default=0)
    imported = models.PositiveIntegerField("登録件数", default=0)
    duplicates = models.PositiveIntegerField("取込済みの行", default=0)
    closed_cases = models.PositiveIntegerField("案件完結済みで経過記録なし", default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "催告センターの架電結果ファイル"
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["municipality", "sha256"], name="callcenter_import_file_unique")
        ]

    def __str__(self) -> str:
        return f"{self.file_name} ({self.imported} 件)"


class CallOutcome(models.TextChoices):
    """架電結果コード (docs/formats.md §24)."""

    PROMISED = "1", "納付約束"
    REFUSED = "2", "納付拒否"
    WRONG_NUMBER = "3", "番号違い"
    NO_ANSWER = "4", "不在・応答なし"
    CALL_BACK = "5", "折り返し・再架電"
    PAID_ALREADY = "6", "納付済みとの申出"


REACHED = (CallOutcome.PROMISED, CallOutcome.REFUSED, CallOutcome.CALL_BACK, CallOutcome.PAID_ALREADY)


class CallResult(models.Model):
    """One call. ``row_key`` (target, date-time, operator code) is unique: a row already imported or
    entered is never recorded twice."""

    municipality = models.ForeignKey("core.Municipality", on_delete=models.PROTECT, related_name="+")
    target = models.ForeignKey(CallTarget, on_delete=models.PROTECT, related_name="results")
    called_at = models.DateTimeField("架電日時")
    operator_code = models.CharField("オペレーターコード", max_length=20)
    outcome = models.CharField("結果", max_length=2, choices=CallOutcome.choices)
    promise_amount = models.PositiveBigIntegerField("約束金額（円）", null=True, blank=True)
    promise_on = models.DateField("約束日", null=True, blank=True)
    notes = models.CharField("備考", max_length=200, blank=True)
    row_key = models.CharField(max_length=64)
    source = models.ForeignKey(
        CallImport, null=True, blank=True, on_delete=models.PROTECT, related_name="results"
    )
    contact = models.ForeignKey(
        "cases.ContactLog", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField()

    class Meta:
        verbose_name = "架電結果"
        constraints = [
            models.UniqueConstraint(fields=["municipality", "row_key"], name="callcenter_result_row_unique")
        ]
        indexes = [models.Index(fields=["target", "called_at"], name="callcenter_result_target_idx")]

    def __str__(self) -> str:
        return f"{self.target.target_id} {self.called_at:%Y-%m-%d %H:%M} {self.get_outcome_display()}"
