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

VAULT = obj(
    {
        "id": STRING,
        "name": STRING,
        "description": nullable(STRING),
        "metadata": ANY_OBJECT,
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
        "embeddingProfile": {"type": "null"},
        "chunkStrategy": obj(
            {"method": STRING, "chunkSize": INTEGER, "overlap": INTEGER, "minChunkSize": INTEGER}
        ),
    }
)
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
    "properties": {**OBJECT["properties"], "downloadUrl": STRING, "expiresIn": INTEGER},
    "required": [*OBJECT["required"], "downloadUrl", "expiresIn"],
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
        "operation": enum("GET", "PUT"),
        "presignedUrl": STRING,
        "expiresIn": INTEGER,
        "s3Key": nullable(STRING),
        "metadata": obj({"contentType": STRING, "sizeBytes": nullable(INTEGER)}),
    }
)
DOWNLOAD: Schema = {"type": "string", "format": "binary"}
