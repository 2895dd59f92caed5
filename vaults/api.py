"""The Vault API (casedev 0.71.0 `vault` and `vault.objects`), scoped to the caller's
organization: another organization's ids answer 404. Views validate, call one service or
selector, and answer with a vaults.outputs body; errors are raised and mapped centrally."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
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

from agentexec.errors import (
    ApplicationError,
    ConflictError,
    NotFoundError,
    NotSupportedError,
    PayloadTooLarge,
)
from agentexec.httperrors import no_route_message
from agentexec.negotiation import AnyAcceptNegotiation
from agentexec.parsers import JSONParser
from agentexec.tenancy.auth import caller
from agentexec.tenancy.models import Organization
from vaults import multipart, outputs, schemas, selectors, services, signing
from vaults.models import ObjectStatus, VaultObject
from vaults.parsing import extraction
from vaults.serializers import (
    ChunkRangeParamsSerializer,
    ConfirmUploadInputSerializer,
    FileUploadInputSerializer,
    GroupCreateInputSerializer,
    GroupUpdateInputSerializer,
    MultipartCompleteInputSerializer,
    MultipartInitInputSerializer,
    MultipartPartUrlsInputSerializer,
    MultipartRefInputSerializer,
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


def _valid(serializer_class: type, data: Any, request: Request | None = None) -> dict[str, Any]:
    context = {"organization": _org(request)} if request is not None else {}
    serializer = serializer_class(data=data, context=context)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def _object(request: Request, vault_id: str, object_id: str) -> VaultObject:
    return selectors.object_get(organization=_org(request), vault_id=vault_id, object_id=object_id)


class GroupListCreateApi(APIView):
    @extend_schema(
        tags=["vault"],
        summary="List vault groups",
        operation_id="vault_groups_list",
        responses={200: schemas.GROUP_LIST},
    )
    def get(self, request: Request) -> Response:
        return Response(outputs.group_list_output(selectors.group_list(organization=_org(request))))

    @extend_schema(
        tags=["vault"],
        summary="Create a vault group",
        request=GroupCreateInputSerializer,
        responses={201: schemas.GROUP},
    )
    def post(self, request: Request) -> Response:
        data = _valid(GroupCreateInputSerializer, request.data)
        group = services.group_create(
            organization=_org(request), name=data["name"], description=data.get("description")
        )
        group = selectors.group_get(organization=_org(request), group_id=group.id)
        return Response(outputs.group_output(group), status=status.HTTP_201_CREATED)


class GroupDetailApi(APIView):
    @extend_schema(
        tags=["vault"],
        summary="Update a vault group",
        request=GroupUpdateInputSerializer,
        responses={200: schemas.GROUP},
    )
    def patch(self, request: Request, group_id: str) -> Response:
        group = selectors.group_get(organization=_org(request), group_id=group_id)
        changes = _valid(GroupUpdateInputSerializer, request.data)
        group = services.group_update(group=group, changes=changes)
        return Response(outputs.group_output(group))

    @extend_schema(
        tags=["vault"],
        summary="Delete an empty vault group",
        responses={200: schemas.GROUP_DELETED},
    )
    def delete(self, request: Request, group_id: str) -> Response:
        group = selectors.group_get(organization=_org(request), group_id=group_id)
        return Response(outputs.group_deleted_output(services.group_delete(group=group)))


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
        data = _valid(VaultCreateInputSerializer, request.data, request)
        vault = services.vault_create(
            organization=_org(request),
            name=data["name"],
            description=data.get("description"),
            enable_indexing=data["enableIndexing"],
            enable_graph=data["enableGraph"],
            metadata=data.get("metadata"),
            group=data.get("groupId"),
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
        serializer = VaultUpdateInputSerializer(
            data=request.data, context={"organization": _org(request)}
        )
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
        size = data.get("sizeBytes") if operation == "PUT" else None
        expires_at = signing.expires_at(expires_in)
        path = signing.signed_path(
            operation, vault_id, obj.id, expires_in, size=size, expires=expires_at
        )
        body = outputs.presigned_output(
            obj,
            operation=operation,
            url=request.build_absolute_uri(path),
            expires_in=expires_in,
            expires_at=datetime.fromtimestamp(expires_at, tz=UTC),
            size_bytes=data.get("sizeBytes"),
            content_type=data.get("contentType"),
        )
        return Response(body)


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
    """The presigned URL target: PUT stores the bytes, GET and HEAD return them, DELETE deletes
    the object. No API key: the signature is the credential, so a wrong or expired one answers
    403. The body is never parsed: PUT streams it to disk under VAULT_MAX_UPLOAD_BYTES (see
    own_body_limit in vaults.urls)."""

    authentication_classes: list[type] = []
    permission_classes = [AllowAny]
    throttle_classes: list[type] = []
    content_negotiation_class = AnyAcceptNegotiation
    http_method_names = ["get", "head", "put", "delete"]
    schema = None  # not part of the documented API: its URLs come signed from other answers

    def http_method_not_allowed(self, request: Any, *args: Any, **kwargs: Any) -> Response:
        raise ApplicationError(
            "Use PUT, GET, HEAD or DELETE.", status_code=405, error_type="method_not_allowed"
        )

    def get(self, request: Request, vault_id: str, object_id: str) -> HttpResponseBase:
        return _file_response(_signed_object(request, ("GET",), vault_id, object_id))

    def head(self, request: Request, vault_id: str, object_id: str) -> HttpResponseBase:
        # A download URL (signed for GET) answers HEAD too, as S3's do not but clients expect.
        return _file_response(_signed_object(request, ("HEAD", "GET"), vault_id, object_id))

    def put(self, request: Request, vault_id: str, object_id: str) -> HttpResponse:
        obj = _signed_object(request, ("PUT",), vault_id, object_id)
        obj = services.object_content_store(obj=obj, chunks=_body_chunks(request))
        return HttpResponse(status=200, headers={"ETag": f'"{obj.sha256}"'})

    def delete(self, request: Request, vault_id: str, object_id: str) -> HttpResponse:
        services.object_delete(obj=_signed_object(request, ("DELETE",), vault_id, object_id))
        return HttpResponse(status=204)


def _signed_object(
    request: Request, operations: tuple[str, ...], vault_id: str, object_id: str
) -> VaultObject:
    query = request.query_params
    refusals = [
        signing.verify(
            operation,
            vault_id,
            object_id,
            query.get("expires"),
            query.get("signature"),
            size=query.get("size"),
        )
        for operation in operations
    ]
    if all(refusals):
        raise ApplicationError(
            f"Forbidden: {refusals[0]}.", status_code=403, error_type="permission_error"
        )
    obj = (
        VaultObject.objects.select_related("vault").filter(id=object_id, vault_id=vault_id).first()
    )
    if obj is None:
        raise NotFoundError(f"Object {object_id} not found.")
    return obj


def _body_chunks(request: Request, *, size: int | None = None) -> Iterator[bytes]:
    """The request body in pieces, after the length checks S3 makes on a presigned PUT: a
    declared Content-Length, within VAULT_MAX_UPLOAD_BYTES, and the signed size if any."""
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
    signed = request.query_params.get("size") if size is None else str(size)
    if signed is not None and int(declared) != int(signed):
        raise ApplicationError(
            f"The body is {declared} bytes; this URL was signed for exactly {signed}.",
            fields={"sizeBytes": [f"must be {signed}"]},
        )
    stream = request.stream  # None for an empty body
    return iter(lambda: stream.read(65536), b"") if stream is not None else iter(())


# --- Multipart uploads ------------------------------------------------------------------------


class MultipartInitApi(APIView):
    @extend_schema(
        tags=["vault"],
        summary="Start a multipart upload",
        request=MultipartInitInputSerializer,
        responses={200: schemas.MULTIPART_INIT},
    )
    def post(self, request: Request, vault_id: str) -> Response:
        vault = selectors.vault_get(organization=_org(request), vault_id=vault_id)
        data = _valid(MultipartInitInputSerializer, request.data)
        upload = multipart.multipart_upload_create(
            vault=vault,
            filename=data["filename"],
            content_type=data["contentType"],
            size_bytes=data["sizeBytes"],
            part_size_bytes=data.get("partSizeBytes"),
            path=data.get("path"),
            metadata=data.get("metadata"),
            auto_index=data["autoIndex"],
        )
        return Response(outputs.multipart_init_output(upload))


class MultipartPartUrlsApi(APIView):
    @extend_schema(
        tags=["vault"],
        summary="Signed URLs for the parts of a multipart upload",
        request=MultipartPartUrlsInputSerializer,
        responses={200: schemas.MULTIPART_PART_URLS},
    )
    def post(self, request: Request, vault_id: str) -> Response:
        vault = selectors.vault_get(organization=_org(request), vault_id=vault_id)
        data = _valid(MultipartPartUrlsInputSerializer, request.data)
        upload = selectors.multipart_upload_get(
            vault=vault, upload_id=data["uploadId"], object_id=data["objectId"]
        )
        expires_in = settings.VAULT_UPLOAD_URL_EXPIRES_S
        urls = [
            (number, request.build_absolute_uri(path))
            for number, path in multipart.part_url_paths(
                upload=upload,
                parts=[(p["partNumber"], p["sizeBytes"]) for p in data["parts"]],
                expires_in=expires_in,
            )
        ]
        return Response(outputs.multipart_part_urls_output(urls, expires_in=expires_in))


class MultipartCompleteApi(APIView):
    @extend_schema(
        tags=["vault"],
        summary="Complete a multipart upload",
        request=MultipartCompleteInputSerializer,
        responses={200: schemas.MULTIPART_COMPLETE},
    )
    def post(self, request: Request, vault_id: str) -> Response:
        vault = selectors.vault_get(organization=_org(request), vault_id=vault_id)
        data = _valid(MultipartCompleteInputSerializer, request.data)
        upload = selectors.multipart_upload_get(
            vault=vault, upload_id=data["uploadId"], object_id=data["objectId"]
        )
        obj = multipart.multipart_upload_complete(
            upload=upload,
            size_bytes=data["sizeBytes"],
            parts=[(p["partNumber"], p["etag"]) for p in data["parts"]],
        )
        return Response(outputs.multipart_complete_output(upload, obj))


class MultipartAbortApi(APIView):
    @extend_schema(
        tags=["vault"],
        summary="Abort a multipart upload",
        request=MultipartRefInputSerializer,
        responses={200: schemas.MULTIPART_ABORTED},
    )
    def post(self, request: Request, vault_id: str) -> Response:
        vault = selectors.vault_get(organization=_org(request), vault_id=vault_id)
        data = _valid(MultipartRefInputSerializer, request.data)
        upload = selectors.multipart_upload_get(
            vault=vault, upload_id=data["uploadId"], object_id=data["objectId"]
        )
        upload = multipart.multipart_upload_abort(upload=upload)
        return Response(outputs.multipart_aborted_output(upload))


class MultipartPartApi(APIView):
    """A part's signed URL: PUT streams the part to disk and answers its ETag."""

    authentication_classes: list[type] = []
    permission_classes = [AllowAny]
    throttle_classes: list[type] = []
    content_negotiation_class = AnyAcceptNegotiation
    http_method_names = ["put"]
    schema = None  # its URLs come signed from POST /vault/:id/multipart/part-urls

    def http_method_not_allowed(self, request: Any, *args: Any, **kwargs: Any) -> Response:
        raise ApplicationError("Use PUT.", status_code=405, error_type="method_not_allowed")

    def put(
        self, request: Request, vault_id: str, upload_id: str, part_number: int
    ) -> HttpResponse:
        query = request.query_params
        size = query.get("size")
        refusal = signing.verify_part(
            vault_id, upload_id, part_number, query.get("expires"), query.get("signature"), size
        )
        if refusal is not None:
            raise ApplicationError(
                f"Forbidden: {refusal}.", status_code=403, error_type="permission_error"
            )
        part = multipart.multipart_part_store(
            vault_id=vault_id,
            upload_id=upload_id,
            number=part_number,
            chunks=_body_chunks(request, size=int(size or 0)),
        )
        return HttpResponse(status=200, headers={"ETag": f'"{part.etag}"'})


# --- Not built --------------------------------------------------------------------------------


class NotSupportedApi(APIView):
    """A route of casedev 0.71.0 this server does not build: a JSON 501 naming the feature."""

    feature = ""
    schema = None  # not part of the documented API

    def _refuse(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        raise NotSupportedError(
            f"{self.feature} is not supported by this server ({request.method} {request.path})."
        )

    get = post = put = patch = delete = _refuse


class VaultNoRouteApi(APIView):
    """Under /vault/, after every route: a case.dev feature this server lacks answers the JSON
    501 naming it; any other path the JSON 404."""

    schema = None
    catch_all = True

    FEATURES = [
        (re.compile(r"[^/]+/memory(/.*)?"), "Vault memory"),
        (re.compile(r"[^/]+/events(/.*)?"), "Vault event subscriptions"),
        (re.compile(r"[^/]+/objects/[^/]+/ocr-words"), "OCR words"),
        (re.compile(r"[^/]+/objects/[^/]+/summarize(/.*)?"), "Object summaries"),
    ]

    def _answer(self, request: Request, rest: str) -> Response:
        for pattern, feature in self.FEATURES:
            if pattern.fullmatch(rest):
                raise NotSupportedError(
                    f"{feature} is not supported by this server ({request.method} {request.path})."
                )
        raise NotFoundError(no_route_message(request))

    get = post = put = patch = delete = _answer
