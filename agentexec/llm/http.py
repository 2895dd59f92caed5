"""The one HTTP wrapper every model provider uses: explicit timeouts, bounded retries.

Retries (exponential backoff with jitter, honouring Retry-After) cover what is worth retrying:
connection errors, timeouts, 408, 429 and 5xx. Any other 4xx fails at once. Every wait and
every attempt is bounded by the request's deadline, so a provider that hangs or keeps answering
503 cannot hold a run past its timeout. Errors are ModelError with a message naming the
provider and its own error message, with any credential redacted.
"""

from __future__ import annotations

import email.utils
import json
import random
import re
import time
from dataclasses import dataclass
from typing import Any

import httpx
from django.conf import settings

from agentexec.llm.base import ModelError

RETRYABLE_STATUS = frozenset({408, 429, 500, 502, 503, 504, 529})
CONNECT_TIMEOUT_S = 10.0
MAX_ERROR_CHARS = 500
# Anything shaped like an API key that a provider echoes back in an error message.
_KEY_SHAPES = re.compile(r"\b(sk|pk|rk|key)-[A-Za-z0-9_\-]{6,}")


@dataclass
class HttpReply:
    data: Any  # the parsed JSON body
    status_code: int
    headers: httpx.Headers
    attempts: int


def sleep(seconds: float) -> None:
    """The backoff wait; tests patch it to record the waits instead of sleeping."""
    time.sleep(seconds)


_client: httpx.Client | None = None


def client() -> httpx.Client:
    global _client
    if _client is None:
        _client = httpx.Client(follow_redirects=False)
    return _client


def redact(text: str, secrets: tuple[str, ...] = ()) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "[redacted]")
    return _KEY_SHAPES.sub(lambda m: f"{m.group(1)}-[redacted]", text)


def error_message(response: httpx.Response) -> str:
    """The provider's own error message: {"error": {"message"}}, {"error": "..."}, or the text."""
    try:
        body = response.json()
    except ValueError:
        return response.text.strip()[:MAX_ERROR_CHARS] or response.reason_phrase
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict) and error.get("message"):
            kind = error.get("type") or error.get("code")
            message = str(error["message"])
            return f"{kind}: {message}"[:MAX_ERROR_CHARS] if kind else message[:MAX_ERROR_CHARS]
        if isinstance(error, str) and error:
            return error[:MAX_ERROR_CHARS]
        if body.get("message"):
            return str(body["message"])[:MAX_ERROR_CHARS]
    return json.dumps(body)[:MAX_ERROR_CHARS]


def retry_after(headers: httpx.Headers) -> float | None:
    """Seconds the provider asked us to wait (retry-after-ms, or Retry-After as seconds or date)."""
    millis = headers.get("retry-after-ms")
    if millis:
        try:
            return max(0.0, float(millis) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def backoff(attempt: int) -> float:
    """Exponential backoff with full jitter on top: base * 2^(n-1) + uniform(0, base)."""
    base = float(settings.LLM_BACKOFF_BASE_S)
    return base * (2 ** (attempt - 1)) + random.uniform(0, base)


def post_json(
    *,
    provider: str,
    url: str,
    headers: dict[str, str],
    body: dict[str, Any],
    deadline: float,
    secrets: tuple[str, ...] = (),
) -> HttpReply:
    """POST a JSON body and return the parsed JSON reply, retrying what is worth retrying."""
    max_attempts = max(1, settings.LLM_MAX_ATTEMPTS)
    per_attempt = float(settings.LLM_TIMEOUT_S)
    last_error = ""
    for attempt in range(1, max_attempts + 1):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise _out_of_time(provider, attempt - 1, last_error)
        limit = min(per_attempt, remaining)
        timeout = httpx.Timeout(limit, connect=min(CONNECT_TIMEOUT_S, limit))
        wait: float | None = None
        try:
            response = _send(url, headers, body, timeout, time.monotonic() + limit)
        except httpx.TimeoutException:
            last_error = f"no answer within {limit:.0f}s"
        except httpx.DecodingError as exc:
            raise ModelError(f"{provider} sent a malformed response ({exc})") from exc
        except httpx.TransportError as exc:
            last_error = redact(f"connection failed ({type(exc).__name__}: {exc})", secrets)
        else:
            if response.is_success:
                return HttpReply(
                    _parse(provider, response), response.status_code, response.headers, attempt
                )
            message = redact(error_message(response), secrets)
            last_error = f"HTTP {response.status_code}: {message}"
            if response.status_code not in RETRYABLE_STATUS:
                raise ModelError(
                    f"{provider} rejected the request ({last_error})",
                    status_code=response.status_code,
                )
            wait = retry_after(response.headers)
        if attempt == max_attempts:
            break
        wait = backoff(attempt) if wait is None else wait
        if time.monotonic() + wait >= deadline:
            raise _out_of_time(provider, attempt, last_error)
        sleep(wait)
    raise ModelError(
        f"{provider} failed after {max_attempts} attempt{'s' if max_attempts != 1 else ''} "
        f"({last_error})",
        retryable=True,
    )


def _send(
    url: str, headers: dict[str, str], body: dict[str, Any], timeout: httpx.Timeout, until: float
) -> httpx.Response:
    """One attempt, read in chunks: httpx's timeouts bound each read, not the whole answer, so a
    provider that trickles bytes is cut off at `until` too."""
    with client().stream("POST", url, headers=headers, json=body, timeout=timeout) as response:
        chunks = []
        for chunk in response.iter_raw():
            chunks.append(chunk)
            if time.monotonic() > until:
                raise httpx.ReadTimeout("the answer took too long", request=response.request)
    return httpx.Response(
        response.status_code,
        headers=response.headers,
        content=b"".join(chunks),
        request=response.request,
    )


def _out_of_time(provider: str, attempts: int, last_error: str) -> ModelError:
    detail = ""
    if attempts:
        detail = f" after {attempts} attempt{'s' if attempts != 1 else ''} ({last_error})"
    return ModelError(f"{provider}: the run ran out of time waiting for the model{detail}")


def _parse(provider: str, response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError as exc:
        raise ModelError(f"{provider} sent a malformed response (not JSON: {exc})") from exc
