"""The casedev 0.71.0 SDK, unchanged, against a live test server."""

from __future__ import annotations

import casedev
import httpx
import pytest

from tests.conftest import Member
from tests.vaults.documents import make_pdf

pytestmark = pytest.mark.e2e

PAGES = [
    "MASTER AGREEMENT\n1. Services. The provider performs the services.",
    "2. Payment. Invoices are due within thirty days.",
    "3. Limitation of Liability. The aggregate liability of either party shall not exceed "
    "the fees paid in the twelve months before the claim.",
]


def sdk(member: Member, live_server) -> casedev.Casedev:
    # Used as a context manager: closing the client ends its keep-alive connection, so the
    # live server's request thread lets go of its database connection.
    return casedev.Casedev(api_key=member.raw_key, base_url=live_server.url, max_retries=0)


def test_the_sdk_uploads_ingests_lists_reads_and_searches(alice: Member, live_server) -> None:
    with sdk(alice, live_server) as client:
        check_the_whole_flow(client)


def check_the_whole_flow(client: casedev.Casedev) -> None:
    pdf = make_pdf(PAGES)

    vault = client.vault.create(name="SDK matter", description="uploaded with the SDK")
    assert vault.id and vault.id.startswith("vault_") and vault.name == "SDK matter"

    upload = client.vault.upload(
        vault.id, filename="msa.pdf", content_type="application/pdf", size_bytes=len(pdf)
    )
    assert upload.object_id and upload.upload_url and upload.expires_in
    put = httpx.put(
        upload.upload_url,
        content=pdf,
        headers={"Content-Type": "application/pdf", "Connection": "close"},
    )
    assert put.status_code == 200

    ingest = client.vault.ingest(upload.object_id, id=vault.id)
    assert ingest.object_id == upload.object_id and ingest.status == "processing"

    listed = client.vault.objects.list(vault.id)
    assert listed.count == 1 and listed.objects[0].ingestion_status == "completed"
    obj = client.vault.objects.retrieve(upload.object_id, id=vault.id)
    assert obj.filename == "msa.pdf" and obj.page_count == 3 and obj.size_bytes == len(pdf)
    assert httpx.get(obj.download_url, headers={"Connection": "close"}).content == pdf
    # The SDK asks for application/octet-stream; */* and no Accept at all work too.
    assert client.vault.objects.download(upload.object_id, id=vault.id).read() == pdf
    for accept in ("*/*", "application/octet-stream", "application/pdf"):
        download = client.get(
            f"/vault/{vault.id}/objects/{upload.object_id}/download",
            cast_to=httpx.Response,
            options={"headers": {"Accept": accept}},
        )
        assert download.content == pdf

    text = client.vault.objects.get_text(upload.object_id, id=vault.id)
    assert "Invoices are due within thirty days." in text.text
    assert text.metadata.chunk_count == 3

    found = client.vault.search(vault.id, query="What is the cap on liability?", top_k=3)
    assert found.method == "fulltext" and found.vault_id == vault.id
    assert found.chunks
    best = found.chunks[0]
    assert best.object_id == upload.object_id and best.page_start == best.page_end == 3
    assert "shall not exceed" in (best.text or "")
    assert found.sources and found.sources[0].filename == "msa.pdf"

    chunks = client.vault.objects.get_chunks(upload.object_id, id=vault.id, start=0, end=2)
    assert [c.page_start for c in chunks.chunks] == [1, 2, 3]

    assert [v.id for v in client.vault.list().vaults or []] == [vault.id]
    assert client.vault.retrieve(vault.id).total_objects == 1
    client.vault.update(vault.id, name="Renamed")
    assert client.vault.delete(vault.id).success is True


def test_the_sdk_sees_another_organizations_vault_as_not_found(
    alice: Member,
    charlie: Member,
    live_server,
) -> None:
    with sdk(alice, live_server) as owner, sdk(charlie, live_server) as outsider:
        vault = owner.vault.create(name="Private")

        with pytest.raises(casedev.NotFoundError):
            outsider.vault.retrieve(vault.id or "")
        with pytest.raises(casedev.BadRequestError):
            owner.vault.search(vault.id or "", query="x", top_k=0)
