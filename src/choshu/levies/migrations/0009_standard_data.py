"""Existing data under the standard model (issue 12): every municipality gets the default tax items;
every levy 相当年度 = 賦課年度; every installment its three dates from the one it had (法定納期限 =
指定納期限 = 納期限; the 延滞金 base is the 納期限, as before). Installments of an item with a breakdown
get its rows with the whole principal on the main component, and every principal movement already
posted its split (all of it on the main component: the rule's result when the others levy nothing)."""

from django.db import migrations


def seed(apps, schema_editor):
    from choshu.levies.tax_items import seed_tax_items

    Municipality = apps.get_model("core", "Municipality")
    TaxItem = apps.get_model("levies", "TaxItem")
    TaxItemBreakdown = apps.get_model("levies", "TaxItemBreakdown")
    for m in Municipality.objects.all():
        seed_tax_items(m.pk, TaxItem, TaxItemBreakdown)


PAID_KINDS = "('payment', 'payment_reversal', 'suspense_assign', 'appropriation', 'overpayment')"

FILL = [
    "UPDATE levies_levy SET relevant_year = levy_year WHERE relevant_year IS NULL",
    """UPDATE levies_installment SET statutory_due_date = due_date, designated_due_date = due_date,
           late_charge_base_date = due_date WHERE statutory_due_date IS NULL""",
    # One row per component of every installment of an item with a breakdown.
    """INSERT INTO levies_installmentbreakdown (installment_id, municipality_id, seq, code, levied, paid)
       SELECT i.id, i.municipality_id, b.seq, b.code,
              CASE WHEN b.seq = 1 THEN i.principal_levied ELSE 0 END,
              CASE WHEN b.seq = 1 THEN i.principal_paid ELSE 0 END
       FROM levies_installment i
       JOIN levies_levy l ON l.id = i.levy_id
       JOIN levies_taxitem t ON t.municipality_id = i.municipality_id AND t.code = l.tax_item
       JOIN levies_taxitembreakdown b ON b.tax_item_id = t.id""",
    f"""INSERT INTO levies_breakdownsplit (municipality_id, txn_id, installment_id, payment_id, seq, code, amount)
        SELECT e.municipality_id, e.txn_id, e.installment_id, MIN(e.payment_id), 1, ib.code, -SUM(e.amount)
        FROM levies_ledgerentry e
        JOIN levies_ledgertransaction x ON x.id = e.txn_id
        JOIN levies_installmentbreakdown ib ON ib.installment_id = e.installment_id AND ib.seq = 1
        WHERE e.account = 'receivable' AND e.component = 'principal' AND x.kind IN {PAID_KINDS}
        GROUP BY e.municipality_id, e.txn_id, e.installment_id, ib.code
        HAVING SUM(e.amount) <> 0""",
]


class Migration(migrations.Migration):
    dependencies = [("levies", "0008_standard_model"), ("core", "0004_taxpayer_no_width")]

    operations = [
        migrations.RunPython(seed, migrations.RunPython.noop),
        *[migrations.RunSQL(sql, migrations.RunSQL.noop) for sql in FILL],
    ]
