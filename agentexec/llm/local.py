"""Built-in offline models. They run on the host like any provider; their token counts are
estimates and say so."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from agentexec.llm import extractive as extractive_agent
from agentexec.llm.base import (
    ModelError,
    ModelReply,
    ModelRequest,
    Usage,
    estimate_tokens,
    messages_text,
)

LOCAL_MODELS = ("local/echo", "local/extractive", "local/scripted")


def _first_prompt(request: ModelRequest) -> str:
    for block in request.messages[0]["content"] if request.messages else []:
        if block.get("type") == "text":
            return str(block.get("text", ""))
    return ""


def _tool_results(request: ModelRequest) -> list[str]:
    return [
        str(block.get("content", ""))
        for message in request.messages
        if message.get("role") == "user"
        for block in message.get("content", [])
        if block.get("type") == "tool_result"
    ]


def _turns_taken(request: ModelRequest) -> int:
    return sum(1 for m in request.messages if m.get("role") == "assistant")


def echo(request: ModelRequest) -> list[dict[str, Any]]:
    """Answers with the prompt: measures the platform's own overhead."""
    return [{"type": "text", "text": _first_prompt(request)}]


def parse_script(prompt: str) -> dict[str, Any]:
    """Parses the local/scripted prompt:
    {"steps": [{"tool": NAME, "input": {...}}, ...], "final": TEXT}."""
    try:
        script = json.loads(prompt)
    except json.JSONDecodeError as exc:
        raise ModelError(f"local/scripted: the prompt is not a JSON script ({exc})") from exc
    if not isinstance(script, dict) or not isinstance(script.get("steps", []), list):
        raise ModelError('local/scripted: the prompt must be {"steps": [...], "final": "..."}')
    for i, step in enumerate(script.get("steps", [])):
        if not isinstance(step, dict) or not isinstance(step.get("tool"), str):
            raise ModelError(f"local/scripted: steps[{i}] needs a string 'tool'")
        if not isinstance(step.get("input", {}), dict):
            raise ModelError(f"local/scripted: steps[{i}].input must be an object")
    return script


def scripted(request: ModelRequest) -> list[dict[str, Any]]:
    """Calls the script's tools in order, one per turn, then answers its final text followed by
    the tool results."""
    script = parse_script(_first_prompt(request))
    steps = script.get("steps", [])
    turn = _turns_taken(request)
    if turn < len(steps):
        step = steps[turn]
        return [
            {
                "type": "tool_use",
                "id": f"toolu_scripted_{turn + 1}",
                "name": step["tool"],
                "input": step.get("input", {}),
            }
        ]
    parts = [str(script.get("final", "")), *_tool_results(request)]
    return [{"type": "text", "text": "\n\n".join(p for p in parts if p)}]


def extractive(request: ModelRequest) -> list[dict[str, Any]]:
    return extractive_agent.next_turn(request)


_MODELS: dict[str, Callable[[ModelRequest], list[dict[str, Any]]]] = {
    "local/echo": echo,
    "local/scripted": scripted,
    "local/extractive": extractive,
}


class LocalProvider:
    name = "local"

    def complete(self, request: ModelRequest) -> ModelReply:
        model = _MODELS.get(request.model)
        if model is None:
            raise ModelError(
                f"unknown local model {request.model!r}; known: {', '.join(LOCAL_MODELS)}"
            )
        content = model(request)
        stop_reason = "tool_use" if any(b["type"] == "tool_use" for b in content) else "end_turn"
        usage = Usage(
            input_tokens=estimate_tokens(request.system + messages_text(request.messages)),
            output_tokens=estimate_tokens(messages_text([{"content": content}])),
            estimated=True,
        )
        return ModelReply(
            content=content,
            stop_reason=stop_reason,
            usage=usage,
            model=request.model,
            provider=self.name,
        )
