"""送付先（税目別）の登録・変更・終了の申請 (issue 12 §4): filed for a second person to approve (決裁), like
the corrections of ``approval_requests``. Reached under ``approvals:`` (``web/approvals_urls.py``)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.cache import never_cache

from choshu.accounts.decorators import right_required, staff_user
from choshu.accounts.permissions import Right
from choshu.approvals.forms import reason_field
from choshu.approvals.views import refusal
from choshu.core.forms import Form
from choshu.formats.related_csv import ALL_ITEMS
from choshu.levies.tax_items import catalog
from choshu.taxpayers.mailing_changes import (
    END,
    SAVE,
    MailingValues,
    current_mailing_address,
    mailing_address_request,
)
from choshu.taxpayers.selectors import taxpayer_get_for_user
from choshu.web.approval_requests import _request_page

MAILING_FUNCTION = "送付先の申請"


def _text(label: str, max_length: int, help_text: str = "") -> forms.CharField:
    return forms.CharField(
        label=label, max_length=max_length, required=False, help_text=help_text,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )  # fmt: skip


def _day(label: str) -> forms.DateField:
    return forms.DateField(
        label=label, required=False, help_text="カレンダーから選択（例: 2025/04/01）",
        input_formats=["%Y-%m-%d", "%Y/%m/%d"],
        error_messages={"invalid": f"{label}はカレンダーから選ぶか 2025/04/01 の形で入力してください。"},
        widget=forms.DateInput(attrs={"type": "date"}),
    )  # fmt: skip


class MailingAddressForm(Form):
    """One tax item's 送付先: the values to register or change it to, or its end; and why."""

    tax_item = forms.ChoiceField(
        label="税目", error_messages={"invalid_choice": "税目を一覧から選択してください。"}
    )
    operation = forms.ChoiceField(
        label="処理",
        choices=[(SAVE, "登録・変更"), (END, "終了（この税目の送付先をやめ、住所等に送付する）")],
        initial=SAVE,
        widget=forms.RadioSelect,
    )
    name = _text("送付先氏名", 200, "空欄なら宛名の氏名で送付します")
    postal_code = _text("郵便番号", 8, "半角数字7桁（ハイフンは入れても構いません）")
    address = _text("送付先住所", 300, "「登録・変更」では必須です")
    address_extra = _text("方書", 300)
    phone = _text("電話番号", 30)
    set_reason = _text("送付先を設定する理由", 100, "例: 入院中、単身赴任")
    valid_from = _day("登録年月日")
    valid_until = _day("利用廃止年月日")

    def __init__(self, *args: Any, items: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        tax_item = self.fields["tax_item"]
        assert isinstance(tax_item, forms.ChoiceField)  # noqa: S101 - declared above
        tax_item.choices = [(ALL_ITEMS, "全税目（00）"), *items]
        self.fields["reason"] = reason_field(
            "申請の理由", "例: 本人から送付先変更届（令和7年4月1日受付）。決裁者と履歴に表示されます。"
        )

    def values(self) -> MailingValues:
        d = self.cleaned_data
        return MailingValues(**{name: d[name] if name.startswith("valid_") else d[name].strip()
                                for name in MailingValues.__dataclass_fields__})  # fmt: skip


@never_cache
@right_required(Right.TAXPAYER_EDIT)
def mailing_address(request: HttpRequest, taxpayer_pk: int) -> HttpResponse:
    """送付先（税目別）の登録・変更・終了の申請: nothing changes until a second person approves.
    ``?tax_item=04`` fills the form with that item's current 送付先."""
    user = staff_user(request)
    taxpayer = taxpayer_get_for_user(user=user, pk=taxpayer_pk)
    names = {code: info.name for code, info in catalog(taxpayer.municipality_id).items()}
    items = [(code, f"{name}（{code}）") for code, name in names.items()]
    chosen = request.GET.get("tax_item", ALL_ITEMS)
    current = current_mailing_address(taxpayer, chosen) if chosen in (ALL_ITEMS, *names) else None
    initial: dict[str, Any] = {"tax_item": chosen}
    if current is not None:
        initial |= {name: getattr(current, name) for name in MailingValues.__dataclass_fields__}
    form = MailingAddressForm(request.POST or None, initial=initial, items=items)
    if request.method == "POST" and form.is_valid():
        item = form.cleaned_data["tax_item"]
        try:
            req = mailing_address_request(
                actor=user,
                taxpayer=taxpayer,
                tax_item=item,
                tax_item_name="全税目" if item == ALL_ITEMS else names[item],
                operation=form.cleaned_data["operation"],
                values=form.values(),
                reason=form.cleaned_data["reason"],
                known_tax_items=set(names),
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        except PermissionDenied as exc:
            form.add_error(None, refusal(exc))
        else:
            messages.success(
                request, f"申請 #{req.pk} を登録しました。決裁（承認）されると送付先に反映されます。"
            )
            return redirect("approvals:detail", pk=req.pk)
    return _request_page(request, taxpayer, MAILING_FUNCTION, "approvals/mailing_address.html", form)
