"""Chunk search, one API over the database's own full-text engine: SQLite FTS5 ranked by bm25,
or PostgreSQL full text ranked by ts_rank_cd, chosen by `connection.vendor`.

A question's content words are OR-ed, so a chunk ranks higher the more of them it holds, and a
question is never an AND of every word. Ranking every chunk that holds any word would cost time
in proportion to the corpus, though (a common word is in half of it), so a search plans by the
words' document counts, and ranks by all the words whatever it matched on:

1. when the words are rare enough (their counts add up to at most the backend's BUDGET), one
   ranked OR of all of them: exact;
2. else, when some of the rarest words fit in the budget, the chunks holding any of those;
3. then, if that found fewer than top_k: chunks holding all the common words, then all but the
   most common one, and so on (an AND is as small as its rarest word), and last the chunks
   holding the rarest common word. These tiers rank at most CAP candidates each.

Embedding methods (vector, hybrid, ...) are served lexically; `METHOD` is what actually ran.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from types import ModuleType

from django.db import connection

from vaults.search import postgres, sqlite
from vaults.search.hits import Hit
from vaults.search.terms import query_terms

METHOD = "fulltext"
MAX_AND_TIERS = 5


@dataclass(frozen=True)
class Tier:
    mode: str  # "and" | "or": how the terms are combined to match
    terms: tuple[str, ...]
    capped: bool


def _backend() -> ModuleType | None:
    if connection.vendor == "sqlite":
        return sqlite
    if connection.vendor == "postgresql":
        return postgres
    return None


def backend_name() -> str:
    return {"sqlite": "sqlite-fts5-bm25", "postgresql": "postgresql-ts_rank_cd"}.get(
        connection.vendor, "none"
    )


def plan(terms: list[str], doc_freqs: dict[str, int], budget: int) -> list[Tier]:
    """The tiers to try, in order (see the module docstring). Terms the index has never seen
    are dropped: they cannot match."""
    present = sorted(
        (t for t in terms if doc_freqs.get(t, 1) > 0), key=lambda t: doc_freqs.get(t, 1)
    )
    if not present:
        return []
    if sum(doc_freqs.get(t, 1) for t in present) <= budget:
        return [Tier("or", tuple(present), capped=False)]
    rare: list[str] = []
    total = 0
    for term in present:
        if total + doc_freqs.get(term, 1) > budget:
            break
        rare.append(term)
        total += doc_freqs.get(term, 1)
    common = present[len(rare) :]
    tiers = [Tier("or", tuple(rare), capped=False)] if rare else []
    tiers += [Tier("and", tuple(common[:n]), capped=True) for n in range(len(common), 1, -1)][
        :MAX_AND_TIERS
    ]
    tiers.append(Tier("or", tuple(common[:1]), capped=True))
    return tiers


def search_chunks(
    *,
    query: str,
    vault_ids: Sequence[str],
    object_ids: Sequence[str] | None = None,
    top_k: int = 10,
) -> list[Hit]:
    """The best `top_k` chunks for `query` among the given vaults (and objects, when given),
    best first. Never raises on the query's content: a query without words finds nothing."""
    terms = query_terms(query)
    backend = _backend()
    if backend is None or not terms or not vault_ids or (object_ids is not None and not object_ids):
        return []
    vaults, objects = list(vault_ids), (list(object_ids) if object_ids is not None else None)
    hits: list[Hit] = []
    seen: set[int] = set()
    for tier in plan(terms, backend.doc_freqs(terms), backend.BUDGET):
        wanted = top_k - len(hits)
        found = backend.ranked(
            tier.mode,
            list(tier.terms),
            terms,
            vaults,
            objects,
            limit=wanted + len(seen),
            cap=backend.CAP if tier.capped else None,
        )
        for hit in found:
            if hit.chunk_id not in seen and len(hits) < top_k:
                seen.add(hit.chunk_id)
                # A later tier's raw scores are not comparable with an earlier one's; keep
                # the reported scores in the order of the results.
                score = min(hit.score, hits[-1].score) if hits else hit.score
                hits.append(Hit(hit.chunk_id, score))
        if len(hits) >= top_k:
            break
    return hits
