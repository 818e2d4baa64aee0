"""The sample city (root conftest) plus older levies whose 時効 falls in the test dates.

| notice | person | tax | due (= 法定納期限) | 本税 | events | 消滅日 (law.md §f) |
|---|---|---|---|---|---|---|
| 190001 | 1001 | 01 | 2019-07-31 | 30,000 | none | 2024-08-01 (5 years from 08-01 end 2024-07-31) |
| 190002 | 1002 | 01 | 2019-06-28 | 20,000 | 督促 2019-07-10 | 2024-07-21 (new period from 07-21) |
| 210001 | 1002 | 05 | 2021-05-31 | 10,800 | 5,000 paid 2022-03-15 | 2027-03-16 (new period from 03-16) |
| 220001 | 1001 | 04 | 2022-04-30 | 12,000 | none | 2027-05-01 |

The 督促 of 2019-07-10 also books a 100 円 督促手数料 on 190002 (dunning_fee_set from 2019-04-01).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from conftest import LEVY_HEADER
from django.core.management import call_command

from choshu.dunning.services import dunning_fee_set, dunning_run
from choshu.formats.payments import BANK_HEADER
from choshu.levies.models import Installment
from choshu.levies.services import levies_import

D = date
TODAY = D(2026, 12, 7)


def inst(notice_no: str, no: int = 1) -> Installment:
    return Installment.objects.get(levy__notice_no=notice_no, installment_no=no)


def cmd(name: str, *args: str) -> dict[str, Any]:
    out = StringIO()
    call_command(name, *args, "--json", stdout=out)
    return dict(json.loads(out.getvalue().strip().splitlines()[-1]))


def bank_import(write_csv: Callable[..., Path], rows: list[tuple[str, int, str]]) -> dict[str, Any]:
    """Import bank OCR records (notice, amount, 領収日) through the real command."""
    lines = []
    for notice, amount, paid in rows:
        slip = next(s for s in cmd("slips", "--taxpayer", inst(notice).taxpayer.taxpayer_no)["slips"]
                    if s["slip_no"] == inst(notice).slip_no)  # fmt: skip
        lines.append(f"{slip['ocr_lower']},{amount},{paid},0001,123,{paid}")
    path = write_csv(",".join(BANK_HEADER), lines, name=f"bank-{len(lines)}-{rows[0][2]}.csv")
    return cmd("import_payments", "--channel", "bank", str(path))


@pytest.fixture
def old_city(sample_city: Any, write_csv: Callable[..., Path], monkeypatch: pytest.MonkeyPatch) -> Any:
    from django.utils import timezone

    monkeypatch.setattr(timezone, "localdate", lambda *a, **k: TODAY)
    levies = write_csv(
        LEVY_HEADER,
        [
            "01,2019,190001,1001,1,2019-07-31,30000,",
            "01,2019,190002,1002,1,2019-06-28,20000,",
            "05,2021,210001,1002,1,2021-05-31,10800,",
            "04,2022,220001,1001,1,2022-04-30,12000,",
        ],
        name="old-levies.csv",
    )
    levies_import(municipality=sample_city, path=levies, booking_date=D(2019, 4, 1))
    dunning_fee_set(
        actor=None, municipality=sample_city, valid_from=D(2019, 4, 1), yen=100, source="税条例（例）"
    )
    dunning_run(municipality=sample_city, as_of=D(2019, 7, 10), today=TODAY)
    bank_import(write_csv, [("210001", 5000, "2022-03-15")])
    return sample_city
