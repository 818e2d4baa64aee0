"""Forms of the 催告書 screens: the list's criteria and dates, and a hand exclusion."""

from __future__ import annotations

from typing import Any

from django import forms

from choshu.core.forms import Form
from choshu.dunning.reminders import Criteria

_DATE = {"input_formats": ["%Y-%m-%d"], "widget": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")}


def _date(label: str) -> forms.DateField:
    return forms.DateField(
        label=label,
        error_messages={
            "required": f"{label}を入力してください。",
            "invalid": f"{label}は YYYY-MM-DD の形で入力してください。",
        },
        **_DATE,  # type: ignore[arg-type]
    )


def _yen(label: str) -> forms.IntegerField:
    return forms.IntegerField(
        label=label, required=False, min_value=0, max_value=10**12,
        error_messages={"invalid": f"{label}は整数（円）で入力してください。", "min_value": f"{label}は 0 以上にしてください。",
                        "max_value": f"{label}が大きすぎます。"},
    )  # fmt: skip


def _year(label: str) -> forms.IntegerField:
    return forms.IntegerField(
        label=label, required=False, min_value=1990, max_value=2100,
        error_messages={"invalid": f"{label}は西暦の年（例: 2024）で入力してください。",
                        "min_value": f"{label}は 1990 以降にしてください。", "max_value": f"{label}は 2100 以前にしてください。"},
    )  # fmt: skip


class ReminderListForm(Form):
    """催告対象リストの条件: name, dates, tax items, levy years, amount range, days overdue, 地区."""

    name = forms.CharField(
        label="リスト名", max_length=100, error_messages={"required": "リスト名を入力してください。"}
    )
    as_of = _date("延滞金の計算基準日")
    pay_by = _date("納付期限")
    tax_items = forms.MultipleChoiceField(
        label="税目", required=False, widget=forms.CheckboxSelectMultiple,
        help_text="選ばなければすべての税目",
        error_messages={"invalid_choice": "選べない税目です。"},
    )  # fmt: skip
    levy_year_from = _year("賦課年度（から）")
    levy_year_to = _year("賦課年度（まで）")
    amount_min = _yen("本税の合計（円以上）")
    amount_max = _yen("本税の合計（円以下）")
    days_overdue = forms.IntegerField(
        label="納期限からの経過日数（日以上）", min_value=0, max_value=36500, initial=30,
        error_messages={"required": "経過日数を入力してください（0 なら納期限の翌日から）。",
                        "invalid": "経過日数は整数で入力してください。", "min_value": "経過日数は 0 以上にしてください。",
                        "max_value": "経過日数が大きすぎます。"},
    )  # fmt: skip
    dunned_only = forms.BooleanField(label="督促状を発付済みの期別に限る", required=False, initial=True)
    postal_prefix = forms.RegexField(
        label="地区（郵便番号の先頭）", regex=r"^[0-9]{0,7}$", required=False, max_length=7,
        error_messages={"invalid": "郵便番号の先頭を数字 7 桁以内で入力してください（例: 332）。"},
    )  # fmt: skip

    def __init__(self, *args: Any, tax_items: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["tax_items"].choices = tax_items  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        low, high = data.get("levy_year_from"), data.get("levy_year_to")
        if low is not None and high is not None and low > high:
            self.add_error("levy_year_to", "賦課年度の範囲が逆です（から ≦ まで にしてください）。")
        low, high = data.get("amount_min"), data.get("amount_max")
        if low is not None and high is not None and low > high:
            self.add_error("amount_max", "金額の範囲が逆です（以上 ≦ 以下 にしてください）。")
        return data

    def criteria(self) -> Criteria:
        d = self.cleaned_data
        return Criteria(
            tax_items=tuple(sorted(d["tax_items"])), levy_year_from=d["levy_year_from"],
            levy_year_to=d["levy_year_to"], amount_min=d["amount_min"], amount_max=d["amount_max"],
            days_overdue=d["days_overdue"], dunned_only=d["dunned_only"], postal_prefix=d["postal_prefix"] or "",
        )  # fmt: skip


class ExclusionForm(Form):
    taxpayer = forms.IntegerField(min_value=1, widget=forms.HiddenInput, error_messages={"invalid": "宛名の指定が正しくありません。", "required": "宛名の指定がありません。", "min_value": "宛名の指定が正しくありません。"})  # fmt: skip
    reason = forms.CharField(
        label="除外の理由", max_length=200, error_messages={"required": "除外の理由を入力してください。"}
    )
