"""二人以上の担当者によるチェック: staff changes to personal information wait for a second person."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from choshu.accounts.models import Role
from choshu.approvals.models import ApprovalStatus, ChangeRequest
from choshu.approvals.services import request_approve, request_reject, request_withdraw
from choshu.audit.models import AuditLog
from choshu.taxpayers.changes import my_number_link_request, taxpayer_edit_request
from choshu.taxpayers.crypto import decrypt_my_number
from choshu.taxpayers.models import Taxpayer

DECIDED_ON = date(2024, 6, 10)


@pytest.fixture
def staff(sample_city: Any, make_user: Callable) -> dict[str, Any]:
    return {
        "clerk": make_user("clerk", role=Role.CLERK, municipality=sample_city),
        "clerk2": make_user("clerk2", role=Role.CLERK, municipality=sample_city),
        "chief": make_user("chief", role=Role.CHIEF, municipality=sample_city),
        "chief2": make_user("chief2", role=Role.CHIEF, municipality=sample_city),
    }


def hanako() -> Taxpayer:
    return Taxpayer.objects.get(taxpayer_no="1002")


def test_a_correction_takes_effect_only_after_a_second_person_approves(staff: dict[str, Any]) -> None:
    req = taxpayer_edit_request(
        actor=staff["clerk"],
        taxpayer=hanako(),
        reason="転居届",
        changes={"address": "埼玉県川口市本町1-1-1", "address_extra": ""},
    )
    assert hanako().address == "埼玉県川口市鳩ヶ谷本町2-1-1"  # nothing changed yet
    assert req.status == ApprovalStatus.PENDING and req.before["address"] == "埼玉県川口市鳩ヶ谷本町2-1-1"
    request_approve(actor=staff["chief"], request=req, decided_on=DECIDED_ON, comment="確認済")
    tp = hanako()
    assert tp.address == "埼玉県川口市本町1-1-1" and tp.revision == 2
    rev = tp.revisions.get(revision=2)
    assert (
        rev.changed_by == staff["clerk"]
        and "決裁" in rev.reason
        and rev.changed_fields == ["address", "address_extra"]
    )
    req.refresh_from_db()
    assert (req.status, req.decided_by) == (ApprovalStatus.APPROVED, staff["chief"])


def test_nobody_approves_their_own_request(staff: dict[str, Any]) -> None:
    req = taxpayer_edit_request(
        actor=staff["chief"], taxpayer=hanako(), changes={"phone": "048-000-0000"}, reason="本人申出"
    )
    with pytest.raises(PermissionDenied):
        request_approve(actor=staff["chief"], request=req, decided_on=DECIDED_ON)
    with pytest.raises(PermissionDenied):
        request_reject(actor=staff["chief"], request=req, comment="x")
    assert hanako().phone == ""
    request_approve(actor=staff["chief2"], request=req, decided_on=DECIDED_ON)
    assert hanako().phone == "048-000-0000"


def test_a_person_without_the_approval_right_cannot_approve(staff: dict[str, Any]) -> None:
    req = taxpayer_edit_request(actor=staff["clerk"], taxpayer=hanako(), changes={"phone": "1"}, reason="r")
    with pytest.raises(PermissionDenied):
        request_approve(actor=staff["clerk2"], request=req, decided_on=DECIDED_ON)
    assert ChangeRequest.objects.get(pk=req.pk).status == ApprovalStatus.PENDING


def test_a_rejected_or_withdrawn_request_changes_nothing_and_cannot_be_decided_again(
    staff: dict[str, Any],
) -> None:
    req = taxpayer_edit_request(
        actor=staff["clerk"], taxpayer=hanako(), changes={"name": "鳩ヶ谷 華子"}, reason="r"
    )
    with pytest.raises(ValidationError):
        request_reject(actor=staff["chief"], request=req, comment=" ")
    request_reject(actor=staff["chief"], request=req, comment="戸籍と不一致")
    assert hanako().name == "鳩ヶ谷 花子"
    with pytest.raises(ValidationError):
        request_approve(actor=staff["chief2"], request=req, decided_on=DECIDED_ON)
    other = taxpayer_edit_request(actor=staff["clerk"], taxpayer=hanako(), changes={"phone": "2"}, reason="r")
    with pytest.raises(PermissionDenied):
        request_withdraw(actor=staff["clerk2"], request=other)
    request_withdraw(actor=staff["clerk"], request=other)
    assert ChangeRequest.objects.get(pk=other.pk).status == ApprovalStatus.WITHDRAWN


def test_a_my_number_link_is_encrypted_until_approved_and_never_logged(staff: dict[str, Any]) -> None:
    req = my_number_link_request(
        actor=staff["clerk"], taxpayer=hanako(), number="9832-0567-3214", reason="申告書"
    )
    assert not hanako().has_my_number
    assert b"983205673214" not in bytes(req.secret or b"")
    request_approve(actor=staff["chief"], request=req, decided_on=DECIDED_ON)
    assert decrypt_my_number(hanako().my_number_enc) == "983205673214"
    logs = json.dumps(list(AuditLog.objects.values("detail")), ensure_ascii=False)
    stored = json.dumps(list(ChangeRequest.objects.values("payload", "before")), ensure_ascii=False)
    assert "983205673214" not in logs and "983205673214" not in stored


def test_an_invalid_or_duplicate_my_number_is_refused_at_request_time(staff: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        my_number_link_request(actor=staff["clerk"], taxpayer=hanako(), number="983205673210", reason="r")
    with pytest.raises(ValidationError):  # already registered to 1001
        my_number_link_request(actor=staff["clerk"], taxpayer=hanako(), number="621498320257", reason="r")
    corp = Taxpayer.objects.get(taxpayer_no="2001")
    with pytest.raises(ValidationError):
        my_number_link_request(actor=staff["clerk"], taxpayer=corp, number="983205673214", reason="r")
    assert not ChangeRequest.objects.exists()


def test_requests_and_approvals_stay_within_the_municipality(
    staff: dict[str, Any], other_municipality: Any, make_user: Callable
) -> None:
    soka_chief = make_user("soka", role=Role.CHIEF, municipality=other_municipality)
    with pytest.raises(PermissionDenied):
        taxpayer_edit_request(actor=soka_chief, taxpayer=hanako(), changes={"phone": "1"}, reason="r")
    req = taxpayer_edit_request(actor=staff["clerk"], taxpayer=hanako(), changes={"phone": "1"}, reason="r")
    with pytest.raises(PermissionDenied):
        request_approve(actor=soka_chief, request=req, decided_on=DECIDED_ON)


def test_roles_without_the_edit_right_cannot_request(staff: dict[str, Any], make_user: Callable) -> None:
    window = make_user("window", role=Role.WINDOW_CONTRACTOR, municipality=hanako().municipality)
    with pytest.raises(PermissionDenied):
        taxpayer_edit_request(actor=window, taxpayer=hanako(), changes={"phone": "1"}, reason="r")
