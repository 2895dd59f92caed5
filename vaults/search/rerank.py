"""The final ranking of a search's candidates, the same on every backend: a BM25 score per
question concept, where a concept scores by the best of its words (the word as asked counts
fully, a word from the synonym table at SYNONYM_WEIGHT), a word in the chunk's section path
counts SECTION_WEIGHT times a word in its text, and words are compared by their Snowball stem.

The engines choose the candidates (a few dozen per question) with their own ranking; this one
orders them. Scoring a concept by its best word, rather than summing all its words as the
engines do, keeps a chunk that says "litigation, action, proceeding" from outranking one that
holds more of the question.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

from vaults.search.terms import Concept, stem, stems_of

SYNONYM_WEIGHT = 0.7
SECTION_WEIGHT = 1.5
K1 = 1.2
B = 0.75
AVERAGE_WORDS = 150.0  # a chunk of about CHUNK_SIZE characters


@dataclass(frozen=True)
class Candidate:
    chunk_id: int
    text: str
    section: str


def idf(doc_freq: int, total: int) -> float:
    return math.log(1.0 + (total - doc_freq + 0.5) / (doc_freq + 0.5))


def score(
    candidate: Candidate,
    concepts: list[Concept],
    doc_freqs: dict[str, int],
    total: int,
) -> float:
    text_stems = stems_of(candidate.text)
    counts = Counter(text_stems)
    section = set(stems_of(candidate.section))
    norm = K1 * (1 - B + B * len(text_stems) / AVERAGE_WORDS)
    result = 0.0
    for concept in concepts:
        best = 0.0
        for position, word in enumerate(concept.alternatives):
            key = stem(word)
            tf = counts.get(key, 0)
            in_section = key in section
            if not tf and not in_section:
                continue
            weight = (1.0 if position == 0 else SYNONYM_WEIGHT) * idf(doc_freqs.get(word, 1), total)
            value = weight * (tf * (K1 + 1) / (tf + norm) + (SECTION_WEIGHT if in_section else 0))
            best = max(best, value)
        result += best
    return result


def rerank(
    candidates: list[Candidate],
    concepts: list[Concept],
    doc_freqs: dict[str, int],
    total: int,
) -> list[tuple[int, float]]:
    """(chunk id, score in (0, 1)) best first; ties keep the engine's order."""
    scored = [
        (score(c, concepts, doc_freqs, max(total, 1)), -n, c.chunk_id)
        for n, c in enumerate(candidates)
    ]
    scored.sort(reverse=True)
    return [(chunk_id, round(s / (1.0 + s), 6)) for s, _, chunk_id in scored]
