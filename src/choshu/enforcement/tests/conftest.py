"""The sample city (root conftest) with a 督促 of 2024-07-15 (fee 100円) for 1001's installments past due,
an open case of 1001 in team 整理1班, its officer, another team's officer and a chief.

| notice | 期 | due | 本税 | 督促 |
|---|---|---|---|---|
| 400001 | 1 | 2024-04-30 | 12,000 | 2024-07-15 (+100円) |
| 100001 | 1 | 2024-07-01 | 30,000 | 2024-07-15 (+100円) |
| 100001 | 2 | 2024-09-02 | 29,000 | none |

Seizure becomes possible on 2024-07-26 (10 days from 7-15 end on 7-25; 地方税法331条1項1号).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest

from choshu.accounts.models import Role
from choshu.cases.models import Case
from choshu.cases.services import case_setting_set, cases_run
from choshu.dunning.services import dunning_fee_set, dunning_run
from choshu.levies.models import Installment

D = date
DUNNED = D(2024, 7, 15)
FIRST_SEIZURE_DAY = D(2024, 7, 26)


def inst(notice_no: str, no: int = 1) -> Installment:
    return Installment.objects.select_related("levy").get(levy__notice_no=notice_no, installment_no=no)


@pytest.fixture
def w(sample_city: Any, make_user: Callable[..., Any]) -> dict[str, Any]:
    city = sample_city
    dunning_fee_set(actor=None, municipality=city, valid_from=D(2024, 4, 1), yen=100, source="税条例（例）")
    dunning_run(municipality=city, as_of=DUNNED, today=DUNNED)
    case_setting_set(actor=None, municipality=city, valid_from=D(2024, 1, 1), min_amount=1, min_age_days=0,
                     note="試験")  # fmt: skip
    cases_run(municipality=city, as_of=D(2024, 7, 20), today=D(2024, 7, 20))
    case = Case.objects.get(taxpayer__taxpayer_no="1001", closed_on__isnull=True)
    case.team = "整理1班"
    case.save(update_fields=["team"])
    return {
        "city": city,
        "case": case,
        "officer": make_user("officer", role=Role.CASE_OFFICER, municipality=city, team="整理1班"),
        "other": make_user("other", role=Role.CASE_OFFICER, municipality=city, team="整理2班"),
        "chief": make_user("chief", role=Role.CHIEF, municipality=city, team="管理"),
        "clerk": make_user("clerk", role=Role.CLERK, municipality=city, team="収納係"),
    }
