"""換価 (公売) and 配当 (issue 19 §3): the proceeds shared in the creditors' order (国税徴収法128条〜133条),
our share booked through the engine on 決裁 (滞納処分費 → 督促手数料 → 本税), the seizure ended, the
配当計算書 PDF; bad creditor lines refused."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone

from choshu.approvals.services import request_approve
from choshu.audit.models import AuditLog
from choshu.enforcement.distribution import distribute, parse_creditors, sale_request
from choshu.enforcement.models import CollectionStatus, Sale, SeizureStatus
from choshu.enforcement.services import seizure_request
from choshu.enforcement.tests.conftest import FIRST_SEIZURE_DAY, D, inst
from choshu.enforcement.tests.test_collection import owed
from choshu.levies.models import Component
from choshu.levies.verify import ledger_problems
from choshu.receipts.models import Channel, Payment

pytestmark = pytest.mark.django_db


def test_distribute_in_order_shared_rank_in_proportion() -> None:
    rows, surplus = distribute(100_000, [
        {"rank": 1, "name": "抵当権者A", "kind": "抵当権", "claim": 60_000},
        {"rank": 2, "name": "B", "kind": "交付要求", "claim": 30_000},
        {"rank": 2, "name": "当方", "kind": "地方税", "claim": 60_000, "ours": True},
    ])  # fmt: skip
    assert [r["amount"] for r in rows] == [60_000, 13_334, 26_666] and surplus == 0
    rows, surplus = distribute(50_000, [{"rank": 1, "name": "当方", "kind": "地方税", "claim": 42_200}])
    assert rows[0]["amount"] == 42_200 and surplus == 7_800


def test_parse_creditors_bad_lines() -> None:
    assert parse_creditors("1:川口銀行:抵当権:1,000,000\n\n") == [
        {"rank": 1, "name": "川口銀行", "kind": "抵当権", "claim": 1_000_000}
    ]
    for text, msg in [("1:川口銀行:抵当権", "形で"), ("x:a:b:1", "整数"), ("0:a:b:1", "1以上")]:
        with pytest.raises(ValidationError, match=msg):
            parse_creditors(text)


def land(w: dict[str, Any]) -> Any:
    s = seizure_request(
        actor=w["officer"], case=w["case"], kind="real_estate", description="川口市本町1丁目 宅地 120㎡",
        installment_ids=[inst("100001").pk, inst("400001").pk], executed_on=FIRST_SEIZURE_DAY, amount=900_000,
        note="登記簿で確認",
    )  # fmt: skip
    request_approve(actor=w["chief"], request=s.request, decided_on=FIRST_SEIZURE_DAY)  # type: ignore[arg-type]
    s.refresh_from_db()
    return s


def test_sale_distribution_books_our_share_and_ends_the_seizure(w: dict[str, Any]) -> None:
    s = land(w)
    sale = sale_request(
        actor=w["officer"], seizure=s, method="auction", sold_on=D(2024, 10, 1), buyer="株式会社買受",
        proceeds=100_000, distributed_on=D(2024, 10, 15), our_rank=2, claim=None,
        others=[{"rank": 1, "name": "川口銀行", "kind": "抵当権", "claim": 80_000}], note="期日入札",
    )  # fmt: skip
    # our claim: 本税 12,000 + 30,000 and two 督促手数料 of 100 = 42,200; after the bank's 80,000 we get 20,000
    assert [(r["name"], r["amount"]) for r in sale.creditors] == [
        ("川口銀行", 80_000),
        ("当方（" + w["city"].name + "）", 20_000),
    ]
    assert (sale.ours, sale.surplus) == (20_000, 0)
    assert not Payment.objects.filter(channel=Channel.ENFORCEMENT).exists()
    from choshu.enforcement.selectors import filter_step, seizure_rows

    assert "決裁待ち" in seizure_rows([s])[0].next_step
    assert list(filter_step(type(s).objects.all(), "approval")) == [s]
    with pytest.raises(ValidationError, match="既に記録"):
        sale_request(actor=w["officer"], seizure=s, method="auction", sold_on=D(2024, 10, 1), buyer="x",
                     proceeds=1, distributed_on=D(2024, 10, 15), our_rank=1, claim=None, others=[], note="x")  # fmt: skip
    request_approve(actor=w["chief"], request=sale.request, decided_on=D(2024, 10, 15))  # type: ignore[arg-type]
    sale.refresh_from_db()
    s.refresh_from_db()
    assert sale.status == CollectionStatus.BOOKED and s.status == SeizureStatus.RELEASED
    assert sum(p.amount for p in Payment.objects.filter(channel=Channel.ENFORCEMENT)) == 20_000
    # fees first, then 本税 oldest first: 400001 paid in full (12,000), 100001 gets 7,800
    assert (owed("400001", Component.DUNNING_FEE), owed("100001", Component.DUNNING_FEE)) == (0, 0)
    assert (inst("400001").principal_outstanding, inst("100001").principal_outstanding) == (0, 22_200)
    assert ledger_problems(municipality_id=w["city"].pk)[1] == []


def login(user: Any) -> Client:
    from conftest import login_verified

    return login_verified(Client(), user)


def test_sale_screen_and_distribution_pdf(w: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(timezone, "localdate", lambda *a, **k: D(2024, 10, 20))
    s = land(w)
    officer = login(w["officer"])
    data = {"action": "sale", "method": "auction", "sold_on": "2024-10-01", "buyer": "株式会社買受",
            "proceeds": "100000", "distributed_on": "2024-10-15", "our_rank": "2", "claim": "",
            "others": "1:川口銀行:抵当権:80000", "note": "期日入札"}  # fmt: skip
    bad = officer.post(f"/enforcement/seizures/{s.pk}/", {**data, "others": "1:川口銀行"})
    assert bad.status_code == 400 and "順位:名称:債権の種類:債権額" in bad.content.decode()
    r = officer.post(f"/enforcement/seizures/{s.pk}/", data)
    assert r.status_code == 200 and "当方への配当 20,000円" in r.content.decode()
    sale = Sale.objects.get()
    pdf = officer.get(f"/enforcement/sales/{sale.pk}/distribution.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert AuditLog.objects.filter(function="配当計算書の作成").exists()
    assert login(w["other"]).get(f"/enforcement/sales/{sale.pk}/distribution.pdf").status_code == 404
    assert login(w["clerk"]).get(f"/enforcement/sales/{sale.pk}/distribution.pdf").status_code == 403
