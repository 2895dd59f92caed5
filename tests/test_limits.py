"""Body limits: too large is a 413 before the body is read, too deep is a 400, never a 500."""

from __future__ import annotations

import io
import json
from typing import Any, cast

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from agentexec.apps import check_body_limit
from agentexec.errors import PayloadTooLarge
from agentexec.parsers import MAX_JSON_DEPTH, JSONParser
from runs.models import Agent, Run
from tests.factories import AgentFactory
from vaults.models import Vault, VaultObject


def _nested(depth: int) -> Any:
    value: Any = "leaf"
    for _ in range(depth):
        value = [value]
    return value


def _bodies(alice) -> dict[str, dict[str, Any]]:
    agent = cast(Agent, AgentFactory(organization=alice.organization))
    return {
        "/agent/v1/execute": {"prompt": "hi"},
        "/agent/v1/run": {"agentId": agent.id, "prompt": "hi"},
        "/vault": {"name": "Matter"},
    }


def _raw_post(client: APIClient, path: str, body: bytes) -> Any:
    return client.generic("POST", path, body, content_type="application/json")  # type: ignore[arg-type]


@pytest.mark.parametrize("path", ["/agent/v1/execute", "/agent/v1/run", "/vault"])
def test_a_body_over_the_limit_is_a_413_naming_the_limit(alice, settings, path):
    settings.MAX_JSON_BODY_BYTES = 1000
    body = {**_bodies(alice)[path], "padding": "x" * 2000}
    response = _raw_post(alice.client, path, json.dumps(body).encode())
    assert response.status_code == 413
    error = response.json()["error"]
    assert error["type"] == "payload_too_large"
    assert "1000 bytes (MAX_JSON_BODY_BYTES)" in error["message"]
    assert not Run.objects.exists() and not Vault.objects.exists()


@pytest.mark.parametrize("path", ["/agent/v1/execute", "/agent/v1/run", "/vault"])
@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 1000, 100_000])
def test_a_body_nested_too_deep_is_a_400_naming_the_body(alice, path, depth):
    # Built by hand: json.dumps itself gives up on deep nesting.
    text = json.dumps(_bodies(alice)[path])[:-1] + ', "metadata": '
    text += "[" * depth + '"leaf"' + "]" * depth + "}"
    response = _raw_post(alice.client, path, text.encode())
    assert response.status_code == 400, response.content[:200]
    error = response.json()["error"]
    assert error["type"] == "invalid_request"
    assert error["fields"] == {"body": [f"nested deeper than {MAX_JSON_DEPTH} levels"]}
    assert not Run.objects.exists() and not Vault.objects.exists()


def test_a_body_at_the_nesting_limit_is_accepted(alice):
    body = {"name": "Matter", "metadata": {"deep": _nested(MAX_JSON_DEPTH - 2)}}
    response = alice.client.post("/vault", body, format="json")
    assert response.status_code == 201
    assert Vault.objects.get().metadata == body["metadata"]


def test_malformed_json_stays_a_400(alice):
    response = _raw_post(alice.client, "/vault", b'{"name": ')
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "parse_error"


def test_the_parser_caps_a_body_whose_length_was_not_declared(settings):
    settings.MAX_JSON_BODY_BYTES = 100
    stream = io.BytesIO(b'{"prompt": "' + b"x" * 1000 + b'"}')
    with pytest.raises(PayloadTooLarge, match="100 bytes"):
        JSONParser().parse(stream, "application/json", {})
    assert stream.tell() == 101  # it stopped reading just past the limit


def test_file_uploads_keep_their_own_limit(alice, settings):
    settings.MAX_JSON_BODY_BYTES = 1000
    vault = Vault.objects.create(organization=alice.organization, name="Matter")
    document = b"clause " * 1000  # 7000 bytes: over the JSON limit, under the upload limit
    response = alice.client.post(
        f"/vault/{vault.id}/objects",
        {"file": SimpleUploadedFile("nda.txt", document, "text/plain"), "autoIndex": "false"},
        format="multipart",
    )
    assert response.status_code == 201, response.json()
    assert VaultObject.objects.get().size_bytes == len(document)

    settings.VAULT_MAX_UPLOAD_BYTES = 2000  # multipart: upload limit + JSON limit, declared
    response = alice.client.post(
        f"/vault/{vault.id}/objects",
        {"file": SimpleUploadedFile("nda.txt", document, "text/plain")},
        format="multipart",
    )
    assert response.status_code == 413
    assert "VAULT_MAX_UPLOAD_BYTES" in response.json()["error"]["message"]
    assert VaultObject.objects.count() == 1


def test_the_signed_put_is_not_held_to_the_json_limit(alice, settings):
    settings.MAX_JSON_BODY_BYTES = 1000
    vault = Vault.objects.create(organization=alice.organization, name="Matter")
    upload = alice.client.post(
        f"/vault/{vault.id}/upload",
        {"filename": "a.txt", "contentType": "text/plain"},
        format="json",
    ).json()
    url = upload["uploadUrl"].removeprefix("http://testserver")
    response = APIClient().put(url, b"x" * 5000, content_type="text/plain")
    assert response.status_code == 200
    assert VaultObject.objects.get().size_bytes == 5000


def test_a_json_limit_below_the_longest_prompt_is_a_system_check_error(settings):
    assert check_body_limit() == []
    settings.MAX_JSON_BODY_BYTES = settings.MAX_PROMPT_CHARS
    errors = check_body_limit()
    assert [e.id for e in errors] == ["agentexec.E001"]
    assert "MAX_PROMPT_CHARS" in errors[0].msg


def test_a_declared_length_over_the_limit_is_refused_before_reading(alice, settings):
    settings.MAX_JSON_BODY_BYTES = 1000
    response = alice.client.generic(
        "POST", "/vault", b'{"name": "Matter"}', "application/json", CONTENT_LENGTH="200000000"
    )
    assert response.status_code == 413
    assert not Vault.objects.exists()


@pytest.mark.parametrize("body", ["null", "3", '"text"', "true"])
def test_a_scalar_json_body_is_a_400_not_a_500(alice, body):
    response = alice.client.post("/agent/v1/execute", data=body, content_type="application/json")
    assert response.status_code == 400
