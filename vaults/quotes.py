"""Quotations in an answer, and where a document says them.

Pure text logic, no database: `find_quotes` picks the quotations out of a model's output (text
in straight or curly double quotes, and Markdown block quotes, of QUOTE_MIN_WORDS words or
more); `Normalised` is a document's text with whitespace, quote marks and hyphenation made
uniform, and a map back to the original offsets; `locate` finds a quotation verbatim after that
normalisation, and `closest` finds a near passage (an altered quotation) through candidate
windows seeded by the quotation's rarest words, so its cost follows the quotation, not the
document.
"""

from __future__ import annotations

import bisect
import difflib
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

Opcode = tuple[Any, int, int, int, int]  # difflib's (tag, i1, i2, j1, j2)

QUOTE_MIN_WORDS = 6
ALTERED_MIN_SIMILARITY = 0.8
SEED_WORDS = 6  # the quotation's rarest words that propose where a close passage may start
CANDIDATES = 4  # windows compared per document
BUCKET = 8  # starts this close (in tokens) pool their votes
SECTION_LOOKBACK = 200_000  # characters searched back for a section heading

# Quote marks and dashes as the normalisation sees them: one straight form each.
_TRANSLATE = str.maketrans(
    {
        "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'",
        "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"',
        "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-",
        "\u2015": "-", "\u2212": "-", "\u00a0": " ",
    }
)  # fmt: skip
# Runs that normalise to one space, to nothing (hyphenation, soft hyphens) or to one "-".
_GAP = re.compile(r"[\s\u00ad-]+")
_TOKEN = re.compile(r"\w+|[^\w\s]")
_WORD = re.compile(r"\w+")
_ELLIPSIS = re.compile(r"^(?:\.\.\.|…|\[\.\.\.\]|\s)+|(?:\.\.\.|…|\[\.\.\.\]|\s)+$")

# "text", “text” (no blank line inside); block quotes are lines starting with ">".
_STRAIGHT = re.compile(r'"([^"\n]*(?:\n(?!\s*\n)[^"\n]*)*)"')
_CURLY = re.compile(r"\u201c([^\u201c\u201d]*?)\u201d")
_BLOCK_LINE = re.compile(r"^ {0,3}>[ \t]?(.*)$")


@dataclass(frozen=True)
class Quote:
    text: str  # the quotation as the output gives it, without its marks
    start: int  # the span in the output, marks (or the block's ">" lines) included
    end: int


def find_quotes(output: str, *, min_words: int = QUOTE_MIN_WORDS) -> list[Quote]:
    """The quotations of `min_words` words or more, in the order they appear. A quotation
    inside a block quote that is itself long enough counts once, as the block."""
    blocks = _block_quotes(output)
    found = [b for b in blocks if _word_count(b.text) >= min_words]
    for pattern in (_STRAIGHT, _CURLY):
        for match in pattern.finditer(output):
            start, end = match.span()
            if any(b.start <= start < b.end for b in found):
                continue
            text = _ELLIPSIS.sub("", " ".join(match.group(1).split()))
            if _word_count(text) >= min_words:
                found.append(Quote(text, start, end))
    return sorted(found, key=lambda q: q.start)


def _block_quotes(output: str) -> list[Quote]:
    quotes: list[Quote] = []
    lines: list[str] = []
    start = position = 0
    for line in output.splitlines(keepends=True):
        match = _BLOCK_LINE.match(line.rstrip("\r\n"))
        if match:
            if not lines:
                start = position
            lines.append(match.group(1).lstrip("> \t"))
        elif lines:
            quotes.append(_block(lines, start, position))
            lines = []
        position += len(line)
    if lines:
        quotes.append(_block(lines, start, position))
    return quotes


def _block(lines: list[str], start: int, end: int) -> Quote:
    text = " ".join(" ".join(lines).split())
    if len(text) >= 2 and text[0] in '"\u201c' and text[-1] in '"\u201d':
        text = text[1:-1].strip()
    return Quote(_ELLIPSIS.sub("", text), start, end)


def _word_count(text: str) -> int:
    return sum(1 for w in text.split() if _WORD.search(w))


# --- Normalisation ------------------------------------------------------------------------------


@dataclass
class Normalised:
    """`text` with whitespace runs as one space, curly quotes straight, every dash one "-",
    soft hyphens dropped and a hyphen between two letters or digits dropped (so "indem-\\nnify",
    "non-disclosure" and "nondisclosure" all read alike). `original(i)` is the offset in the
    source text of normalised character i."""

    source: str
    text: str = ""
    _norm_starts: list[int] = field(default_factory=list)
    _orig_starts: list[int] = field(default_factory=list)
    _words: dict[str, list[int]] | None = None
    _tokens: list[tuple[int, int]] | None = None

    def __post_init__(self) -> None:
        source = self.source.translate(_TRANSLATE)
        parts: list[str] = []
        length = 0

        def add(piece: str, orig: int) -> None:
            nonlocal length
            if piece:
                self._norm_starts.append(length)
                self._orig_starts.append(orig)
                parts.append(piece)
                length += len(piece)

        cursor = 0
        for gap in _GAP.finditer(source):
            add(source[cursor : gap.start()], cursor)
            cursor = gap.end()
            run = gap.group()
            before = source[gap.start() - 1] if gap.start() else ""
            after = source[gap.end()] if gap.end() < len(source) else ""
            if "-" in run:
                if not (before.isalnum() and after.isalnum()):
                    add("-", gap.start() + run.index("-"))
            elif "\u00ad" not in run and before and after:
                add(" ", gap.start())  # a soft hyphen marks a hyphenation point: nothing
        add(source[cursor:], cursor)
        self.text = "".join(parts)

    def original(self, index: int) -> int:
        k = bisect.bisect_right(self._norm_starts, index) - 1
        return self._orig_starts[k] + (index - self._norm_starts[k]) if k >= 0 else 0

    def span(self, start: int, end: int) -> tuple[int, int]:
        """The source span of normalised characters start..end (end exclusive)."""
        return self.original(start), self.original(end - 1) + 1

    def tokens(self) -> list[tuple[int, int]]:
        """(start, end) of each word and punctuation mark, in normalised offsets."""
        if self._tokens is None:
            self._tokens = [m.span() for m in _TOKEN.finditer(self.text)]
        return self._tokens

    def word_positions(self) -> dict[str, list[int]]:
        """Lower-cased word -> the token indexes where it occurs (built once, on demand)."""
        if self._words is None:
            index: dict[str, list[int]] = {}
            text = self.text
            for i, (a, b) in enumerate(self.tokens()):
                if text[a].isalnum() or text[a] == "_":
                    index.setdefault(text[a:b].lower(), []).append(i)
            self._words = index
        return self._words


def normalise(text: str) -> str:
    return Normalised(text).text


# --- Matching -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Match:
    start: int  # offsets in the document's source text
    end: int
    similarity: float = 1.0
    diff: list[dict[str, str]] | None = None  # for a close match: how the quotation differs


def locate(quote: str, document: Normalised) -> Match | None:
    """The quotation verbatim in the document (after normalising both), or None."""
    needle = normalise(quote)
    if not needle:
        return None
    text = document.text
    at = text.find(needle)
    while at != -1:
        end = at + len(needle)
        cut_before = at > 0 and needle[0].isalnum() and text[at - 1].isalnum()
        cut_after = end < len(text) and needle[-1].isalnum() and text[end].isalnum()
        if not (cut_before or cut_after):  # whole words only: "act" is not in "contract"
            return Match(*document.span(at, end))
        at = text.find(needle, at + 1)
    return None


def closest(
    quote: str, document: Normalised, *, min_similarity: float = ALTERED_MIN_SIMILARITY
) -> Match | None:
    """The passage of the document closest to the quotation, word by word, if it is at least
    `min_similarity` alike (difflib's ratio over words and punctuation); None otherwise."""
    needle = Normalised(quote)
    q_tokens = [needle.text[a:b] for a, b in needle.tokens()]
    if not q_tokens:
        return None
    doc_tokens = document.tokens()
    best: tuple[float, int, int, list[Opcode]] | None = None
    for anchor in _anchors(needle, document):
        slack = len(q_tokens) // 4 + 3
        lo = max(0, anchor - slack)
        hi = min(len(doc_tokens), anchor + BUCKET + len(q_tokens) + slack)
        window = [document.text[a:b] for a, b in doc_tokens[lo:hi]]
        matcher = difflib.SequenceMatcher(None, q_tokens, window, autojunk=False)
        blocks = [b for b in matcher.get_matching_blocks() if b.size]
        if not blocks:
            continue
        first, last = blocks[0].b, blocks[-1].b + blocks[-1].size
        passage = window[first:last]
        matcher = difflib.SequenceMatcher(None, q_tokens, passage, autojunk=False)
        score = matcher.ratio()
        if best is None or score > best[0]:
            best = (score, lo + first, lo + last, list(matcher.get_opcodes()))
    if best is None or best[0] < min_similarity:
        return None
    score, t0, t1, opcodes = best
    start, end = document.span(doc_tokens[t0][0], doc_tokens[t1 - 1][1])
    diff = _diff(opcodes, needle, doc_tokens[t0:t1], document)
    return Match(start, end, round(score, 3), diff)


def _anchors(needle: Normalised, document: Normalised) -> list[int]:
    """Token indexes where the quotation may start in the document: each occurrence of one of
    the quotation's rarest words votes for the start it implies; the best-voted starts win."""
    positions = document.word_positions()
    words: list[tuple[str, int]] = []  # (word, its token index in the quotation)
    for i, (a, b) in enumerate(needle.tokens()):
        word = needle.text[a:b].lower()
        if word in positions:
            words.append((word, i))
    if not words:
        return []
    rarest = sorted({w for w, _ in words}, key=lambda w: (len(positions[w]), w))[:SEED_WORDS]
    votes: Counter[int] = Counter()
    for word, i in words:
        if word in rarest:
            for at in positions[word][:1000]:  # a rare word is rare: cap a pathological one
                votes[(at - i) // BUCKET] += 1
    return [bucket * BUCKET for bucket, _ in votes.most_common(CANDIDATES)]


def _diff(
    opcodes: list[Opcode],
    quote: Normalised,
    passage: list[tuple[int, int]],
    document: Normalised,
) -> list[dict[str, str]]:
    """Word-level differences: `equal` text both share, `delete` text of the document the
    quotation leaves out or changes, `insert` text the quotation has and the document does not."""
    q = quote.tokens()
    ops: list[dict[str, str]] = []

    def add(op: str, tokens: list[tuple[int, int]], text: str) -> None:
        if tokens:
            ops.append({"op": op, "text": text[tokens[0][0] : tokens[-1][1]]})

    for tag, i1, i2, j1, j2 in opcodes:
        if tag == "equal":
            add("equal", q[i1:i2], quote.text)
            continue
        add("delete", passage[j1:j2], document.text)
        add("insert", q[i1:i2], quote.text)
    return ops


# --- Where a passage sits -----------------------------------------------------------------------

_HEADING_LINE = re.compile(
    r"^(?:#{1,6}\s+\S.{0,120}"
    r"|(?:(?:Section|SECTION|Article|ARTICLE)\s+)?\d+(?:\.\d+)*\.?\s+[A-Z][\w ,;&'/()-]{1,80}\.?"
    r"|(?:ARTICLE|Article|SECTION|Section)\s+[IVXLC\d]+\.?(?:\s+\S.{0,80})?"
    r"|[A-Z][A-Z0-9 ,;&'/()-]{3,80})$"
)


def is_heading(line: str) -> bool:
    """A line of its own that reads as a heading: "## 5. Term", "5. Term and Termination",
    "Section 4 Term", "ARTICLE II", "CONFIDENTIALITY"; never a sentence ("3.1 Tenant shall pay
    monthly base rent in advance ...")."""
    line = line.strip()
    return bool(line) and len(line.split()) <= 12 and bool(_HEADING_LINE.match(line))


def section_before(text: str, offset: int) -> str:
    """The heading of the section holding `offset`: the nearest heading line before it, its
    Markdown marks removed ("5. Term and Termination"); "" if none."""
    end, floor = offset, max(0, offset - SECTION_LOOKBACK)
    while end > floor:
        start = text.rfind("\n", 0, end - 1) + 1
        line = text[start:end].strip()
        if is_heading(line):
            return line.lstrip("#").strip()
        end = start
        if start == 0:
            break
    return ""
