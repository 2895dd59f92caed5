"""Forking on one thread, the cleanup janitor, and killing a sandbox by its pid alone."""

from __future__ import annotations

import secrets
import subprocess
import threading
import time

import pytest

from sandboxes import cgroup_detect
from sandboxes.protocol import RunningSandbox
from sandboxes.spawning import cleanup_later, kill_process_group, spawn
from tests.sandboxes.booting import (
    HAS_CGROUPS,
    PROVIDERS,
    assert_gone,
    boot,
    needs_bwrap,
    request_shell,
    send_spec,
    shell,
)


def test_it_runs_every_spawn_on_one_long_lived_thread() -> None:
    names = {spawn(lambda: threading.current_thread().name) for _ in range(3)}
    assert names == {"sbx-spawner"}
    with pytest.raises(ZeroDivisionError):  # the caller gets the spawn's error
        spawn(lambda: 1 // 0)


def test_the_janitor_runs_jobs_in_order_and_survives_a_failing_one() -> None:
    done: list[int] = []
    finished = threading.Event()
    cleanup_later(lambda: done.append(1))
    cleanup_later(lambda: 1 // 0)
    cleanup_later(lambda: done.append(2))
    cleanup_later(finished.set)
    assert finished.wait(10)
    assert done == [1, 2]


@pytest.mark.e2e
@pytest.mark.parametrize("name", PROVIDERS)
def test_kill_process_group_by_pid_only(name: str, opened: list[RunningSandbox]) -> None:
    marker = f"agentexec-test-{secrets.token_hex(4)}"
    proc = boot(name, opened)
    send_spec(proc)
    request_shell(proc, f"sleep 30; : {marker}")
    time.sleep(0.2)
    pid = proc.pid
    assert pid is not None  # a local sandbox has a host pid
    if HAS_CGROUPS:  # found from the pid alone, as another host process would
        cgroup = cgroup_detect.cgroup_of_pid(pid)
        assert cgroup is not None and pid in cgroup.pids()
    kill_process_group(pid)
    assert proc.recv(10) is None
    assert_gone(marker)
    kill_process_group(pid)  # gone already (zombie or reaped): no error


@pytest.mark.e2e
def test_kill_process_group_refuses_unrelated_pids() -> None:
    bystander = subprocess.Popen(["sleep", "5"], start_new_session=True)
    try:
        kill_process_group(bystander.pid)
        time.sleep(0.05)
        assert bystander.poll() is None
    finally:
        bystander.kill()
        bystander.wait()
    kill_process_group(bystander.pid)  # reaped and gone: no error


@pytest.mark.e2e
@needs_bwrap
def test_a_sandbox_survives_the_thread_that_started_it(opened: list[RunningSandbox]) -> None:
    # bwrap --die-with-parent is PR_SET_PDEATHSIG: it follows the forking *thread*.
    started: list[RunningSandbox] = []
    starter = threading.Thread(target=lambda: started.append(boot("bwrap", opened)))
    starter.start()
    starter.join()
    time.sleep(0.2)
    proc = started[0]
    assert proc.wait(0) is None
    assert shell(proc, "echo alive")["stdout"] == "alive\n"
