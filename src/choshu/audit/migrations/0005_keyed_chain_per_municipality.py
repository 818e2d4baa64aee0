"""The audit trail's proof moves outside the database (issue 14 §1).

Records are signed with a key kept outside the database (``row_mac``) and sealed per municipality
(``AuditSeal``) instead of one unkeyed global hash chain; the purge anchor kept in the database is
replaced by signed purge lines in the checkpoint file. Existing records are signed here with the
configured key and queued for sealing (run ``choshu audit-verify`` on the old version before
upgrading: the old chain's own check is not repeated). The append-only triggers are extended to the
seals.
"""

import secrets

from django.db import migrations, models
from django.db.models import deletion

PG_TRIGGER = (
    "CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
    "FOR EACH ROW EXECUTE FUNCTION choshu_audit_append_only()"
)
SQLITE_TRIGGER = (
    "CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table} "
    "BEGIN SELECT RAISE(ABORT, '監査ログは変更できません'); END"
)


def _drop(schema_editor, table):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
    elif schema_editor.connection.vendor == "sqlite":
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_no_update")


def _create(schema_editor, table):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PG_TRIGGER.format(table=table))
    elif schema_editor.connection.vendor == "sqlite":
        schema_editor.execute(SQLITE_TRIGGER.format(table=table))


def sign_existing(apps, schema_editor):
    from choshu.audit.macs import row_mac

    AuditLog = apps.get_model("audit", "AuditLog")
    AuditPending = apps.get_model("audit", "AuditPending")
    if not AuditLog.objects.exists():
        return
    _drop(schema_editor, "audit_auditlog")
    batch = []
    for log in AuditLog.objects.order_by("id").iterator(chunk_size=2000):
        log.nonce = secrets.token_hex(16)
        log.row_mac = row_mac(log)
        batch.append(log)
        if len(batch) == 2000:
            _flush(AuditLog, AuditPending, batch)
            batch = []
    _flush(AuditLog, AuditPending, batch)
    _create(schema_editor, "audit_auditlog")


def _flush(AuditLog, AuditPending, batch):
    AuditLog.objects.bulk_update(batch, ["nonce", "row_mac"])
    AuditPending.objects.bulk_create(
        [AuditPending(chain=int(log.municipality_id or 0), log_id=log.pk, at=log.at) for log in batch]
    )


def seal_triggers(apps, schema_editor):
    # SQLite rebuilt audit_auditlog for the column changes above, dropping its trigger: recreate it.
    for table in ("audit_auditlog", "audit_auditseal"):
        _drop(schema_editor, table)
        _create(schema_editor, table)


def drop_seal_triggers(apps, schema_editor):
    _drop(schema_editor, "audit_auditseal")


class Migration(migrations.Migration):
    dependencies = [("audit", "0004_auditlog_subject_type_choices")]

    operations = [
        migrations.DeleteModel(name="AuditChainAnchor"),
        migrations.RemoveField(model_name="auditlog", name="prev_hash"),
        migrations.RemoveField(model_name="auditlog", name="record_hash"),
        migrations.AddField(
            model_name="auditlog",
            name="nonce",
            field=models.CharField(default="", max_length=32),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="auditlog",
            name="row_mac",
            field=models.CharField(default="", max_length=64),
            preserve_default=False,
        ),
        migrations.CreateModel(
            name="AuditPending",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("chain", models.BigIntegerField()),
                ("at", models.DateTimeField()),
                (
                    "log",
                    models.OneToOneField(on_delete=deletion.PROTECT, related_name="+", to="audit.auditlog"),
                ),
            ],
            options={
                "verbose_name": "監査ログ封印待ち",
                "indexes": [models.Index(fields=["chain", "log"], name="audit_audit_chain_1bb6c7_idx")],
            },
        ),
        migrations.RunPython(sign_existing, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="auditlog", name="row_mac", field=models.CharField(max_length=64, unique=True)
        ),
        migrations.CreateModel(
            name="AuditSeal",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("chain", models.BigIntegerField()),
                ("seq", models.BigIntegerField()),
                ("mac", models.CharField(max_length=64)),
                ("sealed_at", models.DateTimeField()),
                (
                    "log",
                    models.OneToOneField(
                        on_delete=deletion.PROTECT, related_name="seal", to="audit.auditlog"
                    ),
                ),
            ],
            options={
                "verbose_name": "監査ログ封印",
                "constraints": [
                    models.UniqueConstraint(fields=("chain", "seq"), name="audit_seal_chain_seq")
                ],
            },
        ),
        migrations.RunPython(seal_triggers, drop_seal_triggers),
    ]
