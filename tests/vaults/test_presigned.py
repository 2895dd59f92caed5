"""Presigned URLs carry every field casedev 0.71.0 declares, and do what their operation says;
routes not built answer the JSON 501 naming the feature."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlsplit

import casedev
import pytest
from rest_framework.test import APIClient

from tests.conftest import Member
from tests.runs.test_sdk import missing_fields
from tests.vaults.conftest import AddDocument
from vaults import services
from vaults.models import Vault, VaultObject


def _path(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


@pytest.mark.e2e
@pytest.mark.parametrize("operation", ["GET", "PUT", "HEAD", "DELETE"])
def test_presigned_urls_carry_every_sdk_field(
    alice: Member, live_server, vault: Vault, add_document: AddDocument, operation: str
) -> None:
    obj = add_document(vault, "nda.txt", "Confidential.")
    with casedev.Casedev(api_key=alice.raw_key, base_url=live_server.url, max_retries=0) as c:
        signed = c.vault.objects.create_presigned_url(
            obj.id,
            id=vault.id,
            operation=operation,  # type: ignore[arg-type]
            expires_in=600,
        )

    assert missing_fields(signed) == []
    assert signed.operation == operation and signed.expires_in == 600
    assert (
        signed.expires_at
        and abs((signed.expires_at - datetime.now(UTC)).total_seconds() - 600) < 60
    )
    assert signed.metadata and signed.metadata.bucket == f"local:vaults/{vault.id}"
    assert isinstance(signed.instructions, dict) and signed.instructions["method"] == operation


def test_a_presigned_put_takes_exactly_the_size_it_was_signed_for(
    alice: Member, vault: Vault
) -> None:
    obj = services.object_create(vault=vault, filename="a.txt", content_type="text/plain")
    signed = alice.client.post(
        f"/vault/{vault.id}/objects/{obj.id}/presigned-url",
        {"operation": "PUT", "sizeBytes": 5},
        format="json",
    ).json()
    assert signed["instructions"]["headers"] == {
        "Content-Type": "text/plain",
        "Content-Length": "5",
    }

    wrong = APIClient().put(_path(signed["presignedUrl"]), b"four", content_type="text/plain")
    right = APIClient().put(_path(signed["presignedUrl"]), b"fives", content_type="text/plain")

    assert wrong.status_code == 400 and "sizeBytes" in wrong.json()["error"]["fields"]
    assert right.status_code == 200
    assert VaultObject.objects.get(id=obj.id).size_bytes == 5


def test_a_presigned_delete_deletes_the_object_and_head_reads_it(
    alice: Member, vault: Vault, add_document: AddDocument
) -> None:
    obj = add_document(vault, "nda.txt", "Confidential.")
    sign = lambda op: alice.client.post(  # noqa: E731
        f"/vault/{vault.id}/objects/{obj.id}/presigned-url", {"operation": op}, format="json"
    ).json()["presignedUrl"]

    head = APIClient().head(_path(sign("HEAD")))
    get_url_for_delete = APIClient().delete(_path(sign("GET")))
    deleted = APIClient().delete(_path(sign("DELETE")))

    assert head.status_code == 200 and head["Content-Type"].startswith("text/plain")
    assert get_url_for_delete.status_code == 403
    assert deleted.status_code == 204
    assert not VaultObject.objects.filter(id=obj.id).exists()


@pytest.mark.parametrize(
    ("method", "path", "feature"),
    [
        ("get", "/vault/{vault}/graphrag/stats", "GraphRAG"),
        ("post", "/vault/{vault}/graphrag/init", "GraphRAG"),
        ("post", "/vault/{vault}/graphrag/obj_1", "GraphRAG"),
    ],
)
def test_graphrag_answers_the_json_501_naming_it(
    alice: Member, vault: Vault, method: str, path: str, feature: str
) -> None:
    response = getattr(alice.client, method)(path.format(vault=vault.id), {}, format="json")

    assert response.status_code == 501
    error = response.json()["error"]
    assert error["type"] == "not_supported" and feature in error["message"]


def test_an_unknown_vault_path_answers_the_json_404(alice: Member, vault: Vault) -> None:
    response = alice.client.post(f"/vault/{vault.id}/no-such-thing", {}, format="json")
    slash = alice.client.get(f"/vault/{vault.id}/")

    assert response.status_code == 404 and response.json()["error"]["type"] == "not_found"
    assert (
        slash.status_code == 404 and f"use /vault/{vault.id}." in slash.json()["error"]["message"]
    )
