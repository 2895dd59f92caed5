"""Runs in remote sandboxes: the official SDKs drive local emulators of Vercel's and Daytona's
APIs (tests.emulators), which run each "remote" command as a local process; the runtime zipapp
there calls this live test server home over HTTP, and the executor serves it through the relay.
"""

from __future__ import annotations

import json
import os
import shlex
import threading
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from runs import services
from runs.models import Run, RunStep
from sandboxes import remote
from sandboxes import services as sandbox_services
from sandboxes.artefact import runtime_bytes
from sandboxes.models import Sandbox
from sandboxes.remote_base import PROVIDER_TIMEOUT_GRACE_S
from tests.factories import AgentFactory, RunFactory

EXECUTE = "/agent/v1/execute"
PROVIDERS = ["vercel", "daytona"]
pytestmark = pytest.mark.e2e

HOST_SECRETS = {
    "SECRET_KEY": "host-secret-key-0123456789abcdef",
    "ANTHROPIC_API_KEY": "sk-ant-host-secret",
    "OPENAI_API_KEY": "sk-openai-host-secret",
    "COURTLISTENER_API_TOKEN": "courtlistener-host-secret",
}


@pytest.fixture
def remote_setup(transactional_db, live_server, settings, vercel_api, daytona_api):
    """Both providers configured against their emulators; the runtime calls the live server."""
    settings.PUBLIC_BASE_URL = live_server.url
    settings.REDIS_URL = ""
    settings.RELAY_POLL_S = 0.005
    settings.VERCEL_TOKEN = vercel_api.token
    settings.VERCEL_TEAM_ID = vercel_api.team_id
    settings.VERCEL_PROJECT_ID = vercel_api.project_id
    settings.VERCEL_SANDBOX_API_URL = vercel_api.base_url
    settings.DAYTONA_API_KEY = daytona_api.api_key
    settings.DAYTONA_API_URL = daytona_api.api_url
    return {"vercel": vercel_api, "daytona": daytona_api}


@pytest.fixture(params=PROVIDERS)
def provider(request, remote_setup, settings):
    """(name, emulator) with SANDBOX_PROVIDER set to it."""
    settings.SANDBOX_PROVIDER = request.param
    settings.LEGACY_SANDBOX_PROVIDER = request.param
    return request.param, remote_setup[request.param]


def execute(member, **body):
    response = member.client.post(EXECUTE, body, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def scripted(*steps, final="done"):
    return json.dumps({"steps": [{"tool": t, "input": i} for t, i in steps], "final": final})


def the_remote(api, body):
    """The emulated sandbox a run's response names."""
    return api.sandboxes[body["runtimeId"]]


def test_an_execute_runs_in_a_remote_sandbox_and_names_it(alice, provider):
    name, api = provider

    body = execute(alice, prompt="Hello from afar.", model="local/echo", sandbox={"cpu": 3})

    assert body["status"] == "completed", body
    assert body["output"] == "Hello from afar."
    assert body["provider"] == name
    sandbox = Sandbox.objects.get(run_id=body["runId"])
    assert body["runtimeId"] == sandbox.remote_id != ""
    assert Run.objects.get(id=body["runId"]).runtime_id == sandbox.remote_id
    assert sandbox.provider == name and sandbox.state == "ended" and sandbox.exit_code == 0
    assert sandbox.callhome_token_hash == ""  # revoked
    assert "booted" in body["logs"]["linc"]  # the runtime's own log, streamed from the provider
    assert f"{name} sandbox {sandbox.remote_id}" in body["logs"]["runner"]
    machine = the_remote(api, body)
    assert machine.stopped_at is not None and machine.deleted  # stopped when the run ended
    assert api.live_sandboxes() == []
    runtime = {path.rsplit("/", 1)[-1]: data for path, data in machine.files.items()}
    assert runtime["runtime.pyz"] == runtime_bytes()
    assert runtime["casedev"] == remote.CASEDEV_LAUNCHER
    if name == "vercel":
        assert machine.resources["vcpus"] == 4  # 3 CPUs: the nearest size not smaller
    else:
        assert (machine.resources["cpu"], machine.resources["memory"]) == (3, 1)


def test_a_remote_run_does_what_a_local_one_does(alice, provider):
    prompt = scripted(
        ("files.write", {"path": "notes/a.txt", "content": "indemnity"}),
        ("shell.exec", {"command": "cat notes/a.txt | tr a-z A-Z; echo; casedev --version"}),
        final="All done.",
    )
    body = execute(alice, prompt=prompt, model="local/scripted")
    assert body["status"] == "completed", body
    steps = list(RunStep.objects.filter(run_id=body["runId"]).order_by("sequence"))
    assert [s.type for s in steps] == ["tool_call", "tool_result"] * 2 + ["output"]
    stdout = steps[3].tool_output["stdout"]
    assert stdout.startswith("INDEMNITY\n") and "casedev" in stdout


def test_the_remote_environment_holds_no_host_secret(alice, provider, settings, monkeypatch):
    name, api = provider
    for key, value in HOST_SECRETS.items():
        setattr(settings, key, value)
    monkeypatch.setenv("DATABASE_URL", "postgres://u:db-host-secret@db/agentexec")
    secrets = [
        *HOST_SECRETS.values(),
        "db-host-secret",
        settings.VERCEL_TOKEN,
        settings.DAYTONA_API_KEY,
    ]
    body = execute(
        alice, prompt=scripted(("shell.exec", {"command": "env"})), model="local/scripted"
    )
    assert body["status"] == "completed", body

    shell = RunStep.objects.get(run_id=body["runId"], type="tool_result", tool_name="shell.exec")
    (command,) = the_remote(api, body).commands.values()
    uploaded = b"".join(the_remote(api, body).files.values())  # the runtime, unpacked
    seen = [shell.tool_output["stdout"].encode(), json.dumps(command.env).encode()]
    seen += [api.request_bodies(), uploaded]
    for secret in secrets:
        assert all(secret.encode() not in data for data in seen), secret
    assert "LINC_WORKSPACE=" in shell.tool_output["stdout"]
    # What the provider was told to set: the two call-home variables, nothing else.
    if name == "vercel":  # the command's own environment
        added = {k: v for k, v in command.env.items() if k not in ("PATH", "LANG", "HOME")}
    else:  # a shell command line: `exec env NAME=value... sh -c ...`
        words = shlex.split(command.name)
        added = dict(w.split("=", 1) for w in words[words.index("env") + 1 : words.index("sh")])
    assert set(added) == {"LINC_BROKER_URL", "LINC_TOKEN"}
    assert added["LINC_BROKER_URL"].startswith(settings.PUBLIC_BASE_URL)


def test_a_run_that_times_out_stops_its_remote_sandbox(alice, provider, settings):
    name, api = provider
    settings.RUN_TIMEOUT_S = 3
    prompt = scripted(("shell.exec", {"command": "sleep 60", "timeoutS": 60}))
    body = execute(alice, prompt=prompt, model="local/scripted")
    assert body["status"] == "failed"
    assert body["error"].startswith("timeout")
    assert api.wait_until_stopped(body["runtimeId"], timeout=10)
    assert api.live_sandboxes() == []
    # The provider's own limit is the backstop: the run's timeout and a grace (Daytona counts
    # whole minutes).
    expected = {"vercel": 3 + PROVIDER_TIMEOUT_GRACE_S, "daytona": 2 * 60}
    assert the_remote(api, body).timeout_s == expected[name]


def test_cancel_stops_the_remote_sandbox(alice, provider):
    _name, api = provider
    prompt = scripted(("shell.exec", {"command": "sleep 60", "timeoutS": 60}))
    answers: list[dict] = []
    runner = threading.Thread(
        target=lambda: answers.append(execute(alice, prompt=prompt, model="local/scripted"))
    )
    runner.start()
    machine = wait_for(lambda: running_remote(api))
    run = Run.objects.get(sandboxes__remote_id=machine.id)

    response = alice.client.post(f"/agent/v1/run/{run.id}/cancel")

    assert response.status_code == 200
    assert api.wait_until_stopped(machine.id, timeout=5)
    runner.join(timeout=30)
    assert answers and answers[0]["status"] == "cancelled"
    assert api.live_sandboxes() == []


def test_the_reaper_stops_the_remote_sandbox_of_a_lost_run(alice, provider, settings):
    """The worker died mid-run: its remote sandbox still runs, nobody serves it."""
    name, api = provider
    settings.RUN_HEARTBEAT_TIMEOUT_S = 30
    run = RunFactory(agent=AgentFactory(organization=alice.organization), status="running")
    sandbox = Sandbox.objects.create(
        run=run, organization=alice.organization, provider=name, cpu=1, memory_mib=512
    )
    limits = sandbox_services.limits_for(run)
    relay = remote.remote_provider(name).start(runtime_id=sandbox.id, limits=limits)
    machine = api.sandboxes[Sandbox.objects.get(id=sandbox.id).remote_id]
    assert machine.running_commands  # the runtime waits for a host that will never answer
    Sandbox.objects.filter(id=sandbox.id).update(state="running")
    Run.objects.filter(id=run.id).update(heartbeat_at=timezone.now() - timedelta(seconds=60))
    del relay  # the worker is gone: nothing will close it

    assert services.runs_reap() == 1

    assert api.live_sandboxes() == []
    run.refresh_from_db()
    sandbox.refresh_from_db()
    assert run.status == "failed" and run.error.startswith("worker lost")
    assert sandbox.state == "error" and sandbox.callhome_token_hash == ""  # revoked


def test_a_queued_run_uses_the_legacy_provider(alice, remote_setup, settings):
    settings.SANDBOX_PROVIDER = "process"
    settings.LEGACY_SANDBOX_PROVIDER = "daytona"
    body = execute(alice, prompt="Queued.", model="local/echo", agentRuntime=True)
    run = Run.objects.get(id=body["runId"])
    assert run.status == "completed" and run.provider == "daytona"
    assert run.runtime_id in remote_setup["daytona"].sandboxes
    assert remote_setup["vercel"].sandboxes == {}


def test_a_provider_that_refuses_fails_the_run_clearly(alice, provider, settings):
    name, api = provider
    settings.VERCEL_TOKEN = settings.DAYTONA_API_KEY = "not-the-key"
    body = execute(alice, prompt="Hi", model="local/echo")
    assert body["status"] == "failed"
    assert body["error"].startswith(f"sandbox failed to start: {name}: creating the sandbox")
    sandbox = Sandbox.objects.get(run_id=body["runId"])
    assert sandbox.callhome_token_hash == "" and sandbox.state == "error"
    assert api.sandboxes == {}


# -- helpers -----------------------------------------------------------------------------------


def wait_for(probe, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if found := probe():
            return found
        time.sleep(0.02)
    raise AssertionError("timed out waiting")


def running_remote(api):
    """The emulated sandbox whose runtime is running a `sleep` shell command, if any."""
    for machine in list(api.sandboxes.values()):
        sessions = {c.pid for c in machine.commands.values() if c.running}
        if machine.stopped_at is None and any(
            b"sleep" in cmdline for cmdline in _cmdlines_in(sessions)
        ):
            return machine
    return None


def _cmdlines_in(sessions: set[int]) -> list[bytes]:
    """The command lines of this host's processes in those sessions (a command's session is
    its pid: the emulator starts each in a new one)."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat", "rb") as fh:
                stat = fh.read()
            with open(f"/proc/{pid}/cmdline", "rb") as fh:
                cmdline = fh.read()
        except OSError:
            continue
        if int(stat[stat.rfind(b")") + 2 :].split()[3]) in sessions:
            found.append(cmdline)
    return found
