"""Request body limits, applied from the declared Content-Length before anything reads the
body: MAX_JSON_BODY_BYTES for JSON and forms, VAULT_MAX_UPLOAD_BYTES (plus room for the other
form fields) for multipart uploads. Views that take raw file bytes (`own_body_limit`) check
their own limit; the JSON parser caps bodies whose length was not declared."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse

from agentexec.errors import error_body
from agentexec.parsers import body_too_large

View = TypeVar("View", bound=Callable[..., Any])


def own_body_limit(view: View) -> View:
    """Marks a view that streams a file body to disk under its own limit."""
    view.own_body_limit = True  # type: ignore[attr-defined]
    return view


def body_limit(request: HttpRequest) -> tuple[int, str]:
    """The largest body this request may send, and the setting that says so."""
    if request.content_type == "multipart/form-data":
        limit = settings.VAULT_MAX_UPLOAD_BYTES + settings.MAX_JSON_BODY_BYTES
        return limit, "VAULT_MAX_UPLOAD_BYTES + MAX_JSON_BODY_BYTES"
    return settings.MAX_JSON_BODY_BYTES, "MAX_JSON_BODY_BYTES"


class BodyLimitMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view: Callable[..., Any], args: Any, kwargs: Any
    ) -> HttpResponse | None:
        if getattr(view, "own_body_limit", False):
            return None
        declared = request.META.get("CONTENT_LENGTH") or ""
        limit, setting = body_limit(request)
        if declared.isdigit() and int(declared) > limit:
            error = body_too_large(limit, setting)
            return JsonResponse(error_body(error.error_type, error.message), status=413)
        return None
