"""滞納整理 (delinquency case work, issue 18): one case per delinquent person, its stage and assignment
with their history, flags and sticky notes, the contact log (経過記録) and its templates, the
municipality's dated thresholds and assignment rules, and a record of every ``cases-run``.

Payment plans (分納誓約), relief (緩和制度), prescription and write-off (issue 18 §5–§8) are later
work: their stages exist (``Stage``) so that a case can already be put in them by hand.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class Stage(models.TextChoices):
    """A case's stage (進行状況). ``CLOSED`` only by the run (完納) or by hand (完結)."""

    DUNNING = "dunning", "催告中"
    NEGOTIATING = "negotiating", "交渉中"
    PLAN = "plan", "分納中"
    INVESTIGATING = "investigating", "調査中"
    ENFORCEMENT = "enforcement", "処分中"
    DEFERRAL = "deferral", "猶予中"
    SUSPENDED = "suspended", "停止中"
    CLOSED = "closed", "完結"


class CloseReason(models.TextChoices):
    PAID = "paid", "完納（滞納額なし）"
    WRITTEN_OFF = "written_off", "不納欠損"
    MANUAL = "manual", "職員による完結"


class CaseSetting(models.Model):
    """The thresholds from a date (one row per change): a person is opened a case when the 本税 in
    arrears (past the 指定納期限) reaches ``min_amount`` yen and the oldest such installment is at least
    ``min_age_days`` days past its 指定納期限 on the run date."""

    municipality = models.ForeignKey("core.Municipality", on_delete=models.PROTECT, related_name="+")
    valid_from = models.DateField("適用開始日")
    min_amount = models.PositiveBigIntegerField("滞納額の下限（本税、円）")
    min_age_days = models.PositiveIntegerField("経過日数の下限（指定納期限の翌日から）")
    note = models.CharField("根拠・備考", max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "滞納案件の開始基準"
        ordering = ["municipality", "valid_from"]
        constraints = [
            models.UniqueConstraint(fields=["municipality", "valid_from"], name="case_setting_unique")
        ]

    def __str__(self) -> str:
        return f"{self.valid_from} から {self.min_amount}円・{self.min_age_days}日"


class AssignmentRule(models.Model):
    """割当規則: a new case goes to the first active rule (lowest ``priority``) it matches. Empty
    conditions match everything: ``district`` is a prefix of the person's 住所 (地区), ``min_amount`` the
    case's amount, ``tax_item`` a tax item with arrears."""

    municipality = models.ForeignKey("core.Municipality", on_delete=models.PROTECT, related_name="+")
    priority = models.PositiveIntegerField("優先順位", default=100)
    name = models.CharField("規則名", max_length=100)
    district = models.CharField("地区（住所の先頭一致）", max_length=100, blank=True)
    min_amount = models.PositiveBigIntegerField("滞納額の下限（円）", null=True, blank=True)
    tax_item = models.CharField("税目コード", max_length=2, blank=True)
    officer = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    team = models.CharField("班", max_length=50)
    is_active = models.BooleanField("有効", default=True)

    class Meta:
        verbose_name = "滞納案件の割当規則"
        ordering = ["municipality", "priority", "pk"]

    def __str__(self) -> str:
        return f"{self.priority}: {self.name} → {self.team}"


class CaseRun(models.Model):
    """One ``choshu cases-run`` (not kept for a dry run): its date, who ran it, its counts."""

    municipality = models.ForeignKey("core.Municipality", on_delete=models.PROTECT, related_name="+")
    as_of = models.DateField("基準日")
    counts = models.JSONField("件数", default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "滞納案件の一括処理"

    def __str__(self) -> str:
        return f"cases-run {self.as_of} #{self.pk}"


class Case(models.Model):
    """滞納案件 — one per delinquent person (every tax item together) while open. ``amount`` and
    ``oldest_due`` are the 本税 in arrears and the oldest 指定納期限 at the last run (or opening);
    ``follow_up_on`` the follow-up date of the latest contact log entry that set one."""

    municipality = models.ForeignKey("core.Municipality", on_delete=models.PROTECT, related_name="+")
    taxpayer = models.ForeignKey("taxpayers.Taxpayer", on_delete=models.PROTECT, related_name="cases")
    stage = models.CharField("進行状況", max_length=20, choices=Stage.choices, default=Stage.DUNNING)
    officer = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="cases"
    )
    team = models.CharField("班", max_length=50, blank=True)
    opened_on = models.DateField("開始日")
    opened_run = models.ForeignKey(CaseRun, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    closed_on = models.DateField("完結日", null=True, blank=True)
    close_reason = models.CharField("完結理由", max_length=20, choices=CloseReason.choices, blank=True)
    amount = models.BigIntegerField("滞納額（本税）", default=0)
    oldest_due = models.DateField("最古の指定納期限", null=True, blank=True)
    refreshed_on = models.DateField("金額の基準日", null=True, blank=True)
    follow_up_on = models.DateField("次回対応日", null=True, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        verbose_name = "滞納案件"
        indexes = [
            models.Index(fields=["municipality", "team", "closed_on"], name="case_team_idx"),
            models.Index(fields=["officer", "closed_on"], name="case_officer_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["taxpayer"], condition=Q(closed_on__isnull=True), name="case_one_open_per_taxpayer"
            )
        ]

    def __str__(self) -> str:
        return f"滞納案件 #{self.pk}"

    @property
    def is_open(self) -> bool:
        return self.closed_on is None


class StageChange(models.Model):
    """進行状況の履歴: every change of stage (the opening's too: ``from_stage`` empty)."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="stage_changes")
    from_stage = models.CharField("変更前", max_length=20, choices=Stage.choices, blank=True)
    to_stage = models.CharField("変更後", max_length=20, choices=Stage.choices)
    changed_on = models.DateField("変更日")
    changed_at = models.DateTimeField()
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    note = models.CharField("理由", max_length=300, blank=True)

    class Meta:
        verbose_name = "進行状況の履歴"
        indexes = [models.Index(fields=["case", "changed_at"], name="case_stage_hist_idx")]

    def __str__(self) -> str:
        return f"案件#{self.case_id} {self.from_stage}→{self.to_stage}"


class Assignment(models.Model):
    """担当の履歴: who the case was given to, when, by whom (a rule, a reassignment) and why."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="assignments")
    officer = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    team = models.CharField("班", max_length=50, blank=True)
    rule = models.ForeignKey(
        AssignmentRule, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    changed_at = models.DateTimeField()
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reason = models.CharField("理由", max_length=300, blank=True)

    class Meta:
        verbose_name = "担当の履歴"
        indexes = [models.Index(fields=["case", "changed_at"], name="case_assign_hist_idx")]

    def __str__(self) -> str:
        return f"案件#{self.case_id} → {self.team}"


class FlagKind(models.TextChoices):
    CAUTION = "caution", "対応注意"
    WHEREABOUTS = "whereabouts", "居所不明"
    HARDSHIP = "hardship", "生活困窮の申出"
    BANKRUPTCY = "bankruptcy", "破産・再生手続"
    DECEASED = "deceased", "死亡・相続"
    LARGE = "large", "高額滞納"
    OTHER = "other", "その他"


class CaseFlag(models.Model):
    """A flag (``kind``) or a sticky note (``kind`` empty: 付箋) on a case, shown at the top of the case
    file until ``expires_on`` (inclusive; never when empty) or until removed (the row stays)."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="flags")
    kind = models.CharField("区分", max_length=20, choices=FlagKind.choices, blank=True)
    text = models.CharField("内容", max_length=300, blank=True)
    expires_on = models.DateField("表示期限", null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField()
    removed_at = models.DateTimeField(null=True, blank=True)
    removed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = "フラグ・付箋"

    def __str__(self) -> str:
        return f"案件#{self.case_id} {self.kind or '付箋'}"


class Channel(models.TextChoices):
    VISIT = "visit", "臨戸（訪問）"
    PHONE = "phone", "電話"
    COUNTER = "counter", "来庁（窓口）"
    LETTER = "letter", "文書"
    CALL_CENTRE = "call_centre", "納税催告センター"


class ContactTemplate(models.Model):
    """経過記録の定型文: fills the quick entry form (channel, what was said, next action). A row without a
    municipality is a built-in one offered to every municipality."""

    municipality = models.ForeignKey(
        "core.Municipality", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    name = models.CharField("定型文名", max_length=50)
    channel = models.CharField("手段", max_length=20, choices=Channel.choices)
    counterpart = models.CharField("相手方", max_length=50, blank=True)
    summary = models.TextField("内容")
    next_action = models.CharField("次回の対応", max_length=200, blank=True)
    follow_up_days = models.PositiveIntegerField("次回対応日（何日後）", null=True, blank=True)
    sort_order = models.PositiveIntegerField("表示順", default=0)

    class Meta:
        verbose_name = "経過記録の定型文"
        ordering = ["sort_order", "pk"]

    def __str__(self) -> str:
        return self.name


class ContactLog(models.Model):
    """経過記録 — one contact with or about the person: when, how, with whom, what was said, a promise
    (amount by a date), the next action and its follow-up date. Never edited: a correction is a new entry."""

    municipality = models.ForeignKey("core.Municipality", on_delete=models.PROTECT, related_name="+")
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="contacts")
    taxpayer = models.ForeignKey("taxpayers.Taxpayer", on_delete=models.PROTECT, related_name="+")
    contacted_at = models.DateTimeField("日時")
    channel = models.CharField("手段", max_length=20, choices=Channel.choices)
    counterpart = models.CharField("相手方", max_length=50, blank=True)
    summary = models.TextField("内容")
    promise_amount = models.PositiveBigIntegerField("納付約束額（円）", null=True, blank=True)
    promise_on = models.DateField("納付約束日", null=True, blank=True)
    next_action = models.CharField("次回の対応", max_length=200, blank=True)
    follow_up_on = models.DateField("次回対応日", null=True, blank=True)
    template = models.ForeignKey(
        ContactTemplate, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField()

    class Meta:
        verbose_name = "経過記録"
        indexes = [
            models.Index(fields=["case", "contacted_at"], name="contact_case_idx"),
            models.Index(fields=["municipality", "promise_on"], name="contact_promise_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(promise_amount__isnull=True, promise_on__isnull=True)
                | Q(promise_amount__isnull=False, promise_on__isnull=False),
                name="contact_promise_both",
            )
        ]

    def __str__(self) -> str:
        return f"経過記録 #{self.pk} {self.contacted_at:%Y-%m-%d %H:%M}"
