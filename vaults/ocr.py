"""OCR words of objects: stored by ingest (vaults.services), read by GET .../ocr-words. The OCR
itself runs in the bounded parser child (vaults.parsing.ocr)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from agentexec.errors import ConflictError
from vaults.models import ObjectOcrPage, ObjectStatus, VaultObject
from vaults.parsing.ocr import OcrPage


def ocr_pages_replace(*, object_id: str, pages: list[OcrPage]) -> None:
    """The object's OCR words become `pages` (none: the object has no OCR words). Called inside
    the transaction that ends an ingest."""
    ObjectOcrPage.objects.filter(object_id=object_id).delete()
    rows, start = [], 0
    for page in sorted(pages, key=lambda p: p.page):
        rows.append(
            ObjectOcrPage(object_id=object_id, page=page.page, word_start=start, words=page.words)
        )
        start += len(page.words)
    ObjectOcrPage.objects.bulk_create(rows)


@dataclass(frozen=True)
class OcrWords:
    obj: VaultObject
    pages: list[tuple[int, list[dict[str, Any]]]]  # (page, words) after the filters
    total_words: int
    created_at: datetime | None


def ocr_words(
    *,
    obj: VaultObject,
    page: int | None = None,
    word_start: int | None = None,
    word_end: int | None = None,
) -> OcrWords:
    """The object's OCR words, by page, filtered to one page and/or a range of global word
    indices (inclusive). An ingested document none of whose pages needed OCR has none."""
    if obj.status != ObjectStatus.COMPLETED:
        raise ConflictError(
            f"Object {obj.id} has no OCR data (ingestionStatus is {obj.status!r}); it must be "
            "ingested successfully first."
        )
    rows = list(ObjectOcrPage.objects.filter(object=obj).order_by("page"))
    total = sum(len(r.words) for r in rows)
    low = word_start if word_start is not None else 0
    high = word_end if word_end is not None else total
    pages = []
    for row in rows:
        if page is not None and row.page != page:
            continue
        words = [
            {
                "text": word[0],
                "bbox": word[1:5],
                "confidence": word[5],
                "wordIndex": row.word_start + i,
            }
            for i, word in enumerate(row.words)
            if low <= row.word_start + i <= high
        ]
        if words or (word_start is None and word_end is None):
            pages.append((row.page, words))
    created = min((r.created_at for r in rows), default=None)
    return OcrWords(obj=obj, pages=pages, total_words=total, created_at=created)
