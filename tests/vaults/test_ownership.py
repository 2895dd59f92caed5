"""Another organization's vault and object ids answer 404 on every endpoint, and change
nothing."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Member
from tests.vaults.conftest import AddDocument
from vaults.models import Vault, VaultObject

ENDPOINTS = [
    ("get", "/vault/{vault}", None),
    ("patch", "/vault/{vault}", {"name": "mine now"}),
    ("delete", "/vault/{vault}", None),
    ("post", "/vault/{vault}/upload", {"filename": "a.txt", "contentType": "text/plain"}),
    ("post", "/vault/{vault}/upload/{obj}/confirm", {"success": True, "sizeBytes": 1}),
    ("post", "/vault/{vault}/ingest/{obj}", None),
    ("post", "/vault/{vault}/search", {"query": "indemnity"}),
    ("get", "/vault/{vault}/objects", None),
    ("get", "/vault/{vault}/objects/{obj}", None),
    ("patch", "/vault/{vault}/objects/{obj}", {"filename": "x.txt"}),
    ("delete", "/vault/{vault}/objects/{obj}", None),
    ("get", "/vault/{vault}/objects/{obj}/text", None),
    ("get", "/vault/{vault}/objects/{obj}/pages", None),
    ("get", "/vault/{vault}/objects/{obj}/chunks", None),
    ("get", "/vault/{vault}/objects/{obj}/download", None),
    ("post", "/vault/{vault}/objects/{obj}/presigned-url", {"operation": "GET"}),
]


@pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS)
def test_it_checks_ownership(
    alice: Member,
    charlie: Member,
    vault: Vault,
    add_document: AddDocument,
    method: str,
    path: str,
    body: dict[str, Any] | None,
) -> None:
    obj = add_document(vault, "nda.txt", "The indemnity clause.")

    response = getattr(charlie.client, method)(
        path.format(vault=vault.id, obj=obj.id), body, format="json"
    )

    assert response.status_code == 404, response.content
    assert response.json()["error"]["type"] == "not_found"
    assert Vault.objects.get(id=vault.id).name == vault.name
    assert VaultObject.objects.get(id=obj.id).filename == "nda.txt"


def test_bob_shares_alices_vaults(alice: Member, bob: Member, vault: Vault) -> None:
    assert bob.client.get(f"/vault/{vault.id}").status_code == 200


def test_charlie_lists_only_his_own_vaults(alice: Member, charlie: Member, vault: Vault) -> None:
    assert charlie.client.get("/vault").json() == {"vaults": [], "total": 0}


@pytest.mark.parametrize(
    "path", ["/vault/{vault}/objects/{obj}", "/vault/{vault}/objects/{obj}/text"]
)
def test_an_object_is_only_found_through_its_own_vault(
    alice: Member, vault: Vault, add_document: AddDocument, path: str
) -> None:
    from vaults.services import vault_create

    other = vault_create(organization=alice.organization, name="Other matter")
    obj = add_document(vault, "nda.txt", "Text.")
    assert alice.client.get(path.format(vault=other.id, obj=obj.id)).status_code == 404
