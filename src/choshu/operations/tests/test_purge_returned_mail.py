"""The retention purge deletes a purged person's 返戻 and 公示送達 with their 督促状 (issue 15 §5)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from django.utils import timezone

from choshu.dunning.models import (
    DunningNotice,
    DunningSuppression,
    PublicNotice,
    ReturnedMail,
    ReturnReason,
)
from choshu.dunning.returned import ReturnLine, public_notice_record, returned_mail_register
from choshu.dunning.services import dunning_fee_set, dunning_run
from choshu.operations.retention import _delete_people
from choshu.taxpayers.models import Taxpayer

pytestmark = pytest.mark.django_db


def test_a_purged_person_s_returned_mail_and_public_notice_go_and_no_one_else_s(
    sample_city: Any, make_user: Callable[..., Any]
) -> None:
    chief = make_user("kacho", role="chief", municipality=sample_city)
    today = timezone.localdate()
    dunning_fee_set(actor=None, municipality=sample_city, valid_from=date(2024, 4, 1), yen=100, source="条例")
    dunning_run(municipality=sample_city, as_of=date(2024, 7, 15), today=today)
    slips = {
        n.taxpayer.taxpayer_no: n.slip.slip_no
        for n in DunningNotice.objects.select_related("taxpayer", "slip").filter(tax_item__in=["01", "05"])
        if n.slip is not None
    }
    lines = [ReturnLine(k, slips[no], date(2024, 7, 22), ReturnReason.ADDRESS_UNKNOWN)
             for k, no in enumerate(("1001", "1002"), start=1)]  # fmt: skip
    returned_mail_register(actor=chief, municipality=sample_city, lines=lines, today=today)
    public_notice_record(actor=chief, municipality=sample_city, slip_no=slips["1001"], posted_on=date(2024, 8, 1),
                         today=today)  # fmt: skip
    taro = Taxpayer.objects.get(taxpayer_no="1001")
    _delete_people([taro.pk])
    assert not PublicNotice.objects.exists()
    assert list(ReturnedMail.objects.values_list("taxpayer__taxpayer_no", flat=True)) == ["1002"]
    assert not DunningSuppression.objects.filter(taxpayer_id=taro.pk).exists()
    assert DunningSuppression.objects.filter(taxpayer__taxpayer_no="1002").count() == 1
