"""The OpenAI Chat Completions client, against exchanges in the API's own wire format
(platform.openai.com: Chat Completions, Function calling, Error codes)."""

import json
from typing import Any

import httpx
import pytest
import respx

from agentexec.llm import providers
from agentexec.llm.base import ModelError, ModelRequest, ToolSchema
from agentexec.llm.pricing import cost_micros

URL = "https://api.openai.com/v1/chat/completions"
MODEL = "openai/gpt-4o-mini"


def completion(message: dict, *, finish_reason: str = "stop", usage: dict | None = None) -> dict:
    return {
        "id": "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT",
        "object": "chat.completion",
        "created": 1741569952,
        "model": "gpt-4o-mini-2024-07-18",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "refusal": None, "annotations": [], **message},
                "logprobs": None,
                "finish_reason": finish_reason,
            }
        ],
        "usage": usage
        or {
            "prompt_tokens": 19,
            "completion_tokens": 10,
            "total_tokens": 29,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0},
        },
        "service_tier": "default",
        "system_fingerprint": "fp_06737a9306",
    }


def error(text: str, kind: str, code: str | None) -> dict:
    return {"error": {"message": text, "type": kind, "param": None, "code": code}}


def request(**overrides: Any) -> ModelRequest:
    fields: dict[str, Any] = {
        "model": MODEL,
        "system": "You are a careful legal assistant.",
        "messages": [{"role": "user", "content": [{"type": "text", "text": "Hello"}]}],
        "tools": [],
        "max_tokens": 1024,
    }
    return ModelRequest(**(fields | overrides))


def test_it_answers_a_plain_prompt(openai_key: str, respx_mock: respx.MockRouter) -> None:
    route = respx_mock.post(URL).respond(
        200,
        json=completion({"content": "Hello! How can I help?"}),
        headers={"x-request-id": "req_7a3c1b"},
    )

    reply = providers.build("openai").complete(request())

    sent = route.calls.last.request
    assert sent.headers["authorization"] == f"Bearer {openai_key}"
    assert json.loads(sent.content) == {
        "model": "gpt-4o-mini",
        "max_completion_tokens": 1024,
        "messages": [
            {"role": "system", "content": "You are a careful legal assistant."},
            {"role": "user", "content": "Hello"},
        ],
    }
    assert reply.text == "Hello! How can I help?"
    assert reply.stop_reason == "end_turn"
    assert reply.provider == "openai"
    assert reply.model == "gpt-4o-mini-2024-07-18"
    assert reply.metadata["requestId"] == "req_7a3c1b"
    assert reply.metadata["stopReason"] == "stop"


def test_it_records_reported_usage_and_its_cost(
    openai_key: str, respx_mock: respx.MockRouter
) -> None:
    usage = {
        "prompt_tokens": 1334,
        "completion_tokens": 567,
        "total_tokens": 1901,
        "prompt_tokens_details": {"cached_tokens": 100},
    }
    respx_mock.post(URL).respond(200, json=completion({"content": "ok"}, usage=usage))

    reply = providers.build("openai").complete(request())

    # Cached prompt tokens are counted as cache reads, not again as input.
    assert reply.usage.input_tokens == 1234
    assert reply.usage.cache_read_tokens == 100
    assert reply.usage.output_tokens == 567
    assert reply.usage.estimated is False
    # $0.15 in, $0.60 out, $0.075 cached per million tokens: 185.1 + 340.2 + 7.5 = 532.8
    assert cost_micros(MODEL, reply.usage) == 533


def test_it_waits_as_told_after_a_429_and_then_succeeds(
    openai_key: str, respx_mock: respx.MockRouter, waits: list[float]
) -> None:
    route = respx_mock.post(URL).mock(
        side_effect=[
            httpx.Response(
                429,
                json=error("Rate limit reached for gpt-4o-mini", "requests", "rate_limit_exceeded"),
                headers={"retry-after": "3"},
            ),
            httpx.Response(200, json=completion({"content": "ok"})),
        ]
    )

    reply = providers.build("openai").complete(request())

    assert reply.text == "ok"
    assert route.call_count == 2
    assert waits == [3.0]
    assert reply.attempts == 2


def test_it_gives_up_after_three_server_errors(
    openai_key: str, respx_mock: respx.MockRouter
) -> None:
    route = respx_mock.post(URL).respond(
        500,
        json=error("The server had an error while processing your request.", "server_error", None),
    )

    with pytest.raises(ModelError) as caught:
        providers.build("openai").complete(request())

    assert route.call_count == 3
    assert caught.value.message == (
        "openai failed after 3 attempts (HTTP 500: server_error: "
        "The server had an error while processing your request.)"
    )


def test_it_fails_at_once_on_a_401_without_showing_the_key(
    openai_key: str, respx_mock: respx.MockRouter
) -> None:
    route = respx_mock.post(URL).respond(
        401,
        json=error(
            f"Incorrect API key provided: {openai_key}. You can find your API key at "
            "https://platform.openai.com/account/api-keys.",
            "invalid_request_error",
            "invalid_api_key",
        ),
    )

    with pytest.raises(ModelError) as caught:
        providers.build("openai").complete(request())

    assert route.call_count == 1
    assert caught.value.message.startswith("openai rejected the request (HTTP 401: ")
    assert "Incorrect API key provided" in caught.value.message
    assert openai_key not in caught.value.message


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (b"upstream connect error", "not JSON"),
        (json.dumps({"id": "chatcmpl-1", "choices": []}).encode(), "no choices"),
        (
            json.dumps(
                completion(
                    {
                        "content": None,
                        "tool_calls": [
                            {
                                "id": "call_1",
                                "type": "function",
                                "function": {"name": "vault__search", "arguments": '{"query": '},
                            }
                        ],
                    },
                    finish_reason="tool_calls",
                )
            ).encode(),
            "arguments are not JSON",
        ),
        (
            json.dumps(
                completion(
                    {
                        "content": None,
                        "tool_calls": [
                            {
                                "id": "call_1",
                                "type": "function",
                                "function": {"name": "vault__search", "arguments": '["x"]'},
                            }
                        ],
                    },
                    finish_reason="tool_calls",
                )
            ).encode(),
            "tool input is not an object",
        ),
        (json.dumps(completion({"content": {"odd": True}})).encode(), "neither text nor null"),
    ],
)
def test_it_fails_cleanly_on_a_malformed_body(
    openai_key: str, respx_mock: respx.MockRouter, body: bytes, why: str
) -> None:
    respx_mock.post(URL).respond(200, content=body)

    with pytest.raises(ModelError) as caught:
        providers.build("openai").complete(request())

    assert caught.value.message.startswith("openai sent a malformed response")
    assert why in caught.value.message


def test_it_translates_tool_use_both_ways(openai_key: str, respx_mock: respx.MockRouter) -> None:
    route = respx_mock.post(URL).respond(
        200,
        json=completion(
            {
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_Xa2",
                        "type": "function",
                        "function": {"name": "shell__exec", "arguments": '{"command": "ls"}'},
                    }
                ],
            },
            finish_reason="tool_calls",
        ),
    )
    schema = {"type": "object", "properties": {"query": {"type": "string"}}}
    history = [
        {"role": "user", "content": [{"type": "text", "text": "Find the term clause"}]},
        {
            "role": "assistant",
            "content": [
                {"type": "text", "text": "Searching."},
                {
                    "type": "tool_use",
                    "id": "call_1",
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
                    "tool_use_id": "call_1",
                    "content": "3 hits",
                    "is_error": False,
                }
            ],
        },
    ]
    tools = [
        ToolSchema("vault.search", "Search the vault", schema),
        ToolSchema("shell.exec", "Run a command", {"type": "object"}),
    ]

    reply = providers.build("openai").complete(request(messages=history, tools=tools))

    sent = json.loads(route.calls.last.request.content)
    assert sent["tools"][0] == {
        "type": "function",
        "function": {
            "name": "vault__search",
            "description": "Search the vault",
            "parameters": schema,
        },
    }
    assert sent["messages"][1:] == [
        {"role": "user", "content": "Find the term clause"},
        {
            "role": "assistant",
            "content": "Searching.",
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "vault__search", "arguments": '{"query": "term"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "3 hits"},
    ]
    assert reply.stop_reason == "tool_use"
    assert reply.tool_uses == [
        {"type": "tool_use", "id": "call_Xa2", "name": "shell.exec", "input": {"command": "ls"}}
    ]
