"""Per-sandbox cgroups, cgroup v2 or v1, detected at run time. Plain Python (no Django).

Layout: one ``agentexec`` parent cgroup that we create, one child per sandbox
(``agentexec/<name>``); the sandbox's first process joins the child before exec, so everything
it spawns is accounted, limited and killable as a unit.

Where the parent goes:
- cgroup v1 (no "no internal processes" rule): under our own cgroup in each hierarchy, so the
  sandboxes stay inside whatever limits the host service already has.
- cgroup v2: under our own cgroup when controllers can be enabled there (it is the root or has
  no processes), else next to it (under its parent), because a v2 cgroup that holds processes
  cannot hand controllers to children. Production hosts should set AGENTEXEC_CGROUP_PARENT to a
  delegated path (e.g. systemd ``Delegate=yes`` on the unit).

Environment:
- AGENTEXEC_CGROUPS=off          disable cgroups (providers fall back to rlimits)
- AGENTEXEC_CGROUP_PARENT=/a/b   the parent cgroup path, relative to the hierarchy root
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import signal
import threading
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field

ENV_SWITCH = "AGENTEXEC_CGROUPS"
ENV_PARENT = "AGENTEXEC_CGROUP_PARENT"
PARENT_NAME = "agentexec"
CPU_PERIOD_US = 100_000
V1_CONTROLLERS = ("memory", "cpu", "cpuacct", "pids")
V2_CONTROLLERS = ("memory", "cpu", "pids")


class CgroupError(Exception):
    """A cgroup could not be set up; callers degrade to rlimits."""


@dataclass
class CgroupStats:
    peak_memory_bytes: int | None = None
    cpu_time_ms: int | None = None
    oom_kills: int | None = None  # None: this kernel exposes no OOM-kill counter
    memory_failcnt: int | None = None  # times usage hit the limit (v1 failcnt, v2 events "max")


# -- small file helpers ------------------------------------------------------------------------


def write_value(path: str, value: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
    try:
        os.write(fd, value.encode())
    finally:
        os.close(fd)


def read_text(path: str) -> str | None:
    try:
        with open(path, encoding="ascii", errors="replace") as fh:
            return fh.read()
    except OSError:
        return None


def read_int(path: str) -> int | None:
    text = read_text(path)
    try:
        return int(text.strip()) if text is not None else None
    except ValueError:
        return None


def read_keyed(path: str) -> dict[str, int]:
    """Parse "key value" lines (memory.events, cpu.stat, memory.oom_control)."""
    result: dict[str, int] = {}
    for line in (read_text(path) or "").splitlines():
        key, _, value = line.partition(" ")
        if value.strip().lstrip("-").isdigit():
            result[key] = int(value)
    return result


def read_pids(procs_file: str) -> set[int]:
    return {int(p) for p in (read_text(procs_file) or "").split() if p.isdigit()}


def _kill_until_empty(procs_file: str, rounds: int = 50) -> None:
    """SIGKILL every member until the cgroup is empty (members may fork while we iterate)."""
    for _ in range(rounds):
        pids = read_pids(procs_file)
        if not pids:
            return
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.002)


def _rmdir_retry(path: str, timeout: float) -> bool:
    """rmdir a cgroup; killed members take a moment to leave it (EBUSY meanwhile)."""
    end = time.monotonic() + timeout
    while True:
        try:
            os.rmdir(path)
            return True
        except FileNotFoundError:
            return True
        except OSError:
            if time.monotonic() >= end:
                return False
            time.sleep(0.005)


def sandbox_cgroup_name(label: str) -> str:
    """`label`.<our pid>.<random>: unique, and tells _remove_stale whose it is.

    An empty per-sandbox cgroup whose host process is gone was left by a host that died
    without close() (SIGKILL, OOM); the next host process to detect() removes it.
    """
    safe = re.sub(r"[^A-Za-z0-9_-]", "_", label)[:48] or "sandbox"
    return f"{safe}.{os.getpid()}.{secrets.token_hex(3)}"


def _owner_alive(name: str) -> bool:
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


# -- per-sandbox handles -----------------------------------------------------------------------


@dataclass(frozen=True)
class CgroupRequest:
    memory_bytes: int
    cpu_cores: int
    pids_max: int


def _try_write(path: str, value: str) -> bool:
    try:
        write_value(path, value)
        return True
    except OSError:
        return False


def _limit_note(request: CgroupRequest, applied: dict[str, bool], where: str) -> str:
    parts = [f"memory {request.memory_bytes >> 20} MiB"]
    if applied.get("swap"):
        parts.append("no swap")
    if applied.get("cpu"):
        parts.append(f"cpu quota {request.cpu_cores} core(s)")
    if applied.get("pids"):
        parts.append(f"pids.max {request.pids_max}")
    return f"{', '.join(parts)} via {where}"


@dataclass
class SandboxCgroup(ABC):
    """One sandbox's cgroup (one directory per v1 hierarchy, one on v2)."""

    name: str

    @property
    @abstractmethod
    def dirs(self) -> list[str]: ...

    @property
    @abstractmethod
    def procs_file(self) -> str:
        """A cgroup.procs that lists every member."""

    @abstractmethod
    def apply(self, request: CgroupRequest) -> str:
        """Set the limits; returns a runner note. Raises CgroupError."""

    @abstractmethod
    def reset_counters(self) -> None:
        """Start peak/cpu/failcnt accounting afresh (a standby's own usage must not count)."""

    @abstractmethod
    def kill(self) -> None: ...

    @abstractmethod
    def stats(self) -> CgroupStats: ...

    def join_fds(self) -> list[int]:
        """Open cgroup.procs files; the child writes "0" (= itself) to each before exec."""
        fds: list[int] = []
        try:
            for d in self.dirs:
                fds.append(os.open(os.path.join(d, "cgroup.procs"), os.O_WRONLY | os.O_CLOEXEC))
        except OSError:
            for fd in fds:
                os.close(fd)
            raise
        return fds

    def pids(self) -> set[int]:
        return read_pids(self.procs_file)

    def remove(self, timeout: float = 1.0) -> bool:
        ok = True
        for d in self.dirs:
            ok = _rmdir_retry(d, timeout) and ok
        return ok


@dataclass
class CgroupV2(SandboxCgroup):
    path: str = ""
    controllers: frozenset[str] = frozenset(V2_CONTROLLERS)
    cpu_baseline_usec: int = 0

    @property
    def dirs(self) -> list[str]:
        return [self.path]

    @property
    def procs_file(self) -> str:
        return os.path.join(self.path, "cgroup.procs")

    def _at(self, name: str) -> str:
        return os.path.join(self.path, name)

    def apply(self, request: CgroupRequest) -> str:
        try:
            write_value(self._at("memory.max"), str(request.memory_bytes))
        except OSError as exc:
            raise CgroupError(f"cannot set memory.max on {self.path}: {exc}") from exc
        applied = {"swap": _try_write(self._at("memory.swap.max"), "0")}
        if "cpu" in self.controllers:
            quota = f"{request.cpu_cores * CPU_PERIOD_US} {CPU_PERIOD_US}"
            applied["cpu"] = _try_write(self._at("cpu.max"), quota)
        if "pids" in self.controllers:
            applied["pids"] = _try_write(self._at("pids.max"), str(request.pids_max))
        return _limit_note(request, applied, f"cgroup v2 ({self.path})")

    def reset_counters(self) -> None:
        # v2 counters cannot be reset: remember where cpu started. memory.peak keeps the
        # standby's few MiB, which the runtime's own footprint exceeds anyway.
        self.cpu_baseline_usec = read_keyed(self._at("cpu.stat")).get("usage_usec", 0)

    def kill(self) -> None:
        with contextlib.suppress(OSError):
            write_value(self._at("cgroup.kill"), "1")  # Linux >= 5.14: atomic
        _kill_until_empty(self.procs_file)

    def stats(self) -> CgroupStats:
        events = read_keyed(self._at("memory.events"))
        usec = read_keyed(self._at("cpu.stat")).get("usage_usec")
        return CgroupStats(
            peak_memory_bytes=read_int(self._at("memory.peak")),  # Linux >= 5.19
            cpu_time_ms=(usec - self.cpu_baseline_usec) // 1000 if usec is not None else None,
            oom_kills=events.get("oom_kill"),
            memory_failcnt=events.get("max"),
        )


@dataclass
class CgroupV1(SandboxCgroup):
    paths: dict[str, str] = field(default_factory=dict)  # controller -> directory

    @property
    def dirs(self) -> list[str]:
        return sorted(set(self.paths.values()))

    @property
    def procs_file(self) -> str:
        return os.path.join(self.paths["memory"], "cgroup.procs")

    def _file(self, controller: str, name: str) -> str | None:
        d = self.paths.get(controller)
        return os.path.join(d, name) if d else None

    def _int(self, controller: str, name: str) -> int | None:
        path = self._file(controller, name)
        return read_int(path) if path else None

    def apply(self, request: CgroupRequest) -> str:
        mem = self.paths["memory"]
        try:
            write_value(os.path.join(mem, "memory.limit_in_bytes"), str(request.memory_bytes))
        except OSError as exc:
            raise CgroupError(f"cannot set memory.limit_in_bytes on {mem}: {exc}") from exc
        # memsw (memory+swap) exists only with swap accounting; it must be >= the memory limit.
        memsw = os.path.join(mem, "memory.memsw.limit_in_bytes")
        applied = {"swap": _try_write(memsw, str(request.memory_bytes))}
        if "cpu" in self.paths:
            cpu = self.paths["cpu"]
            ok = _try_write(os.path.join(cpu, "cpu.cfs_period_us"), str(CPU_PERIOD_US))
            quota = str(request.cpu_cores * CPU_PERIOD_US)
            applied["cpu"] = ok and _try_write(os.path.join(cpu, "cpu.cfs_quota_us"), quota)
        if "pids" in self.paths:
            pids_max = os.path.join(self.paths["pids"], "pids.max")
            applied["pids"] = _try_write(pids_max, str(request.pids_max))
        return _limit_note(request, applied, f"cgroup v1 ({mem})")

    def reset_counters(self) -> None:
        for controller, name in (
            ("memory", "memory.max_usage_in_bytes"),
            ("memory", "memory.failcnt"),
            ("cpuacct", "cpuacct.usage"),
        ):
            path = self._file(controller, name)
            if path:
                _try_write(path, "0")  # v1 resets these counters on a write of 0

    def kill(self) -> None:
        _kill_until_empty(self.procs_file)

    def stats(self) -> CgroupStats:
        usage_ns = self._int("cpuacct", "cpuacct.usage")
        oom_control = read_keyed(self._file("memory", "memory.oom_control") or "")
        return CgroupStats(
            peak_memory_bytes=self._int("memory", "memory.max_usage_in_bytes"),
            cpu_time_ms=usage_ns // 1_000_000 if usage_ns is not None else None,
            oom_kills=oom_control.get("oom_kill"),  # Linux >= 4.13
            memory_failcnt=self._int("memory", "memory.failcnt"),
        )


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
            _try_write(control, f"+{controller}")  # EBUSY when the cgroup holds processes
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
