"""The broker endpoint a runtime that calls home POSTs its protocol messages to.

`POST /internal/runtime/v1/sandboxes/<id>/broker`, `Authorization: Bearer <runtime token>`,
`X-Linc-Seq: <n>` (1, 2, 3... per runtime; a retry repeats its seq), the body one protocol
message (what the runtime would write on stdout). Answers 200 with the host's reply (what it
would write on the runtime's stdin), 204 for a message that needs none, 202 while the reply is
not ready (post the same seq again), 401 for a token that is not (or no longer) good. Internal:
no API key, no session, no CSRF, no API rate limit; not in the OpenAPI document.
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from agentexec.errors import ApplicationError, PayloadTooLarge, error_body
from agentexec.middleware import own_body_limit
from sandboxes import callhome, relay

SEQ_HEADER = "HTTP_X_LINC_SEQ"


def _token(request: HttpRequest) -> str:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise callhome.TokenRefused("missing runtime token (Authorization: Bearer ...)")
    return token.strip()


def _seq(request: HttpRequest) -> int:
    raw = request.META.get(SEQ_HEADER, "")
    if not raw.isdigit() or not 0 < int(raw) < 2**31:
        raise ApplicationError("X-Linc-Seq must be a positive integer", fields={"seq": [raw]})
    return int(raw)


def _message(request: HttpRequest) -> dict[str, Any]:
    declared = request.META.get("CONTENT_LENGTH") or ""
    limit = settings.RELAY_MAX_MESSAGE_BYTES
    if declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"message over RELAY_MAX_MESSAGE_BYTES ({limit} bytes)")
    try:
        msg = json.loads(request.read(limit + 1))
    except ValueError:
        raise ApplicationError("the body must be one JSON protocol message") from None
    if not isinstance(msg, dict) or not isinstance(msg.get("type"), str):
        raise ApplicationError("the body must be a JSON object with a string type")
    return msg


@csrf_exempt
@own_body_limit
@require_POST
def broker(request: HttpRequest, sandbox_id: str) -> HttpResponse:
    try:
        sandbox = callhome.token_verify(token=_token(request), sandbox_id=sandbox_id)
        seq, msg = _seq(request), _message(request)
        reply = relay.relay_post(
            sandbox=sandbox, seq=seq, msg=msg, wait_s=settings.RELAY_LONG_POLL_S
        )
    except ApplicationError as exc:
        body = error_body(exc.error_type, exc.message, exc.fields)
        return JsonResponse(body, status=exc.status_code)
    if reply is None:
        return JsonResponse({"pending": True}, status=202)
    if not reply:
        return HttpResponse(status=204)
    return JsonResponse(reply)
