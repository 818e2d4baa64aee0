"""``ledger.post_selected``: a batch that does not balance, or names an unknown account, writes nothing."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone

from choshu.levies.ledger import UnbalancedTransaction, post_selected
from choshu.levies.models import Installment, LedgerEntry, LedgerTransaction

TXNS = "SELECT 990001 AS id, 'payment' AS kind, %(d)s AS legal_date, %(d)s AS booking_date, 'x' AS memo, CAST(NULL AS bigint) AS reverses_id"


def _entries(inst: Installment, cash: int, receivable: int, account: str = "cash") -> str:
    return (
        f"SELECT 'payment' AS kind, 990001 AS txn_id, '{account}' AS account, '' AS component, "
        f"CAST(NULL AS bigint) AS installment_id, {inst.taxpayer_id} AS taxpayer_id, CAST(NULL AS bigint) AS payment_id, "
        f"{cash} AS amount UNION ALL SELECT 'payment', 990001, 'receivable', 'principal', {inst.pk}, {inst.taxpayer_id}, "
        f"NULL, {receivable}"
    )


@pytest.mark.parametrize(
    ("cash", "receivable", "account"),
    [(1000, -999, "cash"), (1000, -1000, "petty_cash")],
)
def test_a_batch_that_does_not_balance_or_names_an_unknown_account_writes_nothing(
    sample_city: Any, cash: int, receivable: int, account: str
) -> None:
    inst = Installment.objects.order_by("pk").first()
    assert inst is not None
    before = (LedgerTransaction.objects.count(), LedgerEntry.objects.count(), inst.principal_outstanding)
    with pytest.raises(UnbalancedTransaction), transaction.atomic():
        post_selected(
            municipality_id=sample_city.pk,
            txns=TXNS,
            entries=_entries(inst, cash, receivable, account),
            params={"d": date(2024, 6, 1)},
            recorded_at=timezone.now(),
            actor_id=None,
            job_id=None,
        )
    inst.refresh_from_db()
    assert (
        LedgerTransaction.objects.count(),
        LedgerEntry.objects.count(),
        inst.principal_outstanding,
    ) == before


def test_a_balanced_batch_is_posted_with_the_installment_cache(sample_city: Any) -> None:
    inst = Installment.objects.order_by("pk").first()
    assert inst is not None
    posted = post_selected(
        municipality_id=sample_city.pk,
        txns=TXNS,
        entries=_entries(inst, 1000, -1000),
        params={"d": date(2024, 6, 1)},
        recorded_at=timezone.now(),
        actor_id=None,
        job_id=None,
    )
    assert posted == 1
    before = inst.principal_outstanding
    inst.refresh_from_db()
    assert (inst.principal_outstanding, inst.principal_paid) == (before - 1000, 1000)
    assert sorted(LedgerEntry.objects.filter(txn_id=990001).values_list("account", "amount")) == [
        ("cash", 1000),
        ("receivable", -1000),
    ]
