from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from agentexec.errors import error_body
from agentexec.tenancy.auth import caller
from runs import services
from runs import selectors
from runs.serializers import (
    ExecuteInputSerializer,
    details_output,
    execute_output,
    status_output,
)


class ExecuteView(APIView):
    """POST /agent/v1/execute: an ephemeral agent and a run, executed before the response."""

    def post(self, request: Request) -> Response:
        client = caller(request)
        serializer = ExecuteInputSerializer(
            data=request.data, context={"organization": client.organization}
        )
        serializer.is_valid(raise_exception=True)
        if serializer.validated_data.get("agentRuntime"):
            message = "agentRuntime (queued legacy runs) is not available on this server yet"
            return Response(
                error_body("not_implemented", message, {"agentRuntime": [message]}),
                status=status.HTTP_501_NOT_IMPLEMENTED,
            )
        run = services.execute(api_key=client.api_key, params=serializer.to_params())
        return Response(execute_output(run))


class RunStatusView(APIView):
    def get(self, request: Request, run_id: str) -> Response:
        run = selectors.run_get(organization_id=caller(request).organization.id, run_id=run_id)
        return Response(status_output(run))


class RunDetailsView(APIView):
    def get(self, request: Request, run_id: str) -> Response:
        run = selectors.run_get(organization_id=caller(request).organization.id, run_id=run_id)
        return Response(details_output(run))
