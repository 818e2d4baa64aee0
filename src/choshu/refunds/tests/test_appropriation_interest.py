"""還付加算金 on appropriated amounts and the 除算期間 (issue 16 open points 1 and 2).

地方税法17条の4第1項: 還付加算金 is added to the amount "還付し、又は充当する", counted to the 支出決定日
or to the 充当適状日. The city formula and rounding (法20条の4の2): base truncated to 1,000 (under 2,000
none) × rate × days ÷ 365, truncated to 100 (under 1,000 none) —
https://www.city.hiroshima.lg.jp/site/shizei-nouhu/2139.html ("還付のための支出を決定した日または充当を
した日（同日前に充当するのに適することとなった日がある場合には、当該適することとなった日）まで").
17条の4第2項第1号 (除算): http://taru-masaki.hatenablog.com/entry/2014/07/30/191411 .

1002 pays a 3,000,000 円 固定資産税 (400002, 納期限 2024-04-30) twice, the second time on 2024-04-26:
第4号, the interest runs from 2024-05-27 (the day after one month has elapsed from the day after payment).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError

from choshu.accounts.models import Role
from choshu.approvals.services import request_approve
from choshu.levies.models import LedgerEntry, TxnKind
from choshu.refunds.models import (
    AccountSource,
    Appropriation,
    NoticeKind,
    Overpayment,
    OverpaymentStatus,
    RefundNotice,
    RefundStatus,
)
from choshu.refunds.services import AccountInput, refund_account_request, refund_decide
from choshu.refunds.tests.helpers import held, levy, pay, run, verify_ok, yen_interest
from choshu.refunds.transfer import originator_set, refund_transfer
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


def overpaid(write_csv: Callable[..., Any], city: Any, arrears: int) -> None:
    """The double payment, and a later 固定資産税 (400003) of ``arrears`` 円 due 2024-07-31, unpaid."""
    pay(write_csv, "1002", "500001", 10800, "2024-05-20")
    levy(write_csv, city, ["04,2024,400002,1002,1,2024-04-30,3000000,"], D(2024, 4, 1))
    pay(write_csv, "1002", "400002", 3000000, "2024-04-25")
    pay(write_csv, "1002", "400002", 3000000, "2024-04-26")
    levy(write_csv, city, [f"04,2024,400003,1002,1,2024-07-31,{arrears},"], D(2024, 7, 1))


def test_the_appropriated_part_earns_to_its_appropriable_date_and_the_refund_pays_it_rounded_once(
    sample_city: Any, write_csv: Callable[..., Any], staff: tuple[Any, Any]
) -> None:
    clerk, chief = staff
    overpaid(write_csv, sample_city, 2000000)
    out = run("2024-10-31")
    assert (out["appropriated_amount"], out["refundable_amount"]) == (2000000, 1000000)
    # 2,000,000 appropriated, 充当適状日 2024-07-31: 05-27..07-31 = 66 days.
    assert out["appropriation_interest"] == yen_interest(2000000, "0.9", 66) == 3200
    op = Overpayment.objects.get()
    assert op.appropriation_interest == 3200
    refund = refund_decide(actor=clerk, overpayment=op, decided_on=D(2024, 10, 31), reason="残額の還付")
    # One figure for the overpayment (法20条の4の2 once): 3,000,000 for 66 days, then 1,000,000 for
    # 08-01..10-31 (92 days), each segment truncated to the yen, the sum to 100.
    raw = 3000000 * 9 * 66 // 365000 + 1000000 * 9 * 92 // 365000
    assert raw == 4882 + 2268
    assert (refund.amount, refund.refund_interest, refund.appropriation_interest) == (1000000, 7100, 3200)
    # Rounded apart (each part to its own date), the person would get less: 3,200 + 3,800.
    assert yen_interest(2000000, "0.9", 66) + yen_interest(1000000, "0.9", 158) == 7000 < 7100
    request_approve(actor=chief, request=refund.request, decided_on=D(2024, 10, 31))
    assert RefundNotice.objects.filter(kind=NoticeKind.REFUND, amount=1007100).exists()
    assert verify_ok()


def test_an_overpayment_all_appropriated_pays_its_interest_alone(
    sample_city: Any, write_csv: Callable[..., Any], staff: tuple[Any, Any], tmp_path: Path
) -> None:
    clerk, chief = staff
    overpaid(write_csv, sample_city, 3500000)
    out = run("2024-10-31")
    assert (out["appropriated_amount"], out["refundable_amount"]) == (3000000, 0)
    assert out["appropriation_interest"] == yen_interest(3000000, "0.9", 66) == 4800
    op = Overpayment.objects.get()
    assert (op.status, op.appropriation_interest) == (OverpaymentStatus.APPROPRIATED, 4800)
    # No account yet: the 過誤納還付通知書 asks for one, for the 加算金.
    assert RefundNotice.objects.get(kind=NoticeKind.CLAIM).amount == 4800
    # The 加算金 is an expenditure, not a 過誤納金: it is paid although 500,000 is still in arrears.
    refund = refund_decide(actor=clerk, overpayment=op, decided_on=D(2024, 10, 31), reason="充当の加算金")
    assert (refund.amount, refund.refund_interest, refund.appropriation_interest) == (0, 4800, 4800)
    with pytest.raises(ValidationError):  # once
        refund_decide(
            actor=clerk, overpayment=Overpayment.objects.get(), decided_on=D(2024, 10, 31), reason="x"
        )
    request_approve(actor=chief, request=refund.request, decided_on=D(2024, 10, 31))
    hanako = Taxpayer.objects.get(taxpayer_no="1002")
    account = refund_account_request(
        actor=clerk, taxpayer=hanako, data=ACCOUNT, source=AccountSource.REGISTERED, reason="請求書",
        today=D(2024, 11, 1),
    )  # fmt: skip
    assert account.request is not None
    request_approve(actor=chief, request=account.request, decided_on=D(2024, 11, 1))
    originator_set(
        municipality=sample_city, code="1234567890", name="カワグチシ", bank_code="0001", branch_code="001",
        deposit_type="1", account_no="7654321",
    )  # fmt: skip
    s = refund_transfer(
        municipality=sample_city, transfer_date=D(2024, 11, 5), out=tmp_path / "f.txt", today=D(2024, 11, 1)
    )
    assert (s.count, s.amount, s.principal, s.refund_interest) == (1, 4800, 0, 4800)
    rec = (tmp_path / "f.txt").read_bytes().split(b"\r\n")[1]
    assert int(rec[80:90]) == 4800
    refund.refresh_from_db()
    assert refund.status == RefundStatus.SENT and refund.txn_id is None
    # The tax ledger does not move: the 加算金 is paid from the 歳出 budget.
    assert not LedgerEntry.objects.filter(txn__kind=TxnKind.REFUND).exists()
    assert held("1002") == 0
    assert verify_ok()


def test_the_days_after_the_thirtieth_day_of_the_claim_notice_until_the_claim_earn_nothing(
    sample_city: Any, write_csv: Callable[..., Any], staff: tuple[Any, Any]
) -> None:
    clerk, chief = staff
    pay(write_csv, "1002", "500001", 10800, "2024-05-20")
    levy(write_csv, sample_city, ["04,2024,400002,1002,1,2024-04-30,3000000,"], D(2024, 4, 1))
    pay(write_csv, "1002", "400002", 3000000, "2024-04-25")
    pay(write_csv, "1002", "400002", 3000000, "2024-04-26")
    run("2024-06-01")
    # The 過誤納還付通知書 was printed (sent) on 2024-06-03; the claim with the account came on 09-10.
    RefundNotice.objects.filter(kind=NoticeKind.CLAIM).update(
        printed_at=datetime(2024, 6, 3, 10, 0, tzinfo=ZoneInfo("Asia/Tokyo"))
    )
    hanako = Taxpayer.objects.get(taxpayer_no="1002")
    with pytest.raises(ValidationError) as bad:
        refund_account_request(
            actor=clerk, taxpayer=hanako, data=ACCOUNT, source=AccountSource.REGISTERED, reason="請求書",
            received_on=D(2024, 11, 2), today=D(2024, 11, 1),
        )  # fmt: skip
    assert "受付日" in bad.value.message_dict["received_on"][0]
    refund_account_request(
        actor=clerk, taxpayer=hanako, data=ACCOUNT, source=AccountSource.REGISTERED, reason="請求書",
        received_on=D(2024, 9, 10), today=D(2024, 11, 1),
    )  # fmt: skip
    op = Overpayment.objects.get()
    refund = refund_decide(actor=clerk, overpayment=op, decided_on=D(2024, 10, 31), reason="還付")
    # 30 days after 06-03 is 07-03; 07-04..09-10 (69 days) are left out of 05-27..10-31 (158 days).
    days = 158 - 69
    assert refund.refund_interest == yen_interest(3000000, "0.9", days) == 6500
    assert verify_ok()


def test_no_claim_notice_printed_means_no_exclusion(
    sample_city: Any, write_csv: Callable[..., Any], staff: tuple[Any, Any]
) -> None:
    clerk, _ = staff
    pay(write_csv, "1002", "500001", 10800, "2024-05-20")
    levy(write_csv, sample_city, ["04,2024,400002,1002,1,2024-04-30,3000000,"], D(2024, 4, 1))
    pay(write_csv, "1002", "400002", 3000000, "2024-04-25")
    pay(write_csv, "1002", "400002", 3000000, "2024-04-26")
    run("2024-06-01")
    refund = refund_decide(
        actor=clerk, overpayment=Overpayment.objects.get(), decided_on=D(2024, 10, 31), reason="還付"
    )
    assert refund.refund_interest == yen_interest(3000000, "0.9", 158) == 11600
    assert Appropriation.objects.count() == 0
