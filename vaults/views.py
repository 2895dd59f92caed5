"""Staff pages of the vaults: the document viewer, which shows an object's text page by page
with a passage (a run's quotation) highlighted and scrolled into view."""

from __future__ import annotations

from dataclasses import dataclass

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from agentexec.errors import NotFoundError
from agentexec.staff import staff_required
from vaults import selectors
from vaults.chunking import PAGE_SEPARATOR
from vaults.models import ObjectText

VIEWER_WINDOW_CHARS = 200_000  # text shown on each side of the passage in a long document


@dataclass(frozen=True)
class ViewerPage:
    number: int | None  # None: a document without pages
    before: str
    hit: str  # the part of the passage on this page ("" if none)
    after: str
    anchor: bool  # the first page holding the passage: its <mark> is #hit
    clipped_start: bool = False
    clipped_end: bool = False


def _offset(raw: str | None, limit: int) -> int | None:
    try:
        value = int(raw or "")
    except ValueError:
        return None
    return min(max(value, 0), limit)


def viewer_pages(text: ObjectText, start: int | None, end: int | None) -> list[ViewerPage]:
    """The document's pages, each split around the passage [start, end); only the pages within
    VIEWER_WINDOW_CHARS of the passage in a long document."""
    body = text.text
    paged = bool(text.page_offsets)
    offsets = text.page_offsets or [0]
    bounds = [*offsets[1:], len(body) + len(PAGE_SEPARATOR)]
    if start is not None and end is not None and end <= start:
        start = end = None
    centre = start or 0
    lo, hi = max(0, centre - VIEWER_WINDOW_CHARS), centre + VIEWER_WINDOW_CHARS
    pages: list[ViewerPage] = []
    anchored = False
    for number, (first, nxt) in enumerate(zip(offsets, bounds, strict=True), start=1):
        last = nxt - len(PAGE_SEPARATOR) if paged else len(body)
        a, b = max(first, lo), min(last, hi)
        if a > b or (a == b and first != last):  # outside the window (an empty page is shown)
            continue
        cut_a, cut_b = a, a
        if start is not None and end is not None:
            cut_a, cut_b = min(max(start, a), b), min(max(end, a), b)
        hit = body[cut_a:cut_b]
        pages.append(
            ViewerPage(
                number=number if paged else None,
                before=body[a:cut_a],
                hit=hit,
                after=body[cut_b:b],
                anchor=bool(hit) and not anchored,
                clipped_start=a > first,
                clipped_end=b < last,
            )
        )
        anchored = anchored or bool(hit)
    return pages


@require_safe
@staff_required
def object_viewer(request: HttpRequest, vault_id: str, object_id: str) -> HttpResponse:
    try:
        obj, text = selectors.object_with_text(vault_id=vault_id, object_id=object_id)
    except NotFoundError as exc:
        raise Http404("No such object.") from exc
    length = len(text.text) if text else 0
    start = _offset(request.GET.get("start"), length)
    end = _offset(request.GET.get("end"), length)
    context = {
        "obj": obj,
        "vault": obj.vault,
        "pages": viewer_pages(text, start, end) if text else [],
        "has_text": text is not None,
        "start": start,
        "end": end,
    }
    return render(request, "vaults/object_viewer.html", context)
