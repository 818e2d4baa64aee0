"""交付要求・参加差押 (issue 19 §4): effective only on 決裁, on the timeline; 参加差押 refused where a seizure
would be (督促 + 10 days); the money paid over booked through the engine (channel 滞納処分) and allocated
督促手数料 → 本税 like a 取立; screens: permissions (403 / another team 404), access and change records."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone

from choshu.approvals.services import request_approve, request_reject
from choshu.audit.models import AuditLog
from choshu.enforcement.claims import claim_end_request, claim_receipt_request, claim_request
from choshu.enforcement.models import Claim, ClaimStatus, CollectionStatus
from choshu.enforcement.tests.conftest import D, inst
from choshu.enforcement.tests.test_collection import owed
from choshu.enforcement.timeline import enforcement_events
from choshu.levies.models import Component
from choshu.levies.verify import ledger_problems
from choshu.receipts.models import Channel, Payment

pytestmark = pytest.mark.django_db


def make(w: dict[str, Any], **extra: Any) -> Claim:
    args: dict[str, Any] = {
        "actor": w["officer"], "case": w["case"], "kind": "demand", "proceeding": "bankruptcy",
        "authority": "破産管財人 弁護士 川口太郎", "case_no": "令和6年(フ)第123号", "property_description": "",
        "installment_ids": [inst("400001").pk, inst("100001").pk], "claimed_on": D(2024, 7, 20), "amount": 42_200,
        "note": "破産手続開始の通知",
    }  # fmt: skip
    args.update(extra)
    return claim_request(**args)


def test_demand_in_a_bankruptcy_through_approval_and_its_dividend(w: dict[str, Any]) -> None:
    c = make(w)  # 交付要求 needs no 10 days after the 督促 (only a delinquent tax)
    assert c.status == ClaimStatus.PENDING
    with pytest.raises(ValidationError, match="決裁済で継続中"):
        claim_receipt_request(actor=w["officer"], claim=c, amount=1, received_on=D(2024, 9, 1), note="x")
    request_approve(actor=w["chief"], request=c.request, decided_on=D(2024, 7, 22))  # type: ignore[arg-type]
    c.refresh_from_db()
    assert c.status == ClaimStatus.ACTIVE
    col = claim_receipt_request(actor=w["officer"], claim=c, amount=12_150, received_on=D(2024, 9, 1),
                                note="破産配当")  # fmt: skip
    assert not Payment.objects.filter(channel=Channel.ENFORCEMENT).exists()
    request_approve(actor=w["chief"], request=col.request, decided_on=D(2024, 9, 2))  # type: ignore[arg-type]
    col.refresh_from_db()
    assert col.status == CollectionStatus.BOOKED
    # fees first (both 督促手数料), then 本税 of the oldest installment
    assert (owed("400001", Component.DUNNING_FEE), owed("100001", Component.DUNNING_FEE)) == (0, 0)
    assert (inst("400001").principal_outstanding, inst("100001").principal_outstanding) == (50, 30_000)
    assert ledger_problems(municipality_id=w["city"].pk)[1] == []
    e = claim_end_request(actor=w["officer"], claim=c, on=D(2024, 9, 3), reason="破産手続の終結")
    request_approve(actor=w["chief"], request=e.end_request, decided_on=D(2024, 9, 3))  # type: ignore[arg-type]
    c.refresh_from_db()
    assert c.status == ClaimStatus.ENDED and c.ended_on == D(2024, 9, 3)
    titles = [ev.title for ev in enforcement_events(w["city"].pk, c.taxpayer_id, None)]
    assert any("交付要求（破産管財人" in t for t in titles)
    assert any("配当金・交付金の収納" in t for t in titles)
    assert any("解除・終了" in t for t in titles)


def test_participation_is_refused_before_ten_days_and_rejection_withdraws(w: dict[str, Any]) -> None:
    with pytest.raises(ValidationError, match="10日を経過していません"):
        make(w, kind="participation", proceeding="tax", property_description="川口市本町 宅地",
             claimed_on=D(2024, 7, 20))  # fmt: skip
    with pytest.raises(ValidationError, match="対象財産"):
        make(w, kind="participation", claimed_on=D(2024, 8, 1))
    c = make(w, kind="participation", proceeding="tax", authority="川口税務署", property_description="川口市本町 宅地",
             claimed_on=D(2024, 8, 1))  # fmt: skip
    request_reject(actor=w["chief"], request=c.request, comment="要件不足")  # type: ignore[arg-type]
    c.refresh_from_db()
    assert c.status == ClaimStatus.WITHDRAWN
    with pytest.raises(ValidationError, match="納期限"):
        make(w, installment_ids=[inst("100001", 2).pk], claimed_on=D(2024, 8, 1))


def login(user: Any) -> Client:
    from conftest import login_verified

    return login_verified(Client(), user)


def test_claim_screens(w: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(timezone, "localdate", lambda *a, **k: D(2024, 8, 1))
    officer = login(w["officer"])
    url = f"/enforcement/cases/{w['case'].pk}/claims/new/"
    assert "交付要求・参加差押の起案" in officer.get(url).content.decode()
    data = {"kind": "demand", "proceeding": "execution", "authority": "さいたま地方裁判所", "case_no": "令和6年(ヌ)第5号",
            "property_description": "", "installments": [str(inst("400001").pk)], "claimed_on": "2024-08-01",
            "amount": "12100", "note": "競売開始の通知"}  # fmt: skip
    r = officer.post(url, data)
    assert r.status_code == 200 and "決裁を申請しました" in r.content.decode()
    c = Claim.objects.get()
    bad = officer.post(url, {**data, "amount": "x"})
    assert bad.status_code == 400 and "整数" in bad.content.decode() and Claim.objects.count() == 1
    assert login(w["clerk"]).get(url).status_code == 403
    assert login(w["clerk"]).get(f"/enforcement/claims/{c.pk}/").status_code == 403
    assert login(w["other"]).get(url).status_code == 404
    assert login(w["other"]).get(f"/enforcement/claims/{c.pk}/").status_code == 404
    request_approve(actor=w["chief"], request=c.request, decided_on=D(2024, 8, 1))  # type: ignore[arg-type]
    r = officer.post(f"/enforcement/claims/{c.pk}/", {"action": "receipt", "amount": "5000",
                                                      "received_on": "2024-08-01", "note": "配当"})  # fmt: skip
    assert r.status_code == 200 and "配当金の収納を決裁に申請しました" in r.content.decode()
    assert "さいたま地方裁判所" in officer.get(f"/cases/{w['case'].pk}/").content.decode()
    assert AuditLog.objects.filter(function="交付要求・参加差押の照会").exists()
