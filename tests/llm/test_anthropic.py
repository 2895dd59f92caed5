"""The Anthropic Messages API client, against exchanges in the API's own wire format
(docs.anthropic.com: Messages, Errors, Rate limits)."""

import json
import time
from typing import Any

import httpx
import pytest
import respx

from agentexec.llm import providers
from agentexec.llm.anthropic import api_model_name
from agentexec.llm.base import ModelError, ModelRequest, ToolSchema
from agentexec.llm.pricing import cost_micros

URL = "https://api.anthropic.com/v1/messages"
MODEL = "anthropic/claude-sonnet-4.6"


def message(
    content: list[dict], *, stop_reason: str = "end_turn", usage: dict | None = None
) -> dict:
    return {
        "id": "msg_01XFDUDYJgAACzvnptvVoYEL",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-6",
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": usage
        or {
            "input_tokens": 25,
            "output_tokens": 12,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
        },
    }


def error(kind: str, text: str) -> dict:
    return {"type": "error", "error": {"type": kind, "message": text}, "request_id": "req_011"}


def request(**overrides: Any) -> ModelRequest:
    fields: dict[str, Any] = {
        "model": MODEL,
        "system": "You are a careful legal assistant.",
        "messages": [{"role": "user", "content": [{"type": "text", "text": "Hello"}]}],
        "tools": [],
        "max_tokens": 1024,
    }
    return ModelRequest(**(fields | overrides))


def test_it_answers_a_plain_prompt(anthropic_key: str, respx_mock: respx.MockRouter) -> None:
    route = respx_mock.post(URL).respond(
        200,
        json=message([{"type": "text", "text": "Hello! How can I help?"}]),
        headers={"request-id": "req_018EeWyXxfu5pfWkrYcMdjWG"},
    )

    reply = providers.build("anthropic").complete(request())

    sent = route.calls.last.request
    assert sent.headers["x-api-key"] == anthropic_key
    assert sent.headers["anthropic-version"] == "2023-06-01"
    assert json.loads(sent.content) == {
        "model": "claude-sonnet-4-6",
        "max_tokens": 1024,
        "system": "You are a careful legal assistant.",
        "messages": [{"role": "user", "content": [{"type": "text", "text": "Hello"}]}],
    }
    assert reply.text == "Hello! How can I help?"
    assert reply.stop_reason == "end_turn"
    assert reply.provider == "anthropic"
    assert reply.model == "claude-sonnet-4-6"
    assert reply.attempts == 1
    assert reply.metadata["requestId"] == "req_018EeWyXxfu5pfWkrYcMdjWG"
    assert reply.metadata["stopReason"] == "end_turn"


def test_it_records_reported_usage_and_its_cost(
    anthropic_key: str, respx_mock: respx.MockRouter
) -> None:
    usage = {
        "input_tokens": 1000,
        "output_tokens": 500,
        "cache_creation_input_tokens": 100,
        "cache_read_input_tokens": 2000,
    }
    respx_mock.post(URL).respond(200, json=message([{"type": "text", "text": "ok"}], usage=usage))

    reply = providers.build("anthropic").complete(request())

    assert reply.usage.input_tokens == 1000
    assert reply.usage.output_tokens == 500
    assert reply.usage.cache_write_tokens == 100
    assert reply.usage.cache_read_tokens == 2000
    assert reply.usage.estimated is False
    # $3 in, $15 out, $0.30 cache read, $3.75 cache write per million tokens
    assert cost_micros(MODEL, reply.usage) == 1000 * 3 + 500 * 15 + 2000 * 0.3 + 100 * 3.75


def test_it_waits_as_told_after_a_429_and_then_succeeds(
    anthropic_key: str, respx_mock: respx.MockRouter, waits: list[float]
) -> None:
    route = respx_mock.post(URL).mock(
        side_effect=[
            httpx.Response(
                429,
                json=error("rate_limit_error", "Number of request tokens has exceeded your limit"),
                headers={"retry-after": "2"},
            ),
            httpx.Response(200, json=message([{"type": "text", "text": "ok"}])),
        ]
    )

    reply = providers.build("anthropic").complete(request())

    assert reply.text == "ok"
    assert route.call_count == 2
    assert waits == [2.0]
    assert reply.attempts == 2
    assert reply.metadata["attempts"] == 2


def test_it_gives_up_after_three_server_errors(
    anthropic_key: str, respx_mock: respx.MockRouter, waits: list[float]
) -> None:
    route = respx_mock.post(URL).respond(500, json=error("api_error", "Internal server error"))

    with pytest.raises(ModelError) as caught:
        providers.build("anthropic").complete(request())

    assert route.call_count == 3
    assert len(waits) == 2
    assert caught.value.message == (
        "anthropic failed after 3 attempts (HTTP 500: api_error: Internal server error)"
    )


def test_it_fails_at_once_on_a_401_without_showing_the_key(
    anthropic_key: str, respx_mock: respx.MockRouter
) -> None:
    route = respx_mock.post(URL).respond(
        401, json=error("authentication_error", f"invalid x-api-key {anthropic_key}")
    )

    with pytest.raises(ModelError) as caught:
        providers.build("anthropic").complete(request())

    assert route.call_count == 1
    assert caught.value.status_code == 401
    assert "anthropic rejected the request (HTTP 401: authentication_error" in caught.value.message
    assert anthropic_key not in caught.value.message


def test_it_retries_a_timeout(anthropic_key: str, respx_mock: respx.MockRouter) -> None:
    route = respx_mock.post(URL).mock(
        side_effect=[
            httpx.ReadTimeout("timed out"),
            httpx.Response(200, json=message([{"type": "text", "text": "ok"}])),
        ]
    )

    reply = providers.build("anthropic").complete(request())

    assert reply.text == "ok"
    assert route.call_count == 2


def test_it_never_waits_past_the_deadline(
    anthropic_key: str, respx_mock: respx.MockRouter, waits: list[float]
) -> None:
    route = respx_mock.post(URL).respond(
        529, json=error("overloaded_error", "Overloaded"), headers={"retry-after": "600"}
    )

    with pytest.raises(ModelError) as caught:
        providers.build("anthropic").complete(request(deadline=time.monotonic() + 30))

    assert route.call_count == 1
    assert waits == []
    assert "ran out of time" in caught.value.message
    assert "overloaded_error: Overloaded" in caught.value.message


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (b"<html>502 Bad Gateway</html>", "not JSON"),
        (json.dumps({"type": "message", "content": []}).encode(), "no stop_reason"),
        (
            json.dumps(message([{"type": "hologram", "data": "?"}])).encode(),
            "unknown block type 'hologram'",
        ),
        (
            json.dumps(
                message(
                    [{"type": "tool_use", "id": "toolu_1", "name": "vault__search", "input": "x"}],
                    stop_reason="tool_use",
                )
            ).encode(),
            "tool input is not an object",
        ),
        (
            json.dumps(message([], usage={"input_tokens": "many", "output_tokens": 1})).encode(),
            "usage.input_tokens",
        ),
    ],
)
def test_it_fails_cleanly_on_a_malformed_body(
    anthropic_key: str, respx_mock: respx.MockRouter, body: bytes, why: str
) -> None:
    route = respx_mock.post(URL).respond(200, content=body)

    with pytest.raises(ModelError) as caught:
        providers.build("anthropic").complete(request())

    assert route.call_count == 1
    assert caught.value.message.startswith("anthropic sent a malformed response")
    assert why in caught.value.message


def test_it_translates_tool_use_both_ways(anthropic_key: str, respx_mock: respx.MockRouter) -> None:
    route = respx_mock.post(URL).respond(
        200,
        json=message(
            [
                {"type": "text", "text": "Let me check the workspace."},
                {
                    "type": "tool_use",
                    "id": "toolu_02",
                    "name": "shell__exec",
                    "input": {"command": "ls"},
                },
            ],
            stop_reason="tool_use",
        ),
    )
    schema = {"type": "object", "properties": {"query": {"type": "string"}}}
    history = [
        {"role": "user", "content": [{"type": "text", "text": "Find the term clause"}]},
        {
            "role": "assistant",
            "content": [
                {"type": "text", "text": ""},
                {
                    "type": "tool_use",
                    "id": "toolu_01",
                    "name": "vault.search",
                    "input": {"query": "term"},
                },
            ],
        },
        {
            "role": "user",
            "content": [
                {
                    "type": "tool_result",
                    "tool_use_id": "toolu_01",
                    "content": "no hits",
                    "is_error": True,
                }
            ],
        },
    ]
    tools = [
        ToolSchema("vault.search", "Search the vault", schema),
        ToolSchema("shell.exec", "Run a command", {"type": "object"}),
    ]

    reply = providers.build("anthropic").complete(request(messages=history, tools=tools))

    sent = json.loads(route.calls.last.request.content)
    assert [t["name"] for t in sent["tools"]] == ["vault__search", "shell__exec"]
    assert sent["tools"][0] == {
        "name": "vault__search",
        "description": "Search the vault",
        "input_schema": schema,
    }
    assert sent["messages"][1]["content"] == [
        {"type": "tool_use", "id": "toolu_01", "name": "vault__search", "input": {"query": "term"}}
    ]
    assert sent["messages"][2]["content"] == [
        {"type": "tool_result", "tool_use_id": "toolu_01", "content": "no hits", "is_error": True}
    ]
    assert reply.stop_reason == "tool_use"
    assert reply.tool_uses == [
        {"type": "tool_use", "id": "toolu_02", "name": "shell.exec", "input": {"command": "ls"}}
    ]
    assert reply.text == "Let me check the workspace."


@pytest.mark.parametrize(
    ("model", "api_name"),
    [
        ("anthropic/claude-sonnet-4.6", "claude-sonnet-4-6"),
        ("anthropic/claude-opus-4.6", "claude-opus-4-6"),
        ("anthropic/claude-haiku-4.5", "claude-haiku-4-5"),
        ("anthropic/claude-sonnet-4", "claude-sonnet-4-0"),
        ("anthropic/claude-opus-4.7", "claude-opus-4-7"),
        ("anthropic/claude-sonnet-4-5-20250929", "claude-sonnet-4-5-20250929"),
    ],
)
def test_it_maps_product_ids_to_api_model_names(model: str, api_name: str) -> None:
    assert api_model_name(model) == api_name
