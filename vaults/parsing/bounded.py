"""Text extraction in a bounded child process (vaults.parsing.worker), started through
sandboxes.oneshot: memory INGEST_MEMORY_MIB, CPU time and wall clock INGEST_TIMEOUT_S, output
INGEST_MAX_TEXT_BYTES. A document that breaks a limit fails with an ExtractionError that says
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
from vaults import extraction
from vaults.parsing import archive
from vaults.parsing.worker import MEMORY_EXIT, REJECTED_EXIT

log = logging.getLogger(__name__)

WORKER = "vaults.parsing.worker"
INLINE_PLAIN_MAX_BYTES = 1024 * 1024


def limits() -> extraction.Limits:
    return extraction.Limits(
        max_pages=settings.INGEST_MAX_PAGES,
        max_text_bytes=settings.INGEST_MAX_TEXT_BYTES,
        max_uncompressed_bytes=settings.INGEST_MAX_UNCOMPRESSED_BYTES,
        max_compression_ratio=settings.INGEST_MAX_COMPRESSION_RATIO,
    )


def extract(data: bytes, *, content_type: str, filename: str) -> extraction.Extracted | None:
    """The text of a file, or None when its type has no extractor; ExtractionError when it
    cannot be read or breaks a limit."""
    extractor = extraction.extractor_for(content_type, filename)
    if extractor is None:
        return None
    bounds = limits()
    if extractor is extraction.extract_plain and len(data) <= INLINE_PLAIN_MAX_BYTES:
        return extractor(data, bounds)
    args = [
        f"--content-type={content_type}",
        f"--filename={filename}",
        f"--max-pages={bounds.max_pages}",
        f"--max-text-bytes={bounds.max_text_bytes}",
        f"--max-uncompressed-bytes={bounds.max_uncompressed_bytes}",
        f"--max-compression-ratio={bounds.max_compression_ratio}",
    ]
    try:
        result = oneshot.run_python(
            WORKER,
            args=args,
            stdin=data,
            memory_mib=settings.INGEST_MEMORY_MIB,
            cpu_time_s=settings.INGEST_TIMEOUT_S,
            timeout_s=float(settings.INGEST_TIMEOUT_S),
            # JSON escapes (quotes, newlines, control characters) make the output longer than
            # the text; the worker itself holds the text to max_text_bytes.
            stdout_cap=2 * bounds.max_text_bytes + 1024 * 1024,
            provider=settings.INGEST_SANDBOX_PROVIDER,
        )
    except SandboxStartError as exc:
        raise extraction.ExtractionError(f"text extraction could not start: {exc}") from exc
    return _extracted(result, bounds)


def _extracted(result: oneshot.OneShotResult, bounds: extraction.Limits) -> extraction.Extracted:
    if result.timed_out:
        raise extraction.ExtractionError(
            f"text extraction exceeded the time limit of {settings.INGEST_TIMEOUT_S} s"
        )
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
