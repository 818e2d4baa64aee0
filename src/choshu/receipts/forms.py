"""Forms of the receipts screens: 日計表 date, 窓口収納, 収納取消, and the 未消込 work."""

from __future__ import annotations

import datetime
import unicodedata
from datetime import date
from typing import Any

from django import forms
from django.utils import timezone

from choshu.core.forms import Form
from choshu.receipts.models import SuspenseStatus

MAX_YEN = 10**12  # far above any single payment; stops a slip of the finger on the keypad


def _nfkc(value: str) -> str:
    return unicodedata.normalize("NFKC", value or "").strip()


def _reason(label: str, help_text: str = "") -> forms.CharField:
    return forms.CharField(
        label=label,
        max_length=300,
        help_text=help_text,
        error_messages={"required": f"{label}を入力してください。"},
        widget=forms.Textarea(attrs={"rows": 2, "autocomplete": "off"}),
    )


class YenField(forms.IntegerField):
    """Whole yen. Accepts what a clerk types: 「10,800」「１０８００」「10800円」."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_YEN)
        kwargs.setdefault(
            "error_messages",
            {
                "required": "金額を入力してください。",
                "invalid": "金額は円単位の整数で入力してください（例: 10800）。",
                "min_value": "金額は1円以上で入力してください。",
                "max_value": "金額が大きすぎます。入力を確認してください。",
            },
        )
        super().__init__(**kwargs)
        self.widget = forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"})

    def to_python(self, value: Any) -> int | None:
        if isinstance(value, str):
            value = _nfkc(value).replace(",", "").removesuffix("円").strip()
        return super().to_python(value)


def _slip_no_field(required: bool = True, label: str = "納付番号") -> forms.CharField:
    return forms.CharField(
        label=label,
        max_length=16,
        required=required,
        help_text="納付書に印字された16桁の番号",
        error_messages={"required": "納付番号を入力してください。"},
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )


def _clean_slip_no(value: str, *, exact: bool) -> str:
    slip_no = _nfkc(value).replace("-", "").replace(" ", "")
    if slip_no and not slip_no.isdigit():
        raise forms.ValidationError("納付番号は数字で入力してください。")
    if exact and slip_no and len(slip_no) != 16:
        raise forms.ValidationError("納付番号は16桁です。納付書の番号を確認してください。")
    return slip_no


class DailyDateForm(Form):
    """日計表: the booking date to show (default: today)."""

    date = forms.DateField(
        label="日計日",
        required=False,
        input_formats=["%Y-%m-%d"],
        error_messages={"invalid": "日付は YYYY-MM-DD の形で入力してください。"},
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )

    def day(self) -> datetime.date:  # not ``date``: the field of that name shadows it here
        """The chosen day, or today when none (or an invalid one) was given."""
        if self.is_valid() and self.cleaned_data.get("date"):
            return self.cleaned_data["date"]  # type: ignore[no-any-return]
        return timezone.localdate()


class CounterReceiptForm(Form):
    """窓口収納: slip number, amount received and the day the cash was taken."""

    slip_no = _slip_no_field()
    amount = YenField(label="領収金額（円）", help_text="納付書の未納額が初期表示されます。")
    paid_on = forms.DateField(
        label="領収日",
        input_formats=["%Y-%m-%d"],
        error_messages={
            "required": "領収日を入力してください。",
            "invalid": "領収日は YYYY-MM-DD の形で入力してください。",
        },
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    note = forms.CharField(
        label="メモ（任意）",
        max_length=200,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    token = forms.CharField(widget=forms.HiddenInput, required=False, max_length=64)

    def clean_slip_no(self) -> str:
        return _clean_slip_no(self.cleaned_data["slip_no"], exact=True)

    def clean_paid_on(self) -> date:
        paid_on: date = self.cleaned_data["paid_on"]
        if paid_on > timezone.localdate():
            raise forms.ValidationError("領収日に未来の日付は指定できません。")
        return paid_on


class SlipLookupForm(Form):
    """窓口収納: find a person's slips by 宛名番号 to pick one."""

    taxpayer_no = forms.CharField(
        label="宛名番号",
        max_length=15,
        help_text="宛名番号から納付書を選べます。",
        error_messages={"required": "宛名番号を入力してください。"},
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )

    def clean_taxpayer_no(self) -> str:
        return _nfkc(self.cleaned_data["taxpayer_no"])


class ReversalForm(Form):
    """収納取消: the reason is required and kept in the ledger memo and the audit log."""

    reason = _reason("取消理由", "例: 金融機関からの誤送金の連絡、不渡り、別人の納付書で入金")


class SuspenseFilterForm(Form):
    """未消込一覧: by status (default: 未処理), or every status (``ALL``)."""

    ALL = "all"  # not a status: the filter showing every one

    status = forms.ChoiceField(
        label="状態",
        required=False,
        choices=[(ALL, "すべて"), *SuspenseStatus.choices],
    )

    def status_value(self) -> str:
        if self.is_valid() and self.cleaned_data.get("status"):
            return str(self.cleaned_data["status"])
        return SuspenseStatus.OPEN


class CandidateSearchForm(Form):
    """未消込の充当先候補: slip number prefix, amount and/or kana; every filled field must match."""

    slip_prefix = forms.CharField(
        label="納付番号（前方一致）",
        max_length=16,
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )
    amount = YenField(label="金額（円）", required=False, help_text="納付書の請求額または未納額と一致")
    kana = forms.CharField(
        label="カナ氏名",
        max_length=100,
        required=False,
        help_text="前方一致（ひらがな・半角カナも可）",
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )

    def clean_slip_prefix(self) -> str:
        prefix = _clean_slip_no(self.cleaned_data["slip_prefix"], exact=False)
        if prefix and len(prefix) < 4:
            raise forms.ValidationError("納付番号は4桁以上を入力してください。")
        return prefix

    def clean(self) -> dict[str, Any]:
        cleaned: dict[str, Any] = super().clean() or {}
        cleaned["kana"] = (cleaned.get("kana") or "").strip()
        if not (cleaned.get("slip_prefix") or cleaned.get("amount") or cleaned["kana"]):
            raise forms.ValidationError("納付番号・金額・カナ氏名のいずれかを入力してください。")
        return cleaned


class SuspenseAssignForm(Form):
    """未消込の充当先指定: the slip to place the amount on; a second person approves (決裁)."""

    slip_no = _slip_no_field(label="充当先の納付番号")
    reason = _reason("申請理由", "例: 確認番号の誤記。納付者に電話で確認済み")

    def clean_slip_no(self) -> str:
        return _clean_slip_no(self.cleaned_data["slip_no"], exact=True)


class SuspenseRefundForm(Form):
    """未消込を還付へ: placing it was given up; the reason is required."""

    note = _reason("還付とする理由", "例: 該当する納税者なし。振込人へ返金")
