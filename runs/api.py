"""The Agent API v1: agents, runs, execute. Views validate, call one service, serialize."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from agentexec.errors import ApplicationError, ConflictError
from agentexec.negotiation import AnyAcceptNegotiation
from agentexec.tenancy.auth import caller
from runs import executor, outputs, schemas, selectors, services
from runs.events import sse_stream
from runs.idempotency import idempotent, is_client_retry, request_digest
from runs.models import Run
from runs.serializers import (
    AgentCreateInputSerializer,
    AgentUpdateInputSerializer,
    ExecuteInputSerializer,
    ListParamsSerializer,
    RunCreateInputSerializer,
    RunListParamsSerializer,
    RunWatchInputSerializer,
)

IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description="Replays the stored response for a retried POST with the same key and body.",
)


def org_id(request: Request) -> str:
    return caller(request).organization.id


class ExecuteView(APIView):
    """POST /agent/v1/execute: an ephemeral agent and a run, executed before the response
    (or, with agentRuntime, queued on the worker)."""

    @extend_schema(
        tags=["agent"],
        summary="Execute a prompt with an ephemeral agent",
        request=ExecuteInputSerializer,
        responses={200: schemas.EXECUTE},
        parameters=[IDEMPOTENCY_KEY],
    )
    @idempotent
    def post(self, request: Request) -> Response:
        client = caller(request)
        serializer = ExecuteInputSerializer(
            data=request.data, context={"organization": client.organization}
        )
        serializer.is_valid(raise_exception=True)
        legacy = bool(serializer.validated_data.get("agentRuntime"))
        digest = request_digest(request)
        if is_client_retry(request):
            # The SDK retries an execute whose response it gave up waiting for (its timeout is
            # shorter than a run's): answer with the run the first attempt started.
            earlier = selectors.run_retried_execute(
                api_key_id=client.api_key.id, request_hash=digest
            )
            if earlier is not None:
                if not legacy:
                    earlier = services.run_await(run=earlier)
                return Response(self.answer(earlier, legacy=legacy))
        params = serializer.to_params()
        if legacy:
            run = services.execute_legacy(
                api_key=client.api_key, params=params, request_hash=digest
            )
        else:
            run = executor.execute(api_key=client.api_key, params=params, request_hash=digest)
        return Response(self.answer(run, legacy=legacy))

    @staticmethod
    def answer(run: Run, *, legacy: bool) -> dict[str, Any]:
        return outputs.execute_queued_output(run) if legacy else outputs.execute_output(run)


# -- agents -------------------------------------------------------------------------------


class AgentListView(APIView):
    @extend_schema(
        tags=["agent"],
        summary="Create an agent",
        request=AgentCreateInputSerializer,
        responses={201: schemas.AGENT},
        parameters=[IDEMPOTENCY_KEY],
    )
    @idempotent
    def post(self, request: Request) -> Response:
        serializer = AgentCreateInputSerializer(
            data=request.data, context={"organization": caller(request).organization}
        )
        serializer.is_valid(raise_exception=True)
        agent = services.agent_create(
            organization_id=org_id(request), params=serializer.to_params()
        )
        return Response(outputs.agent_output(agent), status=status.HTTP_201_CREATED)

    @extend_schema(
        tags=["agent"],
        summary="List agents",
        operation_id="agent_v1_agents_list",
        parameters=[ListParamsSerializer],
        responses={200: schemas.AGENT_LIST},
    )
    def get(self, request: Request) -> Response:
        params = ListParamsSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        page, has_more = selectors.page(
            selectors.agents_of(organization_id=org_id(request)),
            cursor=params.validated_data.get("cursor"),
            limit=params.validated_data["limit"],
        )
        return Response(outputs.agent_list_output(page, has_more=has_more))


class AgentDetailView(APIView):
    @extend_schema(tags=["agent"], summary="Get an agent", responses={200: schemas.AGENT})
    def get(self, request: Request, agent_id: str) -> Response:
        agent = selectors.agent_get(organization_id=org_id(request), agent_id=agent_id)
        return Response(outputs.agent_output(agent))

    @extend_schema(
        tags=["agent"],
        summary="Update an agent",
        request=AgentUpdateInputSerializer,
        responses={200: schemas.AGENT},
    )
    def patch(self, request: Request, agent_id: str) -> Response:
        agent = selectors.agent_get(organization_id=org_id(request), agent_id=agent_id)
        serializer = AgentUpdateInputSerializer(
            data=request.data, context={"organization": caller(request).organization}
        )
        serializer.is_valid(raise_exception=True)
        changes = {k: serializer.validated_data[k] for k in serializer.validated_data}
        agent = services.agent_update(agent=agent, changes=changes)
        return Response(outputs.agent_output(agent))

    @extend_schema(tags=["agent"], summary="Delete an agent", responses={200: schemas.OK})
    def delete(self, request: Request, agent_id: str) -> Response:
        agent = selectors.agent_get(organization_id=org_id(request), agent_id=agent_id)
        services.agent_delete(agent=agent)
        return Response(outputs.ok_output())


# -- runs ---------------------------------------------------------------------------------


class RunListView(APIView):
    @extend_schema(
        tags=["run"],
        summary="Create a run (queued until exec)",
        request=RunCreateInputSerializer,
        responses={201: schemas.RUN_CREATED},
        parameters=[IDEMPOTENCY_KEY],
    )
    @idempotent
    def post(self, request: Request) -> Response:
        client = caller(request)
        serializer = RunCreateInputSerializer(
            data=request.data, context={"organization": client.organization}
        )
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        run = services.run_create(
            api_key=client.api_key,
            agent=data["agentId"],
            prompt=data["prompt"],
            guidance=data.get("guidance"),
            model=data.get("model"),
            object_ids=data.get("objectIds"),
            callback_url=data.get("callbackUrl") or "",
        )
        return Response(outputs.run_created_output(run), status=status.HTTP_201_CREATED)

    @extend_schema(
        tags=["run"],
        summary="List runs",
        parameters=[RunListParamsSerializer],
        responses={200: schemas.RUN_LIST},
    )
    def get(self, request: Request) -> Response:
        params = RunListParamsSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        runs = selectors.runs_of(organization_id=org_id(request))
        if data.get("agentId"):
            runs = runs.filter(agent_id=data["agentId"])
        if data.get("status"):
            runs = runs.filter(status=data["status"])
        page, has_more = selectors.page(runs, cursor=data.get("cursor"), limit=data["limit"])
        return Response(outputs.run_list_output(page, has_more=has_more))


class RunExecView(APIView):
    @extend_schema(
        tags=["run"], summary="Start a queued run", request=None, responses={200: schemas.RUN_EXEC}
    )
    def post(self, request: Request, run_id: str) -> Response:
        run = selectors.run_get(organization_id=org_id(request), run_id=run_id)
        try:
            run = services.run_enqueue(run=run)
        except services.RunNotQueued as exc:
            raise ConflictError(
                f"run {run.id} cannot be started: it is {exc} "
                "(a run is executed once; create a new run to run again)"
            ) from exc
        return Response(outputs.run_exec_output(run))


class RunStatusView(APIView):
    @extend_schema(tags=["run"], summary="A run's status", responses={200: schemas.RUN_STATUS_OUT})
    def get(self, request: Request, run_id: str) -> Response:
        run = services.run_get_reaped(organization_id=org_id(request), run_id=run_id)
        return Response(outputs.status_output(run))


class RunDetailsView(APIView):
    @extend_schema(
        tags=["run"],
        summary="A run's result, steps and usage",
        responses={200: schemas.RUN_DETAILS},
    )
    def get(self, request: Request, run_id: str) -> Response:
        run = services.run_get_reaped(organization_id=org_id(request), run_id=run_id)
        steps = selectors.run_steps(run=run)
        entries = selectors.run_usage_entries(run=run)
        return Response(outputs.details_output(run, steps=steps, entries=entries))


class RunCancelView(APIView):
    @extend_schema(
        tags=["run"], summary="Cancel a run", request=None, responses={200: schemas.RUN_CANCEL}
    )
    def post(self, request: Request, run_id: str) -> Response:
        run = selectors.run_get(organization_id=org_id(request), run_id=run_id)
        cancelled = services.run_cancel(run=run)
        return Response(outputs.run_cancel_output(run, cancelled=cancelled))


class RunWatchView(APIView):
    @extend_schema(
        tags=["run"],
        summary="Add a callback URL notified when the run ends",
        request=RunWatchInputSerializer,
        responses={200: schemas.RUN_WATCH},
    )
    def post(self, request: Request, run_id: str) -> Response:
        run = selectors.run_get(organization_id=org_id(request), run_id=run_id)
        serializer = RunWatchInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        url = serializer.validated_data["callbackUrl"]
        if run.is_terminal:
            raise ConflictError(f"run {run.id} has already ended ({run.status})")
        services.run_watch(run=run, callback_url=url)
        return Response(outputs.run_watch_output(url))


class RunEventsView(APIView):
    """GET /agent/v1/run/:id/events: Server-Sent Events, replaying after Last-Event-ID."""

    renderer_classes = [JSONRenderer]
    content_negotiation_class = AnyAcceptNegotiation

    @extend_schema(
        tags=["run"],
        summary="Stream a run's events (Server-Sent Events)",
        parameters=[
            OpenApiParameter("Last-Event-ID", OpenApiTypes.STR, OpenApiParameter.HEADER),
            OpenApiParameter("lastEventId", OpenApiTypes.STR, OpenApiParameter.QUERY),
        ],
        responses={
            (200, "text/event-stream"): OpenApiResponse(
                schemas.EVENTS, description="The event stream."
            )
        },
    )
    def get(self, request: Request, run_id: str) -> StreamingHttpResponse:
        run = services.run_get_reaped(organization_id=org_id(request), run_id=run_id)
        raw = request.headers.get("Last-Event-ID") or request.query_params.get("lastEventId") or "0"
        if not raw.isdigit():
            raise ApplicationError(
                "lastEventId must be a non-negative integer", fields={"lastEventId": ["invalid"]}
            )
        stream = sse_stream(
            run_id=run.id,
            after=int(raw),
            poll_s=settings.SSE_POLL_S,
            keepalive_s=settings.SSE_KEEPALIVE_S,
            max_s=settings.SSE_MAX_STREAM_S,
        )
        response = StreamingHttpResponse(stream, content_type="text/event-stream")
        response["Cache-Control"] = "no-cache"
        response["X-Accel-Buffering"] = "no"  # let proxies pass events through at once
        return response
