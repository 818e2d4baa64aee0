"""還付決議 with 還付加算金, the two-person check, the refund account, the transfer file and its result
(issue 16 §3, §4). A person without arrears: the interest runs from the start date of the cause
(法17条の4第1項; law.md §e; worked formula of https://www.city.otsu.lg.jp/soshiki/005/1206/g/04/63147.html).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import CommandError

from choshu.accounts.models import Role
from choshu.approvals.services import request_approve, request_reject
from choshu.formats.errors import FileRefused
from choshu.levies.models import Account, LedgerEntry, TxnKind
from choshu.refunds.models import (
    AccountSource,
    AccountStatus,
    NoticeKind,
    Overpayment,
    OverpaymentStatus,
    Refund,
    RefundAccount,
    RefundNotice,
    RefundStatus,
)
from choshu.refunds.services import AccountInput, refund_account_request, refund_decide
from choshu.refunds.tests.helpers import cmd, held, levy, pay, run, verify_ok, yen_interest
from choshu.refunds.transfer import originator_set, refund_confirm, refund_transfer
from choshu.taxpayers.models import Taxpayer

pytestmark = pytest.mark.django_db
D = date
ACCOUNT = AccountInput("0001", "001", "1", "1234567", "ハトガヤ ハナコ")


@pytest.fixture
def staff(sample_city: Any, make_user: Callable[..., Any]) -> tuple[Any, Any]:
    return (
        make_user("clerk", role=Role.CLERK, municipality=sample_city),
        make_user("chief", role=Role.CHIEF, municipality=sample_city),
    )


def double_payment(write_csv: Callable[..., Any], city: Any) -> Overpayment:
    """1002 pays its 軽自動車税 and pays a 3,000,000 円 固定資産税 twice (the second on 2024-04-26)."""
    pay(write_csv, "1002", "500001", 10800, "2024-05-20")
    levy(write_csv, city, ["04,2024,400002,1002,1,2024-04-30,3000000,"], D(2024, 4, 1))
    pay(write_csv, "1002", "400002", 3000000, "2024-04-25")
    pay(write_csv, "1002", "400002", 3000000, "2024-04-26")
    run("2024-10-31")
    return Overpayment.objects.get()


def test_a_double_payment_earns_interest_from_one_month_after_payment(
    sample_city: Any, write_csv: Callable[..., Any], staff: tuple[Any, Any]
) -> None:
    clerk, chief = staff
    op = double_payment(write_csv, sample_city)
    refund = refund_decide(actor=clerk, overpayment=op, decided_on=D(2024, 10, 31), reason="二重納付の還付")
    # 第4号: from the day after one month has elapsed from the day after payment: 04-27 … 05-26 → 05-27.
    assert refund.interest_start == D(2024, 5, 27)
    days = (D(2024, 10, 31) - D(2024, 5, 27)).days + 1  # 158 days, 2024: 0.9 %
    assert refund.refund_interest == yen_interest(3000000, "0.9", days) == 11600
    assert (refund.amount, refund.status) == (3000000, RefundStatus.PENDING)
    assert Overpayment.objects.get().status == OverpaymentStatus.DECIDING
    # Nothing takes effect without a second person; the requester cannot approve.
    with pytest.raises(PermissionDenied):
        request_approve(actor=clerk, request=refund.request, decided_on=D(2024, 10, 31))
    request_approve(actor=chief, request=refund.request, decided_on=D(2024, 10, 31))
    refund.refresh_from_db()
    assert refund.status == RefundStatus.APPROVED
    assert Overpayment.objects.get().status == OverpaymentStatus.APPROVED
    assert RefundNotice.objects.filter(kind=NoticeKind.REFUND, refund=refund, amount=3011600).exists()
    assert verify_ok()


def test_a_levy_reduction_earns_interest_from_the_day_after_payment(
    sample_city: Any, write_csv: Callable[..., Any], staff: tuple[Any, Any]
) -> None:
    clerk, _ = staff
    pay(write_csv, "1002", "500001", 10800, "2024-05-20")
    levy(write_csv, sample_city, ["04,2024,400002,1002,1,2024-04-30,3000000,"], D(2024, 4, 1))
    pay(write_csv, "1002", "400002", 3000000, "2024-04-25")
    levy(write_csv, sample_city, ["04,2024,400002,1002,1,2024-04-30,1000000,"], D(2024, 8, 1))
    run("2024-10-31")
    op = Overpayment.objects.get()
    refund = refund_decide(actor=clerk, overpayment=op, decided_on=D(2024, 10, 31), reason="減額更正")
    assert refund.interest_start == D(2024, 4, 26)  # 第1号: the day after the payment
    days = (D(2024, 10, 31) - D(2024, 4, 26)).days + 1  # 189
    assert refund.refund_interest == yen_interest(2000000, "0.9", days) == 9300
    assert verify_ok()


def test_no_refund_while_the_person_has_due_arrears(
    sample_city: Any, write_csv: Callable[..., Any], staff: tuple[Any, Any]
) -> None:
    clerk, _ = staff
    pay(write_csv, "1002", "500001", 10800, "2024-05-20")
    pay(write_csv, "1002", "500001", 10800, "2024-05-21")
    run("2024-05-25")
    op = Overpayment.objects.get()
    levy(write_csv, sample_city, ["05,2024,500009,1002,1,2024-06-28,5000,"], D(2024, 4, 1))
    with pytest.raises(ValidationError, match="先に充当してください"):
        refund_decide(actor=clerk, overpayment=op, decided_on=D(2024, 7, 1), reason="還付")
    assert not Refund.objects.exists() and Overpayment.objects.get().status == OverpaymentStatus.OPEN


def test_a_rejected_decision_returns_the_overpayment_to_the_list(
    sample_city: Any, write_csv: Callable[..., Any], staff: tuple[Any, Any], make_user: Callable[..., Any]
) -> None:
    clerk, chief = staff
    op = double_payment(write_csv, sample_city)
    refund = refund_decide(actor=clerk, overpayment=op, decided_on=D(2024, 10, 31), reason="還付")
    request_reject(actor=chief, request=refund.request, comment="日付を確認")
    again = refund_decide(actor=clerk, overpayment=op, decided_on=D(2024, 11, 5), reason="還付（再）")
    assert Refund.objects.get(pk=refund.pk).status == RefundStatus.REJECTED
    assert again.status == RefundStatus.PENDING
    outsider = make_user("outsider", role=Role.WINDOW_CONTRACTOR, municipality=sample_city)
    with pytest.raises(PermissionDenied):
        refund_decide(actor=outsider, overpayment=op, decided_on=D(2024, 11, 5), reason="x")


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        (
            AccountInput("9999", "001", "1", "1234567", "ハトガヤ ハナコ"),
            "bank_code",
            "金融機関コードにありません",
        ),
        (AccountInput("0001", "999", "1", "1234567", "ハトガヤ ハナコ"), "branch_code", "支店にありません"),
        (AccountInput("0001", "001", "1", "12345678", "ハトガヤ ハナコ"), "account_no", "7桁以内"),
        (AccountInput("0001", "001", "1", "12a4567", "ハトガヤ ハナコ"), "account_no", "7桁以内"),
        (AccountInput("0001", "001", "5", "1234567", "ハトガヤ ハナコ"), "deposit_type", "預金種目"),
        (AccountInput("0001", "001", "1", "1234567", "鳩ヶ谷 花子"), "holder_kana", "鳩"),
        (AccountInput("0001", "001", "1", "1234567", ""), "holder_kana", "入力してください"),
    ],
)
def test_a_bad_account_is_refused_with_what_and_where_and_nothing_is_saved(
    sample_city: Any, staff: tuple[Any, Any], data: AccountInput, field: str, message: str
) -> None:
    clerk, _ = staff
    hanako = Taxpayer.objects.get(taxpayer_no="1002")
    with pytest.raises(ValidationError) as exc:
        refund_account_request(
            actor=clerk, taxpayer=hanako, data=data, source=AccountSource.REGISTERED, reason="申出"
        )
    assert field in exc.value.message_dict
    assert message in " ".join(exc.value.message_dict[field])
    assert not RefundAccount.objects.exists()


def read_transfer(data: bytes) -> tuple[bytes, list[bytes], bytes]:
    """An independent minimal 総合振込 reader (formats-reference.md §1.2), by byte slicing."""
    lines = data.split(b"\r\n")
    assert lines[-1] == b""
    records = lines[:-1]
    assert all(len(r) == 120 for r in records)
    kinds = [r[0:1] for r in records]
    assert kinds[0] == b"1" and kinds[-2] == b"8" and kinds[-1] == b"9"
    assert set(kinds[1:-2]) == {b"2"}
    return records[0], records[1:-2], records[-2]


def approved_refund_with_account(write_csv: Callable[..., Any], city: Any, staff: tuple[Any, Any]) -> Refund:
    clerk, chief = staff
    op = double_payment(write_csv, city)
    refund = refund_decide(actor=clerk, overpayment=op, decided_on=D(2024, 10, 31), reason="二重納付の還付")
    request_approve(actor=chief, request=refund.request, decided_on=D(2024, 10, 31))
    hanako = Taxpayer.objects.get(taxpayer_no="1002")
    account = refund_account_request(
        actor=clerk, taxpayer=hanako, data=ACCOUNT, source=AccountSource.REGISTERED, reason="過誤納還付請求書"
    )
    assert account.status == AccountStatus.PENDING and Refund.objects.get().account is None
    assert account.holder_kana == "ﾊﾄｶﾞﾔ ﾊﾅｺ"
    assert account.request is not None
    request_approve(actor=chief, request=account.request, decided_on=D(2024, 11, 1))
    refund.refresh_from_db()
    assert refund.account == account and RefundAccount.objects.get().status == AccountStatus.ACTIVE
    originator_set(
        municipality=city, code="1234567890", name="カワグチシ", bank_code="0001", branch_code="001",
        deposit_type="1", account_no="7654321",
    )  # fmt: skip
    return refund


def test_the_transfer_file_is_read_back_by_an_independent_reader_and_the_refund_is_sent(
    sample_city: Any, write_csv: Callable[..., Any], staff: tuple[Any, Any], tmp_path: Path
) -> None:
    refund = approved_refund_with_account(write_csv, sample_city, staff)
    out = tmp_path / "furikomi.txt"
    s = refund_transfer(municipality=sample_city, transfer_date=D(2024, 11, 5), out=out, today=D(2024, 11, 1))
    assert (s.written, s.count, s.amount) == (True, 1, 3011600)
    header, data, trailer = read_transfer(out.read_bytes())
    assert header[1:3] == b"21" and header[4:14] == b"1234567890" and header[54:58] == b"1105"
    assert header[14:54].decode("cp932").rstrip() == "ｶﾜｸﾞﾁｼ"
    [rec] = data
    assert (rec[1:5], rec[20:23], rec[42:43], rec[43:50]) == (b"0001", b"001", b"1", b"1234567")
    assert rec[50:80].decode("cp932").rstrip() == "ﾊﾄｶﾞﾔ ﾊﾅｺ"
    assert int(rec[80:90]) == 3011600 and int(rec[91:101]) == refund.pk
    assert (int(trailer[1:7]), int(trailer[7:19])) == (1, 3011600)
    # The repertoire (formats-reference.md §7.2): half-width kana (0xA6–0xDF in CP932), digits, A–Z,
    # space and ( ) - . only, one byte each.
    allowed = set(range(0xA6, 0xE0)) | set(b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ ()-.")
    assert set(rec[50:80]) <= allowed and set(header[14:54]) <= allowed
    # The project's own reader accepts it too.
    from choshu.formats.zengin import read_transfer_file

    parsed, records = read_transfer_file(out.read_bytes(), around=D(2024, 11, 5))
    assert (parsed.trailer.count, parsed.trailer.amount, len(list(records))) == (1, 3011600, 1)
    refund.refresh_from_db()
    assert refund.status == RefundStatus.SENT and refund.transfer is not None
    op = Overpayment.objects.get()
    assert (op.status, op.refunded, op.remaining) == (OverpaymentStatus.SENT, 3000000, 0)
    entries = sorted((e.account, e.amount) for e in LedgerEntry.objects.filter(txn__kind=TxnKind.REFUND))
    assert entries == [(Account.CASH, -3000000), (Account.OVERPAYMENT, 3000000)]
    assert held("1002") == 0
    assert verify_ok()
    # A second file finds nothing to send.
    again = refund_transfer(
        municipality=sample_city, transfer_date=D(2024, 11, 5), out=tmp_path / "b.txt", today=D(2024, 11, 1)
    )
    assert (again.written, again.count) == (False, 0) and not (tmp_path / "b.txt").exists()


RESULT_HEADER = "transfer_date,customer_code,bank_code,branch_code,deposit_type,account_no,amount,result_code"


def test_a_failed_transfer_returns_to_the_list_and_a_paid_one_is_paid(
    sample_city: Any, write_csv: Callable[..., Any], staff: tuple[Any, Any], tmp_path: Path
) -> None:
    refund = approved_refund_with_account(write_csv, sample_city, staff)
    refund_transfer(
        municipality=sample_city, transfer_date=D(2024, 11, 5), out=tmp_path / "f.txt", today=D(2024, 11, 1)
    )
    bad_rows = {
        "amount": f"2024-11-05,{refund.pk},0001,001,1,1234567,3000000,0",
        "account_no": f"2024-11-05,{refund.pk},0001,001,1,7654321,3011600,0",
        "customer_code": "2024-11-05,99999,0001,001,1,1234567,3011600,0",
        "result_code": f"2024-11-05,{refund.pk},0001,001,1,1234567,3011600,7",
        "transfer_date": f"2024-11-06,{refund.pk},0001,001,1,1234567,3011600,0",
    }
    for column, row in bad_rows.items():
        with pytest.raises(FileRefused) as exc:
            refund_confirm(municipality=sample_city, path=write_csv(RESULT_HEADER, [row]), on=D(2024, 11, 6))
        assert column in {e.column for e in exc.value.errors}, column
        assert Refund.objects.get().status == RefundStatus.SENT
    failed = write_csv(RESULT_HEADER, [f"2024-11-05,{refund.pk},0001,001,1,1234567,3011600,1"])
    s = refund_confirm(municipality=sample_city, path=failed, on=D(2024, 11, 6))
    assert (s.failed_count, s.failed_amount, s.paid_count) == (1, 3011600, 0)
    refund.refresh_from_db()
    assert (refund.status, refund.result) == (RefundStatus.FAILED, "該当口座なし")
    op = Overpayment.objects.get()
    assert (op.status, op.remaining) == (OverpaymentStatus.OPEN, 3000000)
    assert held("1002") == 3000000
    assert verify_ok()
    with pytest.raises(FileRefused, match="取込済み"):
        refund_confirm(municipality=sample_city, path=failed, on=D(2024, 11, 6))


def test_a_paid_transfer_is_paid(
    sample_city: Any, write_csv: Callable[..., Any], staff: tuple[Any, Any], tmp_path: Path
) -> None:
    refund = approved_refund_with_account(write_csv, sample_city, staff)
    refund_transfer(
        municipality=sample_city, transfer_date=D(2024, 11, 5), out=tmp_path / "f.txt", today=D(2024, 11, 1)
    )
    out = cmd(
        "refund_confirm",
        str(write_csv(RESULT_HEADER, [f"2024-11-05,{refund.pk},0001,001,1,1234567,3011600,0"])),
    )
    assert (out["paid_count"], out["paid_amount"]) == (1, 3011600)
    assert Refund.objects.get().status == RefundStatus.PAID
    assert Overpayment.objects.get().status == OverpaymentStatus.PAID
    assert verify_ok()


def test_a_payee_name_outside_the_repertoire_refuses_the_file_naming_the_person(
    sample_city: Any, write_csv: Callable[..., Any], staff: tuple[Any, Any], tmp_path: Path
) -> None:
    approved_refund_with_account(write_csv, sample_city, staff)
    RefundAccount.objects.update(holder_kana="ハトガヤ 花子")  # as an old system's import might have left it
    out = tmp_path / "f.txt"
    with pytest.raises(ValidationError, match="宛名番号 1002.*「花」"):
        refund_transfer(municipality=sample_city, transfer_date=D(2024, 11, 5), out=out, today=D(2024, 11, 1))
    assert not out.exists() and not [p for p in tmp_path.iterdir() if "f.txt" in p.name]
    assert Refund.objects.get().status == RefundStatus.APPROVED
    assert not LedgerEntry.objects.filter(txn__kind=TxnKind.REFUND).exists()


def test_the_transfer_command_refuses_a_holiday(
    sample_city: Any, write_csv: Callable[..., Any], staff: tuple[Any, Any], tmp_path: Path
) -> None:
    with pytest.raises(CommandError, match="日付が不正"):
        cmd("refund_transfer", "--date", "2024-02-30", "--out", str(tmp_path / "x"))
    with pytest.raises(ValidationError, match="休業日"):
        refund_transfer(
            municipality=sample_city, transfer_date=D(2024, 11, 3), out=tmp_path / "x", today=D(2024, 11, 1)
        )


def test_arrears_arising_before_the_approval_block_it(
    sample_city: Any, write_csv: Callable[..., Any], staff: tuple[Any, Any]
) -> None:
    clerk, chief = staff
    op = double_payment(write_csv, sample_city)
    refund = refund_decide(actor=clerk, overpayment=op, decided_on=D(2024, 10, 31), reason="還付")
    levy(write_csv, sample_city, ["05,2024,500009,1002,1,2024-11-01,5000,"], D(2024, 4, 1))
    with pytest.raises(ValidationError, match="充当が必要です"):
        request_approve(actor=chief, request=refund.request, decided_on=D(2024, 11, 5))
    assert Refund.objects.get().status == RefundStatus.PENDING


def test_the_approval_screen_shows_the_refund_in_japanese(
    sample_city: Any, write_csv: Callable[..., Any], staff: tuple[Any, Any]
) -> None:
    from conftest import login_verified
    from django.test import Client

    clerk, chief = staff
    op = double_payment(write_csv, sample_city)
    refund = refund_decide(actor=clerk, overpayment=op, decided_on=D(2024, 10, 31), reason="二重納付の還付")
    page = login_verified(Client(), chief).get(f"/approvals/{refund.request_id}/")
    text = page.content.decode()
    assert (
        page.status_code == 200
        and "還付加算金" in text
        and "支出決定日" in text
        and "11600" in text.replace(",", "")
    )


@pytest.mark.parametrize(
    ("cause", "event_on", "claimed_on", "start"),
    [
        # 第2号: the earlier of 3 months from the day after the request (06-04 … 09-03) and 1 month from
        # the day after the 更正 (08-02 … 09-01) → from 09-02.
        (2, "2024-08-01", "2024-06-03", D(2024, 9, 2)),
        # 第3号: 1 month from the day after the income-tax 更正 notice (07-11 … 08-10) → from 08-11.
        (3, "2024-07-10", "", D(2024, 8, 11)),
    ],
)
def test_the_second_and_third_kinds_start_from_their_own_dates(
    sample_city: Any, write_csv: Callable[..., Any], staff: tuple[Any, Any], cause: int, event_on: str,
    claimed_on: str, start: date,
) -> None:  # fmt: skip
    from conftest import login_verified
    from django.test import Client

    clerk, _ = staff
    pay(write_csv, "1002", "500001", 10800, "2024-05-20")
    levy(write_csv, sample_city, ["04,2024,400002,1002,1,2024-04-30,3000000,"], D(2024, 4, 1))
    pay(write_csv, "1002", "400002", 3000000, "2024-04-25")
    levy(write_csv, sample_city, ["04,2024,400002,1002,1,2024-04-30,1000000,"], D(2024, 8, 1))
    run("2024-10-31")
    op = Overpayment.objects.get()
    client = login_verified(Client(), clerk)
    bad = client.post(
        f"/refunds/{op.pk}/", {"cause": "2", "event_on": "", "claimed_on": "", "reason": "請求"}
    )
    assert bad.status_code == 400 and "更正の請求の日" in bad.content.decode()
    assert Overpayment.objects.get().cause == 1
    ok = client.post(
        f"/refunds/{op.pk}/",
        {"cause": str(cause), "event_on": event_on, "claimed_on": claimed_on, "reason": "更正の請求"},
    )
    assert ok.status_code == 200
    refund = refund_decide(
        actor=clerk, overpayment=Overpayment.objects.get(), decided_on=D(2024, 12, 2), reason="還付"
    )
    assert refund.interest_start == start
    days = (D(2024, 12, 2) - start).days + 1
    assert refund.refund_interest == yen_interest(2000000, "0.9", days)
