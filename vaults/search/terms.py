"""From a question to search concepts: its content words, each with the words that may stand
for it in a document.

Words are lowercased, stop words dropped, and words with one Snowball stem kept once
("terminate the termination" is one concept). Each concept is searched as an OR group of
alternatives: the word as asked, then the drafting vocabulary of vaults.search.synonyms ("sue"
-> litigation, action, proceeding, claim). Both engines stem what they are given (FTS5's porter
tokenizer, PostgreSQL's 'english' configuration), at index time and query time alike, so a
word matches its inflections. Concepts are OR-ed, so a chunk ranks higher the more of the
question's concepts it holds, and a question is never an AND of every word. Terms are plain
word characters, so no query syntax (quotes, NEAR, *, :, parentheses) reaches the engine.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import Stemmer

from vaults.search.synonyms import ROWS

MAX_TERMS = 32
MAX_ALTERNATIVES = 8
PHRASE_GAP = 2  # words allowed between the two words of a phrasal verb
_WORD = re.compile(r"\w+", re.UNICODE)
_STEMMER = Stemmer.Stemmer("english")

STOP_WORDS = frozenset(
    """
    a about above after again against all am an and any are aren as at be because been
    before being below between both but by can cannot could couldn did didn do does doesn
    doing don down during each few for from further had hadn has hasn have haven having he
    her here hers herself him himself his how i if in into is isn it its itself just let me
    more most mustn my myself no nor not of off on once only or other ought our ours
    ourselves out over own same she should shouldn so some such than that the their theirs
    them themselves then there these they this those through to too under until up very was
    wasn we were weren what when where which while who whom why with won would wouldn you
    your yours yourself yourselves s t d ll m o re ve y also get got please tell show give
    find list us happens happen say says said does mean means anyone someone something thing
    things need needs want wants whether much many must come comes go goes going else
    someone anybody somebody
    """.split()  # noqa: SIM905 - a word list reads best as text
)


@dataclass(frozen=True)
class Concept:
    word: str  # as asked
    alternatives: tuple[str, ...]  # the word first, then what a document may say instead


def stem(word: str) -> str:
    return str(_STEMMER.stemWord(word))


def stems_of(text: str) -> list[str]:
    """The Snowball stems of every word of `text`, in order."""
    return list(_STEMMER.stemWords(words(text)))


def _key(word_or_phrase: str) -> str:
    return "_".join(stem(w) for w in word_or_phrase.split("_"))


@lru_cache(maxsize=1)
def _drafted_by_stem() -> dict[str, tuple[str, ...]]:
    """Drafted words by the stem of an asked word, or the stems of an asked phrase joined by
    "_"."""
    table: dict[str, list[str]] = {}
    for asked, drafted in ROWS:
        for word in asked.split():
            found = table.setdefault(_key(word), [])
            found.extend(w for w in drafted.split() if w not in found)
    return {key: tuple(words) for key, words in table.items()}


def _phrases(all_words: list[str], drafted: dict[str, tuple[str, ...]]) -> list[Concept]:
    """Concepts for the table's phrases in the query ("give up" -> waive, abandon ...). A
    two-word phrase may have its object between its words, as English phrasal verbs do ("rent
    the office out", "hand them over"): up to PHRASE_GAP words."""
    stems = [stem(w) for w in all_words]
    found = []
    seen: set[str] = set()
    for length in (3, 2):
        for i in range(len(stems) - length + 1):
            key = "_".join(stems[i : i + length])
            if key in drafted and key not in seen:
                seen.add(key)
                phrase = " ".join(all_words[i : i + length])
                found.append(Concept(phrase, drafted[key][:MAX_ALTERNATIVES]))
    for i, first in enumerate(stems):
        for j in range(i + 2, min(i + 2 + PHRASE_GAP, len(stems))):
            key = f"{first}_{stems[j]}"
            if key in drafted and key not in seen:
                seen.add(key)
                found.append(
                    Concept(f"{all_words[i]} {all_words[j]}", drafted[key][:MAX_ALTERNATIVES])
                )
    return found


def words(text: str) -> list[str]:
    """Every word in `text`, lowercased, in order; underscores split words as the engines do."""
    return [w for w in _WORD.findall(text.lower().replace("_", " ")) if w]


def query_concepts(query: str) -> list[Concept]:
    """The content words of a query with their alternatives, in order of first appearance, at
    most MAX_TERMS. A query of nothing but stop words is searched as written rather than not at
    all, and without alternatives."""
    all_words = words(query)
    content = [w for w in all_words if w not in STOP_WORDS and len(w) > 1]
    drafted = _drafted_by_stem() if content else {}
    concepts: list[Concept] = _phrases(all_words, drafted) if content else []
    seen: set[str] = set()
    for word in content or all_words:
        key = stem(word)
        if key in seen:
            continue
        seen.add(key)
        alternatives = [word]
        for other in drafted.get(key, ()):
            if stem(other) not in {stem(a) for a in alternatives}:
                alternatives.append(other)
        concepts.append(Concept(word, tuple(alternatives[:MAX_ALTERNATIVES])))
        if len(concepts) == MAX_TERMS:
            break
    return concepts


def query_terms(query: str) -> list[str]:
    """The content words of a query, as asked (see query_concepts)."""
    return [c.word for c in query_concepts(query)]
