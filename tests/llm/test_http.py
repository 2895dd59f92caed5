"""The HTTP wrapper's edge cases: Retry-After forms, connection errors, redaction."""

import email.utils
import gzip
import time

import httpx
import pytest
import respx

from agentexec.llm import http
from agentexec.llm.base import ModelError
from agentexec.llm.pricing import check_price_table

URL = "https://provider.example.test/v1/messages"


def post(deadline_in: float = 60) -> http.HttpReply:
    return http.post_json(
        provider="acme",
        url=URL,
        headers={},
        body={"x": 1},
        deadline=time.monotonic() + deadline_in,
        secrets=("acme-secret-key",),
    )


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({"retry-after": "7"}, 7.0),
        ({"retry-after": "1.5"}, 1.5),
        ({"retry-after-ms": "250", "retry-after": "9"}, 0.25),
        ({"retry-after": "soon"}, None),
        ({}, None),
    ],
)
def test_it_reads_retry_after(headers: dict, seconds: float | None) -> None:
    assert http.retry_after(httpx.Headers(headers)) == seconds


def test_it_reads_retry_after_as_an_http_date() -> None:
    when = email.utils.formatdate(time.time() + 30, usegmt=True)
    assert 25 < (http.retry_after(httpx.Headers({"retry-after": when})) or 0) <= 30


def test_it_backs_off_exponentially_with_jitter(settings) -> None:
    settings.LLM_BACKOFF_BASE_S = 1.0
    assert 1.0 <= http.backoff(1) <= 2.0
    assert 2.0 <= http.backoff(2) <= 3.0
    assert 4.0 <= http.backoff(3) <= 5.0


def test_it_retries_a_refused_connection_and_says_so(
    respx_mock: respx.MockRouter, waits: list[float]
) -> None:
    route = respx_mock.post(URL).mock(side_effect=httpx.ConnectError("connection refused"))

    with pytest.raises(ModelError) as caught:
        post()

    assert route.call_count == 3
    assert len(waits) == 2
    assert caught.value.message == (
        "acme failed after 3 attempts (connection failed (ConnectError: connection refused))"
    )


def test_it_does_not_retry_a_400(respx_mock: respx.MockRouter) -> None:
    route = respx_mock.post(URL).respond(
        400, json={"error": {"message": "max_tokens: must be at most 8192"}}
    )

    with pytest.raises(ModelError, match="acme rejected the request") as caught:
        post()

    assert route.call_count == 1
    assert caught.value.status_code == 400
    assert "max_tokens: must be at most 8192" in caught.value.message


def test_it_redacts_keys_a_provider_echoes(respx_mock: respx.MockRouter) -> None:
    respx_mock.post(URL).respond(
        403, text="key acme-secret-key (also sk-live-abcdefgh12345) is not allowed"
    )

    with pytest.raises(ModelError) as caught:
        post()

    assert "acme-secret-key" not in caught.value.message
    assert "abcdefgh12345" not in caught.value.message
    assert "[redacted]" in caught.value.message


def test_it_does_not_call_after_the_deadline(respx_mock: respx.MockRouter) -> None:
    route = respx_mock.post(URL).respond(200, json={})

    with pytest.raises(ModelError, match="ran out of time"):
        post(deadline_in=-1)

    assert route.call_count == 0


def test_a_broken_price_table_fails_the_system_check(settings, tmp_path) -> None:
    table = tmp_path / "prices.json"
    table.write_text("{not json")
    settings.PRICE_TABLE_PATH = str(table)

    errors = check_price_table()

    assert [e.id for e in errors] == ["agentexec.E001"]
    assert "cannot be read" in errors[0].msg


def test_it_reads_a_compressed_answer(respx_mock: respx.MockRouter) -> None:
    respx_mock.post(URL).respond(
        200,
        content=gzip.compress(b'{"ok": true}'),
        headers={"content-encoding": "gzip", "content-type": "application/json"},
    )

    assert post().data == {"ok": True}


def test_it_fails_cleanly_on_a_body_that_does_not_decompress(respx_mock: respx.MockRouter) -> None:
    broken = httpx.Response(
        200, headers={"content-encoding": "gzip"}, stream=httpx.ByteStream(b"not gzip at all")
    )
    route = respx_mock.post(URL).mock(return_value=broken)

    with pytest.raises(ModelError, match="acme sent a malformed response"):
        post()

    assert route.call_count == 1
