"""Screens of 滞納処分 (issue 19 §5): an officer records a seizure from the case, it waits in the
approvals queue, a chief approves it there; permissions (right ``enforcement``, team scope → 404),
access records, the case file section, the PDFs and the 支援措置 refusal."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from choshu.audit.models import AuditLog
from choshu.cases.models import Stage
from choshu.enforcement.models import Seizure, SeizureStatus
from choshu.enforcement.tests.conftest import D, inst

pytestmark = pytest.mark.django_db
TODAY = D(2024, 8, 1)


@pytest.fixture(autouse=True)
def _today(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(timezone, "localdate", lambda *a, **k: TODAY)


def login(user: Any) -> Client:
    from conftest import login_verified

    return login_verified(Client(), user)


def post_seizure(c: Client, w: dict[str, Any], **extra: Any) -> Any:
    data = {
        "kind": "deposit", "installments": [str(inst("400001").pk)], "description": "川口信用金庫 本店 普通 1234567",
        "third_party_name": "川口信用金庫", "third_party_address": "埼玉県川口市本町1-1-1",
        "executed_on": "2024-08-01", "amount": "12000", "note": "預金照会の回答で残高を確認",
    }  # fmt: skip
    data.update(extra)
    return c.post(f"/enforcement/cases/{w['case'].pk}/seizures/new/", data)


def test_officer_records_a_seizure_that_a_chief_approves_in_the_queue(w: dict[str, Any]) -> None:
    officer = login(w["officer"])
    page = officer.get(f"/cases/{w['case'].pk}/")
    assert (
        page.status_code == 200
        and "滞納処分" in page.content.decode()
        and "差押を起案する" in page.content.decode()
    )
    r = post_seizure(officer, w)
    assert r.status_code == 200, r.content.decode()
    assert "決裁を申請しました" in r.content.decode()
    s = Seizure.objects.get()
    assert s.status == SeizureStatus.PENDING
    assert AuditLog.objects.filter(function="差押の起案").exists()
    # the list shows the next step
    assert "決裁（差押）を待つ" in officer.get("/enforcement/seizures/").content.decode()
    # the PDF waits for approval
    assert officer.get(f"/enforcement/seizures/{s.pk}/record.pdf").status_code == 409
    chief = login(w["chief"])
    queue = chief.get("/approvals/").content.decode()
    assert "滞納処分" in queue
    detail = chief.get(f"/approvals/{s.request_id}/").content.decode()
    assert "川口信用金庫" in detail
    chief.post(f"/approvals/{s.request_id}/approve/", {"comment": "可"})
    s.refresh_from_db()
    w["case"].refresh_from_db()
    assert s.status == SeizureStatus.ACTIVE and w["case"].stage == Stage.ENFORCEMENT
    for doc in ("record", "notice"):
        pdf = officer.get(f"/enforcement/seizures/{s.pk}/{doc}.pdf")
        assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    # served date, then a collection request from the seizure page
    r = officer.post(f"/enforcement/seizures/{s.pk}/", {"action": "served", "served_on": "2024-08-01"})
    assert r.status_code == 200 and "送達日を記録しました" in r.content.decode()
    r = officer.post(
        f"/enforcement/seizures/{s.pk}/",
        {"action": "collect", "amount": "abc", "received_on": "x", "note": ""},
    )
    assert r.status_code == 400 and "整数" in r.content.decode()
    # 滞納処分費 from the seizure page: a receivable of its own, change-logged
    r = officer.post(f"/enforcement/seizures/{s.pk}/", {"action": "cost", "kind": "postage", "amount": "1040",
                                                        "incurred_on": "2024-08-01", "note": "差押書の郵送"})  # fmt: skip
    assert r.status_code == 200 and "滞納処分費 1,040円 を記録しました" in r.content.decode()
    assert AuditLog.objects.filter(function="滞納処分費の記録").exists()
    bad = officer.post(f"/enforcement/seizures/{s.pk}/", {"action": "cost", "kind": "postage", "amount": "-1",
                                                          "incurred_on": "2024-08-01", "note": "x"})  # fmt: skip
    assert bad.status_code == 400 and "1円以上" in bad.content.decode()


def test_seizure_refused_on_screen_before_ten_days(w: dict[str, Any]) -> None:
    r = post_seizure(login(w["officer"]), w, executed_on="2024-07-20")
    assert r.status_code == 400
    assert "10日を経過していません" in r.content.decode()
    assert not Seizure.objects.exists()


def test_rights_and_team_scope(w: dict[str, Any]) -> None:
    assert login(w["clerk"]).get("/enforcement/seizures/").status_code == 403
    assert post_seizure(login(w["clerk"]), w).status_code == 403
    other = login(w["other"])
    assert other.get(f"/enforcement/cases/{w['case'].pk}/seizures/new/").status_code == 404
    post_seizure(login(w["officer"]), w)
    s = Seizure.objects.get()
    assert other.get(f"/enforcement/seizures/{s.pk}/").status_code == 404
    assert other.get(f"/enforcement/seizures/{s.pk}/record.pdf").status_code == 404
    assert login(w["officer"]).get(f"/enforcement/seizures/{s.pk}/").status_code == 200


def test_protected_persons_documents_are_refused(w: dict[str, Any]) -> None:
    post_seizure(login(w["officer"]), w)
    s = Seizure.objects.get()
    chief = login(w["chief"])
    chief.post(f"/approvals/{s.request_id}/approve/", {"comment": ""})
    tp = s.taxpayer
    tp.support_measure_from = D(2024, 1, 1)
    tp.save(update_fields=["support_measure_from"])
    r = login(w["officer"]).get(f"/enforcement/seizures/{s.pk}/notice.pdf")
    assert r.status_code == 409
    assert "支援措置" in r.content.decode()
    assert b"%PDF" not in r.content


def test_open_seizures_list_filters_by_next_step(w: dict[str, Any]) -> None:
    officer, chief = login(w["officer"]), login(w["chief"])
    post_seizure(officer, w)
    post_seizure(officer, w, kind="real_estate", third_party_name="", description="川口市本町1丁目 宅地",
                 amount="900000", installments=[str(inst("100001").pk)])  # fmt: skip
    dep, land = Seizure.objects.order_by("pk")
    url = "/enforcement/seizures/"

    def listed(step: str) -> set[int]:
        page = officer.get(url, {"step": step}).content.decode()
        return {s.pk for s in (dep, land) if f"/enforcement/seizures/{s.pk}/" in page}

    assert listed("approval") == {dep.pk, land.pk} and listed("serve") == set()
    for s in (dep, land):
        chief.post(f"/approvals/{s.request_id}/approve/", {"comment": "可"})
    assert listed("approval") == set() and listed("serve") == {dep.pk, land.pk}
    for s in (dep, land):
        officer.post(f"/enforcement/seizures/{s.pk}/", {"action": "served", "served_on": "2024-08-01"})
    assert listed("collect") == {dep.pk} and listed("sale") == {land.pk}
    assert "取立待ち" in officer.get(url).content.decode()
    # paid: 解除可
    i = inst("400001")
    i.principal_outstanding = 0
    i.save(update_fields=["principal_outstanding"])
    assert listed("release") == {dep.pk} and listed("collect") == set()
    assert "解除可（完納）" in officer.get(url, {"step": "release"}).content.decode()
    # kind filter, team filter (the chief sees every team), another team sees none
    page = officer.get(url, {"kind": "real_estate"}).content.decode()
    assert f"/enforcement/seizures/{land.pk}/" in page and f'/enforcement/seizures/{dep.pk}/"' not in page
    assert f"/enforcement/seizures/{dep.pk}/" in chief.get(url, {"team": "整理1班"}).content.decode()
    assert f"/enforcement/seizures/{dep.pk}/" not in chief.get(url, {"team": "整理2班"}).content.decode()
    assert f"/enforcement/seizures/{dep.pk}/" not in login(w["other"]).get(url).content.decode()
    assert AuditLog.objects.filter(function="差押の一覧", detail__step="release").exists()
