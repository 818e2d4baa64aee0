"""督促停止 (issue 15 §2): reasons as facts by staff holding the right; a staff judgement (``manual``)
only with a second person's approval (決裁); ending keeps the history; every change is audited."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from choshu.approvals.models import ApprovalStatus, RequestKind
from choshu.approvals.services import request_approve
from choshu.audit.models import AuditKind, AuditLog
from choshu.dunning.models import DunningSuppression, SuppressionReason
from choshu.dunning.services import (
    dunning_fee_set,
    dunning_run,
    suppression_add,
    suppression_end,
    suppression_request,
)
from choshu.levies.models import Installment

pytestmark = pytest.mark.django_db
D = date


@pytest.fixture
def people(sample_city: Any, make_user: Callable[..., Any]) -> dict[str, Any]:
    return {
        "clerk": make_user("clerk1", role="clerk", municipality=sample_city),
        "chief": make_user("chief1", role="chief", municipality=sample_city),
        "chief2": make_user("chief2", role="chief", municipality=sample_city),
        "window": make_user("window1", role="window_contractor", municipality=sample_city),
    }


def _inst() -> Installment:
    return Installment.objects.get(levy__notice_no="500001")


def test_a_manual_suppression_is_refused_without_the_two_person_check(people: dict[str, Any]) -> None:
    with pytest.raises(ValidationError, match="決裁"):
        suppression_add(
            actor=people["clerk"], installment=_inst(), reason=SuppressionReason.MANUAL, start=D(2024, 7, 1)
        )
    assert not DunningSuppression.objects.exists()


def test_a_manual_suppression_takes_effect_when_another_person_approves(
    sample_city: Any, people: dict[str, Any]
) -> None:
    req = suppression_request(
        actor=people["clerk"],
        installment=_inst(),
        start=D(2024, 7, 1),
        end=None,
        reason="本人から相談中のため",
    )
    assert req.kind == RequestKind.DUNNING_SUPPRESSION and not DunningSuppression.objects.exists()
    with pytest.raises(PermissionDenied):
        request_approve(actor=people["clerk"], request=req, decided_on=D(2024, 7, 2))  # no approval right
    request_approve(actor=people["chief"], request=req, decided_on=D(2024, 7, 2))
    req.refresh_from_db()
    assert req.status == ApprovalStatus.APPROVED
    [s] = DunningSuppression.objects.all()
    assert (s.reason, s.start, s.end, s.request_id, s.created_by) == (
        SuppressionReason.MANUAL, D(2024, 7, 1), None, req.pk, people["clerk"]
    )  # fmt: skip
    dunning_fee_set(actor=None, municipality=sample_city, valid_from=D(2024, 4, 1), yen=100, source="条例")
    summary = dunning_run(municipality=sample_city, as_of=D(2024, 7, 15), today=D(2024, 7, 15))
    assert (summary.suppressed, summary.issued) == (1, 3)


def test_the_requester_cannot_approve_their_own_suppression(people: dict[str, Any]) -> None:
    req = suppression_request(
        actor=people["chief"], installment=_inst(), start=D(2024, 7, 1), end=None, reason="調査中"
    )
    with pytest.raises(PermissionDenied, match="自分の申請"):
        request_approve(actor=people["chief"], request=req, decided_on=D(2024, 7, 2))
    assert not DunningSuppression.objects.exists()


def test_staff_without_the_right_cannot_suppress(people: dict[str, Any]) -> None:
    with pytest.raises(PermissionDenied):
        suppression_add(
            actor=people["window"],
            installment=_inst(),
            reason=SuppressionReason.BANKRUPTCY,
            start=D(2024, 7, 1),
        )
    with pytest.raises(PermissionDenied):
        suppression_request(
            actor=people["window"], installment=_inst(), start=D(2024, 7, 1), end=None, reason="x"
        )


def test_another_municipalitys_staff_cannot_suppress(
    people: dict[str, Any], other_municipality: Any, make_user: Callable[..., Any]
) -> None:
    stranger = make_user("soka", role="chief", municipality=other_municipality)
    with pytest.raises(PermissionDenied):
        suppression_add(
            actor=stranger, installment=_inst(), reason=SuppressionReason.BANKRUPTCY, start=D(2024, 7, 1)
        )


def test_ending_a_suppression_keeps_it_as_history_and_both_changes_are_audited(
    sample_city: Any, people: dict[str, Any]
) -> None:
    s = suppression_add(
        actor=people["clerk"],
        installment=_inst(),
        reason=SuppressionReason.COLLECTION_DEFERRAL,
        start=D(2024, 6, 1),
        note="徴収猶予 許可通知 第12号",
    )
    suppression_end(actor=people["clerk"], suppression=s, end=D(2024, 7, 10), note="猶予期間の満了")
    s.refresh_from_db()
    assert (s.end, s.end_note, s.ended_by) == (D(2024, 7, 10), "猶予期間の満了", people["clerk"])
    logs = AuditLog.objects.filter(kind=AuditKind.CHANGE, function__startswith="督促停止")
    assert [log.function for log in logs.order_by("id")] == ["督促停止の登録", "督促停止の終了"]
    assert all(log.subject_ids == [_inst().taxpayer_id] for log in logs)
    dunning_fee_set(actor=None, municipality=sample_city, valid_from=D(2024, 4, 1), yen=100, source="条例")
    summary = dunning_run(municipality=sample_city, as_of=D(2024, 7, 15), today=D(2024, 7, 15))
    assert (summary.suppressed, summary.issued) == (0, 4)  # ended on 07-10


def test_ending_needs_a_reason(people: dict[str, Any]) -> None:
    s = suppression_add(
        actor=people["clerk"],
        installment=_inst(),
        reason=SuppressionReason.RETURNED_MAIL,
        start=D(2024, 6, 1),
    )
    with pytest.raises(ValidationError):
        suppression_end(actor=people["clerk"], suppression=s, end=D(2024, 7, 10), note=" ")
