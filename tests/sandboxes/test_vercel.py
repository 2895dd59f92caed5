"""The Vercel backend drives the official SDK against the local emulator of Vercel's API."""

import os
import time

import pytest

from sandboxes.remote_base import RemoteSandboxError
from sandboxes.vercel import VercelBackend, VercelConfig, vercel_size
from tests.sandboxes.remote_launch import SCRIPT, launch_for


def backend_for(api) -> VercelBackend:
    config = VercelConfig(
        token=api.token, team_id=api.team_id, project_id=api.project_id, api_url=api.base_url
    )
    return VercelBackend(config)


@pytest.mark.parametrize(
    ("cpu", "memory_mib", "vcpus"),
    [(1, 512, 2), (2, 4096, 2), (1, 4097, 4), (3, 512, 4), (4, 8192, 4), (1, 8193, 8)],
)
def test_it_sizes_a_sandbox_to_the_nearest_size_that_is_not_smaller(cpu, memory_mib, vcpus):
    assert vercel_size(cpu, memory_mib) == vcpus


def test_it_refuses_a_size_beyond_the_largest():
    with pytest.raises(RemoteSandboxError, match="at most 8 vCPUs"):
        vercel_size(9, 512)


def test_it_creates_uploads_runs_and_stops_once_the_runtime_exits(vercel_api):
    machine = backend_for(vercel_api).launch(launch_for(cpu=3))

    assert machine.wait(timeout=10) == 0
    remote = vercel_api.sandboxes["sandbox_test1"]
    assert machine.id == "sandbox_test1"
    assert machine.size == "4 vCPUs, 8192 MB"
    assert remote.resources["vcpus"] == 4 and remote.resources["memory"] == 8192
    assert remote.timeout_s == 30 + 60  # the run's timeout plus the backstop's grace
    assert remote.files == {
        "/vercel/sandbox/runtime.pyz": SCRIPT,
        "/vercel/sandbox/bin/casedev": b"#!/bin/sh\necho cli\n",
    }
    assert os.access(remote.local("bin/casedev"), os.X_OK)
    (command,) = remote.commands.values()
    assert (command.name, command.args) == ("python3", ["runtime.pyz"])
    assert sorted(machine.log_text().splitlines()) == [
        "booted",
        "env ['HOME', 'LANG', 'LINC_TOKEN', 'PATH']",
    ]
    assert remote.state == "stopped" and remote.deleted  # nothing left to do in it


def test_it_streams_the_output_as_it_arrives(vercel_api):
    machine = backend_for(vercel_api).launch(launch_for(env={"NAP": "60"}))
    deadline = time.monotonic() + 10
    while "booted" not in machine.log_text() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert "booted" in machine.log_text()
    assert machine.wait(timeout=0) is None  # still running
    machine.kill()


def test_it_gives_the_runtime_only_the_variables_it_is_handed(vercel_api):
    machine = backend_for(vercel_api).launch(launch_for(env={"LINC_TOKEN": "abc"}))
    machine.wait(timeout=10)
    create = next(r for r in vercel_api.requests if r.path.endswith("/v3/sandboxes"))
    assert b'"env"' not in create.body  # nothing set for the whole sandbox
    (command,) = vercel_api.sandboxes["sandbox_test1"].commands.values()
    assert command.env["LINC_TOKEN"] == "abc"
    assert set(command.env) == {"LINC_TOKEN", "PATH", "LANG", "HOME"}
    machine.kill()


def test_it_reports_the_exit_code_of_the_runtime(vercel_api):
    machine = backend_for(vercel_api).launch(launch_for(env={"CODE": "3"}))
    assert machine.wait(timeout=10) == 3
    machine.kill()


def test_stop_kills_a_running_runtime(vercel_api):
    machine = backend_for(vercel_api).launch(launch_for(env={"NAP": "60"}))
    assert machine.wait(timeout=0.2) is None

    machine.kill()

    assert vercel_api.wait_until_stopped("sandbox_test1", timeout=5)
    assert vercel_api.live_sandboxes() == []
    machine.kill()  # idempotent


def test_stop_remote_stops_a_sandbox_by_name(vercel_api):
    backend = backend_for(vercel_api)
    backend.launch(launch_for(env={"NAP": "60"}))

    assert backend.stop_remote("sandbox_test1") is True

    assert vercel_api.live_sandboxes() == []
    assert backend.stop_remote("sandbox_test1") is False  # gone already
    assert backend.stop_remote("sandbox_unknown") is False


def test_it_fails_clearly_when_the_provider_refuses(vercel_api):
    config = VercelConfig(
        token="wrong", team_id="x", project_id=vercel_api.project_id, api_url=vercel_api.base_url
    )
    with pytest.raises(RemoteSandboxError, match="vercel: creating the sandbox failed"):
        VercelBackend(config).launch(launch_for())
    assert vercel_api.sandboxes == {}
