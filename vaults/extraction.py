"""Text from stored files: plain text and Markdown, HTML (text only), PDF (with pages), DOCX,
and by OCR (vaults.parsing.ocr) the PDF pages without a text layer and PNG/JPEG/TIFF images.

`extractor_for` says whether a file's type has an extractor at all (without one, ingest ends
`stored`); `extract` raises ExtractionError with a message fit for the object's `error` when a
file of a supported type cannot be read (corrupt, encrypted, no text layer) or breaks one of the
`Limits` (an archive bomb, too many pages, too much text).

Standard library and the parser libraries only, no Django: ingest runs this module in a bounded
child process (vaults.parsing.worker), never in the service's own processes. A MemoryError is
never turned into an ExtractionError, so the child can report the memory limit as such.
"""

from __future__ import annotations

import io
import logging
import posixpath
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import TYPE_CHECKING

from vaults.parsing import archive, ocr

if TYPE_CHECKING:
    from pypdf import PdfReader

log = logging.getLogger(__name__)


class ExtractionError(Exception):
    pass


@dataclass(frozen=True)
class Limits:
    """What one document may cost before it is rejected (the INGEST_* settings)."""

    max_pages: int = 5000
    max_text_bytes: int = 32 * 1024 * 1024
    max_uncompressed_bytes: int = 256 * 1024 * 1024
    max_compression_ratio: float = 100.0
    # OCR (the OCR_* settings): pages without a text layer, and images.
    ocr_enabled: bool = True
    ocr_languages: str = "eng"
    ocr_max_pages: int = 500
    ocr_page_timeout_s: int = ocr.DEFAULT_PAGE_TIMEOUT_S

    def ocr_options(self) -> ocr.OcrOptions:
        return ocr.OcrOptions(
            languages=self.ocr_languages,
            max_pages=self.ocr_max_pages,
            page_timeout_s=self.ocr_page_timeout_s,
        )


DEFAULT_LIMITS = Limits()


def _check_text_size(size: int, limits: Limits) -> None:
    if size > limits.max_text_bytes:
        raise ExtractionError(
            "document rejected: its text is larger than the limit of "
            f"{archive.human_bytes(limits.max_text_bytes)}"
        )


@dataclass
class Extracted:
    pages: list[str]  # one entry per page for paged formats; one entry otherwise
    paged: bool
    ocr_pages: list[ocr.OcrPage] = field(default_factory=list)  # pages read by OCR

    @property
    def text_length(self) -> int:
        return sum(len(p) for p in self.pages)


def _clean(text: str) -> str:
    # PostgreSQL text cannot hold NUL; stray control characters only hurt search.
    return text.replace("\x00", "").replace("\r\n", "\n").replace("\r", "\n")


def _decode(data: bytes) -> str:
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            pass
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def extract_plain(data: bytes, limits: Limits = DEFAULT_LIMITS) -> Extracted:
    text = _clean(_decode(data))
    _check_text_size(len(text.encode()), limits)
    if "\f" in text:  # form feeds are page breaks (printed transcripts, pdftotext output)
        return Extracted(pages=text.split("\f"), paged=True)
    return Extracted(pages=[text], paged=False)


_BLOCK_TAGS = frozenset(
    """
    address article aside blockquote br dd div dl dt fieldset figcaption figure footer form
    h1 h2 h3 h4 h5 h6 header hr li main nav ol p pre section table tbody td tfoot th thead
    title tr ul
    """.split()  # noqa: SIM905 - a word list reads best as text
)
_SKIP_TAGS = frozenset({"script", "style", "noscript", "template", "svg", "head"})


class _HTMLText(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skip_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP_TAGS:
            self.skip_depth += 1
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n\n" if tag in {"p", "div", "section", "article"} else "\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_TAGS:
            self.skip_depth = max(0, self.skip_depth - 1)
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skip_depth:
            self.parts.append(data)


def extract_html(data: bytes, limits: Limits = DEFAULT_LIMITS) -> Extracted:
    parser = _HTMLText()
    parser.feed(_decode(data))
    parser.close()
    lines = (" ".join(line.split()) for line in "".join(parser.parts).split("\n"))
    text = "\n".join(lines)
    while "\n\n\n" in text:
        text = text.replace("\n\n\n", "\n\n")
    text = _clean(text.strip())
    _check_text_size(len(text.encode()), limits)
    return Extracted(pages=[text], paged=False)


def _line_key(line: str) -> str:
    return re.sub(r"\d+", "#", " ".join(line.split()).lower())


def strip_running_lines(pages: list[str]) -> list[str]:
    """Drop running headers and footers ("Mutual NDA - Page 3"): short lines at the top or
    bottom of a page that recur, numbers aside, on most pages. They would otherwise end up
    inside passages and quotations."""
    if len(pages) < 3:
        return pages
    pages_lines = [page.strip().split("\n") for page in pages]

    def edges(lines: list[str]) -> list[tuple[int, str]]:
        depth = 2 if len(lines) >= 6 else 1
        positions = {*range(min(depth, len(lines))), *range(max(0, len(lines) - depth), len(lines))}
        return [(i, lines[i]) for i in sorted(positions) if 0 < len(lines[i].strip()) <= 80]

    counts: dict[str, int] = {}
    for lines in pages_lines:
        for key in {_line_key(line) for _, line in edges(lines)}:
            counts[key] = counts.get(key, 0) + 1
    running = {key for key, n in counts.items() if n >= max(3, 0.6 * len(pages))}
    if not running:
        return pages
    cleaned = []
    for lines in pages_lines:
        drop = {i for i, line in edges(lines) if _line_key(line) in running}
        cleaned.append("\n".join(line for i, line in enumerate(lines) if i not in drop))
    return cleaned


def _pdf_pages(reader: PdfReader, limits: Limits) -> list[str]:
    # len() trusts the page tree's /Count; the loop below holds the line if /Count lies.
    if len(reader.pages) > limits.max_pages:
        raise ExtractionError(
            f"document rejected: the PDF has {len(reader.pages)} pages, over the limit of "
            f"{limits.max_pages}"
        )
    pages: list[str] = []
    size = 0
    for number, page in enumerate(reader.pages, start=1):
        if number > limits.max_pages:
            raise ExtractionError(
                f"document rejected: the PDF has more than {limits.max_pages} pages"
            )
        pages.append(_clean(page.extract_text() or ""))
        size += len(pages[-1].encode())
        _check_text_size(size, limits)
    return pages


def extract_pdf(data: bytes, limits: Limits = DEFAULT_LIMITS) -> Extracted:
    import pypdf
    from pypdf.errors import DependencyError

    try:
        reader = pypdf.PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            try:
                decrypted = reader.decrypt("")
            except (DependencyError, NotImplementedError) as exc:
                raise ExtractionError("the PDF is encrypted; upload an unencrypted copy") from exc
            if not decrypted:
                raise ExtractionError(
                    "the PDF is encrypted with a password; upload an unencrypted copy"
                )
        pages = _pdf_pages(reader, limits)
    except (ExtractionError, MemoryError):
        raise
    except Exception as exc:  # a corrupt file trips the parser anywhere, with any exception
        raise ExtractionError(f"the PDF could not be read (corrupt or not a PDF): {exc}") from exc
    if not pages:
        raise ExtractionError("the PDF has no pages")
    scanned = [number for number, text in enumerate(pages, start=1) if not text.strip()]
    ocr_pages = _ocr_pdf(data, scanned, limits) if scanned and limits.ocr_enabled else []
    for page in ocr_pages:
        pages[page.page - 1] = _clean(page.text)
    _check_text_size(sum(len(p.encode()) for p in pages), limits)
    if not any(p.strip() for p in pages):
        if not limits.ocr_enabled:
            raise ExtractionError(
                "the PDF has no text layer (scanned images need OCR, which is off: OCR_ENABLED)"
            )
        raise ExtractionError("the PDF has no text layer and OCR found no text in it")
    return Extracted(pages=strip_running_lines(pages), paged=True, ocr_pages=ocr_pages)


def _ocr_pdf(data: bytes, numbers: list[int], limits: Limits) -> list[ocr.OcrPage]:
    """OCR of the pages without a text layer; the others are never rendered."""
    try:
        return list(ocr.ocr_pdf_pages(data, numbers, limits.ocr_options()))
    except ocr.OcrError as exc:
        raise ExtractionError(str(exc)) from exc


def extract_image(data: bytes, limits: Limits = DEFAULT_LIMITS) -> Extracted | None:
    """PNG, JPEG, TIFF: their text by OCR, one page per frame. None when OCR is off (the image
    is then stored without text)."""
    if not limits.ocr_enabled:
        return None
    try:
        pages = ocr.ocr_image_file(data, limits.ocr_options())
    except ocr.OcrError as exc:
        raise ExtractionError(str(exc)) from exc
    texts = [_clean(p.text) for p in pages]
    _check_text_size(sum(len(t.encode()) for t in texts), limits)
    if not any(t.strip() for t in texts):
        raise ExtractionError("OCR found no text in the image")
    return Extracted(pages=texts, paged=True, ocr_pages=pages)


def _raise_memory_error(exc: Exception) -> None:
    # libxml2 reports a failed allocation as a parse error; it is the memory limit all the same.
    if "memory allocation failed" in str(exc).lower():
        raise MemoryError(str(exc)) from exc


def extract_docx(data: bytes, limits: Limits = DEFAULT_LIMITS) -> Extracted:
    import docx
    from docx.table import Table

    try:
        # python-docx inflates members whole; an archive bomb must be turned away first.
        archive.check_zip(
            data,
            kind="DOCX",
            max_bytes=limits.max_uncompressed_bytes,
            max_ratio=limits.max_compression_ratio,
        )
        document = docx.Document(io.BytesIO(data))
        parts: list[str] = []
        size = 0
        for block in document.iter_inner_content():
            if isinstance(block, Table):
                for row in block.rows:
                    cells = list(dict.fromkeys(cell.text.strip() for cell in row.cells))
                    parts.append(" | ".join(c for c in cells if c))
            else:
                parts.append(block.text)
            size += len(parts[-1]) + 2
            _check_text_size(size, limits)  # characters: a cheap lower bound of the bytes
    except archive.ArchiveRejected as exc:
        raise ExtractionError(str(exc)) from exc
    except (ExtractionError, MemoryError):
        raise
    except Exception as exc:  # a corrupt file trips the parser anywhere, with any exception
        _raise_memory_error(exc)
        raise ExtractionError(f"the DOCX could not be read (corrupt or not a DOCX): {exc}") from exc
    text = _clean("\n\n".join(p.strip() for p in parts if p.strip()))
    _check_text_size(len(text.encode()), limits)
    return Extracted(pages=[text], paged=False)


Extractor = Callable[[bytes, Limits], Extracted | None]

_BY_TYPE: dict[str, Extractor] = {
    "text/plain": extract_plain,
    "text/markdown": extract_plain,
    "text/x-markdown": extract_plain,
    "text/csv": extract_plain,
    "application/json": extract_plain,
    "text/html": extract_html,
    "application/xhtml+xml": extract_html,
    "application/pdf": extract_pdf,
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": extract_docx,
    "image/png": extract_image,
    "image/jpeg": extract_image,
    "image/tiff": extract_image,
}
_BY_EXTENSION: dict[str, Extractor] = {
    ".txt": extract_plain,
    ".text": extract_plain,
    ".md": extract_plain,
    ".markdown": extract_plain,
    ".csv": extract_plain,
    ".json": extract_plain,
    ".html": extract_html,
    ".htm": extract_html,
    ".pdf": extract_pdf,
    ".docx": extract_docx,
    ".png": extract_image,
    ".jpg": extract_image,
    ".jpeg": extract_image,
    ".tif": extract_image,
    ".tiff": extract_image,
}
_GENERIC_TYPES = {"", "application/octet-stream", "binary/octet-stream"}

CONTENT_TYPES_BY_EXTENSION = {
    ".txt": "text/plain",
    ".md": "text/markdown",
    ".markdown": "text/markdown",
    ".html": "text/html",
    ".htm": "text/html",
    ".pdf": "application/pdf",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".csv": "text/csv",
    ".json": "application/json",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".tif": "image/tiff",
    ".tiff": "image/tiff",
}


def extractor_for(content_type: str, filename: str) -> Extractor | None:
    """The extractor for a file, by its declared type, else (for generic types) its extension."""
    base_type = content_type.split(";", 1)[0].strip().lower()
    if base_type in _BY_TYPE:
        return _BY_TYPE[base_type]
    if base_type in _GENERIC_TYPES or base_type.startswith("text/"):
        ext = posixpath.splitext(filename.lower())[1]
        found = _BY_EXTENSION.get(ext)
        if found is None and base_type.startswith("text/"):
            return extract_plain
        return found
    return None


def guess_content_type(filename: str) -> str:
    ext = posixpath.splitext(filename.lower())[1]
    return CONTENT_TYPES_BY_EXTENSION.get(ext, "application/octet-stream")


def extract(
    data: bytes, *, content_type: str, filename: str, limits: Limits = DEFAULT_LIMITS
) -> Extracted | None:
    """The text of a file, or None when its type has no extractor. In this process: ingest
    calls it through vaults.parsing.bounded, in a child process with memory and time limits."""
    extractor = extractor_for(content_type, filename)
    if extractor is None:
        return None
    return extractor(data, limits)
