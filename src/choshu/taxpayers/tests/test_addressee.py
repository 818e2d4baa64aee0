"""``addressee_for``: whom and where every document is sent — each rule, validity periods, current
records only, and the order of the rules (docs/architecture.md, "The addressee rule")."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from choshu.levies.tax_items import catalog
from choshu.taxpayers import related_imports as ri
from choshu.taxpayers.addressee import Via, addressee_for
from choshu.taxpayers.models import Taxpayer
from choshu.taxpayers.tests.related_data import (
    CO_OWNER_HEADER,
    HEIR_HEADER,
    MAILING_HEADER,
    REPRESENTATIVE_HEADER,
)

JUNE = date(2024, 6, 1)


def tp(municipality: Any, no: str) -> Taxpayer:
    return Taxpayer.objects.get(municipality=municipality, taxpayer_no=no)


def mail(m: Any, write_csv: Callable[..., Path], *rows: str) -> None:
    ri.mailing_addresses_import(
        municipality=m, path=write_csv(MAILING_HEADER, list(rows)), tax_items=set(catalog(m.pk))
    )


def represent(m: Any, write_csv: Callable[..., Path], *rows: str) -> None:
    ri.representatives_import(
        municipality=m, path=write_csv(REPRESENTATIVE_HEADER, list(rows)), tax_items=set(catalog(m.pk))
    )


def test_a_tax_manager_for_the_item_receives_at_the_managers_own_address(related_city: Any) -> None:
    taro, manager = tp(related_city, "1001"), tp(related_city, "4001")
    found = addressee_for(taro, "01", JUNE)
    assert (found.rule, found.via, found.name) == (Via.TAX_MANAGER, "納税管理人", "税理 士郎")
    assert (found.postal_code, found.address, found.address_extra) == (
        "1000001",
        "東京都千代田区千代田1-1",
        "税理士会館3階",
    )
    assert found.protected_taxpayer_id == manager.pk == found.addressee_taxpayer_id
    assert found.taxpayer_id == taro.pk


def test_a_mailing_address_for_one_item_serves_that_item_only(related_city: Any) -> None:
    taro = tp(related_city, "1001")
    fixed_asset = addressee_for(taro, "04", JUNE)
    assert (fixed_asset.rule, fixed_asset.via) == (Via.MAILING_ITEM, "送付先（税目別）")
    assert (fixed_asset.name, fixed_asset.postal_code, fixed_asset.address, fixed_asset.address_extra) == (
        "川口 太郎 様方 山田", "3320011", "埼玉県川口市元郷1-1-1", "元郷ハイツ201",
    )  # fmt: skip
    assert fixed_asset.protected_taxpayer_id == taro.pk and fixed_asset.addressee_taxpayer_id is None
    light_vehicle = addressee_for(taro, "05", JUNE)
    assert (light_vehicle.rule, light_vehicle.address) == (Via.REGISTERED, "埼玉県川口市東川口1-2-3")


def test_the_general_mailing_address_serves_the_items_without_their_own(
    related_city: Any, write_csv: Callable[..., Path]
) -> None:
    taro = tp(related_city, "1001")
    mail(related_city, write_csv, "1001,00,,,,3330811,埼玉県川口市戸塚2-2-2,,,,,,,,0,,,")
    assert addressee_for(taro, "05", JUNE).rule == Via.MAILING_ALL
    assert addressee_for(taro, "04", JUNE).rule == Via.MAILING_ITEM  # the item's own wins


def test_a_vehicle_address_is_used_only_when_that_vehicle_is_asked_for(
    related_city: Any, write_csv: Callable[..., Path]
) -> None:
    taro = tp(related_city, "1001")
    mail(related_city, write_csv, "1001,05,K-123,,,3330811,埼玉県川口市戸塚3-3-3,,,,,,,,0,,,")
    assert addressee_for(taro, "05", JUNE, vehicle_no="K-123").rule == Via.MAILING_VEHICLE
    assert addressee_for(taro, "05", JUNE).rule == Via.REGISTERED
    assert addressee_for(taro, "05", JUNE, vehicle_no="K-999").rule == Via.REGISTERED


def test_only_a_mailing_address_valid_on_the_day_and_current_is_used(
    related_city: Any, write_csv: Callable[..., Path]
) -> None:
    hanako = tp(related_city, "1002")
    mail(related_city, write_csv, "1002,05,,,,3330811,埼玉県川口市戸塚3-3-3,,,,,2024-07-01,2024-12-31,,0,,,")
    assert addressee_for(hanako, "05", JUNE).rule == Via.REGISTERED  # not yet
    assert addressee_for(hanako, "05", date(2024, 7, 1)).rule == Via.MAILING_ITEM
    assert addressee_for(hanako, "05", date(2025, 1, 1)).rule == Via.REGISTERED  # 利用廃止
    mail(related_city, write_csv, "1002,05,,,,,,,,,,,,,1,,,")  # ended
    assert addressee_for(hanako, "05", date(2024, 7, 1)).rule == Via.REGISTERED


def test_a_contact_record_is_not_an_address(related_city: Any, write_csv: Callable[..., Path]) -> None:
    hanako = tp(related_city, "1002")
    mail(related_city, write_csv, "1002,00,,,,,,,99,,048-999-0000,,,,0,,,")
    assert addressee_for(hanako, "05", JUNE).rule == Via.REGISTERED


def test_the_heir_representative_receives_for_a_deceased_taxpayer(related_city: Any) -> None:
    ichiro, hanako = tp(related_city, "1003"), tp(related_city, "1002")
    found = addressee_for(ichiro, "01", JUNE)
    assert (found.rule, found.via, found.name, found.address) == (
        Via.HEIR_REPRESENTATIVE, "相続人代表者", "鳩ヶ谷 花子", "埼玉県川口市鳩ヶ谷本町2-1-1",
    )  # fmt: skip
    assert found.address_extra == "101号" and found.protected_taxpayer_id == hanako.pk
    assert addressee_for(ichiro, "01", date(2024, 1, 14)).rule == Via.REGISTERED  # before the death


def test_the_representative_member_receives_for_a_co_ownership_of_the_years_up_to_the_day(
    related_city: Any, write_csv: Callable[..., Path]
) -> None:
    ownership, taro = tp(related_city, "3001"), tp(related_city, "1001")
    found = addressee_for(ownership, "04", JUNE)
    assert (found.rule, found.via, found.protected_taxpayer_id) == (
        Via.CO_OWNER_REPRESENTATIVE,
        "共有代表者",
        taro.pk,
    )
    assert addressee_for(ownership, "04", date(2024, 3, 31)).rule == Via.REGISTERED  # 2023年度: no members
    ri.co_owners_import(
        municipality=related_city,
        path=write_csv(CO_OWNER_HEADER, ["3001,2025,A1,1,1001,0,,,0,,,", "3001,2025,A1,2,1002,1,,,0,,,"]),
    )
    assert addressee_for(ownership, "04", date(2025, 5, 1)).name == "鳩ヶ谷 花子"
    assert addressee_for(ownership, "04", date(2025, 5, 1), levy_year=2024).name == "川口 太郎"
    assert addressee_for(ownership, "04", date(2025, 3, 1)).name == "川口 太郎"


def test_a_tax_manager_comes_before_the_heirs_and_an_items_manager_before_one_for_every_item(
    related_city: Any, write_csv: Callable[..., Path]
) -> None:
    ichiro, taro = tp(related_city, "1003"), tp(related_city, "1001")
    represent(related_city, write_csv, "1003,4001,00,tax_manager,2024-01-20,,,,0,,,")
    assert addressee_for(ichiro, "04", JUNE).rule == Via.TAX_MANAGER
    represent(related_city, write_csv, "1001,1002,00,tax_manager,2024-01-01,,,,0,,,")
    assert addressee_for(taro, "01", JUNE).name == "税理 士郎"  # the item's own manager
    assert addressee_for(taro, "05", JUNE).name == "鳩ヶ谷 花子"  # every item's manager
    assert addressee_for(taro, "04", JUNE).rule == Via.TAX_MANAGER  # before the item's mailing address


def test_a_tax_manager_only_in_the_validity_period_and_an_agent_never_receives(
    related_city: Any, write_csv: Callable[..., Path]
) -> None:
    hanako = tp(related_city, "1002")
    represent(
        related_city, write_csv,
        "1002,4001,00,tax_manager,2024-07-01,2024-09-30,,,0,,,", "1002,1001,00,agent,2024-01-01,,,,0,,,",
    )  # fmt: skip
    assert addressee_for(hanako, "05", JUNE).rule == Via.REGISTERED
    assert addressee_for(hanako, "05", date(2024, 9, 30)).rule == Via.TAX_MANAGER
    assert addressee_for(hanako, "05", date(2024, 10, 1)).rule == Via.REGISTERED


def test_an_ended_heir_record_no_longer_decides(related_city: Any, write_csv: Callable[..., Path]) -> None:
    ichiro = tp(related_city, "1003")
    ri.heirs_import(
        municipality=related_city,
        path=write_csv(HEIR_HEADER, ["1003,1,1001,,,,,1,,,", "1003,2,1002,,,,,1,,,"]),
    )
    assert addressee_for(ichiro, "01", JUNE).rule == Via.REGISTERED
