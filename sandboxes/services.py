"""Sandbox records: one row per booted sandbox, written as it boots, runs and ends."""

from __future__ import annotations

import logging
import socket
from typing import Protocol

from django.conf import settings
from django.utils import timezone

from sandboxes import selection
from sandboxes.factory import get_provider
from sandboxes.limits import SandboxLimits, SandboxStats
from sandboxes.models import Sandbox, SandboxState
from sandboxes.protocol import RunningSandbox, SandboxProvider
from sandboxes.remote import backend_for, remote_provider
from sandboxes.spawning import kill_process_group

log = logging.getLogger(__name__)
LIVE_STATES = [SandboxState.BOOTING, SandboxState.RUNNING]


class RunSizing(Protocol):
    """What a sandbox needs of its run (a runs.Run; sandboxes do not import runs)."""

    id: str
    organization_id: str
    sandbox_cpu: int
    sandbox_memory_mib: int


def limits_for(run: RunSizing) -> SandboxLimits:
    return SandboxLimits(
        cpu=run.sandbox_cpu,
        memory_mib=run.sandbox_memory_mib,
        timeout_s=float(settings.RUN_TIMEOUT_S),
        workspace_mib=settings.SANDBOX_WORKSPACE_MIB,
    )


def provider(*, queued: bool = False) -> SandboxProvider:
    """The provider for a synchronous execute (SANDBOX_PROVIDER) or for a queued run, which
    `agentRuntime: true` executes are too (LEGACY_SANDBOX_PROVIDER)."""
    name = selection.legacy_provider_name() if queued else selection.sync_provider_name()
    if name in selection.REMOTE:
        return remote_provider(name)
    return get_provider(name, uid=settings.SANDBOX_UID, gid=settings.SANDBOX_GID)


def sandbox_create(*, run: RunSizing, provider_name: str) -> Sandbox:
    return Sandbox.objects.create(
        run_id=run.id,
        organization_id=run.organization_id,
        provider=provider_name,
        cpu=run.sandbox_cpu,
        memory_mib=run.sandbox_memory_mib,
        hostname=socket.gethostname(),
    )


def sandbox_started(*, sandbox: Sandbox, process: RunningSandbox) -> None:
    sandbox.pid = process.pid
    sandbox.state = SandboxState.RUNNING
    sandbox.save(update_fields=["pid", "state"])
    sandbox.refresh_from_db(fields=["remote_id"])  # a remote provider recorded it as it began


def sandbox_booted(*, sandbox: Sandbox, boot_ms: int) -> None:
    sandbox.boot_ms = boot_ms
    sandbox.save(update_fields=["boot_ms"])


def sandbox_end(*, sandbox: Sandbox, stats: SandboxStats, notes: list[str], error: bool) -> None:
    sandbox.state = SandboxState.ERROR if error else SandboxState.ENDED
    sandbox.exit_code = stats.exit_code
    sandbox.boot_ms = stats.boot_ms if stats.boot_ms is not None else sandbox.boot_ms
    sandbox.peak_memory_bytes = stats.peak_memory_bytes
    sandbox.cpu_time_ms = stats.cpu_time_ms
    sandbox.oom_killed = stats.oom_killed
    sandbox.timed_out = stats.timed_out
    sandbox.notes = "\n".join(notes)
    sandbox.ended_at = timezone.now()
    sandbox.callhome_token_hash = ""  # revokes a call-home token with the run's end
    sandbox.save(
        update_fields=[
            "state",
            "exit_code",
            "boot_ms",
            "peak_memory_bytes",
            "cpu_time_ms",
            "oom_killed",
            "timed_out",
            "notes",
            "ended_at",
            "callhome_token_hash",
        ]
    )


def sandboxes_kill_local(*, run_id: str) -> None:
    """Kills a run's live sandboxes at once where this host can: local ones on this host by
    their pid, remote ones through their provider (from any host). A local sandbox on another
    host is killed by the run's executor there, which notices the cancel within a heartbeat."""
    live = Sandbox.objects.filter(run_id=run_id, state__in=LIVE_STATES)
    for pid in live.filter(hostname=socket.gethostname()).values_list("pid", flat=True):
        if pid:
            kill_process_group(pid)
    for name, sandbox_id, remote_id in live.filter(provider__in=selection.REMOTE).values_list(
        "provider", "id", "remote_id"
    ):
        stop_remote(provider=name, runtime_id=remote_id or sandbox_id)


def stop_remote(*, provider: str, runtime_id: str) -> bool:
    """Stops and deletes a remote sandbox by its provider id (or its name, the Sandbox id).
    Never raises: a provider that cannot be reached is logged, and the sandbox's own timeout
    at the provider (the run's plus a grace) stops it in the end."""
    if selection.missing_settings(provider):
        log.error("cannot stop %s sandbox %s: the provider is not configured", provider, runtime_id)
        return False
    try:
        return backend_for(provider).stop_remote(runtime_id)
    except Exception:
        log.exception("stopping %s sandbox %s failed", provider, runtime_id)
        return False


def sandboxes_mark_lost(*, run_id: str) -> None:
    """A lost run's sandboxes: killed if they are still alive on this host, stopped if they
    are remote, marked ended, their runtime's token revoked."""
    sandboxes_kill_local(run_id=run_id)
    Sandbox.objects.filter(run_id=run_id, state__in=LIVE_STATES).update(
        state=SandboxState.ERROR, ended_at=timezone.now(), callhome_token_hash=""
    )
