"""Full-text indexes for chunk search, one per database engine (see vaults/search/).

SQLite: an external-content FTS5 table over vaults_chunk (porter stemming, unicode), kept in
step by triggers. PostgreSQL: a stored generated tsvector column ('english': stop words and
stems) with a GIN index. Other engines get nothing and search answers empty.
"""

from django.db import migrations

FORWARD = {
    "sqlite": [
        """
        CREATE VIRTUAL TABLE vaults_chunk_fts USING fts5(
            text, content='vaults_chunk', content_rowid='id',
            tokenize='porter unicode61 remove_diacritics 2'
        )
        """,
        """
        CREATE TRIGGER vaults_chunk_fts_ai AFTER INSERT ON vaults_chunk BEGIN
            INSERT INTO vaults_chunk_fts(rowid, text) VALUES (new.id, new.text);
        END
        """,
        """
        CREATE TRIGGER vaults_chunk_fts_ad AFTER DELETE ON vaults_chunk BEGIN
            INSERT INTO vaults_chunk_fts(vaults_chunk_fts, rowid, text)
            VALUES ('delete', old.id, old.text);
        END
        """,
        """
        CREATE TRIGGER vaults_chunk_fts_au AFTER UPDATE OF text ON vaults_chunk BEGIN
            INSERT INTO vaults_chunk_fts(vaults_chunk_fts, rowid, text)
            VALUES ('delete', old.id, old.text);
            INSERT INTO vaults_chunk_fts(rowid, text) VALUES (new.id, new.text);
        END
        """,
        "INSERT INTO vaults_chunk_fts(vaults_chunk_fts) VALUES ('rebuild')",
    ],
    "postgresql": [
        """
        ALTER TABLE vaults_chunk ADD COLUMN search_vector tsvector
            GENERATED ALWAYS AS (to_tsvector('english'::regconfig, text)) STORED
        """,
        "CREATE INDEX vaults_chunk_search_gin ON vaults_chunk USING GIN (search_vector)",
    ],
}

BACKWARD = {
    "sqlite": [
        "DROP TRIGGER IF EXISTS vaults_chunk_fts_au",
        "DROP TRIGGER IF EXISTS vaults_chunk_fts_ad",
        "DROP TRIGGER IF EXISTS vaults_chunk_fts_ai",
        "DROP TABLE IF EXISTS vaults_chunk_fts",
    ],
    "postgresql": [
        "DROP INDEX IF EXISTS vaults_chunk_search_gin",
        "ALTER TABLE vaults_chunk DROP COLUMN IF EXISTS search_vector",
    ],
}


def forwards(apps, schema_editor):
    for sql in FORWARD.get(schema_editor.connection.vendor, []):
        schema_editor.execute(sql)


def backwards(apps, schema_editor):
    for sql in BACKWARD.get(schema_editor.connection.vendor, []):
        schema_editor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [("vaults", "0001_initial")]

    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
