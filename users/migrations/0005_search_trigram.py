"""Trigram indexes for the users list's search (issue 21; USR-3).

crm_portal.search.contains_any writes `UPPER("col"::text) LIKE UPPER('%q%')` for each
searched column; a GIN index with gin_trgm_ops on exactly that expression serves it.
PostgreSQL only: on SQLite this migration does nothing (the search stays a plain contains).
"""

from django.db import migrations

TABLE = "users_crmuser"
COLUMNS = ("first_name", "last_name", "email")


def index_name(column):
    return f"crmuser_{column}_trgm"


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for column in COLUMNS:
        schema_editor.execute(
            f'CREATE INDEX IF NOT EXISTS "{index_name(column)}" ON "{TABLE}" '
            f'USING gin ((UPPER("{column}"::text)) gin_trgm_ops)'
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for column in COLUMNS:
        schema_editor.execute(f'DROP INDEX IF EXISTS "{index_name(column)}"')


class Migration(migrations.Migration):
    dependencies = [
        ("users", "0004_organization_fields_version"),
    ]

    operations = [
        migrations.RunPython(create, drop, elidable=False),
    ]
