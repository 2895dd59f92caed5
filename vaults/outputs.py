"""The Vault API's response bodies, in the SDK's shapes (casedev 0.71.0 types/vault*.py).

Each function turns model instances (and plain values the services return) into the camelCase
dict a view answers with. Only models and leaf modules are imported here, so every layer may use
these functions without a cycle."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from vaults import search
from vaults.chunking import CHUNK_SIZE, OVERLAP
from vaults.models import (
    Chunk,
    DeletedObject,
    DeletedVault,
    MultipartUpload,
    ObjectText,
    Vault,
    VaultGroup,
    VaultObject,
)

if TYPE_CHECKING:
    from vaults.selectors import SearchResult

PREVIEW_CHARS = 500


# --- Groups -----------------------------------------------------------------------------------


def group_output(group: VaultGroup) -> dict[str, Any]:
    """A group as selectors.group_list gives it (with `vault_count`)."""
    return {
        "id": group.id,
        "name": group.name,
        "description": group.description,
        "vaultCount": getattr(group, "vault_count", None),
        "createdAt": group.created_at,
        "updatedAt": group.updated_at,
    }


def group_list_output(groups: Iterable[VaultGroup]) -> dict[str, Any]:
    items = [group_output(g) for g in groups]
    return {"groups": items, "total": len(items)}


def group_deleted_output(group: VaultGroup) -> dict[str, Any]:
    return {"success": True, "deletedGroup": {"id": group.id, "name": group.name}}


# --- Vaults -----------------------------------------------------------------------------------


def vault_output(vault: Vault) -> dict[str, Any]:
    return {
        "id": vault.id,
        "name": vault.name,
        "description": vault.description,
        "metadata": vault.metadata,
        "groupId": vault.group_id,
        "createdAt": vault.created_at,
        "updatedAt": vault.updated_at,
        "enableIndexing": vault.enable_indexing,
        "enableGraph": vault.enable_graph,
        "totalObjects": vault.total_objects,
        "totalBytes": vault.total_bytes,
        "totalVectors": vault.total_chunks,
        "filesBucket": f"local:vaults/{vault.id}",
        "vectorBucket": None,  # lexical search only: no vectors
        "indexName": search.backend_name() if vault.enable_indexing else None,
        "region": "local",
        "kmsKeyId": None,  # files are stored as MEDIA_ROOT stores them; no per-vault key
        "embeddingProfile": None,
        # Sizes are in characters here, not tokens.
        "chunkStrategy": {
            "method": "paragraph",
            "chunkSize": CHUNK_SIZE,
            "overlap": OVERLAP,
            "minChunkSize": 1,
        },
    }


def vault_list_output(vaults: Iterable[Vault]) -> dict[str, Any]:
    items = [vault_output(v) for v in vaults]
    return {"vaults": items, "total": len(items)}


def vault_deleted_output(deleted: DeletedVault) -> dict[str, Any]:
    return {
        "success": True,
        "status": "deleted",
        "deletedVault": {
            "id": deleted.id,
            "name": deleted.name,
            "objectsDeleted": deleted.objects_deleted,
            "bytesFreed": deleted.bytes_freed,
            "vectorsDeleted": deleted.vectors_deleted,
        },
    }


# --- Uploads and ingest -----------------------------------------------------------------------


def upload_output(
    obj: VaultObject, *, upload_url: str, expires_in: int, s3_key: str
) -> dict[str, Any]:
    vault = obj.vault
    next_step = None if obj.auto_index else f"POST /vault/{vault.id}/ingest/{obj.id}"
    return {
        "objectId": obj.id,
        "uploadUrl": upload_url,
        "expiresIn": expires_in,
        "s3Key": s3_key,
        "path": obj.path,
        "auto_index": obj.auto_index,
        "enableIndexing": vault.enable_indexing,
        "next_step": next_step,
        "instructions": {
            "method": "PUT",
            "headers": {"Content-Type": obj.content_type},
            "note": "PUT the file's bytes to uploadUrl before it expires, then "
            + (next_step or "ingestion starts on its own."),
        },
    }


def confirm_output(obj: VaultObject, *, success: bool, already: bool) -> dict[str, Any]:
    return {
        "objectId": obj.id,
        "vaultId": obj.vault_id,
        "status": "completed" if success else "failed",
        "alreadyConfirmed": already,
    }


def ingest_output(obj: VaultObject, *, stored: bool) -> dict[str, Any]:
    message = (
        "Stored without text extraction: this file type (or this storage-only vault) is "
        "not indexed."
        if stored
        else "Ingestion queued: text extraction, chunking and indexing."
    )
    return {
        "objectId": obj.id,
        "status": "stored" if stored else "processing",
        "message": message,
        "workflowId": None if stored else obj.workflow_id,
        "enableGraphRAG": False,
    }


# --- Search -----------------------------------------------------------------------------------


def search_output(*, query: str, vault: Vault, results: list[SearchResult]) -> dict[str, Any]:
    sources = {r.chunk.object_id: r.chunk.object for r in results}
    return {
        "method": search.METHOD,
        "query": query,
        "vault_id": vault.id,
        "response": None,
        "chunks": [search_chunk_output(r) for r in results],
        "sources": [search_source_output(o) for o in sources.values()],
    }


def search_chunk_output(result: SearchResult) -> dict[str, Any]:
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
        **_NO_WORD_SPAN,
    }


# OCR word positions and media timings of a chunk: none recorded here (text layers, no media).
_NO_WORD_SPAN = {"word_start_index": None, "word_end_index": None, "start_ms": None, "end_ms": None}


def search_source_output(obj: VaultObject) -> dict[str, Any]:
    return {
        "id": obj.id,
        "filename": obj.filename,
        "chunkCount": obj.chunk_count,
        "pageCount": obj.page_count,
        "textLength": obj.text_length,
        "createdAt": obj.created_at,
        "ingestionCompletedAt": obj.ingestion_completed_at,
    }


# --- Objects ----------------------------------------------------------------------------------


def object_output(obj: VaultObject) -> dict[str, Any]:
    tags = obj.metadata.get("tags") if isinstance(obj.metadata, dict) else None
    return {
        "id": obj.id,
        "vaultId": obj.vault_id,
        "filename": obj.filename,
        "contentType": obj.content_type,
        "path": obj.path,
        "metadata": obj.metadata,
        "tags": [str(t) for t in tags] if isinstance(tags, list) else [],
        "createdAt": obj.created_at,
        "updatedAt": obj.updated_at,
        "ingestionStatus": obj.status,
        "ingestionError": obj.error,
        "ingestionStartedAt": obj.ingestion_started_at,
        "ingestionCompletedAt": obj.ingestion_completed_at,
        "ingestionWorkflowId": obj.workflow_id,
        "sizeBytes": obj.size_bytes,
        "sha256": obj.sha256,
        "pageCount": obj.page_count,
        "textLength": obj.text_length,
        "chunkCount": obj.chunk_count,
        "vectorCount": obj.chunk_count,
    }


def object_list_output(vault: Vault, objects: Iterable[VaultObject]) -> dict[str, Any]:
    items = [object_output(o) for o in objects]
    return {"vaultId": vault.id, "objects": items, "count": len(items)}


def object_download_output(
    obj: VaultObject, *, download_url: str, expires_in: int
) -> dict[str, Any]:
    return {
        **object_output(obj),
        "downloadUrl": download_url,
        "expiresIn": expires_in,
        "transcript_object_id": None,  # no audio or video transcription here
    }


def object_deleted_output(deleted: DeletedObject) -> dict[str, Any]:
    return {
        "success": True,
        "deletedObject": {
            "id": deleted.id,
            "filename": deleted.filename,
            "sizeBytes": deleted.size_bytes,
            "vectorsDeleted": deleted.vectors_deleted,
        },
    }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def text_output(obj: VaultObject, text: ObjectText) -> dict[str, Any]:
    return {
        "text": text.text,
        "metadata": {
            "object_id": obj.id,
            "vault_id": obj.vault_id,
            "filename": obj.filename,
            "chunk_count": obj.chunk_count or 0,
            "length": len(text.text),
            "ingestion_completed_at": _iso(obj.ingestion_completed_at),
        },
    }


def pages_output(
    obj: VaultObject,
    text: ObjectText,
    pages: list[tuple[int, str]],
    *,
    start: int | None,
    end: int | None,
) -> dict[str, Any]:
    items = [{"page": number, "text": page} for number, page in pages if page.strip()]
    return {
        "metadata": {
            "object_id": obj.id,
            "vault_id": obj.vault_id,
            "filename": obj.filename,
            "page_count": len(text.page_offsets) or 1,
            "returned_pages": len(items),
            "source": "ocr" if obj.content_type == "application/pdf" else "txt",
            "start": start,
            "end": end,
        },
        "pages": items,
    }


def chunks_output(obj: VaultObject, chunks: Iterable[Chunk]) -> dict[str, Any]:
    return {
        "object_id": obj.id,
        "vault_id": obj.vault_id,
        "total_chunks": obj.chunk_count or 0,
        "chunks": [
            {
                "index": c.index,
                "text": c.text,
                "page_start": c.page_start,
                "page_end": c.page_end,
                **_NO_WORD_SPAN,
            }
            for c in chunks
        ],
    }


def presigned_output(
    obj: VaultObject,
    *,
    operation: str,
    url: str,
    expires_in: int,
    expires_at: datetime,
    size_bytes: int | None,
    content_type: str | None,
) -> dict[str, Any]:
    headers = {}
    if operation == "PUT":
        headers["Content-Type"] = content_type or obj.content_type
        if size_bytes is not None:
            headers["Content-Length"] = str(size_bytes)
    return {
        "objectId": obj.id,
        "vaultId": obj.vault_id,
        "filename": obj.filename,
        "operation": operation,
        "presignedUrl": url,
        "expiresIn": expires_in,
        "expiresAt": expires_at,
        "s3Key": obj.file.name or None,
        "instructions": {
            "method": operation,
            "headers": headers,
            "note": _presigned_note(operation, obj),
            "example": ("curl -I " if operation == "HEAD" else f"curl -X {operation} ")
            + "".join(f"-H '{k}: {v}' " for k, v in headers.items())
            + ("--data-binary @file " if operation == "PUT" else "")
            + f"'{url}'",
        },
        "metadata": {
            "bucket": f"local:vaults/{obj.vault_id}",
            "region": "local",
            "contentType": content_type or obj.content_type,
            "sizeBytes": size_bytes
            if operation == "PUT" and size_bytes is not None
            else obj.size_bytes,
        },
    }


def _presigned_note(operation: str, obj: VaultObject) -> str:
    if operation == "PUT":
        then = (
            "ingestion starts on its own."
            if obj.auto_index
            else f"POST /vault/{obj.vault_id}/ingest/{obj.id}."
        )
        return (
            "PUT the file's bytes to the URL before it expires (an object takes one upload), "
            f"with the headers given; then {then}"
        )
    does = {
        "GET": "to download the object's bytes",
        "HEAD": "for the object's size and type",
        "DELETE": "to delete the object",
    }[operation]
    return f"{operation} the URL before it expires {does}; no API key is needed."


# --- Multipart uploads ------------------------------------------------------------------------


def multipart_init_output(upload: MultipartUpload) -> dict[str, Any]:
    return {
        "uploadId": upload.id,
        "objectId": upload.object_id,
        "partCount": upload.part_count,
        "partSizeBytes": upload.part_size_bytes,
    }


def multipart_part_urls_output(urls: list[tuple[int, str]], *, expires_in: int) -> dict[str, Any]:
    return {
        "urls": [{"partNumber": number, "url": url} for number, url in urls],
        "expiresIn": expires_in,
    }


def multipart_complete_output(upload: MultipartUpload, obj: VaultObject) -> dict[str, Any]:
    return {
        "success": True,
        "uploadId": upload.id,
        "objectId": obj.id,
        "vaultId": obj.vault_id,
        "sizeBytes": obj.size_bytes,
        "sha256": obj.sha256,
        "ingestionStatus": obj.status,
        "next_step": None if obj.auto_index else f"POST /vault/{obj.vault_id}/ingest/{obj.id}",
    }


def multipart_aborted_output(upload: MultipartUpload) -> dict[str, Any]:
    return {"success": True, "uploadId": upload.id, "status": upload.status}
