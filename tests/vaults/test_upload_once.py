"""A signed upload URL takes one upload: a second PUT is a 409 and the first content stays."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from django.core.files.storage import default_storage
from rest_framework.test import APIClient

from agentexec.errors import ConflictError
from tests.conftest import Member
from vaults import services
from vaults.models import Vault, VaultObject


def _upload_url(member: Member, vault: Vault) -> tuple[str, str]:
    body = {"filename": "nda.txt", "contentType": "text/plain"}
    upload = member.client.post(f"/vault/{vault.id}/upload", body, format="json").json()
    parts = urlsplit(upload["uploadUrl"])
    return upload["objectId"], f"{parts.path}?{parts.query}"


def test_a_second_put_to_the_same_url_is_a_409_and_keeps_the_first_content(
    alice: Member, vault: Vault
) -> None:
    object_id, url = _upload_url(alice, vault)
    first = APIClient().put(url, b"the signed original", content_type="text/plain")
    assert first.status_code == 200

    second = APIClient().put(url, b"a replacement", content_type="text/plain")
    assert second.status_code == 409
    assert second.json()["error"]["type"] == "conflict"
    assert "one upload" in second.json()["error"]["message"]

    obj = VaultObject.objects.get(id=object_id)
    assert obj.size_bytes == len(b"the signed original")
    with obj.file.open("rb") as f:
        assert f.read() == b"the signed original"


def test_of_two_racing_uploads_exactly_one_wins(alice: Member, vault: Vault) -> None:
    """Both requests loaded the object before either stored: the compare-and-set decides, and
    the loser's file is removed."""
    object_id, _ = _upload_url(alice, vault)
    seen_by_first = VaultObject.objects.get(id=object_id)
    seen_by_second = VaultObject.objects.get(id=object_id)

    services.object_content_store(obj=seen_by_first, chunks=[b"first"])
    files_before = set(default_storage.listdir(f"vaults/{vault.id}/{object_id}")[1])
    assert len(files_before) == 1
    with pytest.raises(ConflictError):
        services.object_content_store(obj=seen_by_second, chunks=[b"second"])

    obj = VaultObject.objects.get(id=object_id)
    with obj.file.open("rb") as f:
        assert f.read() == b"first"
    assert set(default_storage.listdir(f"vaults/{vault.id}/{object_id}")[1]) == files_before
