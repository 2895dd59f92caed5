"""Daytona through the official SDK (`daytona`).

Configured by DAYTONA_API_KEY, DAYTONA_API_URL (optional: the SDK's default is Daytona's cloud)
and DAYTONA_TARGET (the region; optional). A sandbox is made from DAYTONA_IMAGE (a Python image:
Daytona builds a snapshot of it on first use and reuses it), ephemeral (deleted as it stops),
with a wall-clock TTL past the run's deadline. Sizes are whole vCPUs and whole GiB of memory, so
a request is given the nearest that is not smaller: cpu as asked, memory rounded up to the GiB
(512 MiB -> 1 GiB, 1536 MiB -> 2 GiB); the disk is the provider's default (3 GiB).

The runtime runs as an asynchronous command of a session; its output is followed over the
toolbox's log WebSocket (the SDK's streaming call, in a thread of its own).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import shlex
import time
from dataclasses import dataclass
from functools import cache

from daytona import (
    CreateSandboxFromImageParams,
    Daytona,
    DaytonaConfig,
    DaytonaError,
    DaytonaNotFoundError,
    FileUpload,
    Resources,
    Sandbox,
    SessionExecuteRequest,
)

from sandboxes.remote_base import FollowedMachine, RemoteLaunch, RemoteSandboxError

log = logging.getLogger(__name__)

SESSION = "linc"
# How long creating a sandbox may take (a first use of an image builds its snapshot).
CREATE_TIMEOUT_S = 120.0
EXIT_POLL_S = 0.1


def daytona_size(cpu: int, memory_mib: int) -> tuple[int, int]:
    """(vCPUs, GiB of memory): the nearest size that is not smaller."""
    return max(1, cpu), max(1, math.ceil(memory_mib / 1024))


@dataclass(frozen=True)
class DaytonaSettings:
    api_key: str
    api_url: str = ""  # "" -> the SDK's default
    target: str = ""  # "" -> the organization's default region
    image: str = "python:3.12-slim"


@cache
def _client(settings: DaytonaSettings) -> Daytona:
    """One client per configuration and process: it holds connection pools and is thread-safe."""
    return Daytona(
        DaytonaConfig(
            api_key=settings.api_key,
            api_url=settings.api_url or None,
            target=settings.target or None,
        )
    )


class DaytonaMachine(FollowedMachine):
    """A running Daytona sandbox and the runtime command in its session."""

    provider = "daytona"

    def __init__(self, sandbox: Sandbox, command_id: str, size: str) -> None:
        self._sandbox = sandbox
        self._command_id = command_id
        super().__init__(sandbox.id, size)

    def _follow(self) -> None:
        """The command's logs, stdout and stderr."""
        asyncio.run(
            self._sandbox.process.get_session_command_logs_async(
                SESSION, self._command_id, self.log.add, self.log.add
            )
        )

    def _exit_code_after_logs(self, deadline: float) -> int | None:
        while True:  # the stream ends as the command exits; its code follows at once
            try:
                command = self._sandbox.process.get_session_command(SESSION, self._command_id)
            except DaytonaError:
                return None
            if command.exit_code is not None:
                return int(command.exit_code)
            if time.monotonic() >= deadline:
                return None
            time.sleep(EXIT_POLL_S)

    def _destroy(self) -> None:
        _delete(self._sandbox)  # an ephemeral sandbox: deleting stops it too


def _delete(sandbox: Sandbox) -> None:
    try:
        sandbox.delete()  # an ephemeral sandbox: deleting stops it too
    except Exception as exc:  # already gone: what we wanted
        log.warning("daytona: deleting sandbox %s: %s", sandbox.id, exc)


class DaytonaBackend:
    name = "daytona"

    def __init__(self, settings: DaytonaSettings) -> None:
        self.settings = settings

    def launch(self, launch: RemoteLaunch) -> DaytonaMachine:
        cpu, memory_gib = daytona_size(launch.limits.cpu, launch.limits.memory_mib)
        params = CreateSandboxFromImageParams(
            name=launch.name,
            image=self.settings.image,
            language="python",
            resources=Resources(cpu=cpu, memory=memory_gib),
            labels=launch.labels,
            ephemeral=True,
            ttl_minutes=launch.provider_timeout_minutes,
        )
        daytona = _client(self.settings)
        try:
            sandbox = daytona.create(params, timeout=CREATE_TIMEOUT_S)
        except DaytonaError as exc:
            raise RemoteSandboxError(f"daytona: creating the sandbox failed: {exc}") from exc
        try:
            sandbox.fs.upload_files([FileUpload(c, p) for p, c in launch.files.items()])
            sandbox.process.create_session(SESSION)
            started = sandbox.process.execute_session_command(
                SESSION, SessionExecuteRequest(command=_command_line(launch), run_async=True)
            )
        except BaseException as exc:
            _delete(sandbox)
            if isinstance(exc, DaytonaError):
                raise RemoteSandboxError(f"daytona: starting the runtime failed: {exc}") from exc
            raise
        size = f"{cpu} vCPUs, {memory_gib} GiB"
        return DaytonaMachine(sandbox, started.cmd_id, size)

    def stop_remote(self, remote_id: str) -> bool:
        try:
            sandbox = _client(self.settings).get(remote_id)
        except DaytonaNotFoundError:
            return False
        with contextlib.suppress(DaytonaError):
            sandbox.refresh_data()
        if sandbox.state == "destroyed":
            return False
        _delete(sandbox)
        return True


def _command_line(launch: RemoteLaunch) -> str:
    """The session's command: the executable files made so, then the runtime with exactly the
    call-home variables added to the image's environment."""
    chmod = [f"chmod 755 {shlex.quote(path)}" for path in sorted(launch.executable)]
    assignments = [f"{key}={shlex.quote(value)}" for key, value in sorted(launch.env.items())]
    run = " ".join(["exec", "env", *assignments, *map(shlex.quote, launch.argv)])
    return " && ".join([*chmod, run])
