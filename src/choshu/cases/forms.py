"""Forms of the case screens: Japanese labels and messages; the services check again."""

from __future__ import annotations

from typing import Any, cast

from django import forms

from choshu.cases.models import Channel, FlagKind, Stage
from choshu.core.forms import Form

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
