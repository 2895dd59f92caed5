"""local/extractive: the offline default, a deterministic agent that works from the documents in
scope. Without any document tools in scope it says so plainly."""

from __future__ import annotations

from typing import Any

from agentexec.llm.base import ModelRequest

NO_DOCUMENTS = (
    "I have no documents to work from: no document vault is in scope for this run, so I cannot "
    "review or cite anything. Upload documents to a vault and pass its id in vaultIds."
)


def next_turn(request: ModelRequest) -> list[dict[str, Any]]:
    return [{"type": "text", "text": NO_DOCUMENTS}]
