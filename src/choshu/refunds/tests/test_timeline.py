"""The steps of issue 16 on the case file's timeline (issue 16 §6; issue 18 §2): an overpayment, its
appropriation (amount and target installment), the refund decision, its approval or rejection, the
transfer and its result and the notices — through the real services, shown in the case file of the
person only, newest first, under the filter 過誤納・充当・還付; the case file stays team-scoped."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from choshu.accounts.models import Role
from choshu.approvals.services import request_reject
from choshu.cases.selectors import timeline
from choshu.cases.services import case_open
from choshu.core.timeline import provider_labels
from choshu.refunds.models import Appropriation, Overpayment, Refund
from choshu.refunds.services import refund_decide
from choshu.refunds.tests.helpers import pay, run
from choshu.refunds.tests.test_refund import RESULT_HEADER, approved_refund_with_account, staff  # noqa: F401
from choshu.refunds.timeline import refund_events
from choshu.refunds.transfer import refund_confirm, refund_transfer
from choshu.taxpayers.models import Taxpayer

pytestmark = pytest.mark.django_db
D = date


@pytest.fixture
def officers(sample_city: Any, make_user: Callable[..., Any]) -> dict[str, Any]:
    return {
        "a": make_user("officer_a", role=Role.CASE_OFFICER, municipality=sample_city, team="整理1班"),
        "b": make_user("officer_b", role=Role.CASE_OFFICER, municipality=sample_city, team="整理2班"),
    }


def _client(user: Any) -> Client:
    from conftest import login_verified

    return login_verified(Client(), user)


@pytest.mark.parametrize(
    ("code", "result"), [("0", "還付金の振込完了"), ("1", "還付金の振込不能（該当口座なし）")]
)
def test_the_refund_steps_appear_on_the_persons_timeline(
    sample_city: Any, write_csv: Callable[..., Any], staff: tuple[Any, Any], officers: dict[str, Any],  # noqa: F811
    tmp_path: Path, code: str, result: str,
) -> None:  # fmt: skip
    clerk, chief = staff
    # 1002: a double payment, decided and approved, sent on 11/5, the bank's result on 11/6.
    refund = approved_refund_with_account(write_csv, sample_city, staff)
    refund_transfer(municipality=sample_city, transfer_date=D(2024, 11, 5), out=tmp_path / "f.txt",
                    today=D(2024, 11, 1))  # fmt: skip
    row = f"2024-11-05,{refund.pk},0001,001,1,1234567,3011600,{code}"
    refund_confirm(municipality=sample_city, path=write_csv(RESULT_HEADER, [row]), on=D(2024, 11, 6))
    if code == "1":  # back on the list: decided again and rejected
        again = refund_decide(actor=clerk, overpayment=Overpayment.objects.get(), decided_on=D(2024, 11, 7),
                              reason="還付（再）")  # fmt: skip
        request_reject(actor=chief, request=again.request, comment="口座を確認")
    # 1001: paid twice, the second payment appropriated to its arrears.
    pay(write_csv, "1001", "100001", 30000, "2024-06-20")
    pay(write_csv, "1001", "100001", 30000, "2024-08-10")
    run("2024-11-30")
    # The oldest arrears first (test_notices): 12,000 to 固定資産税 第1期, 18,000 to 個人住民税 第2期.
    appropriations = Appropriation.objects.filter(taxpayer__taxpayer_no="1001")
    assert sorted(appropriations.values_list("amount", flat=True)) == [12000, 18000]

    hanako, taro = (Taxpayer.objects.get(taxpayer_no=n) for n in ("1002", "1001"))
    case = case_open(actor=officers["a"], taxpayer=hanako, today=D(2024, 12, 2), reason="還付の確認")
    other = case_open(actor=officers["a"], taxpayer=taro, today=D(2024, 12, 2), reason="充当の確認")

    events = timeline(case, ["refund"])
    titles = [e.title for e in events]
    assert {e.kind for e in events} == {"refund"}
    keys = [e.sort_key for e in events]
    assert keys == sorted(keys, reverse=True)
    assert "過誤納金の発生（二重納付）" in titles and "還付決議" in titles and "還付決議の承認" in titles
    assert "還付金の振込を依頼" in titles and result in titles
    decided = next(e for e in events if e.title == "還付決議" and e.at == D(2024, 10, 31))
    assert decided.amount == 3011600 and decided.actor == str(clerk)
    sent = next(e for e in events if e.title == "還付金の振込を依頼")
    assert "振込指定日 2024/11/05" in sent.detail and sent.amount == 3011600
    assert next(e for e in events if e.title == "還付決議の承認").actor == str(chief)
    if code == "1":
        rejected = next(e for e in events if e.title == "還付決議の否認")
        assert rejected.detail == "口座を確認" and rejected.actor == str(chief)
        assert titles.index("還付決議の否認") < titles.index(result)  # decided after the failure: newer
    else:
        assert "還付決議の否認" not in titles
    assert not any(t.startswith("充当") for t in titles)  # 1001's, not hers

    mine = timeline(other, ["refund"])
    shown = sorted((e.title, e.amount, e.at) for e in mine if e.title.startswith("充当 "))
    assert shown == [
        ("充当 2024年度 個人住民税(普通徴収) 第2期（本税）", 18000, D(2024, 11, 30)),
        ("充当 2024年度 固定資産税・都市計画税 第1期（本税）", 12000, D(2024, 11, 30)),
    ]
    assert next(e for e in mine if "固定資産税" in e.title).detail.startswith("充当適状日 2024/08/10")
    assert "充当通知書を作成" in [e.title for e in mine]
    assert not any(e.title.startswith("還付決議") for e in mine)

    # One query per model for one person, whatever the rows (catalog warmed by the calls above).
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as q:
        assert len(list(refund_events(sample_city.pk, hanako.pk, None))) == len(events)
    assert len(q.captured_queries) == 4

    # The filter and the screen: the officer's team sees the steps under 過誤納・充当・還付.
    assert ("refund", "過誤納・充当・還付") in provider_labels()
    page = _client(officers["a"]).get(reverse("cases:case", args=[case.pk])).content.decode()
    assert 'value="refund"' in page and "過誤納・充当・還付" in page and "還付決議の承認" in page
    only = _client(officers["a"]).get(reverse("cases:timeline", args=[case.pk]), {"kind": "refund"})
    rows = only.content.decode().split("<tbody>")[1]
    assert result in rows and "3,011,600円" in rows and "滞納案件の開始" not in rows
    # Another team's officer does not see the case (404), filter or not.
    outsider = _client(officers["b"])
    assert outsider.get(reverse("cases:timeline", args=[case.pk]), {"kind": "refund"}).status_code == 404
    assert outsider.get(reverse("cases:case", args=[case.pk])).status_code == 404
    assert Refund.objects.filter(taxpayer=hanako).count() == (2 if code == "1" else 1)


def test_the_since_bound_drops_older_steps(
    sample_city: Any, write_csv: Callable[..., Any], staff: tuple[Any, Any],  # noqa: F811
) -> None:  # fmt: skip
    approved_refund_with_account(write_csv, sample_city, staff)
    hanako = Taxpayer.objects.get(taxpayer_no="1002")
    all_titles = [e.title for e in refund_events(sample_city.pk, hanako.pk, None)]
    assert "過誤納金の発生（二重納付）" in all_titles and "還付決議" in all_titles
    later = [e.title for e in refund_events(sample_city.pk, hanako.pk, D(2024, 11, 1))]
    assert "過誤納金の発生（二重納付）" not in later and "還付決議" not in later
    assert "還付決議の承認" in later  # approved today (the request's decision time)
