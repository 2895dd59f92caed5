"""What every sandbox backend offers the rest of the service (see sandboxes.factory)."""

from __future__ import annotations

from typing import Any, Protocol

from sandboxes.limits import SandboxLimits, SandboxStats


class RunningSandbox(Protocol):
    """A started sandbox as the executor drives it: a local one (sandboxes.running's
    SandboxProcess, over stdio) or a remote one (sandboxes.relay's RelayProcess, over HTTP)."""

    runtime_id: str
    notes: list[str]

    @property
    def pid(self) -> int | None: ...

    @property
    def deadline(self) -> float: ...

    @property
    def boot_ms(self) -> int | None: ...

    def send(self, obj: dict[str, Any]) -> None: ...

    def recv(self, timeout: float) -> dict[str, Any] | None: ...

    def kill(self) -> None: ...

    def wait(self, timeout: float) -> int | None: ...

    def close(self) -> SandboxStats: ...

    def stderr_text(self) -> str: ...


class SandboxProvider(Protocol):
    name: str

    def start(
        self, *, runtime_id: str, limits: SandboxLimits, env: dict[str, str] | None = None
    ) -> RunningSandbox:
        """Boot a sandbox running the linc runtime; SandboxStartError when it cannot."""
        ...
