"""The Daytona backend drives the official SDK against the local emulator of Daytona's APIs."""

import os
import time
from functools import partial

import pytest

from sandboxes.daytona import DaytonaBackend, DaytonaSettings, daytona_size
from sandboxes.remote_base import RemoteSandboxError
from tests.sandboxes import remote_launch
from tests.sandboxes.remote_launch import SCRIPT


def backend_for(api, api_key=None) -> DaytonaBackend:
    settings = DaytonaSettings(api_key=api_key or api.api_key, api_url=api.api_url, target="eu")
    return DaytonaBackend(settings)


launch_for = partial(remote_launch.launch_for, timeout_s=100)


@pytest.mark.parametrize(
    ("cpu", "memory_mib", "size"),
    [(1, 64, (1, 1)), (1, 1024, (1, 1)), (2, 1025, (2, 2)), (4, 8192, (4, 8))],
)
def test_it_sizes_a_sandbox_to_the_nearest_size_that_is_not_smaller(cpu, memory_mib, size):
    assert daytona_size(cpu, memory_mib) == size


def test_it_creates_uploads_runs_and_deletes_once_the_runtime_exits(daytona_api):
    machine = backend_for(daytona_api).launch(launch_for(cpu=2, memory_mib=1536))

    assert machine.wait(timeout=10) == 0
    remote = daytona_api.sandboxes[machine.id]
    assert machine.size == "2 vCPUs, 2 GiB"
    assert remote.resources["name"] == "sandbox_test1"
    assert (remote.resources["cpu"], remote.resources["memory"]) == (2, 2)
    assert remote.resources["target"] == "eu"
    assert remote.resources["labels"]["agentexec-run"] == "run_1"
    assert remote.resources["autoDeleteInterval"] == 0  # ephemeral
    assert remote.resources["ttlMinutes"] == 3  # 100 s + 60 s of grace, in whole minutes
    assert remote.resources["dockerfile"] == "FROM python:3.12-slim\n"
    assert remote.files == {
        "/home/daytona/runtime.pyz": SCRIPT,
        "/home/daytona/bin/casedev": b"#!/bin/sh\necho cli\n",
    }
    assert os.access(remote.local("bin/casedev"), os.X_OK)
    assert "booted\n" in machine.log_text() and "env [" in machine.log_text()
    assert remote.state == "destroyed" and remote.deleted  # nothing left to do in it


def test_it_streams_the_output_as_it_arrives(daytona_api):
    machine = backend_for(daytona_api).launch(launch_for(env={"NAP": "60"}))
    deadline = time.monotonic() + 10
    while "booted" not in machine.log_text() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert "booted" in machine.log_text()
    assert machine.wait(timeout=0) is None  # still running
    machine.kill()


def test_it_gives_the_runtime_only_the_variables_it_is_handed(daytona_api):
    machine = backend_for(daytona_api).launch(launch_for(env={"LINC_TOKEN": "a b'c"}))
    machine.wait(timeout=10)
    remote = daytona_api.sandboxes[machine.id]
    assert remote.env == {}  # nothing set for the whole sandbox
    lines = "".join(c.output() for c in remote.commands.values())
    assert "env ['HOME', 'LANG', 'LINC_TOKEN', 'PATH', 'PWD']" in lines
    machine.kill()


def test_it_reports_the_exit_code_of_the_runtime(daytona_api):
    machine = backend_for(daytona_api).launch(launch_for(env={"CODE": "4"}))
    assert machine.wait(timeout=10) == 4
    machine.kill()


def test_stop_kills_a_running_runtime(daytona_api):
    machine = backend_for(daytona_api).launch(launch_for(env={"NAP": "60"}))
    assert machine.wait(timeout=0.2) is None

    machine.kill()

    assert daytona_api.wait_until_stopped(machine.id, timeout=5)
    assert daytona_api.live_sandboxes() == []


def test_stop_remote_stops_a_sandbox_by_name_or_id(daytona_api):
    backend = backend_for(daytona_api)
    first = backend.launch(launch_for(env={"NAP": "60"}))
    second = backend.launch(launch_for(name="sandbox_test2", env={"NAP": "60"}))

    assert backend.stop_remote("sandbox_test1") is True
    assert backend.stop_remote(second.id) is True

    assert daytona_api.live_sandboxes() == []
    assert backend.stop_remote(first.id) is False  # gone already
    assert backend.stop_remote("sandbox_unknown") is False


def test_it_fails_clearly_when_the_provider_refuses(daytona_api):
    with pytest.raises(RemoteSandboxError, match="daytona: creating the sandbox failed"):
        backend_for(daytona_api, api_key="wrong").launch(launch_for())
    assert daytona_api.sandboxes == {}
