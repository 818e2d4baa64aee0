"""The call-centre scenario: the sample city plus one person for every reason of exclusion, all with
open cases (cases-run), and the staff who work it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from choshu.accounts.models import Role

AS_OF = date(2024, 8, 15)  # the export's 基準日 (2024年度)
STANDARD = (
    "taxpayer_no,kind,name,name_kana,birth_date,sex,postal_code,address,address_extra,phone,my_number,"
    "corporate_number,resident,deceased_on,support_measure_from,support_measure_until,operator_id,operated_on,"
    "operated_time"
)
LEVIES = "tax_item,levy_year,notice_no,taxpayer_no,installment_no,due_date,principal,slip_no"


@pytest.fixture
def scenario(
    sample_city: Any, write_csv: Callable[..., Path], make_user: Callable[..., Any]
) -> dict[str, Any]:
    """1001 太郎, 1002 花子, 2001 キューポラ (kept) and, each left out for one reason:
    3001 deceased, 3002 支援措置, 3003 徴収猶予 approved, 3004 case 処分中, 3005 a promise on 8/31,
    3006 case closed by hand, 3007 below the minimum (5,000 yen); 3008 has only 2023年度 arrears (not
    a current-year person at all)."""
    from choshu.approvals.services import request_approve
    from choshu.callcenter.criteria import criteria_set
    from choshu.cases.models import Case, Channel, Stage
    from choshu.cases.services import ContactInput, case_setting_set, case_stage_set, cases_run, contact_add
    from choshu.levies.models import Installment
    from choshu.levies.services import levies_import
    from choshu.relief.relief import relief_request
    from choshu.taxpayers.models import Taxpayer
    from choshu.taxpayers.services import taxpayers_import

    city = sample_city
    people = write_csv(
        STANDARD,
        [
            "3001,individual,死亡 一郎,シボウ イチロウ,1940-01-01,1,3330801,埼玉県川口市東川口9-9,,048-300-0001,,,1,2024-06-01,,,,,",
            "3002,individual,保護 二子,ホゴ フタコ,1980-02-02,2,3330801,埼玉県川口市東川口9-8,,048-300-0002,,,1,,2024-01-01,2025-12-31,,,",
            "3003,individual,猶予 三郎,ユウヨ サブロウ,1975-03-03,1,3330801,埼玉県川口市東川口9-7,,048-300-0003,,,1,,,,,,",
            "3004,individual,処分 四郎,ショブン シロウ,1965-04-04,1,3330801,埼玉県川口市東川口9-6,,048-300-0004,,,1,,,,,,",
            "3005,individual,約束 五郎,ヤクソク ゴロウ,1990-05-05,1,3330801,埼玉県川口市東川口9-5,,048-300-0005,,,1,,,,,,",
            "3006,individual,完結 六子,カンケツ ムツコ,1995-06-06,2,3330801,埼玉県川口市東川口9-4,,048-300-0006,,,1,,,,,,",
            "3007,individual,少額 七子,ショウガク ナナコ,1988-07-07,2,3330801,埼玉県川口市東川口9-3,,048-300-0007,,,1,,,,,,",
            "3008,individual,過年 八郎,カネン ハチロウ,1960-08-08,1,3330801,埼玉県川口市東川口9-2,,048-300-0008,,,1,,,,,,",
        ],
        name="more_people.csv",
    )
    taxpayers_import(municipality=city, path=people)
    levies = write_csv(
        LEVIES,
        [
            *[f"01,2024,90{n}001,{n},1,2024-06-30,20000," for n in (3001, 3002, 3003, 3004, 3005, 3006)],
            "01,2024,903007,3007,1,2024-06-30,1000,",
            "01,2023,903008,3008,1,2023-06-30,20000,",
        ],
        name="more_levies.csv",
    )
    from conftest import LEVIES_BOOKED_ON

    levies_import(municipality=city, path=levies, booking_date=LEVIES_BOOKED_ON)
    case_setting_set(actor=None, municipality=city, valid_from=date(2023, 1, 1), min_amount=1, min_age_days=0,
                     note="試験")  # fmt: skip
    cases_run(municipality=city, as_of=AS_OF, today=AS_OF)
    chief = make_user("chief", role=Role.CHIEF, municipality=city, team="管理")
    chief2 = make_user("chief2", role=Role.CHIEF, municipality=city, team="管理")
    officer = make_user("officer", role=Role.CASE_OFFICER, municipality=city, team="整理1班")
    operator = make_user("op01", role=Role.CALLCENTER_OPERATOR, municipality=city)
    tp = {t.taxpayer_no: t for t in Taxpayer.objects.filter(municipality=city)}
    relief = relief_request(
        actor=officer, taxpayer=tp["3003"], kind="collection_deferral", ground="illness",
        installments=list(Installment.objects.filter(taxpayer=tp["3003"])), start=date(2024, 8, 1),
        end=date(2025, 1, 31), note="入院のため",
    )  # fmt: skip
    assert relief.request is not None
    request_approve(actor=chief2, request=relief.request, decided_on=date(2024, 8, 1))
    case = lambda no: Case.objects.get(taxpayer=tp[no], closed_on__isnull=True)  # noqa: E731
    case_stage_set(actor=chief, case=case("3004"), stage=Stage.ENFORCEMENT, note="差押", today=AS_OF)
    promise = ContactInput(contacted_at=timezone.make_aware(datetime(2024, 8, 10, 10, 0)), channel=Channel.PHONE,
                           summary="納付約束", promise_amount=20000, promise_on=date(2024, 8, 31))  # fmt: skip
    contact_add(actor=chief, case=case("3005"), data=promise)
    case_stage_set(
        actor=chief, case=case("3006"), stage=Stage.CLOSED, note="分納誓約のため手動で完結", today=AS_OF
    )
    criteria_set(actor=chief, municipality=city, valid_from=date(2024, 4, 1), min_amount=5000)
    return {"city": city, "tp": tp, "chief": chief, "officer": officer, "operator": operator}
