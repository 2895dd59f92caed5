"""The document summary request every model gets (vaults' summary jobs): one system prompt and
one user message holding the document's pages, each after a "[page N]" marker, so a model (and
local/extractive, which reads the markers back) can cite pages as "(p. N)"."""

from __future__ import annotations

import re

from agentexec.llm.base import ModelRequest

SYSTEM = (
    "You summarize legal documents for lawyers. Write a faithful summary of the document in "
    "the user's message: its parties, purpose, key obligations, money, dates and deadlines, "
    "termination, liability and anything unusual. Use short Markdown bullet points and cite "
    'the page of every point as "(p. N)", using the [page N] markers. Do not invent facts.'
)
_MARKER = re.compile(r"^\[page (\d+)\]$", re.M)


def document_message(filename: str, pages: list[tuple[int, str]], *, truncated: bool) -> str:
    parts = [f"Summarize this document: {filename}"]
    if truncated:
        parts.append("(The document is long: only its first pages are included.)")
    parts += [f"[page {number}]\n{text}" for number, text in pages]
    return "\n\n".join(parts)


def is_summary_request(request: ModelRequest) -> bool:
    return request.system == SYSTEM and not request.tools


def document_pages(message: str) -> list[tuple[int, str]]:
    """The (page, text) pairs of a document_message, in order."""
    marks = list(_MARKER.finditer(message))
    return [
        (int(m.group(1)), message[m.end() : marks[i + 1].start() if i + 1 < len(marks) else None])
        for i, m in enumerate(marks)
    ]
