"""口座振替 screens (issue 17 §5): a permission matrix for every view (anonymous, a role without the
right, another municipality, the right role), the entry posting a 決裁, bad input answered 400, the
notices as PDF and the print CSV in CP932."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from conftest import login_verified
from django.test import Client
from django.urls import reverse

from choshu.audit.models import AuditKind, AuditLog
from choshu.debits.models import DebitLine, LineStatus, Mandate, MandateStatus, NoticeState, StartNotice
from choshu.debits.notices import PRINT_HEADER, notices_print_data
from choshu.debits.requests import debit_request
from choshu.debits.tests.zengin_bytes import result_file
from choshu.receipts.services import payments_import
from choshu.taxpayers.models import Taxpayer

pytestmark = pytest.mark.django_db
D = date


@pytest.fixture
def world(debit_city: Any, people: dict[str, Any], tmp_path: Path) -> dict[str, Any]:
    """One failed debit (1002, code 1) and its run; the mandates of the fixture."""
    s = debit_request(municipality=debit_city, debit_date=D(2024, 5, 31), out_dir=tmp_path)
    line = DebitLine.objects.get()
    path = tmp_path / "r.txt"
    path.write_bytes(result_file(Path(s.files[0]["path"]).read_bytes(), {str(line.pk): "1"}))
    payments_import(municipality=debit_city, channel="zengin", path=path)
    m = Mandate.objects.get(taxpayer__taxpayer_no="1001")
    return {"run": s.run_id, "line": line.pk, "mandate": m.pk, "taxpayer": m.taxpayer_id}


VIEW, EDIT = "view", "edit"  # what the 窓口委託 role may: TAXPAYER_VIEW yes, anything else no


def _urls(w: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """(url, method, right-holding role, kind) of every debits view."""
    return [
        (reverse("debits:person", args=[w["taxpayer"]]), "get", "clerk", VIEW),
        (reverse("debits:mandate-new", args=[w["taxpayer"]]), "get", "clerk", EDIT),
        (reverse("debits:mandate-end", args=[w["mandate"]]), "get", "clerk", EDIT),
        (reverse("debits:mandate-override", args=[w["mandate"]]), "post", "chief", EDIT),
        (reverse("debits:mandate-resume", args=[w["mandate"]]), "post", "clerk", EDIT),
        (reverse("debits:start-notice", args=[w["mandate"]]), "get", "clerk", VIEW),
        (reverse("debits:runs"), "get", "chief", EDIT),
        (reverse("debits:run", args=[w["run"]]), "get", "chief", EDIT),
        (reverse("debits:failures"), "get", "clerk", VIEW),
        (reverse("debits:failure-done", args=[w["line"]]), "post", "clerk", EDIT),
        (reverse("debits:failure-notice", args=[w["line"]]), "get", "clerk", VIEW),
    ]


def test_every_view_refuses_the_anonymous_and_the_unentitled(
    world: dict[str, Any], people: dict[str, Any]
) -> None:
    anonymous = Client()
    window = login_verified(Client(), people["window"])  # 窓口委託: no edit right, no import right
    clerk = login_verified(Client(), people["clerk"])
    for url, method, role, kind in _urls(world):
        assert getattr(anonymous, method)(url).status_code == 302, url
        if role == "chief":
            assert getattr(clerk, method)(url).status_code == 403, url
        assert (getattr(window, method)(url).status_code == 403) == (kind == EDIT), url


def test_another_municipality_gets_not_found(
    world: dict[str, Any], other_municipality: Any, make_user: Callable[..., Any]
) -> None:
    stranger = login_verified(Client(), make_user("chief-x", role="chief", municipality=other_municipality))
    for url, method, _, _ in _urls(world):
        if url.endswith(("/runs/", "/failures/")):
            continue  # lists of the user's own municipality
        assert getattr(stranger, method)(url).status_code == 404, url


def test_the_right_roles_see_every_page(world: dict[str, Any], people: dict[str, Any]) -> None:
    users = {r: login_verified(Client(), people[r]) for r in ("clerk", "chief")}
    for url, method, role, _ in _urls(world):
        if method == "get":
            response = users[role].get(url)
            assert response.status_code == 200, url
    pdf = users["clerk"].get(reverse("debits:failure-notice", args=[world["line"]]))
    assert pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    assert AuditLog.objects.filter(kind=AuditKind.ACCESS, function="振替不能通知の出力").exists()


def test_the_entry_posts_a_request_and_bad_input_is_answered_400(
    people: dict[str, Any], debit_city: Any
) -> None:
    clerk = login_verified(Client(), people["clerk"])
    tp = Taxpayer.objects.get(taxpayer_no="2001")
    url = reverse("debits:mandate-new", args=[tp.pk])
    form = {"tax_item": "", "bank_code": "0001", "branch_code": "001", "deposit_type": "1", "account": "55",
            "holder_name": "キューポラ", "start": "2024-06-01", "received_on": "2024-05-20", "reason": "受付"}  # fmt: skip
    bad = clerk.post(url, {**form, "holder_name": "株式会社キューポラ"})
    assert bad.status_code == 400 and "全銀" in bad.content.decode()
    assert clerk.post(url, {**form, "start": "2024-13-01"}).status_code == 400
    assert clerk.post(url + "?replaces=abc", form).status_code == 404
    assert not Mandate.objects.filter(taxpayer=tp).exists()
    ok = clerk.post(url, form)
    assert ok.status_code == 200 and "決裁を申請しました" in ok.content.decode()
    assert Mandate.objects.get(taxpayer=tp).status == MandateStatus.PENDING


def test_following_up_a_failure_takes_it_off_the_list(world: dict[str, Any], people: dict[str, Any]) -> None:
    clerk = login_verified(Client(), people["clerk"])
    assert clerk.post(reverse("debits:failure-done", args=[world["line"]]), {"note": ""}).status_code == 400
    r = clerk.post(reverse("debits:failure-done", args=[world["line"]]), {"note": "納付書を送付"})
    assert r.status_code == 302
    assert DebitLine.objects.get(pk=world["line"]).followed_up_by == people["clerk"]
    assert "対応が必要な振替不能はありません" in clerk.get(reverse("debits:failures")).content.decode()


def test_the_print_csv_is_cp932_and_marks_the_notices_printed(world: dict[str, Any], tmp_path: Path) -> None:
    city = Taxpayer.objects.get(pk=world["taxpayer"]).municipality
    out = tmp_path / "print.csv"
    counts = notices_print_data(municipality=city, out=out, on=D(2024, 6, 3))
    assert counts == {"start_notices": 2, "failure_notices": 1}
    rows = list(csv.reader(io.StringIO(out.read_bytes().decode("cp932"))))
    assert tuple(rows[0]) == PRINT_HEADER
    failure = [r for r in rows[1:] if r[0] == "口座振替不能通知"]
    assert [(r[1], r[10], r[11], r[12]) for r in failure] == [("1002", "10800", "1", "資金不足")]
    assert DebitLine.objects.get(pk=world["line"]).notice == NoticeState.PRINTED
    assert set(StartNotice.objects.values_list("state", flat=True)) == {NoticeState.PRINTED}
    again = notices_print_data(municipality=city, out=tmp_path / "again.csv", on=D(2024, 6, 3))
    assert again == {"start_notices": 0, "failure_notices": 0}
    assert DebitLine.objects.get(pk=world["line"]).status == LineStatus.FAILED


def test_a_protected_persons_address_never_reaches_the_print_file(
    world: dict[str, Any], tmp_path: Path
) -> None:
    tp = Taxpayer.objects.get(taxpayer_no="1002")
    tp.support_measure_from = D(2024, 1, 1)
    tp.save(update_fields=["support_measure_from"])
    out = tmp_path / "print.csv"
    notices_print_data(municipality=tp.municipality, out=out, on=D(2024, 6, 3))
    rows = [r for r in csv.reader(io.StringIO(out.read_bytes().decode("cp932"))) if r[1] == "1002"]
    assert rows and all(r[4] == "" and r[5] == "はい" for r in rows)
    assert "鳩ヶ谷本町" not in out.read_bytes().decode("cp932")


def test_a_suspended_mandate_is_resumed_with_a_reason(world: dict[str, Any], people: dict[str, Any]) -> None:
    Mandate.objects.filter(pk=world["mandate"]).update(status=MandateStatus.SUSPENDED)
    clerk = login_verified(Client(), people["clerk"])
    url = reverse("debits:mandate-resume", args=[world["mandate"]])
    assert clerk.post(url, {"note": ""}).status_code == 400
    assert clerk.post(url, {"note": "口座を確認"}).status_code == 302
    assert Mandate.objects.get(pk=world["mandate"]).status == MandateStatus.ACTIVE
    assert clerk.post(url, {"note": "もう一度"}).status_code == 400  # only a suspended one


def test_the_failure_notice_carries_the_installments_slip(world: dict[str, Any]) -> None:
    from choshu.debits.notices import failure_notice_data

    line = DebitLine.objects.select_related("taxpayer", "installment__levy").get(pk=world["line"])
    d = failure_notice_data(line, on=D(2024, 6, 3), user=None)
    assert d.slip is not None and d.slip.slip_no == line.installment.slip_no
    assert d.slip.pay_by == D(2024, 6, 17) and d.slip.principal == 10800  # 本税 still owed
    assert d.slip.ocr_lower and d.slip.confirmation_no
    assert ("振替できなかった理由", "1 資金不足") in d.rows
