"""One error shape for the whole API: {"error": {"type", "message", "fields"}}."""

import logging
import math
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response

log = logging.getLogger(__name__)


class ApplicationError(Exception):
    """A domain rule was broken; the API answers 400 (or `status_code`) with this message."""

    status_code: int = status.HTTP_400_BAD_REQUEST
    error_type: str = "invalid_request"

    def __init__(
        self,
        message: str,
        *,
        fields: dict[str, list[str]] | None = None,
        status_code: int | None = None,
        error_type: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields or {}
        if status_code is not None:
            self.status_code = status_code
        if error_type is not None:
            self.error_type = error_type


class NotFoundError(ApplicationError):
    status_code: int = status.HTTP_404_NOT_FOUND
    error_type = "not_found"


class ConflictError(ApplicationError):
    status_code: int = status.HTTP_409_CONFLICT
    error_type = "conflict"


class NotSupportedError(ApplicationError):
    """A route of the case.dev API that this server does not implement: 501, naming it."""

    status_code: int = status.HTTP_501_NOT_IMPLEMENTED
    error_type = "not_supported"


class PayloadTooLarge(ApplicationError):
    status_code: int = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    error_type = "payload_too_large"


class TooManyRequests(ApplicationError):
    """429 with a Retry-After header: a rate limit (`rate_limited`) or a quota (`quota_exceeded`).

    `retry_after_s` is when the caller may try again, in seconds; None when waiting will not
    help by itself (a monthly budget spent, say): then no Retry-After header is sent.
    """

    status_code: int = status.HTTP_429_TOO_MANY_REQUESTS
    error_type = "quota_exceeded"

    def __init__(
        self,
        message: str,
        *,
        type: str = "quota_exceeded",  # the wire name of the error's type
        retry_after_s: float | None = None,
    ) -> None:
        super().__init__(message, error_type=type)
        self.retry_after_s = retry_after_s

    @property
    def retry_after_header(self) -> str | None:
        """Whole seconds, rounded up and at least 1, as HTTP's Retry-After wants them."""
        if self.retry_after_s is None:
            return None
        return str(max(1, math.ceil(self.retry_after_s)))


def error_body(error_type: str, message: str, fields: dict[str, Any] | None = None) -> dict:
    return {"error": {"type": error_type, "message": message, "fields": fields or {}}}


def _flatten(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested error detail → {"sandbox.cpu": ["..."], "prompt": ["..."]}."""
    if isinstance(detail, dict):
        out: dict[str, list[str]] = {}
        for key, value in detail.items():
            name = prefix if key == "non_field_errors" else (f"{prefix}.{key}" if prefix else key)
            out.update(_flatten(value, name or "request"))
        return out
    if isinstance(detail, list):
        if all(not isinstance(v, (dict, list)) for v in detail):
            return {prefix or "request": [str(v) for v in detail]}
        out = {}
        for i, value in enumerate(detail):
            out.update(_flatten(value, f"{prefix}[{i}]"))
        return out
    return {prefix or "request": [str(detail)]}


_TYPES = {
    exceptions.NotAuthenticated: "authentication_error",
    exceptions.AuthenticationFailed: "authentication_error",
    exceptions.PermissionDenied: "permission_error",
    exceptions.NotFound: "not_found",
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.UnsupportedMediaType: "unsupported_media_type",
    exceptions.ParseError: "parse_error",
    exceptions.Throttled: "rate_limited",
    exceptions.NotAcceptable: "not_acceptable",
}


def application_error_headers(exc: ApplicationError) -> dict[str, str]:
    if isinstance(exc, TooManyRequests) and exc.retry_after_header is not None:
        return {"Retry-After": exc.retry_after_header}
    return {}


def application_error_response(exc: ApplicationError) -> Response:
    """The API's answer to a domain error (with Retry-After for a 429 that has one)."""
    body = error_body(exc.error_type, exc.message, exc.fields)
    return Response(body, status=exc.status_code, headers=application_error_headers(exc))


def exception_handler(exc: Exception, context: dict) -> Response | None:
    if isinstance(exc, ApplicationError):
        return application_error_response(exc)
    if isinstance(exc, exceptions.ValidationError):
        fields = _flatten(exc.detail)
        first = next(iter(fields.items()), ("request", ["invalid"]))
        message = f"{first[0]}: {first[1][0]}"
        return Response(error_body("invalid_request", message, fields), status=400)
    # Imported here: rest_framework.views reads the API settings, which name this module.
    from rest_framework.views import exception_handler as drf_exception_handler

    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    error_type = next((t for cls, t in _TYPES.items() if isinstance(exc, cls)), "error")
    if isinstance(exc, (Http404, exceptions.NotFound)):
        error_type = "not_found"
    elif isinstance(exc, PermissionDenied):
        error_type = "permission_error"
    detail = getattr(exc, "detail", None)
    message = str(detail) if detail is not None else str(exc)
    response.data = error_body(error_type, message)
    return response
