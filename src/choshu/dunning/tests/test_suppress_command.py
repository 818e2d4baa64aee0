"""``choshu dunning-suppress``: a 督促停止 by 納付番号 from the command line (exit 2 on bad input)."""

from __future__ import annotations

import json
from collections.abc import Callable
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from choshu.approvals.models import ChangeRequest, RequestKind
from choshu.dunning.models import DunningSuppression, SuppressionReason
from choshu.levies.models import Installment

pytestmark = pytest.mark.django_db


def _call(*args: str) -> dict[str, Any]:
    out = StringIO()
    call_command("dunning_suppress", "--json", *args, stdout=out)
    return dict(json.loads(out.getvalue().strip().splitlines()[-1]))


def _slip() -> str:
    return str(Installment.objects.get(levy__notice_no="500001").slip_no)


def test_a_suppression_by_slip_number(sample_city: Any, make_user: Callable[..., Any]) -> None:
    make_user("tanto", role="clerk", municipality=sample_city)
    out = _call("--slip-no", _slip(), "--reason", "bankruptcy", "--from", "2024-07-01", "--operator", "tanto")
    s = DunningSuppression.objects.get(pk=out["suppression_id"])
    assert (s.reason, str(s.start), s.end) == (SuppressionReason.BANKRUPTCY, "2024-07-01", None)


def test_a_manual_suppression_becomes_a_request(sample_city: Any, make_user: Callable[..., Any]) -> None:
    make_user("tanto", role="clerk", municipality=sample_city)
    out = _call("--slip-no", _slip(), "--reason", "manual", "--from", "2024-07-01", "--note", "相談中",
                "--operator", "tanto")  # fmt: skip
    assert ChangeRequest.objects.get(pk=out["request_id"]).kind == RequestKind.DUNNING_SUPPRESSION
    assert not DunningSuppression.objects.exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--slip-no", "0000000000000000"), "見つかりません"),
        (("--until", "2024-06-01"), "終了日"),
        (("--from", "2024-13-01"), "--from"),
        (("--operator", "nobody"), "nobody"),
        (("--operator", "window"), "権限"),
    ],
)
def test_bad_input_is_refused_with_exit_2_and_nothing_written(
    sample_city: Any, make_user: Callable[..., Any], args: tuple[str, str], message: str
) -> None:
    make_user("tanto", role="clerk", municipality=sample_city)
    make_user("window", role="window_contractor", municipality=sample_city)
    base = {"--slip-no": _slip(), "--reason": "bankruptcy", "--from": "2024-07-01", "--operator": "tanto"}
    base[args[0]] = args[1]
    with pytest.raises(CommandError) as exc:
        _call(*[x for kv in base.items() for x in kv])
    assert exc.value.returncode == 2 and message in str(exc.value)
    assert not DunningSuppression.objects.exists()
