"""Sandbox records: one row per booted sandbox, written as it boots, runs and ends."""

from __future__ import annotations

import socket
from typing import TYPE_CHECKING

from django.conf import settings
from django.utils import timezone

from sandboxes.models import Sandbox, SandboxState
from sandboxes.providers import SandboxLimits, SandboxProcess, SandboxProvider, get_provider

if TYPE_CHECKING:
    from runs.models import Run
    from sandboxes.providers import SandboxStats


def limits_for(run: Run) -> SandboxLimits:
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


def sandbox_create(*, run: Run, provider_name: str) -> Sandbox:
    return Sandbox.objects.create(
        run=run,
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
