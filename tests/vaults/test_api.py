"""The Vault API over HTTP (DRF test client): status, body and database state."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from tests.conftest import Member
from tests.vaults.conftest import AddDocument
from tests.vaults.documents import make_pdf
from vaults import signing
from vaults.models import Chunk, ObjectStatus, Vault, VaultObject

NDA_TEXT = (
    "1. Term. This Agreement continues for three years.\n\n"
    "2. Governing Law. This Agreement is governed by the laws of the State of New York."
)


def _path(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def _upload(client: APIClient, vault_id: str, **body: Any) -> dict[str, Any]:
    body = {"filename": "nda.txt", "contentType": "text/plain", **body}
    response = client.post(f"/vault/{vault_id}/upload", body, format="json")
    assert response.status_code == 200, response.json()
    return response.json()


def test_it_creates_lists_retrieves_updates_and_deletes_a_vault(alice: Member) -> None:
    created = alice.client.post(
        "/vault",
        {"name": "Acme matter", "description": "NDAs", "metadata": {"x": 1}},
        format="json",
    )
    assert created.status_code == 201
    vault_id = created.json()["id"]
    assert vault_id.startswith("vault_")
    assert created.json()["enableIndexing"] is True

    listed = alice.client.get("/vault").json()
    assert listed["total"] == 1 and listed["vaults"][0]["id"] == vault_id

    retrieved = alice.client.get(f"/vault/{vault_id}").json()
    assert retrieved["name"] == "Acme matter" and retrieved["filesBucket"] and retrieved["region"]

    patched = alice.client.patch(
        f"/vault/{vault_id}", {"name": "Renamed", "description": None}, format="json"
    )
    assert patched.status_code == 200
    assert patched.json()["name"] == "Renamed" and patched.json()["description"] is None

    deleted = alice.client.delete(f"/vault/{vault_id}")
    assert deleted.status_code == 200
    assert deleted.json()["deletedVault"]["id"] == vault_id
    assert not Vault.objects.filter(id=vault_id).exists()


def test_it_uploads_through_the_signed_url_and_ingests(
    alice: Member, vault: Vault, django_capture_on_commit_callbacks: Any
) -> None:
    upload = _upload(alice.client, vault.id, sizeBytes=len(NDA_TEXT.encode()))
    assert upload["objectId"].startswith("obj_")
    assert upload["expiresIn"] > 0 and upload["next_step"].endswith(f"/ingest/{upload['objectId']}")

    put = APIClient().put(_path(upload["uploadUrl"]), NDA_TEXT.encode(), content_type="text/plain")
    assert put.status_code == 200

    with django_capture_on_commit_callbacks(execute=True):
        ingest = alice.client.post(f"/vault/{vault.id}/ingest/{upload['objectId']}")
    assert ingest.status_code == 200
    assert ingest.json()["status"] == "processing" and ingest.json()["workflowId"]

    obj = VaultObject.objects.get(id=upload["objectId"])
    assert obj.status == ObjectStatus.COMPLETED
    assert obj.size_bytes == len(NDA_TEXT.encode()) and len(obj.sha256) == 64
    assert obj.chunk_count == Chunk.objects.filter(object=obj).count() >= 1
    vault.refresh_from_db()
    assert vault.total_objects == 1 and vault.total_bytes == obj.size_bytes


def test_the_upload_url_refuses_a_wrong_or_expired_signature(alice: Member, vault: Vault) -> None:
    upload = _upload(alice.client, vault.id)
    tampered = _path(upload["uploadUrl"]).replace("signature=", "signature=0")
    assert APIClient().put(tampered, b"x", content_type="text/plain").status_code == 403

    other = _upload(alice.client, vault.id)
    borrowed = _path(upload["uploadUrl"]).replace(upload["objectId"], other["objectId"])
    assert APIClient().put(borrowed, b"x", content_type="text/plain").status_code == 403

    expired = signing.signed_path("PUT", vault.id, upload["objectId"], expires_in=-10)
    assert APIClient().put(expired, b"x", content_type="text/plain").status_code == 403
    assert VaultObject.objects.get(id=upload["objectId"]).size_bytes is None


def test_the_upload_url_needs_a_content_length(alice: Member, vault: Vault) -> None:
    upload = _upload(alice.client, vault.id)
    client = APIClient()
    response = client.generic("PUT", _path(upload["uploadUrl"]), "", CONTENT_LENGTH="")
    assert response.status_code == 411


def test_the_upload_url_enforces_the_declared_size_and_the_limit(
    alice: Member, vault: Vault, settings: Any
) -> None:
    upload = _upload(alice.client, vault.id, sizeBytes=5)
    wrong = APIClient().put(_path(upload["uploadUrl"]), b"123456", content_type="text/plain")
    assert wrong.status_code == 400 and "sizeBytes" in wrong.json()["error"]["fields"]

    settings.VAULT_MAX_UPLOAD_BYTES = 10
    big = _upload(alice.client, vault.id)
    assert (
        APIClient().put(_path(big["uploadUrl"]), b"x" * 11, content_type="text/plain").status_code
        == 413
    )
    too_big = alice.client.post(
        f"/vault/{vault.id}/upload",
        {"filename": "a.txt", "contentType": "text/plain", "sizeBytes": 11},
        format="json",
    )
    assert too_big.status_code == 400 and "sizeBytes" in too_big.json()["error"]["fields"]


def test_an_ingested_object_cannot_be_overwritten(
    alice: Member, vault: Vault, add_document: AddDocument
) -> None:
    upload = _upload(alice.client, vault.id)
    assert (
        APIClient().put(_path(upload["uploadUrl"]), b"first", content_type="text/plain").status_code
        == 200
    )
    from vaults.services import object_ingest_run

    object_ingest_run(object_id=upload["objectId"])
    again = APIClient().put(_path(upload["uploadUrl"]), b"second", content_type="text/plain")
    assert again.status_code == 409


@pytest.mark.parametrize("filename", ["..", "../../etc/passwd", "a/b\\c.txt", "...", "CON"])
def test_hostile_filenames_are_stored_safely(
    alice: Member, vault: Vault, settings: Any, filename: str
) -> None:
    upload = _upload(alice.client, vault.id, filename=filename)
    put = APIClient().put(_path(upload["uploadUrl"]), b"text", content_type="text/plain")

    assert put.status_code == 200
    obj = VaultObject.objects.get(id=upload["objectId"])
    assert obj.file.name is not None
    assert obj.file.name.startswith(f"vaults/{vault.id}/{obj.id}/") and ".." not in obj.file.name
    assert "/" not in obj.filename and obj.filename


def test_ingest_before_the_bytes_arrive_is_a_conflict(alice: Member, vault: Vault) -> None:
    upload = _upload(alice.client, vault.id)
    response = alice.client.post(f"/vault/{vault.id}/ingest/{upload['objectId']}")
    assert response.status_code == 409
    assert "uploadUrl" in response.json()["error"]["message"]


def test_an_unsupported_type_is_stored_without_extraction(
    alice: Member, vault: Vault, django_capture_on_commit_callbacks: Any
) -> None:
    upload = _upload(alice.client, vault.id, filename="clip.gif", contentType="image/gif")
    APIClient().put(_path(upload["uploadUrl"]), b"GIF89a...", content_type="image/gif")

    with django_capture_on_commit_callbacks(execute=True):
        response = alice.client.post(f"/vault/{vault.id}/ingest/{upload['objectId']}")

    assert response.json()["status"] == "stored" and response.json()["workflowId"] is None
    obj = VaultObject.objects.get(id=upload["objectId"])
    assert obj.status == ObjectStatus.STORED and not obj.chunks.exists()


def test_a_corrupt_pdf_fails_its_own_ingest_cleanly(
    alice: Member, vault: Vault, add_document: AddDocument, django_capture_on_commit_callbacks: Any
) -> None:
    healthy = add_document(vault, "lease.txt", "The tenant pays rent monthly.")
    upload = _upload(alice.client, vault.id, filename="broken.pdf", contentType="application/pdf")
    APIClient().put(
        _path(upload["uploadUrl"]), b"%PDF-1.7\n garbage", content_type="application/pdf"
    )

    with django_capture_on_commit_callbacks(execute=True):
        alice.client.post(f"/vault/{vault.id}/ingest/{upload['objectId']}")

    detail = alice.client.get(f"/vault/{vault.id}/objects/{upload['objectId']}").json()
    assert detail["ingestionStatus"] == "failed"
    assert "PDF could not be read" in detail["ingestionError"]
    healthy.refresh_from_db()
    assert healthy.status == ObjectStatus.COMPLETED and healthy.chunks.exists()
    text = alice.client.get(f"/vault/{vault.id}/objects/{upload['objectId']}/text")
    assert text.status_code == 409


def test_objects_list_retrieve_text_chunks_pages_and_download(
    alice: Member, vault: Vault, add_document: AddDocument
) -> None:
    pdf = add_document(
        vault, "nda.pdf", make_pdf(["Preamble of the agreement.", "Indemnity clause."])
    )

    listed = alice.client.get(f"/vault/{vault.id}/objects").json()
    assert listed["vaultId"] == vault.id and listed["count"] == 1
    assert listed["objects"][0]["ingestionStatus"] == "completed"

    detail = alice.client.get(f"/vault/{vault.id}/objects/{pdf.id}").json()
    assert detail["pageCount"] == 2 and detail["contentType"] == "application/pdf"
    download = APIClient().get(_path(detail["downloadUrl"]))
    assert download.status_code == 200 and download.getvalue().startswith(b"%PDF")

    text = alice.client.get(f"/vault/{vault.id}/objects/{pdf.id}/text").json()
    assert "Indemnity clause." in text["text"] and text["metadata"]["object_id"] == pdf.id

    chunks = alice.client.get(f"/vault/{vault.id}/objects/{pdf.id}/chunks?start=0&end=1").json()
    assert [(c["index"], c["page_start"]) for c in chunks["chunks"]] == [(0, 1), (1, 2)]

    pages = alice.client.get(f"/vault/{vault.id}/objects/{pdf.id}/pages?start=2").json()
    assert [p["page"] for p in pages["pages"]] == [2] and "Indemnity" in pages["pages"][0]["text"]

    direct = alice.client.get(f"/vault/{vault.id}/objects/{pdf.id}/download")
    assert direct.status_code == 200 and direct["Content-Type"] == "application/pdf"


def test_it_updates_and_deletes_an_object(
    alice: Member, vault: Vault, add_document: AddDocument
) -> None:
    obj = add_document(vault, "a.txt", "Some text.")

    patched = alice.client.patch(
        f"/vault/{vault.id}/objects/{obj.id}",
        {"filename": "b.txt", "metadata": {"tags": ["nda"]}, "path": "/Deals/2025"},
        format="json",
    )
    assert patched.status_code == 200
    assert patched.json()["filename"] == "b.txt" and patched.json()["path"] == "/Deals/2025"

    deleted = alice.client.delete(f"/vault/{vault.id}/objects/{obj.id}")
    assert deleted.status_code == 200 and deleted.json()["deletedObject"]["id"] == obj.id
    assert not VaultObject.objects.filter(id=obj.id).exists()
    assert not Chunk.objects.filter(object_id=obj.id).exists()


def test_the_multipart_upload_stores_and_ingests_in_one_step(
    alice: Member, vault: Vault, django_capture_on_commit_callbacks: Any
) -> None:
    upload = SimpleUploadedFile("memo.md", b"# Memo\n\nThe lease ends in 2030.", "text/markdown")
    with django_capture_on_commit_callbacks(execute=True):
        response = alice.client.post(
            f"/vault/{vault.id}/objects", {"file": upload, "path": "/memos"}, format="multipart"
        )
    assert response.status_code == 201, response.json()
    obj = VaultObject.objects.get(id=response.json()["id"])
    assert obj.status == ObjectStatus.COMPLETED and obj.filename == "memo.md"


def test_search_answers_the_sdk_shape(
    alice: Member, vault: Vault, add_document: AddDocument
) -> None:
    obj = add_document(vault, "nda.txt", NDA_TEXT)
    add_document(vault, "other.txt", "Nothing relevant at all.")

    response = alice.client.post(
        f"/vault/{vault.id}/search",
        {
            "query": "which law governs?",
            "method": "hybrid",
            "topK": 3,
            "filters": {"object_id": obj.id},
        },
        format="json",
    )

    assert response.status_code == 200
    body = response.json()
    assert body["method"] == "fulltext" and body["vault_id"] == vault.id
    assert body["chunks"][0]["object_id"] == obj.id and "New York" in body["chunks"][0]["text"]
    assert body["chunks"][0]["score"] > 0
    assert [s["id"] for s in body["sources"]] == [obj.id]


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("post", "/vault", {}, "name"),
        ("post", "/vault", {"name": "x", "enableIndexing": "maybe"}, "enableIndexing"),
        ("post", "/vault", {"name": "x", "groupId": "grp_1"}, "groupId"),
        ("post", "/vault/{vault}/upload", {"contentType": "text/plain"}, "filename"),
        (
            "post",
            "/vault/{vault}/upload",
            {"filename": "a", "contentType": "text/plain", "sizeBytes": -1},
            "sizeBytes",
        ),
        ("post", "/vault/{vault}/search", {}, "query"),
        ("post", "/vault/{vault}/search", {"query": "x", "topK": 0}, "topK"),
        ("post", "/vault/{vault}/search", {"query": "x", "method": "telepathy"}, "method"),
        (
            "post",
            "/vault/{vault}/search",
            {"query": "x", "filters": {"object_id": 5}},
            "filters.object_id",
        ),
        ("patch", "/vault/{vault}", {"name": ""}, "name"),
        ("post", "/vault/{vault}/objects", {}, "file"),
    ],
)
def test_bad_input_is_a_4xx_naming_the_field(
    alice: Member, vault: Vault, method: str, path: str, body: dict[str, Any], field: str
) -> None:
    fmt = "multipart" if path.endswith("/objects") else "json"
    response = getattr(alice.client, method)(path.format(vault=vault.id), body, format=fmt)
    assert response.status_code == 400, response.json()
    assert field in response.json()["error"]["fields"]


def test_chunk_ranges_are_limited(alice: Member, vault: Vault, add_document: AddDocument) -> None:
    obj = add_document(vault, "a.txt", "Text.")
    response = alice.client.get(f"/vault/{vault.id}/objects/{obj.id}/chunks?start=0&end=50")
    assert response.status_code == 400 and "end" in response.json()["error"]["fields"]


def test_a_storage_only_vault_stores_and_cannot_be_searched(
    alice: Member, add_document: AddDocument
) -> None:
    created = alice.client.post(
        "/vault", {"name": "Archive", "enableIndexing": False}, format="json"
    )
    vault = Vault.objects.get(id=created.json()["id"])
    obj = add_document(vault, "a.txt", "Some text.")
    assert obj.status == ObjectStatus.STORED
    response = alice.client.post(f"/vault/{vault.id}/search", {"query": "text"}, format="json")
    assert response.status_code == 400


def test_the_api_needs_a_key(anon: APIClient, vault: Vault) -> None:
    assert anon.get("/vault").status_code == 401
    assert anon.get(f"/vault/{vault.id}").status_code == 401
