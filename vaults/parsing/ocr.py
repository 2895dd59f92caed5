"""OCR with Tesseract (through pytesseract), page by page: scanned PDF pages rendered with
pdfium, and PNG/JPEG/TIFF images. Runs inside the bounded parser child (vaults.parsing.worker),
so tesseract is a subprocess of the sandboxed Python and shares its memory limit and wall clock.

Every page yields its text (words joined by line, lines by paragraph, in Tesseract's reading
order) and its words, each `[text, x0, y0, x1, y1, confidence]` with the box normalised to the
page (0-1, origin top left) and the confidence in 0-1. Standard library and parser libraries
only: no Django.
"""

from __future__ import annotations

import io
import math
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

TESSERACT = "/usr/bin/tesseract"
DEFAULT_DPI = 300
DEFAULT_MAX_PIXELS = 40_000_000  # per rendered page: a 300 dpi A3 page is ~17.5 M
DEFAULT_PAGE_TIMEOUT_S = 60


class OcrError(Exception):
    """OCR could not run (tesseract missing, a page timed out, an unreadable image)."""


@dataclass(frozen=True)
class OcrOptions:
    languages: str = "eng"
    dpi: int = DEFAULT_DPI
    max_pages: int = 500
    max_pixels: int = DEFAULT_MAX_PIXELS
    page_timeout_s: int = DEFAULT_PAGE_TIMEOUT_S


@dataclass
class OcrPage:
    page: int  # 1-based, the page's number in the document
    text: str
    words: list[list[Any]] = field(default_factory=list)  # [text, x0, y0, x1, y1, confidence]


def tesseract_path() -> str:
    found = shutil.which("tesseract", path="/usr/bin:/bin:/usr/local/bin")
    if found is None:
        raise OcrError("OCR is unavailable: tesseract is not installed (Debian: tesseract-ocr)")
    return found


def ocr_image(image: Any, number: int, options: OcrOptions) -> OcrPage:
    """One page image (a PIL image) to text and words."""
    import pytesseract

    pytesseract.pytesseract.tesseract_cmd = tesseract_path()
    # One thread: the sandbox holds a small process/thread limit and one CPU's worth of time.
    os.environ["OMP_THREAD_LIMIT"] = "1"
    width, height = image.size
    try:
        data = pytesseract.image_to_data(
            image.convert("L"),
            lang=options.languages,
            output_type=pytesseract.Output.DICT,
            timeout=options.page_timeout_s,
        )
    except pytesseract.TesseractError as exc:
        message = " ".join(str(exc.message or exc).split())[:300]
        raise OcrError(f"OCR of page {number} failed: {message}") from exc
    except OSError as exc:  # tesseract could not be started (a process limit, say)
        raise OcrError(f"OCR of page {number} could not start tesseract: {exc}") from exc
    except RuntimeError as exc:  # pytesseract's timeout (TesseractError is one too, above)
        raise OcrError(
            f"OCR of page {number} exceeded the limit of {options.page_timeout_s} s"
        ) from exc
    return _page(data, number, width, height)


def _page(data: dict[str, list[Any]], number: int, width: int, height: int) -> OcrPage:
    words: list[list[Any]] = []
    lines: dict[tuple[int, int, int], list[str]] = {}
    for i, text in enumerate(data["text"]):
        word = str(text).strip()
        if int(data["level"][i]) != 5 or not word:
            continue
        left, top = int(data["left"][i]), int(data["top"][i])
        right, bottom = left + int(data["width"][i]), top + int(data["height"][i])
        confidence = max(0.0, min(1.0, float(data["conf"][i]) / 100.0))
        words.append(
            [
                word,
                round(left / width, 4),
                round(top / height, 4),
                round(right / width, 4),
                round(bottom / height, 4),
                round(confidence, 3),
            ]
        )
        key = (int(data["block_num"][i]), int(data["par_num"][i]), int(data["line_num"][i]))
        lines.setdefault(key, []).append(word)
    paragraphs: dict[tuple[int, int], list[str]] = {}
    for (block, par, _line), line_words in lines.items():
        paragraphs.setdefault((block, par), []).append(" ".join(line_words))
    text = "\n\n".join("\n".join(p) for p in paragraphs.values())
    return OcrPage(page=number, text=text, words=words)


def _scale(width_pt: float, height_pt: float, options: OcrOptions) -> float:
    """pdfium's scale (pixels per point) for the DPI, lowered for a huge page so the bitmap
    stays within max_pixels."""
    scale = options.dpi / 72
    pixels = width_pt * scale * height_pt * scale
    if pixels > options.max_pixels:
        scale *= math.sqrt(options.max_pixels / pixels)
    return scale


def ocr_pdf_pages(data: bytes, numbers: list[int], options: OcrOptions) -> Iterator[OcrPage]:
    """OCR the given 1-based pages of a PDF, one at a time (one bitmap held at once)."""
    if len(numbers) > options.max_pages:
        raise OcrError(
            f"document rejected: {len(numbers)} pages need OCR, over the limit of "
            f"{options.max_pages} (OCR_MAX_PAGES)"
        )
    if not numbers:
        return
    tesseract_path()
    import pypdfium2 as pdfium

    try:
        document = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        raise OcrError(f"the PDF could not be rendered for OCR: {exc}") from exc
    try:
        for number in numbers:
            page = document[number - 1]
            try:
                width, height = page.get_size()
                bitmap = page.render(scale=_scale(width, height, options), grayscale=True)
                image = bitmap.to_pil()
                bitmap.close()
            finally:
                page.close()
            yield ocr_image(image, number, options)
            del image
    finally:
        document.close()


def ocr_image_file(data: bytes, options: OcrOptions) -> list[OcrPage]:
    """OCR a PNG, JPEG or TIFF (every frame of a multi-page TIFF is a page)."""
    tesseract_path()
    from PIL import Image, ImageSequence, UnidentifiedImageError

    Image.MAX_IMAGE_PIXELS = options.max_pixels  # larger: DecompressionBombError, not memory
    try:
        with Image.open(io.BytesIO(data)) as image:
            pages: list[OcrPage] = []
            for number, frame in enumerate(ImageSequence.Iterator(image), start=1):
                if number > options.max_pages:
                    raise OcrError(
                        f"document rejected: the image has more than {options.max_pages} "
                        "pages (OCR_MAX_PAGES)"
                    )
                pages.append(ocr_image(frame.copy(), number, options))
            return pages
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, SyntaxError) as exc:
        raise OcrError(f"the image could not be read for OCR: {exc}") from exc
