"""Forms of the section chief's screens: rights, new accounts, deactivation, report periods."""

from __future__ import annotations

from datetime import date
from typing import Any

from django import forms
from django.utils import timezone

from choshu.accounts.models import RightChange, Role
from choshu.accounts.permissions import Right
from choshu.core.forms import Form

REASON_HELP = "権限変更の報告書に記載されます。"


def _reason_field(label: str = "理由") -> forms.CharField:
    return forms.CharField(
        label=label,
        max_length=200,
        help_text=REASON_HELP,
        error_messages={"required": f"{label}を入力してください。"},
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )


class RightChangeForm(Form):
    """One grant or revocation of one right, with the reason that goes into the report."""

    ACTIONS = ((RightChange.Action.GRANT, "付与"), (RightChange.Action.REVOKE, "取消"))

    right = forms.ChoiceField(
        choices=Right.choices,
        widget=forms.HiddenInput,
        error_messages={
            "required": "権限を指定してください。",
            "invalid_choice": "指定された権限は定義されていません。",
        },
    )
    action = forms.ChoiceField(
        choices=ACTIONS,
        widget=forms.HiddenInput,
        error_messages={
            "required": "付与か取消かを指定してください。",
            "invalid_choice": "付与か取消かを指定してください。",
        },
    )
    reason = _reason_field("変更理由")

    @property
    def granted(self) -> bool:
        return bool(self.cleaned_data["action"] == RightChange.Action.GRANT)


class DeactivateForm(Form):
    """利用停止: the reason goes into the rights-change report."""

    reason = _reason_field("利用停止の理由")


class UnlockForm(Form):
    """ログイン一時停止の解除: which user name, at which address (blank: every address), and why."""

    username = forms.CharField(label="利用者ID", max_length=150)
    address = forms.GenericIPAddressField(label="接続元", required=False)
    reason = _reason_field("解除の理由")


class UserCreateForm(Form):
    """利用者登録. The initial password is told to the person by the chief and changed at first use."""

    username = forms.RegexField(
        label="利用者ID",
        regex=r"^[A-Za-z0-9._-]{3,150}$",
        help_text="半角英数字と . _ - で3文字以上（例: kawaguchi.taro）",
        error_messages={
            "invalid": "利用者IDは半角英数字と . _ - で3文字以上にしてください。",
            "required": "利用者IDを入力してください。",
        },
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    display_name = forms.CharField(
        label="氏名",
        max_length=100,
        error_messages={"required": "氏名を入力してください。"},
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    role = forms.ChoiceField(
        label="職務",
        choices=Role.choices,
        help_text="職務ごとの標準の権限が付与されます。個別の付与・取消は登録後に行えます。",
    )
    team = forms.CharField(label="班", max_length=50, required=False)
    password = forms.CharField(
        label="初期パスワード",
        strip=False,
        help_text="12文字以上。推測されやすいもの・数字だけのものは使えません。",
        error_messages={"required": "初期パスワードを入力してください。"},
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    password_confirm = forms.CharField(
        label="初期パスワード（確認）",
        strip=False,
        error_messages={"required": "確認のため、もう一度入力してください。"},
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if (
            data.get("password")
            and data.get("password_confirm")
            and data["password"] != data["password_confirm"]
        ):
            self.add_error("password_confirm", "確認用のパスワードが一致しません。")
        return data


class ReportPeriodForm(Form):
    """The period of the rights-change report, from the query string ``?from=YYYY-MM-DD&to=YYYY-MM-DD``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # "from" is a Python keyword, so the fields are declared here rather than as class attributes.
        for name, label in (("from", "開始日"), ("to", "終了日")):
            self.fields[name] = forms.DateField(
                label=label,
                input_formats=["%Y-%m-%d"],
                error_messages={
                    "required": f"{label}を入力してください。",
                    "invalid": f"{label}は YYYY-MM-DD の形で入力してください（例: 2025-04-01）。",
                },
                widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("from") and data.get("to") and data["from"] > data["to"]:
            self.add_error("to", "終了日は開始日以降の日付にしてください。")
        return data

    @staticmethod
    def default_period() -> dict[str, str]:
        """This month so far: what a chief usually reviews."""
        today = timezone.localdate()
        return {"from": today.replace(day=1).isoformat(), "to": today.isoformat()}

    def period(self) -> tuple[date, date]:
        return self.cleaned_data["from"], self.cleaned_data["to"]


class MunicipalitySettingsForm(Form):
    """団体設定: the numbers the collection agent, eLTAX and Pay-easy assigned to the city."""

    conveni_company_code = forms.CharField(
        label="コンビニ収納 企業コード（6桁）", max_length=6, required=False
    )
    conveni_client_code = forms.CharField(
        label="コンビニ収納 委託者コード（5桁）", max_length=5, required=False
    )
    eltax_agency_no = forms.CharField(label="収納機関番号（5桁）", max_length=5, required=False)
    office_name = forms.CharField(
        label="担当課（督促状に印字。例: 川口市 納税課）", max_length=100, required=False
    )
    office_phone = forms.CharField(label="担当課の電話番号（督促状に印字）", max_length=30, required=False)
