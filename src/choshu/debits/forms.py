"""Forms of the 口座振替 screens."""

from __future__ import annotations

from django import forms

from choshu.core.forms import Form
from choshu.debits.models import DepositType

_DATE = {"input_formats": ["%Y-%m-%d", "%Y/%m/%d"]}


def _date_field(label: str, *, required: bool = True) -> forms.DateField:
    return forms.DateField(
        label=label,
        required=required,
        error_messages={
            "required": f"{label}を入力してください。",
            "invalid": f"{label}は 年-月-日（例 2024-07-15）の形で入力してください。",
        },
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        **_DATE,  # type: ignore[arg-type]
    )


class MandateForm(Form):
    """口座振替依頼書の入力. ゆうちょ銀行は記号・番号で入力できる（支店・種目・口座番号に変換）."""

    tax_item = forms.ChoiceField(label="税目", required=False)
    bank_code = forms.CharField(label="金融機関コード（4桁）", max_length=4)
    branch_code = forms.CharField(label="支店コード（3桁）", max_length=3, required=False)
    deposit_type = forms.ChoiceField(
        label="預金種目", choices=[("", "－")] + DepositType.choices, required=False
    )
    account = forms.CharField(label="口座番号（7桁以内）", max_length=7, required=False)
    jp_kigo = forms.CharField(label="ゆうちょ銀行の記号（5桁）", max_length=5, required=False)
    jp_bango = forms.CharField(label="ゆうちょ銀行の番号（8桁以内）", max_length=8, required=False)
    holder_name = forms.CharField(
        label="口座名義（カナ）",
        max_length=60,
        help_text="全角・半角のカナで入力（長音・小さい文字は自動で変換）",
    )
    start = _date_field("振替開始日")
    end = _date_field("振替終了日", required=False)
    received_on = _date_field("依頼書の受付日")
    reason = forms.CharField(label="申請理由", max_length=300)

    def __init__(self, *args: object, tax_items: list[tuple[str, str]], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["tax_item"].choices = [("", "全税目")] + tax_items  # type: ignore[attr-defined]


class NoteForm(Form):
    note = forms.CharField(label="理由・確認した内容", max_length=300)


class EndForm(Form):
    end = _date_field("振替終了日")
    note = forms.CharField(label="終了の理由", max_length=300)
