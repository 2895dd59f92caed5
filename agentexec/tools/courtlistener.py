"""CourtListener REST API v4 client (Free Law Project): opinion search and citation lookup.

One small module over httpx with explicit timeouts; it is the seam tests mock (respx).
Calls return a Reply whatever the HTTP status, so the caller can account for every call.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
from django.conf import settings

TIMEOUT = httpx.Timeout(30.0, connect=10.0)
MAX_ERROR_CHARS = 300


class CourtListenerError(Exception):
    """The API could not be reached or answered with an error; the message is safe to show."""

    def __init__(self, message: str, *, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code


@dataclass
class Reply:
    data: Any
    status_code: int
    endpoint: str
    method: str


def token() -> str:
    return str(settings.COURTLISTENER_API_TOKEN)


def base_url() -> str:
    return str(settings.COURTLISTENER_BASE_URL).rstrip("/")


def site_url(path: str) -> str:
    """An absolute link on the CourtListener site for an absolute_url such as /opinion/1/x/."""
    if not path or path.startswith("http"):
        return path
    parts = urlsplit(base_url())
    return f"{parts.scheme}://{parts.netloc}{path}"


def _headers() -> dict[str, str]:
    headers = {"accept": "application/json"}
    if token():
        headers["authorization"] = f"Token {token()}"
    return headers


def _send(method: str, endpoint: str, **kwargs: Any) -> Reply:
    url = f"{base_url()}{endpoint}"
    try:
        with httpx.Client(timeout=TIMEOUT) as client:
            response = client.request(method, url, headers=_headers(), **kwargs)
    except httpx.TimeoutException as exc:
        raise CourtListenerError("CourtListener did not answer in time") from exc
    except httpx.TransportError as exc:
        message = f"CourtListener could not be reached ({type(exc).__name__})"
        raise CourtListenerError(message) from exc
    if not response.is_success:
        raise CourtListenerError(
            f"CourtListener answered HTTP {response.status_code}: {_detail(response)}",
            status_code=response.status_code,
        )
    try:
        data = response.json()
    except ValueError as exc:
        raise CourtListenerError(
            "CourtListener sent a response that is not JSON", status_code=response.status_code
        ) from exc
    return Reply(data, response.status_code, endpoint, method)


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text.strip()[:MAX_ERROR_CHARS] or response.reason_phrase
    if isinstance(body, dict) and body.get("detail"):
        return str(body["detail"])[:MAX_ERROR_CHARS]
    return str(body)[:MAX_ERROR_CHARS]


def search_opinions(params: dict[str, str]) -> Reply:
    """GET /search/?type=o&q=... (case-law opinions, same parameters as the site's search)."""
    return _send("GET", "/search/", params={"type": "o", **params})


def citation_lookup(text: str) -> Reply:
    """POST /citation-lookup/ with text=...: every citation CourtListener finds in the text."""
    return _send("POST", "/citation-lookup/", data={"text": text})
