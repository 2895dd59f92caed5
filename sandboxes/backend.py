"""The part every local backend (bwrap, process) shares: the layout and starting it.

A backend only says *how* to exec the runtime (``BaseProvider._layout`` returns a ``Layout``:
argv, cwd, environment, user, staged paths, files to open); ``BaseProvider.start`` does the
rest: exec it in a standby that already sits in a cgroup (``sandboxes.standby``), else spawn it
cold into a new cgroup (or under rlimits alone), always on the spawner thread
(``sandboxes.spawning``), and hand the leader to a ``SandboxProcess``.

Limits: memory/cpu/pids via a per-sandbox cgroup (v2 or v1, see ``sandboxes.cgroups``), else
RLIMIT_AS; always RLIMIT_NPROC/NOFILE/FSIZE/CORE and CPU affinity; the wall clock is the
running sandbox's (``sandboxes.running``).
"""

from __future__ import annotations

import contextlib
import marshal
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache, partial
from pathlib import Path

from sandboxes import cgroup_detect, cgroups, isolation, standby
from sandboxes.base import (
    DEFAULT_MAX_LINE_BYTES,
    DEFAULT_STDERR_CAP,
    LINC_SOURCE,
    SandboxStartError,
    base_interpreter,
)
from sandboxes.limits import (
    AS_HEADROOM_MIB,
    MIB,
    SandboxLimits,
    describe_rlimits,
    make_preexec,
    pick_cpus,
    rlimit_plan,
)
from sandboxes.running import Launch, SandboxProcess
from sandboxes.spawning import popen_leader, spawn

# Stands for the number of the i-th fd of Layout.open_files in an argv (NUL: never a real arg).
FD_PLACEHOLDER = "\x00fd"
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# Extras may not steer the interpreter or the runtime itself.
_RESERVED_ENV_PREFIXES = ("PYTHON", "LD_", "LINC_")


def check_env(env: dict[str, str] | None) -> dict[str, str]:
    extras = dict(env or {})
    for key, value in extras.items():
        if not _ENV_NAME.match(key) or key.startswith(_RESERVED_ENV_PREFIXES):
            raise ValueError(f"env name not allowed in a sandbox: {key!r}")
        if not isinstance(value, str) or "\x00" in value:
            raise ValueError(f"env value for {key!r} must be a string without NUL bytes")
    return extras


def base_env(
    *, home: str, pythonpath: str, workspace: str, tmp: str, limits: SandboxLimits
) -> dict[str, str]:
    _exe, prefix = base_interpreter()
    return {
        "PATH": f"{prefix}/bin:/usr/local/bin:/usr/bin:/bin",
        "HOME": home,
        "LANG": "C.UTF-8",
        "PYTHONPATH": pythonpath,
        "LINC_WORKSPACE": workspace,
        "LINC_MEMORY_MIB": str(limits.memory_mib),
        "TMPDIR": tmp,
    }


@dataclass
class Layout:
    """How to exec the runtime: the provider-specific part of start()."""

    argv: list[str]
    cwd: str
    env: dict[str, str]
    cleanup: Callable[[], None] | None = None
    notes: list[str] = field(default_factory=list)
    user: isolation.SandboxUser | None = None  # switch to this user right before exec
    stage: isolation.Stage | None = None  # host paths staged for that user first
    open_files: list[str] = field(default_factory=list)  # opened (as us) for FD_PLACEHOLDERs

    def isolate(self) -> None:
        """Child side, last step before exec: staging, then the privilege drop."""
        if self.stage is not None and self.stage.active:
            isolation.enter_stage(self.stage.root, self.stage.items)
        if self.user is not None and self.user.drop:
            isolation.drop_privileges(self.user.uid, self.user.gid)

    def exec_request(self) -> bytes:
        """What a standby stub needs to do the same (read by standby._STANDBY_STUB)."""
        stage = self.stage if self.stage is not None and self.stage.active else None
        drop = (self.user.uid, self.user.gid) if self.user is not None and self.user.drop else None
        return marshal.dumps(
            (
                self.cwd,
                self.argv,
                self.env,
                self.open_files,
                stage.root if stage else "",
                stage.items if stage else [],
                drop,
            )
        )


def fill_fds(argv: list[str], fds: list[int]) -> list[str]:
    return [
        str(fds[int(arg[len(FD_PLACEHOLDER) :])]) if arg.startswith(FD_PLACEHOLDER) else arg
        for arg in argv
    ]


def open_layout_files(paths: list[str]) -> list[int]:
    fds: list[int] = []
    try:
        for path in paths:
            fds.append(os.open(path, os.O_RDONLY | os.O_CLOEXEC))
    except OSError:
        for fd in fds:
            os.close(fd)
        raise
    return fds


@dataclass
class _Spawned:
    popen: subprocess.Popen[bytes]
    spawned_at: float
    cgroup: cgroups.SandboxCgroup | None


class BaseProvider:
    """A local backend: subclasses say how to exec the runtime (_layout), start() does it."""

    name = "base"
    sweep_session = False

    def __init__(
        self,
        *,
        linc_source: Path | str = LINC_SOURCE,
        use_cgroups: bool = True,
        use_standby: bool = True,
        stderr_cap: int = DEFAULT_STDERR_CAP,
        max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
        uid: int | None = None,
        gid: int | None = None,
    ) -> None:
        self.user = isolation.sandbox_user(uid, gid)
        self.linc_source = Path(linc_source)
        self.use_cgroups = use_cgroups
        self.use_standby = use_standby and use_cgroups
        self.stderr_cap = stderr_cap
        self.max_line_bytes = max_line_bytes

    def start(
        self, *, runtime_id: str, limits: SandboxLimits, env: dict[str, str] | None = None
    ) -> SandboxProcess:
        _precompile(str(self.linc_source))
        layout = self._layout(limits, check_env(env))
        notes = list(layout.notes)
        try:
            spawned = self._start_warm(layout, limits, notes)
            if spawned is None:
                spawned = self._start_cold(runtime_id, layout, limits, notes)
        except BaseException:
            if layout.cleanup is not None:
                layout.cleanup()
            raise
        launch = Launch(
            runtime_id=runtime_id,
            popen=spawned.popen,
            spawned_at=spawned.spawned_at,
            limits=limits,
            notes=notes,
            cgroup=spawned.cgroup,
            cleanup=layout.cleanup,
            sweep_session=self.sweep_session and spawned.cgroup is None,
            stderr_cap=self.stderr_cap,
            max_line_bytes=self.max_line_bytes,
        )
        return SandboxProcess(launch)

    def _layout(self, limits: SandboxLimits, extras: dict[str, str]) -> Layout:
        raise NotImplementedError

    def _start_warm(
        self, layout: Layout, limits: SandboxLimits, notes: list[str]
    ) -> _Spawned | None:
        """Exec the runtime in a standby (cgroup already joined); None when there is none."""
        warm = standby.claim() if self.use_standby else None
        if warm is None:
            return None
        plan = rlimit_plan(limits, address_space=False)
        cpus = pick_cpus(limits.cpu)
        try:
            limit_note = warm.cgroup.apply(cgroup_request(limits))
            warm.prepare(plan, cpus)
        except (OSError, cgroups.CgroupError):
            warm.discard()
            return None
        spawned_at = time.monotonic()
        try:
            warm.exec(layout.exec_request())
        except OSError:  # the stub died since it was pooled: start cold instead
            warm.discard()
            return None
        except BaseException:
            warm.discard()
            raise
        notes += [limit_note, describe_rlimits(plan), _cpu_note(cpus), "started from a standby"]
        return _Spawned(warm.popen, spawned_at, warm.cgroup)

    def _start_cold(
        self, runtime_id: str, layout: Layout, limits: SandboxLimits, notes: list[str]
    ) -> _Spawned:
        name = cgroups.sandbox_cgroup_name(runtime_id)
        cgroup = make_cgroup(name, limits, notes, use_cgroups=self.use_cgroups)
        if self.use_standby and cgroup is not None:
            error = standby.last_error()
            why = f": {error}" if error else ""
            notes.append(f"cold start (no standby ready{why})")
        plan = rlimit_plan(limits, address_space=cgroup is None)
        cpus = pick_cpus(limits.cpu)
        notes += [describe_rlimits(plan), _cpu_note(cpus)]
        join_fds: list[int] = []
        fds: list[int] = []
        try:
            join_fds = cgroup.join_fds() if cgroup is not None else []
            fds = open_layout_files(layout.open_files)
            spawned_at = time.monotonic()
            preexec = make_preexec(join_fds, plan, cpus, then=layout.isolate)
            job = partial(
                popen_leader,
                fill_fds(layout.argv, fds),
                cwd=layout.cwd,
                env=layout.env,
                preexec_fn=preexec,
                pass_fds=fds,
            )
            popen = spawn(job)
        except (OSError, subprocess.SubprocessError) as exc:
            if cgroup is not None:
                cgroup.remove(timeout=0)
            raise SandboxStartError(f"cannot start the {self.name} sandbox: {exc}") from exc
        finally:
            for fd in (*join_fds, *fds):
                os.close(fd)
        if self.use_standby and cgroup is not None:
            standby.refill()  # the next start() can skip the cgroup attach
        return _Spawned(popen, spawned_at, cgroup)


@cache
def _precompile(source: str) -> None:
    """Byte-compile linc next to its sources, once per host process, as importing it would.

    The sandbox runs with -B and a read-only mount, so without this every boot compiles the
    runtime (~10 ms between "ready" and the first model request). Skipped when the host does
    not write bytecode either; harmless when the directory is read-only.
    """
    if sys.dont_write_bytecode:
        return
    import compileall

    with contextlib.suppress(OSError):
        compileall.compile_dir(source, quiet=2, maxlevels=0)


def make_cgroup(
    name: str, limits: SandboxLimits, notes: list[str], *, use_cgroups: bool = True
) -> cgroups.SandboxCgroup | None:
    """A new cgroup with `limits` applied, or None (a note says rlimits stand in for it)."""
    manager, reason = cgroup_detect.detect() if use_cgroups else (None, "cgroups not used")
    if manager is not None:
        try:
            cgroup, limit_note = manager.create_limited(name, cgroup_request(limits))
            notes.append(limit_note)
            return cgroup
        except cgroups.CgroupError as exc:
            reason = str(exc)
    notes.append(
        f"WARNING: memory {limits.memory_mib} MiB via RLIMIT_AS (+{AS_HEADROOM_MIB} MiB "
        f"headroom, per process; no cpu quota or pids limit): {reason}"
    )
    return None


def cgroup_request(limits: SandboxLimits) -> cgroups.CgroupRequest:
    return cgroups.CgroupRequest(limits.memory_mib * MIB, limits.cpu, limits.nproc)


def _cpu_note(cpus: set[int]) -> str:
    return f"cpu affinity {sorted(cpus)} of {os.cpu_count()} cpus"
