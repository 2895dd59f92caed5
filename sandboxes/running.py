"""The running sandbox: JSON lines in and out, capped logs, kill, reap, stats. Plain Python.

A backend (``sandboxes.bwrap``, ``sandboxes.process``) spawns the leader and hands it over as a
``Launch``; ``SandboxProcess`` reads its stdout and stderr on two threads, enforces the
wall-clock deadline (``recv``/``send`` never block past it, and a watchdog kills shortly after
it), and on close() decides once whether the memory limit killed something
(``SandboxStats.oom_killed``, see ``oom_decision``).
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import select
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from sandboxes import cgroups
from sandboxes.base import (
    DEFAULT_MAX_LINE_BYTES,
    DEFAULT_STDERR_CAP,
    CappedLog,
    ProtocolError,
    WallClockTimeout,
    poll_fd,
)
from sandboxes.limits import SandboxLimits, SandboxStats
from sandboxes.spawning import cleanup_later, remove_cgroup, signal_group

# The watchdog kills a sandbox this long after its deadline if the caller has not.
WATCHDOG_GRACE_S = 2.0
BAD_LINE_NOTE_CHARS = 300


@dataclass
class Launch:
    """Everything a backend hands to SandboxProcess."""

    runtime_id: str
    popen: subprocess.Popen[bytes]
    spawned_at: float
    limits: SandboxLimits
    notes: list[str]
    cgroup: cgroups.SandboxCgroup | None
    cleanup: Callable[[], None] | None
    sweep_session: bool
    stderr_cap: int = DEFAULT_STDERR_CAP
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES


@dataclass
class _Line:
    at: float  # time.monotonic() when the line was read
    data: bytes | None  # None: EOF
    overlong: int = 0  # bytes of a line that exceeded the cap (data is then empty)


# -- the running sandbox -----------------------------------------------------------------------


class SandboxProcess:
    """A running sandbox: JSON lines in and out, kill, reap, stats. Thread-safe where noted."""

    def __init__(self, launch: Launch) -> None:
        self.runtime_id = launch.runtime_id
        self.pid = launch.popen.pid
        self.notes = launch.notes
        self._launch = launch
        self._popen = launch.popen
        self._cgroup = launch.cgroup
        self._deadline = launch.spawned_at + launch.limits.timeout_s
        self._lines: queue.SimpleQueue[_Line] = queue.SimpleQueue()
        self._stderr = CappedLog(launch.stderr_cap)
        self._reap_lock = threading.Lock()
        self._send_lock = threading.Lock()
        self._close_lock = threading.Lock()
        self._returncode: int | None = None
        self._rusage: Any = None
        self._first_line_at: float | None = None
        self._eof = False
        self._killed = False
        self._timed_out = False
        self._runtime_oom = False
        self._suspected_oom = False
        self._stats: SandboxStats | None = None
        self._pidfd = self._open_pidfd()
        assert self._popen.stdin is not None
        self._stdin_fd = self._popen.stdin.fileno()
        os.set_blocking(self._stdin_fd, False)  # send() polls for room, up to the deadline
        self._threads = [
            threading.Thread(target=self._read_stdout, name=f"sbx-out-{self.pid}", daemon=True),
            threading.Thread(target=self._read_stderr, name=f"sbx-err-{self.pid}", daemon=True),
        ]
        for thread in self._threads:
            thread.start()
        wait = max(0.0, self._deadline - time.monotonic()) + WATCHDOG_GRACE_S
        self._watchdog = threading.Timer(wait, self._on_watchdog)
        self._watchdog.daemon = True
        self._watchdog.start()

    # -- public API ----------------------------------------------------------------------------

    @property
    def deadline(self) -> float:
        return self._deadline

    @property
    def boot_ms(self) -> int | None:
        """Spawn -> first stdout line, once it has been read."""
        if self._first_line_at is None:
            return None
        return int((self._first_line_at - self._launch.spawned_at) * 1000)

    def send(self, obj: dict[str, Any]) -> None:
        """Write one JSON line to the runtime's stdin. Raises BrokenPipeError if it is gone."""
        data = (json.dumps(obj, ensure_ascii=True, separators=(",", ":")) + "\n").encode()
        with self._send_lock:
            if self._stats is not None:
                raise BrokenPipeError("the sandbox is closed")
            view = memoryview(data)
            while view:
                remaining = self._deadline - time.monotonic()
                if remaining <= 0:
                    self._timed_out = True
                    raise WallClockTimeout(self._timeout_text())
                if poll_fd(self._stdin_fd, select.POLLOUT, remaining):
                    with contextlib.suppress(BlockingIOError):
                        view = view[os.write(self._stdin_fd, view) :]

    def recv(self, timeout: float) -> dict[str, Any] | None:
        """The next JSON object from stdout; None on EOF.

        TimeoutError if nothing arrives within `timeout` (WallClockTimeout when the sandbox's
        deadline is what stopped us); ProtocolError for a line that is not a JSON object.
        """
        if self._eof:
            return None
        wait = min(timeout, self._deadline - time.monotonic())
        try:
            line = self._lines.get(timeout=max(0.0, wait))
        except queue.Empty:
            if time.monotonic() >= self._deadline:
                self._timed_out = True
                raise WallClockTimeout(self._timeout_text()) from None
            raise TimeoutError(f"no message from the sandbox within {timeout:g}s") from None
        if line.at > self._deadline:  # arrived too late: the wall clock is over
            self._timed_out = True
            raise WallClockTimeout(self._timeout_text())
        return self._decode(line)

    def kill(self) -> None:
        """SIGKILL everything in the sandbox. Idempotent; safe from any thread."""
        self._killed = True
        if time.monotonic() >= self._deadline and self._returncode is None:
            self._timed_out = True
        if self._cgroup is not None:
            self._cgroup.kill()
        with self._reap_lock:
            if self._returncode is None:  # not reaped: the pid cannot have been reused
                signal_group(self.pid, sweep_session=self._launch.sweep_session)

    def wait(self, timeout: float) -> int | None:
        """The leader's exit code (negative: killed by that signal), or None if still running."""
        if self._returncode is not None:
            return self._returncode
        if not self._wait_exit(timeout):
            return None
        with self._reap_lock:
            if self._returncode is None:
                if self._launch.sweep_session:  # leftovers first, while the ids are reserved
                    signal_group(self.pid, sweep_session=True)
                _pid, status, self._rusage = os.wait4(self.pid, 0)
                self._returncode = os.waitstatus_to_exitcode(status)
                self._popen.returncode = self._returncode  # Popen must not reap it again
        return self._returncode

    def close(self) -> SandboxStats:
        """Kill if alive, reap, collect stats, remove the cgroup and temp dirs. Idempotent."""
        with self._close_lock:
            if self._stats is not None:
                return self._stats
            self._watchdog.cancel()
            self.kill()  # also when the leader exited: daemonised leftovers die with the cgroup
            if self.wait(10.0) is None:
                self.notes.append("WARNING: sandbox leader did not exit after SIGKILL")
            for thread in self._threads:
                thread.join(timeout=2.0)
            self._stats = self._collect_stats()
            self._release()
            return self._stats

    def stderr_text(self) -> str:
        return self._stderr.text()

    # -- internals -----------------------------------------------------------------------------

    def _timeout_text(self) -> str:
        return f"sandbox wall-clock timeout ({self._launch.limits.timeout_s:g}s) reached"

    def _decode(self, line: _Line) -> dict[str, Any] | None:
        if line.data is None:
            self._eof = True
            return None
        if line.overlong:
            self.notes.append(f"protocol error: runtime line of {line.overlong} bytes dropped")
            raise ProtocolError(f"runtime wrote a line over {self._launch.max_line_bytes} bytes")
        try:
            obj = json.loads(line.data)
        except ValueError:
            obj = None
        if not isinstance(obj, dict):
            shown = line.data[:BAD_LINE_NOTE_CHARS].decode("utf-8", "replace").rstrip("\n")
            self.notes.append(f"protocol error: bad line from runtime: {shown!r}")
            raise ProtocolError(f"runtime wrote a line that is not a JSON object: {shown[:80]!r}")
        self._watch(obj)
        return obj

    def _watch(self, obj: dict[str, Any]) -> None:
        """Note what the runtime says about memory, for oom_decision() at close()."""
        kind = obj.get("type")
        error = obj.get("error")
        if kind == "fatal" and isinstance(error, str) and error.startswith("out of memory"):
            self._runtime_oom = True
        elif kind == "tool_done" and obj.get("suspectedOom") is True:
            self._suspected_oom = True

    def _read_stdout(self) -> None:
        stream = self._popen.stdout
        assert stream is not None
        cap = self._launch.max_line_bytes
        try:
            while line := stream.readline(cap + 1):
                if len(line) > cap and not line.endswith(b"\n"):
                    self._lines.put(_Line(time.monotonic(), b"", overlong=_skip_line(stream, line)))
                    continue
                now = time.monotonic()
                if self._first_line_at is None:
                    self._first_line_at = now
                self._lines.put(_Line(now, line))
        except (OSError, ValueError):
            pass  # closed under us by close()
        self._lines.put(_Line(time.monotonic(), None))

    def _read_stderr(self) -> None:
        assert self._popen.stderr is not None
        fd = self._popen.stderr.fileno()
        try:
            while chunk := os.read(fd, 65536):
                self._stderr.add(chunk)
        except OSError:
            pass

    def _on_watchdog(self) -> None:
        if self._returncode is None and self._stats is None:
            self._timed_out = True
            self.notes.append("wall-clock timeout: killed by the provider watchdog")
            self.kill()

    def _open_pidfd(self) -> int | None:
        try:
            return os.pidfd_open(self.pid)
        except (AttributeError, OSError):
            return None

    def _wait_exit(self, timeout: float) -> bool:
        """Wait for the leader to exit without reaping it."""
        if self._pidfd is not None:
            return poll_fd(self._pidfd, select.POLLIN, timeout)
        end = time.monotonic() + timeout
        flags = os.WEXITED | os.WNOHANG | os.WNOWAIT
        while os.waitid(os.P_PID, self.pid, flags) is None:
            if time.monotonic() >= end:
                return False
            time.sleep(0.005)
        return True

    def _collect_stats(self) -> SandboxStats:
        cg = self._cgroup.stats() if self._cgroup is not None else None
        peak = cg.peak_memory_bytes if cg else None
        cpu = cg.cpu_time_ms if cg else None
        if self._rusage is not None:  # the leader's own (and reaped descendants') usage
            peak = peak if peak is not None else self._rusage.ru_maxrss * 1024
            used = self._rusage.ru_utime + self._rusage.ru_stime
            cpu = cpu if cpu is not None else int(used * 1000)
        return SandboxStats(
            exit_code=self._returncode,
            boot_ms=self.boot_ms,
            peak_memory_bytes=peak,
            cpu_time_ms=cpu,
            oom_killed=oom_decision(
                cg,
                runtime_oom=self._runtime_oom,
                suspected_oom=self._suspected_oom,
                killed_by_us=self._killed,
                exit_code=self._returncode,
            ),
            timed_out=self._timed_out,
        )

    def _release(self) -> None:
        stdout_reader, stderr_reader = self._threads
        streams = [self._popen.stdin]
        # A reader still blocked (a process outside our reach holds the pipe) owns its stream's
        # lock: closing it would hang close(), so leak that fd instead.
        for thread, stream in (
            (stdout_reader, self._popen.stdout),
            (stderr_reader, self._popen.stderr),
        ):
            if thread.is_alive():
                self.notes.append(f"WARNING: {thread.name} still blocked after close")
            else:
                streams.append(stream)
        with self._send_lock:  # no send() may write to a closed (maybe reused) fd number
            for stream in streams:
                if stream is not None:
                    with contextlib.suppress(OSError):
                        stream.close()
        if self._pidfd is not None:
            os.close(self._pidfd)
            self._pidfd = None
        # The kernel takes milliseconds to remove a cgroup: do it (and the temp dirs) off the
        # caller's path, which is the run's response time.
        if self._cgroup is not None:
            cleanup_later(partial(remove_cgroup, self._cgroup))
        if self._launch.cleanup is not None:
            cleanup_later(self._launch.cleanup)


def oom_decision(
    cg: cgroups.CgroupStats | None,
    *,
    runtime_oom: bool,
    suspected_oom: bool,
    killed_by_us: bool,
    exit_code: int | None,
) -> bool:
    """Did the memory limit kill something in the sandbox? The one place this is decided.

    `runtime_oom`: the runtime itself died of MemoryError (its "fatal" line says so);
    `suspected_oom`: a tool it ran was SIGKILLed or failed to allocate ("suspectedOom").
    The cgroup's OOM-kill counter, when the kernel has one, outranks the runtime's suspicion:
    a SIGKILL it did not count came from elsewhere.
    """
    if runtime_oom:
        return True
    if cg is None:
        return suspected_oom  # rlimit fallback: the runtime's own diagnosis
    if cg.oom_kills is not None:
        return cg.oom_kills > 0
    # Old v1 kernels without an oom_kill counter: hitting the limit and a SIGKILL'd process.
    sigkilled = suspected_oom or (
        not killed_by_us and exit_code in (-signal.SIGKILL, 128 + signal.SIGKILL)
    )
    return bool(cg.memory_failcnt) and sigkilled


def _skip_line(stream: Any, first: bytes) -> int:
    """Discard the rest of an over-long line; returns its total size."""
    size = len(first)
    while chunk := stream.readline(65536):
        size += len(chunk)
        if chunk.endswith(b"\n"):
            break
    return size
