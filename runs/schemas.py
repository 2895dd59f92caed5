"""Response schemas of the Agent API v1 for the OpenAPI document (see agentexec.openapi)."""

from __future__ import annotations

from agentexec.openapi import (
    ANY_OBJECT,
    BOOLEAN,
    DATETIME,
    INTEGER,
    NUMBER,
    STRING,
    STRINGS,
    Schema,
    array,
    enum,
    nullable,
    obj,
)

RUN_STATUS = enum("queued", "running", "completed", "failed", "cancelled")
LOGS = obj({"runner": STRING, "linc": STRING})
USAGE = obj(
    {
        "model": STRING,
        "inputTokens": INTEGER,
        "outputTokens": INTEGER,
        "toolCalls": INTEGER,
        "durationMs": nullable(INTEGER),
    }
)

CITATION = obj(
    {
        "quote": STRING,
        "status": enum("verified", "altered", "not_found"),
        "objectId": nullable(STRING),
        "vaultId": nullable(STRING),
        "filename": nullable(STRING),
        "pageStart": nullable(INTEGER),
        "pageEnd": nullable(INTEGER),
        "section": nullable(STRING),
        "charStart": nullable(INTEGER),
        "charEnd": nullable(INTEGER),
        "matchedText": nullable(STRING),
        "similarity": nullable(NUMBER),
        "diff": nullable(array(obj({"op": enum("equal", "delete", "insert"), "text": STRING}))),
    }
)
GROUNDING = obj({"quotes": INTEGER, "verified": INTEGER, "altered": INTEGER, "notFound": INTEGER})
CITATION_FIELDS = {"citations": array(CITATION), "grounding": GROUNDING}

EXECUTE: Schema = {
    "description": "The run, executed before the response; with agentRuntime=true, the queued "
    "run's ids and where to poll (then output, logs and usage are absent).",
    **obj(
        {
            "runId": STRING,
            "agentId": STRING,
            "status": RUN_STATUS,
            "provider": nullable(STRING),
            "runtimeId": nullable(STRING),
            "runtimeState": nullable(STRING),
            "output": nullable(STRING),
            "error": nullable(STRING),
            "logs": LOGS,
            "usage": USAGE,
            **CITATION_FIELDS,
            "message": STRING,
        },
        optional=(
            "runtimeId",
            "output",
            "error",
            "logs",
            "usage",
            "citations",
            "grounding",
            "message",
        ),
    ),
}

SANDBOX = nullable(obj({"cpu": nullable(INTEGER), "memoryMiB": nullable(INTEGER)}))
_AGENT_SUMMARY = {
    "id": STRING,
    "name": STRING,
    "description": STRING,
    "model": STRING,
    "vaultIds": STRINGS,
    "isActive": BOOLEAN,
    "createdAt": DATETIME,
    "updatedAt": DATETIME,
}
AGENT = obj(
    {
        **_AGENT_SUMMARY,
        "instructions": STRING,
        "enabledTools": nullable(STRINGS),
        "disabledTools": nullable(STRINGS),
        "vaultGroups": STRINGS,
        "sandbox": SANDBOX,
    }
)
AGENT_LIST = obj(
    {"agents": array(obj(_AGENT_SUMMARY)), "hasMore": BOOLEAN, "nextCursor": nullable(STRING)}
)
OK = obj({"ok": BOOLEAN})

RUN_CREATED = obj(
    {
        "id": STRING,
        "agentId": STRING,
        "status": RUN_STATUS,
        "objectIds": STRINGS,
        "createdAt": DATETIME,
    }
)
RUN_LIST = obj(
    {
        "runs": array(
            obj(
                {
                    "id": STRING,
                    "agentId": STRING,
                    "status": RUN_STATUS,
                    "model": STRING,
                    "prompt": STRING,
                    "createdAt": DATETIME,
                    "startedAt": nullable(DATETIME),
                    "completedAt": nullable(DATETIME),
                }
            )
        ),
        "hasMore": BOOLEAN,
        "nextCursor": nullable(STRING),
    }
)
RUN_EXEC = obj({"id": STRING, "status": STRING, "workflowId": nullable(STRING), "message": STRING})
RUN_STATUS_OUT = obj(
    {
        "id": STRING,
        "status": RUN_STATUS,
        "startedAt": nullable(DATETIME),
        "completedAt": nullable(DATETIME),
        "durationMs": nullable(INTEGER),
    }
)
STEP = obj(
    {
        "id": STRING,
        "type": STRING,
        "content": nullable(STRING),
        "toolName": nullable(STRING),
        "toolInput": {},
        "toolOutput": {},
        "isError": BOOLEAN,
        "durationMs": nullable(INTEGER),
        "source": enum("agent", "cli"),
        "timestamp": DATETIME,
    }
)
USAGE_ENTRY = obj(
    {
        "id": STRING,
        "kind": enum("llm", "api"),
        "model": nullable(STRING),
        "promptTokens": INTEGER,
        "completionTokens": INTEGER,
        "totalTokens": INTEGER,
        "costMicros": nullable(INTEGER),
        "service": nullable(STRING),
        "endpoint": nullable(STRING),
        "method": nullable(STRING),
        "statusCode": nullable(INTEGER),
        "metadata": ANY_OBJECT,
        "timestamp": DATETIME,
    }
)
RUN_DETAILS = obj(
    {
        "id": STRING,
        "agentId": STRING,
        "status": RUN_STATUS,
        "prompt": STRING,
        "guidance": nullable(STRING),
        "model": STRING,
        "provider": nullable(STRING),
        "runtimeId": nullable(STRING),
        "runtimeState": nullable(STRING),
        "workflowId": nullable(STRING),
        "error": nullable(STRING),
        "createdAt": DATETIME,
        "startedAt": nullable(DATETIME),
        "completedAt": nullable(DATETIME),
        "result": obj(
            {
                "output": nullable(STRING),
                "logs": LOGS,
                "finalResponse": obj(
                    {
                        "summary": nullable(STRING),
                        "issues": array({}),
                        "createdObjectIds": STRINGS,
                    }
                ),
                "outputObjectIds": STRINGS,
            }
        ),
        "steps": array(STEP),
        "usage": obj(
            {
                **USAGE["properties"],
                "entries": array(USAGE_ENTRY),
                "summary": obj(
                    {
                        "totalInputTokens": INTEGER,
                        "totalOutputTokens": INTEGER,
                        "totalTokens": INTEGER,
                        "costMicros": nullable(INTEGER),
                    }
                ),
            }
        ),
        **CITATION_FIELDS,
    }
)
RUN_CANCEL = obj({"id": STRING, "status": RUN_STATUS, "message": STRING}, optional=("message",))
RUN_WATCH = obj({"ok": BOOLEAN, "callbackUrl": STRING})

EVENTS: Schema = {
    "description": "Server-Sent Events, one per status change and step: `id` (the sequence, "
    "for Last-Event-ID), `event` (run.queued, run.step, run.completed, ...) and a JSON `data` "
    "line; the first frame also sets `retry`.",
    **obj(
        {"id": STRING, "event": STRING, "data": STRING, "retry": INTEGER},
        optional=("id", "event", "data", "retry"),
    ),
}
