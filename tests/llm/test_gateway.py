"""Routing to an OpenAI-compatible gateway: the model id goes through unchanged."""

import json

import respx

from agentexec.llm import router
from agentexec.llm.base import ModelRequest

URL = "https://gateway.example.test/v1/chat/completions"


def completion(model: str, usage: dict | None = None) -> dict:
    body: dict = {
        "id": "gen-1741569952-abc",
        "object": "chat.completion",
        "created": 1741569952,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "Answer from the gateway."},
                "finish_reason": "stop",
            }
        ],
    }
    if usage is not None:
        body["usage"] = usage
    return body


def request(model: str) -> ModelRequest:
    return ModelRequest(
        model=model,
        system="Be brief.",
        messages=[{"role": "user", "content": [{"type": "text", "text": "Hi"}]}],
        tools=[],
        max_tokens=256,
    )


def test_it_sends_an_anthropic_model_to_the_gateway_when_only_the_gateway_is_set(
    gateway: str, respx_mock: respx.MockRouter
) -> None:
    model = "anthropic/claude-sonnet-4.6"
    route = respx_mock.post(URL).respond(
        200,
        json=completion(model, {"prompt_tokens": 12, "completion_tokens": 5, "total_tokens": 17}),
    )

    selected = router.route(model)
    reply = router.provider_for(selected).complete(request(model))

    assert selected.provider_name == "gateway"
    sent = route.calls.last.request
    assert json.loads(sent.content)["model"] == "anthropic/claude-sonnet-4.6"
    assert json.loads(sent.content)["max_tokens"] == 256
    assert sent.headers["authorization"] == "Bearer gw-test-key-0123456789"
    assert reply.provider == "gateway"
    assert reply.text == "Answer from the gateway."
    assert reply.usage.input_tokens == 12
    assert reply.usage.estimated is False


def test_it_prefers_the_direct_provider_and_sends_the_rest_to_the_gateway(
    gateway: str, anthropic_key: str
) -> None:
    assert router.route("anthropic/claude-sonnet-4.6").provider_name == "anthropic"
    assert router.route("openai/gpt-4o").provider_name == "gateway"
    assert router.route("meta-llama/Llama-3.1-8B-Instruct").provider_name == "gateway"


def test_it_sends_no_authorization_to_a_local_server_without_a_key(
    settings,
    respx_mock: respx.MockRouter,
) -> None:
    settings.LLM_GATEWAY_URL = "http://127.0.0.1:11434/v1/"
    settings.LLM_GATEWAY_API_KEY = ""
    model = "Qwen/Qwen2.5-7B-Instruct"
    route = respx_mock.post("http://127.0.0.1:11434/v1/chat/completions").respond(
        200, json=completion(model)
    )

    reply = router.provider_for(router.route(model)).complete(request(model))

    assert "authorization" not in route.calls.last.request.headers
    assert json.loads(route.calls.last.request.content)["model"] == model
    # The server reported no usage: the counts are estimates and say so.
    assert reply.usage.estimated is True
    assert reply.usage.output_tokens > 0
