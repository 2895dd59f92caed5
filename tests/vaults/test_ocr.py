"""OCR at ingest: scanned PDF pages and images are read by Tesseract in the parser sandbox, page
by page; pages with a text layer are left alone; GET .../ocr-words answers the words."""

from __future__ import annotations

import pytest

from tests.conftest import Member
from tests.vaults.conftest import AddDocument
from tests.vaults.documents import (
    make_image,
    make_pdf,
    make_pdf_with_a_scanned_page,
    make_scanned_pdf,
)
from vaults import selectors, services
from vaults.models import ObjectOcrPage, ObjectStatus, Vault

LEASE = [
    ["SCANNED LEASE AGREEMENT", "The tenant pays rent monthly."],
    ["Termination. Either party may", "terminate with ninety days notice."],
]


def test_a_scanned_pdf_becomes_searchable_with_its_page_numbers(
    vault: Vault, add_document: AddDocument
) -> None:
    obj = add_document(vault, "lease-scan.pdf", make_scanned_pdf(LEASE), "application/pdf")

    assert obj.status == ObjectStatus.COMPLETED, obj.error
    assert obj.page_count == 2
    found = selectors.chunk_search(query="ninety days notice", vault_ids=[vault.id])
    assert found and found[0].chunk.object_id == obj.id
    assert found[0].chunk.page_start == found[0].chunk.page_end == 2
    assert "ninety days notice" in found[0].chunk.text
    assert list(obj.ocr_pages.values_list("page", "word_start")) == [(1, 0), (2, 8)]


def test_pages_with_a_text_layer_are_not_ocrd(vault: Vault, add_document: AddDocument) -> None:
    pdf = make_pdf_with_a_scanned_page("1. Services. The provider performs the services.", LEASE[1])

    obj = add_document(vault, "mixed.pdf", pdf, "application/pdf")

    assert obj.status == ObjectStatus.COMPLETED, obj.error
    assert list(obj.ocr_pages.values_list("page", flat=True)) == [2]
    pages = selectors.page_texts(selectors.object_text(obj=obj))
    assert pages[0] == (1, "1. Services. The provider performs the services.")
    assert "terminate with ninety days notice." in pages[1][1]


@pytest.mark.parametrize(("filename", "content_type", "format"), [
    ("notice.png", "image/png", "PNG"),
    ("notice.jpg", "image/jpeg", "JPEG"),
    ("notice.tiff", "application/octet-stream", "TIFF"),
])  # fmt: skip
def test_images_are_read_by_ocr(
    vault: Vault, add_document: AddDocument, filename: str, content_type: str, format: str
) -> None:
    obj = add_document(vault, filename, make_image(LEASE[0], format), content_type)

    assert obj.status == ObjectStatus.COMPLETED, obj.error
    assert obj.page_count == 1
    assert "tenant pays rent monthly" in selectors.object_text(obj=obj).text


def test_ocr_languages_is_a_setting(vault: Vault, add_document: AddDocument, settings) -> None:
    settings.OCR_LANGUAGES = "xyz"

    obj = add_document(vault, "scan.pdf", make_scanned_pdf(LEASE[:1]), "application/pdf")

    assert obj.status == ObjectStatus.FAILED
    assert "OCR of page 1 failed" in (obj.error or "") and "xyz" in (obj.error or "")


def test_with_ocr_off_a_scanned_pdf_fails_and_an_image_is_stored(
    vault: Vault, add_document: AddDocument, settings
) -> None:
    settings.OCR_ENABLED = False

    scan = add_document(vault, "scan.pdf", make_scanned_pdf(LEASE[:1]), "application/pdf")
    image = add_document(vault, "scan.png", make_image(LEASE[0]), "image/png")

    assert scan.status == ObjectStatus.FAILED and "OCR_ENABLED" in (scan.error or "")
    assert image.status == ObjectStatus.STORED


def test_ocr_words_answers_words_with_boxes_and_confidence(
    alice: Member, vault: Vault, add_document: AddDocument
) -> None:
    obj = add_document(vault, "lease-scan.pdf", make_scanned_pdf(LEASE), "application/pdf")

    response = alice.client.get(f"/vault/{vault.id}/objects/{obj.id}/ocr-words")

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["objectId"] == obj.id and body["pageCount"] == 2 and body["createdAt"]
    words = [w for page in body["pages"] for w in page["words"]]
    assert (
        body["totalWords"]
        == len(words)
        == ObjectOcrPage.objects.get(object=obj, page=2).word_start + len(body["pages"][1]["words"])
    )
    assert [p["page"] for p in body["pages"]] == [1, 2]
    assert [w["text"] for w in body["pages"][0]["words"][:3]] == ["SCANNED", "LEASE", "AGREEMENT"]
    assert [w["wordIndex"] for w in words] == list(range(len(words)))
    for word in words:
        x0, y0, x1, y1 = word["bbox"]
        assert 0 <= x0 < x1 <= 1 and 0 <= y0 < y1 <= 1
        assert 0 < word["confidence"] <= 1
    # Page 2's text starts lower on its page than nothing: its first word is at the top left.
    assert body["pages"][1]["words"][0]["bbox"][0] < 0.2


def test_ocr_words_filters_by_page_and_word_range(
    alice: Member, vault: Vault, add_document: AddDocument
) -> None:
    obj = add_document(vault, "lease-scan.pdf", make_scanned_pdf(LEASE), "application/pdf")
    path = f"/vault/{vault.id}/objects/{obj.id}/ocr-words"

    page_two = alice.client.get(path, {"page": 2}).json()
    some = alice.client.get(path, {"wordStart": 6, "wordEnd": 9}).json()

    assert [p["page"] for p in page_two["pages"]] == [2]
    assert page_two["pages"][0]["words"][0]["text"] == "Termination."
    assert [w["wordIndex"] for p in some["pages"] for w in p["words"]] == [6, 7, 8, 9]
    assert [p["page"] for p in some["pages"]] == [1, 2]
    bad = alice.client.get(path, {"wordStart": 5, "wordEnd": 2})
    assert bad.status_code == 400 and "wordEnd" in bad.json()["error"]["fields"]


def test_ocr_words_of_a_document_with_a_text_layer_is_empty(
    alice: Member, vault: Vault, add_document: AddDocument
) -> None:
    obj = add_document(vault, "msa.pdf", make_pdf(["1. Services."]), "application/pdf")

    body = alice.client.get(f"/vault/{vault.id}/objects/{obj.id}/ocr-words").json()

    assert body == {
        "objectId": obj.id, "pageCount": 1, "totalWords": 0, "createdAt": None, "pages": [],
    }  # fmt: skip


def test_ocr_words_of_an_object_not_ingested_is_a_409(alice: Member, vault: Vault) -> None:
    obj = services.object_create(vault=vault, filename="a.pdf", content_type="application/pdf")

    response = alice.client.get(f"/vault/{vault.id}/objects/{obj.id}/ocr-words")

    assert response.status_code == 409
    assert "ingestionStatus" in response.json()["error"]["message"]
