"""返戻 (issue 15 §5): ``choshu returned-mail`` and ``dunning.returned`` on the sample city.

The sample city (conftest) dunned on 2024-07-15 with a 100 円 fee: 1001 川口 太郎 gets a 督促状 for
個人住民税 (01, 第1期) and one for 固定資産税 (04) at his registered address 東川口1-2-3; his 01 第2期
(納期限 2024-09-02) is not due yet. 1002 and 2001 get one each.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, timedelta
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from choshu.approvals.services import request_approve
from choshu.audit.models import AuditKind, AuditLog
from choshu.dunning.models import (
    DunningNotice,
    DunningNoticeInstallment,
    DunningSuppression,
    ReturnedMail,
    ReturnReason,
    SuppressionReason,
    suppressed_on,
)
from choshu.dunning.returned import parse_lines
from choshu.dunning.services import dunning_fee_set, dunning_run
from choshu.levies.models import Installment
from choshu.rules.check_digits import make_slip_no
from choshu.taxpayers.changes import taxpayer_edit_request
from choshu.taxpayers.mailing_changes import MailingValues, mailing_address_request
from choshu.taxpayers.models import Taxpayer

pytestmark = pytest.mark.django_db
D = date
UNISSUED = make_slip_no("800000000999999")


def call(command: str, *args: str) -> dict[str, Any]:
    out = StringIO()
    call_command(command, "--json", *args, stdout=out)
    return dict(json.loads(out.getvalue().strip().splitlines()[-1]))


def inst(notice_no: str, no: int = 1) -> Installment:
    return Installment.objects.get(levy__notice_no=notice_no, installment_no=no)


def notice_slip(notice_no: str) -> str:
    notice = DunningNoticeInstallment.objects.get(installment=inst(notice_no)).notice
    assert notice.slip is not None
    return str(notice.slip.slip_no)


@pytest.fixture
def users(sample_city: Any, make_user: Callable[..., Any]) -> dict[str, Any]:
    return {
        "clerk": make_user("tanto", role="clerk", municipality=sample_city),
        "chief": make_user("kacho", role="chief", municipality=sample_city),
        "window": make_user("window", role="window_contractor", municipality=sample_city),
    }


@pytest.fixture
def dunned(sample_city: Any, users: dict[str, Any]) -> Any:
    dunning_fee_set(actor=None, municipality=sample_city, valid_from=D(2024, 4, 1), yen=100, source="条例")
    dunning_run(municipality=sample_city, as_of=D(2024, 7, 15), today=timezone.localdate())
    return sample_city


def register(*args: str) -> dict[str, Any]:
    return call("returned_mail", "--operator", "tanto", *args)


def returned_stops(taxpayer_no: str) -> dict[tuple[str, int], DunningSuppression]:
    rows = DunningSuppression.objects.filter(
        taxpayer__taxpayer_no=taxpayer_no, reason=SuppressionReason.RETURNED_MAIL
    ).select_related("installment__levy")
    return {(s.installment.levy.notice_no, s.installment.installment_no): s for s in rows}


def move(users: dict[str, Any], taxpayer_no: str, address: str) -> None:
    """A new registered address, through the correction request and its approval."""
    taxpayer = Taxpayer.objects.get(taxpayer_no=taxpayer_no)
    req = taxpayer_edit_request(
        actor=users["clerk"], taxpayer=taxpayer, changes={"address": address}, reason="転居届"
    )
    request_approve(actor=users["chief"], request=req, decided_on=timezone.localdate())


def test_a_returned_notice_stops_mail_to_the_address_for_every_open_installment_sent_there(
    dunned: Any,
) -> None:
    out = register(
        "--slip-no", notice_slip("100001"), "--returned-on", "2024-07-22", "--reason", "moved_unknown"
    )
    assert (out["registered"], out["suppressions"]) == (1, 3)
    rm = ReturnedMail.objects.get()
    assert (rm.taxpayer.taxpayer_no, rm.tax_item, rm.returned_on, rm.reason) == (
        "1001",
        "01",
        D(2024, 7, 22),
        ReturnReason.MOVED_UNKNOWN,
    )
    assert (rm.sent_via, rm.sent_address, rm.cleared_on) == ("registered", "埼玉県川口市東川口1-2-3", None)
    # every open installment of 1001 goes to that address: 01 第1期・第2期 and 04
    stops = returned_stops("1001")
    assert set(stops) == {("100001", 1), ("100001", 2), ("400001", 1)}
    assert all(s.start == D(2024, 7, 22) and s.end is None for s in stops.values())
    assert set(rm.suppressions.all()) == set(stops.values())
    assert not returned_stops("1002")
    log = AuditLog.objects.get(function="返戻の登録")
    assert log.kind == AuditKind.CHANGE and log.subject_ids == [rm.taxpayer_id]


def test_the_next_dunning_run_leaves_the_returned_address_out(dunned: Any) -> None:
    register("--slip-no", notice_slip("100001"), "--returned-on", "2024-07-22", "--reason", "address_unknown")
    summary = dunning_run(municipality=dunned, as_of=D(2024, 9, 20), today=timezone.localdate())
    assert (summary.candidates, summary.suppressed, summary.issued) == (1, 1, 0)  # 01 第2期 of 1001
    assert summary.returned_mail == {"checked": 1, "cleared": 0, "ended": 0, "added": 0}


def test_a_new_address_ends_the_mark_on_the_next_run_and_the_person_is_dunned_again(
    dunned: Any, users: dict[str, Any]
) -> None:
    register("--slip-no", notice_slip("100001"), "--returned-on", "2024-07-22", "--reason", "moved_unknown")
    move(users, "1001", "埼玉県川口市青木1-1-1")
    today = timezone.localdate()
    dry = dunning_run(municipality=dunned, as_of=today, today=today, dry_run=True)
    assert dry.returned_mail["cleared"] == 1 and dry.issued == 1  # what the run will do …
    assert ReturnedMail.objects.get().cleared_on is None  # … but a dry run keeps nothing
    run = dunning_run(municipality=dunned, as_of=today, today=today)
    assert run.returned_mail == {"checked": 1, "cleared": 1, "ended": 3, "added": 0}
    assert run.issued == 1  # 01 第2期, to the new address
    rm = ReturnedMail.objects.get()
    assert rm.cleared_on == today and "住所" in rm.cleared_note
    for s in returned_stops("1001").values():
        assert s.end == today - timedelta(days=1) and "自動終了" in s.end_note
    assert AuditLog.objects.filter(function="返戻の宛先確認", kind=AuditKind.CHANGE).count() == 1


def test_refresh_from_the_command_line_and_a_stop_ended_by_hand_stays_ended(
    dunned: Any, users: dict[str, Any]
) -> None:
    register("--slip-no", notice_slip("100001"), "--returned-on", "2024-07-22", "--reason", "moved_unknown")
    # the 04 stop is ended by hand (the office confirmed that item's mail arrives): the refresh, with
    # the address unchanged, does not put it back
    s = returned_stops("1001")[("400001", 1)]
    s.end, s.end_note = D(2024, 8, 1), "固定資産税は届いている"
    s.save()
    out = call("returned_mail", "--operator", "tanto", "--refresh")
    assert out == {"checked": 1, "cleared": 0, "ended": 0, "added": 0}
    today = timezone.localdate()
    stopped = DunningSuppression.objects.filter(reason=SuppressionReason.RETURNED_MAIL).filter(
        suppressed_on(today)
    )
    assert not stopped.filter(installment=inst("400001")).exists()
    assert stopped.filter(installment__levy__notice_no="100001").count() == 2
    move(users, "1001", "埼玉県川口市青木1-1-1")
    out = call("returned_mail", "--operator", "tanto", "--refresh")
    assert (out["cleared"], out["ended"]) == (1, 2)


def test_a_notice_sent_to_the_items_own_mailing_address_stops_only_that_item(
    sample_city: Any, users: dict[str, Any]
) -> None:
    taro = Taxpayer.objects.get(taxpayer_no="1001")
    req = mailing_address_request(
        actor=users["clerk"],
        taxpayer=taro,
        tax_item="04",
        tax_item_name="固定資産税",
        operation="save",
        values=MailingValues(
            name="川口 太郎", postal_code="3330866", address="埼玉県川口市芝新町9-9-9", set_reason="別荘",
            valid_from=D(2024, 6, 1),
        ),
        reason="送付先届",
        known_tax_items=("01", "04"),
    )  # fmt: skip
    request_approve(actor=users["chief"], request=req, decided_on=timezone.localdate())
    dunning_fee_set(actor=None, municipality=sample_city, valid_from=D(2024, 4, 1), yen=100, source="条例")
    dunning_run(municipality=sample_city, as_of=D(2024, 7, 15), today=timezone.localdate())
    register("--slip-no", notice_slip("400001"), "--returned-on", "2024-07-22", "--reason", "宛所不明")
    rm = ReturnedMail.objects.get()
    assert (rm.sent_via, rm.sent_address) == ("mailing_item", "埼玉県川口市芝新町9-9-9")
    assert set(returned_stops("1001")) == {("400001", 1)}  # 01 still goes to the registered address


def test_a_refusal_is_recorded_but_stops_nothing(dunned: Any) -> None:
    out = register("--slip-no", notice_slip("100001"), "--returned-on", "2024-07-22", "--reason", "refused")
    assert (out["registered"], out["suppressions"]) == (1, 0)
    rm = ReturnedMail.objects.get()
    assert rm.cleared_on == D(2024, 7, 22) and "受取拒否" in rm.cleared_note
    assert not DunningSuppression.objects.exists()


def test_a_file_of_lines_with_their_own_dates_and_reasons(dunned: Any, tmp_path: Path) -> None:
    listing = tmp_path / "returned.txt"
    listing.write_text(
        f"{notice_slip('100001')}\n\n{notice_slip('500001')},2024-07-25,転居先不明\n"
        f"{notice_slip('300001')}\t2024/07/26\tunclaimed\t保管期間経過の付箋\n",
        encoding="utf-8",
    )
    out = register("--file", str(listing), "--returned-on", "2024-07-22", "--reason", "address_unknown")
    assert out["registered"] == 3
    got = {
        rm.taxpayer.taxpayer_no: (rm.returned_on, rm.reason, rm.note)
        for rm in ReturnedMail.objects.select_related("taxpayer")
    }
    assert got == {
        "1001": (D(2024, 7, 22), ReturnReason.ADDRESS_UNKNOWN, ""),
        "1002": (D(2024, 7, 25), ReturnReason.MOVED_UNKNOWN, ""),
        "2001": (D(2024, 7, 26), ReturnReason.UNCLAIMED, "保管期間経過の付箋"),
    }


def test_every_bad_line_is_listed_in_japanese_and_nothing_is_written(dunned: Any, tmp_path: Path) -> None:
    register("--slip-no", notice_slip("300001"), "--returned-on", "2024-07-22", "--reason", "refused")
    before = (ReturnedMail.objects.count(), DunningSuppression.objects.count(), AuditLog.objects.count())
    future = (timezone.localdate() + timedelta(days=1)).isoformat()
    listing = tmp_path / "returned.txt"
    listing.write_text(
        "\n".join(
            [
                notice_slip("100001"),  # 1: fine on its own
                "1234567890123456",  # 2: a check digit that does not match
                UNISSUED,  # 3: a valid number nobody issued
                str(inst("100001", 2).slip_no),  # 4: an installment's own slip, not a 督促状
                notice_slip("100001"),  # 5: twice
                notice_slip("300001"),  # 6: already registered
                f"{notice_slip('500001')},{future}",  # 7: a future date
                f"{notice_slip('400001')},2024-07-01",  # 8: before the issue date
                f"{notice_slip('400001')},2024-07-22,不達",  # 9: no such reason
            ]
        ),
        encoding="utf-8",
    )
    with pytest.raises(CommandError) as exc:
        register("--file", str(listing), "--returned-on", "2024-07-22", "--reason", "address_unknown")
    message = str(exc.value)
    assert exc.value.returncode == 2 and "何も登録していません" in message
    assert "1行目" not in message
    for expected in (
        "2行目: 「1234567890123456」は納付番号として読めません",
        "9行目: 返戻理由「不達」は選べません",
    ):
        assert expected in message
    # the per-notice checks come once the lines are readable: run them without lines 2 and 9
    listing.write_text("\n".join(listing.read_text(encoding="utf-8").splitlines()[:8]).replace(
        "1234567890123456", ""), encoding="utf-8")  # fmt: skip
    with pytest.raises(CommandError) as exc:
        register("--file", str(listing), "--returned-on", "2024-07-22", "--reason", "address_unknown")
    message = str(exc.value)
    assert f"3行目（納付番号 {UNISSUED}）: この納付番号の納付書は見つかりません" in message
    assert "4行目" in message and "督促状の納付書ではありません" in message
    assert "5行目" in message and "1行目と同じ納付番号です" in message
    assert "6行目" in message and "既に返戻登録されています" in message
    assert "7行目" in message and "未来の日付です" in message
    assert "8行目" in message and "発付日" in message and "より前です" in message
    assert (
        ReturnedMail.objects.count(),
        DunningSuppression.objects.count(),
        AuditLog.objects.count(),
    ) == before


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "--slip-no"),
        (("--slip-no", "x", "--file", "y"), "どちらか一方"),
        (("--file", "/nonexistent/list.txt"), "見つかりません"),
        (("--slip-no", UNISSUED, "--returned-on", "2024-13-01"), "--returned-on"),
        (("--slip-no", UNISSUED, "--reason", "lost"), "--reason"),
    ],
)
def test_bad_options_exit_2(dunned: Any, args: tuple[str, ...], message: str) -> None:
    with pytest.raises(CommandError) as exc:
        register(*args)
    assert exc.value.returncode == 2 and message in str(exc.value)
    assert not ReturnedMail.objects.exists()


def test_a_user_without_the_right_or_of_another_city_registers_nothing(
    dunned: Any, other_municipality: Any, make_user: Callable[..., Any]
) -> None:
    slip = notice_slip("100001")
    with pytest.raises(CommandError) as exc:
        call("returned_mail", "--operator", "window", "--municipality", dunned.code, "--slip-no", slip, "--returned-on", "2024-07-22",
             "--reason", "moved_unknown")  # fmt: skip
    assert exc.value.returncode == 2 and "権限" in str(exc.value)
    make_user("yoso", role="chief", municipality=other_municipality)
    with pytest.raises(CommandError) as exc:
        call("returned_mail", "--operator", "yoso", "--municipality", other_municipality.code, "--slip-no", slip,
             "--returned-on", "2024-07-22", "--reason", "moved_unknown")  # fmt: skip
    assert "見つかりません" in str(exc.value)
    assert not ReturnedMail.objects.exists()


def test_a_scanned_barcode_gives_its_slip_number() -> None:
    slip = make_slip_no("800000000000001")
    barcode = "91" + "912345" + "11203" + slip + "0" + "241231" + "0" + "012345" + "0"
    assert len(barcode) == 44
    lines, errors = parse_lines(
        f"({barcode[:2]}){barcode[2:]}", returned_on=D(2024, 7, 22), reason=ReturnReason.OTHER
    )
    assert errors == [] and lines[0].slip_no == slip


def test_cancelled_notices_cannot_be_returned(dunned: Any) -> None:
    notice = DunningNoticeInstallment.objects.get(installment=inst("100001")).notice
    DunningNotice.objects.filter(pk=notice.pk).update(status="cancelled")
    with pytest.raises(CommandError) as exc:
        register("--slip-no", notice_slip("100001"), "--returned-on", "2024-07-22", "--reason", "other")
    assert "取消" in str(exc.value)


def test_a_new_mailing_address_for_one_item_ends_only_that_item_s_stop(
    dunned: Any, users: dict[str, Any]
) -> None:
    register("--slip-no", notice_slip("100001"), "--returned-on", "2024-07-22", "--reason", "moved_unknown")
    taro = Taxpayer.objects.get(taxpayer_no="1001")
    req = mailing_address_request(
        actor=users["clerk"],
        taxpayer=taro,
        tax_item="04",
        tax_item_name="固定資産税",
        operation="save",
        values=MailingValues(
            name="川口 太郎", postal_code="3330866", address="埼玉県川口市芝新町9-9-9", set_reason="管理人方",
            valid_from=D(2024, 6, 1),
        ),
        reason="送付先届",
        known_tax_items=("01", "04"),
    )  # fmt: skip
    request_approve(actor=users["chief"], request=req, decided_on=timezone.localdate())
    out = call("returned_mail", "--operator", "tanto", "--refresh")
    assert out == {"checked": 1, "cleared": 0, "ended": 1, "added": 0}
    today = timezone.localdate()
    stops = returned_stops("1001")
    assert stops[("400001", 1)].end == today - timedelta(days=1)
    assert "送付先" in stops[("400001", 1)].end_note
    assert stops[("100001", 1)].end is None and stops[("100001", 2)].end is None
    assert ReturnedMail.objects.get().cleared_on is None
