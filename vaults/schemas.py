"""Response schemas of the Vault API for the OpenAPI document (see agentexec.openapi)."""

from __future__ import annotations

from agentexec.openapi import (
    ANY_OBJECT,
    BOOLEAN,
    DATETIME,
    INTEGER,
    NUMBER,
    STRING,
    Schema,
    array,
    enum,
    nullable,
    obj,
)

# OCR word indexes and media timings of a chunk (null: none recorded).
WORD_SPAN: dict[str, Schema] = {
    "word_start_index": nullable(INTEGER),
    "word_end_index": nullable(INTEGER),
    "start_ms": nullable(INTEGER),
    "end_ms": nullable(INTEGER),
}

VAULT = obj(
    {
        "id": STRING,
        "name": STRING,
        "description": nullable(STRING),
        "metadata": ANY_OBJECT,
        "groupId": nullable(STRING),
        "createdAt": DATETIME,
        "updatedAt": DATETIME,
        "enableIndexing": BOOLEAN,
        "enableGraph": BOOLEAN,
        "totalObjects": INTEGER,
        "totalBytes": INTEGER,
        "totalVectors": INTEGER,
        "filesBucket": STRING,
        "vectorBucket": {"type": "null"},
        "indexName": nullable(STRING),
        "region": STRING,
        "kmsKeyId": {"type": "null"},
        "embeddingProfile": {"type": "null"},
        "chunkStrategy": obj(
            {"method": STRING, "chunkSize": INTEGER, "overlap": INTEGER, "minChunkSize": INTEGER}
        ),
    }
)
GROUP = obj(
    {
        "id": STRING,
        "name": STRING,
        "description": nullable(STRING),
        "vaultCount": INTEGER,
        "createdAt": DATETIME,
        "updatedAt": DATETIME,
    }
)
GROUP_LIST = obj({"groups": array(GROUP), "total": INTEGER})
GROUP_DELETED = obj({"success": BOOLEAN, "deletedGroup": obj({"id": STRING, "name": STRING})})

VAULT_LIST = obj({"vaults": array(VAULT), "total": INTEGER})
VAULT_DELETED = obj({"success": BOOLEAN, "status": STRING, "deletedVault": ANY_OBJECT})

OBJECT_STATUS = enum("pending", "processing", "completed", "failed", "stored")
OBJECT = obj(
    {
        "id": STRING,
        "vaultId": STRING,
        "filename": STRING,
        "contentType": STRING,
        "path": nullable(STRING),
        "metadata": ANY_OBJECT,
        "tags": {"type": "array", "items": STRING},
        "createdAt": DATETIME,
        "updatedAt": DATETIME,
        "ingestionStatus": OBJECT_STATUS,
        "ingestionError": nullable(STRING),
        "ingestionStartedAt": nullable(DATETIME),
        "ingestionCompletedAt": nullable(DATETIME),
        "ingestionWorkflowId": nullable(STRING),
        "sizeBytes": nullable(INTEGER),
        "sha256": STRING,
        "pageCount": nullable(INTEGER),
        "textLength": nullable(INTEGER),
        "chunkCount": nullable(INTEGER),
        "vectorCount": nullable(INTEGER),
    }
)
OBJECT_WITH_DOWNLOAD = {
    **OBJECT,
    "properties": {
        **OBJECT["properties"],
        "downloadUrl": STRING,
        "expiresIn": INTEGER,
        "transcript_object_id": {"type": "null"},
    },
    "required": [*OBJECT["required"], "downloadUrl", "expiresIn", "transcript_object_id"],
}
OBJECT_LIST = obj({"vaultId": STRING, "objects": array(OBJECT), "count": INTEGER})
OBJECT_DELETED = obj({"success": BOOLEAN, "deletedObject": ANY_OBJECT})

UPLOAD = obj(
    {
        "objectId": STRING,
        "uploadUrl": STRING,
        "expiresIn": INTEGER,
        "s3Key": STRING,
        "path": nullable(STRING),
        "auto_index": BOOLEAN,
        "enableIndexing": BOOLEAN,
        "next_step": nullable(STRING),
        "instructions": obj(
            {
                "method": STRING,
                "headers": {"type": "object", "additionalProperties": STRING},
                "note": STRING,
            }
        ),
    }
)
CONFIRM = obj(
    {
        "objectId": STRING,
        "vaultId": STRING,
        "status": enum("completed", "failed"),
        "alreadyConfirmed": BOOLEAN,
    }
)
INGEST = obj(
    {
        "objectId": STRING,
        "status": enum("stored", "processing"),
        "message": STRING,
        "workflowId": nullable(STRING),
        "enableGraphRAG": BOOLEAN,
    }
)
SEARCH = obj(
    {
        "method": STRING,
        "query": STRING,
        "vault_id": STRING,
        "response": {"type": "null"},
        "chunks": array(
            obj(
                {
                    "object_id": STRING,
                    "chunk_index": INTEGER,
                    "page_start": nullable(INTEGER),
                    "page_end": nullable(INTEGER),
                    "section": STRING,
                    "text": STRING,
                    "score": NUMBER,
                    "distance": {"type": "null"},
                    "source": STRING,
                    **WORD_SPAN,
                }
            )
        ),
        "sources": array(
            obj(
                {
                    "id": STRING,
                    "filename": STRING,
                    "chunkCount": nullable(INTEGER),
                    "pageCount": nullable(INTEGER),
                    "textLength": nullable(INTEGER),
                    "createdAt": DATETIME,
                    "ingestionCompletedAt": nullable(DATETIME),
                }
            )
        ),
    }
)
TEXT = obj(
    {
        "text": STRING,
        "metadata": obj(
            {
                "object_id": STRING,
                "vault_id": STRING,
                "filename": STRING,
                "chunk_count": INTEGER,
                "length": INTEGER,
                "ingestion_completed_at": nullable(DATETIME),
            }
        ),
    }
)
PAGES = obj(
    {
        "metadata": obj(
            {
                "object_id": STRING,
                "vault_id": STRING,
                "filename": STRING,
                "page_count": INTEGER,
                "returned_pages": INTEGER,
                "source": STRING,
                "start": nullable(INTEGER),
                "end": nullable(INTEGER),
            }
        ),
        "pages": array(obj({"page": INTEGER, "text": STRING})),
    }
)
CHUNKS = obj(
    {
        "object_id": STRING,
        "vault_id": STRING,
        "total_chunks": INTEGER,
        "chunks": array(
            obj(
                {
                    "index": INTEGER,
                    "text": STRING,
                    "page_start": nullable(INTEGER),
                    "page_end": nullable(INTEGER),
                    **WORD_SPAN,
                }
            )
        ),
    }
)
PRESIGNED = obj(
    {
        "objectId": STRING,
        "vaultId": STRING,
        "filename": STRING,
        "operation": enum("GET", "PUT", "DELETE", "HEAD"),
        "presignedUrl": STRING,
        "expiresIn": INTEGER,
        "expiresAt": DATETIME,
        "s3Key": nullable(STRING),
        "instructions": obj(
            {
                "method": STRING,
                "headers": {"type": "object", "additionalProperties": STRING},
                "note": STRING,
                "example": STRING,
            }
        ),
        "metadata": obj(
            {
                "bucket": STRING,
                "region": STRING,
                "contentType": STRING,
                "sizeBytes": nullable(INTEGER),
            }
        ),
    }
)
MULTIPART_INIT = obj(
    {"uploadId": STRING, "objectId": STRING, "partCount": INTEGER, "partSizeBytes": INTEGER}
)
MULTIPART_PART_URLS = obj(
    {"urls": array(obj({"partNumber": INTEGER, "url": STRING})), "expiresIn": INTEGER}
)
MULTIPART_COMPLETE = obj(
    {
        "success": BOOLEAN,
        "uploadId": STRING,
        "objectId": STRING,
        "vaultId": STRING,
        "sizeBytes": INTEGER,
        "sha256": STRING,
        "ingestionStatus": OBJECT_STATUS,
        "next_step": nullable(STRING),
    }
)
MULTIPART_ABORTED = obj({"success": BOOLEAN, "uploadId": STRING, "status": enum("aborted")})

DOWNLOAD: Schema = {"type": "string", "format": "binary"}
