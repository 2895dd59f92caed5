"""The vault tools agents get: vault.search, vault.list, vault.read, vault.write.

They run on the host, and every call is checked against the run's scope (selectors.run_scope,
from the ids the executor puts in the ToolContext):
anything outside it is a ToolError, which the agent sees as an error result, never as data.
Results are compact JSON, since a model reads them.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

from agentexec.formatting import cite_label
from agentexec.tools.registry import Tool, ToolContext, ToolError, ToolResult, register
from vaults import chunking, selectors, services
from vaults.models import ObjectStatus, ObjectText, Vault, VaultObject
from vaults.parsing import extraction

SEARCH_TOP_K_DEFAULT = 5
SEARCH_TOP_K_MAX = 20
RESULT_TEXT_CHARS = 1200
LIST_OBJECTS_MAX = 200
READ_LIMIT_DEFAULT = 4000
READ_LIMIT_MAX = 12_000


def _ok(content: Any, endpoint: str, method: str, status: int = 200, **meta: Any) -> ToolResult:
    return ToolResult(
        content=content,
        service="vault",
        endpoint=endpoint,
        method=method,
        status_code=status,
        metadata=meta,
    )


def _str(input: dict[str, Any], name: str, *, required: bool = False) -> str | None:
    value = input.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ToolError(f"'{name}' must be a non-empty string")
    return value


def _int(input: dict[str, Any], name: str, default: int | None, lo: int, hi: int) -> int | None:
    value = input.get(name, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise ToolError(f"'{name}' must be an integer from {lo} to {hi}")
    return value


def _ids(input: dict[str, Any], name: str) -> list[str] | None:
    value = input.get(name)
    if value is None:
        return None
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ToolError(f"'{name}' must be a list of ids")
    return list(dict.fromkeys(value))


def _scope(ctx: ToolContext) -> selectors.RunScope:
    return selectors.tool_scope(ctx)


def _object_in_scope(scope: selectors.RunScope, object_id: str) -> VaultObject:
    obj = (
        VaultObject.objects.filter(id=object_id, vault__organization_id=scope.organization_id)
        .select_related("vault")
        .first()
    )
    if obj is None or not scope.allows_object(obj):
        raise ToolError(f"object {object_id} is not in this run's scope (or does not exist)")
    return obj


def _vault_in_scope(scope: selectors.RunScope, vault_id: str) -> Vault:
    vault = Vault.objects.filter(id=vault_id, organization_id=scope.organization_id).first()
    if vault is None or not scope.allows_vault(vault_id):
        raise ToolError(f"vault {vault_id} is not in this run's scope (or does not exist)")
    return vault


# --- vault.search -----------------------------------------------------------------------------


def search_handler(ctx: ToolContext, input: dict[str, Any]) -> ToolResult:
    scope = _scope(ctx)
    query = _str(input, "query", required=True) or ""
    top_k = _int(input, "topK", SEARCH_TOP_K_DEFAULT, 1, SEARCH_TOP_K_MAX) or SEARCH_TOP_K_DEFAULT
    vault_ids = _ids(input, "vaultIds")
    object_ids = _ids(input, "objectIds")
    for vault_id in vault_ids or []:
        _vault_in_scope(scope, vault_id)
    for object_id in object_ids or []:
        _object_in_scope(scope, object_id)
    if object_ids is None and scope.object_ids is not None:
        object_ids = sorted(scope.object_ids)
    results = selectors.chunk_search(
        query=query,
        vault_ids=vault_ids or sorted(scope.vault_ids),
        object_ids=object_ids,
        top_k=top_k,
    )
    content = {
        "query": query,
        "results": [
            {
                "objectId": r.chunk.object_id,
                "filename": r.chunk.object.filename,
                "chunkIndex": r.chunk.index,
                "section": r.chunk.section,
                "pageStart": r.chunk.page_start,
                "pageEnd": r.chunk.page_end,
                "cite": cite_label(r.chunk.object.filename, r.chunk.page_start, r.chunk.page_end),
                "text": r.chunk.text[:RESULT_TEXT_CHARS],
                "score": r.score,
            }
            for r in results
        ],
    }
    return _ok(content, "/vault/{id}/search", "POST")


# --- vault.list -------------------------------------------------------------------------------


def list_handler(ctx: ToolContext, input: dict[str, Any]) -> ToolResult:
    scope = _scope(ctx)
    vault_id = _str(input, "vaultId")
    if vault_id is not None:
        vaults = [_vault_in_scope(scope, vault_id)]
    else:
        vaults = list(Vault.objects.filter(id__in=scope.vault_ids).order_by("name", "id"))
    listed = []
    for vault in vaults:
        objects = VaultObject.objects.filter(vault=vault).order_by("filename", "id")
        if scope.object_ids is not None:
            objects = objects.filter(id__in=scope.object_ids)
        count = objects.count()
        listed.append(
            {
                "id": vault.id,
                "name": vault.name,
                "description": vault.description or "",
                "objectCount": count,
                "objects": [
                    {
                        "id": o.id,
                        "filename": o.filename,
                        "status": o.status,
                        "pageCount": o.page_count,
                        "sizeBytes": o.size_bytes,
                    }
                    for o in objects[:LIST_OBJECTS_MAX]
                ],
            }
        )
    endpoint = "/vault/{id}/objects" if vault_id else "/vault"
    return _ok({"vaults": listed}, endpoint, "GET")


# --- vault.read -------------------------------------------------------------------------------


def read_handler(ctx: ToolContext, input: dict[str, Any]) -> ToolResult:
    scope = _scope(ctx)
    obj = _object_in_scope(scope, _str(input, "objectId", required=True) or "")
    if obj.status != ObjectStatus.COMPLETED:
        raise ToolError(f"object {obj.id} has no text to read (status {obj.status})")
    text = selectors.object_text(obj=obj)
    page_count = len(text.page_offsets) or None
    page_start = _int(input, "pageStart", None, 1, 1_000_000)
    page_end = _int(input, "pageEnd", None, 1, 1_000_000)
    starts: list[tuple[int, int, int]] = []  # (offset in body, page, offset in text)
    if (page_start or page_end) and page_count:
        first, last = page_start or 1, min(page_end or page_start or page_count, page_count)
        if first > last:
            raise ToolError(f"pageStart must be within 1..{page_count} and not after pageEnd")
        parts, length = [], 0
        for number, page_text in selectors.page_texts(text, start=first, end=last):
            part = f"[page {number}]\n{page_text}"
            starts.append(
                (length + len(part) - len(page_text), number, text.page_offsets[number - 1])
            )
            parts.append(part)
            length += len(part) + 2
        body = "\n\n".join(parts)
    else:
        first, last, body = None, None, text.text
    offset = _int(input, "offset", 0, 0, 1_000_000_000) or 0
    limit = _int(input, "limit", READ_LIMIT_DEFAULT, 1, READ_LIMIT_MAX) or READ_LIMIT_DEFAULT
    window = body[offset : offset + limit]
    page, position = _page_and_position(text, starts, offset)
    content = {
        "objectId": obj.id,
        "filename": obj.filename,
        "section": selectors.section_at(obj=obj, position=position),
        "page": page,
        "pageCount": page_count,
        "pageStart": first,
        "pageEnd": last,
        "cite": cite_label(obj.filename, first, last),
        "offset": offset,
        "length": len(body),
        "text": window,
        "nextOffset": offset + limit if offset + limit < len(body) else None,
    }
    return _ok(content, "/vault/{id}/objects/{objectId}/text", "GET")


def _page_and_position(
    text: ObjectText, starts: list[tuple[int, int, int]], offset: int
) -> tuple[int | None, int]:
    """The page and the offset in the object's text where a read window starts, so the model
    can cite it: `starts` are the pages of a page-range body, empty for the whole text."""
    if not starts:
        page = chunking.page_of(text.page_offsets, offset) if text.page_offsets else None
        return page, offset
    body_start, page, text_start = starts[0]
    for candidate in starts:
        if candidate[0] <= offset:
            body_start, page, text_start = candidate
    return page, text_start + max(0, offset - body_start)


# --- vault.write ------------------------------------------------------------------------------


def write_handler(ctx: ToolContext, input: dict[str, Any]) -> ToolResult:
    scope = _scope(ctx)
    vault = _vault_in_scope(scope, _str(input, "vaultId", required=True) or "")
    filename = services.clean_filename(_str(input, "filename", required=True) or "")
    content = input.get("content")
    if not isinstance(content, str):
        raise ToolError("'content' must be a string")
    if len(content) > settings.VAULT_WRITE_MAX_CHARS:
        raise ToolError(f"'content' is longer than {settings.VAULT_WRITE_MAX_CHARS} characters")
    content_type = extraction.guess_content_type(filename)
    if not content_type.startswith("text/"):
        content_type = "text/plain"  # the tool writes text, whatever the name says
    obj = services.object_create_with_content(
        vault=vault,
        filename=filename,
        content=[content.encode("utf-8")],
        content_type=content_type,
        metadata={"createdByRunId": ctx.run_id},
    )
    obj = services.object_ingest_run(object_id=obj.id) or obj
    result = {
        "objectId": obj.id,
        "vaultId": vault.id,
        "filename": obj.filename,
        "status": obj.status,
        "chunkCount": obj.chunk_count,
        "sizeBytes": obj.size_bytes,
    }
    return _ok(result, "/vault/{id}/upload", "POST", 201, createdObjectIds=[obj.id])


# --- Registration -----------------------------------------------------------------------------

_IDS = {"type": "array", "items": {"type": "string"}}

TOOLS = (
    Tool(
        "vault.search",
        "Search the documents in this run's vaults. Ask in plain words or a question; results "
        "are the best-matching passages with document name, section, pages and chunk index, "
        "to cite.",
        {
            "type": "object",
            "properties": {
                "query": {"type": "string", "description": "Question or keywords."},
                "vaultIds": {**_IDS, "description": "Only these vaults (default: all in scope)."},
                "objectIds": {**_IDS, "description": "Only these documents."},
                "topK": {"type": "integer", "minimum": 1, "maximum": SEARCH_TOP_K_MAX},
            },
            "required": ["query"],
        },
        "host",
        search_handler,
    ),
    Tool(
        "vault.list",
        "List the vaults in this run's scope and the documents in them (id, filename, status, "
        "pages).",
        {
            "type": "object",
            "properties": {"vaultId": {"type": "string", "description": "Only this vault."}},
        },
        "host",
        list_handler,
    ),
    Tool(
        "vault.read",
        "Read a document's extracted text, optionally only some pages; long text comes in "
        f"windows of `limit` characters (default {READ_LIMIT_DEFAULT}) from `offset`.",
        {
            "type": "object",
            "properties": {
                "objectId": {"type": "string"},
                "pageStart": {"type": "integer", "minimum": 1},
                "pageEnd": {"type": "integer", "minimum": 1},
                "offset": {"type": "integer", "minimum": 0},
                "limit": {"type": "integer", "minimum": 1, "maximum": READ_LIMIT_MAX},
            },
            "required": ["objectId"],
        },
        "host",
        read_handler,
    ),
    Tool(
        "vault.write",
        "Save text (a memo, a summary, a draft) as a new document in a vault in scope; it is "
        "indexed at once and its id is added to the run's output objects.",
        {
            "type": "object",
            "properties": {
                "vaultId": {"type": "string"},
                "filename": {"type": "string", "description": "e.g. review-notes.md"},
                "content": {"type": "string"},
            },
            "required": ["vaultId", "filename", "content"],
        },
        "host",
        write_handler,
    ),
)


def register_all() -> None:
    for tool in TOOLS:
        register(tool)
