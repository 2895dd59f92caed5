"""Text extraction in a bounded child process (vaults.parsing.worker), started through
sandboxes.oneshot: memory INGEST_MEMORY_MIB, CPU time and wall clock INGEST_TIMEOUT_S (plus
OCR_TIMEOUT_S for the types OCR may read: PDFs and images), output INGEST_MAX_TEXT_BYTES (plus
room for OCR words). A document that breaks a limit fails with an ExtractionError that says
which; the parser's memory is the child's, and goes with it.

The one exception is small plain text (up to INLINE_PLAIN_MAX_BYTES): decoding it is a byte
decode and a split, linear with no parser, so it runs here rather than pay a child's start-up
(about 70 ms, as much as the rest of a small ingest or a vault.write tool call)."""

from __future__ import annotations

import json
import logging

from django.conf import settings

from sandboxes import oneshot
from sandboxes.base import SandboxStartError
from vaults.parsing import archive, extraction, ocr
from vaults.parsing.worker import MEMORY_EXIT, REJECTED_EXIT

log = logging.getLogger(__name__)

WORKER = "vaults.parsing.worker"
INLINE_PLAIN_MAX_BYTES = 1024 * 1024
OCR_WORDS_BYTES_PER_PAGE = 256 * 1024  # a dense page's words as JSON, with room to spare
_OCR_READABLE = (extraction.extract_pdf, extraction.extract_image)


def limits() -> extraction.Limits:
    return extraction.Limits(
        max_pages=settings.INGEST_MAX_PAGES,
        max_text_bytes=settings.INGEST_MAX_TEXT_BYTES,
        max_uncompressed_bytes=settings.INGEST_MAX_UNCOMPRESSED_BYTES,
        max_compression_ratio=settings.INGEST_MAX_COMPRESSION_RATIO,
        ocr_enabled=settings.OCR_ENABLED,
        ocr_languages=settings.OCR_LANGUAGES,
        ocr_max_pages=settings.OCR_MAX_PAGES,
        ocr_page_timeout_s=settings.OCR_PAGE_TIMEOUT_S,
    )


def extract(data: bytes, *, content_type: str, filename: str) -> extraction.Extracted | None:
    """The text of a file, or None when its type has no extractor; ExtractionError when it
    cannot be read or breaks a limit."""
    extractor = extraction.extractor_for(content_type, filename)
    if extractor is None:
        return None
    bounds = limits()
    if extractor is extraction.extract_image and not bounds.ocr_enabled:
        return None  # an image's only text is what OCR reads
    if extractor is extraction.extract_plain and len(data) <= INLINE_PLAIN_MAX_BYTES:
        return extractor(data, bounds)
    may_ocr = bounds.ocr_enabled and extractor in _OCR_READABLE
    seconds = settings.INGEST_TIMEOUT_S + (settings.OCR_TIMEOUT_S if may_ocr else 0)
    ocr_room = bounds.ocr_max_pages * OCR_WORDS_BYTES_PER_PAGE if may_ocr else 0
    args = [
        f"--content-type={content_type}",
        f"--filename={filename}",
        f"--max-pages={bounds.max_pages}",
        f"--max-text-bytes={bounds.max_text_bytes}",
        f"--max-uncompressed-bytes={bounds.max_uncompressed_bytes}",
        f"--max-compression-ratio={bounds.max_compression_ratio}",
        f"--ocr={'on' if bounds.ocr_enabled else 'off'}",
        f"--ocr-languages={bounds.ocr_languages}",
        f"--ocr-max-pages={bounds.ocr_max_pages}",
        f"--ocr-page-timeout-s={bounds.ocr_page_timeout_s}",
    ]
    try:
        result = oneshot.run_python(
            WORKER,
            args=args,
            stdin=data,
            memory_mib=settings.INGEST_MEMORY_MIB,
            cpu_time_s=seconds,
            timeout_s=float(seconds),
            # JSON escapes (quotes, newlines, control characters) make the output longer than
            # the text; the worker itself holds the text to max_text_bytes.
            stdout_cap=2 * bounds.max_text_bytes + 1024 * 1024 + ocr_room,
            provider=settings.INGEST_SANDBOX_PROVIDER,
        )
    except SandboxStartError as exc:
        raise extraction.ExtractionError(f"text extraction could not start: {exc}") from exc
    return _extracted(result, bounds, seconds)


def _extracted(
    result: oneshot.OneShotResult, bounds: extraction.Limits, seconds: int
) -> extraction.Extracted:
    if result.timed_out:
        raise extraction.ExtractionError(f"text extraction exceeded the time limit of {seconds} s")
    if result.oom_killed or result.exit_code == MEMORY_EXIT:
        raise extraction.ExtractionError(
            f"text extraction exceeded the memory limit of {settings.INGEST_MEMORY_MIB} MiB"
        )
    if result.stdout_truncated:
        raise extraction.ExtractionError(
            "document rejected: its text is larger than the limit of "
            f"{archive.human_bytes(bounds.max_text_bytes)}"
        )
    try:
        payload = json.loads(result.stdout) if result.exit_code in (0, REJECTED_EXIT) else None
    except ValueError:
        payload = None
    if (
        result.exit_code == 0
        and isinstance(payload, dict)
        and isinstance(payload.get("pages"), list)
    ):
        return extraction.Extracted(
            pages=payload["pages"],
            paged=bool(payload.get("paged")),
            headings=_headings(payload.get("headings"), len(payload["pages"])),
            ocr_pages=[
                ocr.OcrPage(page=int(p["page"]), text="", words=p["words"])
                for p in payload.get("ocr") or []
            ],
        )
    if result.exit_code == REJECTED_EXIT and isinstance(payload, dict) and "error" in payload:
        raise extraction.ExtractionError(str(payload["error"]))
    tail = result.stderr.strip().splitlines()[-1:] or ["no output"]
    log.warning("text extraction failed: exit %s, %s", result.exit_code, result.stderr[-2000:])
    raise extraction.ExtractionError(
        f"text extraction failed unexpectedly (exit code {result.exit_code}): {tail[0][:300]}"
    )


def _headings(value: object, page_count: int) -> list[extraction.Heading]:
    """The child's heading list, keeping only well-formed entries (it parsed untrusted input)."""
    if not isinstance(value, list):
        return []
    headings = []
    for item in value:
        if (
            isinstance(item, list)
            and len(item) == 3
            and all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in item)
            and item[0] < page_count
            and 1 <= item[2] <= 6
        ):
            headings.append(extraction.Heading(*item))
    return headings
