"""Hostile documents fail their own object, with a clear error, inside the ingest limits: text
extraction runs in a bounded child process, ZIP members are measured before any parser inflates
them, and the service's own memory stays where it was."""

from __future__ import annotations

import io
import resource
import zipfile
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.conftest import Member
from tests.vaults.conftest import AddDocument
from tests.vaults.documents import (
    make_docx,
    make_large_docx,
    make_pdf,
    make_pdf_with_blank_pages,
    make_zip_bomb_docx,
    understate_member_size,
)
from vaults.models import ObjectStatus, ObjectText, Vault
from vaults.parsing import archive, bounded, extraction

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
MIB = 1024 * 1024


@pytest.fixture(scope="module")
def bomb() -> bytes:
    return make_zip_bomb_docx(expanded_mib=300)


def peak_rss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def test_a_zip_bomb_docx_fails_its_own_object_with_a_clear_error(
    vault: Vault, add_document: AddDocument, bomb: bytes, settings
) -> None:
    settings.INGEST_TIMEOUT_S = 30
    assert len(bomb) < MIB  # a few hundred KB on disk, 300 MiB inflated
    good = add_document(vault, "notes.md", "The supplier shall deliver on time.")
    peak_before = peak_rss_bytes()

    bad = add_document(vault, "bomb.docx", bomb, DOCX)

    assert bad.status == ObjectStatus.FAILED
    assert bad.error == (
        "document rejected: DOCX member word/document.xml declares 300 MiB uncompressed, "
        "over the limit of 256 MiB"
    )
    assert bad.chunk_count is None and not bad.chunks.exists()
    assert not ObjectText.objects.filter(object=bad).exists()
    # Nothing was inflated in this process: its high-water mark did not move by the bomb.
    assert peak_rss_bytes() - peak_before < 64 * MIB
    good.refresh_from_db()
    assert good.status == ObjectStatus.COMPLETED and good.chunk_count == 1


def test_a_bomb_that_understates_its_size_is_measured_by_what_it_inflates_to(
    vault: Vault, add_document: AddDocument, bomb: bytes
) -> None:
    liar = understate_member_size(bomb, "word/document.xml", 4096)
    assert zipfile.ZipFile(io.BytesIO(liar)).getinfo("word/document.xml").file_size == 4096

    bad = add_document(vault, "liar.docx", liar, DOCX)

    assert bad.status == ObjectStatus.FAILED
    assert (bad.error or "").startswith(
        "document rejected: DOCX member word/document.xml expands more than 100:1 (over "
    )


def test_a_member_within_the_ratio_is_still_held_to_the_size_limit(settings) -> None:
    docx = make_large_docx(paragraphs=300, words_per_paragraph=3000)  # ~6 MiB of XML, ~3:1

    with pytest.raises(extraction.ExtractionError, match=r"expands beyond 2 MiB \(ratio over"):
        extraction.extract(
            understate_member_size(docx, "word/document.xml", 1000),
            content_type=DOCX,
            filename="big.docx",
            limits=extraction.Limits(max_uncompressed_bytes=2 * MIB),
        )


def test_many_small_members_are_held_to_the_total_limit() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as spread:
        for n in range(40):
            spread.writestr(f"word/media/part{n}.xml", b"<x/>" * (128 * 1024))  # 512 KiB each
    data = out.getvalue()
    for n in range(10):  # declares 15 MiB in all, inflates to 20
        data = understate_member_size(data, f"word/media/part{n}.xml", 1)

    with pytest.raises(archive.ArchiveRejected, match="the DOCX expands beyond 16 MiB in total"):
        archive.check_zip(data, kind="DOCX", max_bytes=16 * MIB, max_ratio=1000)
    with pytest.raises(
        archive.ArchiveRejected, match=r"the DOCX declares 20 MiB .* over the limit"
    ):
        archive.check_zip(out.getvalue(), kind="DOCX", max_bytes=16 * MIB, max_ratio=1000)
    with pytest.raises(archive.ArchiveRejected, match=r"the DOCX expands \d+:1, over the limit"):
        archive.check_zip(out.getvalue(), kind="DOCX", max_bytes=64 * MIB, max_ratio=100)


def test_ordinary_documents_pass_the_archive_checks() -> None:
    archive.check_zip(
        make_docx(["The supplier shall deliver."], [["Role", "Rate"], ["Engineer", "150"]]),
        kind="DOCX",
        max_bytes=256 * MIB,
        max_ratio=100,
    )


def test_a_pdf_with_too_many_pages_is_rejected_without_reading_them(
    vault: Vault, add_document: AddDocument
) -> None:
    bad = add_document(vault, "pages.pdf", make_pdf_with_blank_pages(6000), "application/pdf")

    assert bad.status == ObjectStatus.FAILED
    assert bad.error == "document rejected: the PDF has 6000 pages, over the limit of 5000"


def test_the_page_limit_is_a_setting(vault: Vault, add_document: AddDocument, settings) -> None:
    settings.INGEST_MAX_PAGES = 2
    pdf = make_pdf(["One.", "Two.", "Three."])

    bad = add_document(vault, "three.pdf", pdf, "application/pdf")
    settings.INGEST_MAX_PAGES = 3
    good = add_document(vault, "three-again.pdf", pdf, "application/pdf")

    assert bad.error == "document rejected: the PDF has 3 pages, over the limit of 2"
    assert good.status == ObjectStatus.COMPLETED and good.page_count == 3


def test_a_parser_that_blows_the_memory_limit_fails_with_the_memory_message(
    vault: Vault, add_document: AddDocument, settings
) -> None:
    settings.INGEST_MEMORY_MIB = 128
    large = make_large_docx(paragraphs=1000, words_per_paragraph=3000)  # ~20 MiB of XML, legal

    bad = add_document(vault, "large.docx", large, DOCX)

    assert bad.status == ObjectStatus.FAILED
    assert bad.error == "text extraction exceeded the memory limit of 128 MiB"
    assert not bad.chunks.exists()


def test_a_parser_that_runs_too_long_fails_with_the_time_message(
    vault: Vault, add_document: AddDocument, settings
) -> None:
    settings.INGEST_TIMEOUT_S = 1
    html = b"<html><body>" + b"<p>A <b>clause</b> of the lease.</p>" * 200_000 + b"</body></html>"

    bad = add_document(vault, "long.html", html, "text/html")

    assert bad.status == ObjectStatus.FAILED
    assert bad.error == "text extraction exceeded the time limit of 1 s"


def test_text_beyond_the_output_limit_is_rejected(
    vault: Vault, add_document: AddDocument, settings
) -> None:
    settings.INGEST_MAX_TEXT_BYTES = 10_000
    pages = [f"Page {n}: " + "the tenant shall pay rent. " * 40 for n in range(20)]

    bad = add_document(vault, "long.pdf", make_pdf(pages), "application/pdf")
    plain = add_document(vault, "long.txt", "rent " * 3000)

    assert bad.error == "document rejected: its text is larger than the limit of 9.8 KiB"
    assert plain.error == "document rejected: its text is larger than the limit of 9.8 KiB"


def test_the_worker_reports_an_unreadable_document_as_the_documents_own_error() -> None:
    with pytest.raises(extraction.ExtractionError, match="the DOCX could not be read"):
        bounded.extract(b"PK\x03\x04 broken zip", content_type=DOCX, filename="x.docx")


@pytest.mark.parametrize(
    ("data", "content_type", "filename"),
    [
        (make_pdf(["First page.", "Second page."]), "application/pdf", "a.pdf"),
        (make_docx(["Payment is due in 30 days."]), DOCX, "a.docx"),
        (b"<p>Rent is &pound;5.</p><script>x()</script>", "text/html", "a.html"),
        (("Caf\u00e9 terms. " * 100_000).encode(), "text/plain", "big.txt"),
        (b"# Lease\n\nTerm: five years.", "text/markdown", "a.md"),
    ],
)
def test_the_child_process_extracts_exactly_what_extraction_does(
    data: bytes, content_type: str, filename: str
) -> None:
    here = extraction.extract(data, content_type=content_type, filename=filename)
    there = bounded.extract(data, content_type=content_type, filename=filename)

    assert here is not None and there == here


def test_the_api_shows_a_rejected_bomb_as_that_objects_ingestion_error(
    alice: Member, vault: Vault, bomb: bytes, django_capture_on_commit_callbacks: Any
) -> None:
    upload = SimpleUploadedFile("bomb.docx", bomb, DOCX)
    with django_capture_on_commit_callbacks(execute=True):
        created = alice.client.post(
            f"/vault/{vault.id}/objects", {"file": upload}, format="multipart"
        )
    assert created.status_code == 201, created.json()

    shown = alice.client.get(f"/vault/{vault.id}/objects/{created.json()['id']}").json()
    listed = alice.client.get("/vault")

    assert shown["ingestionStatus"] == "failed"
    assert shown["ingestionError"].startswith(
        "document rejected: DOCX member word/document.xml declares 300 MiB uncompressed"
    )
    assert listed.status_code == 200
