"""Fixtures of the 口座振替 tests: the sample city with a collecting account and approved mandates."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest

from choshu.approvals.models import ChangeRequest
from choshu.approvals.services import request_approve
from choshu.debits.models import Mandate
from choshu.debits.services import collecting_account_set, mandate_request
from choshu.formats.debit_mandates import MandateInput
from choshu.taxpayers.models import Taxpayer

D = date


@pytest.fixture
def people(sample_city: Any, make_user: Callable[..., Any]) -> dict[str, Any]:
    return {
        "clerk": make_user("clerk1", role="clerk", municipality=sample_city),
        "chief": make_user("chief1", role="chief", municipality=sample_city),
        "chief2": make_user("chief2", role="chief", municipality=sample_city),
        "window": make_user("window1", role="window_contractor", municipality=sample_city),
    }


def entry(**over: Any) -> MandateInput:
    values: dict[str, Any] = {
        "tax_item": "", "bank_code": "0001", "branch_code": "001", "deposit_type": "1", "account": "1234567",
        "holder_name": "カワグチ タロウ", "start": D(2024, 6, 1), "end": None, "received_on": D(2024, 5, 20),
    }  # fmt: skip
    values.update(over)
    return MandateInput(**values)


def request_of(m: Mandate) -> ChangeRequest:
    assert m.request is not None
    return m.request


def approved(people: dict[str, Any], taxpayer_no: str, **over: Any) -> Mandate:
    """A mandate entered by the clerk and approved by a chief (the two-person check)."""
    tp = Taxpayer.objects.get(taxpayer_no=taxpayer_no)
    m = mandate_request(actor=people["clerk"], taxpayer=tp, data=entry(**over), reason="依頼書受付")
    request_approve(actor=people["chief"], request=request_of(m), decided_on=D(2024, 5, 21))
    m.refresh_from_db()
    return m


@pytest.fixture
def debit_city(sample_city: Any, people: dict[str, Any]) -> Any:
    """The sample city with one collecting account (みずほ 東京営業部, every bank through it) and two
    approved mandates: 1001 for every item (みずほ), 1002 for item 05 (ゆうちょ by 記号・番号)."""
    collecting_account_set(
        actor=people["chief"], municipality=sample_city, bank_code="0001", branch_code="001", deposit_type="1",
        account="7654321", originator_code="1234567890", originator_name="カワグチシ", is_default=True,
    )  # fmt: skip
    approved(people, "1001")
    approved(
        people, "1002", tax_item="05", bank_code="9900", branch_code="", deposit_type="", account="",
        jp_kigo="14030", jp_bango="12345671", holder_name="ハトガヤ ハナコ", start=D(2024, 5, 1),
    )  # fmt: skip
    return sample_city
