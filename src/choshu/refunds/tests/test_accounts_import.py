"""公金受取口座 from a file (issue 16 §3; docs/formats.md §18): a good file becomes account requests for
a second person; any bad row refuses the file with line, column and reason, and nothing is saved."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.core.management.base import CommandError

from choshu.accounts.models import Role
from choshu.approvals.models import ChangeRequest
from choshu.refunds.models import AccountSource, AccountStatus, RefundAccount
from choshu.refunds.tests.helpers import cmd

pytestmark = pytest.mark.django_db
HEADER = "taxpayer_no,bank_code,branch_code,deposit_type,account_no,holder_kana"


@pytest.fixture
def clerk(sample_city: Any, make_user: Callable[..., Any]) -> Any:
    return make_user("clerk", role=Role.CLERK, municipality=sample_city)


def test_a_good_file_becomes_account_requests(clerk: Any, write_csv: Callable[..., Any]) -> None:
    path = write_csv(HEADER, ["1001,0001,001,1,1234567,カワグチ タロウ", "1002,0001,001,1,7654321,ﾊﾄｶﾞﾔ ﾊﾅｺ"])
    out = cmd(
        "refund_accounts_import", str(path), "--operator", "clerk", "--reason", "公金受取口座の照会結果"
    )
    assert out["requested"] == 2
    assert sorted(
        RefundAccount.objects.values_list("taxpayer__taxpayer_no", "source", "status", "holder_kana")
    ) == [
        ("1001", AccountSource.PUBLIC, AccountStatus.PENDING, "ｶﾜｸﾞﾁ ﾀﾛｳ"),
        ("1002", AccountSource.PUBLIC, AccountStatus.PENDING, "ﾊﾄｶﾞﾔ ﾊﾅｺ"),
    ]


def test_a_bad_row_refuses_the_file_with_line_and_column(clerk: Any, write_csv: Callable[..., Any]) -> None:
    rows = [
        "1001,0001,001,1,1234567,カワグチ タロウ",
        "1002,9999,001,1,7654321,ﾊﾄｶﾞﾔ ﾊﾅｺ",  # unknown bank
        "9999,0001,001,1,7654321,ﾀﾞﾚｶ",  # unknown person
        "2001,0001,001,1,12345678,キューポラ",  # 8 digits
        "1001,0001,001,1,1234567,",  # no name
    ]
    path = write_csv(HEADER, rows)
    with pytest.raises(CommandError, match="取込を中止しました"):
        cmd("refund_accounts_import", str(path), "--operator", "clerk", "--reason", "照会結果")
    assert not RefundAccount.objects.exists() and not ChangeRequest.objects.exists()


def test_the_refusal_names_each_line_and_column(clerk: Any, write_csv: Callable[..., Any]) -> None:
    from choshu.formats.errors import FileRefused
    from choshu.refunds.services import refund_accounts_import

    path = write_csv(
        HEADER, ["1002,9999,001,1,7654321,ﾊﾄｶﾞﾔ ﾊﾅｺ", "9999,0001,001,1,7654321,ﾀﾞﾚｶ", "2001,0001,001,1,1,鋳物"]
    )
    with pytest.raises(FileRefused) as exc:
        refund_accounts_import(
            actor=clerk, municipality=clerk.municipality, path=str(path), reason="照会結果"
        )
    found = {(e.line, e.column) for e in exc.value.errors}
    assert found == {(2, "bank_code"), (3, "taxpayer_no"), (4, "holder_kana")}


def test_an_operator_without_the_right_is_refused(
    sample_city: Any, make_user: Callable[..., Any], write_csv: Callable[..., Any]
) -> None:
    make_user("window", role=Role.WINDOW_CONTRACTOR, municipality=sample_city)
    path = write_csv(HEADER, ["1001,0001,001,1,1234567,カワグチ タロウ"])
    with pytest.raises(CommandError, match="権限"):
        cmd("refund_accounts_import", str(path), "--operator", "window", "--reason", "照会結果")
    assert not RefundAccount.objects.exists()
