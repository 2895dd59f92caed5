"""Passages of about CHUNK_SIZE characters that overlap by about OVERLAP, broken at a paragraph
or sentence boundary where one is near. Paged documents are chunked page by page, so every
passage cites exactly one page."""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

CHUNK_SIZE = 1000
OVERLAP = 150
PAGE_SEPARATOR = "\n\n"

# A sentence ends after a word, not after a clause number ("9.") or an initial ("U.S.").
_SENTENCE_END = re.compile(r"(?<=[A-Za-z0-9)\]\"'%]{2})[.!?;:][\"')\]]*\s")
# A line that is a numbered heading: "9. Indemnity", "10.2 Survival", "Section 4 Term".
_HEADING_START = re.compile(
    r"\n(?=(?:Section\s+|SECTION\s+|Article\s+|ARTICLE\s+)?\d+(?:\.\d+)*\.?\s+"
    r"[A-Z][A-Za-z ,;&'/()-]{2,70}\n)"
)


@dataclass(frozen=True)
class Span:
    index: int
    start: int  # offsets into the joined text
    end: int
    text: str
    page_start: int | None
    page_end: int | None


def join_pages(pages: list[str]) -> tuple[str, list[int]]:
    """The document's text and where each page starts in it."""
    offsets: list[int] = []
    position = 0
    for page in pages:
        offsets.append(position)
        position += len(page) + len(PAGE_SEPARATOR)
    return PAGE_SEPARATOR.join(pages), offsets


def page_of(offsets: list[int], position: int) -> int:
    """The 1-based page holding `position`."""
    return max(1, bisect.bisect_right(offsets, position))


def _break_point(text: str, start: int, limit: int) -> tuple[int, bool]:
    """Where to end a chunk that starts at `start` and may not pass `limit`, and whether that is
    a clean break (a section starts there, so the next chunk needs no overlap): the last
    paragraph break in its second half, else the last numbered heading, else the last sentence
    end, else the last space."""
    floor = start + (limit - start) // 2
    paragraph = text.rfind("\n\n", floor, limit)
    if paragraph != -1:
        # A heading belongs with the text under it, not at the end of the chunk before.
        previous = text.rfind("\n\n", floor, paragraph)
        if previous != -1 and _is_heading(text[previous + 2 : paragraph]):
            return previous, True
        return paragraph, True
    headings = [m.start() for m in _HEADING_START.finditer(text, floor, limit)]
    if headings:  # extracted PDF text has no blank lines, but its clauses are numbered
        return headings[-1], True
    last_sentence = -1
    for match in _SENTENCE_END.finditer(text, floor, limit):
        last_sentence = match.end() - 1
    if last_sentence != -1:
        return last_sentence, False
    space = max(text.rfind(" ", floor, limit), text.rfind("\n", floor, limit))
    return (space, False) if space != -1 else (limit, False)


def _is_heading(paragraph: str) -> bool:
    """A short line of its own that does not end like a sentence: "2. Fees and Payment",
    "## Recitals", "ARTICLE IV"."""
    line = paragraph.strip()
    return (
        0 < len(line) <= 80
        and "\n" not in line
        and not line.endswith((".", ",", ";", ":"))
        and (line[0].isupper() or line[0].isdigit() or line[0] == "#")
    )


def _next_start(text: str, end: int, previous_start: int) -> int:
    """Back up OVERLAP characters from `end`, then forward to a sentence or word start."""
    start = max(end - OVERLAP, previous_start + 1)
    sentence = _SENTENCE_END.search(text, start, end)
    if sentence is not None:
        return sentence.end()
    space = text.find(" ", start, end)
    return space + 1 if space != -1 else start


def chunk_text(text: str, *, size: int = CHUNK_SIZE) -> list[tuple[int, int]]:
    """(start, end) offsets of the passages of `text`, whitespace trimmed."""
    spans: list[tuple[int, int]] = []
    start, n = 0, len(text)
    while start < n:
        limit = start + size
        end, clean = (n, True) if limit >= n else _break_point(text, start, limit)
        if end <= start:
            end, clean = min(n, limit), False
        piece = text[start:end]
        stripped = piece.strip()
        if stripped:
            first = start + len(piece) - len(piece.lstrip())
            spans.append((first, first + len(stripped)))
        if end >= n:
            break
        start = end if clean else _next_start(text, end, start)
    return spans


def chunk_document(pages: list[str], *, paged: bool) -> tuple[str, list[int], list[Span]]:
    """The document's joined text, its page offsets (empty when not paged) and its passages."""
    text, offsets = join_pages(pages)
    spans: list[Span] = []
    for number, (page, base) in enumerate(zip(pages, offsets, strict=True), start=1):
        for start, end in chunk_text(page):
            page_number = number if paged else None
            spans.append(
                Span(
                    len(spans), base + start, base + end, page[start:end], page_number, page_number
                )
            )
    return text, (offsets if paged else []), spans
