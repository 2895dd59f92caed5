"""Chunks keep their section path and their offsets in the object's text; the full-text index
covers the section as well as the text, the section weighted above the text.

Adding columns makes SQLite rebuild vaults_chunk, which drops the FTS5 triggers of 0002: the
FTS5 table and its triggers are dropped first and made again after, now over (section, text).
PostgreSQL's generated search_vector is remade as the section (weight A) and the text (B).
Existing chunks get a blank section and no offsets until `manage.py reingest` runs.
"""

from django.db import migrations, models

FTS5 = "tokenize='porter unicode61 remove_diacritics 2'"

DROP = {
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

CREATE_WITH_SECTION = {
    "sqlite": [
        f"""
        CREATE VIRTUAL TABLE vaults_chunk_fts USING fts5(
            section, text, content='vaults_chunk', content_rowid='id', {FTS5}
        )
        """,
        """
        CREATE TRIGGER vaults_chunk_fts_ai AFTER INSERT ON vaults_chunk BEGIN
            INSERT INTO vaults_chunk_fts(rowid, section, text)
            VALUES (new.id, new.section, new.text);
        END
        """,
        """
        CREATE TRIGGER vaults_chunk_fts_ad AFTER DELETE ON vaults_chunk BEGIN
            INSERT INTO vaults_chunk_fts(vaults_chunk_fts, rowid, section, text)
            VALUES ('delete', old.id, old.section, old.text);
        END
        """,
        """
        CREATE TRIGGER vaults_chunk_fts_au AFTER UPDATE OF text, section ON vaults_chunk BEGIN
            INSERT INTO vaults_chunk_fts(vaults_chunk_fts, rowid, section, text)
            VALUES ('delete', old.id, old.section, old.text);
            INSERT INTO vaults_chunk_fts(rowid, section, text)
            VALUES (new.id, new.section, new.text);
        END
        """,
        "INSERT INTO vaults_chunk_fts(vaults_chunk_fts) VALUES ('rebuild')",
    ],
    "postgresql": [
        """
        ALTER TABLE vaults_chunk ADD COLUMN search_vector tsvector GENERATED ALWAYS AS (
            setweight(to_tsvector('english'::regconfig, section), 'A')
            || setweight(to_tsvector('english'::regconfig, text), 'B')
        ) STORED
        """,
        "CREATE INDEX vaults_chunk_search_gin ON vaults_chunk USING GIN (search_vector)",
    ],
}

# Going back: 0002's index over the text alone.
CREATE_TEXT_ONLY = {
    "sqlite": [
        f"""
        CREATE VIRTUAL TABLE vaults_chunk_fts USING fts5(
            text, content='vaults_chunk', content_rowid='id', {FTS5}
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


def _run(statements):
    def run(apps, schema_editor):
        for sql in statements.get(schema_editor.connection.vendor, []):
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [("vaults", "0003_groups_and_multipart_uploads")]

    operations = [
        migrations.RunPython(_run(DROP), _run(CREATE_TEXT_ONLY), elidable=False),
        migrations.AddField(
            model_name="chunk",
            name="char_end",
            field=models.PositiveIntegerField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="chunk",
            name="char_start",
            field=models.PositiveIntegerField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="chunk",
            name="section",
            field=models.CharField(blank=True, default="", max_length=300),
        ),
        migrations.RunPython(_run(CREATE_WITH_SECTION), _run(DROP), elidable=False),
    ]
