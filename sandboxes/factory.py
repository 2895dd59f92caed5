"""Choosing a sandbox backend by name, and warming one up. Plain Python (no Django).

``BACKENDS`` maps a provider name to its backend; ``auto`` means bwrap where it works here, else
process. A new backend (a remote runtime) is one more entry in the mapping.
"""

from __future__ import annotations

from sandboxes import standby
from sandboxes.backend import BaseProvider
from sandboxes.bwrap import BwrapProvider, bwrap_available
from sandboxes.process import ProcessProvider
from sandboxes.protocol import SandboxProvider

AUTO = "auto"
BACKENDS: dict[str, type[BaseProvider]] = {
    "bwrap": BwrapProvider,
    "process": ProcessProvider,
}
PROVIDER_NAMES = (AUTO, *BACKENDS)


def resolve(name: str, *, uid: int | None = None, gid: int | None = None) -> str:
    """The backend `name` stands for ("auto": bwrap when it works here for that user, else
    process); ValueError for a name no backend answers to."""
    if name == AUTO:
        return "bwrap" if bwrap_available(uid, gid) else "process"
    if name not in BACKENDS:
        *others, last = PROVIDER_NAMES
        expected = f"{', '.join(others)} or {last}"
        raise ValueError(f"unknown sandbox provider {name!r} (expected {expected})")
    return name


def get_provider(
    name: str = AUTO, *, uid: int | None = None, gid: int | None = None
) -> SandboxProvider:
    """A provider by name: "bwrap", "process", or "auto" (see resolve()).

    `uid`/`gid`: the host user sandboxes run as when the service is root (default: the
    configured one, see sandboxes.isolation); ignored when it is not.
    """
    provider = BACKENDS[resolve(name, uid=uid, gid=gid)](uid=uid, gid=gid)
    if provider.use_standby:
        standby.refill(delay=0)  # warm up: the first start() may already find a standby
    return provider


def prewarm(timeout: float = 0.0) -> bool:
    """Make sure a standby is being prepared; wait up to `timeout` s for one to be ready.

    Optional (start() works without it): call it when a worker starts so that its first
    sandbox boots warm. False when there is none (no usable cgroup, disabled, still booting).
    """
    return standby.wait_ready(timeout)
