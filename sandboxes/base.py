"""What every sandbox backend shares: errors, constants, small helpers. Plain Python.

The host side of a sandbox is split by role (no module needs Django):

- ``sandboxes.protocol``: ``SandboxProvider``, what every backend offers;
- ``sandboxes.factory``: ``get_provider(name)`` (a name -> backend mapping) and ``prewarm()``;
- ``sandboxes.backend``: how a local backend starts the runtime (cold, or in a standby);
- ``sandboxes.bwrap`` / ``sandboxes.process``: one module per local backend;
- ``sandboxes.running``: the running sandbox (``SandboxProcess``: JSON lines, logs, kill, stats);
- ``sandboxes.spawning``: the thread that forks every sandbox, the cleanup janitor, and killing a
  sandbox from its stored pid alone;
- ``sandboxes.standby``: the pool of pre-spawned processes already inside a fresh cgroup;
- ``sandboxes.cgroups`` / ``sandboxes.cgroup_detect``: per-sandbox cgroups and where they live.

Usage (one thread per sandbox is enough; kill() may come from any thread)::

    proc = get_provider("auto").start(runtime_id=run_id, limits=SandboxLimits(memory_mib=512))
    try:
        ready = proc.recv(timeout=10)            # {"type": "ready", ...}; proc.boot_ms is set
        proc.send(spec)
        while (msg := proc.recv(timeout=proc.deadline - time.monotonic())) is not None:
            ...                                  # answer model/tool requests until result/fatal
    except TimeoutError:                         # WallClockTimeout: the sandbox ran out of time
        proc.kill()
    finally:
        stats = proc.close()                     # exit code, peak memory, cpu, oom, timed out
"""

from __future__ import annotations

import os
import select
import sys
import threading
from pathlib import Path

from sandboxes.limits import MIB

PROJECT_ROOT = Path(__file__).resolve().parent.parent
LINC_MODULE = "agentexec.linc"
LINC_SOURCE = PROJECT_ROOT / "agentexec" / "linc"
# No site, no user site, no bytecode writes. `python -m agentexec.linc` would do the same;
# importing the __main__ module directly skips runpy's module search and saves 4-6 ms of every
# boot (python -S to the "ready" line is ~19 ms here, most of a sandbox's boot).
LINC_ARGS = ("-S", "-s", "-B", "-c", f"import {LINC_MODULE}.__main__")
# Marks our leader's command line; spawning.kill_process_group() refuses pids without it.
CMDLINE_MARKER = LINC_MODULE.encode()
SANDBOX_PYTHONPATH = "/opt/agentexec"
SANDBOX_WORKSPACE = "/workspace"
DEFAULT_STDERR_CAP = 64 * 1024
# Model requests carry the whole conversation, so protocol lines can be large; this only stops
# a runaway runtime from filling the host's memory.
DEFAULT_MAX_LINE_BYTES = 64 * MIB


class SandboxError(RuntimeError):
    """Base class for sandbox failures."""


class SandboxStartError(SandboxError):
    """The sandbox could not be started."""


class ProtocolError(SandboxError):
    """The runtime wrote a stdout line that is not a JSON object."""


class WallClockTimeout(TimeoutError):
    """The sandbox's wall-clock deadline passed (a TimeoutError, as the API promises)."""


def base_interpreter() -> tuple[str, str]:
    """(python executable, prefix) of the real installation, never a venv shim."""
    exe = os.path.realpath(getattr(sys, "_base_executable", None) or sys.executable)
    return exe, os.path.realpath(sys.base_prefix)


def is_under(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


def poll_fd(fd: int, events: int, timeout: float) -> bool:
    """Wait for `events` on `fd` (poll, not select: host fds may be numbered above 1024)."""
    poller = select.poll()
    poller.register(fd, events)
    return bool(poller.poll(max(0.0, timeout) * 1000))


class CappedLog:
    """Keeps the first and last half of `cap` bytes of a stream (a local sandbox's stderr, a
    remote runtime's output); marks what was dropped. Thread-safe."""

    def __init__(self, cap: int) -> None:
        self.head_cap = cap // 2
        self.tail_cap = cap - self.head_cap
        self.head = bytearray()
        self.tail = bytearray()
        self.total = 0
        self.lock = threading.Lock()

    def add(self, chunk: bytes | str) -> None:
        if isinstance(chunk, str):
            chunk = chunk.encode("utf-8", "replace")
        with self.lock:
            self.total += len(chunk)
            room = self.head_cap - len(self.head)
            if room > 0:
                self.head += chunk[:room]
                chunk = chunk[room:]
            self.tail += chunk
            if len(self.tail) > self.tail_cap:
                del self.tail[: len(self.tail) - self.tail_cap]

    def text(self) -> str:
        with self.lock:
            dropped = self.total - len(self.head) - len(self.tail)
            head = self.head.decode("utf-8", "replace")
            tail = self.tail.decode("utf-8", "replace")
        if dropped > 0:
            return f"{head}\n[... truncated {dropped} bytes ...]\n{tail}"
        return head + tail
