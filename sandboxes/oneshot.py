"""Run one Python module in a sandbox, bytes in and bytes out (plain Python, no Django).

For work on untrusted input that needs the project's Python environment (document parsing):
the module runs as ``python -m module`` as the unprivileged sandbox user, with the host's
interpreter, its standard library, the virtualenv's site-packages and the project's own packages
importable read-only, no network, an empty environment but for what Python needs, the sandbox
seccomp filter (bwrap), a small private /tmp, a memory limit (cgroup, else RLIMIT_AS), RLIMIT_CPU,
a small RLIMIT_NPROC, RLIMIT_FSIZE and a wall clock that kills the whole tree.

    result = run_python("vaults.parsers.worker", stdin=document_bytes, memory_mib=512)

Never raises for a misbehaving child; SandboxStartError when it cannot start at all.
"""

from __future__ import annotations

import contextlib
import os
import re
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial

from sandboxes import cgroups, factory, isolation
from sandboxes.backend import Layout, fill_fds, make_cgroup, open_layout_files
from sandboxes.base import PROJECT_ROOT, CappedLog, SandboxStartError
from sandboxes.bwrap import BwrapSandbox, bwrap_info, python_binds
from sandboxes.limits import (
    SandboxLimits,
    describe_rlimits,
    make_preexec,
    pick_cpus,
    rlimit_plan,
)
from sandboxes.process import staged_interpreter
from sandboxes.spawning import signal_group, spawn

__all__ = ["OneShotResult", "SandboxStartError", "run_python"]

SANDBOX_SRC = "/opt/agentexec-src"
TMP_MIB = 64
NPROC = 16  # a parser needs a thread or two, not a process tree
FSIZE_MIB = 64
STDERR_CAP = 16 * 1024
KILL_WAIT_S = 5.0
_MODULE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")


@dataclass(frozen=True)
class OneShotResult:
    exit_code: int | None  # None if killed before exit
    stdout: bytes  # capped at stdout_cap bytes (excess discarded, see truncated)
    stdout_truncated: bool
    stderr: str  # capped tail, for error messages
    timed_out: bool  # wall clock or CPU time limit hit
    oom_killed: bool  # memory limit hit (cgroup OOM, or MemoryError/RLIMIT_AS)
    peak_memory_bytes: int | None
    notes: list[str]  # runner notes (provider, uid, limits, seccomp)


def run_python(
    module: str,
    *,
    args: Sequence[str] = (),
    stdin: bytes = b"",
    memory_mib: int = 512,
    cpu_time_s: int = 120,
    timeout_s: float = 120.0,
    stdout_cap: int = 64 * 1024 * 1024,
    provider: str = "auto",
) -> OneShotResult:
    if not _MODULE.match(module):
        raise ValueError(f"not a module name: {module!r}")
    if any(not isinstance(a, str) or "\x00" in a for a in args):
        raise ValueError("args must be strings without NUL bytes")
    if cpu_time_s < 1 or stdout_cap < 0:
        raise ValueError("cpu_time_s must be >= 1 and stdout_cap >= 0")
    limits = SandboxLimits(
        memory_mib=memory_mib, timeout_s=timeout_s, nproc=NPROC, fsize_mib=FSIZE_MIB
    )
    user = isolation.sandbox_user()
    name = factory.resolve(provider)
    if name not in _LAYOUTS:
        raise ValueError(f"one-shot runs need a local provider, not {name!r}")
    layout = _LAYOUTS[name](module, list(args), user, limits)
    return _Run(layout, limits, cpu_time_s, stdout_cap).run(stdin)


def _project_packages() -> list[str]:
    """The project's top-level packages (directories with an __init__.py)."""
    return sorted(
        entry.name
        for entry in PROJECT_ROOT.iterdir()
        if entry.is_dir() and (entry / "__init__.py").is_file()
    )


def _env(pythonpath: str) -> dict[str, str]:
    return {
        "PATH": "/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "HOME": "/tmp",
        "TMPDIR": "/tmp",
        "PYTHONPATH": pythonpath,
    }


def _bwrap_layout(
    module: str, args: list[str], user: isolation.SandboxUser, limits: SandboxLimits
) -> Layout:
    info = bwrap_info(user)
    if info is None:
        raise SandboxStartError("bwrap is not available (not installed or namespaces denied)")
    # The venv (if any) and the base interpreter, at their own paths: the venv's python and
    # pyvenv.cfg point at them.
    binds = python_binds()
    venv = os.path.realpath(sys.prefix)
    if venv != os.path.realpath(sys.base_prefix):
        binds.append((venv, venv))
    for name in _project_packages():
        binds.append((str(PROJECT_ROOT / name), f"{SANDBOX_SRC}/{name}"))
    stage = isolation.new_stage(user)
    sandbox = BwrapSandbox(info, user, stage, binds)
    argv = sandbox.argv(
        tmpfs=[("/tmp", TMP_MIB)],
        cwd="/tmp",
        env=_env(SANDBOX_SRC),
        command=[sys.executable, "-s", "-B", "-m", module, *args],
    )
    notes = [f"{info.version}: one-shot, no network, read-only system", *sandbox.notes()]
    return Layout(
        argv, "/", {"PATH": "/usr/bin:/bin"}, None, notes, user, stage, sandbox.open_files
    )


def _process_layout(
    module: str, args: list[str], user: isolation.SandboxUser, limits: SandboxLimits
) -> Layout:
    stage = isolation.new_stage(user)
    exe, _prefix = staged_interpreter(stage)
    import site  # the venv's site-packages, importable without running site's .pth logic

    paths = [str(PROJECT_ROOT)]
    if stage.active:
        # Package by package, as bwrap binds them: the checkout's own directory may be closed
        # to the sandbox user (a `mktemp -d` clone is 0700), its package directories are not.
        for name in _project_packages():
            stage.path(str(PROJECT_ROOT / name), f"src/{name}")
        paths = [f"{stage.root}/src"]
    for i, path in enumerate(site.getsitepackages([sys.prefix])):
        if os.path.isdir(path):
            paths.append(stage.path(path, f"site/{i}"))
    notes = [
        "WARNING: process provider: no namespaces, the module shares the host's network and "
        "filesystem; NO SECCOMP FILTER",
        f"sandbox {user.describe()}",
    ]
    argv = [exe, "-s", "-B", "-m", module, *args]
    return Layout(argv, "/", _env(":".join(paths)), None, notes, user, stage)


_LAYOUTS = {"bwrap": _bwrap_layout, "process": _process_layout}


class _Run:
    def __init__(self, layout: Layout, limits: SandboxLimits, cpu_s: int, cap: int) -> None:
        self.layout = layout
        self.limits = limits
        self.cpu_s = cpu_s
        self.cap = cap
        self.notes = list(layout.notes)
        self.stdout = bytearray()
        self.truncated = False
        self.stderr = CappedLog(STDERR_CAP)
        self.killed = False

    def run(self, stdin: bytes) -> OneShotResult:
        cgroup = make_cgroup(cgroups.sandbox_cgroup_name("oneshot"), self.limits, self.notes)
        try:
            popen = self._spawn(cgroup)
            return self._supervise(popen, cgroup, stdin)
        finally:
            if cgroup is not None:
                cgroup.remove(timeout=2.0)

    def _spawn(self, cgroup: cgroups.SandboxCgroup | None) -> subprocess.Popen[bytes]:
        plan = rlimit_plan(self.limits, address_space=cgroup is None, cpu_time_s=self.cpu_s)
        cpus = pick_cpus(self.limits.cpu)
        join_fds: list[int] = []
        fds: list[int] = []
        try:
            join_fds = cgroup.join_fds() if cgroup is not None else []
            fds = open_layout_files(self.layout.open_files)
            preexec = make_preexec(join_fds, plan, cpus, then=self.layout.isolate)
            job = partial(
                subprocess.Popen,
                fill_fds(self.layout.argv, fds),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                cwd=self.layout.cwd,
                env=self.layout.env,
                close_fds=True,
                pass_fds=fds,
                start_new_session=True,
                preexec_fn=preexec,
            )
            popen: subprocess.Popen[bytes] = spawn(job)  # type: ignore[arg-type]
        except (OSError, subprocess.SubprocessError) as exc:
            raise SandboxStartError(f"cannot start the one-shot sandbox: {exc}") from exc
        finally:
            for fd in (*join_fds, *fds):
                os.close(fd)
        self.notes.append(describe_rlimits(plan))
        return popen

    def _supervise(
        self, popen: subprocess.Popen[bytes], cgroup: cgroups.SandboxCgroup | None, stdin: bytes
    ) -> OneShotResult:
        threads = [
            threading.Thread(target=self._feed, args=(popen, stdin), daemon=True),
            threading.Thread(target=self._read_stdout, args=(popen,), daemon=True),
            threading.Thread(target=self._read_stderr, args=(popen,), daemon=True),
        ]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + self.limits.timeout_s
        status, rusage = _wait(popen.pid, deadline)
        timed_out = status is None
        if timed_out:
            self.notes.append(f"wall-clock timeout ({self.limits.timeout_s:g}s): killed")
        # Whatever the leader left behind goes too (bwrap's namespace dies with it anyway).
        self._kill(popen.pid, cgroup)
        if status is None:
            status, rusage = _wait(popen.pid, time.monotonic() + KILL_WAIT_S)
        popen.returncode = _returncode(status) if status is not None else -signal.SIGKILL
        for thread in threads:
            thread.join(KILL_WAIT_S)
        for stream in (popen.stdin, popen.stdout, popen.stderr):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()
        return self._result(popen.returncode, timed_out, rusage, cgroup)

    def _result(
        self, code: int, timed_out: bool, rusage: object, cg: cgroups.SandboxCgroup | None
    ) -> OneShotResult:
        stats = cg.stats() if cg is not None else None
        stderr = self.stderr.text()
        signo = -code if code < 0 else code - 128 if code > 128 else 0  # bwrap: 128 + signal
        cpu_ms = stats.cpu_time_ms if stats is not None else None
        if signo == signal.SIGXCPU or (
            signo == signal.SIGKILL and (cpu_ms or 0) >= self.cpu_s * 1000
        ):
            timed_out = True
            self.notes.append(f"CPU time limit ({self.cpu_s}s) reached")
        oom = bool(stats and stats.oom_kills) or _memory_error(stderr)
        if stats is not None and stats.oom_kills is None and stats.memory_failcnt:
            oom = oom or signo == signal.SIGKILL
        peak = stats.peak_memory_bytes if stats is not None else None
        if peak is None and rusage is not None:
            peak = getattr(rusage, "ru_maxrss", 0) * 1024 or None
        return OneShotResult(
            exit_code=None if code < 0 or timed_out or (oom and signo) else code,
            stdout=bytes(self.stdout),
            stdout_truncated=self.truncated,
            stderr=stderr,
            timed_out=timed_out,
            oom_killed=oom,
            peak_memory_bytes=peak,
            notes=self.notes,
        )

    def _kill(self, pid: int, cgroup: cgroups.SandboxCgroup | None) -> None:
        if cgroup is not None:
            cgroup.kill()
        signal_group(pid, sweep_session=cgroup is None)

    def _feed(self, popen: subprocess.Popen[bytes], data: bytes) -> None:
        assert popen.stdin is not None
        fd = popen.stdin.fileno()
        view = memoryview(data)
        try:
            while view:
                view = view[os.write(fd, view[: 1 << 20]) :]
        except OSError:
            pass  # the child stopped reading (exited or closed stdin): not our failure
        with contextlib.suppress(OSError):
            popen.stdin.close()

    def _read_stdout(self, popen: subprocess.Popen[bytes]) -> None:
        assert popen.stdout is not None
        fd = popen.stdout.fileno()
        with contextlib.suppress(OSError):
            while chunk := os.read(fd, 1 << 20):
                room = self.cap - len(self.stdout)
                if len(chunk) > room:
                    self.truncated = True
                    chunk = chunk[: max(room, 0)]
                self.stdout += chunk

    def _read_stderr(self, popen: subprocess.Popen[bytes]) -> None:
        assert popen.stderr is not None
        fd = popen.stderr.fileno()
        with contextlib.suppress(OSError):
            while chunk := os.read(fd, 65536):
                self.stderr.add(chunk)


def _wait(pid: int, deadline: float) -> tuple[int | None, object]:
    """Reap `pid` by `deadline`: (wait status, rusage), or (None, None) if it is still running."""
    try:
        pidfd = os.pidfd_open(pid)
    except OSError:
        pidfd = None
    try:
        while True:
            done, status, rusage = os.wait4(pid, os.WNOHANG)
            if done:
                return status, rusage
            left = deadline - time.monotonic()
            if left <= 0:
                return None, None
            if pidfd is not None:
                poller = select.poll()
                poller.register(pidfd, select.POLLIN)
                poller.poll(min(left, 1.0) * 1000)
            else:
                time.sleep(min(left, 0.01))
    except ChildProcessError:
        return 0, None
    finally:
        if pidfd is not None:
            os.close(pidfd)


def _returncode(status: int) -> int:
    return -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)


def _memory_error(stderr: str) -> bool:
    """The RLIMIT_AS fallback: Python reports the failed allocation itself."""
    return "MemoryError" in stderr[-4096:]
