"""Each extractor on a file made in the test; failures are clear and belong to one object."""

from __future__ import annotations

import itertools

import pytest

from tests.vaults.conftest import AddDocument
from tests.vaults.documents import make_docx, make_encrypted_pdf, make_pdf
from vaults import extraction
from vaults.chunking import CHUNK_SIZE, chunk_document
from vaults.models import ObjectStatus, Vault


def test_it_reads_plain_text_and_markdown() -> None:
    text = extraction.extract(
        "Café terms.\r\nLine two.".encode(), content_type="text/plain", filename="a.txt"
    )
    markdown = extraction.extract(
        b"# Title\n\n**Bold** term.", content_type="text/markdown", filename="a.md"
    )

    assert text is not None and text.pages == ["Café terms.\nLine two."] and not text.paged
    assert markdown is not None and "**Bold** term." in markdown.pages[0]


def test_it_reads_legacy_encodings_and_drops_nul() -> None:
    extracted = extraction.extract(b"caf\xe9\x00 bar", content_type="text/plain", filename="a.txt")
    assert extracted is not None and extracted.pages == ["café bar"]


def test_form_feeds_split_plain_text_into_pages() -> None:
    extracted = extraction.extract(
        b"page one\fpage two", content_type="text/plain", filename="t.txt"
    )
    assert extracted is not None and extracted.paged and extracted.pages == ["page one", "page two"]


def test_it_keeps_html_text_and_drops_scripts_and_styles() -> None:
    html = (
        b"<html><head><title>T</title><style>p {color: red}</style></head><body>"
        b"<h1>Lease</h1><p>Rent is &pound;5 &amp; due monthly.</p>"
        b"<script>alert('x')</script><p>Second&nbsp;para.</p></body></html>"
    )
    extracted = extraction.extract(html, content_type="text/html; charset=utf-8", filename="a.html")

    assert extracted is not None
    text = extracted.pages[0]
    assert "Rent is £5 & due monthly." in text and "Second para." in text and "Lease" in text
    assert "alert" not in text and "color" not in text


def test_it_reads_pdf_pages() -> None:
    pdf = make_pdf(["First page: definitions.", "Second page: indemnity.", "Third page: law."])

    extracted = extraction.extract(pdf, content_type="application/pdf", filename="a.pdf")

    assert extracted is not None and extracted.paged and len(extracted.pages) == 3
    assert "indemnity" in extracted.pages[1]


def test_it_reads_docx_paragraphs_and_tables() -> None:
    docx = make_docx(
        ["The supplier shall deliver.", "Payment is due in 30 days."],
        [["Role", "Rate"], ["Engineer", "150"]],
    )

    extracted = extraction.extract(
        docx, content_type="application/octet-stream", filename="msa.docx"
    )

    assert extracted is not None and not extracted.paged
    text = extracted.pages[0]
    assert "The supplier shall deliver." in text and "Engineer | 150" in text
    assert text.index("Test Agreement") < text.index("Payment")


@pytest.mark.parametrize(
    ("data", "content_type", "filename", "message"),
    [
        (b"%PDF-1.7\nnot really", "application/pdf", "x.pdf", "PDF could not be read"),
        (b"", "application/pdf", "x.pdf", "PDF could not be read"),
        (make_encrypted_pdf("secret terms"), "application/pdf", "x.pdf", "encrypted"),
        (b"PK\x03\x04 broken zip", "application/octet-stream", "x.docx", "DOCX could not be read"),
    ],
)
def test_unreadable_files_raise_a_clear_error(
    data: bytes, content_type: str, filename: str, message: str
) -> None:
    with pytest.raises(extraction.ExtractionError, match=message):
        extraction.extract(data, content_type=content_type, filename=filename)


def test_a_pdf_without_text_that_ocr_cannot_read_says_so() -> None:
    with pytest.raises(extraction.ExtractionError, match="no text layer and OCR found no text"):
        extraction.extract(make_pdf([""]), content_type="application/pdf", filename="scan.pdf")


def test_a_pdf_without_text_names_the_ocr_setting_when_ocr_is_off() -> None:
    with pytest.raises(extraction.ExtractionError, match="OCR_ENABLED"):
        extraction.extract(
            make_pdf([""]),
            content_type="application/pdf",
            filename="scan.pdf",
            limits=extraction.Limits(ocr_enabled=False),
        )


@pytest.mark.parametrize(
    ("content_type", "filename", "supported"),
    [
        ("image/png", "a.png", True),
        ("application/octet-stream", "a.TIFF", True),
        ("image/gif", "a.gif", False),
        ("application/zip", "a.zip", False),
        ("application/octet-stream", "a.bin", False),
        ("application/octet-stream", "a.PDF", True),
        ("text/csv", "a.csv", True),
        ("text/x-python", "a.py", True),
    ],
)
def test_it_knows_which_types_it_can_extract(
    content_type: str, filename: str, supported: bool
) -> None:
    assert (extraction.extractor_for(content_type, filename) is not None) is supported


def test_running_headers_and_footers_are_dropped() -> None:
    bodies = [
        "\n".join(f"{word} clause, line {i}." for i in range(8)) for word in ("Term", "Fees", "Law")
    ]
    pages = [f"ACME NDA\n{body}\nPage {n} of 3" for n, body in enumerate(bodies, start=1)]

    assert extraction.strip_running_lines(pages) == bodies


def test_ingest_records_a_corrupt_file_on_that_object_only(
    vault: Vault, add_document: AddDocument
) -> None:
    good = add_document(vault, "a.txt", "Confidential information.")
    bad = add_document(vault, "b.pdf", b"%PDF garbage", "application/pdf")
    unknown = add_document(vault, "c.gif", b"GIF89a", "image/gif")

    assert bad.status == ObjectStatus.FAILED and "PDF" in (bad.error or "")
    assert bad.chunk_count is None and not bad.chunks.exists()
    assert unknown.status == ObjectStatus.STORED and unknown.error is None
    good.refresh_from_db()
    assert good.status == ObjectStatus.COMPLETED


# --- Chunking -----------------------------------------------------------------------------------


def test_chunks_are_about_the_target_size_break_at_sentences_and_overlap() -> None:
    sentences = [
        f"Sentence number {i} talks about the confidentiality obligations here." for i in range(200)
    ]
    text, offsets, spans = chunk_document([" ".join(sentences)], paged=False)

    assert offsets == [] and len(spans) > 5
    assert all(len(s.text) <= CHUNK_SIZE for s in spans)
    assert all(s.text.endswith(".") for s in spans)
    assert all(text[s.start : s.end] == s.text for s in spans)
    assert all(b.start < a.end for a, b in itertools.pairwise(spans))  # overlap
    assert all(s.page_start is None for s in spans)


def test_chunks_prefer_paragraphs_and_numbered_headings() -> None:
    body = "Words here. " * 50
    text = f"1. Term\n{body}\n2. Indemnity\n{body}\n\nA new paragraph. {body}"
    _, _, spans = chunk_document([text], paged=False)

    assert spans[0].text.startswith("1. Term") and spans[1].text.startswith("2. Indemnity")
    assert spans[2].text.startswith("A new paragraph.")


def test_chunks_of_a_paged_document_cite_their_page() -> None:
    pages = ["Short first page.", "x " * 1200, "Last page text."]
    _, offsets, spans = chunk_document(pages, paged=True)

    assert offsets == [0, len(pages[0]) + 2, len(pages[0]) + len(pages[1]) + 4]
    assert all(s.page_start == s.page_end for s in spans)
    assert {s.page_start for s in spans} == {1, 2, 3}
    assert spans[-1].text == "Last page text." and spans[-1].page_end == 3


def test_a_word_longer_than_a_chunk_is_cut() -> None:
    _, _, spans = chunk_document(["x" * 2500], paged=False)
    assert [len(s.text) for s in spans][:2] == [CHUNK_SIZE, CHUNK_SIZE]


def test_a_heading_paragraph_starts_the_chunk_it_heads() -> None:
    body = "Words of the clause here. " * 30
    text = f"1. Term\n\n{body}\n\n2. Fees and Payment\n\n{body}"
    _, _, spans = chunk_document([text], paged=False)

    assert [s.text.split("\n")[0] for s in spans] == ["1. Term", "2. Fees and Payment"]
