"""Standbys: pre-spawned processes already inside a fresh cgroup, exec'd into a sandbox.

Attaching a process to a cgroup costs a full RCU grace period in the kernel (~10-30 ms here,
cgroup v1 and v2 alike unless mounted with favordynmods), and it has to happen before the
sandbox forks. A standby pays it ahead of time: a tiny python stub is spawned into a new cgroup
in the background and blocks on a pipe; a backend's start() sets the limits on that cgroup,
applies the rlimits and affinity to the stub (prlimit/sched_setaffinity) and sends it the
command line to exec (``Layout.exec_request()``). The stub never runs anything of the sandbox's
before that exec, so nothing escapes. Without a usable cgroup there is nothing to pre-pay and
start() spawns directly.

One process-wide global lives here: ``_STANDBYS``, the pool (emptied at exit; a forked child
forgets the parent's standbys and fills its own).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import resource
import select
import subprocess
import threading
import time
from functools import partial

from sandboxes import cgroup_detect, cgroups
from sandboxes.base import PROJECT_ROOT, SandboxError, SandboxStartError, base_interpreter, poll_fd
from sandboxes.limits import make_preexec
from sandboxes.spawning import popen_leader, spawn

STANDBY_ENV = "AGENTEXEC_SANDBOX_STANDBY"  # how many standbys to keep; 0 disables
STANDBY_REFILL_DELAY_S = 0.05  # let the sandbox just claimed boot before spawning the next
STANDBY_RETRY_S = 60.0  # after a failed standby spawn
# Reads the tuple Layout.exec_request() marshals; "mark" is backend.FD_PLACEHOLDER.
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


class Standby:
    """One stub process blocked in its own cgroup, waiting for a command line to exec."""

    def __init__(
        self, popen: subprocess.Popen[bytes], cgroup: cgroups.SandboxCgroup, ctl: int, status: int
    ) -> None:
        self.popen = popen
        self.cgroup = cgroup
        self.ctl = ctl  # write end: the exec request
        self.status = status  # read end: EOF on exec, else the error

    @classmethod
    def spawn(cls, manager: cgroup_detect.CgroupManager) -> Standby:
        cgroup = manager.create(cgroups.sandbox_cgroup_name("standby"))
        ctl_r, ctl_w = os.pipe()
        status_r, status_w = os.pipe()
        join_fds: list[int] = []
        try:
            join_fds = cgroup.join_fds()
            exe, _prefix = base_interpreter()
            argv = [exe, "-S", "-s", "-B", "-c", _STANDBY_STUB, str(ctl_r), str(status_w)]
            argv.append(str(PROJECT_ROOT))
            popen = spawn(
                partial(
                    popen_leader,
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
        return poll_fd(fd, select.POLLIN, timeout) and os.read(fd, 1) == b"+"

    def alive(self) -> bool:
        return self.popen.poll() is None

    def prepare(self, plan: list[tuple[int, int]], cpus: set[int]) -> None:
        for rid, value in plan:
            resource.prlimit(self.popen.pid, rid, (value, value))
        os.sched_setaffinity(self.popen.pid, cpus)
        self.cgroup.reset_counters()

    def exec(self, request: bytes, timeout: float = 10.0) -> None:
        """Hand over the command line (Layout.exec_request()); returns once the stub exec'd it."""
        payload = memoryview(request)
        try:
            while payload:
                payload = payload[os.write(self.ctl, payload) :]
        finally:
            self._close_fds("ctl")  # EOF tells the stub the request is complete
        try:
            answered = poll_fd(self.status, select.POLLIN, timeout)
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
        self.items: list[Standby] = []
        self.filling = False
        self.owner_pid = os.getpid()
        self.last_error: str | None = None
        self.paused_until = 0.0  # after a failure: do not retry on every start()

    @staticmethod
    def target() -> int:
        value = os.environ.get(STANDBY_ENV, "1").strip()
        return int(value) if value.isdigit() else 1

    def claim(self) -> Standby | None:
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
        if self.target() == 0 or cgroup_detect.detect()[0] is None:
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
            manager, _reason = cgroup_detect.detect()
            while manager is not None and len(self.items) < self.target():
                standby = Standby.spawn(manager)
                with self.lock:
                    self.items.append(standby)
        except (OSError, subprocess.SubprocessError, SandboxError, cgroups.CgroupError) as exc:
            # No standby: start() spawns directly (and says so in its notes).
            self.last_error = f"{type(exc).__name__}: {exc}"
            self.paused_until = time.monotonic() + STANDBY_RETRY_S
        finally:
            self.filling = False

    def wait_ready(self, timeout: float) -> bool:
        if self.target() == 0 or cgroup_detect.detect()[0] is None:
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


def claim() -> Standby | None:
    """A live standby for the caller to exec into (the pool then refills), or None."""
    return _STANDBYS.claim()


def refill(delay: float = STANDBY_REFILL_DELAY_S) -> None:
    """Start preparing standbys up to the target, in the background, after `delay` s."""
    _STANDBYS.refill(delay)


def wait_ready(timeout: float) -> bool:
    """Make sure a standby is being prepared; wait up to `timeout` s for one to be ready."""
    return _STANDBYS.wait_ready(timeout)


def last_error() -> str | None:
    """Why the last standby could not be spawned, for a cold start's runner note."""
    return _STANDBYS.last_error
