"""Forms of the 返戻・公示送達 and 督促停止 screens (issue 15 §5, §8)."""

from __future__ import annotations

from datetime import date
from typing import Any

from django import forms

from choshu.core.forms import Form
from choshu.dunning.models import ReturnReason, SuppressionReason

_DATE = {"input_formats": ["%Y-%m-%d", "%Y/%m/%d"]}


def _date_field(label: str, *, required: bool = True, help_text: str = "") -> forms.DateField:
    return forms.DateField(
        label=label,
        required=required,
        help_text=help_text,
        error_messages={
            "required": f"{label}を入力してください。",
            "invalid": f"{label}は 年-月-日（例 2024-07-15）の形で入力してください。",
        },
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        **_DATE,  # type: ignore[arg-type]
    )


class ReturnedMailForm(Form):
    """返戻の登録: the scanned slip numbers, one per line, with the date and reason that apply to every
    line (a line may give its own: ``納付番号,返戻日,理由``)."""

    lines = forms.CharField(
        label="返戻された督促状の納付番号（1行に1件）",
        widget=forms.Textarea(
            attrs={"rows": 12, "autofocus": True, "spellcheck": "false", "autocomplete": "off"}
        ),
        help_text=(
            "バーコードリーダーで読み取るか、16桁の納付番号を入力して改行してください。"
            "行ごとに変えるときは「納付番号,返戻日,理由」の形で入力できます。"
        ),
        error_messages={"required": "納付番号を1件以上入力してください。"},
        max_length=200_000,
    )
    returned_on = _date_field("返戻日")
    reason = forms.ChoiceField(
        label="返戻理由",
        choices=ReturnReason.choices,
        error_messages={
            "required": "返戻理由を選んでください。",
            "invalid_choice": "返戻理由を一覧から選んでください。",
        },
    )


class PublicNoticeForm(Form):
    """公示送達の登録: the returned 督促状 by its slip number and the first day of posting."""

    slip_no = forms.CharField(
        label="督促状の納付番号",
        max_length=60,
        error_messages={"required": "督促状の納付番号を入力してください。"},
    )
    posted_on = _date_field(
        "掲示開始日",
        help_text="掲示を始めた日から起算して7日を経過した日に送達があったものとみなされます（地方税法20条の2）。",
    )
    note = forms.CharField(label="備考（掲示場所など）", max_length=300, required=False)


class SuppressionForm(Form):
    """督促停止の登録: the installment by its 納付番号, the reason, the period and a note. 「その他（職員の
    判断）」 goes to 決裁 (the note is the reason for the request)."""

    slip_no = forms.CharField(
        label="期別の納付番号",
        max_length=60,
        error_messages={"required": "期別の納付番号を入力してください。"},
    )
    reason = forms.ChoiceField(
        label="停止理由",
        choices=SuppressionReason.choices,
        error_messages={
            "required": "停止理由を選んでください。",
            "invalid_choice": "停止理由を一覧から選んでください。",
        },
    )
    start = _date_field("停止開始日")
    end = _date_field("停止終了日", required=False, help_text="空欄のときは終了日なし（終了するまで停止）。")
    note = forms.CharField(
        label="備考",
        max_length=300,
        required=False,
        help_text="「その他（職員の判断）」では決裁の申請理由になります（必須）。",
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start: date | None = data.get("start")
        end: date | None = data.get("end")
        if start and end and end < start:
            self.add_error("end", "停止終了日が停止開始日より前です。")
        if data.get("reason") == SuppressionReason.MANUAL and not (data.get("note") or "").strip():
            self.add_error("note", "職員の判断による督促停止は、決裁の申請理由を備考に入力してください。")
        return data


class SuppressionFilterForm(Form):
    """督促停止の一覧の絞り込み: reason and state (in force on a day / ended / all)."""

    STATES = (("active", "停止中"), ("ended", "終了済み"), ("all", "すべて"))

    reason = forms.ChoiceField(
        label="停止理由", choices=(("", "すべて"), *SuppressionReason.choices), required=False
    )
    state = forms.ChoiceField(label="状態", choices=STATES, required=False)
    on = _date_field("基準日", required=False, help_text="停止中かどうかを判定する日（空欄のときは今日）。")


class SuppressionEndForm(Form):
    """督促停止の終了: the last day it applies and why."""

    end = _date_field("停止の最終日", help_text="この日まで停止し、翌日から督促の対象に戻します。")
    note = forms.CharField(
        label="終了の理由", max_length=300, error_messages={"required": "終了の理由を入力してください。"}
    )
