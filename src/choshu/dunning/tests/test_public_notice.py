"""公示送達 (issue 15 §5, 法20条の2): the posting date of a returned 督促状, the deemed service 7 days
later, and the dates that follow — 指定期限, 差押可能日, the renewal of prescription — on the person
page's list and in ``selectors.prescription_events``.

1001's 01 第1期 is dunned on 2024-07-15 (指定期限 2024-07-25), returned on 07-22, posted on 2024-08-01:
deemed served on 08-08, so the 指定期限 is 08-19 (08-18 is a Sunday) and seizure possible from 08-20."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from choshu.audit.models import AuditKind, AuditLog
from choshu.dunning.models import DunningNoticeInstallment, PublicNotice
from choshu.dunning.selectors import dunning_history, prescription_events
from choshu.dunning.services import dunning_fee_set, dunning_run
from choshu.levies.models import Installment
from choshu.rules.prescription import PrescriptionEvent, PrescriptionEventKind, compute_extinguishment
from choshu.taxpayers.models import Taxpayer

pytestmark = pytest.mark.django_db
D = date


def call(command: str, *args: str) -> dict[str, Any]:
    out = StringIO()
    call_command(command, "--json", *args, stdout=out)
    return dict(json.loads(out.getvalue().strip().splitlines()[-1]))


def first() -> Installment:
    return Installment.objects.get(levy__notice_no="100001", installment_no=1)


def slip() -> str:
    notice = DunningNoticeInstallment.objects.get(installment=first()).notice
    assert notice.slip is not None
    return str(notice.slip.slip_no)


@pytest.fixture
def returned(sample_city: Any, make_user: Callable[..., Any]) -> Any:
    make_user("kacho", role="chief", municipality=sample_city)
    make_user("tanto", role="clerk", municipality=sample_city)
    dunning_fee_set(actor=None, municipality=sample_city, valid_from=D(2024, 4, 1), yen=100, source="条例")
    dunning_run(municipality=sample_city, as_of=D(2024, 7, 15), today=timezone.localdate())
    call("returned_mail", "--operator", "tanto", "--slip-no", slip(), "--returned-on", "2024-07-22",
         "--reason", "address_unknown")  # fmt: skip
    return sample_city


def post(*args: str, operator: str = "kacho") -> dict[str, Any]:
    return call("public_notice", "--operator", operator, "--slip-no", slip(), *args)


def test_the_deemed_service_and_the_dates_that_follow(returned: Any) -> None:
    out = post("--posted-on", "2024-08-01", "--note", "本庁舎掲示場")
    assert (out["posted_on"], out["deemed_served_on"], out["pay_by"], out["seizure_from"]) == (
        "2024-08-01",
        "2024-08-08",
        "2024-08-19",
        "2024-08-20",
    )
    pn = PublicNotice.objects.get()
    assert (pn.taxpayer.taxpayer_no, pn.note) == ("1001", "本庁舎掲示場")
    log = AuditLog.objects.get(function="公示送達の登録")
    assert log.kind == AuditKind.CHANGE and log.detail["deemed_served_on"] == "2024-08-08"


def test_prescription_is_renewed_from_the_deemed_service(returned: Any) -> None:
    before = prescription_events([first().pk])[first().pk]
    assert before == [PrescriptionEvent(PrescriptionEventKind.DUNNING, D(2024, 7, 15))]
    post("--posted-on", "2024-08-01")
    events = prescription_events([first().pk])[first().pk]
    assert events == [PrescriptionEvent(PrescriptionEventKind.DUNNING, D(2024, 8, 8))]
    result = compute_extinguishment(statutory_due_date=D(2024, 7, 1), events=events)
    assert result.prescription_completes_on == D(2029, 8, 18)  # 5 years from 08-19 (the 11th day)


def test_the_person_page_list_shows_the_return_and_the_public_notice_dates(returned: Any) -> None:
    post("--posted-on", "2024-08-01")
    taro = Taxpayer.objects.get(taxpayer_no="1001")
    history = dunning_history(taro, on=D(2024, 9, 1))
    row = next(r for r in history.notices if r.notice.tax_item == "01")
    assert row.returned is not None and row.returned.returned_on == D(2024, 7, 22)
    assert row.public_notice is not None and row.public_notice.deemed_served_on == D(2024, 8, 8)
    assert row.dates is not None
    assert (row.dates.effective_on, row.dates.pay_by, row.dates.seizure_from) == (
        D(2024, 8, 8),
        D(2024, 8, 19),
        D(2024, 8, 20),
    )
    assert row.lines[0].prescription.prescription_completes_on == D(2029, 8, 18)
    other = next(r for r in history.notices if r.notice.tax_item == "04")
    assert other.dates is not None and other.public_notice is None
    assert (other.dates.pay_by, other.dates.seizure_from) == (D(2024, 7, 25), D(2024, 7, 26))


@pytest.mark.parametrize(
    ("args", "operator", "message"),
    [
        (("--posted-on", "2024-07-21"), "kacho", "返戻日"),
        (("--posted-on", "2099-01-01"), "kacho", "未来の日付"),
        (("--posted-on", "2024-13-01"), "kacho", "--posted-on"),
        (("--posted-on", "2024-08-01"), "tanto", "権限"),
        (("--posted-on", "2024-08-01"), "nobody", "nobody"),
    ],
)
def test_bad_input_exits_2_and_records_nothing(
    returned: Any, args: tuple[str, ...], operator: str, message: str
) -> None:
    with pytest.raises(CommandError) as exc:
        post(*args, operator=operator)
    assert exc.value.returncode == 2 and message in str(exc.value)
    assert not PublicNotice.objects.exists()


def test_only_a_returned_notice_is_posted_and_only_once(returned: Any) -> None:
    post("--posted-on", "2024-08-01")
    with pytest.raises(CommandError) as exc:
        post("--posted-on", "2024-08-02")
    assert "登録済み" in str(exc.value)
    other = DunningNoticeInstallment.objects.get(installment__levy__notice_no="400001").notice
    assert other.slip is not None
    with pytest.raises(CommandError) as exc:
        call(
            "public_notice",
            "--operator",
            "kacho",
            "--slip-no",
            other.slip.slip_no,
            "--posted-on",
            "2024-08-01",
        )
    assert "返戻の登録がない" in str(exc.value)
    with pytest.raises(CommandError) as exc:
        call("public_notice", "--operator", "kacho", "--slip-no", "123", "--posted-on", "2024-08-01")
    assert "見つかりません" in str(exc.value)
    assert PublicNotice.objects.count() == 1


def test_a_refused_notice_needs_no_public_notice(sample_city: Any, make_user: Callable[..., Any]) -> None:
    make_user("kacho", role="chief", municipality=sample_city)
    dunning_fee_set(actor=None, municipality=sample_city, valid_from=D(2024, 4, 1), yen=100, source="条例")
    dunning_run(municipality=sample_city, as_of=D(2024, 7, 15), today=timezone.localdate())
    call("returned_mail", "--operator", "kacho", "--slip-no", slip(), "--returned-on", "2024-07-22",
         "--reason", "refused")  # fmt: skip
    with pytest.raises(CommandError) as exc:
        post("--posted-on", "2024-08-01")
    assert "受取拒否" in str(exc.value)
