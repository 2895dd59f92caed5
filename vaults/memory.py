"""Vault memory: file-backed entries (facts, parties, issues, deadlines ...) that an
organization's agents and API clients write and search across runs. Each entry's content is a
file under MEDIA_ROOT (vaults/<vault>/memory/<entry>.md); its indexed copy is searched with the
chunks' full-text engine (vaults.search.memory). A vault holds at most MEMORY_MAX_CHARS
characters of memory."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Max, QuerySet, Sum
from django.db.models.functions import Coalesce, Length

from agentexec.errors import ApplicationError, NotFoundError
from vaults.models import MemoryEntry, Vault
from vaults.search.memory import search_memory

log = logging.getLogger(__name__)
SEARCH_LIMIT_MAX = 100


# --- Selectors --------------------------------------------------------------------------------


def memory_list(*, vault: Vault) -> QuerySet[MemoryEntry]:
    return MemoryEntry.objects.filter(vault=vault)


def memory_get(*, vault: Vault, entry_id: str) -> MemoryEntry:
    entry = MemoryEntry.objects.filter(vault=vault, id=entry_id).first()
    if entry is None:
        raise NotFoundError(f"Memory entry {entry_id} not found in vault {vault.id}.")
    return entry


def memory_file_names(*, vault: Vault) -> list[str]:
    """Where a vault's memory files are (for vault_delete, which removes them after commit)."""
    return [n for n in MemoryEntry.objects.filter(vault=vault).values_list("file", flat=True) if n]


@dataclass(frozen=True)
class MemoryMeta:
    chars: int
    count: int
    max_chars: int
    updated_at: datetime | None


def memory_meta(*, vault: Vault) -> MemoryMeta:
    totals = MemoryEntry.objects.filter(vault=vault).aggregate(
        chars=Coalesce(Sum(Length("content")), 0), updated=Max("updated_at")
    )
    count = MemoryEntry.objects.filter(vault=vault).count()
    return MemoryMeta(totals["chars"], count, settings.MEMORY_MAX_CHARS, totals["updated"])


def memory_search(
    *,
    vault_ids: list[str],
    query: str,
    limit: int = 10,
    types: list[str] | None = None,
    tags: list[str] | None = None,
) -> list[tuple[MemoryEntry, float]]:
    """The best entries for a question among the vaults' memory, best first, of the given types
    and holding every given tag."""
    ranked = search_memory(query=query, vault_ids=vault_ids, limit=SEARCH_LIMIT_MAX)
    entries = MemoryEntry.objects.in_bulk([entry_id for entry_id, _ in ranked])
    found = []
    for entry_id, score in ranked:
        entry = entries.get(entry_id)
        if entry is None or (types and entry.type not in types):
            continue
        if tags and not set(tags) <= set(entry.tags):
            continue
        found.append((entry, score))
    return found[:limit]


# --- Services ---------------------------------------------------------------------------------


def _check_budget(vault: Vault, adding: int, replacing: MemoryEntry | None = None) -> None:
    """Inside the write's transaction, with the vault row locked (PostgreSQL): two writes
    racing for the last of the budget cannot both pass."""
    Vault.objects.select_for_update().filter(id=vault.id).first()
    used = memory_meta(vault=vault).chars - (len(replacing.content) if replacing else 0)
    if used + adding > settings.MEMORY_MAX_CHARS:
        raise ApplicationError(
            f"The vault's memory would hold {used + adding} characters, over the limit of "
            f"{settings.MEMORY_MAX_CHARS} (MEMORY_MAX_CHARS); delete or shorten entries first.",
            fields={"content": [f"memory is limited to {settings.MEMORY_MAX_CHARS} characters"]},
        )


def _store_file(entry: MemoryEntry) -> None:
    name = f"vaults/{entry.vault_id}/memory/{entry.id}.md"
    entry.file.name = default_storage.save(name, ContentFile(entry.content.encode("utf-8")))


def _delete_file(name: str) -> None:
    try:
        default_storage.delete(name)
    except OSError:  # the row is what counts; a leftover file is only disk space
        log.warning("could not delete memory file %s", name, exc_info=True)


@transaction.atomic
def memory_entry_create(
    *,
    vault: Vault,
    content: str,
    type: str,
    created_by: str,
    source: str | None = None,
    tags: list[str] | None = None,
) -> MemoryEntry:
    _check_budget(vault, len(content))
    entry = MemoryEntry(
        vault=vault,
        type=type,
        content=content,
        source=source,
        tags=list(dict.fromkeys(tags or [])),
        created_by=created_by,
    )
    _store_file(entry)
    try:
        entry.save(force_insert=True)
    except Exception:
        _delete_file(entry.file.name or "")
        raise
    return entry


@transaction.atomic
def memory_entry_update(*, entry: MemoryEntry, changes: dict[str, Any]) -> MemoryEntry:
    """changes: any of content (the file is rewritten), source (None removes it), tags."""
    fields = []
    old_file = entry.file.name
    if "content" in changes:
        _check_budget(entry.vault, len(changes["content"]), replacing=entry)
        entry.content = changes["content"]
        _store_file(entry)
        fields += ["content", "file"]
    if "source" in changes:
        entry.source = changes["source"]
        fields.append("source")
    if "tags" in changes:
        entry.tags = list(dict.fromkeys(changes["tags"]))
        fields.append("tags")
    if fields:
        entry.save(update_fields=[*fields, "updated_at"])
    if "content" in changes and old_file and old_file != entry.file.name:
        transaction.on_commit(partial(_delete_file, old_file))
    return entry


@transaction.atomic
def memory_entry_delete(*, entry: MemoryEntry) -> None:
    name = entry.file.name
    entry.delete()
    if name:
        transaction.on_commit(partial(_delete_file, name))
