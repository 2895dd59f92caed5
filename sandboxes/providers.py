"""Host-side sandbox providers: start the linc runtime in a sandbox and talk JSON lines to it.

Plain Python (no Django), so it is importable and testable without settings.

- ``bwrap``: bubblewrap with every namespace (user, pid, ipc, uts, net, cgroup), a read-only
  system, only the linc package mounted, private size-limited tmpfs /workspace and /tmp.
- ``process``: the same limits without namespaces (development fallback; loudly flagged).

Limits: memory/cpu/pids via a per-sandbox cgroup (v2 or v1, see ``sandboxes.cgroups``), else
RLIMIT_AS; always RLIMIT_NPROC/NOFILE/FSIZE/CORE and CPU affinity; wall clock via ``deadline``
(``recv``/``send`` never block past it) plus a watchdog that kills shortly after it.

Boot time: joining a cgroup costs the kernel an RCU grace period (10-30 ms), so with cgroups a
"standby" (a stub process already inside a fresh cgroup) is kept ready and start() execs the
runtime in it; without one start() spawns directly ("cold"). Every sandbox process is forked
from one long-lived thread, because bwrap's --die-with-parent follows the forking *thread*.

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

import atexit
import contextlib
import json
import logging
import marshal
import os
import queue
import re
import resource
import select
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache, partial
from pathlib import Path
from typing import Any, Protocol, TypeVar

from sandboxes import cgroups, isolation, seccomp
from sandboxes.limits import (
    AS_HEADROOM_MIB,
    MIB,
    SandboxLimits,
    SandboxStats,
    describe_rlimits,
    make_preexec,
    pick_cpus,
    rlimit_plan,
)

__all__ = [
    "BwrapProvider",
    "ProcessProvider",
    "ProtocolError",
    "SandboxError",
    "SandboxLimits",
    "SandboxProcess",
    "SandboxProvider",
    "SandboxStartError",
    "SandboxStats",
    "WallClockTimeout",
    "bwrap_available",
    "get_provider",
    "kill_process_group",
    "prewarm",
]

log = logging.getLogger(__name__)
LINC_MODULE = "agentexec.linc"
# No site, no user site, no bytecode writes. python -S -m costs ~19 ms to the "ready" line
# here, most of a sandbox's boot; "-c import agentexec.linc.__main__" would save ~4-6 ms of
# runpy imports but is not the documented command line.
# `python -m agentexec.linc` would do the same; importing the __main__ module directly skips
# runpy's module search and saves 4-6 ms of every boot.
LINC_ARGS = ("-S", "-s", "-B", "-c", f"import {LINC_MODULE}.__main__")
LINC_SOURCE = Path(__file__).resolve().parent.parent / "agentexec" / "linc"
SANDBOX_PYTHONPATH = "/opt/agentexec"
SANDBOX_WORKSPACE = "/workspace"
DEFAULT_STDERR_CAP = 64 * 1024
# Model requests carry the whole conversation, so protocol lines can be large; this only stops
# a runaway runtime from filling the host's memory.
DEFAULT_MAX_LINE_BYTES = 64 * MIB
# The watchdog kills a sandbox this long after its deadline if the caller has not.
WATCHDOG_GRACE_S = 2.0
BAD_LINE_NOTE_CHARS = 300
# Marks our leader's command line; kill_process_group() refuses pids that do not carry it.
CMDLINE_MARKER = LINC_MODULE.encode()
# The /etc entries a sandbox needs: the dynamic linker cache, users and groups (id, whoami),
# Debian's alternatives symlinks (awk, editor...), localtime and hosts (localhost). The rest of
# /etc stays invisible (shadow, host config, secrets); no TLS roots either: there is no network.
# Each entry is a mount, and mounts are most of bwrap's setup time, so keep this list short.
ETC_ENTRIES = (
    "alternatives",
    "group",
    "hosts",
    "ld.so.cache",
    "localtime",
    "nsswitch.conf",
    "passwd",
)
TOP_LEVEL_SYSTEM = ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
# Stands for the number of the i-th fd of _Layout.open_files in an argv (NUL: never a real arg).
FD_PLACEHOLDER = "\x00fd"
PROJECT_ROOT = Path(__file__).resolve().parent.parent
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# Extras may not steer the interpreter or the runtime itself.
_RESERVED_ENV_PREFIXES = ("PYTHON", "LD_", "LINC_")


class SandboxError(RuntimeError):
    """Base class for sandbox failures."""


class SandboxStartError(SandboxError):
    """The sandbox could not be started."""


class ProtocolError(SandboxError):
    """The runtime wrote a stdout line that is not a JSON object."""


class WallClockTimeout(TimeoutError):
    """The sandbox's wall-clock deadline passed (a TimeoutError, as the API promises)."""


# -- helpers -----------------------------------------------------------------------------------


def base_interpreter() -> tuple[str, str]:
    """(python executable, prefix) of the real installation, never a venv shim."""
    exe = os.path.realpath(getattr(sys, "_base_executable", None) or sys.executable)
    return exe, os.path.realpath(sys.base_prefix)


def _is_under(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


def _check_env(env: dict[str, str] | None) -> dict[str, str]:
    extras = dict(env or {})
    for key, value in extras.items():
        if not _ENV_NAME.match(key) or key.startswith(_RESERVED_ENV_PREFIXES):
            raise ValueError(f"env name not allowed in a sandbox: {key!r}")
        if not isinstance(value, str) or "\x00" in value:
            raise ValueError(f"env value for {key!r} must be a string without NUL bytes")
    return extras


def _base_env(
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


def _proc_stat(pid: int) -> tuple[str, int, int] | None:
    """(state, pgid, sid) of a process, from /proc/<pid>/stat."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            data = fh.read()
    except OSError:
        return None
    fields = data[data.rfind(b")") + 2 :].split()
    return fields[0].decode(), int(fields[2]), int(fields[3])


def _poll(fd: int, events: int, timeout: float) -> bool:
    """Wait for `events` on `fd` (poll, not select: host fds may be numbered above 1024)."""
    poller = select.poll()
    poller.register(fd, events)
    return bool(poller.poll(max(0.0, timeout) * 1000))


def _session_members(sid: int) -> list[int]:
    members = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) != sid:
            stat = _proc_stat(int(entry))
            if stat is not None and stat[2] == sid:
                members.append(int(entry))
    return members


def _signal_group(pid: int, *, sweep_session: bool) -> None:
    """SIGKILL the process group `pid` (and, without cgroup/namespaces, its whole session).

    Only call while `pid` cannot have been reused: before the leader is reaped, or when the
    leader is gone but its group/session may survive (ids stay reserved while in use).
    """
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
    if sweep_session:  # tool commands run in their own process groups, same session
        for member in _session_members(pid):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(member, signal.SIGKILL)


class _CappedLog:
    """Keeps the first and last half of `cap` bytes of a stream; marks what was dropped."""

    def __init__(self, cap: int) -> None:
        self.head_cap = cap // 2
        self.tail_cap = cap - self.head_cap
        self.head = bytearray()
        self.tail = bytearray()
        self.total = 0
        self.lock = threading.Lock()

    def add(self, chunk: bytes) -> None:
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


@dataclass
class _Launch:
    """Everything a provider hands to SandboxProcess."""

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

    def __init__(self, launch: _Launch) -> None:
        self.runtime_id = launch.runtime_id
        self.pid = launch.popen.pid
        self.notes = launch.notes
        self._launch = launch
        self._popen = launch.popen
        self._cgroup = launch.cgroup
        self._deadline = launch.spawned_at + launch.limits.timeout_s
        self._lines: queue.SimpleQueue[_Line] = queue.SimpleQueue()
        self._stderr = _CappedLog(launch.stderr_cap)
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
        os.set_blocking(self._stdin_fd, False)  # send() waits with select, up to the deadline
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
                if _poll(self._stdin_fd, select.POLLOUT, remaining):
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
                _signal_group(self.pid, sweep_session=self._launch.sweep_session)

    def wait(self, timeout: float) -> int | None:
        """The leader's exit code (negative: killed by that signal), or None if still running."""
        if self._returncode is not None:
            return self._returncode
        if not self._wait_exit(timeout):
            return None
        with self._reap_lock:
            if self._returncode is None:
                if self._launch.sweep_session:  # leftovers first, while the ids are reserved
                    _signal_group(self.pid, sweep_session=True)
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
        """Note what the runtime says about memory (the OOM signal when cgroups are absent)."""
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
            return _poll(self._pidfd, select.POLLIN, timeout)
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
            oom_killed=self._oom_killed(cg),
            timed_out=self._timed_out,
        )

    def _oom_killed(self, cg: cgroups.CgroupStats | None) -> bool:
        if self._runtime_oom:
            return True
        if cg is None:
            return self._suspected_oom  # rlimit fallback: the runtime's own diagnosis
        if cg.oom_kills is not None:
            return cg.oom_kills > 0
        # Old v1 kernels without an oom_kill counter: hitting the limit and a SIGKILL'd process.
        sigkilled = self._suspected_oom or (
            not self._killed and self._returncode in (-signal.SIGKILL, 128 + signal.SIGKILL)
        )
        return bool(cg.memory_failcnt) and sigkilled

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
            _janitor(partial(_remove_cgroup, self._cgroup))
        if self._launch.cleanup is not None:
            _janitor(self._launch.cleanup)


_JANITOR_QUEUE: queue.SimpleQueue[Callable[[], object]] = queue.SimpleQueue()
_JANITOR_LOCK = threading.Lock()
_JANITOR_THREAD: threading.Thread | None = None


def _janitor(job: Callable[[], object]) -> None:
    """Runs cleanup jobs in one background thread, in order."""
    global _JANITOR_THREAD
    with _JANITOR_LOCK:
        if _JANITOR_THREAD is None or not _JANITOR_THREAD.is_alive():
            _JANITOR_THREAD = threading.Thread(
                target=_janitor_loop, name="sandbox-janitor", daemon=True
            )
            _JANITOR_THREAD.start()
    _JANITOR_QUEUE.put(job)


def _janitor_loop() -> None:
    while True:
        job = _JANITOR_QUEUE.get()
        try:
            job()
        except Exception:
            log.exception("sandbox cleanup failed")


def _remove_cgroup(cgroup: cgroups.SandboxCgroup) -> None:
    if not cgroup.remove(timeout=2.0):
        log.warning("could not remove cgroup %s", cgroup.dirs)


def _skip_line(stream: Any, first: bytes) -> int:
    """Discard the rest of an over-long line; returns its total size."""
    size = len(first)
    while chunk := stream.readline(65536):
        size += len(chunk)
        if chunk.endswith(b"\n"):
            break
    return size


# -- one long-lived thread spawns every sandbox process ----------------------------------------

_T = TypeVar("_T")


class _SpawnThread:
    """Runs every fork of a sandbox process on one long-lived thread.

    bwrap --die-with-parent uses PR_SET_PDEATHSIG, which fires when the *thread* that forked
    bwrap exits, not the process: a sandbox started from a short-lived thread (a request
    handler, a pool worker, the standby refill) would be SIGKILLed when that thread ends.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.jobs: queue.SimpleQueue[tuple[Callable[[], Any], dict[str, Any], threading.Event]]
        self.jobs = queue.SimpleQueue()
        self.owner_pid: int | None = None

    def run(self, fn: Callable[[], _T]) -> _T:
        self._ensure_thread()
        box: dict[str, Any] = {}
        done = threading.Event()
        self.jobs.put((fn, box, done))
        done.wait()
        if "error" in box:
            raise box["error"]
        return box["result"]  # type: ignore[no-any-return]

    def _ensure_thread(self) -> None:
        with self.lock:
            if self.owner_pid != os.getpid():  # first use, or we are a forked child
                self.jobs = queue.SimpleQueue()
                thread = threading.Thread(target=self._loop, name="sbx-spawner", daemon=True)
                thread.start()
                self.owner_pid = os.getpid()

    def _loop(self) -> None:
        jobs = self.jobs
        while True:
            fn, box, done = jobs.get()
            try:
                box["result"] = fn()
            except BaseException as exc:
                box["error"] = exc
            finally:
                done.set()


_SPAWNER = _SpawnThread()


def _popen(argv: list[str], **kwargs: Any) -> subprocess.Popen[bytes]:
    """A sandbox leader: binary pipes, its own session and process group, no inherited fds."""
    return subprocess.Popen(
        argv,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        close_fds=True,
        start_new_session=True,
        **kwargs,
    )


# -- standby: a pre-spawned process already inside a fresh cgroup -----------------------------
#
# Attaching a process to a cgroup costs a full RCU grace period in the kernel (~10-30 ms here,
# cgroup v1 and v2 alike unless mounted with favordynmods), and it has to happen before the
# sandbox forks. A standby pays it ahead of time: a tiny python stub is spawned into a new cgroup
# in the background and blocks on a pipe; start() sets the limits on that cgroup, applies the
# rlimits and affinity to the stub (prlimit/sched_setaffinity) and sends it the command line to
# exec. The stub never runs anything of the sandbox's before that exec, so nothing escapes.
# Without a usable cgroup there is nothing to pre-pay and start() spawns directly.

STANDBY_ENV = "AGENTEXEC_SANDBOX_STANDBY"  # how many standbys to keep; 0 disables
STANDBY_REFILL_DELAY_S = 0.05  # let the sandbox just claimed boot before spawning the next
STANDBY_RETRY_S = 60.0  # after a failed standby spawn
_STANDBY_STUB = """\
import marshal, os, sys
ctl, status = int(sys.argv[1]), int(sys.argv[2])
sys.path.insert(0, sys.argv[3])
from sandboxes import childsetup
os.set_inheritable(status, False)
os.write(1, b"+")  # booted: about to block for the exec request
data = bytearray()
while chunk := os.read(ctl, 65536):
    data += chunk
os.close(ctl)
if not data:
    os._exit(0)
cwd, argv, env, files, stage_root, stage_items, drop = marshal.loads(data)
try:
    fds = [os.open(path, os.O_RDONLY) for path in files]  # as the service user, before the drop
    for fd in fds:
        os.set_inheritable(fd, True)
    mark = "\\x00fd"
    argv = [str(fds[int(a[len(mark):])]) if a.startswith(mark) else a for a in argv]
    os.chdir(cwd)
    childsetup.enter_stage(stage_root, stage_items)
    if drop:
        childsetup.drop_privileges(*drop)
    os.execve(argv[0], argv, env)
except Exception as exc:
    os.write(status, repr(exc).encode())
    os._exit(127)
"""


class _Standby:
    def __init__(
        self, popen: subprocess.Popen[bytes], cgroup: cgroups.SandboxCgroup, ctl: int, status: int
    ) -> None:
        self.popen = popen
        self.cgroup = cgroup
        self.ctl = ctl  # write end: the exec request
        self.status = status  # read end: EOF on exec, else the error

    @classmethod
    def spawn(cls, manager: cgroups.CgroupManager) -> _Standby:
        cgroup = manager.create(cgroups.sandbox_cgroup_name("standby"))
        ctl_r, ctl_w = os.pipe()
        status_r, status_w = os.pipe()
        join_fds: list[int] = []
        try:
            join_fds = cgroup.join_fds()
            exe, _prefix = base_interpreter()
            argv = [exe, "-S", "-s", "-B", "-c", _STANDBY_STUB, str(ctl_r), str(status_w)]
            argv.append(str(PROJECT_ROOT))
            popen = _SPAWNER.run(
                partial(
                    _popen,
                    argv,
                    cwd="/",
                    env={},
                    pass_fds=(ctl_r, status_w),
                    preexec_fn=make_preexec(join_fds, [], set()),
                )
            )
        except BaseException:
            for fd in (ctl_w, status_r):
                os.close(fd)
            cgroup.remove(timeout=0)
            raise
        finally:
            for fd in (*join_fds, ctl_r, status_w):
                os.close(fd)
        standby = cls(popen, cgroup, ctl_w, status_r)
        if not standby._booted(timeout=10.0):
            standby.discard()
            raise SandboxStartError("standby stub did not boot")
        return standby

    def _booted(self, timeout: float) -> bool:
        """Wait for the stub's one-byte hello, so a claimed standby is ready at once."""
        assert self.popen.stdout is not None
        fd = self.popen.stdout.fileno()  # nothing buffered yet: os.read is safe here
        return _poll(fd, select.POLLIN, timeout) and os.read(fd, 1) == b"+"

    def alive(self) -> bool:
        return self.popen.poll() is None

    def prepare(self, plan: list[tuple[int, int]], cpus: set[int]) -> None:
        for rid, value in plan:
            resource.prlimit(self.popen.pid, rid, (value, value))
        os.sched_setaffinity(self.popen.pid, cpus)
        self.cgroup.reset_counters()

    def exec(self, layout: _Layout, timeout: float = 10.0) -> None:
        """Hand over the command line; returns once the stub has exec'd it."""
        payload = memoryview(layout.exec_request())
        try:
            while payload:
                payload = payload[os.write(self.ctl, payload) :]
        finally:
            self._close_fds("ctl")  # EOF tells the stub the request is complete
        try:
            answered = _poll(self.status, select.POLLIN, timeout)
            error = os.read(self.status, 4096) if answered else b"no answer from the standby"
        finally:
            self._close_fds("status")
        if error:
            raise SandboxStartError(f"cannot exec the sandbox: {error.decode(errors='replace')}")

    def _close_fds(self, *names: str) -> None:
        """Close each fd once: a second close could hit a number another thread reuses."""
        for name in names:
            fd = getattr(self, name)
            if fd >= 0:
                setattr(self, name, -1)
                os.close(fd)

    def discard(self) -> None:
        self._close_fds("ctl", "status")
        self.cgroup.kill()
        with contextlib.suppress(ChildProcessError):
            self.popen.wait()
        for stream in (self.popen.stdin, self.popen.stdout, self.popen.stderr):
            if stream is not None:
                stream.close()
        self.cgroup.remove()


class _StandbyPool:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.items: list[_Standby] = []
        self.filling = False
        self.owner_pid = os.getpid()
        self.last_error: str | None = None
        self.paused_until = 0.0  # after a failure: do not retry on every start()

    @staticmethod
    def target() -> int:
        value = os.environ.get(STANDBY_ENV, "1").strip()
        return int(value) if value.isdigit() else 1

    def claim(self) -> _Standby | None:
        with self.lock:
            self._forget_if_forked()
            while self.items:
                standby = self.items.pop(0)
                if standby.alive():
                    break
                standby.discard()
            else:
                standby = None
        self.refill()
        return standby

    def refill(self, delay: float = STANDBY_REFILL_DELAY_S) -> None:
        if self.target() == 0 or cgroups.detect()[0] is None:
            return  # without a cgroup to pre-join there is nothing to gain
        with self.lock:
            self._forget_if_forked()
            busy = self.filling or time.monotonic() < self.paused_until
            if busy or len(self.items) >= self.target():
                return
            self.filling = True
        threading.Thread(target=self._fill, args=(delay,), name="sbx-standby", daemon=True).start()

    def _fill(self, delay: float) -> None:
        try:
            time.sleep(delay)
            manager, _reason = cgroups.detect()
            while manager is not None and len(self.items) < self.target():
                standby = _Standby.spawn(manager)
                with self.lock:
                    self.items.append(standby)
        except (OSError, subprocess.SubprocessError, SandboxError, cgroups.CgroupError) as exc:
            # No standby: start() spawns directly (and says so in its notes).
            self.last_error = f"{type(exc).__name__}: {exc}"
            self.paused_until = time.monotonic() + STANDBY_RETRY_S
        finally:
            self.filling = False

    def wait_ready(self, timeout: float) -> bool:
        if self.target() == 0 or cgroups.detect()[0] is None:
            return False
        self.refill(delay=0)
        end = time.monotonic() + timeout
        while not self.items and time.monotonic() < end:
            time.sleep(0.005)
        return bool(self.items)

    def _forget_if_forked(self) -> None:
        """In a forked child the standbys are the parent's: drop our copies of their fds."""
        if self.owner_pid == os.getpid():
            return
        for standby in self.items:
            standby._close_fds("ctl", "status")
            for stream in (standby.popen.stdin, standby.popen.stdout, standby.popen.stderr):
                if stream is not None:
                    with contextlib.suppress(OSError):
                        stream.close()
        self.items, self.filling, self.owner_pid = [], False, os.getpid()

    def shutdown(self) -> None:
        with self.lock:
            items, self.items = self.items, []
        if self.owner_pid == os.getpid():
            for standby in items:
                standby.discard()


_STANDBYS = _StandbyPool()
atexit.register(_STANDBYS.shutdown)


# -- providers ---------------------------------------------------------------------------------


class SandboxProvider(Protocol):
    name: str

    def start(
        self, *, runtime_id: str, limits: SandboxLimits, env: dict[str, str] | None = None
    ) -> SandboxProcess: ...


@dataclass
class _Layout:
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
        """What a standby stub needs to do the same (see _STANDBY_STUB)."""
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


class _BaseProvider:
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
        layout = self._layout(limits, _check_env(env))
        notes = list(layout.notes)
        try:
            spawned = self._start_warm(layout, limits, notes)
            if spawned is None:
                spawned = self._start_cold(runtime_id, layout, limits, notes)
        except BaseException:
            if layout.cleanup is not None:
                layout.cleanup()
            raise
        launch = _Launch(
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

    def _layout(self, limits: SandboxLimits, extras: dict[str, str]) -> _Layout:
        raise NotImplementedError

    def _start_warm(
        self, layout: _Layout, limits: SandboxLimits, notes: list[str]
    ) -> _Spawned | None:
        """Exec the runtime in a standby (cgroup already joined); None when there is none."""
        standby = _STANDBYS.claim() if self.use_standby else None
        if standby is None:
            return None
        plan = rlimit_plan(limits, address_space=False)
        cpus = pick_cpus(limits.cpu)
        try:
            limit_note = standby.cgroup.apply(_cgroup_request(limits))
            standby.prepare(plan, cpus)
        except (OSError, cgroups.CgroupError):
            standby.discard()
            return None
        spawned_at = time.monotonic()
        try:
            standby.exec(layout)
        except OSError:  # the stub died since it was pooled: start cold instead
            standby.discard()
            return None
        except BaseException:
            standby.discard()
            raise
        notes += [limit_note, describe_rlimits(plan), _cpu_note(cpus), "started from a standby"]
        return _Spawned(standby.popen, spawned_at, standby.cgroup)

    def _start_cold(
        self, runtime_id: str, layout: _Layout, limits: SandboxLimits, notes: list[str]
    ) -> _Spawned:
        cgroup = self._make_cgroup(cgroups.sandbox_cgroup_name(runtime_id), limits, notes)
        if self.use_standby and cgroup is not None:
            why = f": {_STANDBYS.last_error}" if _STANDBYS.last_error else ""
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
            spawn = partial(
                _popen,
                fill_fds(layout.argv, fds),
                cwd=layout.cwd,
                env=layout.env,
                preexec_fn=preexec,
                pass_fds=fds,
            )
            popen = _SPAWNER.run(spawn)
        except (OSError, subprocess.SubprocessError) as exc:
            if cgroup is not None:
                cgroup.remove(timeout=0)
            raise SandboxStartError(f"cannot start the {self.name} sandbox: {exc}") from exc
        finally:
            for fd in (*join_fds, *fds):
                os.close(fd)
        if self.use_standby and cgroup is not None:
            _STANDBYS.refill()  # the next start() can skip the cgroup attach
        return _Spawned(popen, spawned_at, cgroup)

    def _make_cgroup(
        self, name: str, limits: SandboxLimits, notes: list[str]
    ) -> cgroups.SandboxCgroup | None:
        manager, reason = cgroups.detect() if self.use_cgroups else (None, "cgroups not used")
        if manager is not None:
            try:
                cgroup, limit_note = manager.create_limited(name, _cgroup_request(limits))
                notes.append(limit_note)
                return cgroup
            except cgroups.CgroupError as exc:
                reason = str(exc)
        notes.append(
            f"WARNING: memory {limits.memory_mib} MiB via RLIMIT_AS (+{AS_HEADROOM_MIB} MiB "
            f"headroom, per process; no cpu quota or pids limit): {reason}"
        )
        return None


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


def _cgroup_request(limits: SandboxLimits) -> cgroups.CgroupRequest:
    return cgroups.CgroupRequest(limits.memory_mib * MIB, limits.cpu, limits.nproc)


def _cpu_note(cpus: set[int]) -> str:
    return f"cpu affinity {sorted(cpus)} of {os.cpu_count()} cpus"


# -- bwrap -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BwrapInfo:
    path: str
    version: str
    options: frozenset[str]  # long options this bwrap understands (from --help)


def _bwrap_path() -> str | None:
    configured = os.environ.get("BWRAP_PATH")
    if configured:
        return configured if os.access(configured, os.X_OK) else None
    return shutil.which("bwrap")


def _system_binds() -> list[str]:
    args = ["--ro-bind", "/usr", "/usr"]
    for path in TOP_LEVEL_SYSTEM:
        if os.path.islink(path):  # merged-/usr: /bin -> usr/bin
            args += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            args += ["--ro-bind", path, path]
    return args


def _bwrap_probe_argv(bwrap: str) -> list[str]:
    true = shutil.which("true", path="/usr/bin:/bin") or "/bin/true"
    flags = ["--unshare-all", "--unshare-user", "--die-with-parent", "--new-session"]
    flags += ["--proc", "/proc", "--dev", "/dev"]
    return [bwrap, *flags, *_system_binds(), true]


def _bwrap_info(user: isolation.SandboxUser | None = None) -> BwrapInfo | None:
    """bwrap, if it works here for the user sandboxes run as (cached per user)."""
    return _bwrap_info_for(user or isolation.sandbox_user())


@cache
def _bwrap_info_for(user: isolation.SandboxUser) -> BwrapInfo | None:
    path = _bwrap_path()
    if path is None:
        return None
    drop = partial(isolation.drop_privileges, user.uid, user.gid) if user.drop else None
    try:
        run = subprocess.run(
            _bwrap_probe_argv(path), capture_output=True, timeout=10, env={}, preexec_fn=drop
        )
        version = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=10)
        helptext = subprocess.run([path, "--help"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    if run.returncode != 0:
        return None
    options = frozenset(re.findall(r"--[a-z][a-z-]+", helptext.stdout + helptext.stderr))
    return BwrapInfo(path, version.stdout.strip() or "bwrap (unknown version)", options)


def bwrap_available(uid: int | None = None, gid: int | None = None) -> bool:
    """bwrap is installed and a trivial fully-namespaced command works here (cached)."""
    return _bwrap_info(isolation.sandbox_user(uid, gid)) is not None


_empty_file_lock = threading.Lock()


def _private_dir() -> str:
    """A per-user directory for the provider's own files (mode 0700, verified, reused)."""
    path = os.path.join(tempfile.gettempdir(), f"agentexec-{os.geteuid()}")
    with contextlib.suppress(FileExistsError):
        os.mkdir(path, 0o700)
    st = os.lstat(path)
    # Someone else's directory or a symlink in a shared /tmp would let them choose what we
    # mount into sandboxes.
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.geteuid() or st.st_mode & 0o077:
        raise SandboxStartError(f"{path} is not a private directory of uid {os.geteuid()}")
    return path


def _empty_init_file() -> str:
    """An empty file to mount as the sandbox's agentexec/__init__.py.

    Not the project's real agentexec/__init__.py: that belongs to the Django project and may
    import things that neither exist nor belong in the sandbox.
    """
    path = os.path.join(_private_dir(), "empty__init__.py")
    with _empty_file_lock:
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o444))
            st = os.lstat(path)
        if not stat.S_ISREG(st.st_mode) or st.st_size != 0 or st.st_uid != os.geteuid():
            raise SandboxStartError(f"{path} is not an empty regular file of ours")
    return path


class BwrapProvider(_BaseProvider):
    name = "bwrap"

    def _layout(self, limits: SandboxLimits, extras: dict[str, str]) -> _Layout:
        info = _bwrap_info(self.user)
        if info is None:
            raise SandboxStartError("bwrap is not available (not installed or namespaces denied)")
        exe, _prefix = base_interpreter()
        env = _base_env(
            home=SANDBOX_WORKSPACE,
            pythonpath=SANDBOX_PYTHONPATH,
            workspace=SANDBOX_WORKSPACE,
            tmp="/tmp",
            limits=limits,
        )
        env.update(extras)
        stage = isolation.new_stage(self.user)
        package = f"{SANDBOX_PYTHONPATH}/agentexec"
        binds = [*python_binds(), (_empty_init_file(), f"{package}/__init__.py")]
        binds.append((str(self.linc_source.resolve()), f"{package}/linc"))
        sandbox = BwrapSandbox(info, self.user, stage, binds)
        argv = sandbox.argv(
            tmpfs=[(SANDBOX_WORKSPACE, limits.workspace_mib), ("/tmp", limits.workspace_mib)],
            cwd=SANDBOX_WORKSPACE,
            env=env,
            command=[exe, *LINC_ARGS],
        )
        notes = [self._intro(info, limits), *sandbox.notes()]
        # bwrap's own environment: --clearenv already keeps it from the sandbox.
        return _Layout(
            argv,
            "/",
            {"PATH": "/usr/bin:/bin"},
            None,
            notes,
            user=self.user,
            stage=stage,
            open_files=sandbox.open_files,
        )

    @staticmethod
    def _intro(info: BwrapInfo, limits: SandboxLimits) -> str:
        if "--size" in info.options:
            scratch = f"tmpfs /workspace and /tmp of {limits.workspace_mib} MiB each"
        else:
            scratch = "tmpfs /workspace (bwrap lacks --size: only RLIMIT_FSIZE per file)"
        return (
            f"{info.version} ({info.path}): user/pid/ipc/uts/net/cgroup namespaces, no network "
            f"(empty netns, loopback only), read-only system, no /sys, {scratch}"
        )


class BwrapSandbox:
    """The bwrap command line for one sandbox (shared by the providers and one-shot runs)."""

    def __init__(
        self,
        info: BwrapInfo,
        user: isolation.SandboxUser,
        stage: isolation.Stage,
        binds: list[tuple[str, str]],  # (host path, sandbox path), mounted read-only
    ) -> None:
        self.info = info
        self.user = user
        self.stage = stage
        self.binds = binds
        self.filter = seccomp.sandbox_filter(_private_dir())
        self.open_files: list[str] = []

    def argv(
        self,
        *,
        tmpfs: list[tuple[str, int]],  # (sandbox path, MiB)
        cwd: str,
        env: dict[str, str],
        command: list[str],
    ) -> list[str]:
        argv = [self.info.path, *self._namespace_args(), *_system_binds(), *_etc_binds()]
        for source, dest in self.binds:
            argv += ["--ro-bind", self.stage.path(source), dest]
        argv += ["--proc", "/proc", "--dev", "/dev"]
        for path, mib in tmpfs:
            if "--size" in self.info.options:
                argv += ["--size", str(mib * MIB)]
            argv += ["--tmpfs", path]
        argv += ["--remount-ro", "/", "--chdir", cwd]
        if self.filter.path is not None:
            argv += ["--seccomp", f"{FD_PLACEHOLDER}{len(self.open_files)}"]
            self.open_files.append(self.filter.path)
        for key, value in env.items():
            argv += ["--setenv", key, value]
        return [*argv, "--", *command]

    def _namespace_args(self) -> list[str]:
        args = ["--unshare-all", "--unshare-user", "--die-with-parent", "--new-session"]
        args += ["--clearenv", "--cap-drop", "ALL", "--hostname", "sandbox"]
        if "--disable-userns" in self.info.options:  # no nested user namespaces (kernel surface)
            args.append("--disable-userns")
        return args

    def notes(self) -> list[str]:
        staged = f", {len(self.stage.items)} host paths staged for it" if self.stage.items else ""
        return [f"sandbox {self.user.describe()}{staged}", self.filter.note]


def _etc_binds() -> list[str]:
    args: list[str] = []
    for entry in ETC_ENTRIES:
        args += ["--ro-bind-try", f"/etc/{entry}", f"/etc/{entry}"]
    return args


def python_binds() -> list[tuple[str, str]]:
    """The interpreter's prefix (and executable's directory) when they are not under /usr."""
    exe, prefix = base_interpreter()
    binds: list[tuple[str, str]] = []
    if not _is_under(prefix, "/usr"):
        binds.append((prefix, prefix))
    exe_dir = os.path.dirname(exe)
    if not _is_under(exe_dir, "/usr") and not _is_under(exe_dir, prefix):
        binds.append((exe_dir, exe_dir))
    return binds


# -- process -----------------------------------------------------------------------------------


_ROOT_PREFIX = "agentexec-sbx-"


@cache
def _sweep_stale_roots() -> None:
    """Remove process-provider dirs left by host processes that died without close()."""
    tmp = tempfile.gettempdir()
    for entry in os.listdir(tmp):
        owner = entry[len(_ROOT_PREFIX) :].split("-", 1)[0]
        if not entry.startswith(_ROOT_PREFIX) or not owner.isdigit():
            continue
        path = os.path.join(tmp, entry)
        with contextlib.suppress(OSError):
            # Ours, or (when root) one handed to a sandbox user: the owner pid in the name is ours.
            st = os.lstat(path)
            mine = st.st_uid == os.geteuid() or os.geteuid() == 0
            if mine and not _pid_alive(int(owner)):
                shutil.rmtree(path, ignore_errors=True)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class ProcessProvider(_BaseProvider):
    """No namespaces: for development and hosts without bwrap. Never for untrusted agents."""

    name = "process"
    sweep_session = True  # without a cgroup, the session is how we find every process

    def _layout(self, limits: SandboxLimits, extras: dict[str, str]) -> _Layout:
        _sweep_stale_roots()
        stage = isolation.new_stage(self.user)
        exe, prefix = staged_interpreter(stage)
        root = tempfile.mkdtemp(prefix=f"{_ROOT_PREFIX}{os.getpid()}-")
        try:
            workspace, tmp, pylib = (os.path.join(root, d) for d in ("workspace", "tmp", "py"))
            os.mkdir(workspace, 0o700)
            os.mkdir(tmp, 0o700)
            self._copy_linc(pylib)
            if self.user.drop:
                chown_tree(root, self.user)
        except BaseException:
            shutil.rmtree(root, ignore_errors=True)
            raise
        env = _base_env(
            home=workspace, pythonpath=pylib, workspace=workspace, tmp=tmp, limits=limits
        )
        env["PATH"] = f"{prefix}/bin:/usr/local/bin:/usr/bin:/bin"
        env.update(extras)
        notes = [
            "WARNING: process provider: no namespaces, the sandbox shares the host's network "
            "and filesystem",
            f"sandbox {self.user.describe()}",
            "WARNING: NO SECCOMP FILTER (process provider)",
            f"workspace {workspace} (not size-limited; RLIMIT_FSIZE caps each file at "
            f"{limits.fsize_mib} MiB)",
        ]
        argv = [exe, *LINC_ARGS]
        cleanup = partial(shutil.rmtree, root, True)
        return _Layout(argv, workspace, env, cleanup, notes, user=self.user, stage=stage)

    def _copy_linc(self, pylib: str) -> None:
        package = os.path.join(pylib, "agentexec")
        shutil.copytree(self.linc_source, os.path.join(package, "linc"))
        with open(os.path.join(package, "__init__.py"), "w"):
            pass  # empty: see _empty_init_file()


def staged_interpreter(stage: isolation.Stage) -> tuple[str, str]:
    """(executable, prefix) of the base interpreter as the sandbox user reaches them.

    Staged, the prefix moves: Python finds its standard library next to its executable.
    """
    exe, prefix = base_interpreter()
    if not stage.active:
        return exe, prefix
    staged_prefix = stage.path(prefix)
    if _is_under(exe, prefix):
        return staged_prefix + exe[len(prefix) :], staged_prefix
    return os.path.join(stage.path(os.path.dirname(exe)), os.path.basename(exe)), staged_prefix


def chown_tree(root: str, user: isolation.SandboxUser) -> None:
    for dirpath, dirnames, filenames in os.walk(root):
        os.chown(dirpath, user.uid, user.gid)
        for name in (*dirnames, *filenames):
            os.lchown(os.path.join(dirpath, name), user.uid, user.gid)


# -- entry points ------------------------------------------------------------------------------


def get_provider(
    name: str = "auto", *, uid: int | None = None, gid: int | None = None
) -> SandboxProvider:
    """ "bwrap", "process", or "auto" (bwrap when it works here, else process).

    `uid`/`gid`: the host user sandboxes run as when the service is root (default: the
    configured one, see sandboxes.isolation); ignored when it is not.
    """
    if name == "auto":
        name = "bwrap" if bwrap_available(uid, gid) else "process"
    provider: _BaseProvider
    if name == "bwrap":
        provider = BwrapProvider(uid=uid, gid=gid)
    elif name == "process":
        provider = ProcessProvider(uid=uid, gid=gid)
    else:
        raise ValueError(f"unknown sandbox provider {name!r} (expected auto, bwrap or process)")
    if provider.use_standby:
        _STANDBYS.refill(delay=0)  # warm up: the first start() may already find a standby
    return provider


def prewarm(timeout: float = 0.0) -> bool:
    """Make sure a standby is being prepared; wait up to `timeout` s for one to be ready.

    Optional (start() works without it): call it when a worker starts so that its first
    sandbox boots warm. False when there is none (no usable cgroup, disabled, still booting).
    """
    return _STANDBYS.wait_ready(timeout)


def _is_our_leader(pid: int) -> bool | None:
    """True: our live (or zombie) leader; False: someone else; None: no such process."""
    stat = _proc_stat(pid)
    if stat is None:
        return None
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            cmdline = fh.read()
    except OSError:
        return None
    if stat[0] == "Z":  # an unreaped leader keeps its id reserved: it can only be ours
        return stat[1] == pid
    return stat[1] == pid and CMDLINE_MARKER in cmdline


def kill_process_group(pid: int) -> None:
    """Cancel a sandbox given only its stored leader pid (from any thread or process).

    Kills its cgroup (found via /proc/<pid>/cgroup), its process group and its session.
    Refuses a pid that now belongs to an unrelated process; never raises for a sandbox that
    is already gone.
    """
    ours = _is_our_leader(pid)
    if ours is False:
        return
    if ours:
        cgroup = cgroups.cgroup_of_pid(pid)
        if cgroup is not None:
            cgroup.kill()
    # Leader already reaped (None): its group/session ids stay reserved while members remain.
    _signal_group(pid, sweep_session=True)
