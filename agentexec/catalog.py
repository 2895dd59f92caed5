"""What this deployment offers: GET /agent/v1/models and GET /agent/v1/tools."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from agentexec.linc.cli import COMMANDS as CLI_COMMANDS
from agentexec.llm import catalog, router
from agentexec.openapi import MODELS, TOOLS
from agentexec.tools import registry


class ModelsView(APIView):
    """The default model, the configured providers and which model ids route where."""

    @extend_schema(tags=["agent"], summary="Models and providers", responses={200: MODELS})
    def get(self, request: Request) -> Response:
        return Response({"default": router.default_model(), **catalog.describe()})


class ToolsView(APIView):
    """Every tool with its JSON schema, where it runs, whether this deployment can run it, and
    the `casedev` command that calls it from a sandbox's shell (host tools)."""

    @extend_schema(tags=["agent"], summary="Tools", responses={200: TOOLS})
    def get(self, request: Request) -> Response:
        tools = []
        for tool in registry.all_tools():
            reason = tool.unavailable_reason()
            tools.append(
                {
                    "name": tool.name,
                    "description": tool.description,
                    "inputSchema": tool.input_schema,
                    "location": tool.location,
                    "available": reason is None,
                    "unavailableReason": reason,
                    "cli": CLI_COMMANDS.get(tool.name),
                }
            )
        return Response({"tools": tools})
