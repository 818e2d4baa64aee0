"""Dates outside the calendar the office works in are refused, not a 500 (issue 14 §4).

Found by the malformed-input fuzzer (core/tests/test_malformed_input.py): 9999-12-31 and 0001-01-01
are valid ISO dates, but the day after or before them is not, and the 日計表 (its next / previous day
links), the 日計締め, the 権限変更の報告書 (its end of period) and the 納付書の発行 (a 延滞金 computed to
that day) answered 500 with ``OverflowError``. Every date field of every form now refuses a day outside
``core.forms.EARLIEST_DATE``–``LATEST_DATE`` (``RefuseImpossibleDates``), and the two views that read
a date from the query string themselves fall back to today.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from conftest import login_verified
from django import forms
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from choshu.accounts.models import Role
from choshu.core.forms import DATE_RANGE_MESSAGE, EARLIEST_DATE, LATEST_DATE, Form
from choshu.receipts.models import SlipIssue
from choshu.receipts.slips import taxpayer_slips
from choshu.taxpayers.models import Taxpayer

EDGES = ["9999-12-31", "0001-01-01"]


class _DayForm(Form):
    day = forms.DateField(input_formats=["%Y-%m-%d"])


@pytest.mark.parametrize(
    ("typed", "valid"),
    [
        (EARLIEST_DATE.isoformat(), True),
        (LATEST_DATE.isoformat(), True),
        ("1872-12-31", False),
        ("3000-01-01", False),
        ("9999-12-31", False),
        ("0001-01-01", False),
    ],
)
def test_every_form_s_date_field_takes_only_the_office_s_calendar(typed: str, valid: bool) -> None:
    form = _DayForm({"day": typed})
    assert form.is_valid() is valid
    if not valid:
        assert form.errors["day"] == [DATE_RANGE_MESSAGE]


@pytest.fixture
def chief(sample_city: Any, make_user: Callable[..., Any]) -> Client:
    return login_verified(Client(), make_user("kacho", role=Role.CHIEF, municipality=sample_city))


@pytest.mark.parametrize("day", EDGES)
def test_the_daily_totals_refuse_the_day_and_show_today(chief: Client, day: str) -> None:
    response = chief.get(reverse("receipts:daily"), {"date": day})
    assert response.status_code == 200
    assert response.context["day"] == timezone.localdate()
    assert DATE_RANGE_MESSAGE in response.content.decode()
    assert chief.get(reverse("receipts:daily-csv"), {"date": day}).status_code == 200


@pytest.mark.parametrize("day", EDGES)
def test_the_cashier_close_refuses_the_day_and_shows_today(chief: Client, day: str) -> None:
    response = chief.get(reverse("receipts:counter-close"), {"date": day})
    assert response.status_code == 200
    assert response.context["day"] == timezone.localdate()


@pytest.mark.parametrize("day", EDGES)
def test_the_rights_change_report_refuses_the_period(chief: Client, day: str) -> None:
    for name in ("accounts:report-changes", "accounts:report-changes-csv"):
        response = chief.get(reverse(name), {"from": day, "to": day})
        assert response.status_code == 400, name
    page = chief.get(reverse("accounts:report-changes"), {"from": day, "to": day}).content.decode()
    assert DATE_RANGE_MESSAGE in page


def test_the_slip_form_computes_for_today_when_asked_for_the_last_iso_day(
    chief: Client, sample_city: Any
) -> None:
    taro = Taxpayer.objects.get(municipality=sample_city, taxpayer_no="1001")
    url = reverse("receipts:slip-issue", args=[taro.pk])
    response = chief.get(url, {"as_of": "9999-12-31"})
    assert response.status_code == 200
    assert response.context["as_of"] == timezone.localdate()
    assert response.context["owed"]  # the person has 期別 to issue: the refusal below is the date's
    posted = chief.post(
        url,
        {
            "installments": [str(response.context["owed"][0].installment.pk)],
            "late_charge_as_of": "9999-12-31",
            "pay_by": "9999-12-31",
        },
    )
    assert posted.status_code == 400
    assert DATE_RANGE_MESSAGE in posted.content.decode()
    assert not SlipIssue.objects.exists()


def test_the_counter_shows_slips_for_today_when_the_paid_on_day_is_before_the_calendar(
    chief: Client, sample_city: Any
) -> None:
    taro = Taxpayer.objects.get(municipality=sample_city, taxpayer_no="1001")
    slip_no = taxpayer_slips(sample_city, taro.pk)[0].slip_no
    response = chief.get(reverse("receipts:counter"), {"slip_no": slip_no, "paid_on": "0001-01-01"})
    assert response.status_code == 200
    assert response.context["paid_on"] == timezone.localdate()
    assert [s.slip_no for s in response.context["slips"]] == [slip_no]
