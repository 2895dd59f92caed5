"""Chunk search, one API over the database's own full-text engine: SQLite FTS5 ranked by bm25,
or PostgreSQL full text ranked by ts_rank_cd, chosen by `connection.vendor`. Both index each
chunk's section path with its text, the section weighted above the text.

A question becomes concepts (vaults.search.terms): each content word with the words a document
may use instead ("sue" -> litigation, proceeding), an OR group. Concepts are OR-ed, so a chunk
ranks higher the more of them it holds, and a question is never an AND of every word. Ranking
every chunk that holds any word would cost time in proportion to the corpus, though (a common
word is in half of it), so a search plans by the concepts' document counts, and the engine
ranks by all the words whatever it matched on, to find up to POOL candidates:

1. when the concepts are rare enough (their counts add up to at most the backend's BUDGET),
   one ranked OR of all of them: exact;
2. else, when some of the rarest concepts fit in the budget, the chunks holding any of those;
3. then, if that found fewer than POOL: chunks holding all the common concepts, then all but
   the most common one, and so on (an AND is as small as its rarest concept), and last the
   chunks holding the rarest common concept. These tiers rank at most CAP candidates each;
4. then, if all that found fewer than top_k, a second pass relaxes the rare words (held by
   fewer chunks than top_k: a variant spelling, a word the documents inflect differently) to
   their stems' prefixes ("licence" -> licen*, "licensor" -> licens*).

The candidates are then ordered by vaults.search.rerank, the same on both backends (per-concept
BM25 on Snowball stems, the section path weighted above the text), and the best top_k kept.

Embedding methods (vector, hybrid, ...) are served lexically; `METHOD` is what actually ran.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from types import ModuleType

from django.db import connection

from vaults.models import Chunk
from vaults.search import postgres, rerank, sqlite
from vaults.search.hits import Hit
from vaults.search.terms import Concept, query_concepts, stem

METHOD = "fulltext"
MAX_AND_TIERS = 5
PREFIX_MIN = 4
POOL = 40  # candidates the engines find for the final ranking (vaults.search.rerank)
TOTAL_CACHE_S = 300.0
_totals: dict[str, tuple[float, int]] = {}


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
    concepts = query_concepts(query)
    backend = _backend()
    if (
        backend is None
        or not concepts
        or not vault_ids
        or (object_ids is not None and not object_ids)
    ):
        return []
    vaults, objects = list(vault_ids), (list(object_ids) if object_ids is not None else None)
    words = list(dict.fromkeys(w for c in concepts for w in c.alternatives))
    counts = backend.doc_freqs(words)
    # A concept's count is at most the sum of its words'; words the index lacks are left out.
    groups = {c.word: tuple(w for w in c.alternatives if counts.get(w, 1) > 0) for c in concepts}
    freqs = {c.word: sum(counts.get(w, 1) for w in groups[c.word]) for c in concepts}
    rank_groups = [groups[c.word] for c in concepts if groups[c.word]]
    collected = _Collector(max(top_k, POOL))
    for tier in plan([c.word for c in concepts], freqs, backend.BUDGET):
        found = backend.ranked(
            tier.mode,
            [groups[t] for t in tier.terms],
            rank_groups,
            vaults,
            objects,
            limit=collected.wanted,
            cap=backend.CAP if tier.capped else None,
        )
        if collected.add(found):
            break
    prefixes = _relaxed(concepts, freqs, top_k) if len(collected.hits) < top_k else ()
    if prefixes:
        found = backend.ranked(
            "or",
            [prefixes],
            rank_groups,
            vaults,
            objects,
            limit=collected.wanted,
            cap=backend.CAP,
            prefix=True,
        )
        collected.add(found)
        concepts = [*concepts, Concept(prefixes[0], prefixes)]
    return _final(collected.hits, concepts, counts, top_k)


def _final(
    hits: list[Hit], concepts: list[Concept], counts: dict[str, int], top_k: int
) -> list[Hit]:
    """The candidates in the final ranking, the best top_k."""
    rows = Chunk.objects.filter(id__in=[h.chunk_id for h in hits]).values_list(
        "id", "text", "section"
    )
    by_id = {row[0]: rerank.Candidate(*row) for row in rows}
    candidates = [by_id[h.chunk_id] for h in hits if h.chunk_id in by_id]
    ranked = rerank.rerank(candidates, concepts, counts, _total_chunks())
    return [Hit(chunk_id, score) for chunk_id, score in ranked[:top_k]]


def _total_chunks() -> int:
    """How many chunks the index holds (for the rarity of words), counted now and then."""
    database = str(connection.settings_dict["NAME"])
    cached = _totals.get(database)
    now = time.monotonic()
    if cached is None or now - cached[0] > TOTAL_CACHE_S:
        cached = (now, Chunk.objects.count())
        _totals[database] = cached
    return cached[1]


def _relaxed(concepts: list[Concept], freqs: dict[str, int], top_k: int) -> tuple[str, ...]:
    """Stem prefixes of the rare words (held by fewer chunks than top_k, or by none), for the
    relaxed pass."""
    prefixes = []
    for concept in concepts:
        if freqs[concept.word] <= top_k:
            root = stem(concept.word)
            if len(root) >= PREFIX_MIN + 1 and root.isalpha():
                prefixes.append(root[: max(PREFIX_MIN, len(root) - 2)])
    return tuple(dict.fromkeys(prefixes))


class _Collector:
    """Hits of successive passes, best first, each chunk once, at most top_k."""

    def __init__(self, top_k: int) -> None:
        self.top_k = top_k
        self.hits: list[Hit] = []
        self.seen: set[int] = set()

    @property
    def wanted(self) -> int:
        return self.top_k - len(self.hits) + len(self.seen)

    def add(self, found: list[Hit]) -> bool:
        """Add a pass's hits; True once top_k are in."""
        for hit in found:
            if hit.chunk_id not in self.seen and len(self.hits) < self.top_k:
                self.seen.add(hit.chunk_id)
                # A later pass's raw scores are not comparable with an earlier one's; keep
                # the reported scores in the order of the results.
                score = min(hit.score, self.hits[-1].score) if self.hits else hit.score
                self.hits.append(Hit(hit.chunk_id, score))
        return len(self.hits) >= self.top_k
