"""Forms of the call-centre screens (Japanese labels and messages; the services check again)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings

from choshu.callcenter.models import CallOutcome
from choshu.core.forms import Form

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
DATETIME = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
_DATE_ERR = {"invalid": "日付を YYYY-MM-DD で入力してください"}


class CallForm(Form):
    """架電結果の入力（オペレーター）."""

    called_at = forms.DateTimeField(
        label="架電日時", widget=DATETIME, input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
        error_messages={"required": "架電日時を入力してください", "invalid": "架電日時を YYYY-MM-DD HH:MM で入力してください"},
    )  # fmt: skip
    outcome = forms.ChoiceField(label="結果", choices=[("", "選んでください"), *CallOutcome.choices], error_messages={
        "required": "結果を選んでください", "invalid_choice": "結果を一覧から選んでください"})  # fmt: skip
    promise_amount = forms.IntegerField(
        label="約束金額（円）", required=False, min_value=1, max_value=10**12,
        error_messages={"invalid": "金額は半角数字（円）で入力してください", "min_value": "1 円以上で入力してください",
                        "max_value": "金額が大きすぎます"},
    )  # fmt: skip
    promise_on = forms.DateField(label="約束日", required=False, widget=DATE, error_messages=_DATE_ERR)
    notes = forms.CharField(label="備考", max_length=200, required=False,
                            error_messages={"max_length": "備考は 200 文字以内で入力してください"})  # fmt: skip


class CriteriaForm(Form):
    """抽出条件の設定（係長）."""

    valid_from = forms.DateField(label="適用開始日", widget=DATE,
                                 error_messages={"required": "適用開始日を入力してください", **_DATE_ERR})  # fmt: skip
    min_amount = forms.IntegerField(
        label="滞納額（本税）の下限（円）", min_value=1, max_value=10**12, initial=1,
        error_messages={"required": "下限額を入力してください", "invalid": "金額は半角数字（円）で入力してください",
                        "min_value": "1 円以上で入力してください", "max_value": "金額が大きすぎます"},
    )  # fmt: skip
    current_year_only = forms.BooleanField(label="現年度分の滞納のみ", required=False, initial=True)
    exclude_enforcement = forms.BooleanField(label="処分中の案件を除く", required=False, initial=True)
    exclude_relief = forms.BooleanField(
        label="緩和制度（猶予・停止）の適用中を除く", required=False, initial=True
    )
    exclude_promise_pending = forms.BooleanField(
        label="納付約束の期日前の人を除く", required=False, initial=True
    )
    include_birth_date = forms.BooleanField(
        label="生年月日を出力する（本人確認用）", required=False, initial=False
    )
    note = forms.CharField(label="根拠・備考", max_length=300, required=False)


class ImportForm(Form):
    """架電結果ファイルの取込（係長）."""

    file = forms.FileField(
        label="架電結果ファイル（CSV）",
        error_messages={"required": "取り込むファイルを選んでください", "empty": "ファイルが空です。選び直してください。",
                        "invalid": "ファイルを受け取れませんでした。もう一度選んでください。"},
    )  # fmt: skip

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        name = upload.name or ""
        if upload.size > settings.CHOSHU_UPLOAD_MAX_BYTES:
            raise forms.ValidationError(
                "ファイルが大きすぎます。コマンド choshu callcenter-import で取り込んでください。"
            )
        if not name.lower().endswith((".csv", ".txt")):
            raise forms.ValidationError(
                f"取り込めるのは CSV ファイル（.csv）です。「{name}」は取り込めません。"
            )
        return upload
