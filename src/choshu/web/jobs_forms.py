"""Forms of the import screens: the upload and the job history's filter."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from choshu.core.forms import Form
from choshu.core.models import Job
from choshu.operations.import_jobs import UPLOAD_KINDS, upload_check

HISTORY_KINDS = [(k.value, k.label) for k in Job.Kind if k.value.startswith("import-")]


class ImportUploadForm(Form):
    """ファイル取込: which file, and (for levies) the business day it is booked on."""

    kind = forms.ChoiceField(
        label="取込の種類",
        choices=[("", "選んでください"), *[(k.value, k.label) for k in UPLOAD_KINDS.values()]],
        error_messages={
            "required": "取込の種類を選んでください",
            "invalid_choice": "取込の種類を選び直してください",
        },
    )
    file = forms.FileField(
        label="ファイル",
        help_text="CSV・固定長のテキストファイル。コマンドの choshu import-… と同じ形式です。",
        error_messages={
            "required": "取り込むファイルを選んでください",
            "empty": "ファイルが空です。取り込むファイルを選び直してください。",
            "invalid": "ファイルを受け取れませんでした。もう一度選んでください。",
        },
        allow_empty_file=True,  # ``upload_check`` says it in the same words as every other refusal
    )
    booking_date = forms.DateField(
        label="記帳日（調定取込のみ）",
        required=False,
        help_text="調定・更正を記帳する日。省略すると今日です。",
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"invalid": "記帳日は年-月-日で入力してください"},
    )

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        try:
            upload_check(upload)
        except ValidationError as exc:
            raise forms.ValidationError(exc.messages) from exc
        return upload


class JobFilterForm(Form):
    kind = forms.ChoiceField(label="処理", required=False, choices=[("", "すべて"), *HISTORY_KINDS])
    status = forms.ChoiceField(label="状態", required=False, choices=[("", "すべて"), *Job.Status.choices])
