"""Forms of the certificate screens (every form derives ``core.forms.Form``)."""

from __future__ import annotations

from typing import Any

from django import forms

from choshu.core.forms import Form
from choshu.reports.models import CertificateKind


class CertificateForm(Form):
    kind = forms.ChoiceField(
        label="証明書の種類", choices=CertificateKind.choices,
        error_messages={"required": "証明書の種類を選んでください。",
                        "invalid_choice": "証明書の種類を一覧から選んでください。"},
    )  # fmt: skip
    first_year = forms.IntegerField(
        label="年度（から）", min_value=2000, max_value=2100,
        error_messages={"required": "証明する年度を西暦で入力してください。",
                        "invalid": "年度は西暦の数字（例 2025）で入力してください。",
                        "min_value": "年度は2000年度以降で入力してください。",
                        "max_value": "年度は2100年度までで入力してください。"},
    )  # fmt: skip
    last_year = forms.IntegerField(
        label="年度（まで）", min_value=2000, max_value=2100, required=False,
        help_text="1年度だけなら空欄。継続検査用は最後の年度の証明です。",
        error_messages={"invalid": "年度は西暦の数字（例 2025）で入力してください。",
                        "min_value": "年度は2000年度以降で入力してください。",
                        "max_value": "年度は2100年度までで入力してください。"},
    )  # fmt: skip
    tax_items = forms.MultipleChoiceField(
        label="税目（納付状況の証明）", required=False, widget=forms.CheckboxSelectMultiple,
        help_text="選ばなければすべての税目",
        error_messages={"invalid_choice": "税目を一覧から選んでください。"},
    )  # fmt: skip
    vehicle_no = forms.CharField(label="車両番号（標識番号・継続検査用）", max_length=30, required=False)
    purpose = forms.CharField(label="使用目的", max_length=100, required=False)

    def __init__(self, *args: Any, items: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["tax_items"].choices = items  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        first, last = data.get("first_year"), data.get("last_year")
        if first is not None and last is not None and last < first:
            self.add_error("last_year", "年度（まで）は年度（から）以降にしてください。")
        return data


class VerifyForm(Form):
    number = forms.CharField(
        label="証明書番号", max_length=20,
        error_messages={"required": "証明書番号を入力してください（証明書の右上にあります）。"},
    )  # fmt: skip
    code = forms.CharField(
        label="照合番号", max_length=24,
        error_messages={"required": "照合番号を入力してください（証明書番号の下の16文字です）。"},
    )  # fmt: skip
