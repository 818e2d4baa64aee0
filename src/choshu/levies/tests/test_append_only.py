"""The ledger is append-only in the database itself (PostgreSQL): no UPDATE, no DELETE but the purge's."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import DatabaseError, connection, transaction

from choshu.levies.ledger import SharedTransaction, purge_transactions
from choshu.levies.models import LedgerEntry, LedgerTransaction

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="the triggers are PostgreSQL's")


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE levies_ledgerentry SET amount = amount + 1 WHERE id = %s",
        "DELETE FROM levies_ledgerentry WHERE id = %s",
        "UPDATE levies_ledgertransaction SET memo = 'x' WHERE id = (SELECT txn_id FROM levies_ledgerentry WHERE id = %s)",
        "DELETE FROM levies_ledgertransaction WHERE id = (SELECT txn_id FROM levies_ledgerentry WHERE id = %s)",
    ],
)
def test_a_direct_change_of_a_ledger_row_is_refused(sample_city: Any, sql: str) -> None:
    entry = LedgerEntry.objects.first()
    assert entry is not None
    refused = pytest.raises(DatabaseError, match="元帳は変更・削除できません")
    with refused, transaction.atomic(), connection.cursor() as cur:
        cur.execute(sql, [entry.pk])
    assert LedgerEntry.objects.get(pk=entry.pk).amount == entry.amount


def test_an_update_is_refused_even_with_the_purge_permit(sample_city: Any) -> None:
    entry = LedgerEntry.objects.first()
    assert entry is not None
    refused = pytest.raises(DatabaseError, match="元帳は変更・削除できません")
    with refused, transaction.atomic(), connection.cursor() as cur:
        cur.execute("SET LOCAL choshu.ledger_permit = 'purge'")
        cur.execute("UPDATE levies_ledgerentry SET amount = 0 WHERE id = %s", [entry.pk])


def test_the_purge_deletes_whole_transactions_of_one_person_only(sample_city: Any) -> None:
    entry = LedgerEntry.objects.filter(taxpayer__isnull=False).first()
    assert entry is not None and entry.taxpayer_id is not None
    mine = set(LedgerEntry.objects.filter(taxpayer_id=entry.taxpayer_id).values_list("txn_id", flat=True))
    others = LedgerEntry.objects.exclude(taxpayer_id=entry.taxpayer_id).filter(taxpayer__isnull=False).first()
    assert others is not None
    with pytest.raises(SharedTransaction), transaction.atomic():
        purge_transactions(txn_ids=mine | {others.txn_id}, taxpayer_ids={entry.taxpayer_id})
    assert LedgerTransaction.objects.filter(id__in=mine).count() == len(mine)
    assert purge_transactions(txn_ids=mine, taxpayer_ids={entry.taxpayer_id}) == len(mine)
    assert not LedgerEntry.objects.filter(txn_id__in=mine).exists()
    # The permit ends with the purge: a later DELETE in the same transaction is refused again.
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cur:
        cur.execute("DELETE FROM levies_ledgerentry WHERE id = %s", [others.pk])
