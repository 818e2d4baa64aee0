"""Forms of the 決裁 screens: deciding a request."""

from __future__ import annotations

from django import forms

from choshu.core.forms import Form


def reason_field(label: str, help_text: str = "") -> forms.CharField:
    return forms.CharField(
        label=label,
        max_length=300,
        help_text=help_text,
        error_messages={"required": f"{label}を入力してください。"},
        widget=forms.Textarea(attrs={"rows": 2, "autocomplete": "off"}),
    )


class ApproveForm(Form):
    """承認: a comment is optional."""

    comment = forms.CharField(
        label="コメント（任意）",
        max_length=300,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "autocomplete": "off"}),
    )


class RejectForm(Form):
    """否認: the reason is required, the requester reads it."""

    comment = reason_field("否認の理由", "申請者に表示されます。")
