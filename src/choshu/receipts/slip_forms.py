"""The form of 納付書の発行・再発行: which 期別, the 延滞金's 計算基準日, the 使用期限, a reason."""

from __future__ import annotations

from django import forms

from choshu.core.forms import Form


def _date(label: str, help_text: str) -> forms.DateField:
    return forms.DateField(
        label=label,
        help_text=help_text,
        input_formats=["%Y-%m-%d"],
        error_messages={
            "required": f"{label}を入力してください。",
            "invalid": "日付は YYYY-MM-DD の形で入力してください。",
        },
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )


class SlipIssueForm(Form):
    installments = forms.TypedMultipleChoiceField(
        label="期別",
        coerce=int,
        widget=forms.CheckboxSelectMultiple,
        error_messages={
            "required": "納付書にする期別を1件以上選んでください。",
            "invalid_choice": "選んだ期別が見つかりません。画面を開き直してください。",
        },
    )
    late_charge_as_of = _date("延滞金の計算基準日", "この日に納付された場合の延滞金を印字します。")
    pay_by = _date("使用期限", "コンビニ・金融機関で使える最後の日（計算基準日以前）。")
    reason = forms.CharField(
        label="再発行の理由",
        max_length=300,
        required=False,
        help_text="発行済みの期別を含むときは必須です（例: 紛失、金額の変更）。",
        widget=forms.Textarea(attrs={"rows": 2, "autocomplete": "off"}),
    )

    def __init__(self, *args: object, choices: list[tuple[int, str]], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["installments"].choices = choices  # type: ignore[attr-defined]
