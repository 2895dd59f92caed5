"""The Vault API (casedev 0.71.0 `vault` and `vault.objects`), scoped to the caller's
organization: another organization's ids answer 404. Views validate, call one service or
selector, and answer with a vaults.outputs body; errors are raised and mapped centrally."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.http import FileResponse, HttpResponse
from django.http.response import HttpResponseBase
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from agentexec.errors import ApplicationError, ConflictError, NotFoundError, PayloadTooLarge
from agentexec.negotiation import AnyAcceptNegotiation
from agentexec.parsers import JSONParser
from agentexec.tenancy.auth import caller
from agentexec.tenancy.models import Organization
from vaults import extraction, outputs, schemas, selectors, services, signing
from vaults.models import ObjectStatus, VaultObject
from vaults.serializers import (
    ChunkRangeParamsSerializer,
    ConfirmUploadInputSerializer,
    FileUploadInputSerializer,
    ObjectDeleteParamsSerializer,
    ObjectUpdateInputSerializer,
    PageRangeParamsSerializer,
    PresignedUrlInputSerializer,
    SearchInputSerializer,
    UploadInputSerializer,
    VaultCreateInputSerializer,
    VaultUpdateInputSerializer,
)

DOWNLOAD_URL_EXPIRES_S = 3600
_MEDIA_TYPE = re.compile(r"[\w.+-]+/[\w.+-]+(\s*;\s*[\w.+-]+=[^;\s]+)*", re.ASCII)


def _org(request: Request) -> Organization:
    return caller(request).organization


def _valid(serializer_class: type, data: Any) -> dict[str, Any]:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def _object(request: Request, vault_id: str, object_id: str) -> VaultObject:
    return selectors.object_get(organization=_org(request), vault_id=vault_id, object_id=object_id)


class VaultListCreateApi(APIView):
    @extend_schema(
        tags=["vault"],
        summary="List vaults",
        operation_id="vault_list",
        responses={200: schemas.VAULT_LIST},
    )
    def get(self, request: Request) -> Response:
        return Response(outputs.vault_list_output(selectors.vault_list(organization=_org(request))))

    @extend_schema(
        tags=["vault"],
        summary="Create a vault",
        request=VaultCreateInputSerializer,
        responses={201: schemas.VAULT},
    )
    def post(self, request: Request) -> Response:
        data = _valid(VaultCreateInputSerializer, request.data)
        vault = services.vault_create(
            organization=_org(request),
            name=data["name"],
            description=data.get("description"),
            enable_indexing=data["enableIndexing"],
            enable_graph=data["enableGraph"],
            metadata=data.get("metadata"),
        )
        return Response(outputs.vault_output(vault), status=status.HTTP_201_CREATED)


class VaultDetailApi(APIView):
    @extend_schema(tags=["vault"], summary="Get a vault", responses={200: schemas.VAULT})
    def get(self, request: Request, vault_id: str) -> Response:
        vault = selectors.vault_get(organization=_org(request), vault_id=vault_id)
        return Response(outputs.vault_output(vault))

    @extend_schema(
        tags=["vault"],
        summary="Update a vault",
        request=VaultUpdateInputSerializer,
        responses={200: schemas.VAULT},
    )
    def patch(self, request: Request, vault_id: str) -> Response:
        vault = selectors.vault_get(organization=_org(request), vault_id=vault_id)
        serializer = VaultUpdateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        vault = services.vault_update(vault=vault, changes=serializer.to_changes())
        return Response(outputs.vault_output(vault))

    @extend_schema(tags=["vault"], summary="Delete a vault", responses={200: schemas.VAULT_DELETED})
    def delete(self, request: Request, vault_id: str) -> Response:
        vault = selectors.vault_get(organization=_org(request), vault_id=vault_id)
        return Response(outputs.vault_deleted_output(services.vault_delete(vault=vault)))


class UploadApi(APIView):
    @extend_schema(
        tags=["vault"],
        summary="Create an object and a presigned upload URL",
        request=UploadInputSerializer,
        responses={200: schemas.UPLOAD},
    )
    def post(self, request: Request, vault_id: str) -> Response:
        vault = selectors.vault_get(organization=_org(request), vault_id=vault_id)
        data = _valid(UploadInputSerializer, request.data)
        obj = services.object_create(
            vault=vault,
            filename=data["filename"],
            content_type=data["contentType"],
            path=data.get("path"),
            metadata=data.get("metadata"),
            size_bytes=data.get("sizeBytes"),
            auto_index=data["auto_index"],
        )
        expires_in = settings.VAULT_UPLOAD_URL_EXPIRES_S
        url = request.build_absolute_uri(signing.signed_path("PUT", vault.id, obj.id, expires_in))
        body = outputs.upload_output(
            obj, upload_url=url, expires_in=expires_in, s3_key=services.storage_name(obj)
        )
        return Response(body, status=status.HTTP_200_OK)


class ConfirmUploadApi(APIView):
    @extend_schema(
        tags=["vault"],
        summary="Confirm an upload",
        request=ConfirmUploadInputSerializer,
        responses={200: schemas.CONFIRM},
    )
    def post(self, request: Request, vault_id: str, object_id: str) -> Response:
        obj = _object(request, vault_id, object_id)
        data = _valid(ConfirmUploadInputSerializer, request.data)
        obj, already = services.object_confirm_upload(
            obj=obj,
            success=data["success"],
            size_bytes=data.get("sizeBytes"),
            error_message=data.get("errorMessage"),
        )
        return Response(outputs.confirm_output(obj, success=data["success"], already=already))


class IngestApi(APIView):
    @extend_schema(
        tags=["vault"], summary="Start ingestion", request=None, responses={200: schemas.INGEST}
    )
    def post(self, request: Request, vault_id: str, object_id: str) -> Response:
        obj = services.object_ingest_start(obj=_object(request, vault_id, object_id))
        return Response(outputs.ingest_output(obj, stored=obj.status == ObjectStatus.STORED))


class SearchApi(APIView):
    @extend_schema(
        tags=["vault"],
        summary="Search a vault",
        request=SearchInputSerializer,
        responses={200: schemas.SEARCH},
    )
    def post(self, request: Request, vault_id: str) -> Response:
        vault = selectors.vault_get(organization=_org(request), vault_id=vault_id)
        data = _valid(SearchInputSerializer, request.data)
        if not vault.enable_indexing:
            raise ApplicationError(
                f"Vault {vault.id} is storage-only (enableIndexing is false): it has no index "
                "to search."
            )
        object_ids = (data.get("filters") or {}).get("object_id")
        results = selectors.chunk_search(
            query=data["query"], vault_ids=[vault.id], object_ids=object_ids, top_k=data["topK"]
        )
        return Response(outputs.search_output(query=data["query"], vault=vault, results=results))


class ObjectListApi(APIView):
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    @extend_schema(
        tags=["vault"],
        summary="List objects",
        operation_id="vault_objects_list",
        responses={200: schemas.OBJECT_LIST},
    )
    def get(self, request: Request, vault_id: str) -> Response:
        vault = selectors.vault_get(organization=_org(request), vault_id=vault_id)
        return Response(outputs.object_list_output(vault, selectors.object_list(vault=vault)))

    @extend_schema(
        tags=["vault"],
        summary="Upload a file in one step (multipart/form-data)",
        request={"multipart/form-data": FileUploadInputSerializer},
        responses={201: schemas.OBJECT},
    )
    def post(self, request: Request, vault_id: str) -> Response:
        """The one-step upload: multipart/form-data with `file` (and optional filename,
        contentType, path, metadata as JSON, autoIndex which defaults to true)."""
        vault = selectors.vault_get(organization=_org(request), vault_id=vault_id)
        data = _valid(FileUploadInputSerializer, request.data)
        upload = data["file"]
        filename = data.get("filename") or upload.name or "unnamed"
        content_type = data.get("contentType") or upload.content_type or ""
        if content_type in ("", "application/octet-stream"):
            content_type = extraction.guess_content_type(filename)
        obj = services.object_create_with_content(
            vault=vault,
            filename=filename,
            content=upload.chunks(),
            content_type=content_type,
            path=data.get("path"),
            metadata=data.get("metadata"),
            auto_index=data["autoIndex"],
        )
        return Response(outputs.object_output(obj), status=status.HTTP_201_CREATED)


class ObjectDetailApi(APIView):
    @extend_schema(
        tags=["vault"], summary="Get an object", responses={200: schemas.OBJECT_WITH_DOWNLOAD}
    )
    def get(self, request: Request, vault_id: str, object_id: str) -> Response:
        obj = _object(request, vault_id, object_id)
        path = signing.signed_path("GET", vault_id, obj.id, DOWNLOAD_URL_EXPIRES_S)
        url = request.build_absolute_uri(path) if obj.has_content else ""
        body = outputs.object_download_output(
            obj, download_url=url, expires_in=DOWNLOAD_URL_EXPIRES_S
        )
        return Response(body)

    @extend_schema(
        tags=["vault"],
        summary="Update an object",
        request=ObjectUpdateInputSerializer,
        responses={200: schemas.OBJECT},
    )
    def patch(self, request: Request, vault_id: str, object_id: str) -> Response:
        obj = _object(request, vault_id, object_id)
        changes = _valid(ObjectUpdateInputSerializer, request.data)
        return Response(outputs.object_output(services.object_update(obj=obj, changes=changes)))

    @extend_schema(
        tags=["vault"],
        summary="Delete an object",
        parameters=[ObjectDeleteParamsSerializer],
        responses={200: schemas.OBJECT_DELETED},
    )
    def delete(self, request: Request, vault_id: str, object_id: str) -> Response:
        obj = _object(request, vault_id, object_id)
        force = _valid(ObjectDeleteParamsSerializer, request.query_params)["force"]
        return Response(outputs.object_deleted_output(services.object_delete(obj=obj, force=force)))


class ObjectTextApi(APIView):
    @extend_schema(tags=["vault"], summary="An object's text", responses={200: schemas.TEXT})
    def get(self, request: Request, vault_id: str, object_id: str) -> Response:
        obj = _object(request, vault_id, object_id)
        return Response(outputs.text_output(obj, selectors.object_text(obj=obj)))


class ObjectPagesApi(APIView):
    @extend_schema(
        tags=["vault"],
        summary="An object's pages",
        parameters=[PageRangeParamsSerializer],
        responses={200: schemas.PAGES},
    )
    def get(self, request: Request, vault_id: str, object_id: str) -> Response:
        obj = _object(request, vault_id, object_id)
        text = selectors.object_text(obj=obj)
        data = _valid(PageRangeParamsSerializer, request.query_params)
        start, end = data.get("start"), data.get("end")
        pages = selectors.page_texts(text, start=start or 1, end=end)
        return Response(outputs.pages_output(obj, text, pages, start=start, end=end))


class ObjectChunksApi(APIView):
    @extend_schema(
        tags=["vault"],
        summary="An object's chunks",
        parameters=[ChunkRangeParamsSerializer],
        responses={200: schemas.CHUNKS},
    )
    def get(self, request: Request, vault_id: str, object_id: str) -> Response:
        obj = _object(request, vault_id, object_id)
        data = _valid(ChunkRangeParamsSerializer, request.query_params)
        chunks = selectors.object_chunks(obj=obj, start=data["start"], end=data.get("end"))
        return Response(outputs.chunks_output(obj, chunks))


class ObjectDownloadApi(APIView):
    content_negotiation_class = AnyAcceptNegotiation

    @extend_schema(
        tags=["vault"],
        summary="Download an object's bytes",
        responses={
            (200, "*/*"): OpenApiResponse(
                schemas.DOWNLOAD, description="The file, with its own Content-Type."
            )
        },
    )
    def get(self, request: Request, vault_id: str, object_id: str) -> HttpResponseBase:
        return _file_response(_object(request, vault_id, object_id))


class PresignedUrlApi(APIView):
    @extend_schema(
        tags=["vault"],
        summary="A presigned URL",
        request=PresignedUrlInputSerializer,
        responses={200: schemas.PRESIGNED},
    )
    def post(self, request: Request, vault_id: str, object_id: str) -> Response:
        obj = _object(request, vault_id, object_id)
        data = _valid(PresignedUrlInputSerializer, request.data)
        operation, expires_in = data["operation"], data["expiresIn"]
        url = request.build_absolute_uri(
            signing.signed_path(operation, vault_id, obj.id, expires_in)
        )
        return Response(
            outputs.presigned_output(obj, operation=operation, url=url, expires_in=expires_in)
        )


def _file_response(obj: VaultObject) -> HttpResponseBase:
    if not obj.has_content:
        raise ConflictError(f"Object {obj.id} has no content yet.")
    response = FileResponse(obj.file.open("rb"), as_attachment=True, filename=obj.filename)
    # The stored type is whatever the uploader declared: only a type/subtype goes out as is.
    declared = obj.content_type.strip()
    media_type = declared if _MEDIA_TYPE.fullmatch(declared) else "application/octet-stream"
    response["Content-Type"] = media_type
    return response


class ObjectContentApi(APIView):
    """The presigned URL target: PUT stores the bytes, GET returns them. No API key: the
    signature is the credential, so a wrong or expired one answers 403. The body is never
    parsed: PUT streams it to disk under VAULT_MAX_UPLOAD_BYTES (see own_body_limit in
    vaults.urls)."""

    authentication_classes: list[type] = []
    permission_classes = [AllowAny]
    throttle_classes: list[type] = []
    content_negotiation_class = AnyAcceptNegotiation
    http_method_names = ["get", "put", "head"]
    schema = None  # not part of the documented API: its URLs come signed from other answers

    def http_method_not_allowed(self, request: Any, *args: Any, **kwargs: Any) -> Response:
        raise ApplicationError("Use PUT or GET.", status_code=405, error_type="method_not_allowed")

    def get(self, request: Request, vault_id: str, object_id: str) -> HttpResponseBase:
        return _file_response(_signed_object(request, "GET", vault_id, object_id))

    def put(self, request: Request, vault_id: str, object_id: str) -> HttpResponse:
        obj = _signed_object(request, "PUT", vault_id, object_id)
        obj = services.object_content_store(obj=obj, chunks=_body_chunks(request))
        return HttpResponse(status=200, headers={"ETag": f'"{obj.sha256}"'})


def _signed_object(request: Request, operation: str, vault_id: str, object_id: str) -> VaultObject:
    refusal = signing.verify(
        operation,
        vault_id,
        object_id,
        request.query_params.get("expires"),
        request.query_params.get("signature"),
    )
    if refusal is not None:
        raise ApplicationError(
            f"Forbidden: {refusal}.", status_code=403, error_type="permission_error"
        )
    obj = (
        VaultObject.objects.select_related("vault").filter(id=object_id, vault_id=vault_id).first()
    )
    if obj is None:
        raise NotFoundError(f"Object {object_id} not found.")
    return obj


def _body_chunks(request: Request) -> Iterator[bytes]:
    """The request body in pieces, after the length checks S3 makes on a presigned PUT."""
    declared = request.META.get("CONTENT_LENGTH") or ""
    if not declared.isdigit():
        raise ApplicationError(
            "Send the file with a Content-Length header.",
            status_code=411,
            error_type="length_required",
        )
    limit = settings.VAULT_MAX_UPLOAD_BYTES
    if int(declared) > limit:
        raise PayloadTooLarge(f"The upload exceeds the limit of {limit} bytes.")
    stream = request.stream  # None for an empty body
    return iter(lambda: stream.read(65536), b"") if stream is not None else iter(())
