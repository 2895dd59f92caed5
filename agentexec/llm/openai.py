"""OpenAI Chat Completions client (POST {base}/chat/completions), for OpenAI itself and for any
OpenAI-compatible gateway or server (Vercel AI Gateway, OpenRouter, LiteLLM, vLLM, Ollama,
llama.cpp).

Direct OpenAI gets the model name without its "openai/" prefix; a gateway gets the id unchanged
("anthropic/claude-sonnet-4.6"), which is how gateways address models. Neutral blocks map to
chat messages: tool_use blocks become the assistant's tool_calls, each tool_result becomes a
"tool" message. Usage is normalised to the Anthropic convention the price table uses: input
tokens exclude cached ones, which are counted as cache reads.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from agentexec.llm import http
from agentexec.llm.base import (
    ModelError,
    ModelReply,
    ModelRequest,
    Usage,
    estimate_tokens,
    messages_text,
)
from agentexec.llm.wire import ToolNames, blocks, int_field

STOP_REASONS = {
    "stop": "end_turn",
    "tool_calls": "tool_use",
    "function_call": "tool_use",
    "length": "max_tokens",
    "content_filter": "refusal",
}


class OpenAIChatProvider:
    def __init__(
        self,
        *,
        name: str,
        api_key: str,
        base_url: str,
        strip_prefix: str | None,
        max_tokens_field: str,
    ) -> None:
        self.name = name
        self.api_key = api_key
        self.url = base_url.rstrip("/") + "/chat/completions"
        self.strip_prefix = strip_prefix
        # OpenAI's newer models take only max_completion_tokens; servers that copy the API
        # (vLLM, Ollama, llama.cpp) and the gateways all take max_tokens.
        self.max_tokens_field = max_tokens_field

    def api_model_name(self, model: str) -> str:
        return model.removeprefix(self.strip_prefix) if self.strip_prefix else model

    def complete(self, request: ModelRequest) -> ModelReply:
        names = ToolNames(request.tools)
        body = to_wire(request, names, self.api_model_name(request.model), self.max_tokens_field)
        headers = {"content-type": "application/json"}
        if self.api_key:  # a local vLLM/Ollama server needs none
            headers["authorization"] = f"Bearer {self.api_key}"
        reply = http.post_json(
            provider=self.name,
            url=self.url,
            headers=headers,
            body=body,
            deadline=request.deadline,
            secrets=(self.api_key,),
        )
        result = from_wire(reply.data, names, self.name, request)
        result.attempts = reply.attempts
        result.metadata.update(
            {
                "requestId": reply.headers.get("x-request-id") or result.metadata.get("responseId"),
                "attempts": reply.attempts,
                "apiModel": body["model"],
            }
        )
        return result


def to_wire(
    request: ModelRequest, names: ToolNames, model: str, max_tokens_field: str
) -> dict[str, Any]:
    messages: list[dict[str, Any]] = []
    if request.system:
        messages.append({"role": "system", "content": request.system})
    for index, message in enumerate(request.messages):
        messages.extend(_messages(message, index, names))
    body: dict[str, Any] = {
        "model": model,
        "messages": messages,
        max_tokens_field: request.max_tokens,
    }
    if request.tools:
        body["tools"] = [
            {
                "type": "function",
                "function": {
                    "name": names.wire(t.name),
                    "description": t.description,
                    "parameters": t.input_schema,
                },
            }
            for t in request.tools
        ]
    return body


def _messages(message: Any, index: int, names: ToolNames) -> list[dict[str, Any]]:
    role, content = blocks(message, index)
    texts: list[str] = []
    tool_calls: list[dict[str, Any]] = []
    results: list[dict[str, Any]] = []
    for block in content:
        kind = block.get("type")
        if kind == "text":
            texts.append(str(block.get("text", "")))
        elif kind == "tool_use":
            tool_calls.append(
                {
                    "id": str(block.get("id", "")),
                    "type": "function",
                    "function": {
                        "name": names.wire(str(block.get("name", ""))),
                        "arguments": json.dumps(block.get("input") or {}, ensure_ascii=False),
                    },
                }
            )
        elif kind == "tool_result":
            text = str(block.get("content", ""))
            results.append(
                {
                    "role": "tool",
                    "tool_call_id": str(block.get("tool_use_id", "")),
                    # Chat Completions has no error flag on tool messages; say it in the text.
                    "content": f"ERROR: {text}" if block.get("is_error") else text,
                }
            )
        else:
            raise ModelError(f"messages[{index}] has a block of unknown type {kind!r}")
    text = "\n\n".join(t for t in texts if t)
    if role == "assistant":
        # content may be null only beside tool_calls.
        out: dict[str, Any] = {"role": "assistant", "content": text or (None if tool_calls else "")}
        if tool_calls:
            out["tool_calls"] = tool_calls
        return [out]
    # Tool messages must directly follow the assistant turn that asked for them.
    return results + ([{"role": "user", "content": text}] if text or not results else [])


def from_wire(data: Any, names: ToolNames, provider: str, request: ModelRequest) -> ModelReply:
    def malformed(why: str) -> ModelError:
        return ModelError(f"{provider} sent a malformed response ({why})")

    if not isinstance(data, dict):
        raise malformed("the body is not an object")
    choices = data.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise malformed("no choices")
    message = choices[0].get("message")
    if not isinstance(message, dict):
        raise malformed("no message in choices[0]")
    content = _text(message, malformed)
    calls = message.get("tool_calls") or []
    if not isinstance(calls, list):
        raise malformed("tool_calls is not a list")
    content += [_tool_use(call, i, names, malformed) for i, call in enumerate(calls)]
    finish = choices[0].get("finish_reason")
    # Some compatible servers answer "stop" even when they call tools.
    stop_reason = "tool_use" if calls else STOP_REASONS.get(str(finish), str(finish or "end_turn"))
    return ModelReply(
        content=content,
        stop_reason=stop_reason,
        usage=_usage(data.get("usage"), provider, request, content, malformed),
        model=str(data.get("model") or ""),
        provider=provider,
        metadata={"stopReason": finish, "responseId": data.get("id")},
    )


def _text(message: dict[str, Any], malformed: Callable[[str], ModelError]) -> list[dict[str, Any]]:
    content = message.get("content")
    if content is None:
        refusal = message.get("refusal")
        return [{"type": "text", "text": refusal}] if isinstance(refusal, str) and refusal else []
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    if isinstance(content, list):  # some servers answer with content parts
        parts = [p.get("text") for p in content if isinstance(p, dict) and p.get("type") == "text"]
        texts = [p for p in parts if isinstance(p, str)]
        if len(texts) != len(content):
            raise malformed("message.content has parts that are not text")
        return [{"type": "text", "text": "".join(texts)}]
    raise malformed("message.content is neither text nor null")


def _tool_use(
    call: Any, index: int, names: ToolNames, malformed: Callable[[str], ModelError]
) -> dict[str, Any]:
    if not isinstance(call, dict) or call.get("type", "function") != "function":
        raise malformed(f"tool_calls[{index}] is not a function call")
    function = call.get("function")
    if not isinstance(function, dict) or not isinstance(function.get("name"), str):
        raise malformed(f"tool_calls[{index}] has no function name")
    if not isinstance(call.get("id"), str) or not call["id"]:
        raise malformed(f"tool_calls[{index}] has no id")
    arguments = function.get("arguments")
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments) if arguments.strip() else {}
        except json.JSONDecodeError as exc:
            raise malformed(f"tool_calls[{index}] arguments are not JSON ({exc})") from exc
    if not isinstance(arguments, dict):
        raise malformed(f"tool_calls[{index}] tool input is not an object")
    return {
        "type": "tool_use",
        "id": call["id"],
        "name": names.original(function["name"]),
        "input": arguments,
    }


def _usage(
    usage: Any,
    provider: str,
    request: ModelRequest,
    content: list[dict[str, Any]],
    malformed: Callable[[str], ModelError],
) -> Usage:
    if usage is None:
        # Some local servers report no usage: estimate, and say so.
        return Usage(
            input_tokens=estimate_tokens(request.system + messages_text(request.messages)),
            output_tokens=estimate_tokens(messages_text([{"content": content}])),
            estimated=True,
        )
    if not isinstance(usage, dict):
        raise malformed("usage is not an object")
    prompt = int_field(usage, "prompt_tokens", provider)
    completion = int_field(usage, "completion_tokens", provider)
    details = usage.get("prompt_tokens_details") or {}
    cached = (
        int_field(details, "cached_tokens", provider, required=False)
        if isinstance(details, dict)
        else 0
    )
    return Usage(
        input_tokens=max(0, prompt - cached),
        output_tokens=completion,
        cache_read_tokens=min(cached, prompt),
        estimated=False,
    )
