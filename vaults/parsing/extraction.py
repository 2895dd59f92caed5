"""Text from stored files: plain text, Markdown and HTML (reduced to clean text: no markup,
headings on lines of their own), PDF (with pages), DOCX (with heading styles), and by OCR
(vaults.parsing.ocr) the PDF pages without a text layer and PNG/JPEG/TIFF images.

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
from typing import TYPE_CHECKING, NamedTuple

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


class Heading(NamedTuple):
    """A heading line the document's markup declares (Markdown/HTML h1-h6, DOCX heading
    styles): the line at `offset` in pages[page] is a heading of `level` (1 is the top)."""

    page: int
    offset: int
    level: int


@dataclass
class Extracted:
    pages: list[str]  # one entry per page for paged formats; one entry otherwise
    paged: bool
    # Empty when the format has no heading markup; chunking then recognises headings by form.
    headings: list[Heading] = field(default_factory=list)
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


# Block elements end a line; these also leave a blank line (a paragraph break) around them.
_BLOCK_TAGS = frozenset(
    """
    address article aside blockquote dd div dl dt fieldset figcaption figure footer form
    header hr li main nav ol p pre section table tbody tfoot thead title tr ul caption
    """.split()  # noqa: SIM905 - a word list reads best as text
)
_PARAGRAPH_TAGS = frozenset(
    [
        "address",
        "article",
        "aside",
        "blockquote",
        "div",
        "dl",
        "fieldset",
        "figure",
        "footer",
        "form",
        "header",
        "hr",
        "main",
        "nav",
        "ol",
        "p",
        "pre",
        "section",
        "table",
        "ul",
    ]
)
_HEADING_TAGS = {f"h{n}": n for n in range(1, 7)}
_CELL_TAGS = frozenset({"td", "th"})
_SKIP_TAGS = frozenset({"script", "style", "noscript", "template", "svg", "head", "iframe"})
# A heading line is marked while the text is assembled, and the mark removed once lines settle:
# U+E001..U+E006 (private use) stand for levels 1..6. Source text never keeps them.
_MARKS = {chr(0xE000 + n): n for n in range(1, 7)}
_MARK_CHARS = re.compile("[\ue000-\ue006]")
_SPACES = re.compile(r"[ \t\n\r\f\v\u00a0\u200b]+")
# Breaks while assembling: LINE ends a line (runs of them make one), "\n\n" a paragraph.
LINE = "\x0b"
_BREAKS = re.compile(r"[ \t]*[\x0b\n]\s*")


class _HTMLText(HTMLParser):
    """HTML reduced to text: blocks become lines and paragraphs, headings their own lines,
    list items lines (ordered ones keep their numbers, as clause numbers are content), table
    rows lines of cells joined by " | ", inline markup (emphasis, spans, labels, links)
    dropped for its text, scripts and styles dropped, entities decoded."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skip_depth = 0
        self.pre_depth = 0
        self.lists: list[list[int] | None] = []  # per open list: [next number] for <ol>
        self.cells_in_row = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP_TAGS:
            self.skip_depth += 1
        elif tag in _HEADING_TAGS:
            self.parts.append("\n\n" + chr(0xE000 + _HEADING_TAGS[tag]))
        elif tag in _CELL_TAGS:
            self.parts.append(" | " if self.cells_in_row else "")
            self.cells_in_row += 1
        elif tag == "br":
            self.parts.append(LINE)
        elif tag == "ol":
            start = dict(attrs).get("start") or "1"
            self.lists.append([int(start) if start.isdigit() else 1])
            self.parts.append("\n\n")
        elif tag == "ul":
            self.lists.append(None)
            self.parts.append("\n\n")
        elif tag == "li":
            counter = self.lists[-1] if self.lists else None
            self.parts.append(f"{LINE}{counter[0]}. " if counter else LINE)
            if counter:
                counter[0] += 1
        elif tag in _BLOCK_TAGS:
            self.pre_depth += tag == "pre"
            self.cells_in_row = 0 if tag == "tr" else self.cells_in_row
            self.parts.append("\n\n" if tag in _PARAGRAPH_TAGS else LINE)

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_TAGS:
            self.skip_depth = max(0, self.skip_depth - 1)
        elif tag in _HEADING_TAGS:
            self.parts.append("\n\n")
        elif tag in ("ol", "ul"):
            if self.lists:
                self.lists.pop()
            self.parts.append("\n\n")
        elif tag in _BLOCK_TAGS:
            self.pre_depth = max(0, self.pre_depth - (tag == "pre"))
            self.parts.append("\n\n" if tag in _PARAGRAPH_TAGS else LINE)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br" or tag in _BLOCK_TAGS:
            self.parts.append(LINE)

    def handle_data(self, data: str) -> None:
        if self.skip_depth:
            return
        data = _MARK_CHARS.sub("", data)
        self.parts.append(data if self.pre_depth else _SPACES.sub(" ", data))


def _settle(raw: str) -> tuple[str, list[Heading]]:
    """Lines trimmed, runs of blank lines made one, heading marks turned into (offset, level)."""
    raw = _BREAKS.sub(lambda m: "\n\n" if m.group().count("\n") >= 2 else "\n", raw)
    lines = [" ".join(line.split()) for line in raw.split("\n")]
    out: list[str] = []
    headings: list[Heading] = []
    position = 0
    blank = True  # no leading blank lines
    for line in lines:
        level = _MARKS.get(line[:1]) if line else None
        line = _MARK_CHARS.sub("", line).strip() if level is not None else _MARK_CHARS.sub("", line)
        if not line:
            if not blank:
                out.append("")
                position += 1
            blank = True
            continue
        if level is not None:
            headings.append(Heading(0, position, level))
        out.append(line)
        position += len(line) + 1
        blank = False
    return _clean("\n".join(out).strip()), headings


def _html_to_text(html: str) -> tuple[str, list[Heading]]:
    parser = _HTMLText()
    parser.feed(html)
    parser.close()
    return _settle("".join(parser.parts))


def extract_html(data: bytes, limits: Limits = DEFAULT_LIMITS) -> Extracted:
    _check_text_size(len(data), limits)  # HTML is never shorter than its text
    text, headings = _html_to_text(_decode(data))
    _check_text_size(len(text.encode()), limits)
    return Extracted(pages=[text], paged=False, headings=headings)


def extract_markdown(data: bytes, limits: Limits = DEFAULT_LIMITS) -> Extracted:
    """CommonMark (with tables and strikethrough) rendered to HTML, then reduced like HTML:
    inline HTML in the source (spans, labels) goes the same way as the rendered markup."""
    from markdown_it import MarkdownIt

    source = _decode(data)
    _check_text_size(len(source.encode()), limits)
    renderer = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])
    text, headings = _html_to_text(renderer.render(_clean(source)))
    _check_text_size(len(text.encode()), limits)
    return Extracted(pages=[text], paged=False, headings=headings)


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
        parts: list[tuple[str, int | None]] = []
        size = 0
        for block in document.iter_inner_content():
            if isinstance(block, Table):
                for row in block.rows:
                    cells = list(dict.fromkeys(cell.text.strip() for cell in row.cells))
                    parts.append((" | ".join(c for c in cells if c), None))
            else:
                parts.append((block.text, _docx_heading_level(block)))
            size += len(parts[-1][0]) + 2
            _check_text_size(size, limits)  # characters: a cheap lower bound of the bytes
    except archive.ArchiveRejected as exc:
        raise ExtractionError(str(exc)) from exc
    except (ExtractionError, MemoryError):
        raise
    except Exception as exc:  # a corrupt file trips the parser anywhere, with any exception
        _raise_memory_error(exc)
        raise ExtractionError(f"the DOCX could not be read (corrupt or not a DOCX): {exc}") from exc
    paragraphs: list[str] = []
    headings: list[Heading] = []
    position = 0
    for raw, level in parts:
        paragraph = _clean(raw).strip()
        if not paragraph:
            continue
        if level is not None and "\n" not in paragraph:
            headings.append(Heading(0, position, level))
        paragraphs.append(paragraph)
        position += len(paragraph) + 2
    text = "\n\n".join(paragraphs)
    _check_text_size(len(text.encode()), limits)
    return Extracted(pages=[text], paged=False, headings=headings)


_DOCX_HEADING = re.compile(r"^(?:heading|überschrift|titre)\s*(\d)$", re.IGNORECASE)


def _docx_heading_level(paragraph: object) -> int | None:
    """The heading level of a paragraph by its style ("Heading 2" is 2, "Title" is 1)."""
    style = getattr(paragraph, "style", None)
    name = (getattr(style, "name", None) or "").strip()
    if name.lower() == "title":
        return 1
    match = _DOCX_HEADING.match(name)
    return int(match.group(1)) if match else None


Extractor = Callable[[bytes, Limits], Extracted | None]

_BY_TYPE: dict[str, Extractor] = {
    "text/plain": extract_plain,
    "text/markdown": extract_markdown,
    "text/x-markdown": extract_markdown,
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
    ".md": extract_markdown,
    ".markdown": extract_markdown,
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
    ext = posixpath.splitext(filename.lower())[1]
    if base_type == "text/plain" and ext in (".md", ".markdown"):
        return extract_markdown  # Markdown is often sent as plain text
    if base_type in _BY_TYPE:
        return _BY_TYPE[base_type]
    if base_type in _GENERIC_TYPES or base_type.startswith("text/"):
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
