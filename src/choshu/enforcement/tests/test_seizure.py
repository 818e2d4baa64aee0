"""差押 (issue 19 §2): refused before the 督促 is 10 days old (地方税法331条1項1号) unless a 繰上徴収 is
recorded, refused while an approved relief is in force, taking effect only on 決裁, the case to 処分中,
on the timeline; release through 決裁; a salary seizure's amount from 国税徴収法76条."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from choshu.approvals.models import ApprovalStatus
from choshu.approvals.services import request_approve, request_reject
from choshu.cases.models import Stage
from choshu.core.timeline import providers
from choshu.enforcement.models import Seizure, SeizureStatus
from choshu.enforcement.services import (
    advance_collection_record,
    seizure_release_request,
    seizure_request,
    seizure_served,
)
from choshu.enforcement.tests.conftest import FIRST_SEIZURE_DAY, D, inst
from choshu.relief.relief import relief_request

pytestmark = pytest.mark.django_db


def seize(
    w: dict[str, Any], *insts: Any, on: Any = FIRST_SEIZURE_DAY, actor: str = "officer", **kw: Any
) -> Seizure:
    args: dict[str, Any] = {
        "kind": "deposit", "description": "川口信用金庫 本店 普通預金 1234567", "third_party_name": "川口信用金庫",
        "third_party_address": "埼玉県川口市本町1-1-1", "amount": 42_000, "note": "預金照会で残高を確認",
    }  # fmt: skip
    args.update(kw)
    return seizure_request(
        actor=w[actor], case=w["case"], installment_ids=[i.pk for i in (insts or (inst("400001"),))],
        executed_on=on, **args,
    )  # fmt: skip


def test_refused_before_the_dunning_notice_is_ten_days_old(w: dict[str, Any]) -> None:
    with pytest.raises(ValidationError) as err:
        seize(w, inst("400001"), on=D(2024, 7, 25))
    assert "10日を経過していません" in str(err.value) and "令和6年7月26日" in str(err.value)
    assert not Seizure.objects.exists()
    assert seize(w, inst("400001"), on=D(2024, 7, 26)).status == SeizureStatus.PENDING


def test_refused_without_a_dunning_notice_unless_advance_collection(w: dict[str, Any]) -> None:
    later = inst("100001", 2)  # due 2024-09-02, never dunned
    with pytest.raises(ValidationError, match="送達された督促状がありません"):
        seize(w, later, on=D(2024, 8, 1))
    advance_collection_record(actor=w["officer"], installment=later, notified_on=D(2024, 7, 29),
                              new_due_date=D(2024, 7, 31), ground="他の強制換価手続の開始（13条の2第1項1号）")  # fmt: skip
    with pytest.raises(ValidationError, match="繰上徴収の納期限"):
        seize(w, later, on=D(2024, 7, 31))
    assert seize(w, later, on=D(2024, 8, 1)).status == SeizureStatus.PENDING


def test_refused_while_an_approved_relief_is_in_force(w: dict[str, Any]) -> None:
    i = inst("400001")
    r = relief_request(actor=w["officer"], taxpayer=i.taxpayer, kind="collection_deferral", ground="illness",
                       installments=[i], start=D(2024, 8, 1), end=D(2025, 1, 31), note="入院のため")  # fmt: skip
    # a relief waiting for approval does not block
    pending = seize(w, i, on=D(2024, 8, 5))
    request_approve(actor=w["chief"], request=r.request, decided_on=D(2024, 8, 1))  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="徴収猶予.*期間中です"):
        seize(w, i, on=D(2024, 8, 5))
    # the seizure asked before the relief was approved is refused at its approval too
    with pytest.raises(ValidationError, match="期間中です"):
        request_approve(actor=w["chief"], request=pending.request, decided_on=D(2024, 8, 6))  # type: ignore[arg-type]
    assert Seizure.objects.get(pk=pending.pk).status == SeizureStatus.PENDING
    # before and after the period it may be seized
    assert seize(w, i, on=D(2024, 7, 31)).status == SeizureStatus.PENDING
    assert seize(w, i, on=D(2025, 2, 1)).status == SeizureStatus.PENDING


def test_the_seizure_takes_effect_only_on_approval(w: dict[str, Any]) -> None:
    s = seize(w, inst("400001"), inst("100001"))
    assert s.status == SeizureStatus.PENDING and w["case"].stage != Stage.ENFORCEMENT
    with pytest.raises(PermissionDenied, match="決裁する権限"):
        request_approve(actor=w["officer"], request=s.request, decided_on=D(2024, 7, 26))  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="差押中の差押だけ送達日"):
        seizure_served(actor=w["officer"], seizure=s, served_on=D(2024, 7, 27), today=D(2024, 8, 1))
    request_approve(actor=w["chief"], request=s.request, decided_on=D(2024, 7, 26))  # type: ignore[arg-type]
    s.refresh_from_db()
    w["case"].refresh_from_db()
    assert s.status == SeizureStatus.ACTIVE
    assert w["case"].stage == Stage.ENFORCEMENT
    assert s.claim_total == 42_000
    seizure_served(actor=w["officer"], seizure=s, served_on=D(2024, 7, 27), today=D(2024, 8, 1))
    # the timeline (kind enforcement, label 滞納処分)
    [(kind, label, fn)] = providers(["enforcement"])
    assert label == "滞納処分"
    titles = [e.title for e in fn(w["city"].pk, w["case"].taxpayer_id, None)]
    assert any(t.startswith("差押を起案") for t in titles)
    assert any(t.startswith("差押: 預貯金") for t in titles)
    assert any("送達" in t for t in titles)
    assert any("決裁（差押）: 承認" in t for t in titles)
    # release, again through 決裁
    seizure_release_request(
        actor=w["officer"], seizure=s, on=D(2024, 9, 1), reason="完納のため（国税徴収法79条1項1号）"
    )
    s.refresh_from_db()
    assert s.status == SeizureStatus.ACTIVE and s.released_on is None
    with pytest.raises(ValidationError, match="既に決裁待ち"):
        seizure_release_request(actor=w["officer"], seizure=s, on=D(2024, 9, 1), reason="重複")
    request_approve(actor=w["chief"], request=s.release_request, decided_on=D(2024, 9, 1))  # type: ignore[arg-type]
    s.refresh_from_db()
    assert (s.status, s.released_on) == (SeizureStatus.RELEASED, D(2024, 9, 1))


def test_a_rejected_seizure_never_takes_effect(w: dict[str, Any]) -> None:
    s = seize(w)
    request_reject(actor=w["chief"], request=s.request, comment="預金残高の確認が古い")  # type: ignore[arg-type]
    s.refresh_from_db()
    # stored at once (approvals.CLOSERS), not only shown so
    assert s.status == SeizureStatus.WITHDRAWN and s.request.status == ApprovalStatus.REJECTED  # type: ignore[union-attr]
    with pytest.raises(ValidationError, match="差押中のものだけ"):
        seizure_release_request(actor=w["officer"], seizure=s, on=D(2024, 9, 1), reason="x")


def test_team_scope_and_rights(w: dict[str, Any]) -> None:
    with pytest.raises(PermissionDenied, match="担当班"):
        seize(w, actor="other")
    with pytest.raises(PermissionDenied, match="滞納処分を起案する権限"):
        seize(w, actor="clerk")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"description": " "}, "財産の表示"),
        ({"note": ""}, "理由"),
        ({"third_party_name": ""}, "第三債務者"),
        ({"kind": "gold"}, "定義されていません"),
        ({"amount": -1}, "0円以上"),
    ],
)
def test_bad_input_is_refused_and_nothing_is_written(
    w: dict[str, Any], change: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        seize(w, **change)
    assert not Seizure.objects.exists()


def test_installment_of_another_person_is_refused(w: dict[str, Any]) -> None:
    with pytest.raises(ValidationError, match="この宛名のものではない"):
        seize(w, inst("500001"))


def test_salary_seizure_amount_is_the_seizable_part(w: dict[str, Any]) -> None:
    """The published example (rules/tests/test_seizure.py): 282,078円, 所得税 4,280円, 住民税 4,700円,
    社会保険料 47,680円, 2 relatives → to the yen 28,334円 seizable per pay."""
    pay = {
        "pay": 282_078,
        "income_tax": 4_280,
        "resident_tax": 4_700,
        "social_insurance": 47_680,
        "relatives": 2,
    }
    s = seize(w, kind="salary", description="給料 毎月25日払", third_party_name="株式会社キューポラ", amount=None,
              salary=pay)  # fmt: skip
    assert s.amount == 28_334
    assert s.salary["exempt"] == 282_078 - 28_334 and s.salary["living"] == 190_000
    with pytest.raises(ValidationError, match="差押可能額"):
        seize(
            w,
            kind="salary",
            description="給料",
            third_party_name="株式会社キューポラ",
            amount=30_000,
            salary=pay,
        )
    with pytest.raises(ValidationError, match="差し押さえられる額がありません"):
        seize(w, kind="salary", description="給料", third_party_name="株式会社キューポラ", amount=None,
              salary={**pay, "pay": 150_000})  # fmt: skip
