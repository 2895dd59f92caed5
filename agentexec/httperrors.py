"""Django-level error pages (no route, unhandled exception, bad request) in the API's one
error shape. The staff UI, the admin and the API docs keep Django's HTML pages."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import Resolver404, resolve
from django.views import defaults

from agentexec.errors import error_body
from agentexec.requestid import current_request_id

HTML_PREFIXES = ("/ui/", "/admin/", "/docs", "/static/")


def is_html_path(path: str) -> bool:
    return path.startswith(HTML_PREFIXES)


def _routes(path: str) -> bool:
    """Whether a real route (not a catch-all view that only explains errors) takes `path`."""
    try:
        match = resolve(path)
    except Resolver404:
        return False
    return not getattr(getattr(match.func, "view_class", None), "catch_all", False)


def no_route_message(request: HttpRequest) -> str:
    message = f"No route for {request.method} {request.path}."
    bare = request.path.rstrip("/")
    if bare != request.path and bare and _routes(bare):
        message += f" API paths have no trailing slash: use {bare}."
    return message


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if is_html_path(request.path):
        return defaults.page_not_found(request, exception)  # type: ignore[arg-type]
    return JsonResponse(error_body("not_found", no_route_message(request)), status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    if is_html_path(request.path):
        return defaults.server_error(request)
    message = f"Internal server error (request id {current_request_id() or '-'})."
    return JsonResponse(error_body("server_error", message), status=500)


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if is_html_path(request.path):
        return defaults.bad_request(request, exception)  # type: ignore[arg-type]
    return JsonResponse(error_body("invalid_request", "Bad request."), status=400)


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if is_html_path(request.path):
        return defaults.permission_denied(request, exception)  # type: ignore[arg-type]
    return JsonResponse(error_body("permission_error", "Forbidden."), status=403)


def get_only(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Plain Django views that only read: other methods get the JSON 405."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.method not in ("GET", "HEAD"):
            body = error_body("method_not_allowed", f'Method "{request.method}" not allowed.')
            return JsonResponse(body, status=405, headers={"Allow": "GET, HEAD"})
        return view(request, *args, **kwargs)

    return wrapper
