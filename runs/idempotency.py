"""Idempotency-Key on POSTs: the same key and body replays the stored response and creates
nothing; the same key with another body is a 422; the same key while the first request is still
in flight is a 409. Keys are per organization and kept IDEMPOTENCY_TTL_H hours."""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from agentexec.errors import ApplicationError, ConflictError
from agentexec.tenancy.auth import caller
from runs.models import IdempotencyRecord

HEADER = "Idempotency-Key"
# Sent by the official SDKs on every request: 0 on the first attempt, n on its n-th retry.
RETRY_COUNT_HEADER = "X-Stainless-Retry-Count"


def is_client_retry(request: Request) -> bool:
    count = request.headers.get(RETRY_COUNT_HEADER, "")
    return count.isdigit() and int(count) > 0


def request_digest(request: Request) -> str:
    """SHA-256 of the request's canonical JSON body."""
    try:
        canonical = json.dumps(request.data, sort_keys=True, separators=(",", ":"), default=str)
    except (TypeError, ValueError):
        canonical = repr(request.data)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _begin(org_id: str, key: str, path: str, digest: str) -> IdempotencyRecord | Response:
    """Takes the key, or answers from the record that already holds it."""
    fresh_since = timezone.now() - timedelta(hours=settings.IDEMPOTENCY_TTL_H)
    IdempotencyRecord.objects.filter(
        organization_id=org_id, key=key, path=path, created_at__lt=fresh_since
    ).delete()
    try:
        with transaction.atomic():
            return IdempotencyRecord.objects.create(
                organization_id=org_id, key=key, path=path, request_hash=digest
            )
    except IntegrityError:
        pass
    existing = IdempotencyRecord.objects.get(organization_id=org_id, key=key, path=path)
    if existing.request_hash != digest:
        raise ApplicationError(
            f"{HEADER} {key!r} was already used with a different request body",
            status_code=422,
            error_type="idempotency_mismatch",
        )
    if existing.response_status is None:
        raise ConflictError(f"a request with {HEADER} {key!r} is still in progress")
    response = Response(existing.response_body, status=existing.response_status)
    response["Idempotent-Replayed"] = "true"
    return response


def idempotent(view: Callable[..., Response]) -> Callable[..., Response]:
    @functools.wraps(view)
    def wrapper(self: Any, request: Request, *args: Any, **kwargs: Any) -> Response:
        key = request.headers.get(HEADER)
        if not key:
            return view(self, request, *args, **kwargs)
        if len(key) > 255:
            raise ApplicationError(f"{HEADER} is longer than 255 characters")
        org_id = caller(request).organization.id
        began = _begin(org_id, key, request.path, request_digest(request))
        if isinstance(began, Response):
            return began
        try:
            response = view(self, request, *args, **kwargs)
        except Exception:
            began.delete()  # a failed request may be retried with the same key
            raise
        if response.status_code >= 500:
            began.delete()
        else:
            began.response_status = response.status_code
            began.response_body = json.loads(JSONRenderer().render(response.data))
            began.save(update_fields=["response_status", "response_body"])
        return response

    return wrapper
