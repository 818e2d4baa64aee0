"""Forms of the 滞納処分 screens (issue 19 §5)."""

from __future__ import annotations

from typing import Any

from django import forms

from choshu.core.forms import Form
from choshu.enforcement.models import AssetKind, ClaimKind, CostKind, InquiryKind, ProceedingKind, SaleMethod

_DATE = {"input_formats": ["%Y-%m-%d", "%Y/%m/%d"]}


def _date(label: str, *, required: bool = True) -> forms.DateField:
    return forms.DateField(
        label=label,
        required=required,
        error_messages={
            "required": f"{label}を入力してください。",
            "invalid": f"{label}は 年-月-日（例 2026-04-01）の形で入力してください。",
        },
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        **_DATE,  # type: ignore[arg-type]
    )


def _yen(label: str, *, required: bool = True, min_value: int = 0) -> forms.IntegerField:
    return forms.IntegerField(
        label=label, required=required, min_value=min_value, max_value=10**12,
        error_messages={"required": f"{label}を入力してください。", "invalid": f"{label}は円単位の整数で入力してください。",
                        "min_value": f"{label}は{min_value}円以上にしてください。",
                        "max_value": f"{label}が大きすぎます。"},
    )  # fmt: skip


def _text(label: str, *, required: bool = True, max_length: int = 300) -> forms.CharField:
    return forms.CharField(
        label=label, required=required, max_length=max_length,
        error_messages={"required": f"{label}を入力してください。",
                        "max_length": f"{label}は{max_length}文字以内で入力してください。"},
    )  # fmt: skip


class SeizureForm(Form):
    kind = forms.ChoiceField(
        label="財産の種類", choices=AssetKind.choices,
        error_messages={"required": "財産の種類を選んでください。", "invalid_choice": "財産の種類を一覧から選んでください。"},
    )  # fmt: skip
    installments = forms.MultipleChoiceField(
        label="対象の期別", choices=(), widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "対象の期別を1件以上選んでください。", "invalid_choice": "期別を一覧から選んでください。"},
    )  # fmt: skip
    description = _text("財産の表示（銀行・支店・口座番号、所在地、登録番号など）")
    third_party_name = _text("第三債務者（預貯金・給与・債権・保険）", required=False, max_length=120)
    third_party_address = _text("第三債務者の所在地", required=False, max_length=200)
    executed_on = _date("差押日")
    amount = _yen("差押金額・見積価額（給与は空欄で差押可能額）", required=False)
    pay = _yen("給与: 支給額", required=False)
    income_tax = _yen("給与: 源泉所得税", required=False)
    resident_tax = _yen("給与: 特別徴収の住民税", required=False)
    social_insurance = _yen("給与: 社会保険料", required=False)
    relatives = forms.IntegerField(
        label="給与: 生計を一にする親族の数", required=False, min_value=0, max_value=30,
        error_messages={"invalid": "親族の数は整数で入力してください。", "min_value": "親族の数は0以上です。",
                        "max_value": "親族の数が多すぎます。"},
    )  # fmt: skip
    note = _text("起案の理由・財産調査の結果")

    def __init__(self, *args: Any, installment_choices: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["installments"].choices = installment_choices  # type: ignore[attr-defined]

    def salary(self) -> dict[str, int] | None:
        d = self.cleaned_data
        if d.get("kind") != AssetKind.SALARY:
            return None
        keys = ("pay", "income_tax", "resident_tax", "social_insurance", "relatives")
        missing = [self.fields[k].label for k in keys if d.get(k) is None]
        if missing:
            self.add_error(
                None, f"給与の差押えには {'、'.join(str(m) for m in missing)} を入力してください。"
            )
            return None
        return {k: int(d[k]) for k in keys}


class ReleaseForm(Form):
    released_on = _date("解除日")
    reason = _text("解除の理由")


class ServedForm(Form):
    served_on = _date("送達日")


class CollectionForm(Form):
    amount = _yen("取立額・換価代金", min_value=1)
    received_on = _date("受領日")
    note = _text("内容（取立先・換価の別など）")


class InquiryBatchForm(Form):
    kind = forms.ChoiceField(
        label="照会の種類", choices=InquiryKind.choices,
        error_messages={"required": "照会の種類を選んでください。", "invalid_choice": "照会の種類を一覧から選んでください。"},
    )  # fmt: skip
    as_of = _date("照会日")
    answer_days = forms.IntegerField(
        label="回答期限（照会日からの日数。過ぎると期限超過）", initial=30, min_value=1, max_value=365,
        error_messages={"required": "回答期限の日数を入力してください。", "invalid": "回答期限の日数は整数で入力してください。",
                        "min_value": "回答期限の日数は1日以上にしてください。",
                        "max_value": "回答期限の日数は365日以内にしてください。"},
    )  # fmt: skip
    recipients = forms.CharField(
        label="照会先（1行に1件「コード:名称」。電子照会の金融機関は「コード:名称:e」。給与は空欄＝勤務先）",
        required=False, max_length=4000, widget=forms.Textarea(attrs={"rows": 4}),
        error_messages={"max_length": "照会先が多すぎます（4000文字以内）。"},
    )  # fmt: skip
    cases = forms.MultipleChoiceField(
        label="対象の滞納案件", choices=(), widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "対象の滞納案件を1件以上選んでください。",
                        "invalid_choice": "滞納案件を一覧から選んでください。"},
    )  # fmt: skip

    def __init__(self, *args: Any, case_choices: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["cases"].choices = case_choices  # type: ignore[attr-defined]


class InquiryAnswerForm(Form):
    answered_on = _date("回答日")
    note = _text("回答の内容（該当なし・残高あり・在職 など）")

    def __init__(self, *args: Any, rows: int = 3, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.rows = rows
        for n in range(rows):
            self.fields[f"asset_kind_{n}"] = forms.ChoiceField(
                label=f"財産{n + 1}: 種類", required=False, choices=[("", "（なし）"), *AssetKind.choices],
                error_messages={"invalid_choice": "財産の種類を一覧から選んでください。"},
            )  # fmt: skip
            self.fields[f"asset_description_{n}"] = _text(
                f"財産{n + 1}: 表示（口座・給与・証券番号・不動産の所在など）", required=False
            )
            self.fields[f"asset_amount_{n}"] = _yen(
                f"財産{n + 1}: 金額（残高・支給額・返戻金・評価額）", required=False
            )

    def assets(self) -> list[dict[str, Any]]:
        """The asset rows filled in (a kind without a description, or the reverse, is an error)."""
        d, out = self.cleaned_data, []
        for n in range(self.rows):
            kind, desc, amount = (
                d.get(f"asset_kind_{n}"),
                d.get(f"asset_description_{n}"),
                d.get(f"asset_amount_{n}"),
            )
            if not kind and not desc and amount is None:
                continue
            if not kind or not desc:
                self.add_error(None, f"財産{n + 1}は種類と表示の両方を入力してください。")
                continue
            out.append({"kind": kind, "description": desc, "amount": amount})
        return out

    def fieldsets(self) -> list[list[Any]]:
        return [
            [self[f"asset_kind_{n}"], self[f"asset_description_{n}"], self[f"asset_amount_{n}"]]
            for n in range(self.rows)
        ]


class CostForm(Form):
    kind = forms.ChoiceField(
        label="費目", choices=CostKind.choices,
        error_messages={"required": "費目を選んでください。", "invalid_choice": "費目を一覧から選んでください。"},
    )  # fmt: skip
    amount = _yen("金額", min_value=1)
    incurred_on = _date("支出日")
    note = _text("内容（郵送先・登記所など）")


class ClaimForm(Form):
    kind = forms.ChoiceField(
        label="種類", choices=ClaimKind.choices,
        error_messages={"required": "種類を選んでください。", "invalid_choice": "種類を一覧から選んでください。"},
    )  # fmt: skip
    proceeding = forms.ChoiceField(
        label="相手の手続", choices=ProceedingKind.choices,
        error_messages={"required": "相手の手続を選んでください。", "invalid_choice": "相手の手続を一覧から選んでください。"},
    )  # fmt: skip
    authority = _text("執行機関（税務署・裁判所・破産管財人など）", max_length=200)
    case_no = _text("事件番号", required=False, max_length=100)
    property_description = _text("対象財産（参加差押は必須）", required=False)
    installments = forms.MultipleChoiceField(
        label="対象の期別", choices=(), widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "対象の期別を1件以上選んでください。", "invalid_choice": "期別を一覧から選んでください。"},
    )  # fmt: skip
    claimed_on = _date("交付要求日・参加差押日")
    amount = _yen("交付要求額", min_value=1)
    note = _text("起案の理由")

    def __init__(self, *args: Any, installment_choices: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["installments"].choices = installment_choices  # type: ignore[attr-defined]


class ClaimReceiptForm(Form):
    amount = _yen("受領額（配当金・交付金）", min_value=1)
    received_on = _date("受領日")
    note = _text("内容（配当・交付の別など）")


class SaleForm(Form):
    method = forms.ChoiceField(
        label="換価の方法", choices=SaleMethod.choices,
        error_messages={"required": "換価の方法を選んでください。", "invalid_choice": "換価の方法を一覧から選んでください。"},
    )  # fmt: skip
    sold_on = _date("換価日（売却決定日）")
    buyer = _text("買受人", max_length=200)
    proceeds = _yen("換価代金", min_value=1)
    distributed_on = _date("配当日")
    our_rank = forms.IntegerField(
        label="当方の配当順位", min_value=1, max_value=99,
        error_messages={"required": "当方の配当順位を入力してください。", "invalid": "配当順位は整数で入力してください。",
                        "min_value": "配当順位は1以上にしてください。", "max_value": "配当順位が大きすぎます。"},
    )  # fmt: skip
    claim = _yen("当方の債権額（空欄なら未納の本税・督促手数料・滞納処分費）", required=False, min_value=1)
    others = forms.CharField(
        label="他の債権者（1行に1件「順位:名称:債権の種類:債権額」）", required=False, max_length=4000,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"max_length": "他の債権者が多すぎます（4000文字以内）。"},
    )  # fmt: skip
    note = _text("備考（公売の公告・見積価額など）")
