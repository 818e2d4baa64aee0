"""Forms of the staff screens: sign-in and 宛名検索."""

from __future__ import annotations

from django import forms
from django.contrib.auth.forms import AuthenticationForm

from choshu.taxpayers.normalize import phone_key
from choshu.taxpayers.selectors import SearchQuery


class LoginForm(AuthenticationForm):
    """ログイン: user name and password, with messages a clerk can act on."""

    error_messages = {
        "invalid_login": (
            "ユーザー名またはパスワードが正しくありません。入力内容を確認して、もう一度お試しください。"
        ),
        "inactive": "このアカウントは利用停止中です。システム管理者に連絡してください。",
    }

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["username"].label = "ユーザー名"
        self.fields["password"].label = "パスワード"


class OtpForm(forms.Form):
    """二要素認証: the 6-digit code from the authenticator app (the IC-card equivalent)."""

    token = forms.RegexField(
        label="確認コード",
        regex=r"^\s*[0-9]{6}\s*$",
        max_length=12,
        error_messages={
            "invalid": "確認コードは認証アプリに表示される6桁の数字です。",
            "required": "確認コードを入力してください。",
        },
    )


def _field(label: str, max_length: int, help_text: str, *, inputmode: str = "text") -> forms.CharField:
    return forms.CharField(
        label=label,
        max_length=max_length,
        required=False,
        help_text=help_text,
        widget=forms.TextInput(attrs={"inputmode": inputmode, "autocomplete": "off"}),
    )


class SearchForm(forms.Form):
    """宛名検索: fill one or more fields; every filled field must match."""

    taxpayer_no = _field("宛名番号", 15, "完全一致", inputmode="numeric")
    kana = _field("カナ氏名", 100, "前方一致（ひらがな・半角カナも可）")
    name = _field("氏名・名称", 100, "前方一致")
    address = _field("住所", 200, "前方一致（市内は町名から入力可）")
    phone = _field("電話番号", 30, "完全一致（ハイフン可）", inputmode="tel")
    notice_no = _field("通知書番号", 12, "完全一致", inputmode="numeric")

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["taxpayer_no"].widget.attrs["autofocus"] = True

    def clean_phone(self) -> str:
        phone: str = self.cleaned_data["phone"]
        if phone and not phone_key(phone):
            raise forms.ValidationError("電話番号は数字で入力してください（ハイフンは入れても構いません）。")
        return phone

    def to_query(self) -> SearchQuery:
        """The search condition; call only after ``is_valid()``."""
        return SearchQuery(**{name: self.cleaned_data.get(name, "") for name in self.fields})
