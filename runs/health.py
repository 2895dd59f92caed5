"""GET /healthz (the process answers) and GET /readyz (it can serve: database, worker, sandbox).

Both are JSON and need no API key, for load balancers and orchestrators. They live in the runs
app because readiness looks at the worker and the sandbox provider, which the core may not
import.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.db import DatabaseError, connection
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django_q.brokers import get_broker
from django_q.status import Stat

from agentexec.httperrors import get_only
from sandboxes import selection
from sandboxes.bwrap import bwrap_available


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    message: str


def check_database() -> Check:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as exc:
        return Check("database", False, f"database unreachable: {exc}")
    return Check("database", True, f"{connection.vendor} reachable")


def check_worker() -> Check:
    """A django-q cluster saved its stats (it does every half second) within the window."""
    window = settings.READYZ_WORKER_MAX_AGE_S
    try:
        stats = Stat.get_all(broker=get_broker())
    except Exception as exc:  # a broker or stats cache that does not answer
        return Check("worker", False, f"worker stats unreadable: {type(exc).__name__}: {exc}")
    now = timezone.now()
    ages = [(now - stat.timestamp).total_seconds() for stat in stats]
    fresh = [age for age in ages if age <= window]
    if not fresh:
        return Check("worker", False, f"no worker cluster heartbeat in the last {window:g} s")
    return Check(
        "worker", True, f"{len(fresh)} worker cluster(s), last seen {min(fresh):.1f} s ago"
    )


def check_sandbox() -> Check:
    """The chosen providers can start sandboxes (no sandbox is started): a remote one has its
    credentials (the provider is not called), a local one works on this host."""
    if problems := selection.problems():
        return Check("sandbox", False, "; ".join(problems))
    chosen = {
        "SANDBOX_PROVIDER": selection.sync_provider_name(),
        "LEGACY_SANDBOX_PROVIDER": selection.legacy_provider_name(),
    }
    for variable, name in chosen.items():
        if name == "bwrap" and not bwrap_available():
            return Check("sandbox", False, f"{variable}=bwrap but bubblewrap does not work here")
    sync, legacy = (selection.resolved(name) for name in chosen.values())
    message = f"provider {sync}" + ("" if legacy == sync else f", queued runs: {legacy}")
    return Check("sandbox", True, message)


@get_only
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


@get_only
def readyz(request: HttpRequest) -> JsonResponse:
    checks = [check_database(), check_worker(), check_sandbox()]
    ready = all(check.ok for check in checks)
    body = {
        "status": "ok" if ready else "unavailable",
        "checks": {c.name: {"ok": c.ok, "message": c.message} for c in checks},
    }
    return JsonResponse(body, status=200 if ready else 503)
