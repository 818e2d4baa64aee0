"""Prefix-search indexes for 宛名検索 on PostgreSQL only.

``LIKE 'カワグチ%'`` can use a B-tree index only with the C collation or a ``*_pattern_ops`` operator
class; these indexes make the search fast whatever the database collation is. SQLite answers the same
searches with a range on the ordinary indexes of 0001, so nothing is done there.

The indexes are built ``CONCURRENTLY`` (hence ``atomic = False``) so that an existing city's
taxpayer table stays writable while they are built.
"""

from django.db import migrations

TABLE = "taxpayers_taxpayer"
INDEXES = {
    "taxpayer_kana_like_idx": "search_kana",
    "taxpayer_name_like_idx": "search_name",
    "taxpayer_address_like_idx": "search_address",
    "taxpayer_phone_like_idx": "search_phone",
}


def create_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, column in INDEXES.items():
        schema_editor.execute(
            f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} ON {TABLE} (municipality_id, {column} varchar_pattern_ops)"
        )


def drop_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in INDEXES:
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("taxpayers", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(create_indexes, drop_indexes, elidable=False),
    ]
