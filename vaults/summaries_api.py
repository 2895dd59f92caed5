"""POST /vault/:id/objects/:objectId/summarize starts a summary job; GET
.../summarize/:jobId (casedev `vault.objects.get_summarize_job`) reports it."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from agentexec.openapi import DATETIME, INTEGER, STRING, enum, nullable, obj
from agentexec.tenancy.auth import caller
from vaults import selectors, summaries
from vaults.models import SummaryJob, VaultObject

STATUS = enum("pending", "processing", "completed", "failed")
JOB_STARTED = obj({"jobId": STRING, "status": STATUS, "sourceObjectId": STRING})
JOB = obj(
    {
        "jobId": STRING,
        "status": STATUS,
        "workflowType": STRING,
        "sourceObjectId": STRING,
        "resultObjectId": nullable(STRING),
        "resultFilename": nullable(STRING),
        "error": nullable(STRING),
        "model": STRING,
        "usage": obj(
            {
                "inputTokens": INTEGER,
                "outputTokens": INTEGER,
                "costMicros": nullable(INTEGER),
            }
        ),
        "createdAt": DATETIME,
        "completedAt": nullable(DATETIME),
    }
)


def job_output(job: SummaryJob) -> dict[str, Any]:
    result = job.result_object
    return {
        "jobId": job.id,
        "status": job.status,
        "workflowType": "summary",
        "sourceObjectId": job.source_object_id,
        "resultObjectId": result.id if result else None,
        "resultFilename": result.filename if result else None,
        "error": job.error,
        "model": job.model,
        "usage": {
            "inputTokens": job.input_tokens,
            "outputTokens": job.output_tokens,
            "costMicros": job.cost_micros,
        },
        "createdAt": job.created_at,
        "completedAt": job.completed_at,
    }


def _object(request: Request, vault_id: str, object_id: str) -> VaultObject:
    return selectors.object_get(
        organization=caller(request).organization, vault_id=vault_id, object_id=object_id
    )


class SummarizeApi(APIView):
    @extend_schema(
        tags=["vault"],
        summary="Summarize an object (a job on the worker; the summary becomes a new object)",
        request=None,
        responses={202: JOB_STARTED},
    )
    def post(self, request: Request, vault_id: str, object_id: str) -> Response:
        source = _object(request, vault_id, object_id)
        job = summaries.summary_job_create(obj=source, api_key=caller(request).api_key)
        body = {"jobId": job.id, "status": job.status, "sourceObjectId": source.id}
        return Response(body, status=status.HTTP_202_ACCEPTED)


class SummarizeJobApi(APIView):
    @extend_schema(tags=["vault"], summary="A summary job and its result", responses={200: JOB})
    def get(self, request: Request, vault_id: str, object_id: str, job_id: str) -> Response:
        job = summaries.summary_job_get(obj=_object(request, vault_id, object_id), job_id=job_id)
        return Response(job_output(job))
