"""SQLite FTS5 (porter-stemmed, unicode) over each chunk's section and text: groups of quoted
alternatives combined with AND or OR, ranked by bm25 with the section weighted SECTION_WEIGHT
times the text.

Document counts for planning come from capped counts on the index; counts of common words are
cached for a while, as they move slowly and a query usually holds a few."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from django.db import connection

from vaults.search.hits import Hit

SECTION_WEIGHT = 2.0
BUDGET = 3000  # rows a single ranked query may cost (bm25 is ~2-3 µs a row)
CAP = 3000
COMMON_CACHE_S = 300.0
_COUNT_CAP = 50_000
_common: dict[tuple[str, str], tuple[int, float]] = {}


def _quote(term: str) -> str:
    # Quoting makes every term a plain string to FTS5 (NEAR, AND, *, : lose their meaning).
    return '"{}"'.format(term.replace('"', '""'))


def _phrase(term: str, prefix: bool) -> str:
    return _quote(term) + (" *" if prefix else "")


def _group(alternatives: Sequence[str], prefix: bool = False) -> str:
    phrases = [_phrase(t, prefix) for t in alternatives]
    return phrases[0] if len(phrases) == 1 else "(" + " OR ".join(phrases) + ")"


def match_expression(mode: str, groups: Sequence[Sequence[str]], prefix: bool = False) -> str:
    """`mode` "and": every group matches (any of its alternatives); "or": any word matches."""
    if mode == "and":
        return " AND ".join(_group(g, prefix) for g in groups)
    return " OR ".join(_phrase(t, prefix) for g in groups for t in g)


def doc_freqs(terms: list[str]) -> dict[str, int]:
    database = str(connection.settings_dict["NAME"])
    now = time.monotonic()
    counts: dict[str, int] = {}
    with connection.cursor() as cursor:
        for term in terms:
            cached = _common.get((database, term))
            if cached is not None and now - cached[1] < COMMON_CACHE_S:
                counts[term] = cached[0]
                continue
            cursor.execute(
                "SELECT count(*) FROM (SELECT 1 FROM vaults_chunk_fts "
                "WHERE vaults_chunk_fts MATCH %s LIMIT %s)",
                [_quote(term), _COUNT_CAP],
            )
            counts[term] = int(cursor.fetchone()[0])
            if counts[term] > BUDGET:  # only common words: rare ones are cheap to count
                _common[(database, term)] = (counts[term], now)
    return counts


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
    expression = match_expression(mode, groups, prefix)
    if rank_groups and (prefix or set(rank_groups) - set(groups) or mode == "and"):
        # bm25 scores the phrases of the MATCH: AND-ing the OR of every word adds the others'
        # weight without widening the match (a row that matches holds one of them).
        ranking = match_expression("or", rank_groups)
        if prefix:
            ranking += " OR " + match_expression("or", groups, prefix)
        expression = f"({expression}) AND ({ranking})"
    params: list[Any] = [expression, *vault_ids]
    scope = f"c.vault_id IN ({', '.join(['%s'] * len(vault_ids))})"
    if object_ids is not None:
        scope += f" AND c.object_id IN ({', '.join(['%s'] * len(object_ids))})"
        params.extend(object_ids)
    # CROSS JOIN keeps the FTS index as the outer loop; the cap keeps the newest candidates.
    candidates = f"""
        SELECT f.rowid AS id, bm25(vaults_chunk_fts, {SECTION_WEIGHT}, 1.0) AS rank
        FROM vaults_chunk_fts f CROSS JOIN vaults_chunk c ON c.id = f.rowid
        WHERE vaults_chunk_fts MATCH %s AND {scope}
    """
    if cap is not None:
        candidates += " ORDER BY f.rowid DESC LIMIT %s"
        params.append(cap)
    params.append(limit)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id, rank FROM ({candidates}) ORDER BY rank, id LIMIT %s", params)
        rows = cursor.fetchall()
    # bm25 is negative, lower is better; map to (0, 1), higher is better.
    return [Hit(chunk_id=row[0], score=_unit(-float(row[1]))) for row in rows]


def _unit(x: float) -> float:
    x = max(x, 0.0)
    return round(x / (1.0 + x), 6)
