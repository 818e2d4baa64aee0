"""Forms of the 緩和制度 screens (issue 18 §6)."""

from __future__ import annotations

from django import forms

from choshu.core.forms import Form
from choshu.relief.models import ReliefGround, ReliefKind

_DATE = {"input_formats": ["%Y-%m-%d", "%Y/%m/%d"]}


def _date_field(label: str, *, required: bool = True, help_text: str = "") -> forms.DateField:
    return forms.DateField(
        label=label,
        required=required,
        help_text=help_text,
        error_messages={
            "required": f"{label}を入力してください。",
            "invalid": f"{label}は 年-月-日（例 2026-04-01）の形で入力してください。",
        },
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        **_DATE,  # type: ignore[arg-type]
    )


def _reason(label: str) -> forms.CharField:
    return forms.CharField(
        label=label, max_length=300, error_messages={"required": f"{label}を入力してください。"}
    )


class ReliefForm(Form):
    kind = forms.ChoiceField(
        label="種類", choices=ReliefKind.choices,
        error_messages={"required": "種類を選んでください。", "invalid_choice": "種類を一覧から選んでください。"},
    )  # fmt: skip
    ground = forms.ChoiceField(
        label="事由", choices=ReliefGround.choices,
        error_messages={"required": "事由を選んでください。", "invalid_choice": "事由を一覧から選んでください。"},
    )  # fmt: skip
    slip_nos = forms.CharField(
        label="対象の期別の納付番号（1行に1件）",
        widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false", "autocomplete": "off"}),
        help_text="同じ納税者の期別を入力してください。",
        error_messages={"required": "納付番号を1件以上入力してください。"},
        max_length=10_000,
    )
    start = _date_field("開始日")
    end = _date_field(
        "終了日", required=False, help_text="猶予は1年以内。執行停止は空欄（取消まで続きます）。"
    )
    immediate_on = _date_field(
        "即時消滅の日", required=False, help_text="執行停止・財産なし（法15条の7第5項）のときだけ"
    )
    note = _reason("理由の詳細")


class ExtendForm(Form):
    new_end = _date_field("延長後の終了日", help_text="開始日から2年以内")
    reason = _reason("延長の理由")


class CancelForm(Form):
    cancel_on = _date_field("取消日")
    reason = _reason("取消の理由")
