"""Shared set-up of the cases tests: the sample city (conftest.py at the root) with thresholds, two
teams with an officer each, and a chief."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest

from choshu.accounts.models import Role
from choshu.cases.models import AssignmentRule
from choshu.cases.services import case_setting_set

AS_OF = date(2024, 8, 15)


@pytest.fixture
def city(sample_city: Any) -> Any:
    case_setting_set(actor=None, municipality=sample_city, valid_from=date(2024, 1, 1), min_amount=20000,
                     min_age_days=30, note="試験")  # fmt: skip
    return sample_city


@pytest.fixture
def staff(city: Any, make_user: Callable[..., Any]) -> dict[str, Any]:
    a = make_user("officer_a", role=Role.CASE_OFFICER, municipality=city, team="整理1班")
    b = make_user("officer_b", role=Role.CASE_OFFICER, municipality=city, team="整理2班")
    chief = make_user("chief", role=Role.CHIEF, municipality=city, team="管理")
    clerk = make_user("clerk", role=Role.CLERK, municipality=city, team="収納係")
    return {"a": a, "b": b, "chief": chief, "clerk": clerk}


@pytest.fixture
def rules(city: Any, staff: dict[str, Any]) -> list[AssignmentRule]:
    """法人住民税 (03) to team 2; 東川口 to team 1; the rest nowhere (unassigned)."""
    return [
        AssignmentRule.objects.create(
            municipality=city,
            priority=10,
            name="法人住民税",
            tax_item="03",
            officer=staff["b"],
            team="整理2班",
        ),  # fmt: skip
        AssignmentRule.objects.create(
            municipality=city,
            priority=20,
            name="東川口地区",
            district="埼玉県川口市東川口",
            officer=staff["a"],
            team="整理1班",
        ),  # fmt: skip
    ]
