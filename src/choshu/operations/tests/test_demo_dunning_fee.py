"""The synthetic city gets a 督促手数料 setting, so ``choshu dunning-run`` works on the demo."""

from __future__ import annotations

import json
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command

from choshu.core.models import Municipality
from choshu.core.services import municipality_create
from choshu.dunning.models import DunningFeeSetting
from choshu.operations.demo_settings import DEMO_FEE_YEN, ensure_demo_dunning_fee

pytestmark = pytest.mark.django_db


def _json(command: str, *args: str) -> dict[str, Any]:
    out = StringIO()
    call_command(command, *args, "--json", stdout=out)
    return dict(json.loads(out.getvalue().strip().splitlines()[-1]))


def test_a_seeded_city_can_run_dunning_with_the_demo_fee() -> None:
    _json("seed", "--taxpayers", "60", "--seed", "3", "--as-of", "2026-11-26")
    city = Municipality.objects.get(code="112038")
    setting = DunningFeeSetting.objects.get(municipality=city)
    assert setting.yen == DEMO_FEE_YEN and "デモ用" in setting.source
    out = _json("dunning_run", "--as-of", "2026-11-26", "--dry-run", "--municipality", "112038")
    assert out["dry_run"] is True
    assert out["fee_total"] == DEMO_FEE_YEN * out["issued"]


def test_the_demo_setting_is_registered_once_and_never_over_a_city_s_own() -> None:
    city = municipality_create(code="112038", name="川口市")
    assert ensure_demo_dunning_fee(city) is True
    assert ensure_demo_dunning_fee(city) is False
    assert DunningFeeSetting.objects.filter(municipality=city).count() == 1


def test_a_city_in_the_bundled_table_gets_no_demo_setting() -> None:
    city = municipality_create(code="372072", name="東かがわ市")
    assert ensure_demo_dunning_fee(city) is False
    assert not DunningFeeSetting.objects.exists()
