"""Audit rows are append-only in the database itself.

PostgreSQL (production): UPDATE is always refused, DELETE unless the retention purge holds a permit
(AuditPurgePermit) in the same transaction. SQLite: UPDATE is refused.
"""

from django.db import migrations

TABLES = ("audit_auditlog", "audit_auditsubject")

PG_FUNCTION = """
CREATE OR REPLACE FUNCTION choshu_audit_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' AND EXISTS (SELECT 1 FROM audit_auditpurgepermit) THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION '監査ログは変更・削除できません (% on %)', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
"""


def create(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_FUNCTION, params=None)
        for table in TABLES:
            schema_editor.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                f"FOR EACH ROW EXECUTE FUNCTION choshu_audit_append_only()"
            )
    elif vendor == "sqlite":
        for table in TABLES:
            schema_editor.execute(
                f"CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '監査ログは変更できません'); END"
            )
            # No DELETE trigger on SQLite (the embedded demo database): Django's test flush deletes
            # rows with plain DELETE. The hash chain still reveals any deleted or edited row.


def drop(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    for table in TABLES:
        if vendor == "postgresql":
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        elif vendor == "sqlite":
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_no_update")
    if vendor == "postgresql":
        schema_editor.execute("DROP FUNCTION IF EXISTS choshu_audit_append_only()")


class Migration(migrations.Migration):
    dependencies = [("audit", "0002_chain_anchor")]
    operations = [migrations.RunPython(create, drop)]
