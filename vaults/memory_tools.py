"""The memory tools agents get: memory.search and memory.write, over the memory of the vaults
in the run's scope (selectors.run_scope), so what one run notes, a later run can find."""

from __future__ import annotations

from typing import Any

from agentexec.errors import ApplicationError
from agentexec.tools.registry import Tool, ToolContext, ToolError, ToolResult, register
from vaults import memory, selectors
from vaults.models import MemoryType, Vault

SEARCH_LIMIT_DEFAULT = 5
TYPES = [t.value for t in MemoryType]


def _vault_ids(ctx: ToolContext, input: dict[str, Any]) -> list[str]:
    """The vaults in scope, or the one asked for (which must be in scope)."""
    scope = selectors.tool_scope(ctx)
    wanted = input.get("vaultId")
    if wanted is None:
        return sorted(scope.vault_ids)
    if not isinstance(wanted, str) or not scope.allows_vault(wanted):
        raise ToolError(f"vault {wanted} is not in this run's scope (or does not exist)")
    return [wanted]


def _strings(input: dict[str, Any], name: str) -> list[str] | None:
    value = input.get(name)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ToolError(f"'{name}' must be a list of strings")
    return value


def _entry(entry: Any, score: float | None = None) -> dict[str, Any]:
    out = {
        "id": entry.id,
        "vaultId": entry.vault_id,
        "type": entry.type,
        "content": entry.content,
        "source": entry.source,
        "tags": entry.tags,
        "createdBy": entry.created_by,
    }
    return out if score is None else {**out, "score": score}


def search_handler(ctx: ToolContext, input: dict[str, Any]) -> ToolResult:
    query = input.get("query")
    if not isinstance(query, str) or not query.strip():
        raise ToolError("'query' must be a non-empty string")
    limit = input.get("limit", SEARCH_LIMIT_DEFAULT)
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 20:
        raise ToolError("'limit' must be an integer from 1 to 20")
    found = memory.memory_search(
        vault_ids=_vault_ids(ctx, input),
        query=query,
        limit=limit,
        types=_strings(input, "types"),
        tags=_strings(input, "tags"),
    )
    content = {"query": query, "results": [_entry(e, s) for e, s in found]}
    return ToolResult(content, service="vault", endpoint="/vault/{id}/memory/search", method="POST")


def write_handler(ctx: ToolContext, input: dict[str, Any]) -> ToolResult:
    vault_ids = _vault_ids(ctx, input)
    if len(vault_ids) != 1:
        raise ToolError(f"give 'vaultId': this run's scope holds {len(vault_ids)} vaults")
    content, type_ = input.get("content"), input.get("type", MemoryType.FACT)
    if not isinstance(content, str) or not content.strip():
        raise ToolError("'content' must be a non-empty string")
    if type_ not in TYPES:
        raise ToolError(f"'type' must be one of {', '.join(TYPES)}")
    source = input.get("source")
    if source is not None and not isinstance(source, str):
        raise ToolError("'source' must be a string")
    vault = Vault.objects.get(id=vault_ids[0])
    try:
        entry = memory.memory_entry_create(
            vault=vault,
            content=content,
            type=type_,
            source=source,
            tags=_strings(input, "tags"),
            created_by=f"run:{ctx.run_id}",
        )
    except ApplicationError as exc:
        raise ToolError(exc.message) from exc
    return ToolResult(
        _entry(entry),
        service="vault",
        endpoint="/vault/{id}/memory",
        method="POST",
        status_code=201,
    )


TOOLS = (
    Tool(
        "memory.search",
        "Search the memory of this run's vaults: facts, parties, issues, deadlines and "
        "preferences noted by earlier runs and by people. Ask in plain words.",
        {
            "type": "object",
            "properties": {
                "query": {"type": "string"},
                "vaultId": {"type": "string", "description": "Only this vault's memory."},
                "types": {"type": "array", "items": {"type": "string", "enum": TYPES}},
                "tags": {"type": "array", "items": {"type": "string"}},
                "limit": {"type": "integer", "minimum": 1, "maximum": 20},
            },
            "required": ["query"],
        },
        "host",
        search_handler,
    ),
    Tool(
        "memory.write",
        "Note something worth remembering for later runs (a fact, a party, an issue, a "
        "deadline ...) in a vault's memory; give vaultId when the run has several vaults.",
        {
            "type": "object",
            "properties": {
                "content": {"type": "string"},
                "type": {"type": "string", "enum": TYPES},
                "vaultId": {"type": "string"},
                "source": {"type": "string", "description": "Where it comes from."},
                "tags": {"type": "array", "items": {"type": "string"}},
            },
            "required": ["content"],
        },
        "host",
        write_handler,
    ),
)


def register_all() -> None:
    for tool in TOOLS:
        register(tool)
