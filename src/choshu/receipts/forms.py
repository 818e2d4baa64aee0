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


MAX_SLIPS = 10  # slips paid with one receipt


def split_slip_nos(value: str) -> list[str]:
    """Slip numbers as typed: one a line (or separated by spaces, commas, 、), hyphens ignored."""
    text = _nfkc(value).replace("、", " ").replace(",", " ").replace("-", "")
    return [part for part in text.split() if part]


class CounterReceiptForm(Form):
    """窓口収納: the slips (one or several), the amount received, お預かり, and the 領収日 (today; another
    day needs a reason and a chief's approval). An overpayment needs ``accept_overpayment``."""

    slip_no = forms.CharField(
        label="納付番号",
        max_length=400,
        help_text="納付書に印字された16桁の番号。複数の納付書をまとめて収納するときは1行に1つ（上から順に充当）",
        error_messages={"required": "納付番号を入力してください。"},
        widget=forms.Textarea(attrs={"rows": 2, "inputmode": "numeric", "autocomplete": "off"}),
    )
    amount = YenField(
        label="領収金額（円）", help_text="納付書の本税＋延滞金（領収日現在）が初期表示されます。"
    )
    tendered = YenField(label="お預かり（円）", required=False, help_text="お釣りの計算に使います（任意）。")
    paid_on = forms.DateField(
        label="領収日",
        input_formats=["%Y-%m-%d"],
        help_text="本日以外の日付は、理由を入力して決裁（承認）を受けてから収納されます。",
        error_messages={
            "required": "領収日を入力してください。",
            "invalid": "領収日は YYYY-MM-DD の形で入力してください。",
        },
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    backdate_reason = forms.CharField(
        label="本日以外の領収日とする理由",
        max_length=300,
        required=False,
        help_text="例: 出張徴収で受領した現金を本日持ち帰ったため",
        widget=forms.Textarea(attrs={"rows": 2, "autocomplete": "off"}),
    )
    accept_overpayment = forms.BooleanField(label="過誤納金として受け入れる", required=False)
    note = forms.CharField(
        label="メモ（任意）",
        max_length=200,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    token = forms.CharField(widget=forms.HiddenInput, required=False, max_length=64)

    def clean_slip_no(self) -> str:
        slip_nos = [_clean_slip_no(v, exact=True) for v in split_slip_nos(self.cleaned_data["slip_no"])]
        if not slip_nos:
            raise forms.ValidationError("納付番号を入力してください。")
        if len(slip_nos) > MAX_SLIPS:
            raise forms.ValidationError(f"一度に収納できる納付書は{MAX_SLIPS}枚までです。")
        if len(set(slip_nos)) != len(slip_nos):
            raise forms.ValidationError("同じ納付番号が2回入力されています。")
        return " ".join(slip_nos)

    def clean_paid_on(self) -> date:
        paid_on: date = self.cleaned_data["paid_on"]
        if paid_on > timezone.localdate():
            raise forms.ValidationError("領収日に未来の日付は指定できません。")
        return paid_on

    def clean(self) -> dict[str, Any]:
        cleaned: dict[str, Any] = super().clean() or {}
        paid_on = cleaned.get("paid_on")
        cleaned["backdate_reason"] = (cleaned.get("backdate_reason") or "").strip()
        if paid_on is not None and paid_on != timezone.localdate() and not cleaned["backdate_reason"]:
            self.add_error(
                "backdate_reason",
                "領収日が本日以外の場合は理由を入力してください（所属長の決裁後に収納されます）。",
            )
        tendered, amount = cleaned.get("tendered"), cleaned.get("amount")
        if tendered is not None and amount is not None and tendered < amount:
            self.add_error("tendered", "お預かり金額が領収金額より少なくなっています。")
        return cleaned

    def slip_nos(self) -> list[str]:
        return str(self.cleaned_data["slip_no"]).split()


class CashierCloseForm(Form):
    """日計締め: the cash counted in the drawer; a difference needs its reason."""

    counted = YenField(
        label="現金実査額（円）",
        min_value=0,
        help_text="レジの現金を数えた金額（釣銭準備金を除く）",
        error_messages={
            "required": "現金実査額を入力してください。",
            "invalid": "金額は円単位の整数で入力してください（例: 10800）。",
            "min_value": "金額は0円以上で入力してください。",
            "max_value": "金額が大きすぎます。入力を確認してください。",
        },
    )
    reason = forms.CharField(
        label="過不足の理由",
        max_length=300,
        required=False,
        help_text="現金実査額と領収金額の合計が一致しない場合は必須",
        widget=forms.Textarea(attrs={"rows": 2, "autocomplete": "off"}),
    )


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
    """収納取消の申請: the reason is required; it is kept in the 決裁, the ledger memo and the audit log."""

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
