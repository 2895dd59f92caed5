"""Where sandbox cgroups live: detected at run time, cgroup v2 or v1. Plain Python (no Django).

Layout: one ``agentexec`` parent cgroup that we create, one child per sandbox
(``agentexec/<name>``, a ``sandboxes.cgroups.SandboxCgroup``).

Where the parent goes:
- cgroup v1 (no "no internal processes" rule): under our own cgroup in each hierarchy, so the
  sandboxes stay inside whatever limits the host service already has.
- cgroup v2: under our own cgroup when controllers can be enabled there (it is the root or has
  no processes), else next to it (under its parent), because a v2 cgroup that holds processes
  cannot hand controllers to children. Production hosts should set AGENTEXEC_CGROUP_PARENT to a
  delegated path (e.g. systemd ``Delegate=yes`` on the unit).

Also here: finding the sandbox cgroup of any pid (a cancel from another host process) and
removing the empty cgroups of host processes that died without cleaning up.

Environment:
- AGENTEXEC_CGROUPS=off          disable cgroups (sandboxes fall back to rlimits)
- AGENTEXEC_CGROUP_PARENT=/a/b   the parent cgroup path, relative to the hierarchy root
"""

from __future__ import annotations

import contextlib
import os
import threading
from abc import ABC, abstractmethod
from dataclasses import dataclass

from sandboxes.cgroups import (
    V1_CONTROLLERS,
    V2_CONTROLLERS,
    CgroupError,
    CgroupRequest,
    CgroupV1,
    CgroupV2,
    SandboxCgroup,
    read_text,
    try_write,
)

ENV_SWITCH = "AGENTEXEC_CGROUPS"
ENV_PARENT = "AGENTEXEC_CGROUP_PARENT"
PARENT_NAME = "agentexec"


def _owner_alive(name: str) -> bool:
    """Is the host process named in a sandbox cgroup's name (see sandbox_cgroup_name) alive?"""
    parts = name.split(".")
    if len(parts) < 3 or not parts[-2].isdigit():
        return True  # not named by us: leave it alone
    try:
        os.kill(int(parts[-2]), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return True


def _remove_stale(parent: str) -> None:
    try:
        entries = list(os.scandir(parent))
    except OSError:
        return
    for entry in entries:
        if entry.is_dir(follow_symlinks=False) and not _owner_alive(entry.name):
            with contextlib.suppress(OSError):
                os.rmdir(entry.path)  # only succeeds when empty: nothing running is touched


# -- /proc parsing -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Mount:
    root: str  # the cgroup path mounted here (usually "/")
    point: str
    fstype: str
    options: frozenset[str]


def parse_mountinfo(text: str) -> list[Mount]:
    mounts = []
    for line in text.splitlines():
        pre, sep, post = line.partition(" - ")
        fields, tail = pre.split(), post.split()
        if not sep or len(fields) < 5 or len(tail) < 3 or not tail[0].startswith("cgroup"):
            continue
        point = fields[4].replace("\\040", " ")
        mounts.append(Mount(fields[3], point, tail[0], frozenset(tail[2].split(","))))
    return mounts


def parse_proc_cgroup(text: str) -> dict[str, str]:
    """Controller -> cgroup path; the v2 entry is under the key ""."""
    paths: dict[str, str] = {}
    for line in text.splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        for controller in parts[1].split(",") if parts[1] else [""]:
            paths[controller] = parts[2]
    return paths


def hierarchy_dir(mount: Mount, cgroup_path: str) -> str:
    rel = cgroup_path
    if mount.root != "/" and (rel == mount.root or rel.startswith(mount.root + "/")):
        rel = rel[len(mount.root) :]
    return os.path.join(mount.point, rel.lstrip("/")).rstrip("/") or "/"


# -- managers ----------------------------------------------------------------------------------


class CgroupManager(ABC):
    version: int

    @abstractmethod
    def handle(self, name: str) -> SandboxCgroup:
        """A handle on the sandbox cgroup `name` (which may or may not exist)."""

    @abstractmethod
    def exists(self, name: str) -> bool: ...

    @abstractmethod
    def describe(self) -> str: ...

    def create(self, name: str) -> SandboxCgroup:
        """A new, empty, unlimited sandbox cgroup (limits come with SandboxCgroup.apply)."""
        cgroup = self.handle(name)
        try:
            for d in cgroup.dirs:
                os.mkdir(d)
        except OSError as exc:
            cgroup.remove(timeout=0)
            raise CgroupError(f"cannot create cgroup {name}: {exc}") from exc
        return cgroup

    def create_limited(self, name: str, request: CgroupRequest) -> tuple[SandboxCgroup, str]:
        cgroup = self.create(name)
        try:
            return cgroup, cgroup.apply(request)
        except CgroupError:
            cgroup.remove(timeout=0)
            raise


class V2Manager(CgroupManager):
    version = 2

    def __init__(self, parent: str, controllers: set[str]) -> None:
        self.parent = parent
        self.controllers = frozenset(controllers)

    def handle(self, name: str) -> CgroupV2:
        path = os.path.join(self.parent, name)
        return CgroupV2(name=name, path=path, controllers=self.controllers)

    def exists(self, name: str) -> bool:
        return os.path.isdir(os.path.join(self.parent, name))

    def describe(self) -> str:
        return f"cgroup v2 at {self.parent} (controllers: {' '.join(sorted(self.controllers))})"


class V1Manager(CgroupManager):
    version = 1

    def __init__(self, parents: dict[str, str]) -> None:
        self.parents = parents  # controller -> agentexec parent directory

    def handle(self, name: str) -> CgroupV1:
        return CgroupV1(
            name=name, paths={c: os.path.join(p, name) for c, p in self.parents.items()}
        )

    def exists(self, name: str) -> bool:
        return os.path.isdir(os.path.join(self.parents["memory"], name))

    def describe(self) -> str:
        return f"cgroup v1 ({', '.join(f'{c}={p}' for c, p in sorted(self.parents.items()))})"


# -- finding the sandbox cgroup of any process -------------------------------------------------


def is_sandbox_path(path: str) -> bool:
    """Is this cgroup path (from /proc/<pid>/cgroup) a per-sandbox cgroup of ours?

    Any host process's: a cancel may come from another process than the one that started the
    sandbox, and each host process nests its own agentexec parent under its own cgroup.
    """
    parent = os.path.dirname(path.rstrip("/"))
    override = _parent_override()
    if override:
        return parent == override
    return os.path.basename(parent) == PARENT_NAME


def cgroup_of_pid(pid: int) -> SandboxCgroup | None:
    """A handle on the sandbox cgroup that `pid` is in, or None (not ours, or gone)."""
    proc = parse_proc_cgroup(read_text(f"/proc/{pid}/cgroup") or "")
    mounts = parse_mountinfo(read_text("/proc/self/mountinfo") or "")
    unified = proc.get("")
    mount2 = next((m for m in mounts if m.fstype == "cgroup2"), None)
    if unified and mount2 and is_sandbox_path(unified):
        return CgroupV2(name=os.path.basename(unified), path=hierarchy_dir(mount2, unified))
    paths: dict[str, str] = {}
    for controller in V1_CONTROLLERS:
        path = proc.get(controller)
        mount = next((m for m in mounts if m.fstype == "cgroup" and controller in m.options), None)
        if path and mount and is_sandbox_path(path):
            paths[controller] = hierarchy_dir(mount, path)
    if "memory" not in paths:
        return None
    return CgroupV1(name=os.path.basename(paths["memory"]), paths=paths)


# -- detection ---------------------------------------------------------------------------------


def _parent_override() -> str | None:
    value = os.environ.get(ENV_PARENT, "").strip()
    return "/" + value.strip("/") if value else None


def _enable_controllers(cgroup_dir: str, wanted: tuple[str, ...]) -> set[str]:
    """Enable `wanted` for the children of `cgroup_dir`; returns what is enabled afterwards."""
    available = set((read_text(os.path.join(cgroup_dir, "cgroup.controllers")) or "").split())
    control = os.path.join(cgroup_dir, "cgroup.subtree_control")
    for controller in wanted:
        if controller in available:
            try_write(control, f"+{controller}")  # EBUSY when the cgroup holds processes
    return set((read_text(control) or "").split())


def _v2_candidates(own: str) -> list[str]:
    override = _parent_override()
    if override:
        return [override]
    own = "/" + own.strip("/")
    parent_of_own = os.path.dirname(own)
    own_choice = own.rstrip("/") + "/" + PARENT_NAME
    sibling = parent_of_own.rstrip("/") + "/" + PARENT_NAME
    return [own_choice] if own == "/" else [own_choice, sibling]


def _try_v2_parent(mount: Mount, rel: str) -> V2Manager | None:
    parent_dir = hierarchy_dir(mount, rel)
    above = os.path.dirname(parent_dir)
    if "memory" not in _enable_controllers(above, V2_CONTROLLERS):
        return None
    try:
        os.makedirs(parent_dir, exist_ok=True)
    except OSError:
        return None
    enabled = _enable_controllers(parent_dir, V2_CONTROLLERS)
    if "memory" not in enabled or not os.access(parent_dir, os.W_OK):
        return None
    return V2Manager(parent_dir, enabled)


def detect_v2(mounts: list[Mount], proc_cgroup: dict[str, str]) -> V2Manager | None:
    mount = next((m for m in mounts if m.fstype == "cgroup2"), None)
    own = proc_cgroup.get("")
    if mount is None or own is None:
        return None
    for rel in _v2_candidates(own):
        manager = _try_v2_parent(mount, rel)
        if manager is not None:
            return manager
    return None


def detect_v1(mounts: list[Mount], proc_cgroup: dict[str, str]) -> V1Manager | None:
    override = _parent_override()
    parents: dict[str, str] = {}
    for controller in V1_CONTROLLERS:
        mount = next((m for m in mounts if m.fstype == "cgroup" and controller in m.options), None)
        own = proc_cgroup.get(controller)
        if mount is None or own is None:
            continue
        rel = override or own.rstrip("/") + "/" + PARENT_NAME
        path = hierarchy_dir(mount, rel)
        try:
            os.makedirs(path, exist_ok=True)
        except OSError:
            continue
        if os.access(path, os.W_OK):
            parents[controller] = path
    return V1Manager(parents) if "memory" in parents else None


# Process-wide: what detect() found (the cgroup tree does not change under a running host),
# computed once under the lock so concurrent first sandboxes do not race to create the parent.
_detected: tuple[CgroupManager | None, str] | None = None
_detect_lock = threading.Lock()


def detect(refresh: bool = False) -> tuple[CgroupManager | None, str]:
    """The usable cgroup manager (cached) and a one-line description for runner notes."""
    global _detected
    with _detect_lock:
        if _detected is None or refresh:
            _detected = _detect()
            if _detected[0] is not None:
                for parent in _manager_parents(_detected[0]):
                    _remove_stale(parent)
        return _detected


def _manager_parents(manager: CgroupManager) -> list[str]:
    if isinstance(manager, V2Manager):
        return [manager.parent]
    if isinstance(manager, V1Manager):
        return sorted(set(manager.parents.values()))
    return []


def _detect() -> tuple[CgroupManager | None, str]:
    if os.environ.get(ENV_SWITCH, "").strip().lower() in ("off", "0", "no", "none", "false"):
        return None, f"cgroups disabled by {ENV_SWITCH}"
    mounts = parse_mountinfo(read_text("/proc/self/mountinfo") or "")
    proc_cgroup = parse_proc_cgroup(read_text("/proc/self/cgroup") or "")
    manager: CgroupManager | None = detect_v2(mounts, proc_cgroup)
    if manager is None:
        manager = detect_v1(mounts, proc_cgroup)
    if manager is None:
        return None, "no writable cgroup (v2 memory controller or v1 memory hierarchy)"
    return manager, manager.describe()
