"""Every tool an agent can be given: its schema, where it runs, and whether it is available.

Sandbox tools run inside the sandbox (their schemas live with the runtime, agentexec.linc.tools);
host tools run here, with the host's credentials and the run's scope. Apps register their host
tools from AppConfig.ready().
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from agentexec.linc.tools import LOCAL_TOOLS

Location = Literal["host", "sandbox"]


class ToolError(Exception):
    """A tool call failed in a way the agent should see (bad input, out of scope, not found)."""


@dataclass(frozen=True)
class ToolContext:
    """What a host tool knows of the run calling it: whose run it is and what it may touch.
    The executor builds it from the run; tools never see the run itself."""

    organization_id: str
    run_id: str
    # The run's vaultIds; empty: every vault of the organization.
    vault_ids: tuple[str, ...] = ()
    # The agent's own vault ids; when set, they narrow vault_ids further.
    agent_vault_ids: tuple[str, ...] = ()
    # The agent's vault groups; their vaults count as the agent's own.
    agent_vault_group_ids: tuple[str, ...] = ()
    # The run's objectIds; empty: every object in the vaults in scope.
    object_ids: tuple[str, ...] = ()


@dataclass
class ToolResult:
    content: Any  # a str, or anything JSON-serialisable
    is_error: bool = False
    # What the call cost, for the run's `api` usage entry.
    service: str = ""
    endpoint: str = ""
    method: str = ""
    status_code: int | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    def text(self) -> str:
        if isinstance(self.content, str):
            return self.content
        return json.dumps(self.content, ensure_ascii=False, default=str)


@dataclass(frozen=True)
class Tool:
    name: str
    description: str
    input_schema: dict[str, Any]
    location: Location
    handler: Callable[[ToolContext, dict[str, Any]], ToolResult] | None = None
    # None when available; otherwise why not (naming the setting that would enable it).
    unavailable_reason: Callable[[], str | None] = lambda: None

    @property
    def available(self) -> bool:
        return self.unavailable_reason() is None

    def schema(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "input_schema": self.input_schema,
            "location": self.location,
        }


_REGISTRY: dict[str, Tool] = {}


def register(tool: Tool) -> Tool:
    _REGISTRY[tool.name] = tool
    return tool


def _ensure_sandbox_tools() -> None:
    if any(t.location == "sandbox" for t in _REGISTRY.values()):
        return
    for spec in LOCAL_TOOLS:
        register(Tool(spec["name"], spec["description"], spec["input_schema"], "sandbox"))


def all_tools() -> list[Tool]:
    _ensure_sandbox_tools()
    return sorted(_REGISTRY.values(), key=lambda t: t.name)


def get(name: str) -> Tool | None:
    _ensure_sandbox_tools()
    return _REGISTRY.get(name)


def known_names() -> list[str]:
    return [t.name for t in all_tools()]


def effective_tools(enabled: Iterable[str] | None, disabled: Iterable[str] | None) -> list[Tool]:
    """The tools a run gets: the allowlist if given, else every available tool but the denied."""
    if enabled is not None:
        wanted = set(enabled)
        return [t for t in all_tools() if t.name in wanted and t.available]
    denied = set(disabled or ())
    return [t for t in all_tools() if t.available and t.name not in denied]
