"""What every sandbox backend offers the rest of the service (see sandboxes.factory)."""

from __future__ import annotations

from typing import Protocol

from sandboxes.limits import SandboxLimits
from sandboxes.running import SandboxProcess


class SandboxProvider(Protocol):
    name: str

    def start(
        self, *, runtime_id: str, limits: SandboxLimits, env: dict[str, str] | None = None
    ) -> SandboxProcess:
        """Boot a sandbox running the linc runtime; SandboxStartError when it cannot."""
        ...
