"""A 納付書 reissued for a dunned 期別 carries the 督促手数料 (issue 15 fix): the screen, the slip's
amount (barcode, OCR) and the PDF include the fee ``services.owed_amounts`` reports."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from conftest import login_verified
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from choshu.accounts.models import Role
from choshu.dunning.services import dunning_fee_set, dunning_run
from choshu.levies.models import Installment
from choshu.receipts.services import owed_amounts
from choshu.receipts.slip_issue import slip_issue, slip_quote
from choshu.receipts.slips import _STATE_FIELDS, InstallmentState, SlipTarget
from choshu.receipts.tests.test_slip_issue import _decode_barcodes, _pdf_text
from choshu.taxpayers.models import Taxpayer

pytestmark = pytest.mark.django_db


@pytest.fixture
def dunned(sample_city: Any) -> Installment:
    """川口 太郎's 個人住民税 第1期 (30,000 円, 納期限 2024-07-01), dunned on 2024-07-15 with a 100 円 fee."""
    dunning_fee_set(actor=None, municipality=sample_city, valid_from=date(2024, 4, 1), yen=100, source="条例")
    dunning_run(municipality=sample_city, as_of=date(2024, 7, 15), today=timezone.localdate())
    return Installment.objects.get(taxpayer__taxpayer_no="1001", levy__tax_item="01", installment_no=1)


def _owed(inst: Installment, on: date) -> Any:
    state = InstallmentState(*Installment.objects.filter(pk=inst.pk).values_list(*_STATE_FIELDS).get())
    (owed,) = owed_amounts(SlipTarget(slip_no="", installments=[state]), paid_on=on)
    return owed


def test_the_quote_and_the_issued_slip_carry_the_fee_of_owed_amounts(
    dunned: Installment, make_user: Callable[..., Any]
) -> None:
    clerk = make_user("clerk", role=Role.CLERK, municipality=dunned.municipality)
    today = timezone.localdate()
    as_of = today + timedelta(days=5)
    owed = _owed(dunned, as_of)
    assert owed.fees == 100
    (line,) = slip_quote(dunned.taxpayer, [dunned.pk], as_of)
    assert (line.principal, line.late_charge, line.fee) == (owed.principal, owed.late_charge, 100)
    assert line.total == owed.principal + owed.late_charge + 100

    issue, pdf = slip_issue(
        actor=clerk,
        taxpayer=dunned.taxpayer,
        installment_ids=[dunned.pk],
        late_charge_as_of=as_of,
        pay_by=as_of,
        today=today,
        reason="督促後の再発行",
    )
    assert (issue.principal, issue.late_charge, issue.fee) == (30000, owed.late_charge, 100)
    assert issue.total == 30000 + owed.late_charge + 100
    assert issue.printed["lines"][0]["fee"] == 100

    text = _pdf_text(pdf)
    assert "督促手数料" in text and "100円" in text and f"{issue.total:,}円" in text
    (symbol,) = _decode_barcodes(pdf)  # the barcode's amount is the total with the fee
    assert int(re.sub(r"\D", "", symbol.text)[37:43]) == issue.total
    upper = next(x for x in re.findall(r"^\d{39}$", text, flags=re.M))
    assert int(upper[13:24]) == issue.total


def test_a_slip_without_a_fee_prints_no_fee_column(sample_city: Any, make_user: Callable[..., Any]) -> None:
    clerk = make_user("clerk", role=Role.CLERK, municipality=sample_city)
    taro = Taxpayer.objects.get(municipality=sample_city, taxpayer_no="1001")
    inst = Installment.objects.get(taxpayer=taro, levy__tax_item="01", installment_no=1)
    today = timezone.localdate()
    issue, pdf = slip_issue(actor=clerk, taxpayer=taro, installment_ids=[inst.pk], late_charge_as_of=today,
                            pay_by=today, today=today)  # fmt: skip
    assert issue.fee == 0 and issue.total == issue.principal + issue.late_charge
    assert "督促手数料" not in _pdf_text(pdf)


def test_the_issue_screen_and_the_issue_record_show_the_fee(
    dunned: Installment, make_user: Callable[..., Any]
) -> None:
    client = login_verified(Client(), make_user("clerk", role=Role.CLERK, municipality=dunned.municipality))
    page = client.get(reverse("receipts:slip-issue", args=[dunned.taxpayer_id])).content.decode()
    assert "督促手数料等（円）" in page
    owed = _owed(dunned, timezone.localdate())
    row = re.search(rf'value="{dunned.pk}".*?</tr>', page, flags=re.S)
    assert row is not None
    cells = re.findall(r'<td class="num">([\d,]+)</td>', row.group(0))
    total = owed.principal + owed.late_charge + 100
    assert cells == [f"{owed.principal:,}", f"{owed.late_charge:,}", "100", f"{total:,}"]
