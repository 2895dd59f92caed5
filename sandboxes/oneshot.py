"""One-shot bounded Python children: the process-level implementation (rlimits, no namespaces)."""

from __future__ import annotations

import contextlib
import importlib.util
import os
import resource
import signal
import subprocess
import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from sandboxes.providers import SandboxStartError

STDERR_TAIL = 8192
_MEMORY_MARKERS = ("MemoryError", "Cannot allocate memory", "Memory allocation failed")


@dataclass(frozen=True)
class OneShotResult:
    exit_code: int | None  # None if killed before exit
    stdout: bytes  # capped at stdout_cap bytes (excess discarded)
    stdout_truncated: bool
    stderr: str  # capped tail, for error messages
    timed_out: bool  # wall clock or CPU time limit hit
    oom_killed: bool  # memory limit hit
    peak_memory_bytes: int | None
    notes: list[str] = field(default_factory=list)


def _import_root(module: str) -> str:
    spec = importlib.util.find_spec(module.split(".", 1)[0])
    if spec is None or not spec.submodule_search_locations:
        raise SandboxStartError(f"no package for module {module!r}")
    return str(Path(next(iter(spec.submodule_search_locations))).parent)


def _limits(memory_mib: int, cpu_time_s: int) -> None:  # runs in the child, before exec
    os.setsid()
    memory = memory_mib * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_time_s, cpu_time_s + 1))
    resource.setrlimit(resource.RLIMIT_NPROC, (0, 0))  # no forks or threads (root ignores it)
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _feed(pipe: IO[bytes], data: bytes) -> None:
    with contextlib.suppress(OSError):
        pipe.write(data)
    with contextlib.suppress(OSError):
        pipe.close()


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
    """Run `python -m module args` with `stdin`, bounded in memory, CPU time and wall clock."""
    root = _import_root(module)
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": root, "LANG": "C.UTF-8"}
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", module, *args],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            cwd=root, env=env, close_fds=True,
            preexec_fn=lambda: _limits(memory_mib, cpu_time_s),
        )  # fmt: skip
    except OSError as exc:
        raise SandboxStartError(f"could not start {module}: {exc}") from exc
    assert proc.stdin and proc.stdout and proc.stderr
    killed = threading.Event()

    def kill() -> None:
        killed.set()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)

    timer = threading.Timer(timeout_s, kill)
    timer.start()
    errors = bytearray()

    def drain_stderr() -> None:
        while piece := proc.stderr.read(65536):  # type: ignore[union-attr]
            errors.extend(piece)
            del errors[:-STDERR_TAIL]

    threads = [
        threading.Thread(target=_feed, args=(proc.stdin, stdin), daemon=True),
        threading.Thread(target=drain_stderr, daemon=True),
    ]
    for thread in threads:
        thread.start()
    out, truncated = bytearray(), False
    while piece := proc.stdout.read(65536):
        room = stdout_cap - len(out)
        truncated = truncated or len(piece) > room
        out.extend(piece[: max(room, 0)])
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    timer.cancel()
    for thread in threads:
        thread.join(timeout=5)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)  # anything it left behind
    for pipe in (proc.stdout, proc.stderr):
        pipe.close()
    stderr = errors.decode("utf-8", "replace")
    signalled = os.WIFSIGNALED(status)
    sig = os.WTERMSIG(status) if signalled else None
    cpu_used = usage.ru_utime + usage.ru_stime
    timed_out = killed.is_set() or sig == signal.SIGXCPU or cpu_used >= cpu_time_s
    failed = signalled or os.WEXITSTATUS(status) != 0
    oom = failed and not timed_out and any(m in stderr[-2048:] for m in _MEMORY_MARKERS)
    notes = [f"process provider: rlimits only (asked for {provider!r})"]
    if killed.is_set():
        notes.append(f"killed after the wall-clock limit of {timeout_s:g} s")
    return OneShotResult(
        exit_code=None if signalled else os.WEXITSTATUS(status),
        stdout=bytes(out),
        stdout_truncated=truncated,
        stderr=stderr,
        timed_out=timed_out,
        oom_killed=oom,
        peak_memory_bytes=usage.ru_maxrss * 1024,
        notes=notes,
    )
