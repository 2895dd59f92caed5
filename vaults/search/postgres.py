"""PostgreSQL full text: the generated `search_vector` column (GIN-indexed, 'english': stemmed,
stop words dropped; the section weighted A, the text B) matched against groups of alternatives
combined with && or ||, ranked by ts_rank_cd.

Document counts for planning are estimated from the planner's statistics on the column
(pg_stats.most_common_elems, kept fresh by autovacuum's ANALYZE): a word that is not among the
most common is rare. Without statistics every word counts as rare, so search is exact."""

from __future__ import annotations

import time
from typing import Any

from django.db import connection

from vaults.search.hits import Hit

BUDGET = 1000  # rows a single ranked query may cost (ts_rank_cd reads each row's tsvector)
CAP = 1000
STATS_CACHE_S = 60.0
_stats: dict[str, tuple[float, dict[str, int]]] = {}


def _common_lexemes() -> dict[str, int]:
    """Estimated document counts of the column's most common lexemes."""
    database = str(connection.settings_dict["NAME"])
    cached = _stats.get(database)
    if cached is not None and time.monotonic() - cached[0] < STATS_CACHE_S:
        return cached[1]
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT s.most_common_elems::text::text[], s.most_common_elem_freqs,
                   GREATEST(c.reltuples, 0)
            FROM pg_stats s JOIN pg_class c ON c.relname = s.tablename
            WHERE s.tablename = 'vaults_chunk' AND s.attname = 'search_vector'
              AND s.schemaname = current_schema()
            """
        )
        row = cursor.fetchone()
    common: dict[str, int] = {}
    if row and row[0] and row[1]:
        lexemes, freqs, rows = row
        common = {lex: int(freq * rows) for lex, freq in zip(lexemes, freqs, strict=False)}
    _stats[database] = (time.monotonic(), common)
    return common


def doc_freqs(terms: list[str]) -> dict[str, int]:
    common = _common_lexemes()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT t, tsvector_to_array(to_tsvector('english', t)) FROM unnest(%s::text[]) t",
            [terms],
        )
        lexemes = dict(cursor.fetchall())
    counts = {}
    for term in terms:
        found = lexemes.get(term) or []
        # No lexeme: an English stop word, which the index never holds.
        counts[term] = max((common.get(lex, 1) for lex in found), default=0)
    return counts


def _word(prefix: bool) -> str:
    # A prefix is a stem: matched against the lexemes as they are ('simple'), with :*.
    return "to_tsquery('simple', %s || ':*')" if prefix else "plainto_tsquery('english', %s)"


def _tsquery(mode: str, groups: list[tuple[str, ...]], prefix: bool = False) -> tuple[str, list]:
    """The tsquery SQL for `groups` combined by `mode`, and its parameters (every word is a
    parameter: no query syntax can reach the engine)."""
    parts = ["(" + " || ".join([_word(prefix)] * len(g)) + ")" for g in groups]
    joiner = " && " if mode == "and" else " || "
    return "(" + joiner.join(parts) + ")", [w for g in groups for w in g]


def ranked(
    mode: str,
    groups: list[tuple[str, ...]],
    rank_groups: list[tuple[str, ...]],
    vault_ids: list[str],
    object_ids: list[str] | None,
    *,
    limit: int,
    cap: int | None,
    prefix: bool = False,
) -> list[Hit]:
    """Chunks matching `groups` combined by `mode`, ranked by all of `rank_groups`; `prefix`:
    the groups' words are prefixes (a relaxed pass)."""
    match_sql, match_params = _tsquery(mode, groups, prefix)
    rank_sql, rank_params = _tsquery("or", rank_groups) if rank_groups else (match_sql, [])
    if prefix and rank_groups:
        rank_sql = f"({rank_sql} || {match_sql})"
    if prefix or not rank_groups:
        rank_params = [*rank_params, *match_params]
    params: list[Any] = [*match_params, *rank_params, vault_ids]
    scope = "c.vault_id = ANY(%s)"
    if object_ids is not None:
        scope += " AND c.object_id = ANY(%s)"
        params.append(object_ids)
    candidates = f"""
        SELECT c.id, c.search_vector FROM vaults_chunk c
        WHERE c.search_vector @@ q.query AND {scope}
    """
    if cap is not None:
        candidates += " LIMIT %s"
        params.append(cap)
    params.append(limit)
    sql = f"""
        WITH q AS MATERIALIZED (
            SELECT {match_sql} AS query,
                   {rank_sql} AS ranking
        )
        SELECT s.id, ts_rank_cd(s.search_vector, q.ranking, 32) AS rank
        FROM q, LATERAL ({candidates}) s
        ORDER BY rank DESC, s.id
        LIMIT %s
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return [Hit(chunk_id=row[0], score=round(float(row[1]), 6)) for row in rows]
