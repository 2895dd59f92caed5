"""The official SDKs drive the emulators over real HTTP: if an SDK's wire format moves on, these
fail before the provider tests do."""

import asyncio
import subprocess

import pytest
from daytona import (
    CreateSandboxFromImageParams,
    Daytona,
    DaytonaConfig,
    FileUpload,
    Resources,
    SessionExecuteRequest,
)
from vercel.sandbox import SandboxCredentials, SandboxResources
from vercel.sandbox.sync import SandboxServiceOptions, SyncSandboxClient

from tests.emulators.vercel import VercelEmulator

SCRIPT = (
    b"import os, sys\nprint('out', os.environ.get('GREETING'))\nprint('err', file=sys.stderr)\n"
)


def vercel_client(api: VercelEmulator, token: str | None = None) -> SyncSandboxClient:
    credentials = SandboxCredentials(
        token=token or api.token, team_id=api.team_id, project_id=api.project_id
    )
    options = SandboxServiceOptions(base_url=api.base_url, credentials_factory=lambda: credentials)
    return SyncSandboxClient.create(options=options)


def test_it_runs_a_vercel_command_and_streams_its_output(vercel_api):
    client = vercel_client(vercel_api)
    sandbox = client.create_sandbox(
        resources=SandboxResources(vcpus=2, memory=4096), execution_time_limit=60
    )
    sandbox.fs.write_bytes("job/script.py", SCRIPT)
    process = sandbox.create_process(
        "python3", ["script.py"], cwd="/vercel/sandbox/job", env={"GREETING": "hello"}
    )
    assert process.stdout is not None and process.stderr is not None
    assert list(process.stdout) == ["out hello\n"]
    assert process.stderr.read() == "err\n"
    assert process.wait() == 0

    remote = vercel_api.sandboxes[sandbox.name]
    assert remote.resources["vcpus"] == 2 and remote.timeout_s == 60
    assert remote.files == {"/vercel/sandbox/job/script.py": SCRIPT}
    assert remote.commands[process.id].env["GREETING"] == "hello"
    sandbox.stop()
    assert remote.state == "stopped"
    client.close()


def test_it_kills_vercel_commands_when_the_sandbox_stops(vercel_api):
    client = vercel_client(vercel_api)
    sandbox = client.create_sandbox(execution_time_limit=60)
    process = sandbox.create_process("sleep", ["30"], stdout=subprocess.DEVNULL)
    sandbox.stop()
    assert vercel_api.wait_until_stopped(sandbox.name, timeout=5)
    assert vercel_api.sandboxes[sandbox.name].commands[process.id].exit_code == 128 + 9
    client.close()


def test_it_refuses_a_wrong_vercel_token(vercel_api):
    client = vercel_client(vercel_api, token="not-the-token")
    with pytest.raises(Exception, match="403"):
        client.create_sandbox()
    assert vercel_api.sandboxes == {}
    client.close()


def test_it_runs_a_daytona_session_command_and_streams_its_logs(daytona_api):
    daytona = Daytona(DaytonaConfig(api_key=daytona_api.api_key, api_url=daytona_api.api_url))
    params = CreateSandboxFromImageParams(
        image="python:3.12-slim", resources=Resources(cpu=2, memory=4), ephemeral=True
    )
    sandbox = daytona.create(params, timeout=30)
    sandbox.fs.upload_files([FileUpload(SCRIPT, "job/script.py")])
    sandbox.process.create_session("main")
    started = sandbox.process.execute_session_command(
        "main",
        SessionExecuteRequest(command="cd job && GREETING=hi python3 script.py", run_async=True),
    )
    out: list[str] = []
    err: list[str] = []
    asyncio.run(
        sandbox.process.get_session_command_logs_async(
            "main", started.cmd_id, out.append, err.append
        )
    )
    assert ("".join(out), "".join(err)) == ("out hi\n", "err\n")
    assert sandbox.process.get_session_command("main", started.cmd_id).exit_code == 0

    remote = daytona_api.sandboxes[sandbox.id]
    assert (remote.resources["cpu"], remote.resources["memory"]) == (2, 4)
    assert remote.files == {"/home/daytona/job/script.py": SCRIPT}
    sandbox.stop()
    assert remote.state == "destroyed"  # ephemeral: deleted as it stops
    assert list(daytona.list()) == []
