"""The quotation check when a run ends: every quotation in the output is looked up in the
documents of the run's scope and recorded as a Citation (verified / altered / not_found), with
the document, pages, section and character offsets of the passage.

The documents are those the run could read (vaults.selectors.run_scope), less any the run wrote
itself (a quotation of its own memo proves nothing). They are read in full up to
GROUNDING_MAX_SCAN_CHARS characters, the ones the run's tools touched first; a quotation still
unverified then gets a search of the whole scope, and the documents it finds are read too.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Exists, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from runs import selectors as run_selectors
from runs.models import Citation, CitationStatus, Run, RunStep, StepType
from vaults import quotes, selectors
from vaults.chunking import page_of
from vaults.models import ObjectStatus, ObjectText, VaultObject

log = logging.getLogger(__name__)
SEARCH_TOP_K = 3  # documents a search adds for a quotation not yet verified


@dataclass
class Document:
    obj: VaultObject
    text: ObjectText
    normalised: quotes.Normalised


# --- The check --------------------------------------------------------------------------------


def citations_check(*, run: Run, output: str | None) -> list[Citation]:
    """The citations of an output, unsaved. Never raises: a check that fails is logged and the
    run ends without citations rather than failing."""
    if not output:
        return []
    try:
        return _check(run, output)
    except Exception:
        log.exception("run %s: the quotation check failed", run.id)
        return []


def citations_save(*, run: Run, citations: list[Citation]) -> None:
    """Replaces the run's citations (inside the transaction that ends the run)."""
    with transaction.atomic():
        Citation.objects.filter(run=run).delete()
        Citation.objects.bulk_create(citations)


def _check(run: Run, output: str) -> list[Citation]:
    found = quotes.find_quotes(output)[: settings.GROUNDING_MAX_QUOTES]
    if not found:
        return []
    documents = Documents(run)
    citations = []
    for index, quote in enumerate(found):
        citation = Citation(
            run=run,
            index=index,
            quote=quote.text,
            output_start=quote.start,
            output_end=quote.end,
            status=CitationStatus.NOT_FOUND,
        )
        _resolve(citation, documents)
        citations.append(citation)
    return citations


def _resolve(citation: Citation, documents: Documents) -> None:
    for document in documents.for_quote(citation.quote):
        match = quotes.locate(citation.quote, document.normalised)
        if match is not None:
            _place(citation, document, match, CitationStatus.VERIFIED)
            return
    best: tuple[Document, quotes.Match] | None = None
    minimum = settings.GROUNDING_ALTERED_MIN_SIMILARITY
    for document in documents.loaded():
        match = quotes.closest(citation.quote, document.normalised, min_similarity=minimum)
        if match is not None and (best is None or match.similarity > best[1].similarity):
            best = (document, match)
    if best is not None:
        _place(citation, best[0], best[1], CitationStatus.ALTERED)


def _place(citation: Citation, document: Document, match: quotes.Match, status: str) -> None:
    text = document.text
    citation.status = status
    citation.object = document.obj
    citation.vault_id = document.obj.vault_id
    citation.filename = document.obj.filename
    citation.char_start, citation.char_end = match.start, match.end
    if text.page_offsets:
        citation.page_start = page_of(text.page_offsets, match.start)
        citation.page_end = page_of(text.page_offsets, max(match.start, match.end - 1))
    citation.section = section_at(text, match.start)[:300]
    if status == CitationStatus.ALTERED:
        citation.matched_text = text.text[match.start : match.end]
        citation.similarity = match.similarity
        citation.diff = match.diff


def section_at(text: ObjectText, offset: int) -> str:
    """The section path of the chunk holding `offset`; for chunks stored before chunks knew
    their section (until `manage.py reingest`), the nearest heading line before it."""
    section = selectors.section_at(obj=text.object, position=offset)
    return section or quotes.section_before(text.text, offset)


class Documents:
    """The run's documents, normalised once and kept for all its quotations: first those its
    tools touched, then the rest of the scope within GROUNDING_MAX_SCAN_CHARS."""

    def __init__(self, run: Run) -> None:
        self.run = run
        scope = selectors.tool_scope(run_selectors.tool_context(run))
        self.vault_ids = sorted(scope.vault_ids)
        self.object_ids = sorted(scope.object_ids) if scope.object_ids is not None else None
        self.docs: dict[str, Document] = {}
        self.scanned = False
        # Not an exclude() on the JSON key: that drops every object without the key on SQLite.
        self.written = {str(i) for i in run.output_object_ids or []} | set(
            VaultObject.objects.filter(
                vault_id__in=self.vault_ids, metadata__createdByRunId=run.id
            ).values_list("id", flat=True)
        )

    def in_scope(self) -> QuerySet[VaultObject]:
        objects = VaultObject.objects.filter(
            vault_id__in=self.vault_ids, status=ObjectStatus.COMPLETED
        ).exclude(id__in=self.written)
        if self.object_ids is not None:
            objects = objects.filter(id__in=self.object_ids)
        return objects

    def loaded(self) -> list[Document]:
        self._scan()
        return list(self.docs.values())

    def for_quote(self, quote: str) -> Iterator[Document]:
        """The loaded documents, then those a search of the scope finds for this quotation."""
        yield from self.loaded()
        try:
            hits = selectors.chunk_search(
                query=quote,
                vault_ids=self.vault_ids,
                object_ids=self.object_ids,
                top_k=SEARCH_TOP_K,
            )
        except Exception:  # widening is best effort: the documents read so far still count
            log.exception("run %s: searching for a quotation failed", self.run.id)
            return
        extra = [h.chunk.object_id for h in hits if h.chunk.object_id not in self.docs]
        yield from self._load(self.in_scope().filter(id__in=extra))

    def _scan(self) -> None:
        if self.scanned:
            return
        self.scanned = True
        budget = settings.GROUNDING_MAX_SCAN_CHARS
        objects = self.in_scope()
        touched = touched_object_ids(self.run)
        ordered = list(objects.filter(id__in=touched).order_by("created_at", "id"))
        ordered += objects.exclude(id__in=touched).order_by("created_at", "id")[:1000]
        chosen: list[VaultObject] = []
        total = 0
        for obj in ordered:
            total += obj.text_length or 0
            if chosen and total > budget:
                break
            chosen.append(obj)
        for _ in self._load(chosen):
            pass

    def _load(self, objects: Iterable[VaultObject]) -> Iterator[Document]:
        wanted = {o.id: o for o in objects if o.id not in self.docs}
        for text in ObjectText.objects.filter(object_id__in=list(wanted)):
            document = Document(wanted[text.object_id], text, quotes.Normalised(text.text))
            self.docs[text.object_id] = document
            yield document


def touched_object_ids(run: Run) -> set[str]:
    """The documents the run's tools named or returned (vault.read, vault.search results)."""
    ids: set[str] = set()
    steps = RunStep.objects.filter(
        run=run, type__in=[StepType.TOOL_CALL, StepType.TOOL_RESULT], tool_name__startswith="vault."
    ).values_list("tool_input", "tool_output")
    for tool_input, tool_output in steps:
        _collect_ids(tool_input, ids)
        _collect_ids(tool_output, ids)
    return ids


def _collect_ids(value: Any, ids: set[str], depth: int = 0) -> None:
    if depth > 4:
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "objectId" and isinstance(item, str):
                ids.add(item)
            elif key == "objectIds" and isinstance(item, list):
                ids.update(i for i in item if isinstance(i, str))
            else:
                _collect_ids(item, ids, depth + 1)
    elif isinstance(value, list):
        for item in value[:200]:
            _collect_ids(item, ids, depth + 1)


# --- Reads ------------------------------------------------------------------------------------


def run_citations(*, run: Run) -> QuerySet[Citation]:
    return Citation.objects.filter(run=run).order_by("index")


def runs_with_grounding(runs: QuerySet[Run]) -> QuerySet[Run]:
    """Runs annotated with `quote_count`, `unverified_count` and `not_found_count`, for the
    run list's badge (subqueries, so the list keeps its plain ordering and no GROUP BY)."""
    return runs.annotate(
        quote_count=_count(Citation.objects.all()),
        unverified_count=_count(Citation.objects.exclude(status=CitationStatus.VERIFIED)),
        not_found_count=_count(Citation.objects.filter(status=CitationStatus.NOT_FOUND)),
    )


def _count(citations: QuerySet[Citation]) -> Coalesce:
    per_run = citations.filter(run=OuterRef("pk")).order_by().values("run").annotate(n=Count("id"))
    return Coalesce(Subquery(per_run.values("n")), Value(0))


def runs_unverified(runs: QuerySet[Run]) -> QuerySet[Run]:
    """Runs with at least one quotation that is altered or not found."""
    unverified = Citation.objects.filter(run=OuterRef("pk")).exclude(status=CitationStatus.VERIFIED)
    return runs.filter(Exists(unverified))
