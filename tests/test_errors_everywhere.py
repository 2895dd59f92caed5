"""Every API path answers errors in the one shape {"error": {"type", "message"}}, whatever
layer refuses the request: Django's URL resolver, DRF, or an unhandled exception."""

import pytest
from django.test import Client

from runs import api


def assert_error(response, status, error_type):
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    error = response.json()["error"]
    assert error["type"] == error_type
    assert error["message"]
    return error


@pytest.mark.parametrize("path", ["/agent/v1/nope", "/vault/vault_x/nope", "/nothing-here"])
def test_unknown_api_urls_answer_the_json_404(alice, path):
    assert_error(alice.client.get(path), 404, "not_found")


def test_unknown_api_urls_answer_json_without_a_key_too(anon):
    assert_error(anon.post("/agent/v1/executes", {}, format="json"), 404, "not_found")


@pytest.mark.parametrize(
    ("path", "bare"), [("/agent/v1/execute/", "/agent/v1/execute"), ("/vault/", "/vault")]
)
def test_trailing_slash_variants_get_the_json_404_naming_the_right_path(alice, path, bare):
    error = assert_error(alice.client.post(path, {}, format="json"), 404, "not_found")
    assert f"use {bare}." in error["message"]


def test_the_staff_ui_keeps_html_404_pages():
    response = Client().get("/ui/no-such-page")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_a_wrong_method_answers_the_json_405(alice):
    error = assert_error(alice.client.put("/agent/v1/models", {}), 405, "method_not_allowed")
    assert "PUT" in error["message"]
    assert_error(alice.client.delete("/vault"), 405, "method_not_allowed")


def test_an_unproducible_accept_answers_the_json_406(alice):
    response = alice.client.get("/agent/v1/tools", HTTP_ACCEPT="text/html")
    assert_error(response, 406, "not_acceptable")


def test_a_form_body_on_a_json_endpoint_answers_the_json_415(alice):
    response = alice.client.post(
        "/agent/v1/execute", "prompt=hi", content_type="application/x-www-form-urlencoded"
    )
    assert_error(response, 415, "unsupported_media_type")


def test_an_unhandled_exception_answers_the_json_500_with_the_request_id(alice, monkeypatch):
    def explode(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(api.selectors, "agents_of", explode)
    client = Client(raise_request_exception=False, HTTP_AUTHORIZATION=f"Bearer {alice.raw_key}")
    response = client.get("/agent/v1/agents", HTTP_X_REQUEST_ID="req-500")
    error = assert_error(response, 500, "server_error")
    assert "req-500" in error["message"]
    assert "boom" not in error["message"]  # internals stay in the log


def test_health_and_metrics_refuse_other_methods_in_json(anon):
    for path in ("/healthz", "/readyz", "/metrics"):
        response = anon.post(path)
        assert_error(response, 405, "method_not_allowed")
        assert response["Allow"] == "GET, HEAD"
