"""The wire form of a run's citations: `citations` and `grounding` in execute responses and
run details (added fields; a client that does not know them ignores them)."""

from __future__ import annotations

from typing import Any

from runs.models import Citation, CitationStatus, Run

_COUNT_KEYS = {
    CitationStatus.VERIFIED: "verified",
    CitationStatus.ALTERED: "altered",
    CitationStatus.NOT_FOUND: "notFound",
}


def citation_output(citation: Citation) -> dict[str, Any]:
    altered = citation.status == CitationStatus.ALTERED
    return {
        "quote": citation.quote,
        "status": citation.status,
        "objectId": citation.object_id,
        "vaultId": citation.vault_id or None,
        "filename": citation.filename or None,
        "pageStart": citation.page_start,
        "pageEnd": citation.page_end,
        "section": citation.section or None,
        "charStart": citation.char_start,
        "charEnd": citation.char_end,
        "matchedText": citation.matched_text if altered else None,
        "similarity": citation.similarity,
        "diff": citation.diff if altered else None,
    }


def grounding_output(citations: list[Citation]) -> dict[str, int]:
    """How many quotations the output has, and how many of each status."""
    counts = {"quotes": len(citations), "verified": 0, "altered": 0, "notFound": 0}
    for citation in citations:
        counts[_COUNT_KEYS[CitationStatus(citation.status)]] += 1
    return counts


def citations_fields(run: Run) -> dict[str, Any]:
    """The two keys execute and details add: `citations` and `grounding`."""
    citations = list(run.citations.order_by("index"))
    return {
        "citations": [citation_output(c) for c in citations],
        "grounding": grounding_output(citations),
    }
