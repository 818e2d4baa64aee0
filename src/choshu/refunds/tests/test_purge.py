"""The retention purge deletes a purged person's overpayments, appropriations and notices with their
ledger transactions, and no one else's (issue 16; operations.retention)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from choshu.operations.retention import _delete_people
from choshu.refunds.models import Appropriation, Overpayment, RefundNotice
from choshu.refunds.tests.helpers import pay, run, verify_ok
from choshu.taxpayers.models import Taxpayer

pytestmark = pytest.mark.django_db


def test_a_purged_person_s_refund_records_go_and_no_one_else_s(
    sample_city: Any, write_csv: Callable[..., Any]
) -> None:
    pay(write_csv, "1001", "100001", 30000, "2024-06-20")
    pay(write_csv, "1001", "100001", 30000, "2024-08-10")  # appropriated to 1001's arrears
    pay(write_csv, "1002", "500001", 10800, "2024-05-20")
    pay(write_csv, "1002", "500001", 10800, "2024-05-21")  # held for 1002, a 過誤納還付通知書 queued
    run("2024-09-30")
    taro = Taxpayer.objects.get(taxpayer_no="1001")
    assert Appropriation.objects.filter(taxpayer=taro).count() == 2
    _delete_people([taro.pk])
    assert not Appropriation.objects.exists()
    assert list(Overpayment.objects.values_list("taxpayer__taxpayer_no", flat=True)) == ["1002"]
    assert list(RefundNotice.objects.values_list("taxpayer__taxpayer_no", "kind")) == [("1002", "claim")]
    assert verify_ok()
