"""Memory search: the same engines and query terms as chunk search (SQLite FTS5 ranked by bm25,
PostgreSQL full text ranked by ts_rank_cd), over memory entries' content and tags. A vault's
memory is small (MEMORY_MAX_CHARS), so one ranked OR of the query's content words is exact."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import connection

from vaults.search import sqlite
from vaults.search.terms import query_concepts


def search_memory(*, query: str, vault_ids: Sequence[str], limit: int) -> list[tuple[str, float]]:
    """(entry id, score in (0, 1), higher is better) of the best `limit` entries, best first."""
    # Each content word with the words contracts use for it, as chunk search asks.
    groups = [list(c.alternatives) for c in query_concepts(query)]
    if not groups or not vault_ids:
        return []
    if connection.vendor == "sqlite":
        return _sqlite(groups, list(vault_ids), limit)
    if connection.vendor == "postgresql":
        return _postgres([t for g in groups for t in g], list(vault_ids), limit)
    return []


def _sqlite(groups: list[list[str]], vault_ids: list[str], limit: int) -> list[tuple[str, float]]:
    scope = ", ".join(["%s"] * len(vault_ids))
    sql = f"""
        SELECT f.entry_id, bm25(vaults_memoryentry_fts) AS rank
        FROM vaults_memoryentry_fts f JOIN vaults_memoryentry m ON m.id = f.entry_id
        WHERE vaults_memoryentry_fts MATCH %s AND m.vault_id IN ({scope})
        ORDER BY rank, m.created_at LIMIT %s
    """
    params: list[Any] = [sqlite.match_expression("or", groups), *vault_ids, limit]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return [(row[0], sqlite._unit(-float(row[1]))) for row in rows]


def _postgres(terms: list[str], vault_ids: list[str], limit: int) -> list[tuple[str, float]]:
    # Each term goes through plainto_tsquery as a parameter: no query syntax can reach it.
    query = " || ".join(["plainto_tsquery('english', %s)"] * len(terms))
    sql = f"""
        WITH q AS MATERIALIZED (SELECT ({query}) AS query)
        SELECT m.id, ts_rank_cd(m.search_vector, q.query, 32) AS rank
        FROM q, vaults_memoryentry m
        WHERE m.search_vector @@ q.query AND m.vault_id = ANY(%s)
        ORDER BY rank DESC, m.created_at LIMIT %s
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, [*terms, vault_ids, limit])
        rows = cursor.fetchall()
    return [(row[0], round(float(row[1]), 6)) for row in rows]
