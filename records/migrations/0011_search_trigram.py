"""Trigram indexes for the contacts and accounts search (issue 21; REC-2).

crm_portal.search.contains_any writes `UPPER("col"::text) LIKE UPPER('%q%')` for each
searched column; a GIN index with gin_trgm_ops on exactly that expression serves it, and the
planner ORs the columns' Bitmap Index Scans. The pg_trgm extension comes from
users/0005_search_trigram. PostgreSQL only: on SQLite this migration does nothing.
"""

from django.db import migrations

INDEXES = {
    "records_contact": ("first_name", "last_name", "email"),
    "records_account": ("name", "website"),
}


def index_name(table, column):
    return f"{table.removeprefix('records_')}_{column}_trgm"


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for table, columns in INDEXES.items():
        for column in columns:
            schema_editor.execute(
                f'CREATE INDEX IF NOT EXISTS "{index_name(table, column)}" ON "{table}" '
                f'USING gin ((UPPER("{column}"::text)) gin_trgm_ops)'
            )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table, columns in INDEXES.items():
        for column in columns:
            schema_editor.execute(f'DROP INDEX IF EXISTS "{index_name(table, column)}"')


class Migration(migrations.Migration):
    dependencies = [
        ("records", "0010_outbox_backlog"),
        ("users", "0005_search_trigram"),
    ]

    operations = [
        migrations.RunPython(create, drop, elidable=False),
    ]
