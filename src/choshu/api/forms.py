from __future__ import annotations

from django import forms

from choshu.api.clients import SCOPES
from choshu.core.forms import Form


class ClientRegisterForm(Form):
    name = forms.CharField(label="システム名", max_length=100, help_text="例: 宛名管理システム、庁内連携基盤")
    scopes = forms.MultipleChoiceField(
        label="許可する操作（スコープ）",
        choices=[(k, f"{v}（{k}）") for k, v in SCOPES.items()],
        widget=forms.CheckboxSelectMultiple,
    )
    reason = forms.CharField(label="登録の理由", max_length=200)


class ClientRevokeForm(Form):
    client_id = forms.CharField(label="クライアントID", max_length=64)
    reason = forms.CharField(label="失効の理由", max_length=200)
