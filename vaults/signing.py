"""Our own presigned URLs for object bytes: an HMAC (keyed by SECRET_KEY) over the operation,
the ids and the expiry, so an upload or download needs no API key and cannot be altered."""

from __future__ import annotations

import time
from urllib.parse import urlencode

from django.urls import reverse
from django.utils.crypto import constant_time_compare, salted_hmac

_SALT = "vaults.signing.object-content"


def _signature(operation: str, vault_id: str, object_id: str, expires: int) -> str:
    message = f"{operation}\n{vault_id}\n{object_id}\n{expires}"
    return salted_hmac(_SALT, message, algorithm="sha256").hexdigest()


def signed_path(operation: str, vault_id: str, object_id: str, expires_in: int) -> str:
    """The path and query of a URL allowing `operation` (PUT or GET) until now + expires_in."""
    expires = int(time.time()) + expires_in
    query = urlencode(
        {
            "expires": expires,
            "signature": _signature(operation, vault_id, object_id, expires),
        }
    )
    path = reverse("vaults:object-content", kwargs={"vault_id": vault_id, "object_id": object_id})
    return f"{path}?{query}"


def verify(
    operation: str, vault_id: str, object_id: str, expires: str | None, signature: str | None
) -> str | None:
    """None when the signature allows the operation now; otherwise why not."""
    if not expires or not signature or not expires.isdigit():
        return "missing or malformed signature"
    expected = _signature(operation, vault_id, object_id, int(expires))
    if not constant_time_compare(expected, signature):
        return "signature does not match"
    if int(expires) < time.time():
        return "the URL has expired"
    return None
