"""The text extraction child: `python -m vaults.parsing.worker --content-type T --filename F
[limits]` reads a file's bytes on stdin and writes `{"pages": [...], "paged": bool, "headings":
[[page, offset, level], ...], "ocr": [{"page": n, "words": [[text, x0, y0, x1, y1, confidence],
...]}, ...]}` on stdout (exit 0), or `{"error": message}` for a document that cannot be read
(exit 2). Running out of memory exits MEMORY_EXIT. Standard library, vaults.parsing.extraction
and its parsers only: no Django.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from vaults.parsing import extraction

REJECTED_EXIT = 2
MEMORY_EXIT = 3


def _arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="vaults.parsing.worker")
    parser.add_argument("--content-type", required=True)
    parser.add_argument("--filename", required=True)
    parser.add_argument("--max-pages", type=int, default=extraction.DEFAULT_LIMITS.max_pages)
    parser.add_argument(
        "--max-text-bytes", type=int, default=extraction.DEFAULT_LIMITS.max_text_bytes
    )
    parser.add_argument(
        "--max-uncompressed-bytes",
        type=int,
        default=extraction.DEFAULT_LIMITS.max_uncompressed_bytes,
    )
    parser.add_argument(
        "--max-compression-ratio",
        type=float,
        default=extraction.DEFAULT_LIMITS.max_compression_ratio,
    )
    defaults = extraction.DEFAULT_LIMITS
    parser.add_argument("--ocr", choices=("on", "off"), default="on")
    parser.add_argument("--ocr-languages", default=defaults.ocr_languages)
    parser.add_argument("--ocr-max-pages", type=int, default=defaults.ocr_max_pages)
    parser.add_argument("--ocr-page-timeout-s", type=int, default=defaults.ocr_page_timeout_s)
    return parser.parse_args(argv)


def _write(payload: dict[str, object]) -> None:
    sys.stdout.write(json.dumps(payload, ensure_ascii=False))
    sys.stdout.flush()


def main(argv: list[str]) -> int:
    options = _arguments(argv)
    limits = extraction.Limits(
        max_pages=options.max_pages,
        max_text_bytes=options.max_text_bytes,
        max_uncompressed_bytes=options.max_uncompressed_bytes,
        max_compression_ratio=options.max_compression_ratio,
        ocr_enabled=options.ocr == "on",
        ocr_languages=options.ocr_languages,
        ocr_max_pages=options.ocr_max_pages,
        ocr_page_timeout_s=options.ocr_page_timeout_s,
    )
    data = sys.stdin.buffer.read()
    try:
        extracted = extraction.extract(
            data, content_type=options.content_type, filename=options.filename, limits=limits
        )
    except extraction.ExtractionError as exc:
        _write({"error": str(exc)})
        return REJECTED_EXIT
    del data
    if extracted is None:
        _write({"error": "this file type has no text extraction"})
        return REJECTED_EXIT
    _write(
        {
            "pages": extracted.pages,
            "paged": extracted.paged,
            "headings": [list(h) for h in extracted.headings],
            "ocr": [{"page": p.page, "words": p.words} for p in extracted.ocr_pages],
        }
    )
    return 0


if __name__ == "__main__":
    sys.stdout.reconfigure(encoding="utf-8", errors="replace")  # type: ignore[union-attr]
    try:
        code = main(sys.argv[1:])
    except MemoryError:
        # Whatever still fits: the exit code alone says it.
        os.write(2, b"MemoryError: text extraction ran out of memory\n")
        os._exit(MEMORY_EXIT)
    sys.exit(code)
