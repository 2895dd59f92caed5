"""Anthropic Messages API client (POST {ANTHROPIC_BASE_URL}/v1/messages).

The runtime's neutral messages already use Anthropic's block shapes, so the translation is
mostly a matter of tool names (dots are not allowed on the wire), dropping empty text blocks
(the API rejects them), and checking every field of the reply.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from agentexec.llm import http
from agentexec.llm.base import ModelError, ModelReply, ModelRequest, Usage
from agentexec.llm.wire import ToolNames, blocks, int_field

# The product ids users type ("claude-sonnet-4.6", as the gateways spell them) → the API's model
# names (docs.anthropic.com, "Models overview"). Ids not listed here keep their name, except
# that a dotted version in a claude-* id becomes dashed ("claude-opus-4.7" → "claude-opus-4-7"),
# which is how the API has named every model since Claude 4.
MODEL_NAMES = {
    "claude-opus-4.6": "claude-opus-4-6",
    "claude-sonnet-4.6": "claude-sonnet-4-6",
    "claude-opus-4.5": "claude-opus-4-5",
    "claude-sonnet-4.5": "claude-sonnet-4-5",
    "claude-haiku-4.5": "claude-haiku-4-5",
    "claude-opus-4.1": "claude-opus-4-1",
    "claude-opus-4": "claude-opus-4-0",
    "claude-sonnet-4": "claude-sonnet-4-0",
    "claude-3.7-sonnet": "claude-3-7-sonnet-latest",
    "claude-3.5-haiku": "claude-3-5-haiku-latest",
}
_DOTTED_VERSION = re.compile(r"(?<=\d)\.(?=\d)")


def api_model_name(model: str) -> str:
    name = model.removeprefix("anthropic/")
    if name in MODEL_NAMES:
        return MODEL_NAMES[name]
    if name.startswith("claude-"):
        return _DOTTED_VERSION.sub("-", name)
    return name


class AnthropicProvider:
    name = "anthropic"

    def __init__(self, *, api_key: str, base_url: str, version: str) -> None:
        self.api_key = api_key
        self.url = base_url.rstrip("/") + "/v1/messages"
        self.version = version

    def complete(self, request: ModelRequest) -> ModelReply:
        names = ToolNames(request.tools)
        body = to_wire(request, names)
        reply = http.post_json(
            provider=self.name,
            url=self.url,
            headers={
                "x-api-key": self.api_key,
                "anthropic-version": self.version,
                "content-type": "application/json",
            },
            body=body,
            deadline=request.deadline,
            secrets=(self.api_key,),
        )
        result = from_wire(reply.data, names)
        result.attempts = reply.attempts
        result.metadata.update(
            {
                "requestId": reply.headers.get("request-id") or result.metadata.get("messageId"),
                "attempts": reply.attempts,
                "apiModel": body["model"],
            }
        )
        return result


def to_wire(request: ModelRequest, names: ToolNames) -> dict[str, Any]:
    body: dict[str, Any] = {
        "model": api_model_name(request.model),
        "max_tokens": request.max_tokens,
        "messages": [_message(m, i, names) for i, m in enumerate(request.messages)],
    }
    if request.system:
        body["system"] = request.system
    if request.tools:
        body["tools"] = [
            {
                "name": names.wire(t.name),
                "description": t.description,
                "input_schema": t.input_schema,
            }
            for t in request.tools
        ]
    return body


def _message(message: Any, index: int, names: ToolNames) -> dict[str, Any]:
    role, content = blocks(message, index)
    out: list[dict[str, Any]] = []
    for block in content:
        kind = block.get("type")
        if kind == "text":
            if block.get("text"):
                out.append({"type": "text", "text": str(block["text"])})
        elif kind == "tool_use":
            out.append(
                {
                    "type": "tool_use",
                    "id": str(block.get("id", "")),
                    "name": names.wire(str(block.get("name", ""))),
                    "input": block.get("input") or {},
                }
            )
        elif kind == "tool_result":
            result: dict[str, Any] = {
                "type": "tool_result",
                "tool_use_id": str(block.get("tool_use_id", "")),
            }
            if block.get("content") not in (None, ""):  # content is optional; never empty
                result["content"] = str(block["content"])
            if block.get("is_error"):
                result["is_error"] = True
            out.append(result)
        else:
            raise ModelError(f"messages[{index}] has a block of unknown type {kind!r}")
    # The API rejects empty content; a turn that said nothing still has to say something.
    return {"role": role, "content": out or [{"type": "text", "text": "(no content)"}]}


def from_wire(data: Any, names: ToolNames) -> ModelReply:
    def malformed(why: str) -> ModelError:
        return ModelError(f"anthropic sent a malformed response ({why})")

    if not isinstance(data, dict):
        raise malformed("the body is not an object")
    content = data.get("content")
    if not isinstance(content, list):
        raise malformed("no content list")
    stop_reason = data.get("stop_reason")
    if not isinstance(stop_reason, str):
        raise malformed("no stop_reason")
    usage = data.get("usage")
    if not isinstance(usage, dict):
        raise malformed("no usage")
    return ModelReply(
        content=[_reply_block(b, i, names, malformed) for i, b in enumerate(content)],
        stop_reason=stop_reason,
        usage=Usage(
            input_tokens=int_field(usage, "input_tokens", "anthropic"),
            output_tokens=int_field(usage, "output_tokens", "anthropic"),
            cache_read_tokens=int_field(
                usage, "cache_read_input_tokens", "anthropic", required=False
            ),
            cache_write_tokens=int_field(
                usage, "cache_creation_input_tokens", "anthropic", required=False
            ),
            estimated=False,
        ),
        model=str(data.get("model") or ""),
        provider="anthropic",
        metadata={
            "stopReason": stop_reason,
            "stopSequence": data.get("stop_sequence"),
            "messageId": data.get("id"),
        },
    )


def _reply_block(
    block: Any, index: int, names: ToolNames, malformed: Callable[[str], ModelError]
) -> dict[str, Any]:
    if not isinstance(block, dict):
        raise malformed(f"content[{index}] is not an object")
    kind = block.get("type")
    if kind == "text":
        if not isinstance(block.get("text"), str):
            raise malformed(f"content[{index}] text block without text")
        return {"type": "text", "text": block["text"]}
    if kind == "tool_use":
        if not isinstance(block.get("id"), str) or not isinstance(block.get("name"), str):
            raise malformed(f"content[{index}] tool_use block without id or name")
        if not isinstance(block.get("input"), dict):
            raise malformed(f"content[{index}] tool input is not an object")
        return {
            "type": "tool_use",
            "id": block["id"],
            "name": names.original(block["name"]),
            "input": block["input"],
        }
    raise malformed(f"content[{index}] has unknown block type {kind!r}")
