"""What the remote backends (sandboxes.vercel, sandboxes.daytona) share with the provider that
drives them (sandboxes.remote): what goes into a remote sandbox and the machine it becomes.
Neither side imports the other's module through this one, so the SDKs load on first use.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Protocol

from sandboxes.base import SandboxStartError
from sandboxes.limits import SandboxLimits

# The provider's own wall clock for a sandbox runs this much past the run's deadline: ours
# fires first, the provider's is the backstop when nobody is left to stop the machine.
PROVIDER_TIMEOUT_GRACE_S = 60.0
LOG_CAP_BYTES = 64 * 1024  # of a remote runtime's output kept for its log


class RemoteSandboxError(SandboxStartError):
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
    """One remote sandbox running the runtime: the relay's RemoteRuntime, and its size."""

    id: str  # the provider's id for the sandbox
    size: str  # what was asked of the provider, for the runner log

    def wait(self, timeout: float) -> int | None:
        """The runtime command's exit code, or None if it still runs after `timeout` s."""
        ...

    def kill(self) -> None:
        """Stops and deletes the machine. Idempotent, never raises."""
        ...

    def log_text(self) -> str:
        """The runtime's output (stdout and stderr) so far."""
        ...


class RemoteBackend(Protocol):
    name: str

    def launch(self, launch: RemoteLaunch) -> RemoteMachine:
        """Creates, fills and starts a sandbox (RemoteSandboxError when the provider fails)."""
        ...

    def stop_remote(self, remote_id: str) -> bool:
        """Stops and deletes a sandbox by id or name; False if the provider has no live one."""
        ...
