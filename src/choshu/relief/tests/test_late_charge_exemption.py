"""延滞金 during a relief (地方税法15条の9第1項, 附則3条の2): every figure reads the relief's periods.

Which relief exempts how much: 亘理町町税延滞金減免取扱要綱 別表第1 (rows 1–3: 徴収猶予 on 15条1項1号・2号 (and
5号 like them) and 執行停止 — 全額; other 徴収猶予 and 換価の猶予 — the part above the 猶予特例基準割合)
https://www.town.watari.miyagi.jp/reiki_int/reiki_honbun/c219RG00001159.html .
Rates: 2.4 % / 8.7 % for 2023–2024 (https://www.city.seki.lg.jp/0000019335.html), 猶予特例基準割合 0.9 %
(https://www.city.fukuroi.shizuoka.jp/soshiki/nouzei/3/nozei/9403.html). Each period: 本税 × 割合 × 日数 ÷ 365
truncated to the yen (the 365-day year also in 2024), the sum truncated to 100 yen (法20条の4の2).

The levy: 1,000,000 yen, 納期限 2023-05-31; first month 2023-06-01..06-30 (30 days), then 8.7 %.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import LEVY_HEADER, login_verified
from django.test import Client

from choshu.accounts.models import Role
from choshu.approvals.services import request_approve
from choshu.levies.models import Installment
from choshu.levies.selectors import amounts_due, overpayment_balance
from choshu.levies.services import levies_import
from choshu.relief.relief import relief_cancel_request, relief_request
from choshu.relief.tests.conftest import TODAY, D, bank_import

pytestmark = pytest.mark.django_db

AS_OF = D(2024, 12, 31)
FIRST_MONTH = 1_000_000 * 24 * 30 // 365_000  # 1,972
JUL_AUG_2023 = 1_000_000 * 87 * 62 // 365_000  # 14,778 (07-01..08-31)
JUL_DEC_2023 = 1_000_000 * 87 * 184 // 365_000  # 43,857 (07-01..12-31)
SEP_DEC_2024 = 1_000_000 * 87 * 122 // 365_000  # 29,079 (09-01..12-31)
JUL_DEC_2024 = 1_000_000 * 87 * 184 // 365_000  # 43,857 (07-01..12-31)
YEAR_2024 = 1_000_000 * 87 * 366 // 365_000  # 87,238
DEFERRAL_2023 = 1_000_000 * 9 * 122 // 365_000  # 3,008 (09-01..12-31 at 0.9 %)
DEFERRAL_2024 = 1_000_000 * 9 * 244 // 365_000  # 6,016 (01-01..08-31 at 0.9 %)


def hundreds(yen: int) -> int:
    return yen // 100 * 100


@pytest.fixture
def w(old_city: Any, make_user: Callable, write_csv: Callable[..., Path]) -> dict[str, Any]:
    path = write_csv(LEVY_HEADER, ["01,2023,230009,1001,1,2023-05-31,1000000,"], name="big.csv")
    levies_import(municipality=old_city, path=path, booking_date=D(2023, 4, 1))
    return {
        "city": old_city,
        "officer": make_user("officer", role=Role.CASE_OFFICER, municipality=old_city),
        "chief": make_user("chief", role=Role.CHIEF, municipality=old_city),
        "inst": Installment.objects.get(levy__notice_no="230009"),
    }


def granted(w: dict[str, Any], kind: str, ground: str, start: Any, end: Any = None) -> Any:
    i = w["inst"]
    r = relief_request(
        actor=w["officer"], taxpayer=i.taxpayer, kind=kind, ground=ground, installments=[i], start=start,
        end=end, note="申請書受付",
    )  # fmt: skip
    assert r.request is not None
    request_approve(actor=w["chief"], request=r.request, decided_on=TODAY)
    return r


def late_charge(w: dict[str, Any], as_of: Any = AS_OF) -> int | None:
    i = w["inst"]
    (due,) = amounts_due(taxpayer_ids=[i.taxpayer_id], as_of=as_of, installment_ids=[i.pk])
    return due.late_charge


def test_without_a_relief_the_charge_runs_at_the_normal_rates(w: dict[str, Any]) -> None:
    assert late_charge(w) == hundreds(FIRST_MONTH + JUL_DEC_2023 + YEAR_2024) == 133_000


def test_a_deferral_for_a_disaster_exempts_the_whole_period(w: dict[str, Any]) -> None:
    r = granted(w, "collection_deferral", "disaster", D(2023, 9, 1), D(2024, 8, 31))
    assert late_charge(w) == hundreds(FIRST_MONTH + JUL_AUG_2023 + SEP_DEC_2024) == 45_800
    # a pending request changes nothing: only the approved relief counts (checked above by approving)
    assert r.pk


def test_a_deferral_for_business_loss_charges_the_deferral_rate_for_its_period(w: dict[str, Any]) -> None:
    granted(w, "collection_deferral", "business_loss", D(2023, 9, 1), D(2024, 8, 31))
    expected = FIRST_MONTH + JUL_AUG_2023 + DEFERRAL_2023 + DEFERRAL_2024 + SEP_DEC_2024
    assert late_charge(w) == hundreds(expected) == 54_800


def test_an_enforcement_suspension_exempts_until_the_day_before_its_cancellation(w: dict[str, Any]) -> None:
    r = granted(w, "enforcement_suspension", "no_property", D(2024, 1, 1))
    assert late_charge(w) == hundreds(FIRST_MONTH + JUL_DEC_2023) == 45_800  # open: nothing in 2024
    cancel = relief_cancel_request(actor=w["officer"], relief=r, on=D(2024, 7, 1), reason="財産の発見")
    request_approve(actor=w["chief"], request=cancel, decided_on=TODAY)
    assert late_charge(w) == hundreds(FIRST_MONTH + JUL_DEC_2023 + JUL_DEC_2024) == 89_600


def test_overlapping_reliefs_take_the_more_favourable_day_by_day(w: dict[str, Any]) -> None:
    """A 換価の猶予 (deferral rate) with an 執行停止 from inside it: the suspension's days are free."""
    granted(w, "liquidation_deferral", "liquidation_hardship", D(2023, 9, 1), D(2024, 8, 31))
    granted(w, "enforcement_suspension", "hardship", D(2024, 1, 1))
    assert late_charge(w) == hundreds(FIRST_MONTH + JUL_AUG_2023 + DEFERRAL_2023) == 19_700


def test_the_payment_engine_places_the_reduced_charge(
    w: dict[str, Any], write_csv: Callable[..., Path]
) -> None:
    """A bank payment of 1,050,000 on 2024-12-31 under the disaster deferral: 本税 1,000,000, 延滞金 45,800,
    and 4,200 over (without the relief the 延滞金 alone would be 133,000: nothing would be over)."""
    granted(w, "collection_deferral", "disaster", D(2023, 9, 1), D(2024, 8, 31))
    bank_import(write_csv, [("230009", 1_050_000, "2024-12-31")])
    i = w["inst"]
    (due,) = amounts_due(taxpayer_ids=[i.taxpayer_id], as_of=AS_OF, installment_ids=[i.pk])
    assert (due.principal_due, due.late_charge_paid, due.late_charge) == (0, 45_800, 0)
    assert overpayment_balance(municipality=w["city"], taxpayer_ids=[i.taxpayer_id]) == 4_200


def test_the_derivation_page_lists_the_exempted_period(w: dict[str, Any], make_user: Callable) -> None:
    granted(w, "collection_deferral", "business_loss", D(2023, 9, 1), D(2024, 8, 31))
    clerk = make_user("clerk", role=Role.CLERK, municipality=w["city"])
    http = login_verified(Client(), clerk)
    i = w["inst"]
    page = http.get(f"/taxpayers/{i.taxpayer_id}/late-charge/{i.pk}/?as_of=2024-12-31")
    assert page.status_code == 200, page.status_code
    text = page.content.decode()
    assert "延滞金の免除（地方税法第15条の9" in text and "2023/09/01〜2024/08/31" in text
    assert "猶予特例基準割合で計算" in text and "54,800" in text
