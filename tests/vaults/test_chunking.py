"""Structure-aware chunks: passages start at headings, paragraphs and sentences, carry their
section path and their offsets in the object's text."""

from __future__ import annotations

import io
import itertools
import re
from pathlib import Path

import pytest

from vaults.chunking import CHUNK_SIZE, OVERLAP, Span, chunk_document, heading_level
from vaults.parsing import extraction

LICENSES = Path("/usr/share/common-licenses")
_STARTS = re.compile(r"[A-Z0-9\"'(\u201c\[*]|[a-z]{1,3}[.)]\s")


def assert_starts_at_sentences(text: str, spans: list[Span]) -> None:
    for span in spans:
        assert text[span.start : span.end] == span.text
        before = text[: span.start].rstrip()
        assert (
            not before
            or before[-1] in ".!?:;\"')]*\u201d"
            or text[before.__len__() : span.start].count("\n") >= 1
        ), f"chunk {span.index} starts mid-sentence: {span.text[:60]!r}"
        assert _STARTS.match(span.text), span.text[:60]
        # Never inside a word.
        assert span.start == 0 or not text[span.start - 1].isalnum()
        assert span.end == len(text) or not text[span.end].isalnum()


@pytest.mark.parametrize("name", ["GPL-3", "Apache-2.0", "MPL-2.0", "LGPL-2.1"])
def test_licence_chunks_start_at_sentence_starts(name: str) -> None:
    path = LICENSES / name
    if not path.exists():
        pytest.skip(f"{path} is not on this system")
    extracted = extraction.extract(path.read_bytes(), content_type="text/plain", filename=name)
    assert extracted is not None

    text, _, spans = chunk_document(extracted.pages, paged=extracted.paged)

    assert len(spans) > 10
    assert all(len(s.text) <= CHUNK_SIZE for s in spans)
    assert_starts_at_sentences(text, spans)


def test_a_chunk_starts_at_a_sentence_and_overlaps_by_whole_sentences() -> None:
    sentences = [
        f"Clause {i} binds the Receiving Party to hold it in confidence." for i in range(60)
    ]
    text, _, spans = chunk_document([" ".join(sentences)], paged=False)

    assert len(spans) > 3
    assert_starts_at_sentences(text, spans)
    for a, b in itertools.pairwise(spans):
        assert b.start < a.end and a.end - b.start <= OVERLAP  # whole sentences repeat
        assert b.text.startswith("Clause ")


def test_only_a_sentence_longer_than_a_chunk_is_split_and_then_between_words() -> None:
    long_sentence = "The Supplier shall " + " ".join(f"deliver item{i}" for i in range(300)) + "."
    text = f"Short first sentence. {long_sentence} Short last sentence."
    _, _, spans = chunk_document([text], paged=False)

    assert spans[0].text.startswith("Short first sentence.")
    assert all(len(s.text) <= CHUNK_SIZE for s in spans)
    for span in spans:
        assert span.text.split()[0] in {"Short", "deliver", "The"} or span.text[0].isalnum()
        assert not text[span.end : span.end + 1].isalnum()
    assert spans[-1].text.endswith("Short last sentence.")


def test_headings_start_chunks_and_give_section_paths() -> None:
    body = "The parties agree to this clause in every respect. " * 4
    text = (
        "MASTER AGREEMENT\n\n"
        f"Recitals come first. {body}\n\n"
        "ARTICLE 2\n\n"
        f"{body}\n\n"
        "2.1 Definitions\n\n"
        f"{body}\n\n"
        "5. Term and Termination\n\n"
        f"{body}\n\n"
        "6. Grant of Patent License. Subject to the terms of this Agreement, each party grants "
        "a licence.\n\n"
        "Section 4 Term\n\n"
        f"{body}"
    )
    _, _, spans = chunk_document([text], paged=False)

    assert [(s.section, s.text.split("\n")[0][:24]) for s in spans] == [
        ("MASTER AGREEMENT", "MASTER AGREEMENT"),
        ("ARTICLE 2", "ARTICLE 2"),
        ("ARTICLE 2 > 2.1 Definitions", "2.1 Definitions"),
        ("ARTICLE 2 > 5. Term and Termination", "5. Term and Termination"),
        ("ARTICLE 2 > 6. Grant of Patent License", "6. Grant of Patent Licen"),
        ("ARTICLE 2 > Section 4 Term", "Section 4 Term"),
    ]


def test_sections_carry_over_pages_and_chunks_cite_their_page() -> None:
    pages = ["1. Confidentiality\n\nThe Recipient shall keep it secret.", "It survives. Always."]
    text, offsets, spans = chunk_document(pages, paged=True)

    assert [(s.page_start, s.page_end, s.section) for s in spans] == [
        (1, 1, "1. Confidentiality"),
        (2, 2, "1. Confidentiality"),
    ]
    assert all(text[s.start : s.end] == s.text for s in spans)
    assert offsets == [0, len(pages[0]) + 2]


def test_docx_heading_styles_give_sections() -> None:
    import docx

    document = docx.Document()
    document.add_heading("Services Agreement", level=0)  # the Title style
    document.add_heading("Payment", level=1)
    document.add_paragraph("Fees are due in thirty days.")
    document.add_heading("Late payment", level=2)
    document.add_paragraph("Interest accrues at one percent a month.")
    out = io.BytesIO()
    document.save(out)
    extracted = extraction.extract(out.getvalue(), content_type="", filename="a.docx")
    assert extracted is not None

    _, _, spans = chunk_document(extracted.pages, paged=False, headings=extracted.headings)

    assert [s.section for s in spans] == ["Payment", "Payment > Late payment"]
    assert spans[0].text == "Services Agreement\n\nPayment\n\nFees are due in thirty days."


@pytest.mark.parametrize(
    ("line", "alone", "level"),
    [
        ("5. Term and Termination", True, 2),
        ("10.2 Survival", False, 3),
        ("0. Definitions.", True, 2),
        ("ARTICLE II", True, 1),
        ("Section 4 Term", True, 2),
        ("GOVERNING LAW", True, 1),
        ("Limitation of Liability", True, 1),
        ("Limitation of Liability", False, None),
        ("1. You must give any other recipients a copy of this License.", True, None),
        ("The parties agree as follows.", True, None),
        ("2 of the License, or", False, None),
        ("Version 3, 29 June 2007 and more words beyond the heading limit here now", True, None),
    ],
)
def test_headings_are_recognised_by_form(line: str, alone: bool, level: int | None) -> None:
    assert heading_level(line, alone=alone, after_sentence=True) == level
