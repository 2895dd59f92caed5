"""GET /agent/v1/sandbox-providers: which sandbox providers this deployment has configured and
which runs each one runs (never a credential)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from agentexec.openapi import BOOLEAN, STRING, STRINGS, array, enum, nullable, obj
from sandboxes import selection

SANDBOX_PROVIDERS = obj(
    {
        "sync": nullable(STRING),
        "legacy": nullable(STRING),
        "providers": array(
            obj(
                {
                    "name": STRING,
                    "location": enum("local", "remote"),
                    "configured": BOOLEAN,
                    "missing": STRINGS,
                    "apiUrl": nullable(STRING),
                    "selectedFor": array(enum("sync", "legacy")),
                }
            )
        ),
    }
)


class SandboxProvidersView(APIView):
    """Where runs execute: `sync` runs synchronous executes, `legacy` runs `agentRuntime: true`
    executes and queued runs; `missing` names the variables a provider still needs."""

    @extend_schema(tags=["agent"], summary="Sandbox providers", responses={200: SANDBOX_PROVIDERS})
    def get(self, request: Request) -> Response:
        return Response(selection.describe())
