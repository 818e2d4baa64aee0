"""``choshu verify-ledger`` proves the breakdown (full and incremental), and the retention purge leaves
no breakdown row or split of a purged person behind."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from conftest import LEVY_HEADER, TAXPAYER_HEADER, purge_with_approval
from django.db import connection

from choshu.levies.models import BreakdownSplit, Installment, InstallmentBreakdown
from choshu.levies.services import levies_import
from choshu.levies.tests.test_breakdown_ledger import FIXED, fixed_asset_installment, give_breakdown
from choshu.levies.tests.test_verify_incremental import pay, verify
from choshu.taxpayers.models import Taxpayer
from choshu.taxpayers.services import taxpayers_import


def problems(report: dict[str, Any]) -> set[tuple[str, int]]:
    return {(p["kind"], p["id"]) for p in report["problems"]}


def test_the_full_check_finds_a_tampered_split_paid_amount_or_levied_amount(
    sample_city: Any, write_csv: Callable
) -> None:
    inst = fixed_asset_installment()
    pay(write_csv, [("400001", 5000, "2024-04-10")])
    assert verify()[0] == 0
    split = BreakdownSplit.objects.get(installment=inst, code="city_planning")
    with connection.cursor() as cur:
        cur.execute("UPDATE levies_breakdownsplit SET amount = amount + 1 WHERE id = %s", [split.pk])
    code, report = verify()
    assert code == 1 and problems(report) == {("split_mismatch", inst.pk)}
    assert "city_planning" in report["problems"][0]["detail"]
    with connection.cursor() as cur:
        cur.execute("UPDATE levies_breakdownsplit SET amount = amount - 1 WHERE id = %s", [split.pk])
    assert verify()[0] == 0
    # The paid cache of a component: its sum no longer is the installment's, nor its splits' sum.
    InstallmentBreakdown.objects.filter(installment=inst, seq=1).update(paid=1)
    code, report = verify()
    assert problems(report) == {("breakdown_mismatch", inst.pk), ("split_mismatch", inst.pk)}
    InstallmentBreakdown.objects.filter(installment=inst, seq=1).update(paid=4118)
    # A levied component that does not add up to the installment's principal.
    InstallmentBreakdown.objects.filter(installment=inst, seq=2).update(levied=2000)
    code, report = verify()
    assert problems(report) == {("breakdown_mismatch", inst.pk)}
    assert report["problems"][0]["detail"] == "levied 12000≠内訳 11882"


def test_a_split_under_a_code_the_breakdown_lacks_and_an_orphan_split_are_reported(
    sample_city: Any, write_csv: Callable
) -> None:
    inst = fixed_asset_installment()
    pay(write_csv, [("400001", 5000, "2024-04-10")])
    split = BreakdownSplit.objects.filter(installment=inst).first()
    assert split is not None
    BreakdownSplit.objects.create(
        municipality_id=inst.municipality_id,
        txn_id=split.txn_id,
        installment=inst,
        seq=3,
        code="stray",
        amount=7,
    )
    BreakdownSplit.objects.create(
        municipality_id=inst.municipality_id,
        txn_id=split.txn_id,
        installment_id=987654,
        seq=1,
        code="x",
        amount=0,
    )
    code, report = verify()
    assert code == 1
    found = problems(report)
    assert ("split_mismatch", inst.pk) in found
    assert any(
        p["kind"] == "orphan_reference" and "levies_breakdownsplit.installment_id" in p["detail"]
        for p in report["problems"]
    )


def test_incremental_checks_the_breakdown_of_the_installments_posted_since(
    sample_city: Any, write_csv: Callable
) -> None:
    inst = fixed_asset_installment()
    assert verify()[0] == 0
    pay(write_csv, [("400001", 5000, "2024-04-10")])
    InstallmentBreakdown.objects.filter(installment=inst, seq=2).update(paid=881)
    code, report = verify("--incremental")
    assert (code, report["mode"]) == (1, "incremental")
    assert problems(report) == {("breakdown_mismatch", inst.pk), ("split_mismatch", inst.pk)}
    InstallmentBreakdown.objects.filter(installment=inst, seq=2).update(paid=882)
    code, report = verify("--incremental")
    assert code == 0 and report["checkpoint"]["advanced"] is True


def test_the_purge_removes_a_purged_person_s_breakdown_and_splits(
    municipality: Any, write_csv: Callable
) -> None:
    people = [f"{no},individual,氏名{no},シメイ,1950-01-01,1,,,,,,,1," for no in ("1", "2")]
    taxpayers_import(municipality=municipality, path=write_csv(TAXPAYER_HEADER, people))
    levies_import(
        municipality=municipality,
        path=write_csv(LEVY_HEADER, ["04,2015,1,1,1,2015-04-30,12000,", "04,2022,2,2,1,2022-05-02,12000,"]),
        booking_date=date(2015, 4, 1),
    )
    for notice in ("1", "2"):
        give_breakdown(Installment.objects.get(levy__notice_no=notice), FIXED)
    pay(write_csv, [("1", 12000, "2015-04-20"), ("2", 12000, "2022-04-20")])
    assert BreakdownSplit.objects.count() == 4
    assert purge_with_approval(municipality, "2026-11-26")["deleted"] == 1
    kept = Installment.objects.get()
    assert Taxpayer.objects.get().taxpayer_no == "2"
    assert set(InstallmentBreakdown.objects.values_list("installment_id", flat=True)) == {kept.pk}
    assert set(BreakdownSplit.objects.values_list("installment_id", flat=True)) == {kept.pk}
    assert verify()[0] == 0
