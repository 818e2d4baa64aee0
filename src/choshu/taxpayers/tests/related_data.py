"""Data for the tests of the related records (issue 12 §4), loaded through the real imports.

``related_city``: the sample city plus a deceased person (1003), a co-ownership (3001), a tax accountant
(4001) and an employer (2002); then one file of each related layout.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import TAXPAYER_HEADER

MAILING_HEADER = (
    "taxpayer_no,tax_item,vehicle_no,name,name_kana,postal_code,address,address_extra,kind,set_reason,phone,"
    "valid_from,valid_until,memo,delete_flag,operator_id,operated_on,operated_time"
)
REPRESENTATIVE_HEADER = (
    "taxpayer_no,agent_taxpayer_no,tax_item,role,valid_from,valid_until,phone,memo,"
    "delete_flag,operator_id,operated_on,operated_time"
)
CO_OWNER_HEADER = (
    "ownership_taxpayer_no,levy_year,asset_group_no,member_seq,member_taxpayer_no,is_representative,"
    "share_numerator,share_denominator,delete_flag,operator_id,operated_on,operated_time"
)
HEIR_HEADER = (
    "deceased_taxpayer_no,seq,heir_taxpayer_no,is_representative,share_numerator,share_denominator,since,"
    "delete_flag,operator_id,operated_on,operated_time"
)
SPECIAL_COLLECTOR_HEADER = (
    "designation_no,taxpayer_no,name,due_date_special,contact_name,contact_phone,"
    "delete_flag,operator_id,operated_on,operated_time"
)
SPECIAL_EMPLOYEE_HEADER = (
    "designation_no,employee_taxpayer_no,levy_year,annual_amount,start_month,end_date,"
    "delete_flag,operator_id,operated_on,operated_time"
)

MORE_TAXPAYERS = [
    "1003,individual,川口 一郎,カワグチ イチロウ,1940-02-03,1,3330802,埼玉県川口市戸塚1-1-1,,,,,1,2024-01-15",
    "3001,co_ownership,川口 太郎 外1名,カワグチ タロウ ホカ1メイ,,,3330801,埼玉県川口市東川口1-2-3,,,,,1,",
    "4001,individual,税理 士郎,ゼイリ シロウ,1965-05-05,1,1000001,東京都千代田区千代田1-1,税理士会館3階,03-1111-2222,,,0,",
    "2002,corporation,鋳物工業株式会社,イモノコウギョウ,1950-04-01,,3320034,埼玉県川口市並木1-1-1,,048-333-4444,,,1,",
]


def related_people(municipality: Any, write_csv: Callable[..., Path]) -> Any:
    """The sample city's people plus 1003 (deceased), 3001 (共有), 4001 (税理士) and 2002 (employer)."""
    from choshu.taxpayers.services import taxpayers_import

    taxpayers_import(municipality=municipality, path=write_csv(TAXPAYER_HEADER, MORE_TAXPAYERS))
    return municipality


@pytest.fixture
def related_city(sample_city: Any, write_csv: Callable[..., Path]) -> Any:
    """Every related layout loaded once: a 送付先 of 1001 for 固定資産税 only, 4001 as 1001's 納税管理人
    for 個人住民税, 1001 and 1002 as co-owners of 3001 (1001 the representative) and as heirs of 1003
    (1002 the representative), 2002 as 特別徴収義務者 00012345 withholding 1001's resident tax."""
    from choshu.levies.tax_items import catalog
    from choshu.taxpayers import related_imports as ri

    m = related_people(sample_city, write_csv)
    items = set(catalog(m.pk))
    ri.mailing_addresses_import(
        municipality=m,
        tax_items=items,
        path=write_csv(
            MAILING_HEADER,
            [
                "1001,04,,川口 太郎 様方 山田,,332-0011,埼玉県川口市元郷1-1-1,元郷ハイツ201,01,入院中,,2024-01-01,,,0,OP01,2024-01-05,10:15:00"
            ],
        ),
    )
    ri.representatives_import(
        municipality=m,
        tax_items=items,
        path=write_csv(
            REPRESENTATIVE_HEADER,
            ["1001,4001,01,09,2024-01-01,,03-1111-2222,海外赴任,0,OP01,2024-01-05,101500"],
        ),
    )
    ri.co_owners_import(
        municipality=m,
        path=write_csv(
            CO_OWNER_HEADER,
            ["3001,2024,A1,1,1001,1,1,2,0,,,", "3001,2024,A1,2,1002,0,1,2,0,,,"],
        ),
    )
    ri.heirs_import(
        municipality=m,
        path=write_csv(
            HEIR_HEADER, ["1003,1,1001,0,1,2,2024-01-15,0,,,", "1003,2,1002,1,1,2,2024-01-15,0,,,"]
        ),
    )
    ri.special_collectors_import(
        municipality=m,
        path=write_csv(
            SPECIAL_COLLECTOR_HEADER, ["00012345,2002,鋳物工業株式会社,1,総務 花子,048-333-4445,0,,,"]
        ),
    )
    ri.special_employees_import(
        municipality=m,
        path=write_csv(SPECIAL_EMPLOYEE_HEADER, ["00012345,1001,2024,120000,2024-06,,0,,,"]),
    )
    return m
