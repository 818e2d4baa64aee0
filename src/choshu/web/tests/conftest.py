"""Fixtures for the staff-screen tests: signed-in clients, a second city with look-alike data."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import LEVIES_BOOKED_ON, LEVY_HEADER, TAXPAYER_HEADER, login_verified
from django.test import Client

from choshu.accounts.models import Role
from choshu.taxpayers.tests.related_data import related_city

__all__ = ["related_city"]  # the related records of issue 12 (送付先・関係者)

MY_NUMBER_OF_TARO = "621498320257"  # the test My Number of 1001 in ``sample_city``


@pytest.fixture
def other_city(other_municipality: Any, write_csv: Callable[..., Path]) -> Any:
    """草加市 with a person who shares 川口 太郎's 宛名番号, kana prefix, phone and notice number."""
    from choshu.levies.services import levies_import
    from choshu.taxpayers.services import taxpayers_import

    taxpayers = write_csv(
        TAXPAYER_HEADER,
        [
            "1001,individual,草加 次郎,カワグチ ジロウ,1960-01-01,1,3400011,埼玉県草加市本町4-1-1,,048-111-2222,,,1,",
        ],
    )
    levies = write_csv(LEVY_HEADER, ["01,2024,100001,1001,1,2024-07-01,5000,"])
    taxpayers_import(municipality=other_municipality, path=taxpayers)
    levies_import(municipality=other_municipality, path=levies, booking_date=LEVIES_BOOKED_ON)
    return other_municipality


@pytest.fixture
def taxpayer(sample_city: Any) -> Any:
    """川口 太郎 (宛名番号 1001): resident-tax and fixed-asset levies, a registered My Number."""
    from choshu.taxpayers.models import Taxpayer

    return Taxpayer.objects.get(municipality=sample_city, taxpayer_no="1001")


@pytest.fixture
def clerk(make_user: Callable[..., Any], sample_city: Any) -> Any:
    return make_user("clerk", role=Role.CLERK, municipality=sample_city)


@pytest.fixture
def clerk_client(client: Client, clerk: Any) -> Client:
    login_verified(client, clerk)
    return client


def by_no(municipality: Any, taxpayer_no: str) -> Any:
    from choshu.taxpayers.models import Taxpayer

    return Taxpayer.objects.get(municipality=municipality, taxpayer_no=taxpayer_no)
