"""Reads shared by the API, the agent tools, the admin and the execute validation."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet

from agentexec.errors import ApplicationError, ConflictError, NotFoundError
from agentexec.tenancy.models import Organization
from agentexec.tools.registry import ToolContext
from vaults import search
from vaults.chunking import PAGE_SEPARATOR
from vaults.models import (
    Chunk,
    MultipartUpload,
    ObjectStatus,
    ObjectText,
    Vault,
    VaultGroup,
    VaultObject,
)

MAX_CHUNK_RANGE = 10


def group_list(*, organization: Organization) -> QuerySet[VaultGroup]:
    """An organization's vault groups, each with `vault_count`."""
    return VaultGroup.objects.filter(organization=organization).annotate(
        vault_count=Count("vaults")
    )


def group_get(*, organization: Organization, group_id: str) -> VaultGroup:
    group = group_list(organization=organization).filter(id=group_id).first()
    if group is None:
        raise NotFoundError(f"Vault group {group_id} not found.")
    return group


def vault_ids_in_groups(*, organization_id: str, group_ids: Iterable[str]) -> set[str]:
    """The ids of the organization's vaults that belong to any of the groups."""
    group_ids = list(group_ids)
    if not group_ids:
        return set()
    return set(
        Vault.objects.filter(organization_id=organization_id, group_id__in=group_ids).values_list(
            "id", flat=True
        )
    )


def vault_list(*, organization: Organization) -> QuerySet[Vault]:
    return Vault.objects.filter(organization=organization)


def vault_get(*, organization: Organization, vault_id: str) -> Vault:
    vault = Vault.objects.filter(organization=organization, id=vault_id).first()
    if vault is None:
        raise NotFoundError(f"Vault {vault_id} not found.")
    return vault


def multipart_upload_get(*, vault: Vault, upload_id: str, object_id: str) -> MultipartUpload:
    """A multipart upload of the vault, named by its uploadId and the objectId it returned."""
    upload = MultipartUpload.objects.filter(vault=vault, id=upload_id).first()
    if upload is None:
        raise NotFoundError(f"Multipart upload {upload_id} not found in vault {vault.id}.")
    if upload.object_id != object_id:
        raise NotFoundError(f"Multipart upload {upload_id} is not an upload of object {object_id}.")
    return upload


def object_list(*, vault: Vault) -> QuerySet[VaultObject]:
    return VaultObject.objects.filter(vault=vault)


def object_get(*, organization: Organization, vault_id: str, object_id: str) -> VaultObject:
    obj = (
        VaultObject.objects.select_related("vault")
        .filter(id=object_id, vault_id=vault_id, vault__organization=organization)
        .first()
    )
    if obj is None:
        raise NotFoundError(f"Object {object_id} not found in vault {vault_id}.")
    return obj


def object_text(*, obj: VaultObject) -> ObjectText:
    """The extracted text of a completed object; 409 naming the status otherwise."""
    text = ObjectText.objects.filter(object=obj).first()
    if obj.status != ObjectStatus.COMPLETED or text is None:
        raise ConflictError(
            f"Object {obj.id} has no extracted text (ingestionStatus is {obj.status!r}); "
            "it must be ingested successfully first."
        )
    return text


def object_chunks(*, obj: VaultObject, start: int, end: int | None) -> list[Chunk]:
    last = start if end is None else end
    if last < start:
        raise ApplicationError("end must not be before start.", fields={"end": ["before start"]})
    if last - start + 1 > MAX_CHUNK_RANGE:
        raise ApplicationError(
            f"A range holds at most {MAX_CHUNK_RANGE} chunks.",
            fields={"end": [f"at most {MAX_CHUNK_RANGE} chunks from start"]},
        )
    return list(obj.chunks.filter(index__gte=start, index__lte=last).order_by("index"))


def page_texts(
    text: ObjectText, *, start: int = 1, end: int | None = None
) -> list[tuple[int, str]]:
    """(page number, text) for pages start..end of a paged document; the whole text as page 1
    for a document without pages."""
    offsets = text.page_offsets or [0]
    gap = len(PAGE_SEPARATOR)
    bounds = [*offsets, len(text.text) + gap]
    last = min(end or len(offsets), len(offsets))
    return [
        (number, text.text[bounds[number - 1] : bounds[number] - gap])
        for number in range(max(start, 1), last + 1)
    ]


def section_at(*, obj: VaultObject, position: int) -> str:
    """The section path of the object's text at `position` (of the chunk starting there or
    before it); blank when unknown."""
    chunk = (
        obj.chunks.filter(char_start__lte=position)
        .order_by("-char_start")
        .values_list("section", flat=True)
        .first()
    )
    return chunk or ""


@dataclass(frozen=True)
class SearchResult:
    chunk: Chunk  # with .object selected
    score: float


def chunk_search(
    *,
    query: str,
    vault_ids: Sequence[str],
    object_ids: Sequence[str] | None = None,
    top_k: int = 10,
) -> list[SearchResult]:
    hits = search.search_chunks(
        query=query, vault_ids=vault_ids, object_ids=object_ids, top_k=top_k
    )
    chunks = Chunk.objects.select_related("object").in_bulk([h.chunk_id for h in hits])
    return [SearchResult(chunks[h.chunk_id], h.score) for h in hits if h.chunk_id in chunks]


# --- Scope of a run ---------------------------------------------------------------------------


@dataclass(frozen=True)
class RunScope:
    """What a run's vault tools may touch. object_ids None: every object in the vaults."""

    organization_id: str
    vault_ids: frozenset[str]
    object_ids: frozenset[str] | None

    def allows_vault(self, vault_id: str) -> bool:
        return vault_id in self.vault_ids

    def allows_object(self, obj: VaultObject) -> bool:
        return obj.vault_id in self.vault_ids and (
            self.object_ids is None or obj.id in self.object_ids
        )


def run_scope(
    *,
    organization_id: str,
    run_id: str,
    vault_ids: Sequence[str],
    agent_vault_ids: Sequence[str] = (),
    agent_vault_group_ids: Sequence[str] = (),
    object_ids: Sequence[str] = (),
) -> RunScope:
    """A run's vaultIds (every vault of its organization when none), narrowed by its agent's
    own vaults when it names any (its vaultIds and the vaults of its vaultGroups) and by the
    run's objectIds when given (then also to the vaults holding them). Objects the run itself
    wrote stay in scope."""
    vaults = set(Vault.objects.filter(organization_id=organization_id).values_list("id", flat=True))
    # A run of a persistent agent copies the agent's vaultIds; its groups count as listed too.
    group_vaults = vault_ids_in_groups(
        organization_id=organization_id, group_ids=list(agent_vault_group_ids)
    )
    if vault_ids:
        vaults &= set(vault_ids) | group_vaults
    if agent_vault_ids or agent_vault_group_ids:
        # An agent scoped to groups that hold no vault (yet) sees none, not all of them.
        vaults &= set(agent_vault_ids) | group_vaults
    if not object_ids:
        return RunScope(organization_id, frozenset(vaults), None)
    written_by_run = Q(metadata__createdByRunId=run_id)  # vault.write during this run
    objects = dict(
        VaultObject.objects.filter(
            Q(id__in=list(object_ids)) | written_by_run, vault_id__in=vaults
        ).values_list("id", "vault_id")
    )
    if not vault_ids:
        vaults = set(objects.values())
    return RunScope(organization_id, frozenset(vaults), frozenset(objects))


def tool_scope(ctx: ToolContext) -> RunScope:
    """The scope of the run a host tool works for."""
    return run_scope(
        organization_id=ctx.organization_id,
        run_id=ctx.run_id,
        vault_ids=ctx.vault_ids,
        agent_vault_ids=ctx.agent_vault_ids,
        agent_vault_group_ids=ctx.agent_vault_group_ids,
        object_ids=ctx.object_ids,
    )


def run_scope_errors(
    *,
    organization_id: str,
    vault_ids: list[str] | None,
    object_ids: list[str] | None,
    group_ids: list[str] | None = None,
) -> dict[str, list[str]]:
    """Field errors for an execute's or an agent's vaultIds/objectIds/vaultGroups: ids that do
    not exist in the organization, and objects outside the given vaults (those listed and those
    of the groups). Empty when all is well."""
    errors: dict[str, list[str]] = {}
    group_ids = list(dict.fromkeys(group_ids or []))
    if group_ids:
        known_groups = set(
            VaultGroup.objects.filter(
                organization_id=organization_id, id__in=group_ids
            ).values_list("id", flat=True)
        )
        unknown_groups = [g for g in group_ids if g not in known_groups]
        if unknown_groups:
            errors["vaultGroups"] = [f"Unknown vault group id(s): {_names(unknown_groups)}."]
    vault_ids = list(dict.fromkeys(vault_ids or []))
    object_ids = list(dict.fromkeys(object_ids or []))
    if vault_ids:
        known = set(
            Vault.objects.filter(organization_id=organization_id, id__in=vault_ids).values_list(
                "id", flat=True
            )
        )
        unknown = [v for v in vault_ids if v not in known]
        if unknown:
            errors["vaultIds"] = [f"Unknown vault id(s): {_names(unknown)}."]
    if object_ids:
        found = dict(
            VaultObject.objects.filter(
                vault__organization_id=organization_id, id__in=object_ids
            ).values_list("id", "vault_id")
        )
        unknown = [o for o in object_ids if o not in found]
        if unknown:
            errors.setdefault("objectIds", []).append(f"Unknown object id(s): {_names(unknown)}.")
        listed = set(vault_ids) | vault_ids_in_groups(
            organization_id=organization_id, group_ids=group_ids
        )
        restricted = bool(vault_ids or group_ids)
        outside = [o for o in object_ids if o in found and restricted and found[o] not in listed]
        if outside:
            errors.setdefault("objectIds", []).append(
                f"Object id(s) not in any of the given vaultIds: {_names(outside)}."
            )
    return errors


def _names(ids: Iterable[str]) -> str:
    return ", ".join(str(i) for i in ids)


# --- Staff pages ------------------------------------------------------------------------------


def object_with_text(*, vault_id: str, object_id: str) -> tuple[VaultObject, ObjectText | None]:
    """An object of any organization (staff see them all) and its extracted text, if any."""
    obj = (
        VaultObject.objects.select_related("vault__organization")
        .filter(id=object_id, vault_id=vault_id)
        .first()
    )
    if obj is None:
        raise NotFoundError(f"Object {object_id} not found in vault {vault_id}.")
    return obj, ObjectText.objects.filter(object=obj).first()
