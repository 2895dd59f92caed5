"""The vault pages of the staff web UI under /ui/vaults/: every organization's vaults, their
objects, an object's extracted text and chunks, and the document viewer, which shows an
object's text page by page with a passage (a run's quotation) highlighted and scrolled into
view."""

from __future__ import annotations

from dataclasses import dataclass

from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from agentexec.errors import NotFoundError
from agentexec.staff import staff_required
from agentexec.tenancy.selectors import organizations_by_name
from vaults import selectors, ui_selectors
from vaults.chunking import PAGE_SEPARATOR
from vaults.models import ObjectText

VAULT_ROWS_PER_PAGE = 50
CHUNKS_PER_PAGE = 20
TEXT_PREVIEW_CHARS = 200_000
SUMMARY_JOBS_SHOWN = 20
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
def vault_list(request: HttpRequest) -> HttpResponse:
    organization_id = request.GET.get("organization", "")
    vaults = ui_selectors.vaults_filtered(organization_id=organization_id)
    context = {
        "page": Paginator(vaults, VAULT_ROWS_PER_PAGE).get_page(request.GET.get("page")),
        "organizations": organizations_by_name(),
        "organization_id": organization_id,
    }
    return render(request, "vaults/vault_list.html", context)


@require_safe
@staff_required
def vault_detail(request: HttpRequest, vault_id: str) -> HttpResponse:
    vault = ui_selectors.vault_for_review(vault_id=vault_id)
    if vault is None:
        raise Http404("No such vault.")
    objects = ui_selectors.vault_objects(vault=vault)
    page = Paginator(objects, VAULT_ROWS_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "vaults/vault_detail.html", {"vault": vault, "page": page})


@require_safe
@staff_required
def vault_object_detail(request: HttpRequest, vault_id: str, object_id: str) -> HttpResponse:
    obj = ui_selectors.object_for_review(vault_id=vault_id, object_id=object_id)
    if obj is None:
        raise Http404("No such object.")
    text = ui_selectors.object_text(obj=obj)
    chunks = ui_selectors.object_chunks(obj=obj)
    context = {
        "obj": obj,
        "vault": obj.vault,
        "text": text[:TEXT_PREVIEW_CHARS] if text is not None else None,
        "text_truncated": text is not None and len(text) > TEXT_PREVIEW_CHARS,
        "text_length": len(text) if text is not None else None,
        "page": Paginator(chunks, CHUNKS_PER_PAGE).get_page(request.GET.get("page")),
        "summary_jobs": ui_selectors.object_summary_jobs(obj=obj)[:SUMMARY_JOBS_SHOWN],
    }
    return render(request, "vaults/object_detail.html", context)


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
