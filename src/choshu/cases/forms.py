"""Forms of the case screens: Japanese labels and messages; the services check again."""

from __future__ import annotations

from datetime import date
from typing import Any, cast

from django import forms

from choshu.cases.models import Channel, FlagKind, Stage
from choshu.core.forms import Form, date_in_range
from choshu.plans.models import PlanMethod

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
DATETIME = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
_REQUIRED = {"required": "入力してください", "invalid": "正しい値を入力してください"}
_DATE_ERR = {"invalid": "日付を YYYY-MM-DD で入力してください"}


class ContactForm(Form):
    """経過記録のクイック入力."""

    template = forms.TypedChoiceField(label="定型文", required=False, coerce=int, empty_value=None)
    contacted_at = forms.DateTimeField(
        label="日時", widget=DATETIME, input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
        error_messages={"required": "日時を入力してください", "invalid": "日時を YYYY-MM-DD HH:MM で入力してください"},
    )  # fmt: skip
    channel = forms.ChoiceField(label="手段", choices=Channel.choices, error_messages={
        "required": "手段を選んでください", "invalid_choice": "手段を一覧から選んでください"})  # fmt: skip
    counterpart = forms.CharField(
        label="相手方", max_length=50, required=False, help_text="本人・家族・勤務先など"
    )
    summary = forms.CharField(label="内容", widget=forms.Textarea(attrs={"rows": 3}),
                              error_messages={"required": "内容を入力してください"})  # fmt: skip
    promise_amount = forms.IntegerField(
        label="納付約束額（円）", required=False, min_value=1, max_value=10**12,
        error_messages={"invalid": "金額は半角数字（円）で入力してください", "min_value": "1 円以上で入力してください",
                        "max_value": "金額が大きすぎます"},
    )  # fmt: skip
    promise_on = forms.DateField(label="納付約束日", required=False, widget=DATE, error_messages=_DATE_ERR)
    next_action = forms.CharField(label="次回の対応", max_length=200, required=False)
    follow_up_on = forms.DateField(label="次回対応日", required=False, widget=DATE, error_messages=_DATE_ERR)

    def __init__(self, *args: Any, templates: list[tuple[int, str]] = (), **kwargs: Any) -> None:  # type: ignore[assignment]
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["template"]).choices = [("", "（使わない）"), *templates]
        self.fields["template"].error_messages["invalid_choice"] = "定型文を一覧から選んでください"


class FlagForm(Form):
    kind = forms.ChoiceField(label="区分", choices=[("", "付箋（自由記述）"), *FlagKind.choices], required=False,
                             error_messages={"invalid_choice": "区分を一覧から選んでください"})  # fmt: skip
    text = forms.CharField(label="内容", max_length=300, required=False)
    expires_on = forms.DateField(label="表示期限", required=False, widget=DATE, error_messages=_DATE_ERR,
                                 help_text="空欄なら外すまで表示")  # fmt: skip


class StageForm(Form):
    stage = forms.ChoiceField(label="進行状況", choices=Stage.choices,
                              error_messages={"invalid_choice": "進行状況を一覧から選んでください"})  # fmt: skip
    note = forms.CharField(label="理由", max_length=300, required=False)


class ReassignForm(Form):
    officer = forms.TypedChoiceField(label="新しい担当者", coerce=int, error_messages={
        "required": "担当者を選んでください", "invalid_choice": "担当者を一覧から選んでください"})  # fmt: skip
    reason = forms.CharField(
        label="理由", max_length=300, error_messages={"required": "担当替えの理由を入力してください"}
    )

    def __init__(self, *args: Any, officers: list[tuple[int, str]] = (), **kwargs: Any) -> None:  # type: ignore[assignment]
        kwargs.setdefault("auto_id", "reassign_%s")  # the list's filter form has an ``officer`` too
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["officer"]).choices = [("", "選んでください"), *officers]


class CaseFilterForm(Form):
    state = forms.ChoiceField(label="状態", required=False,
                              choices=[("open", "進行中"), ("closed", "完結"), ("all", "すべて")])  # fmt: skip
    stage = forms.ChoiceField(label="進行状況", required=False, choices=[("", "すべて"), *Stage.choices])
    team = forms.CharField(label="班", required=False, max_length=50)
    officer = forms.IntegerField(required=False, min_value=0, max_value=2**63 - 1, widget=forms.HiddenInput)
    sort = forms.CharField(required=False, max_length=20)


class CaseOpenForm(Form):
    """滞納案件の手動開始 (the work list's form): 宛名番号 and the reason."""

    taxpayer_no = forms.CharField(
        label="宛名番号", max_length=20, error_messages={"required": "宛名番号を入力してください"}
    )
    reason = forms.CharField(
        label="理由", max_length=300, error_messages={"required": "案件を開始する理由を入力してください"}
    )


class PlanForm(Form):
    """分納計画を作成: the installments (checkboxes), the method, the equal schedule's count and first
    date or the manual lines (「YYYY-MM-DD,金額」 one a line), the 延滞金 choice and the reason."""

    installments = forms.TypedMultipleChoiceField(
        label="分納の対象（期別）", coerce=int, widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "分納の対象にする期別を1件以上選んでください",
                        "invalid_choice": "期別を一覧から選んでください"},
    )  # fmt: skip
    method = forms.ChoiceField(label="分割の方法", choices=PlanMethod.choices, widget=forms.RadioSelect,
                               initial=PlanMethod.EQUAL, error_messages={
                                   "required": "分割の方法を選んでください",
                                   "invalid_choice": "分割の方法を一覧から選んでください"})  # fmt: skip
    count = forms.IntegerField(label="回数", required=False, min_value=1, max_value=60, initial=6, error_messages={
        "invalid": "回数は半角数字で入力してください", "min_value": "回数は1回以上にしてください",
        "max_value": "回数は60回までです"})  # fmt: skip
    first_on = forms.DateField(label="第1回の納付予定日", required=False, widget=DATE, error_messages=_DATE_ERR,
                               help_text="2回目からは毎月同じ日（月末を超える日は月末）")  # fmt: skip
    manual = forms.CharField(
        label="個別入力の予定",
        required=False,
        max_length=3000,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text="1行に1回、「2025-01-31,30000」のように日付と金額（円）をカンマで区切って入力",
    )
    include_late_charge = forms.BooleanField(
        label="延滞金（最終回の納付予定日までの見込額）を総額に含める", required=False
    )
    note = forms.CharField(label="分納の理由・申出の内容", max_length=300,
                           error_messages={"required": "分納にする理由（申出の内容など）を入力してください"})  # fmt: skip

    def __init__(self, *args: Any, installments: list[tuple[int, str]] = (), **kwargs: Any) -> None:  # type: ignore[assignment]
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["installments"]).choices = list(installments)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        method = data.get("method")
        if method == PlanMethod.EQUAL:
            if not data.get("count"):
                self.add_error("count", "均等払いの回数を入力してください")
            if not data.get("first_on"):
                self.add_error("first_on", "第1回の納付予定日を入力してください")
        elif method == PlanMethod.MANUAL:
            rows: list[tuple[date, int]] = []
            for n, line in enumerate((data.get("manual") or "").splitlines(), start=1):
                if not line.strip():
                    continue
                parts = [p.strip() for p in line.replace("，", ",").split(",")]
                try:
                    if len(parts) != 2:
                        raise ValueError
                    on = date.fromisoformat(parts[0])
                    amount = int(parts[1].replace("円", "").replace("_", ""))
                except ValueError:
                    self.add_error(
                        "manual", f"{n}行目「{line.strip()[:40]}」は「YYYY-MM-DD,金額」の形ではありません"
                    )
                    continue
                if not date_in_range(on):
                    self.add_error("manual", f"{n}行目の日付 {on:%Y-%m-%d} は範囲外です")
                    continue
                rows.append((on, amount))
            if not rows and not self.errors.get("manual"):
                self.add_error("manual", "個別入力の予定を1行以上入力してください")
            data["schedule"] = rows
        return data


class PledgeForm(Form):
    pledged_on = forms.DateField(label="誓約日（署名を受けた日）", widget=DATE, error_messages={
        "required": "誓約日を入力してください", **_DATE_ERR})  # fmt: skip


class PlanCancelForm(Form):
    reason = forms.CharField(label="取消の理由", max_length=300,
                             error_messages={"required": "取消の理由を入力してください"})  # fmt: skip
