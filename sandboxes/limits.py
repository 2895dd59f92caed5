"""Sandbox limits and stats, plus the per-process limits applied in the child before exec.

Plain Python (no Django): imported by the backends and by the Django glue.
"""

from __future__ import annotations

import itertools
import os
import resource
from collections.abc import Callable
from dataclasses import dataclass

MIB = 1 << 20
# RLIMIT_AS fallback (no writable cgroup): address space is not RSS. A python -S interpreter
# maps ~25 MiB of code and arenas before allocating anything and /bin/sh a few MiB, so without
# headroom a small memory_mib would stop the runtime from booting. The limit is per process.
AS_HEADROOM_MIB = 64


@dataclass(frozen=True)
class SandboxLimits:
    cpu: int = 1  # cores
    memory_mib: int = 512
    timeout_s: float = 300.0  # wall clock for the whole sandbox
    workspace_mib: int = 256  # tmpfs size of /workspace
    nproc: int = 128
    nofile: int = 256
    fsize_mib: int = 64

    def __post_init__(self) -> None:
        for name in ("cpu", "memory_mib", "workspace_mib", "nproc", "nofile", "fsize_mib"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"SandboxLimits.{name} must be a positive int, got {value!r}")
        if not self.timeout_s > 0:
            raise ValueError(f"SandboxLimits.timeout_s must be positive, got {self.timeout_s!r}")


@dataclass
class SandboxStats:
    exit_code: int | None
    boot_ms: int | None  # spawn -> first line ({"type":"ready"}) read from stdout
    peak_memory_bytes: int | None
    cpu_time_ms: int | None
    # The memory limit killed something (or the runtime died of MemoryError): decided once,
    # by running.oom_decision(); a run that ends with it set fails as out of memory.
    oom_killed: bool
    timed_out: bool


RlimitPlan = list[tuple[int, int]]


# Every sandbox process on the host together, when cgroups bound each sandbox's own count.
UID_NPROC_CEILING = 4096


def _capped(resource_id: int, value: int) -> int:
    """Never ask for more than the current hard limit (only root may raise it)."""
    _soft, hard = resource.getrlimit(resource_id)
    return value if hard == resource.RLIM_INFINITY else min(value, hard)


def rlimit_plan(
    limits: SandboxLimits, *, address_space: bool, cpu_time_s: int | None = None
) -> RlimitPlan:
    # RLIMIT_NPROC counts every process of the real uid on the host, and every sandbox runs as
    # the same uid: a per-sandbox figure there would make busy hosts refuse new sandboxes
    # ("Creating new namespace failed"). With a cgroup, pids.max is the per-sandbox limit and
    # NPROC only caps the uid as a whole; without one it is the only fork-bomb brake we have.
    nproc = max(limits.nproc, UID_NPROC_CEILING) if not address_space else limits.nproc
    plan = [
        (resource.RLIMIT_NPROC, nproc),
        (resource.RLIMIT_NOFILE, limits.nofile),
        (resource.RLIMIT_FSIZE, limits.fsize_mib * MIB),
        (resource.RLIMIT_CORE, 0),
    ]
    if address_space:
        plan.append((resource.RLIMIT_AS, (limits.memory_mib + AS_HEADROOM_MIB) * MIB))
    if cpu_time_s is not None:
        plan.append((resource.RLIMIT_CPU, cpu_time_s))
    return [(rid, _capped(rid, value)) for rid, value in plan]


def limit_pair(resource_id: int, value: int) -> tuple[int, int]:
    """(soft, hard). CPU: SIGXCPU at the limit, SIGKILL a second later, so a child killed by
    the CPU limit can be told from one killed for memory (SIGKILL at once if soft == hard)."""
    if resource_id == resource.RLIMIT_CPU:
        _soft, hard = resource.getrlimit(resource_id)
        return value, value + 1 if hard == resource.RLIM_INFINITY else min(value + 1, hard)
    return value, value


def describe_rlimits(plan: RlimitPlan) -> str:
    names = {
        resource.RLIMIT_NPROC: "NPROC",
        resource.RLIMIT_NOFILE: "NOFILE",
        resource.RLIMIT_FSIZE: "FSIZE",
        resource.RLIMIT_CORE: "CORE",
        resource.RLIMIT_AS: "AS",
        resource.RLIMIT_CPU: "CPU",
    }
    parts = []
    for rid, value in plan:
        shown: object = value
        if rid in (resource.RLIMIT_FSIZE, resource.RLIMIT_AS):
            shown = f"{value >> 20} MiB"
        elif rid == resource.RLIMIT_CPU:
            shown = f"{value}s"
        parts.append(f"{names.get(rid, rid)}={shown}")
    return "rlimits " + " ".join(parts)


_cpu_rotation = itertools.count()


def pick_cpus(cores: int) -> set[int]:
    """`cores` CPUs out of the ones we may use, rotating so sandboxes spread over the host."""
    available = sorted(os.sched_getaffinity(0))
    n = max(1, min(cores, len(available)))
    start = next(_cpu_rotation) % len(available)
    return {available[(start + i) % len(available)] for i in range(n)}


def make_preexec(
    join_fds: list[int],
    plan: RlimitPlan,
    cpus: set[int],
    then: Callable[[], None] | None = None,
) -> Callable[[], None]:
    """The child-side setup, run between fork and exec.

    Kept to a handful of plain syscalls (fork-safe even in a threaded host): join the cgroup
    first so everything the sandbox ever spawns is accounted, then limits, then affinity, then
    `then` (staging and the privilege drop, which must come last: only root may do the rest).
    Writing "0" to cgroup.procs moves the writing process itself (v1 and v2).
    """

    def preexec() -> None:
        for fd in join_fds:
            os.write(fd, b"0")
        for rid, value in plan:
            resource.setrlimit(rid, limit_pair(rid, value))
        if cpus:
            os.sched_setaffinity(0, cpus)
        if then is not None:
            then()

    return preexec
