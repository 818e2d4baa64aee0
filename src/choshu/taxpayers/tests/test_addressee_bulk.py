"""``addressees_for`` (set-based, for print files) answers exactly what ``addressee_for`` answers for
each person, on every rule of the related city and on several days, with a fixed number of queries."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from django.db import connection
from django.test.utils import CaptureQueriesContext

from choshu.taxpayers import related_imports as ri
from choshu.taxpayers.addressee import Via, addressee_for
from choshu.taxpayers.addressee_bulk import addressees_for
from choshu.taxpayers.models import Taxpayer
from choshu.taxpayers.tests.related_data import CO_OWNER_HEADER
from choshu.taxpayers.tests.test_addressee import mail, represent

ITEMS = ("00", "01", "02", "03", "04", "05", "06", "07")
DAYS = (date(2024, 1, 14), date(2024, 3, 31), date(2024, 6, 1), date(2024, 9, 30), date(2025, 5, 1))


def _same_as_one_by_one(municipality: Any) -> set[Via]:
    people = list(Taxpayer.objects.filter(municipality=municipality).order_by("pk"))
    rules: set[Via] = set()
    for day in DAYS:
        bulk = addressees_for(((tp, item) for tp in people for item in ITEMS), day)
        assert len(bulk) == len(people) * len(ITEMS)
        for tp in people:
            for item in ITEMS:
                assert bulk[(tp.pk, item)] == addressee_for(tp, item, day), (tp.taxpayer_no, item, day)
                rules.add(bulk[(tp.pk, item)].rule)
    return rules


def test_every_rule_gives_what_addressee_for_gives(related_city: Any, write_csv: Callable[..., Path]) -> None:
    rules = _same_as_one_by_one(related_city)
    # a manager for every item, one in a validity window, an agent (never an addressee), later members
    represent(
        related_city, write_csv,
        "1003,4001,00,tax_manager,2024-01-20,,,,0,,,", "1002,4001,00,tax_manager,2024-07-01,2024-09-30,,,0,,,",
        "1002,1001,00,agent,2024-01-01,,,,0,,,",
    )  # fmt: skip
    mail(
        related_city, write_csv,
        "1001,00,,,,3330811,埼玉県川口市戸塚2-2-2,,,,,,,,0,,,", "1001,05,K-123,,,3330811,埼玉県川口市戸塚3-3-3,,,,,,,,0,,,",
        "1002,05,,,,3330811,埼玉県川口市戸塚3-3-3,,,,,2024-07-01,2024-12-31,,0,,,",
        "1002,00,,,,,,,99,,048-999-0000,,,,0,,,",
    )  # fmt: skip
    ri.co_owners_import(
        municipality=related_city,
        path=write_csv(CO_OWNER_HEADER, ["3001,2025,A1,1,1001,0,,,0,,,", "3001,2025,A1,2,1002,1,,,0,,,"]),
    )
    rules |= _same_as_one_by_one(related_city)
    assert {Via.TAX_MANAGER, Via.HEIR_REPRESENTATIVE, Via.CO_OWNER_REPRESENTATIVE, Via.MAILING_ITEM,
            Via.MAILING_ALL, Via.REGISTERED} <= rules  # fmt: skip


def test_a_fixed_number_of_queries_for_any_number_of_people(related_city: Any) -> None:
    people = list(Taxpayer.objects.filter(municipality=related_city))
    with CaptureQueriesContext(connection) as one:
        addressees_for([(people[0], "01")], date(2024, 6, 1))
    with CaptureQueriesContext(connection) as every:
        addressees_for([(tp, item) for tp in people for item in ITEMS], date(2024, 6, 1))
    assert len(every.captured_queries) <= 4 and len(one.captured_queries) <= 4
    assert addressees_for([], date(2024, 6, 1)) == {}
