"""GET /openapi.json: a valid OpenAPI 3.1 document of the whole API; /docs renders it."""

import pytest
from openapi_spec_validator import validate
from openapi_spec_validator.validation import OpenAPIV31SpecValidator

OPERATIONS = {
    "/agent/v1/execute": {"post"},
    "/agent/v1/models": {"get"},
    "/agent/v1/tools": {"get"},
    "/agent/v1/sandbox-providers": {"get"},
    "/agent/v1/agents": {"get", "post"},
    "/agent/v1/agents/{agent_id}": {"get", "patch", "delete"},
    "/agent/v1/run": {"get", "post"},
    "/agent/v1/run/{run_id}/exec": {"post"},
    "/agent/v1/run/{run_id}/status": {"get"},
    "/agent/v1/run/{run_id}/details": {"get"},
    "/agent/v1/run/{run_id}/cancel": {"post"},
    "/agent/v1/run/{run_id}/watch": {"post"},
    "/agent/v1/run/{run_id}/events": {"get"},
    "/vault": {"get", "post"},
    "/vault/{vault_id}": {"get", "patch", "delete"},
    "/vault/{vault_id}/upload": {"post"},
    "/vault/{vault_id}/upload/{object_id}/confirm": {"post"},
    "/vault/{vault_id}/ingest/{object_id}": {"post"},
    "/vault/{vault_id}/search": {"post"},
    "/vault/{vault_id}/objects": {"get", "post"},
    "/vault/{vault_id}/objects/{object_id}": {"get", "patch", "delete"},
    "/vault/{vault_id}/objects/{object_id}/text": {"get"},
    "/vault/{vault_id}/objects/{object_id}/pages": {"get"},
    "/vault/{vault_id}/objects/{object_id}/chunks": {"get"},
    "/vault/{vault_id}/objects/{object_id}/download": {"get"},
    "/vault/{vault_id}/objects/{object_id}/presigned-url": {"post"},
    "/vault/groups": {"get", "post"},
    "/vault/groups/{group_id}": {"patch", "delete"},
    "/vault/{vault_id}/multipart/init": {"post"},
    "/vault/{vault_id}/multipart/part-urls": {"post"},
    "/vault/{vault_id}/multipart/complete": {"post"},
    "/vault/{vault_id}/multipart/abort": {"post"},
    "/vault/{vault_id}/objects/{object_id}/ocr-words": {"get"},
    "/vault/{vault_id}/objects/{object_id}/summarize": {"post"},
    "/vault/{vault_id}/objects/{object_id}/summarize/{job_id}": {"get"},
    "/vault/{vault_id}/memory": {"get", "post"},
    "/vault/{vault_id}/memory/search": {"post"},
    "/vault/{vault_id}/memory/{entry_id}": {"patch", "delete"},
    "/vault/{vault_id}/events/subscriptions": {"get", "post"},
    "/vault/{vault_id}/events/subscriptions/{subscription_id}": {"patch", "delete"},
    "/vault/{vault_id}/events/subscriptions/{subscription_id}/test": {"post"},
}


@pytest.fixture(scope="module")
def document(django_db_blocker):
    from rest_framework.test import APIClient

    with django_db_blocker.unblock():
        response = APIClient().get("/openapi.json")
    assert response.status_code == 200
    return response.json()


def test_it_is_served_without_a_key_and_is_a_valid_openapi_3_1_document(document):
    assert document["openapi"] == "3.1.0"
    validate(document, cls=OpenAPIV31SpecValidator)


def test_it_describes_every_api_operation(document):
    described = {
        path: {m for m in item if m in ("get", "post", "patch", "put", "delete")}
        for path, item in document["paths"].items()
    }
    assert described == OPERATIONS


def test_every_operation_needs_the_bearer_key(document):
    scheme = document["components"]["securitySchemes"]["bearerAuth"]
    assert scheme == {**scheme, "type": "http", "scheme": "bearer"}
    for path, item in document["paths"].items():
        for method, operation in item.items():
            assert {"bearerAuth": []} in operation["security"], (method, path)


def test_errors_are_the_error_component_on_every_operation(document):
    error = document["components"]["schemas"]["Error"]
    assert error["required"] == ["error"]
    assert error["properties"]["error"]["required"] == ["type", "message"]
    ref = {"$ref": "#/components/schemas/Error"}
    for item in document["paths"].values():
        for operation in item.values():
            for code in ("400", "401", "404", "500"):
                assert operation["responses"][code]["content"]["application/json"]["schema"] == ref


def test_request_bodies_and_responses_are_described(document):
    execute = document["paths"]["/agent/v1/execute"]["post"]
    body = execute["requestBody"]["content"]["application/json"]["schema"]
    request = document["components"]["schemas"][body["$ref"].rsplit("/", 1)[1]]
    assert "prompt" in request["required"]
    assert {"model", "sandbox", "enabledTools", "agentRuntime"} <= set(request["properties"])
    ok = execute["responses"]["200"]["content"]["application/json"]["schema"]
    assert {"runId", "status", "agentId"} <= set(ok["required"])
    assert "null" in ok["properties"]["output"]["type"]
    upload = document["paths"]["/vault/{vault_id}/objects"]["post"]["requestBody"]["content"]
    assert set(upload) == {"multipart/form-data"}
    events = document["paths"]["/agent/v1/run/{run_id}/events"]["get"]["responses"]["200"]
    assert set(events["content"]) == {"text/event-stream"}


def test_the_docs_page_is_self_hosted(anon):
    response = anon.get("/docs")
    assert response.status_code == 200
    html = response.content.decode()
    assert "/openapi.json" in html
    assert "swagger-ui" in html and "cdn" not in html.lower()
