"""Shared by the wire-format clients (Anthropic Messages, OpenAI Chat Completions): reversible
tool names, provider-neutral message blocks, strict integer fields."""

from __future__ import annotations

import re
from typing import Any

from agentexec.llm.base import ModelError, ToolSchema

_WIRE_NAME_OK = re.compile(r"[^a-zA-Z0-9_-]")


class ToolNames:
    """Reversible wire names: tool names have dots (vault.search) but the providers accept only
    ^[a-zA-Z0-9_-]{1,64}$, so "." goes out as "__" and comes back as "."."""

    def __init__(self, tools: list[ToolSchema]) -> None:
        self._original: dict[str, str] = {}
        for tool in tools:
            self.wire(tool.name)

    def wire(self, name: str) -> str:
        wire = _WIRE_NAME_OK.sub("_", name.replace(".", "__"))[:64] or "tool"
        self._original.setdefault(wire, name)
        return wire

    def original(self, wire: str) -> str:
        return self._original.get(wire) or wire.replace("__", ".")


def blocks(message: Any, index: int) -> tuple[str, list[dict[str, Any]]]:
    """A provider-neutral message's role and content blocks, or ModelError if it is malformed."""
    if not isinstance(message, dict) or message.get("role") not in ("user", "assistant"):
        raise ModelError(f"messages[{index}] needs a role of 'user' or 'assistant'")
    content = message.get("content")
    if isinstance(content, str):
        return message["role"], [{"type": "text", "text": content}]
    if not isinstance(content, list) or not all(isinstance(b, dict) for b in content):
        raise ModelError(f"messages[{index}].content must be a list of blocks")
    return message["role"], content


def int_field(data: dict[str, Any], key: str, provider: str, *, required: bool = True) -> int:
    value = data.get(key)
    if value is None and not required:
        return 0
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ModelError(f"{provider} sent a malformed response (usage.{key} is {value!r})")
    return value
