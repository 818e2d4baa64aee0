"""Permission and content tests for every relief screen, and the person page's 時効 section."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from conftest import login_verified
from django.test import Client
from django.urls import reverse

from choshu.accounts.models import Role
from choshu.audit.models import AuditKind, AuditLog
from choshu.relief.tests.conftest import cmd, inst

pytestmark = pytest.mark.django_db

URLS = {
    "relief:prescriptions": Role.WINDOW_CONTRACTOR,  # needs 宛名・収納状況の照会
    "relief:write-offs": Role.CHIEF,  # needs 不納欠損
    "relief:write-off-csv": Role.CHIEF,
    "relief:reliefs": Role.CASE_OFFICER,  # needs 緩和制度
    "relief:relief-new": Role.CASE_OFFICER,
}


@pytest.fixture
def staff(old_city: Any, make_user: Callable) -> dict[str, Any]:
    cmd("prescription_run", "--as-of", "2026-12-01", "--municipality", old_city.code)
    return {
        role: make_user(f"u-{role}", role=role, municipality=old_city)
        for role in (
            Role.CHIEF,
            Role.CLERK,
            Role.WINDOW_CONTRACTOR,
            Role.CALLCENTER_OPERATOR,
            Role.CASE_OFFICER,
        )
    }


@pytest.mark.parametrize("name", sorted(URLS))
def test_anonymous_users_go_to_the_login_page(staff: dict[str, Any], name: str) -> None:
    r = Client().get(reverse(name))
    assert r.status_code == 302 and "login" in r["Location"]


@pytest.mark.parametrize("name", sorted(URLS))
def test_staff_without_the_right_get_403(staff: dict[str, Any], name: str) -> None:
    client = login_verified(Client(), staff[Role.CALLCENTER_OPERATOR])
    assert client.get(reverse(name)).status_code == 403
    if URLS[name] in (Role.CHIEF, Role.CASE_OFFICER):
        assert login_verified(Client(), staff[Role.CLERK]).get(reverse(name)).status_code == 403


@pytest.mark.parametrize("name", sorted(URLS))
def test_staff_with_the_right_see_the_screen(staff: dict[str, Any], name: str) -> None:
    client = login_verified(Client(), staff[URLS[name]])
    assert client.get(reverse(name)).status_code == 200


def test_the_list_of_coming_prescriptions_is_logged_and_bad_input_answers_400(staff: dict[str, Any]) -> None:
    client = login_verified(Client(), staff[Role.CLERK])
    r = client.get(reverse("relief:prescriptions"), {"months": "6"})
    text = r.content.decode()
    assert "210001" not in text  # the notice number is not shown; the person is
    assert "鳩ヶ谷 花子" in text and "川口 太郎" in text
    log = AuditLog.objects.filter(kind=AuditKind.ACCESS, function="時効が近い徴収金の一覧").latest("pk")
    assert set(log.subject_ids) == {inst("210001").taxpayer_id, inst("220001").taxpayer_id}
    narrow = client.get(reverse("relief:prescriptions"), {"months": "4"}).content.decode()
    assert "鳩ヶ谷 花子" in narrow and "川口 太郎" not in narrow  # 2027-03-16 within 4 months, 05-01 not
    bad = client.get(reverse("relief:prescriptions"), {"months": "x"})
    assert bad.status_code == 400 and "数字で指定" in bad.content.decode()


def test_the_write_off_screens_answer_bad_years_with_400(staff: dict[str, Any]) -> None:
    client = login_verified(Client(), staff[Role.CHIEF])
    assert client.get(reverse("relief:write-offs"), {"year": "abc"}).status_code == 400
    assert client.get(reverse("relief:write-off-csv"), {"year": "1900"}).status_code == 400
    r = client.get(reverse("relief:write-off-csv"), {"year": "2024"})
    assert r["Content-Type"] == "text/csv; charset=cp932"
    assert r.content.decode("cp932").startswith("会計年度,")
    assert AuditLog.objects.filter(kind=AuditKind.EXPORT, function__startswith="不納欠損").exists()


def test_the_person_page_shows_each_installments_prescription_and_why(staff: dict[str, Any]) -> None:
    client = login_verified(Client(), staff[Role.CLERK])
    tp = inst("190002").taxpayer_id
    text = client.get(reverse("web:taxpayer-overview", args=[tp])).content.decode()
    assert "時効（徴収権の消滅）" in text
    assert 'datetime="2024-07-21"' in text and "（消滅済み）" in text  # 190002, after its 督促
    assert 'datetime="2027-03-16"' in text  # 210001, renewed by the partial payment
    assert "督促（R1.7.10）：指定期限の翌日（R1.7.21）から新たに進行" in text  # the why, in 和暦


def test_an_officer_records_a_relief_a_chief_approves_and_extends_it_on_screen(staff: dict[str, Any]) -> None:
    from choshu.approvals.services import request_approve
    from choshu.relief.models import Relief, ReliefStatus
    from choshu.relief.tests.conftest import TODAY

    officer = login_verified(Client(), staff[Role.CASE_OFFICER])
    slip = inst("210001").slip_no
    bad = officer.post(reverse("relief:relief-new"), {"kind": "collection_deferral", "ground": "disaster",
                       "slip_nos": "1234", "start": "2023-04-01", "end": "2024-03-31", "note": "台風"})  # fmt: skip
    assert bad.status_code == 400 and "見つかりません" in bad.content.decode()
    too_long = officer.post(reverse("relief:relief-new"), {"kind": "collection_deferral", "ground": "disaster",
                            "slip_nos": slip, "start": "2023-04-01", "end": "2024-04-01", "note": "台風"})  # fmt: skip
    assert too_long.status_code == 400 and "1年以内" in too_long.content.decode()
    ok = officer.post(reverse("relief:relief-new"), {"kind": "collection_deferral", "ground": "disaster",
                      "slip_nos": slip, "start": "2023-04-01", "end": "2024-03-31", "note": "台風"})  # fmt: skip
    assert ok.status_code == 200 and "決裁を申請しました" in ok.content.decode()
    relief = Relief.objects.get()
    assert relief.status == ReliefStatus.PENDING
    request_approve(actor=staff[Role.CHIEF], request=relief.request, decided_on=TODAY)  # type: ignore[arg-type]
    page = officer.get(reverse("relief:relief", args=[relief.pk]))
    assert page.status_code == 200 and "適用中" in page.content.decode()
    ext = officer.post(reverse("relief:relief", args=[relief.pk]),
                       {"action": "extend", "new_end": "2025-04-01", "reason": "復旧が遅れている"})  # fmt: skip
    assert ext.status_code == 400 and "2年以内" in ext.content.decode()
    ext = officer.post(reverse("relief:relief", args=[relief.pk]),
                       {"action": "extend", "new_end": "2025-03-31", "reason": "復旧が遅れている"})  # fmt: skip
    assert ext.status_code == 200 and "決裁を申請しました" in ext.content.decode()
    person = officer.get(reverse("web:taxpayer-overview", args=[relief.taxpayer_id])).content.decode()
    assert f"徴収猶予（法15条） #{relief.pk}" in person and "適用中" in person
    listing = officer.get(reverse("relief:reliefs")).content.decode()
    assert f"#{relief.pk}" in listing and "鳩ヶ谷 花子" in listing
    assert AuditLog.objects.filter(kind=AuditKind.ACCESS, function="緩和制度の照会").exists()


def test_a_relief_of_another_municipality_is_not_found(staff: dict[str, Any], other_municipality: Any,
                                                        make_user: Callable) -> None:  # fmt: skip
    from choshu.relief.relief import relief_request

    i = inst("210001")
    r = relief_request(actor=staff[Role.CASE_OFFICER], taxpayer=i.taxpayer, kind="collection_deferral",
                       ground="illness", installments=[i], start=i.due_date, end=i.due_date, note="入院")  # fmt: skip
    stranger = make_user("stranger", role=Role.CHIEF, municipality=other_municipality)
    assert login_verified(Client(), stranger).get(reverse("relief:relief", args=[r.pk])).status_code == 404
