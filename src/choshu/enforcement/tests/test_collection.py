"""取立 (issue 19 §3): proceeds booked through the payment engine (channel 滞納処分) only on 決裁, placed
滞納処分費 → 督促手数料 → 本税 → 延滞金 over the seized installments oldest first, the rest 過誤納金;
the ledger agrees (``levies.verify.ledger_problems``, what ``choshu verify-ledger`` runs)."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError

from choshu.approvals.services import request_approve
from choshu.enforcement.models import CollectionStatus, SeizureStatus
from choshu.enforcement.services import collection_request, seizure_request
from choshu.enforcement.tests.conftest import FIRST_SEIZURE_DAY, D, inst
from choshu.levies.models import Account, Component, LedgerEntry
from choshu.levies.verify import ledger_problems
from choshu.receipts.models import Channel, Payment

pytestmark = pytest.mark.django_db


def owed(notice: str, component: str) -> int:
    i = inst(notice)
    return sum(
        LedgerEntry.objects.filter(
            installment=i, account=Account.RECEIVABLE, component=component
        ).values_list("amount", flat=True)
    )


def test_proceeds_are_allocated_fees_first_then_principal_oldest_first(w: dict[str, Any]) -> None:
    s = seizure_request(
        actor=w["officer"], case=w["case"], kind="deposit", description="川口信用金庫 本店 普通 1234567",
        third_party_name="川口信用金庫", installment_ids=[inst("100001").pk, inst("400001").pk],
        executed_on=FIRST_SEIZURE_DAY, amount=60_000, note="預金照会で残高確認",
    )  # fmt: skip
    with pytest.raises(ValidationError, match="差押中の財産だけ"):
        collection_request(actor=w["officer"], seizure=s, amount=1000, received_on=D(2024, 8, 9), note="取立")
    request_approve(actor=w["chief"], request=s.request, decided_on=FIRST_SEIZURE_DAY)  # type: ignore[arg-type]
    s.refresh_from_db()
    assert s.status == SeizureStatus.ACTIVE
    assert (owed("400001", Component.DUNNING_FEE), owed("100001", Component.DUNNING_FEE)) == (100, 100)

    c = collection_request(actor=w["officer"], seizure=s, amount=12_150, received_on=D(2024, 8, 9),
                           note="川口信用金庫から取立")  # fmt: skip
    assert not Payment.objects.filter(channel=Channel.ENFORCEMENT).exists()  # nothing before 決裁
    request_approve(actor=w["chief"], request=c.request, decided_on=D(2024, 8, 9))  # type: ignore[arg-type]
    c.refresh_from_db()
    assert c.status == CollectionStatus.BOOKED and len(c.payments) == 2
    # both fees first (滞納処分費 0 → 督促手数料), then 本税 of the oldest installment (400001, due 4-30)
    assert (owed("400001", Component.DUNNING_FEE), owed("100001", Component.DUNNING_FEE)) == (0, 0)
    assert (inst("400001").principal_outstanding, inst("100001").principal_outstanding) == (50, 30_000)

    c2 = collection_request(actor=w["officer"], seizure=s, amount=40_000, received_on=D(2024, 8, 20),
                            note="残額の取立")  # fmt: skip
    request_approve(actor=w["chief"], request=c2.request, decided_on=D(2024, 8, 20))  # type: ignore[arg-type]
    assert (inst("400001").principal_outstanding, inst("100001").principal_outstanding) == (0, 0)
    paid = Payment.objects.filter(channel=Channel.ENFORCEMENT)
    assert sum(p.amount for p in paid) == 52_150
    # 延滞金 under 1,000円 is not owed; the rest (40,000 − 50 − 30,000 = 9,950) is 過誤納金 (残余金)
    assert sum(p.overpaid for p in paid) == 9_950
    _, problems = ledger_problems(municipality_id=w["city"].pk)
    assert problems == []


def test_bad_collection_input_is_refused(w: dict[str, Any]) -> None:
    s = seizure_request(
        actor=w["officer"], case=w["case"], kind="receivable", description="売掛金", third_party_name="取引先",
        installment_ids=[inst("400001").pk], executed_on=FIRST_SEIZURE_DAY, amount=10_000, note="x",
    )  # fmt: skip
    request_approve(actor=w["chief"], request=s.request, decided_on=FIRST_SEIZURE_DAY)  # type: ignore[arg-type]
    for amount, on, note, msg in [
        (0, D(2024, 8, 1), "x", "1円以上"),
        (100, D(2024, 7, 1), "x", "差押日"),
        (100, D(2024, 8, 1), " ", "備考"),
    ]:
        with pytest.raises(ValidationError, match=msg):
            collection_request(actor=w["officer"], seizure=s, amount=amount, received_on=on, note=note)


def test_disposition_costs_are_a_receivable_paid_first(w: dict[str, Any]) -> None:
    """滞納処分費 (国税徴収法136条) before 督促手数料 before 本税 (地方税法14条の3, 14条の5)."""
    from choshu.enforcement.costs import cost_record
    from choshu.levies.models import LedgerTransaction, TxnKind

    s = seizure_request(
        actor=w["officer"], case=w["case"], kind="real_estate", description="川口市本町1丁目 宅地 120㎡",
        installment_ids=[inst("100001").pk, inst("400001").pk], executed_on=FIRST_SEIZURE_DAY, amount=900_000,
        note="登記簿で確認",
    )  # fmt: skip
    with pytest.raises(ValidationError, match="承認された差押"):
        cost_record(actor=w["officer"], seizure=s, kind="postage", amount=1040, incurred_on=D(2024, 8, 1),
                    note="差押書の郵送", today=D(2024, 8, 1))  # fmt: skip
    request_approve(actor=w["chief"], request=s.request, decided_on=FIRST_SEIZURE_DAY)  # type: ignore[arg-type]
    for kind, amount, on, note, msg in [
        ("postage", 0, D(2024, 8, 1), "x", "1円以上"),
        ("postage", 10, D(2024, 7, 1), "x", "支出日"),
        ("x", 10, D(2024, 8, 1), "x", "費目"),
        ("postage", 10, D(2024, 8, 1), " ", "内容"),
    ]:
        with pytest.raises(ValidationError, match=msg):
            cost_record(actor=w["officer"], seizure=s, kind=kind, amount=amount, incurred_on=on, note=note,
                        today=D(2024, 8, 2))  # fmt: skip
    cost = cost_record(actor=w["officer"], seizure=s, kind="registration", amount=1_000, incurred_on=D(2024, 8, 1),
                       note="差押登記の嘱託", today=D(2024, 8, 2))  # fmt: skip
    assert cost.installment == inst("400001")  # the oldest installment with 本税 outstanding
    assert LedgerTransaction.objects.get(pk=cost.txn_id).kind == TxnKind.ENFORCEMENT_COST
    assert owed("400001", Component.ENFORCEMENT_COST) == 1_000
    # 1,150円 pays 滞納処分費 1,000, then 督促手数料 100 (400001) and 50 of the next fee; no 本税
    c = collection_request(actor=w["officer"], seizure=s, amount=1_150, received_on=D(2024, 8, 9),
                           note="換価代金（一部）")  # fmt: skip
    request_approve(actor=w["chief"], request=c.request, decided_on=D(2024, 8, 9))  # type: ignore[arg-type]
    assert owed("400001", Component.ENFORCEMENT_COST) == 0
    assert (owed("400001", Component.DUNNING_FEE), owed("100001", Component.DUNNING_FEE)) == (0, 50)
    assert (inst("400001").principal_outstanding, inst("100001").principal_outstanding) == (12_000, 30_000)
    _, problems = ledger_problems(municipality_id=w["city"].pk)
    assert problems == []
