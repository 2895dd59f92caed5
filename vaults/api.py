"""The Vault API (casedev 0.71.0 `vault` and `vault.objects`), scoped to the caller's
organization: another organization's ids answer 404."""

from __future__ import annotations

import re
from typing import Any

from django.http import FileResponse, HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from agentexec.errors import ApplicationError, error_body
from agentexec.middleware import own_body_limit
from agentexec.negotiation import AnyAcceptNegotiation
from agentexec.parsers import JSONParser
from agentexec.tenancy.models import Organization
from vaults import extraction, schemas, search, selectors, services, signing
from vaults.models import ObjectStatus, VaultObject
from vaults.serializers import (
    ChunkOut,
    ChunkRangeIn,
    ConfirmUploadIn,
    MultipartUploadIn,
    ObjectDeleteQueryIn,
    ObjectOut,
    ObjectUpdateIn,
    PageRangeIn,
    PresignedUrlIn,
    SearchIn,
    UploadIn,
    VaultCreateIn,
    VaultOut,
    VaultUpdateIn,
    search_chunk_out,
    search_source_out,
)

DOWNLOAD_URL_EXPIRES_S = 3600
_MEDIA_TYPE = re.compile(r"[\w.+-]+/[\w.+-]+(\s*;\s*[\w.+-]+=[^;\s]+)*", re.ASCII)


def _org(request: Request) -> Organization:
    return request.user.organization  # type: ignore[union-attr]


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
        vaults = selectors.vault_list(organization=_org(request))
        data = VaultOut(vaults, many=True).data
        return Response({"vaults": data, "total": len(data)})

    @extend_schema(
        tags=["vault"],
        summary="Create a vault",
        request=VaultCreateIn,
        responses={201: schemas.VAULT},
    )
    def post(self, request: Request) -> Response:
        data = _valid(VaultCreateIn, request.data)
        vault = services.vault_create(
            organization=_org(request),
            name=data["name"],
            description=data.get("description"),
            enable_indexing=data["enableIndexing"],
            enable_graph=data["enableGraph"],
            metadata=data.get("metadata"),
        )
        return Response(VaultOut(vault).data, status=status.HTTP_201_CREATED)


class VaultDetailApi(APIView):
    @extend_schema(tags=["vault"], summary="Get a vault", responses={200: schemas.VAULT})
    def get(self, request: Request, vault_id: str) -> Response:
        vault = selectors.vault_get(organization=_org(request), vault_id=vault_id)
        return Response(VaultOut(vault).data)

    @extend_schema(
        tags=["vault"],
        summary="Update a vault",
        request=VaultUpdateIn,
        responses={200: schemas.VAULT},
    )
    def patch(self, request: Request, vault_id: str) -> Response:
        vault = selectors.vault_get(organization=_org(request), vault_id=vault_id)
        data = _valid(VaultUpdateIn, request.data)
        changes = {
            {"enableGraph": "enable_graph"}.get(k, k): v for k, v in data.items() if k != "groupId"
        }
        vault = services.vault_update(vault=vault, changes=changes)
        return Response(VaultOut(vault).data)

    @extend_schema(tags=["vault"], summary="Delete a vault", responses={200: schemas.VAULT_DELETED})
    def delete(self, request: Request, vault_id: str) -> Response:
        vault = selectors.vault_get(organization=_org(request), vault_id=vault_id)
        summary = services.vault_delete(vault=vault)
        return Response({"success": True, "status": "deleted", "deletedVault": summary})


class UploadApi(APIView):
    @extend_schema(
        tags=["vault"],
        summary="Create an object and a presigned upload URL",
        request=UploadIn,
        responses={200: schemas.UPLOAD},
    )
    def post(self, request: Request, vault_id: str) -> Response:
        vault = selectors.vault_get(organization=_org(request), vault_id=vault_id)
        data = _valid(UploadIn, request.data)
        obj = services.object_create(
            vault=vault,
            filename=data["filename"],
            content_type=data["contentType"],
            path=data.get("path"),
            metadata=data.get("metadata"),
            size_bytes=data.get("sizeBytes"),
            auto_index=data["auto_index"],
        )
        expires_in = services.upload_url_expires_s()
        url = request.build_absolute_uri(signing.signed_path("PUT", vault.id, obj.id, expires_in))
        next_step = None if obj.auto_index else f"POST /vault/{vault.id}/ingest/{obj.id}"
        headers = {"Content-Type": obj.content_type}
        return Response(
            {
                "objectId": obj.id,
                "uploadUrl": url,
                "expiresIn": expires_in,
                "s3Key": services.storage_name(obj),
                "path": obj.path,
                "auto_index": obj.auto_index,
                "enableIndexing": vault.enable_indexing,
                "next_step": next_step,
                "instructions": {
                    "method": "PUT",
                    "headers": headers,
                    "note": "PUT the file's bytes to uploadUrl before it expires, then "
                    + (next_step or "ingestion starts on its own."),
                },
            },
            status=status.HTTP_200_OK,
        )


class ConfirmUploadApi(APIView):
    @extend_schema(
        tags=["vault"],
        summary="Confirm an upload",
        request=ConfirmUploadIn,
        responses={200: schemas.CONFIRM},
    )
    def post(self, request: Request, vault_id: str, object_id: str) -> Response:
        obj = _object(request, vault_id, object_id)
        data = _valid(ConfirmUploadIn, request.data)
        obj, already = services.object_confirm_upload(
            obj=obj,
            success=data["success"],
            size_bytes=data.get("sizeBytes"),
            error_message=data.get("errorMessage"),
        )
        return Response(
            {
                "objectId": obj.id,
                "vaultId": obj.vault_id,
                "status": "completed" if data["success"] else "failed",
                "alreadyConfirmed": already,
            }
        )


class IngestApi(APIView):
    @extend_schema(
        tags=["vault"], summary="Start ingestion", request=None, responses={200: schemas.INGEST}
    )
    def post(self, request: Request, vault_id: str, object_id: str) -> Response:
        obj = services.object_ingest_start(obj=_object(request, vault_id, object_id))
        stored = obj.status == ObjectStatus.STORED
        message = (
            "Stored without text extraction: this file type (or this storage-only vault) is "
            "not indexed."
            if stored
            else "Ingestion queued: text extraction, chunking and indexing."
        )
        return Response(
            {
                "objectId": obj.id,
                "status": "stored" if stored else "processing",
                "message": message,
                "workflowId": None if stored else obj.workflow_id,
                "enableGraphRAG": False,
            }
        )


class SearchApi(APIView):
    @extend_schema(
        tags=["vault"], summary="Search a vault", request=SearchIn, responses={200: schemas.SEARCH}
    )
    def post(self, request: Request, vault_id: str) -> Response:
        vault = selectors.vault_get(organization=_org(request), vault_id=vault_id)
        data = _valid(SearchIn, request.data)
        if not vault.enable_indexing:
            raise ApplicationError(
                f"Vault {vault.id} is storage-only (enableIndexing is false): it has no index "
                "to search."
            )
        object_ids = (data.get("filters") or {}).get("object_id")
        results = selectors.chunk_search(
            query=data["query"], vault_ids=[vault.id], object_ids=object_ids, top_k=data["topK"]
        )
        sources = {r.chunk.object_id: r.chunk.object for r in results}
        return Response(
            {
                "method": search.METHOD,
                "query": data["query"],
                "vault_id": vault.id,
                "response": None,
                "chunks": [search_chunk_out(r) for r in results],
                "sources": [search_source_out(o) for o in sources.values()],
            }
        )


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
        objects = ObjectOut(selectors.object_list(vault=vault), many=True).data
        return Response({"vaultId": vault.id, "objects": objects, "count": len(objects)})

    @extend_schema(
        tags=["vault"],
        summary="Upload a file in one step (multipart/form-data)",
        request={"multipart/form-data": MultipartUploadIn},
        responses={201: schemas.OBJECT},
    )
    def post(self, request: Request, vault_id: str) -> Response:
        """The one-step upload: multipart/form-data with `file` (and optional filename,
        contentType, path, metadata as JSON, autoIndex which defaults to true)."""
        vault = selectors.vault_get(organization=_org(request), vault_id=vault_id)
        data = _valid(MultipartUploadIn, request.data)
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
        return Response(ObjectOut(obj).data, status=status.HTTP_201_CREATED)


class ObjectDetailApi(APIView):
    @extend_schema(
        tags=["vault"], summary="Get an object", responses={200: schemas.OBJECT_WITH_DOWNLOAD}
    )
    def get(self, request: Request, vault_id: str, object_id: str) -> Response:
        obj = _object(request, vault_id, object_id)
        body = dict(ObjectOut(obj).data)
        path = signing.signed_path("GET", vault_id, obj.id, DOWNLOAD_URL_EXPIRES_S)
        body["downloadUrl"] = request.build_absolute_uri(path) if obj.has_content else ""
        body["expiresIn"] = DOWNLOAD_URL_EXPIRES_S
        return Response(body)

    @extend_schema(
        tags=["vault"],
        summary="Update an object",
        request=ObjectUpdateIn,
        responses={200: schemas.OBJECT},
    )
    def patch(self, request: Request, vault_id: str, object_id: str) -> Response:
        obj = _object(request, vault_id, object_id)
        obj = services.object_update(obj=obj, changes=_valid(ObjectUpdateIn, request.data))
        return Response(ObjectOut(obj).data)

    @extend_schema(
        tags=["vault"],
        summary="Delete an object",
        parameters=[ObjectDeleteQueryIn],
        responses={200: schemas.OBJECT_DELETED},
    )
    def delete(self, request: Request, vault_id: str, object_id: str) -> Response:
        obj = _object(request, vault_id, object_id)
        force = _valid(ObjectDeleteQueryIn, request.query_params)["force"]
        summary = services.object_delete(obj=obj, force=force)
        return Response({"success": True, "deletedObject": summary})


class ObjectTextApi(APIView):
    @extend_schema(tags=["vault"], summary="An object's text", responses={200: schemas.TEXT})
    def get(self, request: Request, vault_id: str, object_id: str) -> Response:
        obj = _object(request, vault_id, object_id)
        text = selectors.object_text(obj=obj)
        completed = obj.ingestion_completed_at
        return Response(
            {
                "text": text.text,
                "metadata": {
                    "object_id": obj.id,
                    "vault_id": obj.vault_id,
                    "filename": obj.filename,
                    "chunk_count": obj.chunk_count or 0,
                    "length": len(text.text),
                    "ingestion_completed_at": completed.isoformat() if completed else None,
                },
            }
        )


class ObjectPagesApi(APIView):
    @extend_schema(
        tags=["vault"],
        summary="An object's pages",
        parameters=[PageRangeIn],
        responses={200: schemas.PAGES},
    )
    def get(self, request: Request, vault_id: str, object_id: str) -> Response:
        obj = _object(request, vault_id, object_id)
        text = selectors.object_text(obj=obj)
        data = _valid(PageRangeIn, request.query_params)
        pages = [
            {"page": number, "text": page}
            for number, page in selectors.page_texts(
                text, start=data.get("start", 1), end=data.get("end")
            )
            if page.strip()
        ]
        metadata = {
            "object_id": obj.id,
            "vault_id": obj.vault_id,
            "filename": obj.filename,
            "page_count": len(text.page_offsets) or 1,
            "returned_pages": len(pages),
            "source": "ocr" if obj.content_type == "application/pdf" else "txt",
            "start": data.get("start"),
            "end": data.get("end"),
        }
        return Response({"metadata": metadata, "pages": pages})


class ObjectChunksApi(APIView):
    @extend_schema(
        tags=["vault"],
        summary="An object's chunks",
        parameters=[ChunkRangeIn],
        responses={200: schemas.CHUNKS},
    )
    def get(self, request: Request, vault_id: str, object_id: str) -> Response:
        obj = _object(request, vault_id, object_id)
        data = _valid(ChunkRangeIn, request.query_params)
        chunks = selectors.object_chunks(obj=obj, start=data["start"], end=data.get("end"))
        return Response(
            {
                "object_id": obj.id,
                "vault_id": obj.vault_id,
                "total_chunks": obj.chunk_count or 0,
                "chunks": ChunkOut(chunks, many=True).data,
            }
        )


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
        request=PresignedUrlIn,
        responses={200: schemas.PRESIGNED},
    )
    def post(self, request: Request, vault_id: str, object_id: str) -> Response:
        obj = _object(request, vault_id, object_id)
        data = _valid(PresignedUrlIn, request.data)
        url = signing.signed_path(data["operation"], vault_id, obj.id, data["expiresIn"])
        return Response(
            {
                "objectId": obj.id,
                "vaultId": obj.vault_id,
                "filename": obj.filename,
                "operation": data["operation"],
                "presignedUrl": request.build_absolute_uri(url),
                "expiresIn": data["expiresIn"],
                "s3Key": obj.file.name or None,
                "metadata": {"contentType": obj.content_type, "sizeBytes": obj.size_bytes},
            }
        )


def _file_response(obj: VaultObject) -> HttpResponseBase:
    if not obj.has_content:
        return JsonResponse(
            error_body("conflict", f"Object {obj.id} has no content yet."), status=409
        )
    response = FileResponse(obj.file.open("rb"), as_attachment=True, filename=obj.filename)
    # The stored type is whatever the uploader declared: only a type/subtype goes out as is.
    declared = obj.content_type.strip()
    media_type = declared if _MEDIA_TYPE.fullmatch(declared) else "application/octet-stream"
    response["Content-Type"] = media_type
    return response


@csrf_exempt
@own_body_limit  # VAULT_MAX_UPLOAD_BYTES, checked in _store and while streaming to disk
def object_content(request: HttpRequest, vault_id: str, object_id: str) -> HttpResponseBase:
    """The presigned URL target: PUT stores the bytes, GET returns them. No API key: the
    signature is the credential, so a wrong or expired one answers 403."""
    if request.method not in ("PUT", "GET", "HEAD"):
        return JsonResponse(error_body("method_not_allowed", "Use PUT or GET."), status=405)
    operation = "GET" if request.method == "HEAD" else request.method
    refusal = signing.verify(
        operation, vault_id, object_id, request.GET.get("expires"), request.GET.get("signature")
    )
    if refusal is not None:
        return JsonResponse(error_body("permission_error", f"Forbidden: {refusal}."), status=403)
    obj = (
        VaultObject.objects.select_related("vault").filter(id=object_id, vault_id=vault_id).first()
    )
    if obj is None:
        return JsonResponse(error_body("not_found", f"Object {object_id} not found."), status=404)
    if operation == "GET":
        return _file_response(obj)
    return _store(request, obj)


def _store(request: HttpRequest, obj: VaultObject) -> HttpResponse:
    declared = request.META.get("CONTENT_LENGTH") or ""
    if not declared.isdigit():  # as for S3: a presigned PUT names its length
        return JsonResponse(
            error_body("length_required", "Send the file with a Content-Length header."),
            status=411,
        )
    if int(declared) > services.max_upload_bytes():
        return JsonResponse(
            error_body(
                "payload_too_large",
                f"The upload exceeds the limit of {services.max_upload_bytes()} bytes.",
            ),
            status=413,
        )
    try:
        obj = services.object_content_store(obj=obj, chunks=iter(lambda: request.read(65536), b""))
    except ApplicationError as exc:
        return JsonResponse(
            error_body(exc.error_type, exc.message, exc.fields), status=exc.status_code
        )
    return HttpResponse(status=200, headers={"ETag": f'"{obj.sha256}"'})
