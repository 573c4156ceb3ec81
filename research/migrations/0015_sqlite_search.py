"""SQLite: an FTS5 trigram index over the searched columns of the leads, kept by triggers.

Nothing on PostgreSQL (its trigram indexes are in 0014_perf). Note for later migrations: SQLite rebuilds
a table to alter it, and dropping the old table drops its triggers; a migration that alters
`research_lead` on SQLite must run `create_search` again (the search tests would fail without it).
"""

from django.db import migrations

TABLE = "research_lead_search"
COLUMNS = "name, title, company, headline, location"
NEW = "new.id, new.name, new.title, new.company, new.headline, new.location"
OLD = "old.id, old.name, old.title, old.company, old.headline, old.location"


def create_search(apps, schema_editor):
    if schema_editor.connection.vendor != "sqlite":
        return
    for sql in (
        f"CREATE VIRTUAL TABLE IF NOT EXISTS {TABLE} USING fts5({COLUMNS}, "
        "content='research_lead', content_rowid='id', tokenize='trigram')",
        f"CREATE TRIGGER IF NOT EXISTS {TABLE}_insert AFTER INSERT ON research_lead BEGIN "
        f"INSERT INTO {TABLE}(rowid, {COLUMNS}) VALUES ({NEW}); END",
        f"CREATE TRIGGER IF NOT EXISTS {TABLE}_delete AFTER DELETE ON research_lead BEGIN "
        f"INSERT INTO {TABLE}({TABLE}, rowid, {COLUMNS}) VALUES ('delete', {OLD}); END",
        f"CREATE TRIGGER IF NOT EXISTS {TABLE}_update AFTER UPDATE OF {COLUMNS} ON research_lead BEGIN "
        f"INSERT INTO {TABLE}({TABLE}, rowid, {COLUMNS}) VALUES ('delete', {OLD}); "
        f"INSERT INTO {TABLE}(rowid, {COLUMNS}) VALUES ({NEW}); END",
        f"INSERT INTO {TABLE}({TABLE}) VALUES ('rebuild')",
    ):
        schema_editor.execute(sql)


def drop_search(apps, schema_editor):
    if schema_editor.connection.vendor != "sqlite":
        return
    for name in ("insert", "delete", "update"):
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {TABLE}_{name}")
    schema_editor.execute(f"DROP TABLE IF EXISTS {TABLE}")


class Migration(migrations.Migration):
    dependencies = [("research", "0014_perf")]

    operations = [migrations.RunPython(create_search, drop_search)]
