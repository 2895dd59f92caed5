"""Sandbox records: one row per booted sandbox, written as it boots, runs and ends."""

from __future__ import annotations

import socket
from typing import Protocol

from django.conf import settings
from django.utils import timezone

from sandboxes.factory import get_provider
from sandboxes.limits import SandboxLimits, SandboxStats
from sandboxes.models import Sandbox, SandboxState
from sandboxes.protocol import SandboxProvider
from sandboxes.running import SandboxProcess
from sandboxes.spawning import kill_process_group

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


def provider() -> SandboxProvider:
    return get_provider(
        settings.SANDBOX_PROVIDER, uid=settings.SANDBOX_UID, gid=settings.SANDBOX_GID
    )


def sandbox_create(*, run: RunSizing, provider_name: str) -> Sandbox:
    return Sandbox.objects.create(
        run_id=run.id,
        organization_id=run.organization_id,
        provider=provider_name,
        cpu=run.sandbox_cpu,
        memory_mib=run.sandbox_memory_mib,
        hostname=socket.gethostname(),
    )


def sandbox_started(*, sandbox: Sandbox, process: SandboxProcess) -> None:
    sandbox.pid = process.pid
    sandbox.state = SandboxState.RUNNING
    sandbox.save(update_fields=["pid", "state"])


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
    """Kills a run's live sandboxes that run on this host at once; on another host the run's
    executor notices the cancel within a heartbeat and kills its sandbox there."""
    for pid in Sandbox.objects.filter(
        run_id=run_id, hostname=socket.gethostname(), state__in=LIVE_STATES
    ).values_list("pid", flat=True):
        if pid:
            kill_process_group(pid)


def sandboxes_mark_lost(*, run_id: str) -> None:
    """A lost run's sandboxes: killed if they are still alive on this host, marked ended."""
    sandboxes_kill_local(run_id=run_id)
    Sandbox.objects.filter(run_id=run_id, state__in=LIVE_STATES).update(
        state=SandboxState.ERROR, ended_at=timezone.now()
    )
