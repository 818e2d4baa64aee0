"""``levies.selectors.amounts_due``: 本税 · 延滞金 · 督促手数料 · 合計 per installment as of a date.

The 延滞金 must equal ``rules.late_charge.compute_late_charge`` for the same dates (the published
examples of ``rules/tests/scenarios/late_charge.toml`` prove that function), less 延滞金 paid.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from choshu.levies.ledger import Leg, post
from choshu.levies.models import Account, Component, Installment, TxnKind
from choshu.levies.selectors import DueLine, amounts_due, amounts_due_lines, late_charge_result
from choshu.levies.tests.test_verify_incremental import pay
from choshu.rules.late_charge import compute_late_charge, late_charge_until
from choshu.taxpayers.models import Taxpayer

pytestmark = pytest.mark.django_db
D = date
FIRST = ("100001", 1)  # 個人住民税 30,000, 納期限 2024-07-01 (the sample city)


def _taxpayer(city: Any, no: str = "1001") -> Taxpayer:
    return Taxpayer.objects.get(municipality=city, taxpayer_no=no)


def _row(city: Any, as_of: date, notice: str = FIRST[0], no: int = FIRST[1]) -> Any:
    rows = amounts_due(taxpayer_ids=[_taxpayer(city).pk], as_of=as_of)
    return next(r for r in rows if (r.notice_no, r.installment_no) == (notice, no))


def test_an_unpaid_installment_owes_its_principal_and_the_rules_late_charge(sample_city: Any) -> None:
    row = _row(sample_city, D(2026, 1, 31))
    expected = compute_late_charge(principal=30000, due_date=D(2024, 7, 1), until=D(2026, 1, 31)).late_charge
    assert expected > 0
    assert (row.principal_due, row.late_charge, row.dunning_fee) == (30000, expected, 0)
    assert row.total == 30000 + expected
    assert row.late_charge_until == D(2026, 1, 31)


def test_nothing_accrues_up_to_the_due_date(sample_city: Any) -> None:
    row = _row(sample_city, D(2024, 7, 1))
    assert (row.principal_due, row.late_charge, row.total) == (30000, 0, 30000)
    assert not row.late_charge_runs


def test_a_partial_payment_reduces_the_base_from_the_next_day(sample_city: Any, write_csv: Callable) -> None:
    pay(write_csv, [("100001", 20000, "2025-06-30")])
    row = _row(sample_city, D(2026, 1, 31))
    r = compute_late_charge(
        principal=30000, due_date=D(2024, 7, 1), until=D(2026, 1, 31), payments=[(D(2025, 6, 30), 20000)]
    )
    assert row.principal_payments == ((D(2025, 6, 30), 20000),)
    assert (row.principal_due, row.late_charge) == (10000, r.late_charge) == (10000, 2900)
    # as of a day before the payment, the payment is not counted yet
    before = _row(sample_city, D(2025, 6, 29))
    assert before.principal_due == 30000 and before.principal_payments == ()


def test_paid_in_full_with_the_late_charge_unpaid_still_owes_the_late_charge(
    sample_city: Any, write_csv: Callable
) -> None:
    pay(write_csv, [("100001", 30000, "2025-06-30")])  # exactly the 本税: the 延滞金 stays unpaid
    row = _row(sample_city, D(2026, 1, 31))
    expected = compute_late_charge(principal=30000, due_date=D(2024, 7, 1), until=D(2025, 6, 30)).late_charge
    assert expected == 2400  # 61 + 1,086 + 1,294 = 2,441 → 2,400; it stopped on the day of the payment
    assert (row.principal_due, row.late_charge, row.total) == (0, 2400, 2400)
    assert row.late_charge_until == D(2025, 6, 30)


def test_late_charge_paid_through_the_engine_is_subtracted(sample_city: Any, write_csv: Callable) -> None:
    # 31,000 on 2025-06-30: the engine places 30,000 on the 本税, 1,000 on the 延滞金 (of 2,400)
    pay(write_csv, [("100001", 31000, "2025-06-30")])
    row = _row(sample_city, D(2026, 1, 31))
    assert (row.late_charge_accrued, row.late_charge_paid, row.late_charge) == (2400, 1000, 1400)
    assert row.total == 1400


def test_late_charge_paid_in_full_leaves_nothing(sample_city: Any, write_csv: Callable) -> None:
    pay(write_csv, [("100001", 32400, "2025-06-30")])
    row = _row(sample_city, D(2026, 1, 31))
    assert (row.principal_due, row.late_charge, row.total) == (0, 0, 0)


def test_an_unpaid_dunning_fee_is_owed_too(sample_city: Any) -> None:
    """A 督促手数料 receivable (the dunning issue will book them; here written with the ledger)."""
    inst = Installment.objects.get(levy__notice_no="100001", installment_no=1)
    post(
        municipality=sample_city,
        kind=TxnKind.LEVY,
        legal_date=D(2024, 7, 25),
        booking_date=D(2024, 7, 25),
        legs=[
            Leg(Account.RECEIVABLE, 100, Component.DUNNING_FEE, installment=inst),
            Leg(Account.LEVIED, -100),
        ],
    )
    row = _row(sample_city, D(2026, 1, 31))
    assert row.dunning_fee == 100
    assert row.total == row.principal_due + (row.late_charge or 0) + 100
    assert row.principal == 30000  # the fee is not 本税
    assert _row(sample_city, D(2024, 7, 24)).dunning_fee == 0


def test_a_fixed_number_of_queries_for_two_hundred_installments(
    municipality: Any, sample_city: Any, write_csv: Callable[..., Path]
) -> None:
    from choshu.levies.services import levies_import

    header = "tax_item,levy_year,notice_no,taxpayer_no,installment_no,due_date,principal,slip_no"
    rows = [
        f"07,2023,{700000 + n},1001,{k},2023-0{k + 4}-30,{5000 + n}," for n in range(50) for k in range(1, 5)
    ]
    levies_import(municipality=municipality, path=write_csv(header, rows), booking_date=D(2023, 4, 1))
    taxpayer = _taxpayer(sample_city)
    inst = Installment.objects.filter(taxpayer=taxpayer, levy__tax_item="07").order_by("pk").first()
    assert inst is not None
    post(
        municipality=sample_city,
        kind=TxnKind.PAYMENT,
        legal_date=D(2024, 1, 10),
        booking_date=D(2024, 1, 10),
        legs=[Leg(Account.CASH, 3000), Leg(Account.RECEIVABLE, -3000, Component.PRINCIPAL, installment=inst)],
    )
    with CaptureQueriesContext(connection) as ctx:
        many = amounts_due(taxpayer_ids=[taxpayer.pk], as_of=D(2026, 1, 31))
    assert len(many) == 203
    # installments; the grouped ledger read; the 国保税 breakdowns and their splits; the tax item
    # catalog (once, then cached); the reliefs' 延滞金 periods (法15条の9, one read per 10,000) — never
    # one per installment
    assert len(ctx.captured_queries) <= 7
    paid = next(r for r in many if r.installment_id == inst.pk)
    assert (
        paid.late_charge
        == compute_late_charge(
            principal=paid.principal,
            due_date=paid.late_charge_base_date,
            until=D(2026, 1, 31),
            payments=[(D(2024, 1, 10), 3000)],
        ).late_charge
    )


def test_without_components_the_same_figures_and_two_queries_fewer(
    sample_city: Any, municipality: Any, write_csv: Callable[..., Path]
) -> None:
    from choshu.levies.services import levies_import

    # An installment with a breakdown (固定資産税・都市計画税, two components).
    header = (
        "tax_item,levy_year,relevant_year,notice_no,taxpayer_no,special_collector_no,filing_type,"
        "filing_history_no,business_year_no,business_year_start,business_year_end,installment_no,"
        "statutory_due_date,due_date,designated_due_date,due_date_special,principal,breakdown_1,breakdown_2,"
        "breakdown_3,slip_no,operator_id,operated_on,operated_time"
    )
    row = "04,2024,2024,400001,1001,,,,,,,1,2024-04-30,2024-04-30,2024-04-30,,12000,9882,2118,,,,,"
    levies_import(municipality=municipality, path=write_csv(header, [row]), booking_date=D(2024, 4, 1))
    taxpayer = _taxpayer(sample_city)
    amounts_due(taxpayer_ids=[taxpayer.pk], as_of=D(2026, 1, 31))  # the tax item catalog, cached after
    with CaptureQueriesContext(connection) as full_ctx:
        full = amounts_due(taxpayer_ids=[taxpayer.pk], as_of=D(2026, 1, 31))
    with CaptureQueriesContext(connection) as lean_ctx:
        lean = amounts_due(taxpayer_ids=[taxpayer.pk], as_of=D(2026, 1, 31), with_components=False)
    assert any(r.components for r in full)  # the breakdown is there when asked for
    assert all(r.components == () for r in lean)
    assert [r.__dict__ | {"components": ()} for r in full] == [r.__dict__ for r in lean]
    assert len(lean_ctx.captured_queries) == len(full_ctx.captured_queries) - 2


def test_the_batch_path_gives_each_installment_the_rule_of_one_installment(
    municipality: Any, sample_city: Any, write_csv: Callable[..., Path]
) -> None:
    """``amounts_due`` computes the 延滞金 of all its installments in one call of
    ``rules.late_charge.late_charges_as_of``; ``amounts_due_lines`` (the dunning run's path) returns the
    same figures as tuples. Both equal ``late_charge_as_of`` / ``late_charge_until`` of each installment
    (``late_charge_result``, the derivation the person page shows) — with partial payments, a payment in
    full, 延滞金 paid, a fee, and a date whose year's rate is not configured (``None``)."""
    from choshu.levies.services import levies_import

    header = "tax_item,levy_year,notice_no,taxpayer_no,installment_no,due_date,principal,slip_no"
    rows = [
        f"07,2023,{700000 + n},1001,{k},2023-0{k + 4}-{28 + k % 2},{1500 + 997 * n},"
        for n in range(30)
        for k in range(1, 5)
    ]
    levies_import(municipality=municipality, path=write_csv(header, rows), booking_date=D(2023, 4, 1))
    taxpayer = _taxpayer(sample_city)
    insts = list(Installment.objects.filter(taxpayer=taxpayer, levy__tax_item="07").order_by("pk"))
    for k, inst in enumerate(insts[:12]):
        amount = [1000, 3000, inst.principal_levied, 17_000][k % 4]
        post(
            municipality=sample_city,
            kind=TxnKind.PAYMENT,
            legal_date=D(2024, 1 + k % 12, 10),
            booking_date=D(2024, 1 + k % 12, 10),
            legs=[
                Leg(Account.CASH, amount),
                Leg(Account.RECEIVABLE, -amount, Component.PRINCIPAL, installment=inst),
            ],
        )
    pay(write_csv, [("100001", 31000, "2025-06-30")])  # 30,000 本税 and 1,000 延滞金 (the engine)
    checked = 0
    for as_of in (D(2023, 6, 15), D(2024, 6, 30), D(2026, 1, 31), D(2027, 3, 1)):
        full = amounts_due(taxpayer_ids=[taxpayer.pk], as_of=as_of, with_components=False)
        assert len(full) == 123
        for r in full:
            one = late_charge_result(r.principal, r.late_charge_base_date, as_of, r.principal_payments)
            assert r.late_charge_accrued == (None if one is None else one.late_charge)
            assert r.late_charge_until == late_charge_until(
                principal=r.principal,
                base_date=r.late_charge_base_date,
                as_of=as_of,
                payments=r.principal_payments,
            )
            checked += int(bool(r.principal_payments))
        assert any(r.late_charge is None for r in full) == (as_of.year == 2027)
        assert any(r.late_charge for r in full) == (as_of.year > 2023)
        lines = amounts_due_lines(installment_ids=[r.installment_id for r in full], as_of=as_of)
        assert lines == [
            DueLine(
                r.installment_id,
                r.taxpayer_id,
                r.tax_item,
                r.due_date,
                r.principal_due,
                r.late_charge,
                r.dunning_fee,
            )  # fmt: skip
            for r in sorted(full, key=lambda r: r.installment_id)
        ]
    assert checked >= 13
