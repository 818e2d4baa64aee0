"""Forms of the 決裁 screens: deciding a request, and asking for a correction of 宛名 or a My Number link."""

from __future__ import annotations

import unicodedata
from typing import Any

from django import forms

from choshu.taxpayers.changes import EDITABLE
from choshu.taxpayers.models import Taxpayer

POSTAL_FIELDS = ("postal_code", "mailing_postal_code")


def _reason(label: str, help_text: str = "") -> forms.CharField:
    return forms.CharField(
        label=label,
        max_length=300,
        help_text=help_text,
        error_messages={"required": f"{label}を入力してください。"},
        widget=forms.Textarea(attrs={"rows": 2, "autocomplete": "off"}),
    )


class ApproveForm(forms.Form):
    """承認: a comment is optional."""

    comment = forms.CharField(
        label="コメント（任意）",
        max_length=300,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "autocomplete": "off"}),
    )


class RejectForm(forms.Form):
    """否認: the reason is required, the requester reads it."""

    comment = _reason("否認の理由", "申請者に表示されます。")


class TaxpayerEditForm(forms.Form):
    """宛名情報の訂正: the current values of the correctable attributes, and the reason for the change."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in EDITABLE:
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
            self.fields[name].help_text = "半角数字7桁（ハイフンは入れても構いません）"
            self.fields[name].widget.attrs["inputmode"] = "numeric"
        self.fields["phone"].widget.attrs["inputmode"] = "tel"
        self.fields["reason"] = _reason(
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
        return {name: self.cleaned_data[name] for name in EDITABLE}


class MyNumberLinkForm(forms.Form):
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
    reason = _reason("登録・訂正の理由", "例: 申告書の記載により確認。決裁者と履歴に表示されます。")

    def clean_number(self) -> str:
        """Full-width digits typed with a Japanese input method are accepted as well."""
        return unicodedata.normalize("NFKC", self.cleaned_data["number"])
