"""What the remote backends (Vercel Sandbox, Daytona) share.

A remote backend creates a machine at the provider through its official SDK, uploads the
runtime artefact into it, starts it with the call-home variables as its only environment, and
streams its log lines back as they arrive. The runtime then reaches this server over HTTP(S)
(see sandboxes.relay); the backend only owns the machine's life: it stops and deletes it when
the run ends, fails, times out or is cancelled, and `stop_remote` does the same by id for the
reaper, when the worker that started it is gone.

Every remote sandbox is named after its Sandbox row (`sandbox_...`), so it can be found and
stopped by that name even if its provider id was never recorded.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from sandboxes.limits import SandboxLimits

# The provider's own wall clock for a sandbox runs this much past the run's deadline: ours
# fires first, the provider's is the backstop when nobody is left to stop the machine.
PROVIDER_TIMEOUT_GRACE_S = 60.0
LABEL_SANDBOX = "agentexec-sandbox"
LABEL_RUN = "agentexec-run"


class RemoteSandboxError(RuntimeError):
    """The provider refused or failed an operation (the message names the provider)."""


@dataclass(frozen=True)
class RemoteLaunch:
    """What a backend puts into a remote sandbox and runs there."""

    name: str  # the Sandbox row's id: the remote sandbox's name
    limits: SandboxLimits
    files: dict[str, bytes]  # path relative to the sandbox's working directory -> content
    argv: list[str]  # run from the working directory
    env: dict[str, str]  # the call-home variables, and nothing else
    labels: dict[str, str] = field(default_factory=dict)
    executable: frozenset[str] = frozenset()  # which of `files` get mode 0755

    @property
    def provider_timeout_s(self) -> float:
        return self.limits.timeout_s + PROVIDER_TIMEOUT_GRACE_S

    @property
    def provider_timeout_minutes(self) -> int:
        return math.ceil(self.provider_timeout_s / 60)


class RemoteMachine(Protocol):
    """One remote sandbox running the runtime, as its backend drives it."""

    remote_id: str
    size: str  # what was asked of the provider, for the runner log

    def wait(self, timeout: float) -> int | None:
        """The runtime command's exit code, or None if it still runs after `timeout` s."""

    def stop(self) -> None:
        """Stops and deletes the machine. Idempotent, never raises."""


class RemoteBackend(Protocol):
    name: str

    def launch(self, launch: RemoteLaunch, on_log: Callable[[str], None]) -> RemoteMachine:
        """Creates, fills and starts a sandbox; `on_log` gets its output as it arrives."""

    def stop_remote(self, remote_id: str) -> bool:
        """Stops and deletes a sandbox by id or name; False if the provider has no such one."""


class LineSplitter:
    """Turns output chunks into whole lines for `emit` (thread-safe; flush() at the end)."""

    def __init__(self, emit: Callable[[str], None]) -> None:
        self._emit = emit
        self._pending = ""
        self._lock = threading.Lock()

    def feed(self, chunk: str) -> None:
        with self._lock:
            *lines, self._pending = (self._pending + chunk).split("\n")
        for line in lines:
            self._emit(line + "\n")

    def flush(self) -> None:
        with self._lock:
            rest, self._pending = self._pending, ""
        if rest:
            self._emit(rest + "\n")
