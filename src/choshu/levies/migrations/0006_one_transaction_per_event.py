"""One business event = one ledger transaction, and the ledger tables append-only in the database.

1. Transactions shared by several payments (the old import fast lane booked one transaction per
   領収日 × 日計日 with one cash entry for the group) are split: each payment gets a transaction of its
   own (same kind, dates, actor and job), its entries move to it, and a cash entry for its amount is
   taken out of the group's cash entry. Balances, caches and the payments' amounts are unchanged.
2. PostgreSQL: triggers refuse every UPDATE of a ledger row, and every DELETE unless the retention
   purge has set ``choshu.ledger_permit = 'purge'`` in its own transaction (``levies.ledger``).
"""

from django.db import migrations

TABLES = ("levies_ledgertransaction", "levies_ledgerentry")

PG_FUNCTION = """
CREATE OR REPLACE FUNCTION choshu_ledger_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' AND current_setting('choshu.ledger_permit', true) = 'purge' THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION '元帳は変更・削除できません (% on %): 訂正は新しい取引で記帳してください', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
"""


def split_shared(apps, schema_editor):
    """Each payment of a shared transaction gets its own (set-based; nothing when none is shared)."""
    db = schema_editor.connection
    with db.cursor() as cur:
        cur.execute(
            """SELECT p.txn_id FROM receipts_payment p WHERE p.txn_id IS NOT NULL
               GROUP BY p.txn_id HAVING COUNT(*) > 1"""
        )
        shared = [row[0] for row in cur.fetchall()]
        if not shared:
            return
        cur.execute("SELECT COALESCE(MAX(id), 0) FROM levies_ledgertransaction")
        next_id = cur.fetchone()[0] + 1
        for txn_id in shared:
            cur.execute("SELECT id, amount FROM receipts_payment WHERE txn_id = %s ORDER BY id", [txn_id])
            payments = cur.fetchall()
            for payment_id, amount in payments:
                cur.execute(
                    """INSERT INTO levies_ledgertransaction (id, municipality_id, kind, legal_date, booking_date,
                           recorded_at, actor_id, job_id, reverses_id, memo)
                       SELECT %s, municipality_id, kind, legal_date, booking_date, recorded_at, actor_id, job_id,
                              reverses_id, memo
                       FROM levies_ledgertransaction WHERE id = %s""",
                    [next_id, txn_id],
                )
                cur.execute(
                    "UPDATE levies_ledgerentry SET txn_id = %s WHERE txn_id = %s AND payment_id = %s",
                    [next_id, txn_id, payment_id],
                )
                cur.execute(
                    """INSERT INTO levies_ledgerentry (municipality_id, txn_id, account, component, installment_id,
                           taxpayer_id, payment_id, amount)
                       SELECT municipality_id, %s, 'cash', '', NULL, NULL, %s, %s
                       FROM levies_ledgertransaction WHERE id = %s""",
                    [next_id, payment_id, amount, txn_id],
                )
                cur.execute("UPDATE receipts_payment SET txn_id = %s WHERE id = %s", [next_id, payment_id])
                next_id += 1
            # The group's cash entry is now spread over the payments' own: it and the empty group go.
            cur.execute("DELETE FROM levies_ledgerentry WHERE txn_id = %s AND account = 'cash'", [txn_id])
            cur.execute("SELECT COUNT(*) FROM levies_ledgerentry WHERE txn_id = %s", [txn_id])
            if cur.fetchone()[0] == 0:
                cur.execute("DELETE FROM levies_ledgertransaction WHERE id = %s", [txn_id])
        if db.vendor == "postgresql":
            cur.execute(
                "SELECT setval(pg_get_serial_sequence('levies_ledgertransaction', 'id'), %s)", [next_id]
            )


def create_triggers(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return  # SQLite (the embedded demo): no triggers; verify-ledger still finds any edited row
    schema_editor.execute(PG_FUNCTION, params=None)
    for table in TABLES:
        schema_editor.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION choshu_ledger_append_only()"
        )


def drop_triggers(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in TABLES:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
    schema_editor.execute("DROP FUNCTION IF EXISTS choshu_ledger_append_only()")


class Migration(migrations.Migration):
    dependencies = [("levies", "0005_entry_payment"), ("receipts", "0005_payment_fewer_indexes")]
    operations = [
        migrations.RunPython(split_shared, migrations.RunPython.noop),
        migrations.RunPython(create_triggers, drop_triggers),
    ]
