"""Forms of the refund screens (labels and messages in Japanese)."""

from __future__ import annotations

from django import forms

from choshu.core.forms import Form
from choshu.refunds.models import AccountSource, Cause, Origin, OverpaymentStatus


class OverpaymentFilterForm(Form):
    status = forms.ChoiceField(
        label="状態", required=False, choices=[("", "すべて"), *OverpaymentStatus.choices]
    )
    origin = forms.ChoiceField(label="発生原因", required=False, choices=[("", "すべて"), *Origin.choices])
    taxpayer_no = forms.CharField(label="宛名番号", required=False, max_length=20)
    arose_from = forms.DateField(label="発生日（から）", required=False)
    arose_to = forms.DateField(label="発生日（まで）", required=False)

    def clean(self) -> dict[str, object]:
        data = super().clean() or {}
        a, b = data.get("arose_from"), data.get("arose_to")
        if a and b and a > b:
            self.add_error("arose_to", "「まで」の日付が「から」より前です")
        return data


class RefundDecisionForm(Form):
    decided_on = forms.DateField(label="支出決定日", help_text="還付加算金はこの日まで計算します")
    reason = forms.CharField(label="決議の理由", max_length=300, widget=forms.Textarea(attrs={"rows": 2}))


class RefundAccountForm(Form):
    taxpayer_no = forms.CharField(label="宛名番号", max_length=20)
    source = forms.ChoiceField(label="口座の種類", choices=AccountSource.choices)
    bank_code = forms.CharField(label="金融機関コード", max_length=10)
    branch_code = forms.CharField(label="支店コード", max_length=10)
    deposit_type = forms.ChoiceField(
        label="預金種目", choices=[("1", "1 普通"), ("2", "2 当座"), ("3", "3 納税準備")]
    )
    account_no = forms.CharField(label="口座番号", max_length=20)
    holder_kana = forms.CharField(label="口座名義（カナ）", max_length=60)
    received_on = forms.DateField(
        label="受付日",
        required=False,
        help_text="過誤納金還付請求書が届いた日（空欄なら本日）。還付加算金の除算期間の終わりになります",
    )
    reason = forms.CharField(label="申請理由", max_length=300, help_text="例: 過誤納金還付請求書の返送")


class CauseForm(Form):
    cause = forms.TypedChoiceField(label="還付加算金の起算区分", choices=Cause.choices, coerce=int)
    event_on = forms.DateField(label="更正の日（第2号）・所得税の更正等の日（第3号）", required=False)
    claimed_on = forms.DateField(label="更正の請求の日（第2号）", required=False)
    reason = forms.CharField(label="訂正の理由", max_length=300)
