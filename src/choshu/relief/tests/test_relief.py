"""緩和制度 (issue 18 §6; law.md §f): grounds and periods checked, the two-person check, 督促停止 over the
period, extension within 2 years, cancellation, and the prescription effects — a deferral stops the
clock, 執行停止 3 years extinguishes (法15条の7第4項), 即時消滅 (第5項) on its date — which
``prescription-run`` records and ``write-off-run`` proposes by reason.
Sources: https://tainoutaisaku.zenkokukaigi.net/?p=937 (執行停止), https://www.city.kasaoka.okayama.jp/soshiki/15/1673.html
(2-year cap). Data: ``conftest.py`` of this folder."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from choshu.accounts.models import Role
from choshu.approvals.services import request_approve
from choshu.dunning.models import DunningNoticeInstallment, DunningSuppression
from choshu.dunning.services import dunning_run
from choshu.relief.models import Relief, ReliefStatus
from choshu.relief.prescription import installment_prescriptions
from choshu.relief.relief import relief_cancel_request, relief_extend_request, relief_request
from choshu.relief.tests.conftest import TODAY, D, cmd, inst

pytestmark = pytest.mark.django_db


@pytest.fixture
def w(old_city: Any, make_user: Callable) -> dict[str, Any]:
    return {
        "city": old_city,
        "officer": make_user("officer", role=Role.CASE_OFFICER, municipality=old_city),
        "chief": make_user("chief", role=Role.CHIEF, municipality=old_city),
        "window": make_user("window", role=Role.WINDOW_CONTRACTOR, municipality=old_city),
    }


def ask(
    w: dict[str, Any], notice: str, kind: str, ground: str, start: Any, end: Any = None, **kw: Any
) -> Relief:
    i = inst(notice)
    return relief_request(
        actor=w["officer"], taxpayer=i.taxpayer, kind=kind, ground=ground, installments=[i], start=start, end=end,
        note="災害により納付困難（申請書受付）", **kw,
    )  # fmt: skip


def approve(w: dict[str, Any], req: Any) -> None:
    assert req is not None
    request_approve(actor=w["chief"], request=req, decided_on=TODAY)


def expected(notice: str) -> Any:
    i = inst(notice)
    return installment_prescriptions([i])[i.pk].result


def test_a_deferral_takes_effect_only_when_a_second_person_approves(w: dict[str, Any]) -> None:
    r = ask(w, "210001", "collection_deferral", "disaster", D(2023, 4, 1), D(2024, 3, 31))
    assert r.status == ReliefStatus.PENDING and not DunningSuppression.objects.exists()
    assert expected("210001").extinguished_on == D(2027, 3, 16)  # not yet: the clock still runs
    with pytest.raises(PermissionDenied, match="決裁する権限"):  # an officer cannot approve at all
        request_approve(actor=w["officer"], request=r.request, decided_on=TODAY)  # type: ignore[arg-type]
    i = inst("220001")
    own = relief_request(actor=w["chief"], taxpayer=i.taxpayer, kind="collection_deferral", ground="illness",
                         installments=[i], start=D(2023, 4, 1), end=D(2023, 9, 30), note="入院")  # fmt: skip
    with pytest.raises(PermissionDenied, match="自分の申請"):  # nor the chief who asked
        request_approve(actor=w["chief"], request=own.request, decided_on=TODAY)  # type: ignore[arg-type]
    approve(w, r.request)
    r.refresh_from_db()
    assert r.status == ReliefStatus.ACTIVE
    [s] = DunningSuppression.objects.filter(installment=inst("210001"))
    assert (s.reason, s.start, s.end) == ("collection_deferral", D(2023, 4, 1), D(2024, 3, 31))
    # 366 days of deferral (2024 is a leap year) move the completion 2027-03-15 → 2028-03-15.
    assert expected("210001").extinguished_on == D(2028, 3, 16)
    # The dunning run inside the period leaves it out (督促停止).
    dunning_run(municipality=w["city"], as_of=D(2023, 6, 1), today=TODAY)
    assert not DunningNoticeInstallment.objects.filter(installment=inst("210001")).exists()
    assert DunningNoticeInstallment.objects.filter(installment=inst("220001")).exists()


def test_an_extension_is_capped_at_two_years_and_moves_the_suppression(w: dict[str, Any]) -> None:
    r = ask(w, "210001", "collection_deferral", "illness", D(2023, 4, 1), D(2024, 3, 31))
    approve(w, r.request)
    with pytest.raises(ValidationError, match="2年以内"):
        relief_extend_request(actor=w["officer"], relief=r, new_end=D(2025, 4, 1), reason="治療が長引く")
    req = relief_extend_request(actor=w["officer"], relief=r, new_end=D(2025, 3, 31), reason="治療が長引く")
    assert DunningSuppression.objects.get().end == D(2024, 3, 31)  # not before approval
    approve(w, req)
    assert DunningSuppression.objects.get().end == D(2025, 3, 31)
    assert Relief.objects.get(pk=r.pk).end == D(2025, 3, 31)


def test_a_cancellation_ends_the_suppression_and_the_deferral_the_day_before(w: dict[str, Any]) -> None:
    r = ask(
        w, "210001", "liquidation_deferral_application", "liquidation_hardship", D(2023, 4, 1), D(2024, 3, 31)
    )
    approve(w, r.request)
    approve(w, relief_cancel_request(actor=w["officer"], relief=r, on=D(2023, 10, 1), reason="分納不履行"))
    r.refresh_from_db()
    assert (r.status, r.cancelled_on) == (ReliefStatus.CANCELLED, D(2023, 10, 1))
    assert DunningSuppression.objects.get().end == D(2023, 9, 30)
    # 2023-04-01..09-30 = 183 days stopped: 2027-03-15 + 183 days = 2027-09-14.
    assert expected("210001").prescription_completes_on == D(2027, 9, 14)


def test_three_years_of_enforcement_suspension_extinguish_and_are_written_off_by_reason(
    w: dict[str, Any],
) -> None:
    r = ask(w, "220001", "enforcement_suspension", "hardship", D(2023, 1, 10))
    approve(w, r.request)
    assert DunningSuppression.objects.get().reason == "enforcement_suspension"
    out = cmd("prescription_run", "--as-of", "2026-12-01", "--municipality", w["city"].code)
    assert out["by_reason"]["enforcement_suspension"] == {"count": 1, "amount": 12000}
    # 3 years from 2023-01-11 end 2026-01-10 → extinguished 2026-01-11 (before 時効 on 2027-05-01).
    i = inst("220001")
    assert (i.extinguished_on, i.extinguished_reason) == (D(2026, 1, 11), "enforcement_suspension")
    fy = cmd("write_off_run", "--fiscal-year", "2025", "--dry-run", "--municipality", w["city"].code)
    assert fy["by_reason"]["enforcement_suspension"]["principal"] == 12000
    assert set(fy["by_reason"]) == {"enforcement_suspension", "prescription"}  # 190001/190002 still open


def test_immediate_extinguishment_needs_no_property_and_ends_the_claim_on_its_date(w: dict[str, Any]) -> None:
    with pytest.raises(ValidationError, match="財産がない場合"):
        ask(w, "500001", "enforcement_suspension", "hardship", D(2026, 10, 1), immediate_on=D(2026, 11, 1))
    r = ask(w, "500001", "enforcement_suspension", "no_property", D(2026, 10, 1), immediate_on=D(2026, 11, 1))
    approve(w, r.request)
    cmd("prescription_run", "--as-of", "2026-12-01", "--municipality", w["city"].code)
    i = inst("500001")  # a 2024 levy: far from 時効, found through the relief
    assert (i.extinguished_on, i.extinguished_reason) == (D(2026, 11, 1), "immediate_extinguishment")


def test_bad_requests_are_refused_with_a_message(w: dict[str, Any]) -> None:
    with pytest.raises(ValidationError, match="事由として"):
        ask(w, "210001", "collection_deferral", "no_property", D(2023, 4, 1), D(2023, 9, 30))
    with pytest.raises(ValidationError, match="1年以内"):
        ask(w, "210001", "collection_deferral", "disaster", D(2023, 4, 1), D(2024, 4, 1))
    with pytest.raises(ValidationError, match="終了日はありません"):
        ask(w, "210001", "enforcement_suspension", "unknown", D(2023, 4, 1), D(2024, 3, 31))
    with pytest.raises(ValidationError, match="終了日を入力"):
        ask(w, "210001", "collection_deferral", "disaster", D(2023, 4, 1))
    cmd("prescription_run", "--as-of", "2026-12-01", "--municipality", w["city"].code)
    with pytest.raises(ValidationError, match="消滅しています"):
        ask(w, "190001", "collection_deferral", "disaster", D(2026, 12, 1), D(2027, 3, 31))
    i = inst("210001")
    with pytest.raises(PermissionDenied, match="権限"):
        relief_request(actor=w["window"], taxpayer=i.taxpayer, kind="collection_deferral", ground="disaster",
                       installments=[i], start=D(2023, 4, 1), end=D(2023, 9, 30), note="x")  # fmt: skip
    assert not Relief.objects.exists()
