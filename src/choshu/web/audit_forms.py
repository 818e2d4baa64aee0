"""Search conditions of the auditor's screen (アクセスログ照会)."""

from __future__ import annotations

import unicodedata
from datetime import date
from typing import Any

from django import forms
from django.db.models import Q

from choshu.audit.models import AuditKind
from choshu.core.forms import Form

EXPORT_FUNCTION = "アクセスログ出力"

# 機能で絞り込む: what an auditor asks for (「個人番号を表示した記録をすべて」), mapped to the kinds and
# function names the services record. Codes are stable (they appear in URLs and in the logged conditions).
AUDIT_FUNCTIONS: dict[str, tuple[str, Q]] = {
    "my_number_reveal": ("個人番号の表示", Q(function="個人番号表示")),
    "export": ("出力（帳票・ファイル・開示・バックアップ）", Q(kind=AuditKind.EXPORT)),
    "login": ("ログイン", Q(kind=AuditKind.LOGIN)),
    "login_failed": ("ログイン失敗（二要素認証の失敗を含む）", Q(kind=AuditKind.LOGIN_FAILED)),
    "logout": ("ログアウト", Q(kind=AuditKind.LOGOUT)),
    "search": ("宛名検索", Q(function="宛名検索")),
    "overview": ("個人別収納状況照会", Q(function="個人別収納状況照会")),
    "change": ("更新（すべて）", Q(kind=AuditKind.CHANGE)),
    "approval": (
        "決裁（申請・承認・否認・取下げ）",
        Q(kind=AuditKind.CHANGE, function__startswith="決裁"),
    ),
    "counter": ("窓口収納", Q(function__startswith="窓口収納")),
    "reversal": ("収納取消", Q(function__startswith="収納取消")),
    "batch": ("取込・バッチ処理", Q(kind=AuditKind.BATCH)),
    "staff": (
        "職員の登録・利用停止・権限変更",
        Q(function__in=["利用者登録", "利用停止", "権限変更"]),
    ),
    "audit": (
        "アクセスログの照会・出力・改ざん検証",
        Q(function__in=["アクセスログ照会", EXPORT_FUNCTION, "アクセスログ改ざん検証"]),
    ),
}


class AuditSearchForm(Form):
    """アクセスログ照会: by person (宛名番号), by user name, by function, by kind and by period; all
    optional (AND)."""

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
    function = forms.ChoiceField(
        label="機能",
        required=False,
        choices=[("", "すべて"), *((code, label) for code, (label, _) in AUDIT_FUNCTIONS.items())],
        error_messages={"invalid_choice": "機能は一覧から選択してください。"},
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
