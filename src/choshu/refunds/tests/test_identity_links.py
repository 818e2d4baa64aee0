"""名寄せ (issue 16 open point 4): an overpayment goes to the arrears of every 宛名 known to be the same
person (taxpayers.IdentityLink), oldest 納期限 first across them (地方税法17条の2: "当該納税者の未納に係る
地方団体の徴収金" — the person, not the record; law.md §d, §e)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest

from choshu.levies.models import Account, LedgerEntry
from choshu.refunds.models import Appropriation, Overpayment
from choshu.refunds.services import due_arrears
from choshu.refunds.tests.helpers import held, inst, pay, run, verify_ok
from choshu.taxpayers.models import IdentityLink, Taxpayer

pytestmark = pytest.mark.django_db
D = date


def test_an_overpayment_goes_to_the_arrears_of_a_linked_identity_oldest_first(
    sample_city: Any, write_csv: Callable[..., Any]
) -> None:
    # 1002 pays its 軽自動車税 10,800 twice (the second on 05-21). 1001 — the same person (名寄せ) —
    # owes 固定資産税 12,000 due 04-30 and 個人住民税 30,000 due 07-01.
    pay(write_csv, "1002", "500001", 10800, "2024-05-20")
    pay(write_csv, "1002", "500001", 10800, "2024-05-21")
    hanako, taro = Taxpayer.objects.get(taxpayer_no="1002"), Taxpayer.objects.get(taxpayer_no="1001")
    assert run("2024-06-01")["refundable_amount"] == 10800  # not linked yet: nothing to appropriate
    IdentityLink.objects.create(municipality=sample_city, taxpayer=taro, linked=hanako, reason="同一人")
    assert due_arrears(hanako.pk, D(2024, 7, 10))  # a refund would be refused: arrears on the other 宛名
    out = run("2024-07-10")
    assert (out["appropriated_amount"], out["refundable_amount"]) == (10800, 0)
    [a] = Appropriation.objects.all()
    # The oldest 納期限 across both 宛名: 1001's 固定資産税 (04-30); 充当適状日 = the day the overpayment arose.
    assert (a.installment, a.appropriable_on, a.taxpayer) == (inst("400001"), D(2024, 5, 21), hanako)
    legs = {e.account: e.taxpayer_id for e in LedgerEntry.objects.filter(txn_id=a.txn_id)}
    assert legs == {Account.OVERPAYMENT: hanako.pk, Account.RECEIVABLE: taro.pk}
    assert Overpayment.objects.get().remaining == 0
    assert held("1002") == 0
    assert verify_ok()
