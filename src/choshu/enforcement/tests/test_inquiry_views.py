"""財産調査の画面 (issue 19 §1, §6): building a batch from chosen cases (exactly the recipients and
people chosen, one letter per recipient), the batch list's counts (照会・回答済・期限超過 after the
configured days), the letters (no 支援措置 person's address), the answer entry recorded as assets;
permissions (right ``enforcement`` → 403, another team → 404) and the access / change records."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from choshu.audit.models import AuditKind, AuditLog
from choshu.enforcement.models import Asset, Inquiry, InquiryBatch
from choshu.enforcement.tests.conftest import D
from choshu.enforcement.tests.test_inquiries import employ
from choshu.taxpayers.models import Taxpayer

pytestmark = pytest.mark.django_db
TODAY = D(2024, 8, 1)


@pytest.fixture
def today(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    box = [TODAY]
    monkeypatch.setattr(timezone, "localdate", lambda *a, **k: box[0])
    return box


def login(user: Any) -> Client:
    from conftest import login_verified

    return login_verified(Client(), user)


def build(c: Client, w: dict[str, Any], **extra: Any) -> Any:
    data = {"kind": "deposit", "as_of": "2024-08-01", "answer_days": "14", "cases": [str(w["case"].pk)],
            "recipients": "0001:みずほ銀行\n1234:川口信用金庫:e"}  # fmt: skip
    data.update(extra)
    return c.post("/enforcement/inquiries/new/", data)


def test_officer_builds_a_deposit_batch_one_letter_per_bank(w: dict[str, Any], today: list[Any]) -> None:
    officer = login(w["officer"])
    form = officer.get("/enforcement/inquiries/new/").content.decode()
    assert "照会を作成する" in form and w["case"].taxpayer.name in form
    r = build(officer, w)
    assert r.status_code == 302, r.content.decode()
    b = InquiryBatch.objects.get()
    assert (b.team, b.kind) == ("整理1班", "deposit")
    assert sorted(Inquiry.objects.values_list("recipient_name", "taxpayer__taxpayer_no")) == [
        ("みずほ銀行", "1001"),
        ("川口信用金庫", "1001"),
    ]
    assert AuditLog.objects.filter(kind=AuditKind.CHANGE, function="財産調査の照会の作成（預貯金）").exists()
    page = officer.get(f"/enforcement/inquiries/{b.pk}/").content.decode()
    assert "照会書（PDF）" in page and "電子照会（CSV）" in page and "照会中" in page
    pdf = officer.get(f"/enforcement/inquiries/{b.pk}/letters/0/")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    got = officer.get(f"/enforcement/inquiries/{b.pk}/letters/1/")
    rows = list(csv.reader(io.StringIO(got.content.decode("cp932"))))
    assert [r[4] for r in rows[1:]] == ["1001"] and rows[1][9] == "埼玉県川口市東川口1-2-3"
    assert officer.get(f"/enforcement/inquiries/{b.pk}/letters/2/").status_code == 404
    assert AuditLog.objects.filter(function="財産調査の照会書の作成").count() == 2
    # the list: 2 照会, none answered, none overdue; overdue after the 14 days
    lst = officer.get("/enforcement/inquiries/").content.decode()
    assert f"#{b.pk}" in lst and "<strong>" not in lst
    today[0] = D(2024, 8, 16)
    lst = officer.get("/enforcement/inquiries/").content.decode()
    assert "<strong>2</strong>" in lst
    assert "期限超過" in officer.get(f"/enforcement/inquiries/{b.pk}/?state=overdue").content.decode()


def test_answer_entry_records_assets(w: dict[str, Any], today: list[Any]) -> None:
    officer = login(w["officer"])
    build(officer, w)
    inq = Inquiry.objects.get(recipient_name="みずほ銀行")
    url = f"/enforcement/inquiries/answers/{inq.pk}/"
    assert "回答を記録する" in officer.get(url).content.decode()
    bad = officer.post(url, {"answered_on": "2024-08-01", "note": "残高あり", "asset_kind_0": "deposit"})
    assert bad.status_code == 400 and "種類と表示の両方" in bad.content.decode()
    assert not Asset.objects.exists()
    r = officer.post(url, {
        "answered_on": "2024-08-01", "note": "残高あり", "asset_kind_0": "deposit",
        "asset_description_0": "本店 普通 7654321", "asset_amount_0": "120000",
        "asset_kind_1": "insurance", "asset_description_1": "定期保険 証券 A-1",
    })  # fmt: skip
    assert r.status_code == 200 and "財産 2 件" in r.content.decode()
    a = Asset.objects.get(kind="deposit")
    assert (a.holder, a.amount, a.as_of, a.source) == ("みずほ銀行", 120_000, TODAY, "照会回答（みずほ銀行）")
    inq.refresh_from_db()
    assert inq.answered_on == TODAY
    assert AuditLog.objects.filter(kind=AuditKind.CHANGE, function="財産調査の回答の記録").exists()
    again = officer.post(url, {"answered_on": "2024-08-01", "note": "x"})
    assert again.status_code == 400 and "回答済" in again.content.decode()


def test_salary_batch_goes_to_the_employer(w: dict[str, Any], today: list[Any]) -> None:
    officer = login(w["officer"])
    none = build(officer, w, kind="salary", recipients="")
    assert none.status_code == 400 and "勤務先" in none.content.decode()
    employ(w, "1001")
    assert build(officer, w, kind="salary", recipients="").status_code == 302
    assert list(Inquiry.objects.values_list("recipient_name", flat=True)) == ["株式会社キューポラ"]


def test_bad_input_writes_nothing(w: dict[str, Any], today: list[Any]) -> None:
    officer = login(w["officer"])
    cases: list[tuple[dict[str, Any], str]] = [
        ({"recipients": "bad"}, "コード:名称"),
        ({"recipients": ""}, "照会先"),
        ({"kind": "pension", "recipients": "1:a:e"}, "電子照会"),
        ({"cases": []}, "滞納案件"),
        ({"answer_days": "0"}, "1日以上"),
        ({"as_of": "2024-13-01"}, "年-月-日"),
    ]
    for extra, msg in cases:
        r = build(officer, w, **extra)
        assert r.status_code == 400 and msg in r.content.decode(), (extra, r.content.decode())
    assert not InquiryBatch.objects.exists() and not Inquiry.objects.exists()


def test_protected_person_has_no_address_in_the_letters(w: dict[str, Any], today: list[Any]) -> None:
    tp = Taxpayer.objects.get(taxpayer_no="1001")
    tp.support_measure_from = D(2024, 1, 1)
    tp.save(update_fields=["support_measure_from"])
    officer = login(w["officer"])
    build(officer, w)
    b = InquiryBatch.objects.get()
    text = officer.get(f"/enforcement/inquiries/{b.pk}/letters/1/").content.decode("cp932")
    assert "1001" in text and "東川口" not in text and "3330801" not in text
    log = AuditLog.objects.filter(function="財産調査の照会書の作成").latest("pk")
    assert log.detail.get("protected") is True


def test_rights_and_team_scope(w: dict[str, Any], today: list[Any]) -> None:
    clerk = login(w["clerk"])
    for url in ("/enforcement/inquiries/", "/enforcement/inquiries/new/"):
        assert clerk.get(url).status_code == 403
    build(login(w["officer"]), w)
    b = InquiryBatch.objects.get()
    inq = Inquiry.objects.first()
    assert inq is not None
    other = login(w["other"])
    for url in (f"/enforcement/inquiries/{b.pk}/", f"/enforcement/inquiries/{b.pk}/letters/0/",
                f"/enforcement/inquiries/answers/{inq.pk}/"):  # fmt: skip
        assert other.get(url).status_code == 404
        assert clerk.get(url).status_code == 403
    assert f"#{b.pk}" not in other.get("/enforcement/inquiries/").content.decode()
    # another team's case cannot be chosen
    r = build(other, w)
    assert r.status_code == 400 and InquiryBatch.objects.count() == 1
    # the chief (every team) sees it
    assert login(w["chief"]).get(f"/enforcement/inquiries/{b.pk}/").status_code == 200
    assert AuditLog.objects.filter(function="財産調査の照会の照会").exists()
