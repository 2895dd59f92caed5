"""What the remote backends (sandboxes.vercel, sandboxes.daytona) share with the provider that
drives them (sandboxes.remote): what goes into a remote sandbox and the machine it becomes.
Neither side imports the other's module through this one, so the SDKs load on first use.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, field
from typing import Protocol

from sandboxes.base import CappedLog, SandboxStartError
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


class FollowedMachine:
    """A remote sandbox whose runtime's output a thread follows into `log` as it arrives, and
    which is stopped once (when the runtime exits, or by kill()). A backend supplies how to
    follow the output, the exit code once the output has ended, and how to stop the sandbox;
    it sets its own attributes before calling this __init__, which starts the thread."""

    provider = "remote"

    def __init__(self, id: str, size: str) -> None:
        self.id = id
        self.size = size
        self.log = CappedLog(LOG_CAP_BYTES)
        self._exit_code: int | None = None
        self._stopped = False
        self._lock = threading.Lock()
        self._logs_done = threading.Event()
        name = f"{self.provider}-log-{id}"
        threading.Thread(target=self._pump, name=name, daemon=True).start()

    def _follow(self) -> None:
        """Adds the runtime's output to `log` until the command exits."""
        raise NotImplementedError

    def _exit_code_after_logs(self, deadline: float) -> int | None:
        """The command's exit code once its output has ended; None if not known by `deadline`
        (time.monotonic()) or if the provider cannot tell."""
        raise NotImplementedError

    def _destroy(self) -> None:
        """Stops and deletes the sandbox; an already stopped one is not an error."""
        raise NotImplementedError

    def _pump(self) -> None:
        try:
            self._follow()
        except Exception as exc:  # the sandbox was stopped under the stream, or the network
            if not self._stopped:
                self.log.add(f"[{self.provider}: log stream ended: {type(exc).__name__}: {exc}]\n")
        finally:
            self._logs_done.set()

    def wait(self, timeout: float) -> int | None:
        """The runtime's exit code once it has exited (the machine is then stopped: it has
        nothing left to do); None while it runs, or when it was stopped under it."""
        deadline = time.monotonic() + timeout
        if self._exit_code is not None or self._stopped:
            return self._exit_code
        if not self._logs_done.wait(timeout):
            return None
        code = self._exit_code_after_logs(deadline)
        if code is None:
            return None
        self._exit_code = code
        self.kill()
        return code

    def log_text(self) -> str:
        return self.log.text()

    def kill(self) -> None:
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
        self._destroy()


class RemoteBackend(Protocol):
    name: str

    def launch(self, launch: RemoteLaunch) -> RemoteMachine:
        """Creates, fills and starts a sandbox (RemoteSandboxError when the provider fails)."""
        ...

    def stop_remote(self, remote_id: str) -> bool:
        """Stops and deletes a sandbox by id or name; False if the provider has no live one."""
        ...
