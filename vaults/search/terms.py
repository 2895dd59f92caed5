"""From a question to search terms: words, lowercased, stop words dropped, deduplicated.

Both backends stem the terms themselves (FTS5's porter tokenizer, PostgreSQL's 'english'
configuration) and OR them, so a chunk ranks higher the more of the question's content words
it holds, and a question never becomes an AND of every word. Terms are plain word characters,
so no query syntax (quotes, NEAR, *, :, parentheses) ever reaches the engine.
"""

from __future__ import annotations

import re

MAX_TERMS = 32
_WORD = re.compile(r"\w+", re.UNICODE)

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
    find list us
    """.split()  # noqa: SIM905 - a word list reads best as text
)


def words(text: str) -> list[str]:
    """Every word in `text`, lowercased, in order; underscores split words as the engines do."""
    return [w for w in _WORD.findall(text.lower().replace("_", " ")) if w]


def query_terms(query: str) -> list[str]:
    """The content words of a query, in order of first appearance, at most MAX_TERMS.
    When a query is nothing but stop words it is searched as written rather than not at all."""
    all_words = words(query)
    content = [w for w in all_words if w not in STOP_WORDS and len(w) > 1]
    chosen = content or all_words
    return list(dict.fromkeys(chosen))[:MAX_TERMS]
