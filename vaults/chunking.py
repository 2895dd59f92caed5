"""Passages for search and citation, cut along the document's structure.

A document is read as headings, paragraphs, lines that are items (list entries, table rows)
and sentences. A passage holds whole sentences up to CHUNK_SIZE characters: it starts at a
heading, a paragraph, an item or a sentence, never inside one; a sentence is cut only when it
alone is longer than a passage, and then at a clause break or a space, never inside a word. A
heading always starts a passage (with the text under it), a passage ends at a paragraph break
when one is in its second half, and a passage that had to end inside a paragraph is followed
by one that repeats up to OVERLAP characters of whole sentences before it.

Each passage knows its section path ("Article 2 > 2.1 Definitions"), from the headings the
format declares (Markdown/HTML h1-h6, DOCX heading styles) or, for text without markup, from
headings recognised by form: numbered ("5. Term and Termination", "10.2 Survival", "Section 4
Term", "ARTICLE II"), run-in ("3. Grant of Patent License. Subject to ..."), short ALL-CAPS or
Title Case lines of their own. A document title (a first heading above all others, alone at its
level) names the text before the first section but is left out of the paths below it.

Paged documents are chunked page by page, so every passage cites exactly one page; sections
carry over page breaks.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

CHUNK_SIZE = 1000
OVERLAP = 150
PAGE_SEPARATOR = "\n\n"
SECTION_MAX = 300
SECTION_JOINER = " > "
_HEADING_MAX_CHARS = 100
_HEADING_MAX_WORDS = 12

# A sentence ends at . ! or ? (closing quotes and brackets included) before the next one
# starts: a capital, a digit, an opening quote or bracket.
_SENTENCE_END = re.compile(r"[.!?][\"'\u201d\u2019)\]]*(?=\s+[\"'\u201c\u2018(\[]*[A-Z0-9(])")
_ABBREVIATIONS = frozenset(
    [
        "mr",
        "mrs",
        "ms",
        "dr",
        "st",
        "no",
        "nos",
        "sec",
        "secs",
        "art",
        "arts",
        "inc",
        "ltd",
        "co",
        "corp",
        "cf",
        "vs",
        "v",
        "e.g",
        "i.e",
        "et",
        "al",
        "para",
        "paras",
        "p",
        "pp",
        "u.s",
        "u.k",
        "jr",
        "sr",
        "fig",
        "figs",
        "ch",
        "cl",
    ]
)
_WORD_BEFORE = re.compile(r"([\w.]+)$")
# Where an over-long sentence is cut, best first: after a semicolon or colon, after a comma.
_CLAUSE_BREAKS = (re.compile(r"[;:]\s"), re.compile(r",\s"))
_ITEM_LINE = re.compile(r"^(?:[-*\u2022\u25aa\u2013]\s|\(?[a-z0-9ivx]{1,4}[.)]\s|\d+(?:\.\d+)*\s)")

_LABELLED = re.compile(
    r"^(?:ARTICLE|Article|PART|Part|CHAPTER|Chapter|SCHEDULE|Schedule|EXHIBIT|Exhibit|"
    r"ANNEX|Annex|APPENDIX|Appendix)\s+(?:[IVXLC]+|\d+|[A-Z])\b"
)
_SECTION_LABEL = re.compile(r"^(?:SECTION|Section|Sec\.|\u00a7)\s*(\d+(?:\.\d+)*)\b")
_NUMBERED = re.compile(r"^(\d{1,3}(?:\.\d{1,3})*)(?:\.|\))?\s+(?=\S)")
_RUN_IN = re.compile(
    r"^((?:(?:SECTION|Section|\u00a7)\s*)?\d{1,3}(?:\.\d{1,3})*\.?\s+[A-Z][^.!?\n]{1,70}?)\."
    r"(?=\s+[\"'\u201c(]*[A-Z(])"
)
_SMALL_WORDS = frozenset(
    "a an and as at by for from in into of on or the to under upon with without its".split()  # noqa: SIM905 - a word list reads best as text
)


@dataclass(frozen=True)
class Span:
    index: int
    start: int  # offsets into the joined text
    end: int
    text: str
    page_start: int | None
    page_end: int | None
    section: str = ""


@dataclass
class _Unit:
    start: int  # offsets into the page
    end: int
    breaks: bool  # starts a paragraph or an item: a clean place to start a passage
    paragraph: int  # which paragraph of the page it belongs to
    heading: int | None = None  # level, when the unit is a heading (a line, or a run-in)
    title: str = ""
    run_in: bool = False


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


# --- Headings by form -------------------------------------------------------------------------


def heading_title(line: str) -> str:
    """How a heading reads in a section path: spaces collapsed, a closing period dropped."""
    return " ".join(line.strip("*# \t").split()).rstrip(".:").strip()[:SECTION_MAX]


def _title_case(words: list[str]) -> bool:
    significant = [w for w in words if w.lower() not in _SMALL_WORDS and w[:1].isalpha()]
    if not significant:
        return False
    capitalised = sum(1 for w in significant if w[:1].isupper())
    return capitalised / len(significant) >= 0.75


def _numbering_level(number: str) -> int:
    return 1 + min(number.count(".") + 1, 5)


def heading_level(line: str, *, alone: bool, after_sentence: bool) -> int | None:
    """The level of `line` if it reads as a heading, else None. `alone`: the line is a
    paragraph of its own; `after_sentence`: the line before it ended a sentence (or there is
    none), so a numbered line starts something rather than continuing a wrapped sentence."""
    text = " ".join(line.strip("*# \t").split())
    words = text.split()
    if not words or len(text) > _HEADING_MAX_CHARS or len(words) > _HEADING_MAX_WORDS:
        return None
    if text.endswith((",", ";", ":")) or not (text[0].isupper() or text[0].isdigit()):
        return None
    if not (alone or after_sentence):
        return None
    if _LABELLED.match(text):
        return 1
    numbered = _SECTION_LABEL.match(text) or _NUMBERED.match(text)
    if numbered:
        rest = text[numbered.end() :].strip()
        rest_words = rest.split()
        if not rest_words:
            return _numbering_level(numbered.group(1)) if alone else None
        if not rest[0].isupper():
            return None
        ends = text.endswith((".", "!", "?"))
        if ends and (len(rest_words) > 8 or not _title_case(rest_words)):
            return None
        if not ends and not alone and not _title_case(rest_words):
            return None
        return _numbering_level(numbered.group(1))
    if text.endswith((".", "!", "?")):
        return None
    letters = [c for c in text if c.isalpha()]
    if len(letters) >= 3 and all(c.isupper() for c in letters) and (alone or len(words) <= 6):
        return 1
    if not alone:
        return None
    if len(words) <= 10 and _title_case(words):
        return 1
    return None


def _run_in_heading(text: str) -> tuple[str, int] | None:
    """A heading that opens a paragraph: "3. Grant of Patent License. Subject to ..."."""
    match = _RUN_IN.match(text)
    if match is None:
        return None
    head = match.group(1)
    number = re.match(r"^(?:(?:SECTION|Section|\u00a7)\s*)?(\d+(?:\.\d+)*)\.?\s+", head)
    if number is None:
        return None
    words = head[number.end() :].split()
    if not 1 <= len(words) <= 8 or not _title_case(words):
        return None
    return heading_title(head), _numbering_level(number.group(1))


# --- Units: headings, sentences ---------------------------------------------------------------


_RULE = re.compile(r"^[-=_*~#.\s]*$")


def _lines(page: str) -> list[tuple[int, int, bool, bool]]:
    """(start, end, blank_before, blank_after) of each line with words, trimmed. Rules (lines
    of dashes, equals signs, asterisks: underlines and boxes in plain text) count as blank."""
    found: list[tuple[int, int]] = []
    blank_before: list[bool] = []
    position, blank = 0, True
    for raw in page.split("\n"):
        stripped = raw.strip()
        if stripped and not _RULE.match(stripped):
            start = position + raw.index(stripped[0])
            found.append((start, start + len(stripped)))
            blank_before.append(blank)
            blank = False
        else:
            blank = True
        position += len(raw) + 1
    return [
        (start, end, blank_before[i], i + 1 == len(found) or blank_before[i + 1])
        for i, (start, end) in enumerate(found)
    ]


def _is_sentence_end(text: str, position: int, block_start: int) -> bool:
    """Whether the punctuation at `position` ends a sentence, not an abbreviation ("U.S.",
    "e.g."), an initial or a clause number ("9." at the start of a line)."""
    if text[position] != ".":
        return True
    word = _WORD_BEFORE.search(text, block_start, position)
    if word is None:
        return True
    token = word.group(1).lower().strip(".")
    if token in _ABBREVIATIONS or (len(token) == 1 and token.isalpha()):
        return False
    if token.replace(".", "").isdigit() or re.fullmatch(r"[ivxlc]+", token):
        return len(text[block_start : word.start()].split()) > 1  # "Section 9." numbers it
    return True


def _sentences(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """(start, end) of each sentence of text[start:end], trimmed."""
    spans: list[tuple[int, int]] = []
    begin = start
    for match in _SENTENCE_END.finditer(text, start, end):
        if not _is_sentence_end(text, match.start(), start):
            continue
        spans.append((begin, match.end()))
        begin = match.end()
        while begin < end and text[begin].isspace():
            begin += 1
    if begin < end:
        spans.append((begin, end))
    return [(s, e) for s, e in spans if e > s]


def _cut(text: str, start: int, end: int, size: int) -> list[tuple[int, int]]:
    """A sentence longer than `size` in pieces of at most `size`: at a clause break in the
    second half of a piece if there is one, else at the last space, else (one word longer than
    a passage) at `size`."""
    pieces: list[tuple[int, int]] = []
    while end - start > size:
        limit, floor = start + size, start + size // 2
        cut = -1
        for pattern in _CLAUSE_BREAKS:
            for match in pattern.finditer(text, floor, limit):
                cut = match.start() + 1
            if cut != -1:
                break
        if cut == -1:
            space = text.rfind(" ", start + 1, limit + 1)
            cut = space if space > start else limit
        pieces.append((start, cut))
        start = cut
        while start < end and text[start].isspace():
            start += 1
    if end > start:
        pieces.append((start, end))
    return pieces


def _units(page: str, levels: dict[int, int] | None, size: int) -> list[_Unit]:
    """The page cut into headings and sentences (pieces of over-long sentences). `levels`:
    the declared heading lines by offset, or None to recognise headings by form. Lines of a
    paragraph are one block of sentences (plain text wraps them) unless a line is an item: a
    table row, or a bullet or numbered line after a line that ended a sentence or clause."""
    units: list[_Unit] = []
    block: list[int] = []  # start, end, paragraph, whether it is a table row
    paragraph = -1
    previous_end = "."

    def flush() -> None:
        if block:
            _add_sentences(units, page, block[0], block[1], block[2], size)
            block.clear()

    for start, end, blank_before, blank_after in _lines(page):
        line = page[start:end]
        if blank_before or paragraph < 0:
            paragraph += 1
        after_sentence = previous_end in ".!?:;"
        previous_end = line[-1]
        if levels is not None:
            level = levels.get(start)
        else:
            level = heading_level(
                line, alone=blank_before and blank_after, after_sentence=after_sentence
            )
        if level is not None and end - start <= size:
            flush()
            units.append(_Unit(start, end, True, paragraph, level, heading_title(line)))
            continue
        row = " | " in line
        item = row or (_ITEM_LINE.match(line) is not None and after_sentence)
        if block and not blank_before and not item and not block[3]:
            block[1] = end
        else:
            flush()
            block.extend((start, end, paragraph, int(row)))
    flush()
    return units


def _add_sentences(
    units: list[_Unit], page: str, start: int, end: int, paragraph: int, size: int
) -> None:
    for number, (s_start, s_end) in enumerate(_sentences(page, start, end)):
        first = number == 0
        run_in = _run_in_heading(page[s_start:end]) if first else None
        for piece_number, (p_start, p_end) in enumerate(_cut(page, s_start, s_end, size)):
            unit = _Unit(p_start, p_end, first and piece_number == 0, paragraph)
            if run_in and piece_number == 0:
                unit.title, unit.heading = run_in
                unit.run_in = True
            units.append(unit)


# --- Passages ---------------------------------------------------------------------------------


def _pack(units: list[_Unit], size: int) -> list[list[int]]:
    """Groups of consecutive unit indexes, one per passage (overlapping ones repeat some)."""
    passages: list[list[int]] = []
    current: list[int] = []

    def only_headings() -> bool:
        return all(units[j].heading is not None and units[j].end - units[j].start
                   <= _HEADING_MAX_CHARS for j in current)  # fmt: skip

    for i, unit in enumerate(units):
        if current and unit.heading is not None and not only_headings():
            passages.append(current)
            current = []
        if current and unit.end - units[current[0]].start > size:
            current = _overflow(units, current, i, size, passages)
        current.append(i)
    if current:
        passages.append(current)
    return passages


def _overflow(
    units: list[_Unit], current: list[int], i: int, size: int, passages: list[list[int]]
) -> list[int]:
    """End the passage in `current` before unit i; returns what the next passage starts with."""
    unit = units[i]
    if unit.breaks:
        passages.append(current)
        return []
    start = units[current[0]].start
    for k in range(len(current) - 1, 0, -1):  # a paragraph break in the second half
        candidate = units[current[k]]
        if candidate.start - start < size // 2:
            break
        if candidate.breaks and unit.end - candidate.start <= size:
            passages.append(current[:k])
            return current[k:]
    passages.append(current)
    carried: list[int] = []  # whole sentences of the same paragraph, up to OVERLAP
    for j in reversed(current):
        previous = units[j]
        if (
            previous.paragraph != unit.paragraph
            or previous.heading is not None
            or unit.start - previous.start > OVERLAP
            or unit.end - previous.start > size
        ):
            break
        carried.insert(0, j)
        if previous.breaks:
            break
    return carried


def _document_title(headings: Sequence[tuple[int, int]]) -> int | None:
    """The index (in `headings`, as (position, level)) of the document's title, if any: its
    first heading, alone at the top level."""
    if len(headings) < 2:
        return None
    first_level = headings[0][1]
    if all(level > first_level for _, level in headings[1:]):
        return 0
    return None


def chunk_document(
    pages: list[str],
    *,
    paged: bool,
    headings: Iterable[tuple[int, int, int]] = (),
    size: int = CHUNK_SIZE,
) -> tuple[str, list[int], list[Span]]:
    """The document's joined text, its page offsets (empty when not paged) and its passages.
    `headings`: (page index, offset in page, level) of the heading lines the format declares;
    without any, headings are recognised by form."""
    text, offsets = join_pages(pages)
    declared: dict[int, dict[int, int]] | None = None
    for page_index, offset, level in headings:
        declared = declared if declared is not None else {}
        declared.setdefault(page_index, {})[offset] = level
    page_units = [
        _units(page, None if declared is None else declared.get(n, {}), size)
        for n, page in enumerate(pages)
    ]
    all_headings = [(u.start, u.heading) for units in page_units for u in units if u.heading]
    title_index = _document_title([(p, level) for p, level in all_headings if level])
    spans: list[Span] = []
    path: list[tuple[int, str]] = []
    title = ""
    heading_number = 0
    line_level = 0  # of the last heading line, when the format declares them
    for number, (page, base, units) in enumerate(zip(pages, offsets, page_units, strict=True)):
        page_number = number + 1 if paged else None
        sections: list[str] = []
        for unit in units:
            if unit.heading is not None:
                level = unit.heading
                if declared is not None and unit.run_in:
                    # A numbered clause opening a paragraph sits under the declared heading.
                    level = line_level + unit.heading - 1
                elif declared is not None:
                    line_level = level
                if heading_number == title_index:
                    title = unit.title
                else:
                    while path and path[-1][0] >= level:
                        path.pop()
                    path.append((level, unit.title))
                heading_number += 1
            section = SECTION_JOINER.join(t for _, t in path) if path else title
            sections.append(section[:SECTION_MAX])
        for group in _pack(units, size):
            start, end = units[group[0]].start, units[group[-1]].end
            lead = group[0]  # the section of the last of the headings a passage opens with
            while lead < group[-1] and units[lead].heading is not None and units[lead + 1].heading:
                lead += 1
            spans.append(
                Span(
                    len(spans),
                    base + start,
                    base + end,
                    page[start:end],
                    page_number,
                    page_number,
                    sections[lead],
                )
            )
    return text, (offsets if paged else []), spans
