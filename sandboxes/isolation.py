"""Who a sandbox runs as on the host, and how it reaches files that user cannot.

Plain Python (no Django). A sandbox never runs as host root: when the service is root, the
sandbox's process tree drops to an unprivileged uid/gid (``SANDBOX_UID``/``SANDBOX_GID``, default
65534 "nobody") right before the sandbox's first exec. A service that is not root cannot switch
users: its sandboxes run as its own (already unprivileged) uid.

Staging: the dropped user may not be able to reach what the sandbox needs. Here the interpreter
lives under /root (mode 0700) and a checkout may sit under a private directory too; bwrap,
running as the dropped user, resolves every bind source with realpath() and fails on them (even
for --ro-bind-fd, which it resolves through /proc/self/fd). So, while still root, the child
process enters a private mount namespace, mounts a small tmpfs on a world-traversable directory
and bind-mounts each needed source there; then it drops privileges and execs. Nothing of this is
visible on the host, and the mounts die with the sandbox's processes.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from dataclasses import dataclass, field

from sandboxes import childsetup

DEFAULT_UID = 65534
DEFAULT_GID = 65534


def _env_id(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value.isdigit() else default


_configured = {
    "uid": _env_id("SANDBOX_UID", DEFAULT_UID),
    "gid": _env_id("SANDBOX_GID", DEFAULT_GID),
}


def configure(*, uid: int, gid: int) -> None:
    """Set the default sandbox uid/gid (the Django app passes its settings here)."""
    _check_ids(uid, gid)
    _configured.update(uid=uid, gid=gid)


def _check_ids(uid: int, gid: int) -> None:
    for name, value in (("uid", uid), ("gid", gid)):
        if not isinstance(value, int) or isinstance(value, bool) or not 0 < value < 2**32 - 1:
            raise ValueError(f"sandbox {name} must be a non-root id, got {value!r}")


@dataclass(frozen=True)
class SandboxUser:
    uid: int
    gid: int
    drop: bool  # the service is root: switch to uid/gid before exec (and stage files)

    def describe(self) -> str:
        how = "dropped from root" if self.drop else "the service's own unprivileged user"
        return f"runs as host uid {self.uid} gid {self.gid} ({how})"


def sandbox_user(uid: int | None = None, gid: int | None = None) -> SandboxUser:
    """The host user a sandbox runs as: `uid`/`gid` (or the configured ones) if we are root."""
    if os.geteuid() != 0:
        return SandboxUser(os.getuid(), os.getgid(), drop=False)
    uid = _configured["uid"] if uid is None else uid
    gid = _configured["gid"] if gid is None else gid
    _check_ids(uid, gid)
    return SandboxUser(uid, gid, drop=True)


# -- staging -----------------------------------------------------------------------------------


@dataclass
class Stage:
    """Host paths the sandbox user must reach, and where each one appears once staged."""

    active: bool
    root: str = ""
    items: list[tuple[str, str, bool]] = field(default_factory=list)  # (source, target, is_dir)

    def path(self, source: str, name: str | None = None) -> str:
        """Where `source` is reachable by the sandbox user (itself when not staging).

        `name`: a relative path to stage it at (e.g. "src/vaults"), else a number.
        """
        if not self.active:
            return source
        for src, target, _is_dir in self.items:
            if src == source:
                return target
        target = f"{self.root}/{name or len(self.items)}"
        self.items.append((source, target, os.path.isdir(source)))
        return target


def new_stage(user: SandboxUser) -> Stage:
    return Stage(active=True, root=stage_root()) if user.drop else Stage(active=False)


def stage_root() -> str:
    """The (empty, world-traversable) directory a private tmpfs is mounted on in the child."""
    return owned_dir("agentexec-stage", 0o755)


def owned_dir(name: str, mode: int) -> str:
    """`<tmp>/<name>-<euid>`: a directory only we control, with `mode` (created, or reused).

    Verified, not trusted: in a shared /tmp, someone else's directory (or a symlink) there
    would let them choose what we mount into sandboxes. OSError when it is not ours, not a
    directory, or grants more than `mode`.
    """
    path = os.path.join(tempfile.gettempdir(), f"{name}-{os.geteuid()}")
    with contextlib.suppress(FileExistsError):
        os.mkdir(path, mode)
    st = os.lstat(path)
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.geteuid() or st.st_mode & 0o777 & ~mode:
        raise OSError(f"{path} is not a directory of uid {os.geteuid()} with mode {mode:o}")
    if st.st_mode & mode != mode:  # the umask took bits away at mkdir
        os.chmod(path, mode)
    return path


enter_stage = childsetup.enter_stage
drop_privileges = childsetup.drop_privileges
