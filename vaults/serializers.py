"""Input serializers name fields as the SDK sends them (casedev 0.71.0 types/vault*_params.py),
so errors name what the client sent. Response bodies are built in vaults.outputs."""

from __future__ import annotations

import json
from typing import Any

from rest_framework import serializers

from vaults.models import VaultGroup

SEARCH_METHODS = ("vector", "graph", "hybrid", "global", "local", "fast", "entity", "fulltext")


# --- Inputs -----------------------------------------------------------------------------------


def check_group(organization: Any, value: str | None) -> VaultGroup | None:
    """A groupId of the caller's organization, as its VaultGroup; None for no group."""
    if not value:
        return None
    group = VaultGroup.objects.filter(organization=organization, id=value).first()
    if group is None:
        raise serializers.ValidationError(f"vault group {value} not found")
    return group


class VaultCreateInputSerializer(serializers.Serializer):
    """context: organization (the caller's), for groupId."""

    name = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, allow_null=True)
    enableIndexing = serializers.BooleanField(required=False, default=True)
    enableGraph = serializers.BooleanField(required=False, default=False)
    embeddingModel = serializers.CharField(required=False, max_length=200)
    groupId = serializers.CharField(required=False, allow_null=True)
    metadata = serializers.DictField(required=False)

    def validate_groupId(self, value: str | None) -> VaultGroup | None:
        return check_group(self.context["organization"], value)


class VaultUpdateInputSerializer(serializers.Serializer):
    """context: organization (the caller's), for groupId."""

    name = serializers.CharField(required=False, max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, allow_null=True)
    enableGraph = serializers.BooleanField(required=False)
    groupId = serializers.CharField(required=False, allow_null=True)

    def validate_groupId(self, value: str | None) -> VaultGroup | None:
        return check_group(self.context["organization"], value)

    def to_changes(self) -> dict[str, Any]:
        """The fields given, by their model names (PATCH: the others stay as they are)."""
        names = {
            "name": "name",
            "description": "description",
            "enableGraph": "enable_graph",
            "groupId": "group",
        }
        return {names[k]: v for k, v in self.validated_data.items() if k in names}


class GroupCreateInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, allow_null=True)


class GroupUpdateInputSerializer(serializers.Serializer):
    name = serializers.CharField(required=False, max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, allow_null=True)


class UploadInputSerializer(serializers.Serializer):
    filename = serializers.CharField(max_length=255)
    contentType = serializers.CharField(max_length=200)
    sizeBytes = serializers.IntegerField(required=False, min_value=0)
    path = serializers.CharField(required=False, allow_blank=True, max_length=1000)
    metadata = serializers.DictField(required=False)
    auto_index = serializers.BooleanField(required=False, default=False)


class FileUploadInputSerializer(serializers.Serializer):
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


class ConfirmUploadInputSerializer(serializers.Serializer):
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


class SearchFiltersInputSerializer(serializers.Serializer):
    object_id = ObjectIdsField(required=False)


class SearchInputSerializer(serializers.Serializer):
    query = serializers.CharField(max_length=10_000)
    method = serializers.ChoiceField(choices=SEARCH_METHODS, required=False, default="hybrid")
    topK = serializers.IntegerField(required=False, min_value=1, max_value=100, default=10)
    filters = SearchFiltersInputSerializer(required=False)


class ObjectUpdateInputSerializer(serializers.Serializer):
    filename = serializers.CharField(required=False, max_length=255)
    metadata = serializers.DictField(required=False)
    path = serializers.CharField(required=False, allow_blank=True, allow_null=True, max_length=1000)


class ObjectDeleteParamsSerializer(serializers.Serializer):
    force = serializers.BooleanField(required=False, default=False)


class ChunkRangeParamsSerializer(serializers.Serializer):
    start = serializers.IntegerField(required=False, min_value=0, default=0)
    end = serializers.IntegerField(required=False, min_value=0)


class PageRangeParamsSerializer(serializers.Serializer):
    start = serializers.IntegerField(required=False, min_value=1)
    end = serializers.IntegerField(required=False, min_value=1)


class PresignedUrlInputSerializer(serializers.Serializer):
    operation = serializers.ChoiceField(
        choices=("GET", "PUT", "DELETE", "HEAD"), required=False, default="GET"
    )
    expiresIn = serializers.IntegerField(
        required=False, min_value=60, max_value=7 * 24 * 3600, default=3600
    )
    contentType = serializers.CharField(required=False, max_length=200)
    sizeBytes = serializers.IntegerField(required=False, min_value=0)


# --- Multipart uploads ------------------------------------------------------------------------


class MultipartInitInputSerializer(serializers.Serializer):
    filename = serializers.CharField(max_length=255)
    contentType = serializers.CharField(max_length=200)
    sizeBytes = serializers.IntegerField(min_value=1)
    partSizeBytes = serializers.IntegerField(required=False, min_value=1)
    path = serializers.CharField(required=False, allow_blank=True, max_length=1000)
    metadata = serializers.DictField(required=False)
    autoIndex = serializers.BooleanField(required=False, default=True)


class MultipartRefInputSerializer(serializers.Serializer):
    """Names an upload: the objectId and uploadId that init returned (also the abort body)."""

    objectId = serializers.CharField(max_length=64)
    uploadId = serializers.CharField(max_length=64)


class PartRequestInputSerializer(serializers.Serializer):
    partNumber = serializers.IntegerField(min_value=1)
    sizeBytes = serializers.IntegerField(min_value=0)


class MultipartPartUrlsInputSerializer(MultipartRefInputSerializer):
    parts = PartRequestInputSerializer(  # type: ignore[call-arg]  # the stubs lack max_length
        many=True, allow_empty=False, max_length=10_000
    )


class CompletedPartInputSerializer(serializers.Serializer):
    partNumber = serializers.IntegerField(min_value=1)
    etag = serializers.CharField(max_length=200)


class MultipartCompleteInputSerializer(MultipartRefInputSerializer):
    sizeBytes = serializers.IntegerField(min_value=1)
    parts = CompletedPartInputSerializer(  # type: ignore[call-arg]  # the stubs lack max_length
        many=True, allow_empty=False, max_length=10_000
    )
