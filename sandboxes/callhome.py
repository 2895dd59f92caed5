"""How a runtime outside this host reaches its run: a short-lived token bound to one sandbox
and run, and the broker URL under PUBLIC_BASE_URL. They are all a remote runtime is given.

A token is `django.core.signing` JSON (signed with SECRET_KEY, salted) holding the sandbox id,
the run id, an expiry (the run's deadline) and a random nonce whose SHA-256 is stored on the
Sandbox row. Clearing that hash revokes the token: the run's end clears it.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import math
import secrets
import time
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core import checks, signing
from django.core.exceptions import ImproperlyConfigured
from django.urls import reverse

from agentexec.errors import ApplicationError
from sandboxes.models import Sandbox, SandboxState

TOKEN_SALT = "agentexec.sandboxes.callhome"
BROKER_URL_ENV = "LINC_BROKER_URL"
TOKEN_ENV = "LINC_TOKEN"
_LIVE_STATES = (SandboxState.BOOTING, SandboxState.RUNNING)


class TokenRefused(ApplicationError):
    status_code = 401
    error_type = "authentication_error"


def _digest(nonce: str) -> str:
    return hashlib.sha256(nonce.encode()).hexdigest()


def token_issue(*, sandbox: Sandbox, expires_at: float) -> str:
    """A new token for `sandbox` (replacing any earlier one), valid until `expires_at` (epoch s)."""
    nonce = secrets.token_urlsafe(24)
    payload = {"sbx": sandbox.id, "run": sandbox.run_id, "exp": math.ceil(expires_at), "n": nonce}
    token = signing.dumps(payload, salt=TOKEN_SALT)
    Sandbox.objects.filter(id=sandbox.id).update(callhome_token_hash=_digest(nonce))
    sandbox.callhome_token_hash = _digest(nonce)
    return token


def token_revoke(*, sandbox_id: str) -> None:
    Sandbox.objects.filter(id=sandbox_id).exclude(callhome_token_hash="").update(
        callhome_token_hash=""
    )


def token_verify(*, token: str, sandbox_id: str) -> Sandbox:
    """The live sandbox the token was issued for, or TokenRefused (401) saying why."""
    try:
        payload: Any = signing.loads(token, salt=TOKEN_SALT)
    except signing.BadSignature:
        raise TokenRefused("runtime token is invalid") from None
    if not isinstance(payload, dict) or not all(k in payload for k in ("sbx", "run", "exp", "n")):
        raise TokenRefused("runtime token is invalid")
    if payload["sbx"] != sandbox_id:
        raise TokenRefused("runtime token belongs to another sandbox")
    if not isinstance(payload["exp"], int) or payload["exp"] < time.time():
        raise TokenRefused("runtime token has expired")
    sandbox = Sandbox.objects.filter(id=sandbox_id, run_id=payload["run"]).first()
    if sandbox is None:
        raise TokenRefused("runtime token belongs to another run")
    stored = sandbox.callhome_token_hash
    if not stored or not hmac.compare_digest(stored, _digest(str(payload["n"]))):
        raise TokenRefused("runtime token was revoked (the run has ended)")
    if sandbox.state not in _LIVE_STATES:
        raise TokenRefused("runtime token was revoked (the sandbox has ended)")
    return sandbox


# -- where the runtime calls ---------------------------------------------------------------------


def base_url_problem(url: str) -> str | None:
    """Why `url` cannot be PUBLIC_BASE_URL, or None."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"PUBLIC_BASE_URL={url!r} must be an absolute http(s) URL"
    if parts.query or parts.fragment:
        return f"PUBLIC_BASE_URL={url!r} must not have a query or fragment"
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        return (
            f"PUBLIC_BASE_URL={url!r} uses plain http for a host that is not loopback: remote "
            "runtimes send their token to it, so it must be https"
        )
    return None


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def public_base_url() -> str:
    url = settings.PUBLIC_BASE_URL
    problem = base_url_problem(url)
    if problem:
        raise ImproperlyConfigured(problem)
    return url.rstrip("/")


def broker_url(sandbox_id: str) -> str:
    path = reverse("runtime-broker", kwargs={"sandbox_id": sandbox_id})
    return public_base_url() + path


def runtime_env(*, sandbox_id: str, token: str) -> dict[str, str]:
    """What a remote runtime is given to call home: the broker URL and its token, nothing else."""
    return {BROKER_URL_ENV: broker_url(sandbox_id), TOKEN_ENV: token}


def check_public_base_url(**kwargs: Any) -> list[checks.CheckMessage]:
    problem = base_url_problem(settings.PUBLIC_BASE_URL)
    if problem is None:
        return []
    hint = "Set PUBLIC_BASE_URL to the https URL this service is reached at."
    return [checks.Error(problem, hint=hint, id="sandboxes.E001")]
