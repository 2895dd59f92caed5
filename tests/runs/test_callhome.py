"""Runs whose runtime calls home: the zipapp runs as a local process that reaches a live test
server only over HTTP (LINC_BROKER_URL), and the executor serves it through the relay. The run
must look exactly like one over stdio, with the same checks."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from runs.models import Run, RunStep, UsageEntry
from sandboxes import callhome
from sandboxes import services as sandbox_services
from sandboxes.artefact import runtime_zipapp
from sandboxes.limits import SandboxLimits
from sandboxes.models import RelayMessage, Sandbox
from sandboxes.relay import RelayProcess
from tests.vaults.conftest import add_document, vault  # noqa: F401 (fixtures)

EXECUTE = "/agent/v1/execute"
PYTHON = os.path.realpath(getattr(sys, "_base_executable", sys.executable))
pytestmark = pytest.mark.e2e


class LocalRuntime:
    """A RemoteRuntime that is a local process (what a remote provider's sandbox would be)."""

    def __init__(self, popen: subprocess.Popen[bytes], log: Path) -> None:
        self.popen = popen
        self.id = f"local-{popen.pid}"
        self.log = log

    def wait(self, timeout: float) -> int | None:
        try:
            return self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGKILL)

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


class LocalCallhomeProvider:
    """Starts the runtime zipapp with only what a remote provider would give it."""

    name = "callhome"

    def __init__(self, root: Path) -> None:
        self.root = root
        self.started: list[tuple[RelayProcess, dict[str, str]]] = []

    def start(
        self, *, runtime_id: str, limits: SandboxLimits, env: dict[str, str] | None = None
    ) -> RelayProcess:
        proc = RelayProcess(sandbox=Sandbox.objects.get(id=runtime_id), limits=limits)
        home = self.root / runtime_id
        (home / "workspace").mkdir(parents=True)
        (home / "tmp").mkdir()
        runtime_env = {
            **proc.env,
            "PATH": "/usr/bin:/bin",
            "LINC_WORKSPACE": str(home / "workspace"),
            "TMPDIR": str(home / "tmp"),
        }
        log = home / "stderr.log"
        with log.open("wb") as stderr:
            popen = subprocess.Popen(
                [PYTHON, "-I", "-S", str(runtime_zipapp())],
                env=runtime_env,
                cwd=home / "workspace",
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                start_new_session=True,
            )
        proc.attach(LocalRuntime(popen, log))
        self.started.append((proc, runtime_env))
        return proc


@pytest.fixture
def provider(transactional_db, live_server, settings, monkeypatch, tmp_path):
    settings.PUBLIC_BASE_URL = live_server.url
    settings.REDIS_URL = ""
    settings.RELAY_POLL_S = 0.005
    local = LocalCallhomeProvider(tmp_path)
    monkeypatch.setattr(sandbox_services, "provider", lambda queued=False: local)
    return local


def execute(member, **body):
    response = member.client.post(EXECUTE, body, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def scripted(*steps, final="done"):
    return json.dumps({"steps": [{"tool": t, "input": i} for t, i in steps], "final": final})


def test_an_echo_run_completes_over_the_relay(alice, provider):
    body = execute(alice, prompt="Hello, home.", model="local/echo")
    assert body["status"] == "completed", body
    assert body["output"] == "Hello, home."
    assert body["provider"] == "callhome"
    assert "runtime ready" in body["logs"]["runner"]
    assert "booted, calling home" in body["logs"]["linc"]
    sandbox = Sandbox.objects.get(id=body["runtimeId"])
    assert sandbox.state == "ended" and sandbox.exit_code == 0 and sandbox.boot_ms is not None
    assert sandbox.callhome_token_hash == ""  # revoked
    assert not RelayMessage.objects.filter(sandbox=sandbox).exists()
    assert list(RunStep.objects.filter(run_id=body["runId"]).values_list("type", flat=True)) == [
        "output"
    ]


def test_steps_are_recorded_as_over_stdio(alice, provider):
    prompt = scripted(
        ("files.write", {"path": "notes/a.txt", "content": "indemnity"}),
        ("shell.exec", {"command": "cat notes/a.txt | tr a-z A-Z"}),
        ("files.list", {"path": "notes"}),
        final="All done.",
    )
    body = execute(alice, prompt=prompt, model="local/scripted")
    assert body["status"] == "completed", body
    assert body["output"].startswith("All done.") and "INDEMNITY" in body["output"]
    assert body["usage"]["toolCalls"] == 3
    steps = list(RunStep.objects.filter(run_id=body["runId"]).order_by("sequence"))
    assert [s.type for s in steps] == ["tool_call", "tool_result"] * 3 + ["output"]
    assert steps[3].tool_output["stdout"].strip() == "INDEMNITY"
    assert UsageEntry.objects.filter(run_id=body["runId"], kind="llm").count() == 4


def test_a_denied_tool_and_a_document_outside_the_scope_are_refused(
    alice,
    provider,
    vault,  # noqa: F811
    add_document,  # noqa: F811
):
    allowed = add_document(vault, "nda.txt", "The indemnity clause protects the discloser.")
    other = add_document(vault, "side.txt", "A side letter.")
    prompt = scripted(
        ("shell.exec", {"command": "echo hi"}),
        ("vault.read", {"objectId": other.id}),
        ("vault.read", {"objectId": allowed.id}),
    )
    body = execute(
        alice,
        prompt=prompt,
        model="local/scripted",
        disabledTools=["shell.exec"],
        vaultIds=[vault.id],
        objectIds=[allowed.id],
    )
    assert body["status"] == "completed", body
    results = list(RunStep.objects.filter(run_id=body["runId"], type="tool_result"))
    assert [(r.tool_name, r.is_error) for r in results] == [
        ("shell.exec", True),
        ("vault.read", True),
        ("vault.read", False),
    ]
    assert "not enabled" in results[0].tool_output
    assert "not in this run's scope" in results[1].tool_output
    assert results[2].tool_output["text"].startswith("The indemnity clause")


def test_max_steps_is_enforced(alice, provider, settings):
    settings.MAX_STEPS = 2
    prompt = scripted(*[("files.list", {})] * 3)
    body = execute(alice, prompt=prompt, model="local/scripted")
    assert body["status"] == "failed"
    assert "step limit reached: maxSteps=2" in body["error"]


def test_the_cli_calls_home_too(alice, provider, vault, add_document):  # noqa: F811
    doc = add_document(vault, "nda.txt", "The indemnity clause protects the discloser.")
    prompt = scripted(("shell.exec", {"command": "casedev vault list"}))
    body = execute(alice, prompt=prompt, model="local/scripted", vaultIds=[vault.id])
    shell = RunStep.objects.get(run_id=body["runId"], type="tool_result", tool_name="shell.exec")
    assert shell.tool_output["exitCode"] == 0, (shell.tool_output, body["logs"])
    assert f"{doc.id}  nda.txt  completed" in shell.tool_output["stdout"]
    cli = RunStep.objects.filter(run_id=body["runId"], source="cli")
    assert [(s.type, s.tool_name) for s in cli] == [
        ("tool_call", "vault.list"),
        ("tool_result", "vault.list"),
    ]


SECRETS = {
    "SECRET_KEY": "host-secret-key-0123456789abcdef",
    "ANTHROPIC_API_KEY": "sk-ant-host-secret",
    "COURTLISTENER_API_TOKEN": "courtlistener-host-secret",
}


def test_the_runtime_holds_no_host_secret_and_its_token_dies_with_the_run(
    alice, provider, settings, monkeypatch, client
):
    for name, value in SECRETS.items():
        setattr(settings, name, value)
    monkeypatch.setenv("DATABASE_URL", "postgres://u:db-host-secret@db/agentexec")
    monkeypatch.setenv("VERCEL_TOKEN", "vercel-host-secret")
    monkeypatch.setenv("DAYTONA_API_KEY", "daytona-host-secret")
    prompt = scripted(("shell.exec", {"command": "env"}))
    body = execute(alice, prompt=prompt, model="local/scripted", disabledTools=["vault.write"])
    assert body["status"] == "completed", body
    [(_proc, runtime_env)] = provider.started
    shell = RunStep.objects.get(run_id=body["runId"], type="tool_result", tool_name="shell.exec")
    seen = shell.tool_output["stdout"] + json.dumps(runtime_env)
    for secret in (*SECRETS.values(), "db-host-secret", "vercel-host-secret", "daytona-host"):
        assert secret not in seen
    token = runtime_env["LINC_TOKEN"]
    # The agent's commands do not inherit it. (They could still read it from the runtime's
    # /proc entry, as they could reach its pipes over stdio: the sandbox's contents share the
    # runtime's trust, and the token grants no more than speaking for this one run.)
    assert token not in shell.tool_output["stdout"]
    assert "LINC_CLI_SOCKET=" in shell.tool_output["stdout"]

    run = Run.objects.get(id=body["runId"])
    response = client.post(
        callhome.broker_url(run.runtime_id).removeprefix(settings.PUBLIC_BASE_URL),
        {"type": "model", "messages": []},
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}", "X-Linc-Seq": "99"},
    )
    assert response.status_code == 401
    assert "revoked" in response.json()["error"]["message"]
