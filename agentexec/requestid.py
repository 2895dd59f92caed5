"""X-Request-ID: one id per request, echoed in the response and stamped on every log line.

The id is the client's own `X-Request-ID` when it is a sane token (letters, digits and `._:-`,
at most 200 characters), so a caller can follow its request through our logs; anything else is
replaced by a fresh one. It lives in a contextvar until the response is closed: the logging
filter and the runner log of a run started by the request read it there.
"""

from __future__ import annotations

import contextvars
import logging
import re
import uuid
from collections.abc import Callable

from django.core.signals import request_finished
from django.http import HttpRequest
from django.http.response import HttpResponseBase

HEADER = "X-Request-ID"
_SANE = re.compile(r"[A-Za-z0-9._:\-]{1,200}")
_current: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)


def current_request_id() -> str | None:
    """The id of the request being served in this context, or None outside a request."""
    return _current.get()


def request_id_for(value: str | None) -> str:
    """The client's id when it is a sane token, else a new one."""
    if value and _SANE.fullmatch(value):
        return value
    return uuid.uuid4().hex


class RequestIdMiddleware:
    """First in MIDDLEWARE, so that every response (errors and CORS preflights included)
    carries the header and every log line of the request has the id."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        request_id = request_id_for(request.headers.get(HEADER))
        request.META["HTTP_X_REQUEST_ID"] = request_id
        # Set for the rest of the request: Django logs 4xx/5xx ("Not Found: /x") after the
        # middleware chain has returned, so the id is cleared only when the response is closed.
        _current.set(request_id)
        response = self.get_response(request)
        response[HEADER] = request_id
        return response


def _clear(**kwargs: object) -> None:
    _current.set(None)


request_finished.connect(_clear, dispatch_uid="agentexec.requestid.clear")


class RequestIdFilter(logging.Filter):
    """Adds `request_id` ("-" outside a request) to every record its handler formats."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = _current.get() or "-"
        return True
