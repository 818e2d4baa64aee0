"""Forms of the staff screens: sign-in, 宛名検索 and the purpose of a My Number reveal."""

from __future__ import annotations

import unicodedata
from typing import Any

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.core.validators import MaxLengthValidator
from django.db import models

from choshu.accounts.models import User
from choshu.approvals.forms import reason_field
from choshu.core.forms import Form, RefuseControlCharacters
from choshu.formats.dates import DateInputError, parse_date
from choshu.rules.check_digits import is_valid_corporate_number
from choshu.taxpayers.changes import EDITABLE
from choshu.taxpayers.models import Taxpayer
from choshu.taxpayers.normalize import phone_key
from choshu.taxpayers.selectors import SearchQuery


class LoginForm(RefuseControlCharacters, AuthenticationForm):
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
        # Django's form sets the length on the field only after building it, so it checks nothing: a
        # longer name reached the lockout's record (255 characters on PostgreSQL) and answered 500.
        limit = User._meta.get_field("username").max_length or 150
        self.fields["username"].validators.append(
            MaxLengthValidator(limit, message=f"ユーザー名は{limit}文字以内で入力してください。")
        )


class OtpForm(Form):
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


class SearchForm(Form):
    """宛名検索: fill one or more fields; every filled field must match."""

    taxpayer_no = _field("宛名番号", 15, "完全一致（先頭の0は省略可）", inputmode="numeric")
    kana = _field("カナ氏名", 100, "前方一致（ひらがな・半角カナも可）")
    name = _field("氏名・名称", 100, "前方一致")
    address = _field("住所", 200, "前方一致（市内は町名から入力可）")
    phone = _field("電話番号", 30, "完全一致（ハイフン可）", inputmode="tel")
    notice_no = _field("通知書番号", 12, "完全一致", inputmode="numeric")
    birth_date = _field("生年月日・設立日", 20, "例: S55.4.1、昭和55年4月1日、1980/4/1、19800401")
    corporate_number = _field("法人番号", 20, "13桁・完全一致", inputmode="numeric")

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["taxpayer_no"].widget.attrs["autofocus"] = True

    def clean_phone(self) -> str:
        phone: str = self.cleaned_data["phone"]
        if phone and not phone_key(phone):
            raise forms.ValidationError("電話番号は数字で入力してください（ハイフンは入れても構いません）。")
        return phone

    def clean_birth_date(self) -> str:
        """西暦 or 和暦 as typed → ISO (``formats.dates.parse_date``; its message when unreadable)."""
        typed: str = self.cleaned_data["birth_date"]
        if not typed.strip():
            return ""
        try:
            return parse_date(typed).isoformat()
        except DateInputError as exc:
            raise forms.ValidationError(str(exc)) from None

    def clean_corporate_number(self) -> str:
        typed = unicodedata.normalize("NFKC", self.cleaned_data["corporate_number"])
        digits = typed.replace("-", "").replace(" ", "").strip()
        if not digits:
            return ""
        if len(digits) != 13 or not digits.isdigit():
            raise forms.ValidationError("法人番号は13桁の数字で入力してください。")
        if not is_valid_corporate_number(digits):
            raise forms.ValidationError("法人番号が正しくありません（先頭のチェックデジットが合いません）。")
        return digits

    def to_query(self) -> SearchQuery:
        """The search condition; call only after ``is_valid()``."""
        return SearchQuery(**{name: self.cleaned_data.get(name, "") for name in self.fields})


class RevealPurpose(models.TextChoices):
    """番号利用事務の目的 — why a clerk needs to see one person's My Number (recorded in the access log)."""

    ASSET_INVESTIGATION = "asset_investigation", "滞納処分のための財産調査"
    NETWORK_INQUIRY = "network_inquiry", "情報提供ネットワークシステムによる照会"
    IDENTITY_CHECK = "identity_check", "本人確認"
    OTHER = "other", "その他（理由を入力）"


class MyNumberRevealForm(Form):
    """個人番号の表示: the purpose is required; 「その他」 requires the reason in words."""

    purpose = forms.ChoiceField(
        label="利用目的",
        choices=[("", "選択してください"), *RevealPurpose.choices],
        error_messages={
            "required": "個人番号を表示する目的を選択してください。",
            "invalid_choice": "表示する目的を一覧から選択してください。",
        },
    )
    reason = forms.CharField(
        label="その他（理由）",
        max_length=200,
        required=False,
        help_text="「その他」を選んだときは、具体的な事務の内容を入力してください。",
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )

    def clean(self) -> dict[str, Any]:
        cleaned: dict[str, Any] = super().clean() or {}
        cleaned["reason"] = (cleaned.get("reason") or "").strip()
        if cleaned.get("purpose") == RevealPurpose.OTHER and not cleaned["reason"]:
            self.add_error("reason", "「その他」を選んだときは、表示する理由を入力してください。")
        return cleaned

    def audit_detail(self) -> dict[str, str]:
        """What the access log records as the purpose (call only after ``is_valid()``)."""
        purpose = RevealPurpose(self.cleaned_data["purpose"])
        detail = {"purpose": purpose.value, "purpose_label": str(purpose.label)}
        if self.cleaned_data["reason"]:
            detail["reason"] = self.cleaned_data["reason"]
        return detail


# 申請（宛名訂正・個人番号の登録）: nothing changes until a second person approves.

POSTAL_FIELDS = ("postal_code", "mailing_postal_code")


class TaxpayerEditForm(Form):
    """宛名情報の訂正: the current values of the correctable attributes, and the reason for the change.
    ``without`` leaves attributes out (a 支援措置 person's address, for a user who may not see it)."""

    def __init__(self, *args: Any, without: tuple[str, ...] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.editable = tuple(name for name in EDITABLE if name not in without)
        for name in self.editable:
            model_field = Taxpayer._meta.get_field(name)
            label = str(getattr(model_field, "verbose_name", name))
            self.fields[name] = forms.CharField(
                label=label,
                max_length=getattr(model_field, "max_length", None),
                required=name == "name",
                error_messages={"required": f"{label}を入力してください。"},
                widget=forms.TextInput(attrs={"autocomplete": "off"}),
            )
        for name in POSTAL_FIELDS:
            if name not in self.fields:
                continue
            self.fields[name].help_text = "半角数字7桁（ハイフンは入れても構いません）"
            self.fields[name].widget.attrs["inputmode"] = "numeric"
        self.fields["phone"].widget.attrs["inputmode"] = "tel"
        self.fields["reason"] = reason_field(
            "訂正の理由", "例: 転居届（令和7年4月1日受付）。決裁者と履歴に表示されます。"
        )

    def _clean_postal(self, name: str) -> str:
        value = unicodedata.normalize("NFKC", self.cleaned_data.get(name) or "").replace("-", "").strip()
        if value and not (len(value) == 7 and value.isdigit()):
            raise forms.ValidationError("郵便番号は数字7桁で入力してください（例: 333-0801）。")
        return value

    def clean_postal_code(self) -> str:
        return self._clean_postal("postal_code")

    def clean_mailing_postal_code(self) -> str:
        return self._clean_postal("mailing_postal_code")

    def changes(self) -> dict[str, str]:
        """Every correctable attribute as entered (the service keeps only those that differ)."""
        return {name: self.cleaned_data[name] for name in self.editable}


class MyNumberLinkForm(Form):
    """個人番号の登録・訂正. The number is never sent back to the browser, not even after an error."""

    number = forms.CharField(
        label="個人番号（12桁）",
        max_length=20,
        strip=True,
        help_text="通知カード・個人番号カード等で確認した番号を入力してください。ハイフン・空白は入れても構いません。",
        error_messages={"required": "個人番号を入力してください。"},
        widget=forms.PasswordInput(
            render_value=False,
            attrs={"autocomplete": "off", "inputmode": "numeric", "spellcheck": "false"},
        ),
    )
    reason = reason_field("登録・訂正の理由", "例: 申告書の記載により確認。決裁者と履歴に表示されます。")

    def clean_number(self) -> str:
        """Full-width digits typed with a Japanese input method are accepted as well."""
        return unicodedata.normalize("NFKC", self.cleaned_data["number"])
