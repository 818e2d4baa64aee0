"""``choshu write-off-run`` (issue 18 §8): the split into 本税 / 延滞金 / 督促手数料 by reason, the
two-person check (決裁), the ledger booking and its agreement with ``verify-ledger``, the year-end list.
law.md §f (不納欠損: https://www.city.nagaokakyo.lg.jp/html/reiki/reiki_honbun/b400RG00000605.html )."""

from __future__ import annotations

import json
from collections.abc import Callable
from io import StringIO
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.core.management import call_command
from django.core.management.base import CommandError

from choshu.accounts.models import Role
from choshu.approvals.models import ChangeRequest
from choshu.approvals.services import request_approve, request_reject
from choshu.levies.models import Account, Component, LedgerEntry, TxnKind
from choshu.relief.models import WriteOffBatch, WriteOffLine, WriteOffStatus
from choshu.relief.tests.conftest import TODAY, D, cmd, inst
from choshu.relief.write_off import year_end_csv, year_end_rows
from choshu.rules.late_charge import compute_late_charge

pytestmark = pytest.mark.django_db


@pytest.fixture
def ended(old_city: Any, make_user: Callable) -> dict[str, Any]:
    cmd("prescription_run", "--as-of", "2026-12-01", "--municipality", old_city.code)
    return {
        "city": old_city,
        "a": make_user("chief-a", role=Role.CHIEF, municipality=old_city),
        "b": make_user("chief-b", role=Role.CHIEF, municipality=old_city),
        "clerk": make_user("clerk", role=Role.CLERK, municipality=old_city),
    }


def propose(w: dict[str, Any], year: str = "2024", *extra: str) -> dict[str, Any]:
    return cmd("write_off_run", "--fiscal-year", year, "--municipality", w["city"].code, *extra)


def charge(principal: int, due: Any, last_day: Any) -> int:
    return compute_late_charge(principal=principal, due_date=due, until=last_day).late_charge


def verify_ok() -> bool:
    out = StringIO()
    try:
        call_command("verify_ledger", "--json", stdout=out)
    except SystemExit:
        return False
    return bool(json.loads(out.getvalue().strip().splitlines()[-1])["ok"])


def test_the_proposal_splits_principal_late_charge_and_fee_by_reason(ended: dict[str, Any]) -> None:
    out = propose(ended, "2024", "--dry-run")
    # 190001: 30,000, 延滞金 to 2024-07-31 (the day before 2024-08-01); 190002: 20,000 + 100 fee, to 07-20.
    c1 = charge(30000, D(2019, 7, 31), D(2024, 7, 31))
    c2 = charge(20000, D(2019, 6, 28), D(2024, 7, 20))
    assert c1 > 0 and c2 > 0
    assert (out["count"], out["principal"], out["dunning_fee"]) == (2, 50000, 100)
    assert out["late_charge"] == c1 + c2
    assert out["total"] == 50000 + 100 + c1 + c2
    assert out["by_reason"] == {
        "prescription": {"count": 2, "principal": 50000, "late_charge": c1 + c2, "dunning_fee": 100,
                         "total": 50100 + c1 + c2}
    }  # fmt: skip
    assert not WriteOffBatch.objects.exists()  # a dry run proposes nothing
    # Fiscal year 2023 ends 2024-03-31: nothing had ended yet.
    assert propose(ended, "2023", "--dry-run")["count"] == 0


def test_a_proposal_needs_the_right_and_a_second_person_approves_it(ended: dict[str, Any]) -> None:
    with pytest.raises(CommandError, match="権限"):
        propose(ended, "2024")  # no operator
    with pytest.raises(CommandError, match="権限"):
        propose(ended, "2024", "--operator", "clerk")
    out = propose(ended, "2024", "--operator", "chief-a")
    req = ChangeRequest.objects.get(pk=out["request_id"])
    assert req.kind == "write_off" and req.payload["count"] == 2
    assert not LedgerEntry.objects.filter(txn__kind=TxnKind.WRITE_OFF).exists()  # nothing booked yet
    with pytest.raises(PermissionDenied, match="自分の申請"):
        request_approve(actor=ended["a"], request=req, decided_on=TODAY)
    with pytest.raises(PermissionDenied):
        request_approve(actor=ended["clerk"], request=req, decided_on=TODAY)
    # A second proposal while the first waits finds nothing new.
    assert propose(ended, "2024", "--operator", "chief-a")["count"] == 0


def test_the_approval_books_the_write_off_and_the_ledger_still_agrees(ended: dict[str, Any]) -> None:
    out = propose(ended, "2024", "--operator", "chief-a")
    req = ChangeRequest.objects.get(pk=out["request_id"])
    i1, i2 = inst("190001"), inst("190002")
    request_approve(actor=ended["b"], request=req, decided_on=TODAY)
    batch = WriteOffBatch.objects.get(pk=out["batch_id"])
    assert (batch.status, batch.booked_on) == (WriteOffStatus.BOOKED, TODAY)
    i1.refresh_from_db()
    i2.refresh_from_db()
    assert (i1.principal_levied, i1.principal_paid, i1.principal_outstanding) == (30000, 0, 0)
    assert (i2.principal_levied, i2.principal_paid, i2.principal_outstanding) == (20000, 0, 0)
    entries = LedgerEntry.objects.filter(txn__kind=TxnKind.WRITE_OFF, installment=i2)
    assert sorted((e.account, e.component, e.amount) for e in entries) == [
        (Account.RECEIVABLE, Component.DUNNING_FEE, -100),
        (Account.RECEIVABLE, Component.PRINCIPAL, -20000),
        (Account.WRITE_OFF, Component.DUNNING_FEE, 100),
        (Account.WRITE_OFF, Component.PRINCIPAL, 20000),
    ]
    assert {e.txn.legal_date for e in entries} == {D(2024, 7, 21)}  # 法定日 = the 消滅日
    assert {e.txn.booking_date for e in entries} == {TODAY}
    assert verify_ok()
    rows, totals = year_end_rows(ended["city"], 2024)
    assert [(r.tax_item, r.reason, r.count, r.principal, r.dunning_fee) for r in rows] == [
        ("01", "prescription", 2, 50000, 100)
    ]
    assert totals.total == out["total"]
    text = year_end_csv(ended["city"], 2024).decode("cp932")
    assert text.splitlines()[0] == "会計年度,税目コード,税目,消滅事由,件数,本税,延滞金,督促手数料,合計"
    assert text.splitlines()[-1].startswith("2024,,合計,,2,50000,")
    # Booked once: the next run finds nothing.
    assert propose(ended, "2024", "--operator", "chief-a")["count"] == 0


def test_a_rejected_proposal_frees_its_claims_for_a_new_one(ended: dict[str, Any]) -> None:
    out = propose(ended, "2024", "--operator", "chief-a")
    req = ChangeRequest.objects.get(pk=out["request_id"])
    request_reject(actor=ended["b"], request=req, comment="金額を確認のこと")
    again = propose(ended, "2024", "--operator", "chief-a")
    assert again["count"] == 2 and again["batch_id"] != out["batch_id"]
    assert WriteOffBatch.objects.get(pk=out["batch_id"]).status == WriteOffStatus.REJECTED
    assert WriteOffLine.objects.filter(active=True).count() == 2


def test_a_bad_fiscal_year_is_refused(ended: dict[str, Any]) -> None:
    with pytest.raises(CommandError, match="会計年度"):
        propose(ended, "24", "--dry-run")
