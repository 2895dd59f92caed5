"""Each extractor on a file made in the test; failures are clear and belong to one object."""

from __future__ import annotations

import io
import itertools

import pytest
from django.core.management import CommandError, call_command

from tests.vaults.conftest import AddDocument
from tests.vaults.documents import make_docx, make_encrypted_pdf, make_pdf
from vaults import selectors
from vaults.chunking import CHUNK_SIZE, chunk_document
from vaults.models import ObjectStatus, Vault
from vaults.parsing import extraction


def test_it_reads_plain_text() -> None:
    text = extraction.extract(
        "Café terms.\r\nLine two.".encode(), content_type="text/plain", filename="a.txt"
    )

    assert text is not None and text.pages == ["Café terms.\nLine two."] and not text.paged


# A lawyer-drafted Markdown agreement as such templates are published: emphasis, inline HTML
# for cover-page links and form labels, a table, lists, a link, an HTML entity.
AGREEMENT_MD = """\
# Mutual Non-Disclosure Agreement

## 1. Introduction

This **Mutual Non-Disclosure Agreement** (which includes the <span class="coverpage_link">Cover \
Page</span>) allows each party (<label>Disclosing Party</label>) to disclose information.

## 2. Term and Termination

1. **Term.** The Agreement *ends* on the <span class="keyterms_link">Expiration Date</span>.
2. **Survival.** Sections 3 &amp; 4 survive, see [the Cover Page](https://example.com/cp).

| Term | Period |
| --- | --- |
| NDA Term | 1 year |
| Confidentiality Period | 2 years |

- first item
- second item
"""


def test_markdown_is_reduced_to_clean_text() -> None:
    extracted = extraction.extract(
        AGREEMENT_MD.encode(), content_type="text/markdown", filename="nda.md"
    )

    assert extracted is not None and not extracted.paged
    text = extracted.pages[0]
    assert text == (
        "Mutual Non-Disclosure Agreement\n\n"
        "1. Introduction\n\n"
        "This Mutual Non-Disclosure Agreement (which includes the Cover Page) allows each party "
        "(Disclosing Party) to disclose information.\n\n"
        "2. Term and Termination\n\n"
        "1. Term. The Agreement ends on the Expiration Date.\n"
        "2. Survival. Sections 3 & 4 survive, see the Cover Page.\n\n"
        "Term | Period\n"
        "NDA Term | 1 year\n"
        "Confidentiality Period | 2 years\n\n"
        "first item\n"
        "second item"
    )
    for markup in ("**", "<span", "<label", "#", "](", "&amp;", "| ---"):
        assert markup not in text
    lines = text.split("\n")
    declared = [(lines_at(text, h.offset), h.level) for h in extracted.headings]
    assert declared == [
        ("Mutual Non-Disclosure Agreement", 1),
        ("1. Introduction", 2),
        ("2. Term and Termination", 2),
    ]
    assert lines[0] == "Mutual Non-Disclosure Agreement"


def lines_at(text: str, offset: int) -> str:
    end = text.find("\n", offset)
    return text[offset : end if end != -1 else len(text)]


@pytest.mark.parametrize(
    ("content_type", "filename"),
    [
        ("text/markdown", "a.txt"),
        ("text/x-markdown", "a"),
        ("text/plain", "a.md"),
        ("application/octet-stream", "a.markdown"),
        ("", "A.MD"),
    ],
)
def test_markdown_is_known_by_type_or_extension(content_type: str, filename: str) -> None:
    assert extraction.extractor_for(content_type, filename) is extraction.extract_markdown


def test_markdown_ingest_keeps_the_original_file_and_indexes_clean_text(
    vault: Vault, add_document: AddDocument
) -> None:
    obj = add_document(vault, "nda.md", AGREEMENT_MD)

    assert obj.status == ObjectStatus.COMPLETED
    with obj.file.open("rb") as stored:
        assert stored.read() == AGREEMENT_MD.encode()  # the download is the source, as sent
    text = obj.extracted.text
    assert "<span" not in text and "**" not in text and "# " not in text
    chunks = list(obj.chunks.order_by("index"))
    assert all("<label" not in c.text and "**" not in c.text for c in chunks)
    assert [c.section for c in chunks] == [
        "1. Introduction",
        "2. Term and Termination > 1. Term",
        "2. Term and Termination > 2. Survival",
    ]
    assert chunks[1].text.startswith("2. Term and Termination\n\n1. Term. The Agreement ends")
    assert all(text[c.char_start : c.char_end] == c.text for c in chunks)


def test_it_reads_legacy_encodings_and_drops_nul() -> None:
    extracted = extraction.extract(b"caf\xe9\x00 bar", content_type="text/plain", filename="a.txt")
    assert extracted is not None and extracted.pages == ["café bar"]


def test_form_feeds_split_plain_text_into_pages() -> None:
    extracted = extraction.extract(
        b"page one\fpage two", content_type="text/plain", filename="t.txt"
    )
    assert extracted is not None and extracted.paged and extracted.pages == ["page one", "page two"]


def test_html_is_reduced_to_lines_paragraphs_and_table_rows() -> None:
    html = (
        b"<html><body><h2>5. Term and\n   Termination</h2><p>This <b>Agreement</b>\n"
        b"<span class='x'>ends</span> on <a href='#d'>the date</a>.</p>"
        b"<ol start='3'><li>First.</li><li>Second.</li></ol>"
        b"<table><tr><th>Fee</th><th>Amount</th></tr>\n<tr><td>Setup</td><td>&euro;5</td></tr>"
        b"</table><label>Name</label><br>Signature</body></html>"
    )
    extracted = extraction.extract(html, content_type="text/html", filename="a.html")

    assert extracted is not None
    assert extracted.pages[0] == (
        "5. Term and Termination\n\nThis Agreement ends on the date.\n\n3. First.\n4. Second."
        "\n\nFee | Amount\nSetup | \u20ac5\n\nName\nSignature"
    )
    assert extracted.headings == [extraction.Heading(0, 0, 2)]


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


# --- Re-ingest ----------------------------------------------------------------------------------


def test_reingest_gives_existing_objects_clean_text_sections_and_offsets(
    vault: Vault, add_document: AddDocument
) -> None:
    obj = add_document(vault, "nda.md", AGREEMENT_MD)
    other = add_document(vault, "other.txt", "1. Scope\n\nIt covers everything.")
    # As an object ingested before clean Markdown text and section paths: raw text, no offsets.
    obj.extracted.text = AGREEMENT_MD
    obj.extracted.save(update_fields=["text"])
    obj.chunks.update(section="", char_start=None, char_end=None, text="**raw** <span>")
    out = io.StringIO()

    call_command("reingest", "--object", obj.id, stdout=out)

    obj.refresh_from_db()
    chunks = list(obj.chunks.order_by("index"))
    assert obj.status == ObjectStatus.COMPLETED, obj.error
    assert "<span" not in obj.extracted.text
    assert chunks[0].section == "1. Introduction"
    assert all(obj.extracted.text[c.char_start : c.char_end] == c.text for c in chunks)
    assert f"{obj.id} nda.md: completed" in out.getvalue()
    assert other.id not in out.getvalue()  # only what was asked for
    assert selectors.chunk_search(query="disclose information", vault_ids=[vault.id])


def test_reingest_takes_a_vault_or_everything_and_refuses_to_guess(
    vault: Vault, add_document: AddDocument
) -> None:
    obj = add_document(vault, "a.txt", "Plain words.")
    out = io.StringIO()

    call_command("reingest", "--vault", vault.id, stdout=out)
    call_command("reingest", "--all", stdout=out)

    assert out.getvalue().count(f"{obj.id} a.txt: completed") == 2
    with pytest.raises(CommandError, match="say which objects"):
        call_command("reingest")
    with pytest.raises(CommandError, match="vault_nope"):
        call_command("reingest", "--vault", "vault_nope")
