"""local/extractive: the offline default, a deterministic retrieval agent.

It acts like a model through the tools it is given and never touches the database itself:

- first, `vault.list` (when given) to see the documents in scope, so that a prompt naming one
  ("the NDA", "the lease") searches that document only;
- then `vault.search` calls for the task's key terms and for each focus area named in the
  instructions or guidance ("focus on indemnity, liability, term, and confidentiality"), and,
  for a review naming fewer areas than it wants findings, for the clauses a reviewer checks
  first;
- last, a numbered list of findings, each quoting the best sentence of a passage verbatim and
  citing the document and page, e.g. `(NDA.pdf, p. 3)`; "top N" sets how many (default 5).

Without vault tools, or when there is nothing to find, it says plainly that it has no
documents to work from.

Given a document summary request (agentexec.llm.summary), it answers an extractive summary: the
document's most representative sentences (those whose content words recur most across it),
quoted verbatim in document order, each citing its page, e.g. `(p. 3)`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from agentexec.formatting import cite_label
from agentexec.llm import summary
from agentexec.llm.base import ModelRequest

NO_DOCUMENTS = (
    "I have no documents to work from: no document vault is in scope for this run, so I cannot "
    "review or cite anything. Upload documents to a vault and pass its id in vaultIds."
)
EMPTY_SCOPE = (
    "I have no documents to work from: the vaults in scope for this run hold no ingested "
    "documents, so I cannot review or cite anything. Upload documents, ingest them and pass "
    "the vault's id in vaultIds."
)
NOTHING_FOUND = (
    "I have no documents to work from for this task: I searched the documents in scope for "
    "{searched} and found no matching passages, so I cannot cite anything. Check that the "
    "documents are uploaded and ingested (ingestionStatus completed) and in this run's vaultIds."
)

DEFAULT_COUNT = 5
MAX_COUNT = 20
MAX_SEARCHES = 8
SEARCH_TOP_K = 5
MAX_QUOTE_CHARS = 1500  # a longer "sentence" is a table or a list run together: not quoted

_WORD = re.compile(r"[a-z0-9]+")
_ID = re.compile(r"\b(vault|obj)_[a-z0-9]{6,}\b")
_NUMBER_WORDS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "twelve": 12, "fifteen": 15, "twenty": 20,
}  # fmt: skip
_COUNT = r"(\d{1,2}|" + "|".join(_NUMBER_WORDS) + r")"
_TOP_N = (
    re.compile(r"\btop[\s-]+" + _COUNT + r"\b", re.I),
    re.compile(
        r"\b" + _COUNT + r"\s+(?:\w+\s+){0,2}?(?:issues|risks|findings|concerns|points|problems"
        r"|red flags)\b",
        re.I,
    ),
)
_FOCUS = re.compile(
    r"(?:focus(?:ing)?\s+(?:only\s+|mainly\s+|especially\s+)?on|attention\s+to|emphasis\s+on"
    r"|concentrat(?:e|ing)\s+on|especially|particularly)\s*:?\s+([^.\n;:!?]+)",
    re.I,
)
_REVIEW = re.compile(
    r"\b(issues?|risks?|review|concerns?|red flags?|problems?|redline|negotiat\w*|unfavou?rable"
    r"|one-sided|key terms|summar\w+)\b",
    re.I,
)

_STOP = frozenset(
    """
    a about above after all also an and any are as at be been before being below between
    both but by can could did do does each few for from further had has have having he her
    here how i if in into is it its itself just me more most my no nor not now of off on
    once only or other our out over own same she should so some such than that the their
    them then there these they this those through to too under until up very was we were
    what when where which while who whom why will with would you your please
    """.split()  # noqa: SIM905 - a word list reads best as text
)
# Words that describe the task rather than what to look for in the documents.
_TASK_WORDS = frozenset(
    """
    review reviews reviewing return give list identify find show tell summarize summarise
    summary provide analyze analyse analysis assess check read look top issue issues risk
    risks concern concerns finding findings point points problem problems flag flags red key
    main biggest important most document documents doc docs file files vault vaults contract
    contracts agreement agreements clause clauses provision provisions answer question cite
    citing citation citations quote quotes quoting numbered brief briefly explain each every
    first best major minor potential possible legal lawyer counsel client us our my me demo
    sample example attached provided uploaded following above below raise raised spot note
    highlight mention should need needs
    """.split()  # noqa: SIM905 - a word list reads best as text
)
_AREA_TAIL = frozenset({"clause", "clauses", "provision", "provisions", "section", "sections"})
_GENERIC_FILENAME_WORDS = frozenset(
    """
    agreement contract document file final draft copy signed version executed doc pdf docx
    md txt html v1 v2
    """.split()  # noqa: SIM905 - a word list reads best as text
)
# A reviewer's first checks, searched when a review names no areas of its own.
DEFAULT_AREAS = (
    "term",
    "confidentiality",
    "indemnity",
    "limitation of liability",
    "governing law",
    "non-solicitation",
    "residuals",
    "assignment",
    "termination",
    "remedies",
)
# More words for an area, so that a search finds the clause however it is worded.
_EXPANSIONS = (
    ("indemn", "indemnity indemnify indemnification hold harmless defend"),
    ("liabil", "liability limitation aggregate exceed liable damages"),
    ("terminat", "termination terminate notice cure breach"),
    ("term", "term years continues expiration survive"),
    ("duration", "term years continues expiration survive"),
    ("confidential", "confidential information confidentiality obligations disclose"),
    ("govern", "governing law jurisdiction courts venue"),
    ("jurisdiction", "governing law jurisdiction courts venue"),
    ("solicit", "solicit solicitation hire employees employment"),
    ("assign", "assign assignment consent successor"),
    ("residual", "residuals unaided memory"),
    ("remed", "remedies injunctive relief irreparable"),
    ("warrant", "warranty warranties disclaims"),
    ("payment", "fees payment invoice interest"),
    ("fee", "fees payment invoice interest"),
    ("rent", "rent monthly base rent late charge"),
    ("insur", "insurance insured coverage"),
    ("intellectual", "intellectual property ownership license"),
    ("data", "personal data protection security breach"),
    ("compet", "compete competition restrictive covenant"),
    ("renew", "renewal renew automatically"),
)
# "9. Indemnity", "Section 4 Term", "## 3. Rent", "## Recitals", "OFFICE LEASE": a line of its own.
_HEADING = re.compile(
    r"^(?:#{1,6}\s+\S.{1,80}|(?:[Ss]ection\s+)?\d+(?:\.\d+)*\.?\s+[A-Z][A-Za-z ,;&'/()-]{2,70}"
    r"|[A-Z][A-Z0-9 ,;&'/()-]{3,80})$"  # or a title in capitals: "MUTUAL NON-DISCLOSURE AGREEMENT"
)
_TABLE_RULE = re.compile(r"^\|?[\s:|-]+\|?$")
_CLOSED = re.compile(r"[.;:!?][\"')\]”]*$")
# A sentence ends after a word (not after "5." or "U.S."); a ";" ends a clause, not a sentence.
_SENTENCE_SPLIT = re.compile(r"(?<=[a-z0-9)\]\"'%]{2}[.!?])\s+(?=[A-Z0-9(\"'])")


def next_turn(request: ModelRequest) -> list[dict[str, Any]]:
    if summary.is_summary_request(request):
        return [_text(summarize(_first_prompt(request)))]
    tool_names = {t.name for t in request.tools}
    if "vault.search" not in tool_names:
        return [_text(NO_DOCUMENTS)]
    prompt = _first_prompt(request)
    state = _state(request.messages)
    turn = sum(1 for m in request.messages if m.get("role") == "assistant") + 1
    if not state.searched:
        if "vault.list" in tool_names and not state.listed:
            return [_tool_use(turn, 1, "vault.list", {})]
        if state.documents is not None and not state.documents:
            return [_text(EMPTY_SCOPE)]
        return _searches(turn, plan(prompt, request.system, state.documents or []))
    return [_text(_answer(prompt, request, state))]


# --- The conversation so far ------------------------------------------------------------------


@dataclass
class Document:
    id: str
    filename: str


@dataclass
class Passage:
    query: str
    rank: int
    filename: str
    text: str
    score: float
    page_start: int | None
    page_end: int | None
    object_id: str
    section: str = ""  # the clause the passage sits in, when the search result names it


@dataclass
class State:
    listed: bool = False
    documents: list[Document] | None = None  # None: not listed, or the listing failed
    searched: list[str] = field(default_factory=list)  # the queries, in order
    passages: list[Passage] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def _state(messages: list[dict[str, Any]]) -> State:
    calls: dict[str, tuple[str, dict[str, Any]]] = {}
    state = State()
    for message in messages:
        for block in message.get("content", []) if isinstance(message.get("content"), list) else []:
            if message.get("role") == "assistant" and block.get("type") == "tool_use":
                calls[str(block.get("id"))] = (str(block.get("name")), block.get("input") or {})
                state.listed = state.listed or block.get("name") == "vault.list"
                if block.get("name") == "vault.search":
                    state.searched.append(str((block.get("input") or {}).get("query", "")))
            elif message.get("role") == "user" and block.get("type") == "tool_result":
                name, input = calls.get(str(block.get("tool_use_id")), ("", {}))
                content = _content_text(block.get("content"))
                if block.get("is_error"):
                    state.errors.append(content[:200])
                elif name == "vault.list":
                    state.documents = _parse_documents(content)
                elif name == "vault.search":
                    state.passages.extend(_parse_results(str(input.get("query", "")), content))
    return state


def _parse_documents(content: str) -> list[Document]:
    data = _json(content)
    vaults = data.get("vaults") if isinstance(data, dict) else None
    documents = []
    for vault in vaults if isinstance(vaults, list) else []:
        objects = vault.get("objects") if isinstance(vault, dict) else None
        for o in objects if isinstance(objects, list) else []:
            if isinstance(o, dict) and o.get("status") == "completed":
                documents.append(Document(str(o.get("id")), str(o.get("filename") or "")))
    return documents


def _parse_results(query: str, content: str) -> list[Passage]:
    data = _json(content)
    results = data.get("results") if isinstance(data, dict) else None
    passages = []
    for rank, r in enumerate(results if isinstance(results, list) else []):
        if not isinstance(r, dict) or not r.get("text"):
            continue
        passages.append(
            Passage(
                query=query,
                rank=rank,
                filename=str(r.get("filename") or r.get("objectId") or "document"),
                text=str(r["text"]),
                score=float(r.get("score") or 0.0),
                page_start=_int_or_none(r.get("pageStart")),
                page_end=_int_or_none(r.get("pageEnd")),
                object_id=str(r.get("objectId") or ""),
                section=str(r.get("section") or ""),
            )
        )
    return passages


# --- The searches -----------------------------------------------------------------------------


@dataclass
class Plan:
    key_terms: str  # the prompt's own content words, less task words and document names
    areas: list[str]  # areas named in the instructions, guidance or prompt
    defaults: list[str]  # the reviewer's checklist, when a review names too few areas
    vault_ids: list[str] = field(default_factory=list)
    object_ids: list[str] = field(default_factory=list)

    def queries(self) -> list[str]:
        queries = [self.key_terms] if self.key_terms else []
        queries += [area_query(a) for a in self.areas + self.defaults]
        return list(dict.fromkeys(q for q in queries if q))[:MAX_SEARCHES]

    def label(self, query: str) -> str | None:
        for area in self.areas + self.defaults:
            if area_query(area) == query:
                return area
        return None


def plan(prompt: str, system: str, documents: list[Document]) -> Plan:
    ids = [m.group(0) for m in _ID.finditer(prompt)]
    asked = set(_words(prompt))
    named = [d for d in documents if asked & _filename_words(d.filename)]
    named_words = set().union(*(_filename_words(d.filename) for d in named)) if named else set()
    words = [w for w in _words(_ID.sub(" ", prompt)) if _is_content(w) and w not in named_words]
    areas = focus_areas(f"{system}\n{prompt}")
    count = wanted_count(prompt, system)
    defaults: list[str] = []
    if _REVIEW.search(prompt) and len(areas) < count:
        defaults = [a for a in DEFAULT_AREAS if a not in areas]
    object_ids = [i for i in ids if i.startswith("obj_")] or [d.id for d in named]
    return Plan(
        key_terms=" ".join(dict.fromkeys(words)),
        areas=areas,
        defaults=defaults,
        vault_ids=[i for i in ids if i.startswith("vault_")],
        object_ids=object_ids,
    )


def focus_areas(text: str) -> list[str]:
    """The areas named after "focus on", "attention to", "especially" ..., in order."""
    areas: list[str] = []
    for match in _FOCUS.finditer(text):
        for part in re.split(r",|\band\b|\bor\b|&|/|\bas well as\b", match.group(1), flags=re.I):
            tokens = [t.strip("\"'()[]").lower() for t in part.split()]
            tokens = [t for t in tokens if t]
            while tokens and tokens[0] in _STOP:
                tokens.pop(0)
            while tokens and tokens[-1] in _AREA_TAIL:
                tokens.pop()
            area = " ".join(tokens)
            if area and any(_is_content(w) for w in _words(area)) and area not in areas:
                areas.append(area)
    return areas[:MAX_SEARCHES]


def requested_count(prompt: str, system: str = "") -> int | None:
    """The N of "top N" (or "5 issues") in the prompt, else in the instructions."""
    for text in (prompt, system):
        for pattern in _TOP_N:
            match = pattern.search(text)
            if match:
                raw = match.group(1).lower()
                count = int(raw) if raw.isdigit() else _NUMBER_WORDS[raw]
                return max(1, min(count, MAX_COUNT))
    return None


def wanted_count(prompt: str, system: str = "") -> int:
    return requested_count(prompt, system) or DEFAULT_COUNT


def area_query(area: str) -> str:
    words = _words(area)
    extra = [exp for key, exp in _EXPANSIONS if any(key in w for w in words)]
    return " ".join(dict.fromkeys([*words, *" ".join(extra[:1]).split()]))


def _searches(turn: int, p: Plan) -> list[dict[str, Any]]:
    scope: dict[str, Any] = {}
    if p.vault_ids:
        scope["vaultIds"] = p.vault_ids
    if p.object_ids:
        scope["objectIds"] = p.object_ids
    queries = p.queries() or ["agreement"]
    return [
        _tool_use(turn, i, "vault.search", {"query": q, "topK": SEARCH_TOP_K, **scope})
        for i, q in enumerate(queries, start=1)
    ]


# --- The answer -------------------------------------------------------------------------------


@dataclass
class Finding:
    label: str
    quote: str
    citation: str
    filename: str


def _answer(prompt: str, request: ModelRequest, state: State) -> str:
    p = plan(prompt, request.system, state.documents or [])
    passages = state.passages
    if not passages:
        searched = "; ".join(p.label(q) or q for q in state.searched) or "the task's terms"
        text = NOTHING_FOUND.format(searched=searched)
        errors = f"\n\nThe searches reported: {'; '.join(state.errors)}" if state.errors else ""
        return text + errors
    count = wanted_count(prompt, request.system)
    findings = choose(passages, p, count)
    documents = _join(sorted({f.filename for f in findings}))
    if requested_count(prompt, request.system) or _REVIEW.search(prompt):
        heading = f"Top {len(findings)} findings from {documents}, each quoted from the document:"
    else:
        heading = f"The passages of {documents} that best answer this, quoted:"
    lines = [heading, ""]
    lines += [f"{n}. {f.label}: {_quoted(f.quote)} {f.citation}" for n, f in enumerate(findings, 1)]
    searched = "; ".join(p.label(q) or q for q in state.searched)
    lines += [
        "",
        f"Searched for: {searched}. Quotations are verbatim passages found by local/extractive, "
        "an offline retrieval model; they are not legal advice.",
    ]
    if state.errors:
        lines.append(f"Some tool calls failed: {'; '.join(state.errors)}")
    return "\n".join(lines)


def choose(passages: list[Passage], p: Plan, count: int) -> list[Finding]:
    """One finding per named area in order, then the task's own terms, then the best of the
    reviewer's checklist by score; never the same quotation twice."""
    by_query: dict[str, list[Passage]] = {}
    for x in passages:
        by_query.setdefault(x.query, []).append(x)
    findings: list[Finding] = []
    seen: list[str] = []  # the quotations so far, as compared: one passage is quoted once

    per_document: dict[str, int] = {}
    spread = not p.object_ids  # no document named: the findings span the documents in scope

    def order(c: Passage) -> tuple[int, int, float]:
        return (per_document.get(c.filename, 0) if spread else 0, c.rank, -c.score)

    def take(candidates: list[Passage], label: str | None, many: bool = False) -> None:
        for x in sorted(candidates, key=order):
            if len(findings) >= count:
                return
            finding = _finding(x, label)
            if finding is None:
                continue
            key = _compared(finding.quote)
            if any(key in other or other in key for other in seen):
                continue
            seen.append(key)
            findings.append(finding)
            per_document[x.filename] = per_document.get(x.filename, 0) + 1
            if not many:
                return

    for area in p.areas:
        take(by_query.get(area_query(area), []), area)
    take(by_query.get(p.key_terms, []), None, many=True)
    rest = sorted(
        (area_query(a) for a in p.defaults if area_query(a) in by_query),
        key=lambda q: -max(x.score for x in by_query[q]),
    )
    for query in rest:
        take(by_query[query], p.label(query))
    take(sorted(passages, key=lambda x: -x.score), None, many=True)
    return findings


def _finding(x: Passage, label: str | None) -> Finding | None:
    """The passage's best whole sentence for its query: never a heading, never a piece of a
    sentence cut at the passage's start or end; labelled with the clause it comes from."""
    sentences = _sentences(x.text)
    stems = {_stem(w) for w in _words(x.query) if _is_content(w)}
    best, best_hits, heading = None, 0, None
    current_heading = None
    for position, sentence in enumerate(sentences):
        if _HEADING.match(sentence):
            current_heading = sentence
            continue
        if not _whole(sentence, first=position == 0, last=position == len(sentences) - 1):
            continue
        hits = len(stems & {_stem(w) for w in _words(sentence)})
        if hits > best_hits:
            best, best_hits, heading = sentence, hits, current_heading
    if best is None:
        return None
    heading = heading or x.section  # in the passage before the sentence, else as the search says
    name = _heading_name(heading) if heading else None
    return Finding(
        label=_label(name or label or "Relevant passage"),
        quote=best,
        citation=_citation(x),
        filename=x.filename,
    )


def _whole(sentence: str, *, first: bool, last: bool) -> bool:
    """Whether a sentence is whole as far as the passage shows: the first one of a passage
    may be the tail of a sentence cut at the passage's start (it starts lower-case, or with
    punctuation), the last one the head of a sentence cut at its end (no closing punctuation)."""
    if len(sentence) > MAX_QUOTE_CHARS:
        return False
    if first and not (sentence[:1].isupper() or sentence[:1].isdigit() or sentence[:1] in "\"'(“"):
        return False
    return not (last and not _CLOSED.search(sentence))


def _sentences(text: str) -> list[str]:
    """Sentences of a passage, whitespace collapsed; a heading on a line of its own is a
    sentence of its own."""
    lines = [line.strip() for line in text.splitlines() if not _TABLE_RULE.match(line.strip())]
    marked = "\n".join(f"\n\n{line}\n\n" if _HEADING.match(line) else line for line in lines)
    sentences: list[str] = []
    for block in re.split(r"\n{2,}", marked):
        flat = " ".join(block.split())
        if _HEADING.match(flat):
            sentences.append(flat)
        elif flat:
            sentences.extend(s for s in _SENTENCE_SPLIT.split(flat) if s)
    return sentences


def _heading_name(heading: str) -> str:
    heading = heading.split(" > ")[-1].lstrip("#").strip()  # a section path names its last part
    return re.sub(r"^(?:section\s+)?\d+(?:\.\d+)*\.?\s+", "", heading, flags=re.I).strip()


def _label(text: str) -> str:
    text = text.strip()
    return text[:1].upper() + text[1:]


def _quoted(quote: str) -> str:
    """In straight double quotes; in curly ones when the sentence has straight ones itself
    (a defined term), so a reader (and the quotation check) sees where the quotation ends."""
    return f"\u201c{quote}\u201d" if '"' in quote else f'"{quote}"'


def _compared(quote: str) -> str:
    return " ".join(_words(quote))


def _citation(x: Passage) -> str:
    return f"({cite_label(x.filename, x.page_start, x.page_end)})"


# --- Helpers ----------------------------------------------------------------------------------


def _text(text: str) -> dict[str, Any]:
    return {"type": "text", "text": text}


def _tool_use(turn: int, index: int, name: str, input: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "tool_use",
        "id": f"toolu_extractive_{turn}_{index}",
        "name": name,
        "input": input,
    }


def _json(content: str) -> Any:
    try:
        return json.loads(content)
    except (json.JSONDecodeError, ValueError):
        return None


def _content_text(content: Any) -> str:
    if isinstance(content, list):  # a list of text blocks
        return "".join(str(b.get("text", "")) for b in content if isinstance(b, dict))
    return str(content or "")


def _filename_words(filename: str) -> set[str]:
    stem = filename.rsplit(".", 1)[0] if "." in filename else filename
    return {w for w in _words(stem) if len(w) >= 3 and w not in _GENERIC_FILENAME_WORDS}


def _first_prompt(request: ModelRequest) -> str:
    for message in request.messages[:1]:
        for block in message.get("content", []):
            if block.get("type") == "text":
                return str(block.get("text", ""))
    return ""


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def _is_content(word: str) -> bool:
    return (
        len(word) > 1
        and word not in _STOP
        and word not in _TASK_WORDS
        and not word.isdigit()
        and word not in _NUMBER_WORDS
    )


_SUFFIXES = ("ations", "ation", "ments", "ment", "ities", "ity", "ings", "ing", "ies", "ed", "s")


def _stem(word: str) -> str:
    """Crude, but enough to match indemnity/indemnify, payment/pay, years/year or
    govern/governing within a passage the search engine already found."""
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)]
            break
    return word[:5]


def _int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _join(items: list[str]) -> str:
    items = [i for i in items if i]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + f" and {items[-1]}"


# --- Document summaries -----------------------------------------------------------------------

SUMMARY_POINTS_MAX = 10
SUMMARY_MIN_WORDS = 6
NOTHING_TO_SUMMARIZE = "The document has no text to summarize."


@dataclass(frozen=True)
class _Sentence:
    page: int
    position: int
    text: str
    stems: frozenset[str]


def summarize(message: str) -> str:
    """An extractive summary of a summary request's document (see the module docstring):
    deterministic, every point quoted from the document with its page."""
    title = message.split("\n", 1)[0].removeprefix("Summarize this document:").strip()
    sentences = [
        _Sentence(page, position, text, frozenset(stems))
        for page, body in summary.document_pages(message)
        for position, text in enumerate(_sentences(body))
        if not _HEADING.match(text)
        and len(words := _words(text)) >= SUMMARY_MIN_WORDS
        and (stems := {_stem(w) for w in words if _is_content(w)})
    ]
    if not sentences:
        return NOTHING_TO_SUMMARIZE
    counts: dict[str, int] = {}
    for sentence in sentences:
        for stem in sentence.stems:
            counts[stem] = counts.get(stem, 0) + 1

    def weight(x: _Sentence) -> float:
        return sum(counts[s] for s in x.stems) / len(x.stems) ** 0.5

    wanted = min(SUMMARY_POINTS_MAX, max(3, len(sentences) // 8))
    chosen: list[_Sentence] = []
    for candidate in sorted(sentences, key=lambda x: (-weight(x), x.page, x.position)):
        if all(len(candidate.stems & c.stems) < 0.6 * len(candidate.stems) for c in chosen):
            chosen.append(candidate)
        if len(chosen) == wanted:
            break
    chosen.sort(key=lambda x: (x.page, x.position))
    points = "\n".join(f"- {x.text} (p. {x.page})" for x in chosen)
    return (
        f"Summary of {title} (extractive: its {len(chosen)} most representative sentences, "
        f"quoted in document order):\n\n{points}"
    )
