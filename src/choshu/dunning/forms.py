"""The dunning run screen's form: the issue date, and whether to issue (after the dry run)."""

from __future__ import annotations

from django import forms

from choshu.core.forms import Form


class DunningRunForm(Form):
    """督促状の一括発付: the issue date (発付日). The dry run comes first; 「発付する」 posts ``issue``."""

    as_of = forms.DateField(
        label="発付日",
        input_formats=["%Y-%m-%d"],
        error_messages={
            "required": "発付日を入力してください。",
            "invalid": "発付日は YYYY-MM-DD の形で入力してください。",
        },
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
