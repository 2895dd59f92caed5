"""Provider-neutral model types.

Messages use one shape everywhere (the runtime in the sandbox, the router, every provider):
``{"role": "user" | "assistant", "content": [block, ...]}`` with blocks
``{"type": "text", "text"}``, ``{"type": "tool_use", "id", "name", "input"}`` and
``{"type": "tool_result", "tool_use_id", "content": str, "is_error": bool}``.
Providers translate this to and from their wire format.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any, Protocol


class ModelError(Exception):
    """A model call failed; the message is safe to show (never contains a key)."""

    def __init__(self, message: str, *, retryable: bool = False, status_code: int | None = None):
        super().__init__(message)
        self.message = message
        self.retryable = retryable
        self.status_code = status_code


class ModelNotRoutable(Exception):
    """No configured provider serves this model id; the message names what would enable it."""


@dataclass
class ToolSchema:
    name: str
    description: str
    input_schema: dict[str, Any]


@dataclass
class ModelRequest:
    model: str  # the full "vendor/name" id
    system: str
    messages: list[dict[str, Any]]
    tools: list[ToolSchema]
    max_tokens: int = 4096
    deadline: float = field(default_factory=lambda: time.monotonic() + 300)  # time.monotonic()

    def remaining(self) -> float:
        return self.deadline - time.monotonic()


@dataclass
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    estimated: bool = False  # True for local models: counts are estimates, not a provider's report

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens


@dataclass
class ModelReply:
    content: list[dict[str, Any]]
    stop_reason: str
    usage: Usage
    model: str  # the model id as the provider reported it
    provider: str
    attempts: int = 1
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def tool_uses(self) -> list[dict[str, Any]]:
        return [b for b in self.content if b.get("type") == "tool_use"]

    @property
    def text(self) -> str:
        return "".join(b.get("text", "") for b in self.content if b.get("type") == "text")


class ModelProvider(Protocol):
    name: str

    def complete(self, request: ModelRequest) -> ModelReply: ...


def estimate_tokens(text: str) -> int:
    """A rough count (about four characters a token) for models that report none."""
    return max(1, math.ceil(len(text) / 4)) if text else 0


def messages_text(messages: list[dict[str, Any]]) -> str:
    parts: list[str] = []
    for message in messages:
        for block in message.get("content", []):
            if block.get("type") == "text":
                parts.append(block.get("text", ""))
            elif block.get("type") == "tool_result":
                parts.append(str(block.get("content", "")))
            elif block.get("type") == "tool_use":
                parts.append(str(block.get("input", "")))
    return "\n".join(parts)
