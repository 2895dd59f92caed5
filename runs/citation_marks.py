"""A run's output for the review page with each checked quotation marked: labelled "verified",
"altered" (with the word diff) or "not found", and linked to the passage in the document viewer.

Each quotation is swapped for a placeholder word before the Markdown is rendered and sanitized,
and the placeholder for the mark afterwards, so the marks are the only HTML not passed through
the sanitizer, and every piece of text in them is escaped here.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable

from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe

from agentexec.formatting import cite_label
from runs.markdown import render_markdown
from runs.models import Citation, CitationStatus

LABELS = {
    CitationStatus.VERIFIED: "verified",
    CitationStatus.ALTERED: "altered",
    CitationStatus.NOT_FOUND: "not found",
}

LinkFor = Callable[[Citation], str | None]


def render_output(
    output: str | None, citations: Iterable[Citation], link_for: LinkFor
) -> SafeString:
    if not output:
        return mark_safe("")
    salt = secrets.token_hex(4)  # an output cannot forge a placeholder it cannot guess
    marks: dict[str, str] = {}
    pieces: list[str] = []
    cursor = 0
    for citation in sorted(citations, key=lambda c: c.output_start):
        start, end = citation.output_start, citation.output_end
        if start < cursor or end > len(output) or start >= end:
            continue  # stale offsets (the output is never rewritten, but be safe)
        token = f"citemark{salt}x{citation.index}x"
        marks[token] = _mark(citation, output[start:end], link_for(citation))
        pieces.append(output[cursor:start])
        if output[start:end].lstrip().startswith(">"):  # a block quote stays a block quote
            pieces.append("> " + token + ("\n" if output[start:end].endswith("\n") else ""))
        else:
            pieces.append(token)
        cursor = end
    pieces.append(output[cursor:])
    html = str(render_markdown("".join(pieces)))
    for token, mark in marks.items():
        html = html.replace(token, mark)
    return mark_safe(html)


def _mark(citation: Citation, written: str, link: str | None) -> str:
    status = CitationStatus(citation.status)
    shown = citation.quote if written.lstrip().startswith(">") else written
    label = format_html(
        '<span class="badge cite-label cite-{}">{}</span>', status.value, LABELS[status]
    )
    if link:
        place = _place(citation)
        label = format_html(
            '<a class="cite-link" href="{}" title="Open {} at the passage">{}{}</a>',
            link,
            citation.filename,
            label,
            format_html(' <span class="cite-place">{}</span>', place) if place else "",
        )
    diff = _diff_html(citation) if status == CitationStatus.ALTERED else ""
    return format_html(
        '<span class="cite cite-{}" id="cite-{}" data-status="{}">'
        '<span class="cite-quote">{}</span> {}{}</span>',
        status.value,
        citation.index,
        status.value,
        shown,
        label,
        mark_safe(diff),
    )


def _place(citation: Citation) -> str:
    return cite_label(citation.filename, citation.page_start, citation.page_end)


def _diff_html(citation: Citation) -> str:
    """The document's words the quotation dropped or changed as <del>, its own as <ins>."""
    tags = {"equal": "span", "delete": "del", "insert": "ins"}
    parts = [
        f"<{tags[op['op']]}>{escape(op['text'])}</{tags[op['op']]}>"
        for op in citation.diff or []
        if op.get("op") in tags
    ]
    title = "Document text: deleted; quotation: inserted"
    return f' <span class="cite-diff" title="{title}">{" ".join(parts)}</span>'
