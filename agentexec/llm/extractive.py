"""local/extractive: the offline default, a deterministic retrieval agent.

It acts like a model through the tools it is given and never touches the database itself:

- turn 1: `vault.search` calls for the task's key terms and for each focus area named in the
  instructions or guidance ("focus on indemnity, liability, term, and confidentiality"), or,
  for a review with no areas named, for the clauses a reviewer checks first;
- then: a numbered list of findings, each quoting the passage verbatim and citing the document
  and page, e.g. `(NDA.pdf, p. 3)`; "top N" in the prompt sets how many (default 5).

Without vault tools, or when the searches find nothing, it says plainly that it has no
documents to work from.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from agentexec.llm.base import ModelRequest

NO_DOCUMENTS = (
    "I have no documents to work from: no document vault is in scope for this run, so I cannot "
    "review or cite anything. Upload documents to a vault and pass its id in vaultIds."
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
QUOTE_CHARS = 360

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
    """a about above after all also an and any are as at be been before being below between both
    but by can could did do does each few for from further had has have having he her here how
    i if in into is it its itself just me more most my no nor not now of off on once only or
    other our out over own same she should so some such than that the their them then there
    these they this those through to too under until up very was we were what when where which
    while who whom why will with would you your please""".split()
)
# Words that describe the task rather than what to look for in the documents.
_TASK_WORDS = frozenset(
    """review reviews reviewing return give list identify find show tell summarize summarise
    summary provide analyze analyse analysis assess check read look top issue issues risk risks
    concern concerns finding findings point points problem problems flag flags red key main
    biggest important most document documents doc docs file files vault vaults contract
    contracts agreement agreements clause clauses provision provisions answer question cite
    citing citation citations quote quotes quoting numbered brief briefly explain each every
    first best major minor potential possible legal lawyer counsel client us our my me""".split()
)
_AREA_TAIL = frozenset({"clause", "clauses", "provision", "provisions", "section", "sections"})
_GENERIC_FILENAME_WORDS = frozenset(
    "agreement contract document file final draft copy signed version executed doc pdf docx md "
    "txt html v1 v2".split()
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
_HEADING = re.compile(r"^(?:section\s+)?\d+(?:\.\d+)*\.?\s+[A-Z][A-Za-z ,;&'/()-]{2,70}$")
# A sentence ends after a word (not after "5." or "U.S."), or at a blank line.
_SENTENCE_SPLIT = re.compile(r"(?<=[a-z0-9)\]\"'%]{2}[.;!?])\s+(?=[A-Z0-9(\"'])")


def next_turn(request: ModelRequest) -> list[dict[str, Any]]:
    tool_names = {t.name for t in request.tools}
    if "vault.search" not in tool_names:
        return [_text(NO_DOCUMENTS)]
    prompt = _first_prompt(request)
    turn = sum(1 for m in request.messages if m.get("role") == "assistant")
    if turn == 0:
        return _searches(prompt, request.system)
    return [_text(_answer(prompt, request))]


# --- Turn 1: the searches ---------------------------------------------------------------------


@dataclass
class Plan:
    key_terms: str
    areas: list[str]  # areas named in the instructions, guidance or prompt
    defaults: list[str]  # reviewer's checklist, when a review names too few areas
    vault_ids: list[str] = field(default_factory=list)
    object_ids: list[str] = field(default_factory=list)


def plan(prompt: str, system: str) -> Plan:
    words = [w for w in _words(_ID.sub(" ", prompt)) if _is_content(w)]
    key_terms = " ".join(dict.fromkeys(words))
    areas = focus_areas(f"{system}\n{prompt}")
    defaults: list[str] = []
    if _REVIEW.search(prompt) and len(areas) < wanted_count(prompt, system):
        defaults = [a for a in DEFAULT_AREAS if a not in areas]
    ids = _ID.finditer(prompt)
    found = [m.group(0) for m in ids]
    return Plan(
        key_terms=key_terms,
        areas=areas,
        defaults=defaults,
        vault_ids=[i for i in found if i.startswith("vault_")],
        object_ids=[i for i in found if i.startswith("obj_")],
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


def wanted_count(prompt: str, system: str = "") -> int:
    for text in (prompt, system):
        for pattern in _TOP_N:
            match = pattern.search(text)
            if match:
                raw = match.group(1).lower()
                count = int(raw) if raw.isdigit() else _NUMBER_WORDS[raw]
                return max(1, min(count, MAX_COUNT))
    return DEFAULT_COUNT


def area_query(area: str) -> str:
    words = _words(area)
    extra = [exp for key, exp in _EXPANSIONS if any(key in w for w in words)]
    return " ".join(dict.fromkeys([*words, *" ".join(extra[:1]).split()]))


def _searches(prompt: str, system: str) -> list[dict[str, Any]]:
    p = plan(prompt, system)
    queries = [p.key_terms] if p.key_terms else []
    queries += [area_query(a) for a in p.areas + p.defaults]
    queries = list(dict.fromkeys(q for q in queries if q))[:MAX_SEARCHES]
    if not queries:
        queries = [prompt[:500] or "agreement"]
    scope: dict[str, Any] = {}
    if p.vault_ids:
        scope["vaultIds"] = p.vault_ids
    if p.object_ids:
        scope["objectIds"] = p.object_ids
    return [
        {
            "type": "tool_use",
            "id": f"toolu_extractive_1_{i}",
            "name": "vault.search",
            "input": {"query": q, "topK": SEARCH_TOP_K, **scope},
        }
        for i, q in enumerate(queries, start=1)
    ]


# --- Final turn: the findings -----------------------------------------------------------------


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


@dataclass
class Finding:
    label: str
    quote: str
    citation: str
    filename: str


def _answer(prompt: str, request: ModelRequest) -> str:
    searched, passages, errors = _results(request.messages)
    p = plan(prompt, request.system)
    count = wanted_count(prompt, request.system)
    passages = _prefer_named_documents(prompt, passages)
    if not passages:
        text = NOTHING_FOUND.format(searched="; ".join(searched) or "the task's terms")
        return text + (f"\n\nThe searches reported: {'; '.join(errors)}" if errors else "")
    findings = choose(passages, p, count)
    documents = sorted({f.filename for f in findings})
    heading = (
        f"Top {len(findings)} findings from {_join(documents)}, each quoted from the document:"
    )
    lines = [heading, ""]
    for n, f in enumerate(findings, start=1):
        lines.append(f'{n}. {f.label}: "{f.quote}" {f.citation}')
    lines += [
        "",
        f"Searched for: {'; '.join(_area_label(q, p) or q for q in searched)}. Quotations are "
        "verbatim passages found by "
        "local/extractive, an offline retrieval model; they are not legal advice.",
    ]
    if errors:
        lines.append(f"Some searches failed: {'; '.join(errors)}")
    return "\n".join(lines)


def _results(messages: list[dict[str, Any]]) -> tuple[list[str], list[Passage], list[str]]:
    queries: dict[str, str] = {}
    for message in messages:
        if message.get("role") != "assistant":
            continue
        for block in message.get("content", []):
            if block.get("type") == "tool_use" and block.get("name") == "vault.search":
                queries[str(block.get("id"))] = str((block.get("input") or {}).get("query", ""))
    passages: list[Passage] = []
    errors: list[str] = []
    for message in messages:
        if message.get("role") != "user":
            continue
        for block in message.get("content", []):
            if block.get("type") != "tool_result" or block.get("tool_use_id") not in queries:
                continue
            query = queries[block["tool_use_id"]]
            content = _content_text(block.get("content"))
            if block.get("is_error"):
                errors.append(content[:200])
                continue
            passages.extend(_parse_results(query, content))
    return list(queries.values()), passages, errors


def _content_text(content: Any) -> str:
    if isinstance(content, list):  # a list of text blocks
        return "".join(str(b.get("text", "")) for b in content if isinstance(b, dict))
    return str(content or "")


def _parse_results(query: str, content: str) -> list[Passage]:
    try:
        data = json.loads(content)
    except (json.JSONDecodeError, ValueError):
        return []
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
            )
        )
    return passages


def _prefer_named_documents(prompt: str, passages: list[Passage]) -> list[Passage]:
    """When the prompt names a document ("the NDA", "the lease"), keep only its passages."""
    asked = set(_words(prompt))
    named = [
        x
        for x in passages
        if asked & {w for w in _words(x.filename) if w not in _GENERIC_FILENAME_WORDS}
    ]
    return named or passages


def choose(passages: list[Passage], p: Plan, count: int) -> list[Finding]:
    """One finding per named area in order, then the best of the rest by score; never the same
    quotation twice."""
    by_query: dict[str, list[Passage]] = {}
    for x in passages:
        by_query.setdefault(x.query, []).append(x)
    named = [area_query(a) for a in p.areas]
    findings: list[Finding] = []
    seen: set[str] = set()

    def take(candidates: list[Passage], label: str | None) -> bool:
        for x in sorted(candidates, key=lambda c: (c.rank, -c.score)):
            finding = _finding(x, label)
            if finding is not None and finding.quote not in seen:
                seen.add(finding.quote)
                findings.append(finding)
                return True
        return False

    for area, query in zip(p.areas, named, strict=True):
        if len(findings) < count:
            take(by_query.get(query, []), area)
    # Then the reviewer's checklist, strongest matches first; the task's own terms last, as
    # they mostly find the parties and the preamble.
    rest = sorted(
        (q for q in by_query if q not in named and q != p.key_terms),
        key=lambda q: -max(x.score for x in by_query[q]),
    )
    for query in [*rest, p.key_terms]:
        if len(findings) < count:
            take(by_query.get(query, []), _area_label(query, p))
    for x in sorted(passages, key=lambda x: -x.score):
        if len(findings) < count:
            take([x], None)
    return findings


def _area_label(query: str, p: Plan) -> str | None:
    for area in p.areas + p.defaults:
        if area_query(area) == query:
            return area
    return None


def _finding(x: Passage, label: str | None) -> Finding | None:
    sentences = _sentences(x.text)
    stems = {_stem(w) for w in _words(x.query) if _is_content(w)}
    best, best_hits, heading = None, 0, None
    current_heading = None
    for sentence in sentences:
        if _HEADING.match(sentence):
            current_heading = sentence
            continue
        hits = len(stems & {_stem(w) for w in _words(sentence)})
        if hits > best_hits:
            best, best_hits, heading = sentence, hits, current_heading
    if best is None:
        return None
    name = _heading_name(heading) if heading else None
    return Finding(
        label=_label(name or label or "Relevant passage"),
        quote=_clip(best),
        citation=_citation(x),
        filename=x.filename,
    )


def _sentences(text: str) -> list[str]:
    """Sentences of a passage, whitespace collapsed; a heading on a line of its own is a
    sentence of its own."""
    lines = [line.strip() for line in text.splitlines()]
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
    return re.sub(r"^(?:section\s+)?\d+(?:\.\d+)*\.?\s+", "", heading, flags=re.I).strip()


def _label(text: str) -> str:
    text = text.strip()
    return text[:1].upper() + text[1:]


def _clip(sentence: str) -> str:
    if len(sentence) <= QUOTE_CHARS:
        return sentence
    cut = sentence.rfind(" ", 0, QUOTE_CHARS)
    return sentence[: cut if cut > 0 else QUOTE_CHARS].rstrip(",;: ") + " ..."


def _citation(x: Passage) -> str:
    if x.page_start is None:
        return f"({x.filename})"
    if x.page_end is None or x.page_end == x.page_start:
        return f"({x.filename}, p. {x.page_start})"
    return f"({x.filename}, pp. {x.page_start}-{x.page_end})"


# --- Helpers ----------------------------------------------------------------------------------


def _text(text: str) -> dict[str, Any]:
    return {"type": "text", "text": text}


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


def _stem(word: str) -> str:
    # Crude, but enough to match indemnity/indemnify and govern/governing within a passage.
    return word[:5]


def _int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _join(items: list[str]) -> str:
    items = [i for i in items if i]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + f" and {items[-1]}"
