"""Forking sandbox processes, cleaning up after them, and killing them by pid. Plain Python.

Two process-wide globals live here:

- ``_SPAWNER``: the one long-lived thread every sandbox process is forked from, because bwrap's
  --die-with-parent follows the forking *thread* (see ``_SpawnThread``);
- the janitor (``_JANITOR_QUEUE``, ``_JANITOR_LOCK``, ``_JANITOR_THREAD``): one background
  thread that removes cgroups and temp dirs off the caller's path, in order.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import signal
import subprocess
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from sandboxes import cgroup_detect, cgroups
from sandboxes.base import CMDLINE_MARKER

log = logging.getLogger(__name__)
_T = TypeVar("_T")


# -- one long-lived thread forks every sandbox process -----------------------------------------


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


# Process-wide: a forked child (a worker) starts its own spawner thread on first use.
_SPAWNER = _SpawnThread()


def spawn(fn: Callable[[], _T]) -> _T:
    """Run `fn` (which forks a sandbox process) on the spawner thread; returns what it returns."""
    return _SPAWNER.run(fn)


def popen_leader(argv: list[str], **kwargs: Any) -> subprocess.Popen[bytes]:
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


# -- the janitor: cleanup off the caller's path ------------------------------------------------

# Process-wide: the queue of cleanup jobs and the thread that runs them, (re)started under the
# lock on first use (daemon: a host that exits leaves the rest to the next one's stale sweeps).
_JANITOR_QUEUE: queue.SimpleQueue[Callable[[], object]] = queue.SimpleQueue()
_JANITOR_LOCK = threading.Lock()
_JANITOR_THREAD: threading.Thread | None = None


def cleanup_later(job: Callable[[], object]) -> None:
    """Run a cleanup job in the janitor thread, after the ones queued before it."""
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


def remove_cgroup(cgroup: cgroups.SandboxCgroup) -> None:
    if not cgroup.remove(timeout=2.0):
        log.warning("could not remove cgroup %s", cgroup.dirs)


# -- killing by pid ----------------------------------------------------------------------------


def _proc_stat(pid: int) -> tuple[str, int, int] | None:
    """(state, pgid, sid) of a process, from /proc/<pid>/stat."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            data = fh.read()
    except OSError:
        return None
    fields = data[data.rfind(b")") + 2 :].split()
    return fields[0].decode(), int(fields[2]), int(fields[3])


def _session_members(sid: int) -> list[int]:
    members = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) != sid:
            stat = _proc_stat(int(entry))
            if stat is not None and stat[2] == sid:
                members.append(int(entry))
    return members


def signal_group(pid: int, *, sweep_session: bool) -> None:
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


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


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
        cgroup = cgroup_detect.cgroup_of_pid(pid)
        if cgroup is not None:
            cgroup.kill()
    # Leader already reaped (None): its group/session ids stay reserved while members remain.
    signal_group(pid, sweep_session=True)
