"""Our own presigned URLs for object bytes and multipart parts: an HMAC (keyed by SECRET_KEY)
over the operation, the ids, the expiry (and a size when the URL fixes one), so an upload or a
download needs no API key and cannot be altered."""

from __future__ import annotations

import time
from urllib.parse import urlencode

from django.urls import reverse
from django.utils.crypto import constant_time_compare, salted_hmac

_SALT = "vaults.signing.object-content"
PART_OPERATION = "PUT-PART"


def _signature(*fields: object) -> str:
    message = "\n".join(str(f) for f in fields)
    return salted_hmac(_SALT, message, algorithm="sha256").hexdigest()


def _query(fields: tuple[object, ...], expires: int, size: int | None) -> str:
    signed = (*fields, expires) if size is None else (*fields, expires, size)
    params: dict[str, object] = {"expires": expires}
    if size is not None:
        params["size"] = size
    params["signature"] = _signature(*signed)
    return urlencode(params)


def expires_at(expires_in: int) -> int:
    """The Unix time a URL signed now for `expires_in` seconds stops working."""
    return int(time.time()) + expires_in


def signed_path(
    operation: str,
    vault_id: str,
    object_id: str,
    expires_in: int,
    *,
    size: int | None = None,
    expires: int | None = None,
) -> str:
    """The path and query of a URL allowing `operation` (GET, HEAD, PUT, DELETE) on an object
    until now + expires_in (or the Unix time `expires`); a PUT URL signed with a size takes a
    body of exactly that size."""
    until = expires if expires is not None else expires_at(expires_in)
    query = _query((operation, vault_id, object_id), until, size)
    path = reverse("vaults:object-content", kwargs={"vault_id": vault_id, "object_id": object_id})
    return f"{path}?{query}"


def signed_part_path(
    vault_id: str, upload_id: str, part_number: int, size: int, expires_in: int
) -> str:
    """The path and query of the URL that takes part `part_number` (exactly `size` bytes) of a
    multipart upload."""
    fields = (PART_OPERATION, vault_id, upload_id, part_number)
    query = _query(fields, expires_at(expires_in), size)
    path = reverse(
        "vaults:multipart-part",
        kwargs={"vault_id": vault_id, "upload_id": upload_id, "part_number": part_number},
    )
    return f"{path}?{query}"


def verify(
    operation: str,
    vault_id: str,
    object_id: str,
    expires: str | None,
    signature: str | None,
    *,
    size: str | None = None,
) -> str | None:
    """None when the signature allows the operation now; otherwise why not."""
    return _verify((operation, vault_id, object_id), expires, signature, size)


def verify_part(
    vault_id: str,
    upload_id: str,
    part_number: int,
    expires: str | None,
    signature: str | None,
    size: str | None,
) -> str | None:
    """None when the signature allows this part's PUT now; otherwise why not."""
    if not size:
        return "missing or malformed signature"
    return _verify((PART_OPERATION, vault_id, upload_id, part_number), expires, signature, size)


def _verify(
    fields: tuple[object, ...], expires: str | None, signature: str | None, size: str | None
) -> str | None:
    if not expires or not signature or not expires.isdigit():
        return "missing or malformed signature"
    if size is not None and not size.isdigit():
        return "missing or malformed signature"
    signed = (*fields, int(expires)) if size is None else (*fields, int(expires), int(size))
    if not constant_time_compare(_signature(*signed), signature):
        return "signature does not match"
    if int(expires) < time.time():
        return "the URL has expired"
    return None
