"""/vault/:id/memory (casedev `vault.memory`): create, list, update, delete, search. The SDK's
memory types name their fields in snake_case (created_at, max_chars), and so does this."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from agentexec.openapi import BOOLEAN, DATETIME, INTEGER, NUMBER, STRING, STRINGS, array, obj
from agentexec.openapi import nullable as null
from agentexec.tenancy.auth import caller
from vaults import memory, selectors
from vaults.models import MemoryEntry, MemoryType, Vault

ENTRY = obj(
    {
        "id": STRING,
        "type": STRING,
        "content": STRING,
        "source": null(STRING),
        "tags": STRINGS,
        "created_by": STRING,
        "created_at": DATETIME,
        "updated_at": DATETIME,
    }
)
ENTRY_ONE = obj({"entry": ENTRY})
ENTRY_LIST = obj(
    {
        "entries": array(ENTRY),
        "meta": obj(
            {
                "chars": INTEGER,
                "count": INTEGER,
                "max_chars": INTEGER,
                "updated_at": null(DATETIME),
            }
        ),
    }
)
SEARCH_RESULTS = obj({"results": array(obj({**ENTRY["properties"], "score": NUMBER}))})
DELETED = obj({"success": BOOLEAN, "id": STRING})


def _tags() -> serializers.ListField:
    return serializers.ListField(
        child=serializers.CharField(max_length=100), required=False, max_length=50
    )


class MemoryCreateInputSerializer(serializers.Serializer):
    content = serializers.CharField(max_length=1_000_000, trim_whitespace=False)
    type = serializers.ChoiceField(choices=MemoryType.choices)
    source = serializers.CharField(required=False, max_length=500)  # type: ignore[assignment]
    tags = _tags()

    def validate_content(self, value: str) -> str:
        if not value.strip():
            raise serializers.ValidationError("must not be empty")
        return value


class MemoryUpdateInputSerializer(serializers.Serializer):
    content = serializers.CharField(required=False, max_length=1_000_000, trim_whitespace=False)
    source = serializers.CharField(  # type: ignore[assignment]
        required=False, allow_null=True, max_length=500
    )
    tags = _tags()

    validate_content = MemoryCreateInputSerializer.validate_content


class MemorySearchInputSerializer(serializers.Serializer):
    query = serializers.CharField(max_length=2000)
    limit = serializers.IntegerField(required=False, min_value=1, max_value=100, default=10)
    tags = _tags()
    # Strings checked below, not choices: the enum is described once, by `type` on create.
    types = serializers.ListField(child=serializers.CharField(max_length=16), required=False)

    def validate_types(self, value: list[str]) -> list[str]:
        unknown = [t for t in value if t not in MemoryType.values]
        if unknown:
            raise serializers.ValidationError(
                f"unknown type(s): {', '.join(unknown)}; known: {', '.join(MemoryType.values)}"
            )
        return value


def entry_output(entry: MemoryEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "type": entry.type,
        "content": entry.content,
        "source": entry.source,
        "tags": entry.tags,
        "created_by": entry.created_by,
        "created_at": entry.created_at,
        "updated_at": entry.updated_at,
    }


def meta_output(meta: memory.MemoryMeta) -> dict[str, Any]:
    return {
        "chars": meta.chars,
        "count": meta.count,
        "max_chars": meta.max_chars,
        "updated_at": meta.updated_at,
    }


def _vault(request: Request, vault_id: str) -> Vault:
    return selectors.vault_get(organization=caller(request).organization, vault_id=vault_id)


def api_author(request: Request) -> str:
    return f"api:{caller(request).api_key.prefix}"


class MemoryListApi(APIView):
    @extend_schema(
        tags=["vault"],
        summary="Add a memory entry to a vault",
        request=MemoryCreateInputSerializer,
        responses={201: ENTRY_ONE},
    )
    def post(self, request: Request, vault_id: str) -> Response:
        vault = _vault(request, vault_id)
        serializer = MemoryCreateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        entry = memory.memory_entry_create(
            vault=vault, created_by=api_author(request), **serializer.validated_data
        )
        return Response({"entry": entry_output(entry)}, status=status.HTTP_201_CREATED)

    @extend_schema(
        tags=["vault"],
        summary="List a vault's memory entries",
        operation_id="vault_memory_list",
        responses={200: ENTRY_LIST},
    )
    def get(self, request: Request, vault_id: str) -> Response:
        vault = _vault(request, vault_id)
        entries = [entry_output(e) for e in memory.memory_list(vault=vault)]
        return Response({"entries": entries, "meta": meta_output(memory.memory_meta(vault=vault))})


class MemoryDetailApi(APIView):
    @extend_schema(
        tags=["vault"],
        summary="Rewrite a memory entry",
        request=MemoryUpdateInputSerializer,
        responses={200: ENTRY_ONE},
    )
    def patch(self, request: Request, vault_id: str, entry_id: str) -> Response:
        entry = memory.memory_get(vault=_vault(request, vault_id), entry_id=entry_id)
        serializer = MemoryUpdateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        entry = memory.memory_entry_update(entry=entry, changes=dict(serializer.validated_data))
        return Response({"entry": entry_output(entry)})

    @extend_schema(tags=["vault"], summary="Delete a memory entry", responses={200: DELETED})
    def delete(self, request: Request, vault_id: str, entry_id: str) -> Response:
        entry = memory.memory_get(vault=_vault(request, vault_id), entry_id=entry_id)
        memory.memory_entry_delete(entry=entry)
        return Response({"success": True, "id": entry_id})


class MemorySearchApi(APIView):
    @extend_schema(
        tags=["vault"],
        summary="Search a vault's memory (full text over content and tags)",
        request=MemorySearchInputSerializer,
        responses={200: SEARCH_RESULTS},
    )
    def post(self, request: Request, vault_id: str) -> Response:
        vault = _vault(request, vault_id)
        serializer = MemorySearchInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        found = memory.memory_search(
            vault_ids=[vault.id],
            query=data["query"],
            limit=data["limit"],
            types=data.get("types"),
            tags=data.get("tags"),
        )
        return Response({"results": [{**entry_output(e), "score": s} for e, s in found]})
