"""One sandbox's cgroup (v2 or v1): limits, counters, kill, removal. Plain Python (no Django).

Each sandbox gets its own cgroup (``<parent>/<name>``, see ``sandboxes.cgroup_detect`` for
where the parent is and which version is used); the sandbox's first process joins it before
exec, so everything it spawns is accounted, limited and killable as a unit.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import signal
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field

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
    """`label`.<our pid>.<random>: unique, and tells cgroup_detect whose it is.

    An empty per-sandbox cgroup whose host process is gone was left by a host that died
    without close() (SIGKILL, OOM); the next host process's cgroup_detect.detect() removes it.
    """
    safe = re.sub(r"[^A-Za-z0-9_-]", "_", label)[:48] or "sandbox"
    return f"{safe}.{os.getpid()}.{secrets.token_hex(3)}"


# -- per-sandbox handles -----------------------------------------------------------------------


@dataclass(frozen=True)
class CgroupRequest:
    memory_bytes: int
    cpu_cores: int
    pids_max: int


def try_write(path: str, value: str) -> bool:
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
        applied = {"swap": try_write(self._at("memory.swap.max"), "0")}
        if "cpu" in self.controllers:
            quota = f"{request.cpu_cores * CPU_PERIOD_US} {CPU_PERIOD_US}"
            applied["cpu"] = try_write(self._at("cpu.max"), quota)
        if "pids" in self.controllers:
            applied["pids"] = try_write(self._at("pids.max"), str(request.pids_max))
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
        applied = {"swap": try_write(memsw, str(request.memory_bytes))}
        if "cpu" in self.paths:
            cpu = self.paths["cpu"]
            ok = try_write(os.path.join(cpu, "cpu.cfs_period_us"), str(CPU_PERIOD_US))
            quota = str(request.cpu_cores * CPU_PERIOD_US)
            applied["cpu"] = ok and try_write(os.path.join(cpu, "cpu.cfs_quota_us"), quota)
        if "pids" in self.paths:
            pids_max = os.path.join(self.paths["pids"], "pids.max")
            applied["pids"] = try_write(pids_max, str(request.pids_max))
        return _limit_note(request, applied, f"cgroup v1 ({mem})")

    def reset_counters(self) -> None:
        for controller, name in (
            ("memory", "memory.max_usage_in_bytes"),
            ("memory", "memory.failcnt"),
            ("cpuacct", "cpuacct.usage"),
        ):
            path = self._file(controller, name)
            if path:
                try_write(path, "0")  # v1 resets these counters on a write of 0

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
