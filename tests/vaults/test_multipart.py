"""Multipart uploads: init, signed part URLs, parts PUT in any order, complete, abort."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import casedev
import httpx
import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from tests.conftest import Member
from vaults import services, tasks
from vaults.models import MultipartPart, MultipartStatus, MultipartUpload, Vault, VaultObject

TEXT = "Clause {n}. The tenant pays rent on the first day of month {n}."
DOCUMENT = "\n\n".join(TEXT.format(n=n) for n in range(1, 40)).encode()  # ~2.5 KB
PART = 1000  # bytes: three parts, the last one shorter


@pytest.fixture(autouse=True)
def small_parts(settings) -> None:
    settings.VAULT_MULTIPART_MIN_PART_BYTES = 100


def sdk(member: Member, live_server) -> casedev.Casedev:
    return casedev.Casedev(api_key=member.raw_key, base_url=live_server.url, max_retries=0)


def _parts(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


def _init(client: casedev.Casedev, vault_id: str, data: bytes, **extra: Any) -> dict[str, Any]:
    body = {
        "filename": "lease.txt",
        "contentType": "text/plain",
        "sizeBytes": len(data),
        "partSizeBytes": PART,
        **extra,
    }
    init: dict[str, Any] = client.post(
        f"/vault/{vault_id}/multipart/init", body=body, cast_to=dict[str, Any]
    )
    return init


def _put_parts(
    client: casedev.Casedev,
    vault_id: str,
    init: dict[str, Any],
    parts: list[bytes],
    order: list[int],
) -> dict[int, str]:
    urls = client.vault.multipart.get_part_urls(
        vault_id,
        object_id=init["objectId"],
        upload_id=init["uploadId"],
        parts=[{"part_number": n, "size_bytes": len(parts[n - 1])} for n in order],
    )
    etags = {}
    for url in urls.urls or []:
        assert url.part_number and url.url
        put = httpx.put(
            url.url, content=parts[url.part_number - 1], headers={"Connection": "close"}
        )
        assert put.status_code == 200, put.text
        etags[url.part_number] = put.headers["ETag"]
    return etags


def _complete(
    client: casedev.Casedev, vault_id: str, init: dict[str, Any], size: int, etags: dict[int, str]
) -> Any:
    body = {
        "objectId": init["objectId"],
        "uploadId": init["uploadId"],
        "sizeBytes": size,
        "parts": [{"partNumber": n, "etag": e} for n, e in etags.items()],
    }
    return client.post(f"/vault/{vault_id}/multipart/complete", body=body, cast_to=object)


@pytest.mark.e2e
def test_the_sdk_uploads_a_file_in_parts_out_of_order_and_it_is_ingested(
    alice: Member, live_server, vault: Vault
) -> None:
    parts = _parts(DOCUMENT, PART)
    assert len(parts) == 3
    with sdk(alice, live_server) as client:
        init = _init(client, vault.id, DOCUMENT)
        assert (init["partCount"], init["partSizeBytes"]) == (3, PART)
        etags = _put_parts(client, vault.id, init, parts, order=[3, 1, 2])
        assert etags[2] == f'"{hashlib.md5(parts[1]).hexdigest()}"'

        done = _complete(client, vault.id, init, len(DOCUMENT), dict(sorted(etags.items())))
        assert done["success"] is True and done["sizeBytes"] == len(DOCUMENT)

        text = client.vault.objects.get_text(init["objectId"], id=vault.id)
        found = client.vault.search(vault.id, query="rent month 37", top_k=1)

    obj = VaultObject.objects.get(id=init["objectId"])
    with obj.file.open("rb") as handle:
        assert handle.read() == DOCUMENT
    assert obj.sha256 == hashlib.sha256(DOCUMENT).hexdigest() and obj.status == "completed"
    assert "month 39" in text.text
    assert found.chunks and found.chunks[0].object_id == obj.id
    upload = MultipartUpload.objects.get(id=init["uploadId"])
    assert upload.status == MultipartStatus.COMPLETED and not upload.parts.exists()
    assert not services.multipart_part_dir(upload.id).exists()


@pytest.mark.e2e
def test_abort_makes_the_part_urls_and_the_upload_unusable(
    alice: Member, live_server, vault: Vault
) -> None:
    parts = _parts(DOCUMENT, PART)
    with sdk(alice, live_server) as client:
        init = _init(client, vault.id, DOCUMENT)
        _put_parts(client, vault.id, init, parts, order=[1])
        urls = client.vault.multipart.get_part_urls(
            vault.id,
            object_id=init["objectId"],
            upload_id=init["uploadId"],
            parts=[{"part_number": 2, "size_bytes": PART}],
        )
        assert services.multipart_part_dir(init["uploadId"]).exists()

        client.vault.multipart.abort(
            vault.id, object_id=init["objectId"], upload_id=init["uploadId"]
        )

        late = httpx.put((urls.urls or [])[0].url or "", content=parts[1])
        with pytest.raises(casedev.NotFoundError):
            _complete(client, vault.id, init, len(DOCUMENT), {1: "x"})

    assert late.status_code == 404 and late.json()["error"]["type"] == "not_found"
    upload = MultipartUpload.objects.get(id=init["uploadId"])
    assert upload.status == MultipartStatus.ABORTED and not MultipartPart.objects.exists()
    assert not VaultObject.objects.filter(id=init["objectId"]).exists()
    assert not services.multipart_part_dir(upload.id).exists()


def test_an_abandoned_upload_is_aborted_by_the_sweep(
    alice: Member, vault: Vault, settings, django_capture_on_commit_callbacks
) -> None:
    settings.VAULT_MULTIPART_ABANDON_S = 3600
    stale, fresh = (_api_init(alice.client, vault.id, sizeBytes=len(DOCUMENT), partSizeBytes=PART)
                    for _ in range(2))  # fmt: skip
    _api_put_all(alice.client, vault.id, stale, _parts(DOCUMENT, PART))
    MultipartUpload.objects.filter(id=stale["uploadId"]).update(
        created_at=timezone.now() - timedelta(hours=2)
    )

    with django_capture_on_commit_callbacks(execute=True):  # the parts leave the disk on commit
        assert tasks.expire_multipart_uploads() == 1

    assert MultipartUpload.objects.get(id=stale["uploadId"]).status == MultipartStatus.ABORTED
    assert not services.multipart_part_dir(stale["uploadId"]).exists()
    assert not VaultObject.objects.filter(id=stale["objectId"]).exists()
    assert MultipartUpload.objects.get(id=fresh["uploadId"]).status == MultipartStatus.ACTIVE
    assert tasks.expire_multipart_uploads() == 0


def _api_init(client: APIClient, vault_id: str, **body: Any) -> dict[str, Any]:
    body = {"filename": "a.bin", "contentType": "application/octet-stream", **body}
    response = client.post(f"/vault/{vault_id}/multipart/init", body, format="json")
    assert response.status_code == 200, response.json()
    return response.json()


def _api_put_all(
    client: APIClient, vault_id: str, init: dict[str, Any], parts: list[bytes]
) -> dict[int, str]:
    body = {
        "objectId": init["objectId"],
        "uploadId": init["uploadId"],
        "parts": [{"partNumber": n, "sizeBytes": len(p)} for n, p in enumerate(parts, 1)],
    }
    urls = client.post(f"/vault/{vault_id}/multipart/part-urls", body, format="json").json()
    etags = {}
    for item in urls["urls"]:
        url = urlsplit(item["url"])
        put = APIClient().put(
            f"{url.path}?{url.query}",
            parts[item["partNumber"] - 1],
            content_type="application/octet-stream",
        )
        assert put.status_code == 200, put.content
        etags[item["partNumber"]] = put["ETag"]
    return etags


def _api_complete(
    client: APIClient, vault_id: str, init: dict[str, Any], size: int, parts: list[dict]
) -> Any:
    body = {
        "objectId": init["objectId"],
        "uploadId": init["uploadId"],
        "sizeBytes": size,
        "parts": parts,
    }
    return client.post(f"/vault/{vault_id}/multipart/complete", body, format="json")


def test_a_wrong_etag_is_refused_naming_the_part(alice: Member, vault: Vault) -> None:
    data = b"x" * 250
    init = _api_init(alice.client, vault.id, sizeBytes=len(data), partSizeBytes=100)
    etags = _api_put_all(alice.client, vault.id, init, _parts(data, 100))

    parts = [{"partNumber": n, "etag": e} for n, e in etags.items()]
    parts[1]["etag"] = '"0123456789abcdef0123456789abcdef"'
    response = _api_complete(alice.client, vault.id, init, len(data), parts)

    assert response.status_code == 400
    assert "parts[1].etag" in response.json()["error"]["fields"]
    assert MultipartUpload.objects.get(id=init["uploadId"]).status == MultipartStatus.ACTIVE
    assert not VaultObject.objects.get(id=init["objectId"]).has_content


def test_a_missing_part_is_refused_naming_it(alice: Member, vault: Vault) -> None:
    data = b"y" * 250
    init = _api_init(alice.client, vault.id, sizeBytes=len(data), partSizeBytes=100)
    etags = _api_put_all(alice.client, vault.id, init, _parts(data, 100))

    parts = [{"partNumber": n, "etag": e} for n, e in etags.items() if n != 2]
    response = _api_complete(alice.client, vault.id, init, len(data), parts)

    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"parts": ["missing part(s): 2"]}
    assert not VaultObject.objects.get(id=init["objectId"]).has_content


def test_a_part_of_the_wrong_size_is_refused(alice: Member, vault: Vault) -> None:
    init = _api_init(alice.client, vault.id, sizeBytes=250, partSizeBytes=100)
    body = {
        "objectId": init["objectId"],
        "uploadId": init["uploadId"],
        "parts": [{"partNumber": 3, "sizeBytes": 100}],  # the last part holds 50
    }

    response = alice.client.post(f"/vault/{vault.id}/multipart/part-urls", body, format="json")

    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"parts[0].sizeBytes": ["must be 50"]}


def test_a_part_url_takes_exactly_its_size(alice: Member, vault: Vault) -> None:
    init = _api_init(alice.client, vault.id, sizeBytes=250, partSizeBytes=100)
    body = {
        "objectId": init["objectId"],
        "uploadId": init["uploadId"],
        "parts": [{"partNumber": 1, "sizeBytes": 100}],
    }
    url = urlsplit(
        alice.client.post(f"/vault/{vault.id}/multipart/part-urls", body, format="json").json()[
            "urls"
        ][0]["url"]
    )

    short = APIClient().put(f"{url.path}?{url.query}", b"z" * 99, content_type="text/plain")
    forged = APIClient().put(
        f"{url.path}?{url.query}".replace("size=100", "size=99"),
        b"z" * 99,
        content_type="text/plain",
    )

    assert short.status_code == 400 and "sizeBytes" in short.json()["error"]["fields"]
    assert forged.status_code == 403
    assert not MultipartPart.objects.exists()


def test_the_upload_limit_applies_to_the_whole_file(alice: Member, vault: Vault, settings) -> None:
    settings.VAULT_MAX_UPLOAD_BYTES = 1000

    response = alice.client.post(
        f"/vault/{vault.id}/multipart/init",
        {
            "filename": "big.bin",
            "contentType": "application/octet-stream",
            "sizeBytes": 1001,
            "partSizeBytes": 100,
        },
        format="json",
    )

    assert response.status_code == 400
    assert "sizeBytes" in response.json()["error"]["fields"]
    assert not MultipartUpload.objects.exists() and not VaultObject.objects.exists()


def test_a_part_body_over_the_limit_is_refused_before_it_is_read(
    alice: Member, vault: Vault, settings
) -> None:
    init = _api_init(alice.client, vault.id, sizeBytes=300, partSizeBytes=100)
    body = {
        "objectId": init["objectId"],
        "uploadId": init["uploadId"],
        "parts": [{"partNumber": 1, "sizeBytes": 100}],
    }
    url = urlsplit(
        alice.client.post(f"/vault/{vault.id}/multipart/part-urls", body, format="json").json()[
            "urls"
        ][0]["url"]
    )
    settings.VAULT_MAX_UPLOAD_BYTES = 50

    response = APIClient().put(f"{url.path}?{url.query}", b"z" * 100, content_type="text/plain")

    assert response.status_code == 413
    assert response.json()["error"]["type"] == "payload_too_large"
    assert not MultipartPart.objects.exists()


@pytest.mark.parametrize("action", ["part-urls", "complete", "abort"])
def test_it_checks_multipart_ownership(
    alice: Member, charlie: Member, vault: Vault, action: str
) -> None:
    init = _api_init(alice.client, vault.id, sizeBytes=100, partSizeBytes=100)
    body: dict[str, Any] = {"objectId": init["objectId"], "uploadId": init["uploadId"]}
    if action == "part-urls":
        body["parts"] = [{"partNumber": 1, "sizeBytes": 100}]
    if action == "complete":
        body.update(sizeBytes=100, parts=[{"partNumber": 1, "etag": "x"}])
    theirs = services.vault_create(organization=charlie.organization, name="Theirs")

    via_alices_vault = charlie.client.post(
        f"/vault/{vault.id}/multipart/{action}", body, format="json"
    )
    via_own_vault = charlie.client.post(
        f"/vault/{theirs.id}/multipart/{action}", body, format="json"
    )

    for response in (via_alices_vault, via_own_vault):
        assert response.status_code == 404, response.content
        assert response.json()["error"]["type"] == "not_found"
    assert MultipartUpload.objects.get(id=init["uploadId"]).status == MultipartStatus.ACTIVE


def test_it_checks_ownership_on_init(alice: Member, charlie: Member, vault: Vault) -> None:
    response = charlie.client.post(
        f"/vault/{vault.id}/multipart/init",
        {"filename": "a", "contentType": "text/plain", "sizeBytes": 10},
        format="json",
    )

    assert response.status_code == 404
    assert not MultipartUpload.objects.exists()
