"""OPTIONS needs no API key, and CORS headers are sent only to configured origins."""

ORIGIN = "https://app.example.com"


def preflight(client, path="/agent/v1/execute", origin=ORIGIN):
    return client.options(
        path,
        HTTP_ORIGIN=origin,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization, content-type, idempotency-key",
    )


def test_a_preflight_from_an_allowed_origin_gets_the_cors_headers_without_a_key(anon, settings):
    settings.CORS_ALLOWED_ORIGINS = [ORIGIN]
    response = preflight(anon)
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == ORIGIN
    assert "POST" in response["Access-Control-Allow-Methods"]
    allowed = response["Access-Control-Allow-Headers"]
    assert "authorization" in allowed and "idempotency-key" in allowed


def test_a_preflight_from_another_origin_gets_no_cors_headers(anon, settings):
    settings.CORS_ALLOWED_ORIGINS = [ORIGIN]
    response = preflight(anon, origin="https://evil.example")
    assert response.status_code == 200
    assert "Access-Control-Allow-Origin" not in response


def test_without_configured_origins_there_are_no_cors_headers(anon, settings):
    settings.CORS_ALLOWED_ORIGINS = []
    response = preflight(anon)
    assert response.status_code == 200
    assert "Access-Control-Allow-Origin" not in response


def test_the_api_answers_allowed_origins_and_exposes_the_request_id(alice, settings):
    settings.CORS_ALLOWED_ORIGINS = [ORIGIN]
    response = alice.client.get("/vault", HTTP_ORIGIN=ORIGIN)
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == ORIGIN
    assert "x-request-id" in response["Access-Control-Expose-Headers"].lower()


def test_cors_applies_to_api_paths_only(alice, settings):
    settings.CORS_ALLOWED_ORIGINS = [ORIGIN]
    response = alice.client.get("/ui/login/", HTTP_ORIGIN=ORIGIN)
    assert "Access-Control-Allow-Origin" not in response


def test_a_plain_options_without_a_key_is_not_a_401(anon):
    response = anon.options("/agent/v1/run")
    assert response.status_code == 200
    assert response.json()["renders"] == ["application/json"]


def test_other_methods_still_need_the_key(anon):
    response = anon.get("/agent/v1/run")
    assert response.status_code == 401
    assert response.json()["error"]["type"] == "authentication_error"
