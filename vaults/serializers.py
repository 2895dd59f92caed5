"""Input serializers name fields as the SDK sends them; output serializers build the SDK's
response shapes (casedev 0.71.0 types/vault*.py)."""

from __future__ import annotations

import json
from typing import Any

from rest_framework import serializers

from vaults import search
from vaults.models import Vault, VaultObject

SEARCH_METHODS = ("vector", "graph", "hybrid", "global", "local", "fast", "entity", "fulltext")
PREVIEW_CHARS = 500


# --- Inputs -----------------------------------------------------------------------------------


class VaultCreateIn(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, allow_null=True)
    enableIndexing = serializers.BooleanField(required=False, default=True)
    enableGraph = serializers.BooleanField(required=False, default=False)
    embeddingModel = serializers.CharField(required=False, max_length=200)
    groupId = serializers.CharField(required=False, allow_null=True)
    metadata = serializers.DictField(required=False)

    def validate_groupId(self, value: str | None) -> None:
        if value:
            raise serializers.ValidationError("vault groups are not supported by this server")
        return None


class VaultUpdateIn(serializers.Serializer):
    name = serializers.CharField(required=False, max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, allow_null=True)
    enableGraph = serializers.BooleanField(required=False)
    groupId = serializers.CharField(required=False, allow_null=True)

    def validate_groupId(self, value: str | None) -> None:
        if value:
            raise serializers.ValidationError("vault groups are not supported by this server")
        return None


class UploadIn(serializers.Serializer):
    filename = serializers.CharField(max_length=255)
    contentType = serializers.CharField(max_length=200)
    sizeBytes = serializers.IntegerField(required=False, min_value=0)
    path = serializers.CharField(required=False, allow_blank=True, max_length=1000)
    metadata = serializers.DictField(required=False)
    auto_index = serializers.BooleanField(required=False, default=False)


class MultipartUploadIn(serializers.Serializer):
    file = serializers.FileField(allow_empty_file=True)
    filename = serializers.CharField(required=False, max_length=255)
    contentType = serializers.CharField(required=False, max_length=200)
    path = serializers.CharField(required=False, allow_blank=True, max_length=1000)
    metadata = serializers.CharField(required=False)  # a JSON object, as form fields are text
    autoIndex = serializers.BooleanField(required=False, default=True)

    def validate_metadata(self, value: str) -> dict[str, Any]:
        try:
            parsed = json.loads(value)
        except json.JSONDecodeError as exc:
            raise serializers.ValidationError(f"must be a JSON object ({exc})") from exc
        if not isinstance(parsed, dict):
            raise serializers.ValidationError("must be a JSON object")
        return parsed


class ConfirmUploadIn(serializers.Serializer):
    success = serializers.BooleanField()
    sizeBytes = serializers.IntegerField(required=False, min_value=0)
    etag = serializers.CharField(required=False, allow_blank=True)
    errorCode = serializers.CharField(required=False, allow_blank=True)
    errorMessage = serializers.CharField(required=False, allow_blank=True)


class ObjectIdsField(serializers.Field):
    """A single id or a list of ids."""

    def to_internal_value(self, data: Any) -> list[str]:
        if isinstance(data, str):
            data = [data]
        if not isinstance(data, list) or not all(isinstance(i, str) and i for i in data):
            raise serializers.ValidationError("must be an object id or a list of object ids")
        if len(data) > 1000:
            raise serializers.ValidationError("at most 1000 object ids")
        return data

    def to_representation(self, value: Any) -> Any:
        return value


class SearchFiltersIn(serializers.Serializer):
    object_id = ObjectIdsField(required=False)


class SearchIn(serializers.Serializer):
    query = serializers.CharField(max_length=10_000)
    method = serializers.ChoiceField(choices=SEARCH_METHODS, required=False, default="hybrid")
    topK = serializers.IntegerField(required=False, min_value=1, max_value=100, default=10)
    filters = SearchFiltersIn(required=False)


class ObjectUpdateIn(serializers.Serializer):
    filename = serializers.CharField(required=False, max_length=255)
    metadata = serializers.DictField(required=False)
    path = serializers.CharField(required=False, allow_blank=True, allow_null=True, max_length=1000)


class ObjectDeleteQueryIn(serializers.Serializer):
    force = serializers.BooleanField(required=False, default=False)


class ChunkRangeIn(serializers.Serializer):
    start = serializers.IntegerField(required=False, min_value=0, default=0)
    end = serializers.IntegerField(required=False, min_value=0)


class PageRangeIn(serializers.Serializer):
    start = serializers.IntegerField(required=False, min_value=1)
    end = serializers.IntegerField(required=False, min_value=1)


class PresignedUrlIn(serializers.Serializer):
    operation = serializers.ChoiceField(choices=("GET", "PUT"), required=False, default="GET")
    expiresIn = serializers.IntegerField(
        required=False, min_value=60, max_value=7 * 24 * 3600, default=3600
    )
    contentType = serializers.CharField(required=False, max_length=200)
    sizeBytes = serializers.IntegerField(required=False, min_value=0)


# --- Outputs ----------------------------------------------------------------------------------


class VaultOut(serializers.ModelSerializer):
    createdAt = serializers.DateTimeField(source="created_at")
    updatedAt = serializers.DateTimeField(source="updated_at")
    enableIndexing = serializers.BooleanField(source="enable_indexing")
    enableGraph = serializers.BooleanField(source="enable_graph")
    totalObjects = serializers.IntegerField(source="total_objects")
    totalBytes = serializers.IntegerField(source="total_bytes")
    totalVectors = serializers.IntegerField(source="total_chunks")
    filesBucket = serializers.SerializerMethodField()
    vectorBucket = serializers.SerializerMethodField()
    indexName = serializers.SerializerMethodField()
    region = serializers.SerializerMethodField()
    embeddingProfile = serializers.SerializerMethodField()
    chunkStrategy = serializers.SerializerMethodField()

    class Meta:
        model = Vault
        fields = [
            "id", "name", "description", "metadata", "createdAt", "updatedAt", "enableIndexing",
            "enableGraph", "totalObjects", "totalBytes", "totalVectors", "filesBucket",
            "vectorBucket", "indexName", "region", "embeddingProfile", "chunkStrategy",
        ]  # fmt: skip

    def get_filesBucket(self, vault: Vault) -> str:
        return f"local:vaults/{vault.id}"

    def get_vectorBucket(self, vault: Vault) -> None:
        return None  # lexical search only: no vectors

    def get_indexName(self, vault: Vault) -> str | None:
        return search.backend_name() if vault.enable_indexing else None

    def get_region(self, vault: Vault) -> str:
        return "local"

    def get_embeddingProfile(self, vault: Vault) -> None:
        return None

    def get_chunkStrategy(self, vault: Vault) -> dict[str, Any]:
        from vaults.chunking import CHUNK_SIZE, OVERLAP

        # Sizes are in characters here, not tokens.
        return {"method": "paragraph", "chunkSize": CHUNK_SIZE, "overlap": OVERLAP,
                "minChunkSize": 1}  # fmt: skip


class ObjectOut(serializers.ModelSerializer):
    contentType = serializers.CharField(source="content_type")
    createdAt = serializers.DateTimeField(source="created_at")
    updatedAt = serializers.DateTimeField(source="updated_at")
    vaultId = serializers.CharField(source="vault_id")
    ingestionStatus = serializers.CharField(source="status")
    ingestionError = serializers.CharField(source="error")
    ingestionStartedAt = serializers.DateTimeField(source="ingestion_started_at")
    ingestionCompletedAt = serializers.DateTimeField(source="ingestion_completed_at")
    ingestionWorkflowId = serializers.CharField(source="workflow_id")
    sizeBytes = serializers.IntegerField(source="size_bytes")
    pageCount = serializers.IntegerField(source="page_count")
    textLength = serializers.IntegerField(source="text_length")
    chunkCount = serializers.IntegerField(source="chunk_count")
    vectorCount = serializers.IntegerField(source="chunk_count")
    sha256 = serializers.CharField()
    tags = serializers.SerializerMethodField()

    class Meta:
        model = VaultObject
        fields = [
            "id", "vaultId", "filename", "contentType", "path", "metadata", "tags", "createdAt",
            "updatedAt", "ingestionStatus", "ingestionError", "ingestionStartedAt",
            "ingestionCompletedAt", "ingestionWorkflowId", "sizeBytes", "sha256", "pageCount",
            "textLength", "chunkCount", "vectorCount",
        ]  # fmt: skip

    def get_tags(self, obj: VaultObject) -> list[str]:
        tags = obj.metadata.get("tags") if isinstance(obj.metadata, dict) else None
        return [str(t) for t in tags] if isinstance(tags, list) else []


class ChunkOut(serializers.Serializer):
    index = serializers.IntegerField()
    text = serializers.CharField()
    page_start = serializers.IntegerField()
    page_end = serializers.IntegerField()


def search_chunk_out(result: Any) -> dict[str, Any]:
    chunk = result.chunk
    return {
        "object_id": chunk.object_id,
        "chunk_index": chunk.index,
        "page_start": chunk.page_start,
        "page_end": chunk.page_end,
        "section": chunk.section,
        "text": chunk.text[:PREVIEW_CHARS],
        "score": result.score,
        "distance": None,
        "source": chunk.object.filename,
    }


def search_source_out(obj: VaultObject) -> dict[str, Any]:
    return {
        "id": obj.id,
        "filename": obj.filename,
        "chunkCount": obj.chunk_count,
        "pageCount": obj.page_count,
        "textLength": obj.text_length,
        "createdAt": serializers.DateTimeField().to_representation(obj.created_at),
        "ingestionCompletedAt": serializers.DateTimeField().to_representation(
            obj.ingestion_completed_at
        )
        if obj.ingestion_completed_at
        else None,
    }
