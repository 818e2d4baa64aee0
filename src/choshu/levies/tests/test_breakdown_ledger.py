"""内訳按分 in the ledger: every principal movement of a paid kind on an installment with a breakdown is
split in the same transaction (``levies.ledger``), by the rule of ``rules.breakdown``; the SQL the
ledger runs gives what the pure rule gives (compared on random cases on both databases)."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from conftest import LEVIES_BOOKED_ON
from django.db import connection

from choshu.accounts.models import Role
from choshu.formats.levies_csv import HEADER as STANDARD_HEADER
from choshu.formats.payments import BANK_HEADER
from choshu.levies.ledger import Leg, Posting, floor_share_sql, post_many
from choshu.levies.models import (
    Account,
    BreakdownSplit,
    Component,
    Installment,
    InstallmentBreakdown,
    LedgerTransaction,
    TxnKind,
)
from choshu.levies.services import levies_import
from choshu.receipts.models import Payment
from choshu.receipts.services import counter_receipt_take, payment_reverse
from choshu.receipts.tests.test_import_payments import bank_row, cmd, slips, verify_ok
from choshu.rules.breakdown import SQLITE_EXACT_LIMIT, split_movements, split_paid

# 固定資産税 9,882 / 都市計画税 2,118 of the 12,000 yen installment of the sample city (1.4 % : 0.3 %).
FIXED = [("fixed_asset", 9882), ("city_planning", 2118)]


def give_breakdown(inst: Installment, parts: list[tuple[str, int]], paid: list[int] | None = None) -> None:
    InstallmentBreakdown.objects.filter(installment=inst).delete()
    InstallmentBreakdown.objects.bulk_create(
        InstallmentBreakdown(
            installment=inst,
            municipality_id=inst.municipality_id,
            seq=seq,
            code=code,
            levied=levied,
            paid=paid[seq - 1] if paid else 0,
        )
        for seq, (code, levied) in enumerate(parts, start=1)
    )


def fixed_asset_installment() -> Installment:
    inst = Installment.objects.get(levy__notice_no="400001")
    give_breakdown(inst, FIXED)
    return inst


def components(inst: Installment) -> list[tuple[str, int, int]]:
    return list(
        InstallmentBreakdown.objects.filter(installment=inst)
        .order_by("seq")
        .values_list("code", "levied", "paid")
    )


def splits_by_txn(inst: Installment) -> list[tuple[int, list[int]]]:
    """The stored splits of the installment per transaction (txn id order), amounts in seq order."""
    seqs = list(
        InstallmentBreakdown.objects.filter(installment=inst).order_by("seq").values_list("seq", flat=True)
    )
    out: dict[int, dict[int, int]] = {}
    for txn, seq, amount in BreakdownSplit.objects.filter(installment=inst).values_list(
        "txn_id", "seq", "amount"
    ):
        out.setdefault(txn, {})[seq] = out.get(txn, {}).get(seq, 0) + amount
    return [(txn, [by_seq.get(s, 0) for s in seqs]) for txn, by_seq in sorted(out.items())]


def bank(write_csv: Callable, rows: list[str]) -> dict[str, Any]:
    return cmd("import_payments", "--channel", "bank", str(write_csv(",".join(BANK_HEADER), rows)))


def test_a_payment_import_splits_each_payment_in_file_order(sample_city: Any, write_csv: Callable) -> None:
    inst = fixed_asset_installment()
    slip = next(s for s in slips("1001") if s["slip_no"] == inst.slip_no)
    # Two payments of one installment in one file: split one after the other, in transaction order.
    bank(write_csv, [bank_row(slip, 3000, "2024-04-10"), bank_row(slip, 4000, "2024-04-12")])
    [(t1, first), (t2, second)] = splits_by_txn(inst)
    assert t1 < t2
    assert first == [2471, 529]  # floor(3,000 × 2,118 / 12,000) = 529
    assert second == [3294, 706]  # f(7,000) = [5,765, 1,235] less what the first one gave
    assert [first, second] == split_movements(0, [3000, 4000], [9882, 2118], [0, 0])
    payments = dict(Payment.objects.values_list("txn_id", "id"))
    assert set(BreakdownSplit.objects.values_list("txn_id", "payment_id")) == {
        (t1, payments[t1]),
        (t2, payments[t2]),
    }
    # The rest in full: every component is cleared exactly.
    bank(write_csv, [bank_row(slip, 5000, "2024-04-20")])
    assert components(inst) == [("fixed_asset", 9882, 9882), ("city_planning", 2118, 2118)]
    assert verify_ok()


def test_an_installment_without_a_breakdown_writes_no_split(sample_city: Any, write_csv: Callable) -> None:
    fixed_asset_installment()
    slip = slips("1001")[0]  # 個人住民税: one component
    bank(write_csv, [bank_row(slip, 30000, "2024-06-28")])
    assert Installment.objects.get(slip_no=slip["slip_no"]).principal_paid == 30000
    assert BreakdownSplit.objects.count() == 0
    assert InstallmentBreakdown.objects.filter(paid__gt=0).count() == 0
    assert verify_ok()


@pytest.fixture
def window(sample_city: Any, make_user: Callable) -> Any:
    return make_user("clerk", role=Role.CLERK, municipality=sample_city)


def test_a_counter_receipt_and_its_reversal(sample_city: Any, window: Any) -> None:
    inst = fixed_asset_installment()
    payment = counter_receipt_take(
        actor=window,
        municipality=sample_city,
        slip_no=str(inst.slip_no),
        amount=5000,
        paid_on=date(2024, 4, 15),
    )
    [(txn, split)] = splits_by_txn(inst)
    assert (txn, split) == (payment.txn_id, [4118, 882])
    assert set(BreakdownSplit.objects.values_list("payment_id", flat=True)) == {payment.pk}
    payment_reverse(actor=window, payment=payment, reason="誤入力", on=date(2024, 4, 16))
    payment.refresh_from_db()
    [_, (rev_txn, back)] = splits_by_txn(inst)
    assert rev_txn == payment.reversal_txn_id and back == [-4118, -882]
    assert set(BreakdownSplit.objects.filter(txn_id=rev_txn).values_list("payment_id", flat=True)) == {
        payment.pk
    }
    assert components(inst) == [("fixed_asset", 9882, 0), ("city_planning", 2118, 0)]
    assert verify_ok()


def test_an_overpayment_from_a_levy_reduction_returns_the_excess_in_the_new_proportion(
    sample_city: Any, window: Any, write_csv: Callable
) -> None:
    inst = fixed_asset_installment()
    counter_receipt_take(
        actor=window,
        municipality=sample_city,
        slip_no=str(inst.slip_no),
        amount=12000,
        paid_on=date(2024, 4, 15),
    )
    assert components(inst) == [("fixed_asset", 9882, 9882), ("city_planning", 2118, 2118)]
    # 減額更正 to 10,000 (固定資産税 8,235 / 都市計画税 1,765, as the levy feed of the standard's layout
    # gives them): 2,000 paid too much goes to 過誤納金, and the components keep f(10,000) of the new
    # levied amounts.
    row = "04,2024,2024,400001,1001,,,0,0,,,1,2024-04-30,2024-04-30,2024-04-30,,10000,8235,1765,,,,,"
    levies_import(
        municipality=sample_city,
        path=write_csv(",".join(STANDARD_HEADER), [row]),
        booking_date=LEVIES_BOOKED_ON,
    )
    over = LedgerTransaction.objects.get(kind=TxnKind.OVERPAYMENT)
    assert dict(BreakdownSplit.objects.filter(txn=over).values_list("code", "amount")) == {
        "fixed_asset": 8235 - 9882,
        "city_planning": 1765 - 2118,
    }
    assert set(BreakdownSplit.objects.filter(txn=over).values_list("payment_id", flat=True)) == {None}
    assert components(inst) == [("fixed_asset", 8235, 8235), ("city_planning", 1765, 1765)]
    assert verify_ok()


def _payment(inst: Installment, amount: int, kind: TxnKind = TxnKind.PAYMENT) -> Posting:
    return Posting(
        kind=kind,
        legal_date=date(2024, 5, 1),
        booking_date=date(2024, 5, 1),
        legs=[
            Leg(Account.CASH, amount, taxpayer_id=inst.taxpayer_id),
            Leg(
                Account.RECEIVABLE,
                -amount,
                Component.PRINCIPAL,
                installment_id=inst.pk,
                taxpayer_id=inst.taxpayer_id,
            ),
        ],
    )


def test_post_many_splits_several_movements_of_one_installment_in_order(sample_city: Any) -> None:
    inst = fixed_asset_installment()
    other = Installment.objects.get(levy__notice_no="100001", installment_no=1)  # no breakdown
    txns = post_many(
        municipality=sample_city,
        postings=[_payment(inst, 3000), _payment(other, 1000), _payment(inst, 4000), _payment(inst, -500)],
    )
    got = splits_by_txn(inst)
    assert [t for t, _ in got] == [txns[0], txns[2], txns[3]]
    assert [s for _, s in got] == split_movements(0, [3000, 4000, -500], [9882, 2118], [0, 0])
    assert not BreakdownSplit.objects.filter(installment=other).exists()
    assert components(inst) == [
        ("fixed_asset", 9882, 6500 - 6500 * 2118 // 12000),
        ("city_planning", 2118, 6500 * 2118 // 12000),
    ]


def test_a_levy_kind_movement_is_not_split(sample_city: Any) -> None:
    inst = fixed_asset_installment()
    post_many(
        municipality=sample_city,
        postings=[
            Posting(
                kind=TxnKind.CORRECTION,
                legal_date=date(2024, 5, 1),
                booking_date=date(2024, 5, 1),
                legs=[
                    Leg(
                        Account.RECEIVABLE,
                        100,
                        Component.PRINCIPAL,
                        installment_id=inst.pk,
                        taxpayer_id=inst.taxpayer_id,
                    ),
                    Leg(
                        Account.LEVIED,
                        -100,
                        Component.PRINCIPAL,
                        installment_id=inst.pk,
                        taxpayer_id=inst.taxpayer_id,
                    ),
                ],
            )
        ],
    )
    assert BreakdownSplit.objects.count() == 0


def test_the_ledger_sql_splits_as_the_rule_on_random_cases(sample_city: Any) -> None:
    """Random breakdowns (1–4 components, up to 10^11 yen), stored paid amounts that need not be f(C)
    (as after a levy correction) and batches of movements up and down: the stored splits equal
    ``rules.breakdown.split_movements``."""
    rng = random.Random(20240401)
    installments = list(Installment.objects.order_by("pk"))
    for _ in range(40):
        picked = rng.sample(installments, 2)
        expected: dict[int, tuple[int, list[int], list[int], list[int]]] = {}
        postings = []
        for inst in picked:
            inst.refresh_from_db()
            n = rng.randint(1, 4)
            levied = [rng.choice((0, rng.randint(0, 10**4), rng.randint(0, 10**11))) for _ in range(n)]
            held = [rng.randint(-(10**6), 10**6) for _ in range(n)]
            give_breakdown(inst, [(f"c{i}", v) for i, v in enumerate(levied)], held)
            moves = [
                rng.choice((rng.randint(-(10**5), 10**5), rng.randint(0, 10**11)))
                for _ in range(rng.randint(1, 3))
            ]
            expected[inst.pk] = (inst.principal_paid, moves, levied, held)
            postings += [_payment(inst, amount) for amount in moves if amount]
        rng.shuffle(postings)
        BreakdownSplit.objects.all().delete()
        txns = post_many(municipality=sample_city, postings=postings)
        by_inst = {inst.pk: inst for inst in picked}
        for inst_id, (paid_before, _, levied, held) in expected.items():
            order = [
                -p.legs[1].amount for p in postings if p.legs[1].installment_id == inst_id
            ]  # the installment's movements in posting (= transaction id) order
            want = split_movements(paid_before, order, levied, held)
            got = splits_by_txn(by_inst[inst_id])
            full = dict(got)
            own = [t for t, p in zip(txns, postings, strict=True) if p.legs[1].installment_id == inst_id]
            assert [full.get(t, [0] * len(levied)) for t in own] == want
            final = split_paid(paid_before + sum(order), levied)
            assert [p for _, _, p in components(by_inst[inst_id])] == final


def test_the_floor_sql_equals_the_exact_floor(db: Any) -> None:
    rng = random.Random(7)
    top = 2**62 if connection.vendor == "postgresql" else SQLITE_EXACT_LIMIT
    cases = []
    for _ in range(600):
        total = rng.choice((rng.randint(1, 100), rng.randint(1, 10**9), rng.randint(1, top)))
        share = rng.choice((0, total, rng.randint(0, total)))
        c = rng.choice((rng.randint(-total, total), rng.randint(-(2**62), 2**62), rng.randint(-100, 100)))
        cases.append((c, share, total))
    cases += [(top - 1, top - 2, top), (-(top - 1), top - 2, top), (-7, 1, 2), (7, 1, 2)]
    with connection.cursor() as cur:
        for start in range(0, len(cases), 50):
            part = cases[start : start + 50]
            cur.execute("SELECT " + ", ".join(floor_share_sql(str(c), str(s), str(t)) for c, s, t in part))
            assert [int(v) for v in cur.fetchone()] == [c * s // t for c, s, t in part]
