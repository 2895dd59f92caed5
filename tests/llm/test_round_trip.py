"""A tool-use round trip through a real sandbox run for each provider: POST /agent/v1/execute,
the model (mocked at the provider's host, in its wire format) asks for shell.exec, the sandbox
runs it, the model gets the result and answers; usage and cost are recorded."""

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
import respx

from runs.models import Run, RunStep, UsageEntry
from tests.conftest import Member

pytestmark = pytest.mark.e2e

COMMAND = "echo indemnity-cap-$((6*7))"
TOOL_OUTPUT = "indemnity-cap-42"


def answer(tool_result: str) -> str:
    """The model's final answer, from the shell.exec result it was sent."""
    return f"The workspace says: {json.loads(tool_result)['stdout'].strip()}"


def anthropic_turn(request: httpx.Request) -> dict[str, Any]:
    body = json.loads(request.content)
    results = [
        b
        for m in body["messages"]
        if m["role"] == "user"
        for b in m["content"]
        if b["type"] == "tool_result"
    ]
    usage = {
        "input_tokens": 1000,
        "output_tokens": 100,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
    }
    if not results:
        content = [
            {
                "type": "tool_use",
                "id": "toolu_01",
                "name": "shell__exec",
                "input": {"command": COMMAND},
            }
        ]
        stop = "tool_use"
    else:
        content = [{"type": "text", "text": answer(results[0]["content"])}]
        stop = "end_turn"
    return {
        "id": "msg_01",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-6",
        "content": content,
        "stop_reason": stop,
        "stop_sequence": None,
        "usage": usage,
    }


def chat_turn(request: httpx.Request) -> dict[str, Any]:
    body = json.loads(request.content)
    results = [m for m in body["messages"] if m["role"] == "tool"]
    if not results:
        message: dict[str, Any] = {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_01",
                    "type": "function",
                    "function": {
                        "name": "shell__exec",
                        "arguments": json.dumps({"command": COMMAND}),
                    },
                }
            ],
        }
        finish = "tool_calls"
    else:
        message = {"role": "assistant", "content": answer(results[0]["content"])}
        finish = "stop"
    return {
        "id": "chatcmpl-01",
        "object": "chat.completion",
        "created": 1741569952,
        "model": body["model"],
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        "usage": {"prompt_tokens": 1000, "completion_tokens": 100, "total_tokens": 1100},
    }


def responder(turn: Callable[[httpx.Request], dict[str, Any]]) -> Callable:
    return lambda request: httpx.Response(200, json=turn(request))


PROVIDERS = {
    # name: (settings, model, provider URL, turn, cost of one call in micros)
    "anthropic": (
        {"ANTHROPIC_API_KEY": "sk-ant-test-0123456789"},
        "anthropic/claude-sonnet-4.6",
        "https://api.anthropic.com/v1/messages",
        anthropic_turn,
        1000 * 3 + 100 * 15,
    ),
    "openai": (
        {"OPENAI_API_KEY": "sk-proj-test-0123456789"},
        "openai/gpt-4.1",
        "https://api.openai.com/v1/chat/completions",
        chat_turn,
        1000 * 2 + 100 * 8,
    ),
    "gateway": (
        {
            "LLM_GATEWAY_URL": "https://gateway.example.test/v1",
            "LLM_GATEWAY_API_KEY": "gw-0123456789",
        },
        "anthropic/claude-sonnet-4.6",
        "https://gateway.example.test/v1/chat/completions",
        chat_turn,
        1000 * 3 + 100 * 15,
    ),
}


@pytest.mark.parametrize("provider", list(PROVIDERS))
def test_a_run_uses_a_sandbox_tool_through_the_provider(
    provider: str,
    alice: Member,
    settings,
    respx_mock: respx.MockRouter,
) -> None:
    config, model, url, turn, call_cost = PROVIDERS[provider]
    for name, value in config.items():
        setattr(settings, name, value)
    route = respx_mock.post(url).mock(side_effect=responder(turn))

    response = alice.client.post(
        "/agent/v1/execute",
        {"prompt": "What does the workspace say?", "model": model, "enabledTools": ["shell.exec"]},
        format="json",
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "completed", body
    assert body["output"] == f"The workspace says: {TOOL_OUTPUT}"
    assert route.call_count == 2
    assert TOOL_OUTPUT in route.calls.last.request.content.decode()
    steps = RunStep.objects.filter(run_id=body["runId"]).order_by("sequence")
    assert [s.type for s in steps] == ["tool_call", "tool_result", "output"]
    assert steps[0].tool_name == "shell.exec"
    assert steps[0].tool_input == {"command": COMMAND}
    entries = UsageEntry.objects.filter(run_id=body["runId"], kind="llm")
    assert [(e.prompt_tokens, e.completion_tokens, e.cost_micros) for e in entries] == [
        (1000, 100, call_cost)
    ] * 2
    assert all(e.metadata["estimated"] is False and e.service == provider for e in entries)
    assert body["usage"]["inputTokens"] == 2000 and body["usage"]["outputTokens"] == 200
    assert Run.objects.get(id=body["runId"]).cost_micros == 2 * call_cost


def test_a_rejected_key_fails_the_run_with_the_providers_message(
    alice: Member,
    settings,
    respx_mock: respx.MockRouter,
) -> None:
    settings.ANTHROPIC_API_KEY = "sk-ant-wrong-0123456789"
    route = respx_mock.post("https://api.anthropic.com/v1/messages").respond(
        401,
        json={
            "type": "error",
            "error": {"type": "authentication_error", "message": "invalid x-api-key"},
        },
    )

    body = alice.client.post(
        "/agent/v1/execute",
        {"prompt": "Hello", "model": "anthropic/claude-sonnet-4.6"},
        format="json",
    ).json()

    assert route.call_count == 1
    assert body["status"] == "failed"
    assert "anthropic" in body["error"] and "invalid x-api-key" in body["error"]
    assert "sk-ant-wrong" not in json.dumps(body)
