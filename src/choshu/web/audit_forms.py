"""Search conditions of the auditor's screen (アクセスログ照会)."""

from __future__ import annotations

import unicodedata
from datetime import date
from typing import Any

from django import forms

from choshu.audit.models import AuditKind
from choshu.core.forms import Form


class AuditSearchForm(Form):
    """アクセスログ照会: by person (宛名番号), by user name, by kind and by period; all optional (AND)."""

    taxpayer_no = forms.CharField(
        label="宛名番号",
        max_length=15,
        required=False,
        help_text="その人が対象になった記録（完全一致）",
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )
    username = forms.CharField(
        label="ユーザー名",
        max_length=150,
        required=False,
        help_text="操作した職員・ログインに失敗したユーザー名（完全一致）",
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "none"}),
    )
    kind = forms.ChoiceField(
        label="種別",
        required=False,
        choices=[("", "すべて"), *AuditKind.choices],
        error_messages={"invalid_choice": "種別は一覧から選択してください。"},
    )
    date_from = forms.DateField(
        label="期間（から）",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"invalid": "日付は 2025-04-01 の形で入力してください。"},
    )
    date_to = forms.DateField(
        label="期間（まで）",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"invalid": "日付は 2025-04-01 の形で入力してください。"},
    )

    def clean_taxpayer_no(self) -> str:
        return unicodedata.normalize("NFKC", self.cleaned_data["taxpayer_no"]).strip()

    def clean_username(self) -> str:
        return str(self.cleaned_data["username"]).strip()

    def clean(self) -> dict[str, Any]:
        cleaned: dict[str, Any] = super().clean() or {}
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", "期間の終わりは始まりと同じ日か、それより後の日にしてください。")
        return cleaned

    def conditions(self) -> dict[str, str]:
        """The filled conditions as text (what the access log records); call after ``is_valid()``."""
        result: dict[str, str] = {}
        for name in self.fields:
            value = self.cleaned_data.get(name)
            if isinstance(value, date):
                result[name] = value.isoformat()
            elif value:
                result[name] = str(value)
        return result
