"""Host tools for legal research over CourtListener (Free Law Project).

legal-research.search     case-law opinions matching a query, optionally by court, jurisdiction
                          and filing dates.
legal-research.citations  the citations in a text (extracted locally with eyecite), resolved
                          against CourtListener's citation lookup to say which are real.

Both need COURTLISTENER_API_TOKEN; without it they are listed as unavailable. Importing this
module registers them (the app's AppConfig.ready() imports it).
"""

from __future__ import annotations

import datetime
import html
import re
from typing import Any

import courts_db
from eyecite import get_citations, resolve_citations
from eyecite.models import (
    CitationBase,
    FullCaseCitation,
    FullJournalCitation,
    FullLawCitation,
    IdCitation,
    ShortCaseCitation,
    SupraCitation,
)

from agentexec.tools import courtlistener
from agentexec.tools.registry import Tool, ToolContext, ToolError, ToolResult, register

SERVICE = "courtlistener"
MAX_TOP_K = 20
DEFAULT_TOP_K = 5
MAX_TEXT_CHARS = 64_000  # CourtListener's citation-lookup limit
MAX_LOOKUPS = 250  # CourtListener looks up at most this many citations per request
SNIPPET_CHARS = 500


def unavailable_reason() -> str | None:
    if courtlistener.token():
        return None
    return "legal research needs a CourtListener API token: set COURTLISTENER_API_TOKEN"


# --- legal-research.search -------------------------------------------------------------------

SEARCH_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "query": {
            "type": "string",
            "description": "What to look for in case-law opinions; CourtListener operators work "
            '(quoted phrases, AND/OR/NOT, fields such as caseName:"...").',
        },
        "court": {
            "type": "string",
            "description": "CourtListener court ids, separated by spaces or commas, e.g. "
            "'scotus', 'ca9 cand', 'cal calctapp'.",
        },
        "jurisdiction": {
            "type": "string",
            "description": "'federal' or a US state or territory name such as 'california' or "
            "'new york'. Ignored when court is given.",
        },
        "dateFrom": {"type": "string", "description": "Filed on or after (YYYY-MM-DD)."},
        "dateTo": {"type": "string", "description": "Filed on or before (YYYY-MM-DD)."},
        "topK": {
            "type": "integer",
            "minimum": 1,
            "maximum": MAX_TOP_K,
            "description": f"How many opinions to return (default {DEFAULT_TOP_K}).",
        },
    },
    "required": ["query"],
    "additionalProperties": False,
}

# Trial and appellate courts only: a jurisdiction search should not wade through bankruptcy
# courts, attorneys general and the like.
_COURT_TYPES = {"appellate", "trial"}


def _courts_of(jurisdiction: str) -> list[str]:
    """CourtListener court ids for a jurisdiction, from Free Law Project's courts-db."""
    wanted = " ".join(jurisdiction.lower().replace("-", " ").split())
    if wanted in ("federal", "us federal", "united states"):
        return sorted(
            c["id"]
            for c in courts_db.courts
            if c.get("system") == "federal" and c.get("type") in _COURT_TYPES
        )
    return sorted(
        c["id"]
        for c in courts_db.courts
        if c.get("system") == "state"
        and (c.get("location") or "").lower() == wanted
        and c.get("type") in _COURT_TYPES
    )


def _date(input: dict[str, Any], field: str) -> str | None:
    value = input.get(field)
    if value in (None, ""):
        return None
    try:
        return datetime.date.fromisoformat(str(value)).isoformat()
    except ValueError as exc:
        raise ToolError(f"{field} must be a date as YYYY-MM-DD (got {value!r})") from exc


def search_params(input: dict[str, Any]) -> tuple[dict[str, str], int]:
    """The CourtListener query parameters for the tool's input, and topK; ToolError if bad."""
    query = input.get("query")
    if not isinstance(query, str) or not query.strip():
        raise ToolError("query is required: the words to search case law for")
    top_k = input.get("topK", DEFAULT_TOP_K)
    if not isinstance(top_k, int) or isinstance(top_k, bool) or not 1 <= top_k <= MAX_TOP_K:
        raise ToolError(f"topK must be a whole number from 1 to {MAX_TOP_K}")
    params = {"q": query.strip()}
    court = input.get("court")
    jurisdiction = input.get("jurisdiction")
    if court not in (None, ""):
        if not isinstance(court, str):
            raise ToolError("court must be a string of CourtListener court ids")
        params["court"] = " ".join(re.split(r"[\s,]+", court.strip().lower()))
    elif jurisdiction not in (None, ""):
        courts = _courts_of(str(jurisdiction))
        if not courts:
            raise ToolError(
                f"unknown jurisdiction {jurisdiction!r}: use 'federal' or a US state name, "
                "or give court ids in court"
            )
        params["court"] = " ".join(courts)
    date_from, date_to = _date(input, "dateFrom"), _date(input, "dateTo")
    if date_from and date_to and date_from > date_to:
        raise ToolError("dateFrom is after dateTo")
    if date_from:
        params["filed_after"] = date_from
    if date_to:
        params["filed_before"] = date_to
    return params, top_k


def _plain(snippet: Any) -> str:
    """A search snippet without the highlighting markup, whitespace collapsed."""
    text = html.unescape(re.sub(r"<[^>]+>", "", str(snippet or "")))
    text = " ".join(text.split())
    return text if len(text) <= SNIPPET_CHARS else text[: SNIPPET_CHARS - 1] + "…"


def opinion(result: dict[str, Any]) -> dict[str, Any]:
    opinions = result.get("opinions") or []
    snippet = next(
        (o.get("snippet") for o in opinions if isinstance(o, dict) and o.get("snippet")), ""
    )
    return {
        "caseName": result.get("caseName") or result.get("caseNameFull") or "",
        "court": result.get("court") or "",
        "courtId": result.get("court_id") or "",
        "dateFiled": result.get("dateFiled"),
        "citations": [str(c) for c in result.get("citation") or []],
        "snippet": _plain(snippet),
        "url": courtlistener.site_url(str(result.get("absolute_url") or "")),
    }


def search(ctx: ToolContext, input: dict[str, Any]) -> ToolResult:
    params, top_k = search_params(input)
    try:
        reply = courtlistener.search_opinions(params)
    except courtlistener.CourtListenerError as exc:
        return _failed(str(exc), "/search/", "GET", exc.status_code)
    data = reply.data if isinstance(reply.data, dict) else {}
    results = [r for r in data.get("results") or [] if isinstance(r, dict)][:top_k]
    return ToolResult(
        content={
            "query": params["q"],
            "count": data.get("count"),
            "results": [opinion(r) for r in results],
        },
        service=SERVICE,
        endpoint=reply.endpoint,
        method=reply.method,
        status_code=reply.status_code,
    )


# --- legal-research.citations ----------------------------------------------------------------

CITATIONS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "text": {
            "type": "string",
            "description": "Text to find legal citations in (a brief, a memo, a draft answer).",
        },
        "resolve": {
            "type": "boolean",
            "description": "Look the case citations up on CourtListener to report which exist "
            "(default true).",
        },
    },
    "required": ["text"],
    "additionalProperties": False,
}

_KINDS: list[tuple[type[CitationBase], str]] = [
    (FullCaseCitation, "case"),
    (ShortCaseCitation, "shortCase"),
    (SupraCitation, "supra"),
    (IdCitation, "id"),
    (FullLawCitation, "law"),
    (FullJournalCitation, "journal"),
]


def _kind(citation: CitationBase) -> str:
    return next((name for cls, name in _KINDS if isinstance(citation, cls)), "other")


def extract(text: str) -> list[dict[str, Any]]:
    """Every citation eyecite finds, with the full citation each short form refers to.

    Year and party names are left out: eyecite can attach them to the wrong one of two nearby
    citations (freelawproject/eyecite#321); CourtListener's lookup gives the real ones.
    """
    citations = get_citations(text)
    refers_to: dict[int, str] = {}
    for resource, members in resolve_citations(citations).items():
        full = getattr(resource, "citation", None)
        if full is None:
            continue
        for member in members:
            if member is not full:
                refers_to[id(member)] = full.corrected_citation()
    out = []
    for citation in citations:
        start, end = citation.span()
        pin = getattr(citation.metadata, "pin_cite", None)
        item: dict[str, Any] = {
            "text": citation.matched_text(),
            "normalized": citation.corrected_citation(),
            "type": _kind(citation),
            "span": {"start": start, "end": end},
            "pinCite": pin,
            "refersTo": refers_to.get(id(citation)),
        }
        item.update({k: v for k, v in citation.groups.items() if v})
        out.append(item)
    return out


def _match(cluster: dict[str, Any]) -> dict[str, Any]:
    cites = []
    for c in cluster.get("citations") or []:
        if isinstance(c, dict) and c.get("volume") and c.get("reporter") and c.get("page"):
            cites.append(f"{c['volume']} {c['reporter']} {c['page']}")
    return {
        "caseName": cluster.get("case_name") or cluster.get("case_name_full") or "",
        "dateFiled": cluster.get("date_filed"),
        "citations": cites,
        "url": courtlistener.site_url(str(cluster.get("absolute_url") or "")),
    }


def _lookup(found: list[dict[str, Any]]) -> courtlistener.Reply | None:
    """Resolve the full case citations in one call; marks each with found/status/matches."""
    cases = [c for c in found if c["type"] == "case"]
    wanted = list(dict.fromkeys(c["normalized"] for c in cases))[:MAX_LOOKUPS]
    if not wanted:
        return None
    reply = courtlistener.citation_lookup("\n".join(wanted))
    answers: dict[str, dict[str, Any]] = {}
    for answer in reply.data if isinstance(reply.data, list) else []:
        if not isinstance(answer, dict):
            continue
        for name in [answer.get("citation"), *(answer.get("normalized_citations") or [])]:
            if isinstance(name, str):
                answers.setdefault(name, answer)
    for case in cases:
        answer = answers.get(case["normalized"]) or answers.get(case["text"])
        if answer is None:
            case.update(found=None, status=None, matches=[])
            continue
        clusters = [c for c in answer.get("clusters") or [] if isinstance(c, dict)]
        case.update(
            found=answer.get("status") in (200, 300) and bool(clusters),
            status=answer.get("status"),
            matches=[_match(c) for c in clusters],
        )
        if answer.get("error_message"):
            case["error"] = answer["error_message"]
    return reply


def citations(ctx: ToolContext, input: dict[str, Any]) -> ToolResult:
    text = input.get("text")
    if not isinstance(text, str) or not text.strip():
        raise ToolError("text is required: the text to find citations in")
    if len(text) > MAX_TEXT_CHARS:
        raise ToolError(f"text is too long: at most {MAX_TEXT_CHARS} characters")
    resolve = input.get("resolve", True)
    if not isinstance(resolve, bool):
        raise ToolError("resolve must be true or false")
    found = extract(text)
    reply = None
    note = None
    if resolve and not courtlistener.token():
        note = "not looked up: COURTLISTENER_API_TOKEN is not set"
    elif resolve:
        try:
            reply = _lookup(found)
        except courtlistener.CourtListenerError as exc:
            return _failed(str(exc), "/citation-lookup/", "POST", exc.status_code)
    cases = [c for c in found if c["type"] == "case"]
    content: dict[str, Any] = {
        "citations": found,
        "resolved": reply is not None,
        "summary": {
            "total": len(found),
            "cases": len(cases),
            "found": sum(1 for c in cases if c.get("found") is True),
            "notFound": sum(1 for c in cases if c.get("found") is False),
        },
    }
    if note:
        content["note"] = note
    return ToolResult(
        content=content,
        service=SERVICE if reply else "",
        endpoint=reply.endpoint if reply else "",
        method=reply.method if reply else "",
        status_code=reply.status_code if reply else None,
    )


def _failed(message: str, endpoint: str, method: str, status_code: int | None) -> ToolResult:
    return ToolResult(
        content=message,
        is_error=True,
        service=SERVICE,
        endpoint=endpoint,
        method=method,
        status_code=status_code,
    )


register(
    Tool(
        name="legal-research.search",
        description="Search US case law (court opinions) on CourtListener. Returns case name, "
        "court, date filed, citations, a snippet and a link for each opinion.",
        input_schema=SEARCH_SCHEMA,
        location="host",
        handler=search,
        unavailable_reason=unavailable_reason,
    )
)
register(
    Tool(
        name="legal-research.citations",
        description="Find the legal citations in a text (cases, statutes, id./supra/short "
        "forms) and check each case citation against CourtListener, reporting which exist.",
        input_schema=CITATIONS_SCHEMA,
        location="host",
        handler=citations,
        unavailable_reason=unavailable_reason,
    )
)
