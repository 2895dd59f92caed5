"""OPTIONS needs no API key: browsers send CORS preflights without credentials, and an
OPTIONS answers only what the endpoint accepts (methods, media types), never data."""

from __future__ import annotations

from typing import Any

from rest_framework import authentication, permissions
from rest_framework.request import Request

from agentexec.tenancy.auth import ApiClient, ApiKeyAuthentication


class ApiKeyOrOptionsAuthentication(ApiKeyAuthentication):
    """`Authorization: Bearer <key>`; an OPTIONS request without the header is anonymous."""

    def authenticate(self, request: Request) -> tuple[ApiClient, Any] | None:  # type: ignore[override]
        if request.method == "OPTIONS" and not authentication.get_authorization_header(request):
            return None
        return super().authenticate(request)


class IsAuthenticatedOrOptions(permissions.BasePermission):
    def has_permission(self, request: Request, view: Any) -> bool:
        if request.method == "OPTIONS":
            return True
        return bool(request.user and request.user.is_authenticated)
